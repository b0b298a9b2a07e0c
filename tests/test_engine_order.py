"""Stage 1's layout: the packed (id, period) key must not change any result.

``customer_movements``, ``churn_rate``, ``retention_rate`` and
``cohort_retention`` group and sort by one packed integer key when the
customer id is one integer column: an Int64 key for an eager frame whose ids
lie in the Int32 range, an Int128 key otherwise (lazy frames, wide ids, null
ids). These tests relabel the same customers in every id encoding and require
identical outputs.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
import strategies as cst
from crm_metrics._engine.order import entity_order, id_range

if TYPE_CHECKING:
    from collections.abc import Callable

INT64_MAX = 2**63 - 1

# each maps the dense rank r = 0, 1, ... of a customer to an id
ENCODINGS: dict[str, tuple[pl.DataType, Callable[[int], Any]]] = {
    "int64 small": (pl.Int64(), lambda r: r + 1),
    "int64 negative": (pl.Int64(), lambda r: -(2**31) + r),
    "int64 extremes": (pl.Int64(), lambda r: INT64_MAX - r if r % 2 else -INT64_MAX - 1 + r),
    "int64 near int32 edge": (pl.Int64(), lambda r: 2**31 - 2 + r),
    "string": (pl.String(), lambda r: f"customer-{r}"),
}

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "customer_movements": lambda o: cm.customer_movements(o, inactive_after="40d"),
    "churn_rate weekly": lambda o: cm.churn_rate(o, every="1w", inactive_after="20d"),
    "cohort_retention": cm.cohort_retention,
    "cohort_retention unbounded": lambda o: cm.cohort_retention(o, mode="unbounded", every="1w"),
}


def relabel(orders: pl.DataFrame, encoding: str) -> pl.DataFrame:
    """The same orders with customer ``r`` (dense rank of the id) renamed by ``encoding``."""
    dtype, new_id = ENCODINGS[encoding]
    ranks = orders["customer_id"].rank("dense").cast(pl.Int64) - 1
    ids = pl.Series("customer_id", [new_id(r) for r in ranks.to_list()], dtype=dtype)
    return orders.with_columns(ids)


def run(function: str, frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    out = FUNCTIONS[function](frame)
    return out.collect() if isinstance(out, pl.LazyFrame) else out


@settings(max_examples=40, deadline=None)
@given(
    orders=cst.orders(min_rows=1, max_rows=40, id_dtype=pl.Int64, with_optional=False),
    function=st.sampled_from(sorted(FUNCTIONS)),
    kind=st.sampled_from(["eager", "lazy"]),
)
def test_every_id_encoding_gives_the_same_result(
    orders: pl.DataFrame, function: str, kind: str
) -> None:
    want = run(function, relabel(orders, "string"))
    for encoding in ENCODINGS:
        frame = relabel(orders, encoding)
        got = run(function, frame.lazy() if kind == "lazy" else frame)
        assert_frame_equal(got, want, rel_tol=1e-9, abs_tol=1e-9)


def test_the_layout_is_chosen_by_dtype_and_measured_range() -> None:
    schema = pl.Schema({"customer_id": pl.Int64(), "name": pl.String(), "tiny": pl.UInt8()})
    assert entity_order(schema, ["customer_id"], id_range=(1, 2**31 - 1)).packed == pl.Int64()
    assert entity_order(schema, ["customer_id"], id_range=(-(2**31), 5)).packed == pl.Int64()
    assert entity_order(schema, ["customer_id"], id_range=(0, 2**31)).packed == pl.Int128()
    assert entity_order(schema, ["customer_id"], id_range=None).packed == pl.Int128()
    assert entity_order(schema, ["tiny"], id_range=None).packed == pl.Int128()
    assert entity_order(schema, ["name"], id_range=None).packed is None
    assert entity_order(schema, ["name", "customer_id"], id_range=(1, 2)).packed is None


def test_id_range_of_an_in_memory_frame() -> None:
    frame = pl.LazyFrame({"customer_id": [7, -3, 12], "name": ["a", "b", "c"]})
    assert id_range(frame, "customer_id") == (-3, 12)
    assert id_range(frame, "name") is None
    assert id_range(frame.filter(pl.col("customer_id") > 100), "customer_id") is None


def null_id_orders() -> pl.DataFrame:
    """Customer 1 and an unknown (null) customer, whose orders stay together."""
    return pl.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5],
            "customer_id": pl.Series([1, None, 1, None, None], dtype=pl.Int64),
            "ordered_at": [
                date(2024, 1, 5),
                date(2024, 1, 9),
                date(2024, 3, 2),
                date(2024, 2, 11),
                date(2024, 4, 20),
            ],
            "amount": [10.0, 20.0, 5.0, 7.0, 3.0],
        }
    )


def test_a_null_id_is_one_customer_of_its_own_in_lazy_frames() -> None:
    # a LazyFrame is validated at schema level only, so null ids can reach the
    # engine: the Int128 key keeps them as one entity, as strings would be
    lazy = null_id_orders().lazy()
    as_text = null_id_orders().with_columns(pl.col("customer_id").cast(pl.String)).lazy()
    cohorts = cm.cohort_retention(lazy).collect()
    assert_frame_equal(cohorts, cm.cohort_retention(as_text).collect())
    # January: customer 1 and the unknown one; February: nobody new
    assert cohorts.filter(pl.col("period_index") == 0)["cohort_size"].to_list() == [2]
    assert cohorts["active_customers"].to_list() == [2, 1, 1, 1]
    moves = cm.customer_movements(lazy, inactive_after="40d").collect()
    assert_frame_equal(moves, cm.customer_movements(as_text, inactive_after="40d").collect())
    assert moves["new"].to_list() == [2, 0, 0, 0]
