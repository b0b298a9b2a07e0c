"""``cm.validate``: every check of the data model, on malformed frames, eager and lazy.

Each test builds a small valid frame with :func:`make`, breaks it in one known
way, and asserts the exact ``failures`` frame: table, column, check, number of
offending rows and examples. Bugs found in ``src/`` this way are pinned by the
regression tests at the end.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
from crm_metrics.typing import TABLE_NAMES
from strategies import STRATEGIES, as_kind

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from strategies import FrameKind

    ToKind = Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]

FAILURE_SCHEMA = pl.Schema(
    {
        "table": pl.String,
        "column": pl.String,
        "check": pl.String,
        "n_rows": pl.Int64,
        "examples": pl.List(pl.String),
    }
)

NAN, INF = float("nan"), float("inf")

# Recognisable personal data: must never appear in an error message.
PERSON_NAME = "Grace Hopper"
PERSON_EMAIL = "grace.hopper@example.com"
PERSON_PHONE = "+1 555 0100"
PERSON_ADDRESS = "1 Navy Way, Arlington"
COMMENT = "my ssn is 078-05-1120"

# --------------------------------------------------------------------------
# building frames


def _days(n: int, first: date = date(2024, 2, 27)) -> list[date]:
    """Consecutive days over the leap day: 27 Feb, 28 Feb, 29 Feb, 1 Mar, ..."""
    return [first + timedelta(days=i) for i in range(n)]


def _times(n: int, first: datetime = datetime(2024, 2, 28, 9)) -> list[datetime]:
    return [first + timedelta(days=i) for i in range(n)]


def _base(table: str, n: int) -> dict[str, pl.Series]:
    """A valid frame of ``table`` with ``n`` rows and a few optional columns."""
    ids = pl.Series(list(range(1, n + 1)), dtype=pl.Int64)
    customer = pl.Series([10 + i % 2 for i in range(n)], dtype=pl.Int64)
    text = lambda value: pl.Series([value] * n, dtype=pl.String)  # noqa: E731
    floats = lambda values: pl.Series(values, dtype=pl.Float64)  # noqa: E731
    columns: dict[str, pl.Series]
    if table == "customers":
        columns = {
            "customer_id": ids,
            "acquired_at": pl.Series(_days(n), dtype=pl.Date),
            "acquisition_channel": text("search"),
            "name": text(PERSON_NAME),
            "email": text(PERSON_EMAIL),
            "phone": text(PERSON_PHONE),
            "address": text(PERSON_ADDRESS),
            "age": floats([30.0 + i for i in range(n)]),
            "income": floats([50_000.0] * n),
            "consent_marketing": pl.Series([True] * n, dtype=pl.Boolean),
        }
    elif table == "orders":
        columns = {
            "order_id": ids,
            "customer_id": customer,
            "ordered_at": pl.Series(_times(n), dtype=pl.Datetime("us")),
            "amount": floats([10.0 * (i + 1) for i in range(n)]),
            "quantity": pl.Series([1] * n, dtype=pl.Int64),
            "currency": text("EUR"),
        }
    elif table == "spend":
        columns = {
            "spent_at": pl.Series(_days(n), dtype=pl.Date),
            "amount": floats([100.0] * n),
            "channel": text("search"),
            "kind": text("marketing"),
            "currency": text("EUR"),
        }
    elif table == "leads":
        created = _times(n)
        columns = {
            "lead_id": ids,
            "created_at": pl.Series(created, dtype=pl.Datetime("us")),
            "source": text("ads"),
            "converted_at": pl.Series(
                [t + timedelta(days=1) for t in created], dtype=pl.Datetime("us")
            ),
            "customer_id": customer,
        }
    elif table == "survey_responses":
        columns = {
            "response_id": ids,
            "customer_id": customer,
            "responded_at": pl.Series(_days(n), dtype=pl.Date),
            "score": pl.Series([(10 - i) % 11 for i in range(n)], dtype=pl.Int64),
            "comment": text(COMMENT),
        }
    elif table == "feedback":
        columns = {
            "feedback_id": ids,
            "customer_id": customer,
            "created_at": pl.Series(_times(n), dtype=pl.Datetime("us")),
            "channel": text("review"),
            "rating": pl.Series([1 + i % 5 for i in range(n)], dtype=pl.Int64),
            "text": text(COMMENT),
        }
    elif table == "subscriptions":
        started = _days(n)
        columns = {
            "subscription_id": ids,
            "customer_id": customer,
            "started_at": pl.Series(started, dtype=pl.Date),
            "ended_at": pl.Series([d + timedelta(days=30) for d in started], dtype=pl.Date),
            "mrr": floats([9.99] * n),
            "plan": text("pro"),
            "currency": text("EUR"),
        }
    elif table == "web_sessions":
        columns = {
            "session_id": ids,
            "started_at": pl.Series(_times(n), dtype=pl.Datetime("us")),
            "visitor_id": pl.Series([100] * n, dtype=pl.Int64),
            "customer_id": customer,
            "pageviews": pl.Series([1 + 2 * i for i in range(n)], dtype=pl.Int64),
            "duration_s": floats([12.5 * i for i in range(n)]),
            "converted": pl.Series([False] * n, dtype=pl.Boolean),
        }
    elif table == "campaign_stats":
        columns = {
            "date": pl.Series(_days(n), dtype=pl.Date),
            "campaign": text("brand"),
            "channel": text("social"),
            "impressions": pl.Series([100 * (i + 1) for i in range(n)], dtype=pl.Int64),
            "clicks": pl.Series([i % 2 for i in range(n)], dtype=pl.Int64),
            "engagements": pl.Series([5] * n, dtype=pl.Int64),
            "reach": pl.Series([50] * n, dtype=pl.Int64),
        }
    else:  # pragma: no cover
        raise AssertionError(table)
    return {name: series.alias(name) for name, series in columns.items()}


def make(table: str, n: int = 3, /, **columns: Sequence[Any] | pl.Series) -> pl.DataFrame:
    """A valid ``table`` frame of ``n`` rows, with ``columns`` replaced or added.

    A list keeps the base column's dtype (so ``[1.0, None, 3.0]`` stays
    Float64); pass a Series to change the dtype.
    """
    base = _base(table, n)
    for name, values in columns.items():
        if isinstance(values, pl.Series):
            base[name] = values.alias(name)
        else:
            dtype = base[name].dtype if name in base else None
            base[name] = pl.Series(name, list(values), dtype=dtype)
    return pl.DataFrame(list(base.values()))


def expected(*rows: tuple[str, str, str, int | None, list[str]]) -> pl.DataFrame:
    """A ``failures`` frame built by hand."""
    return pl.DataFrame(list(rows), schema=FAILURE_SCHEMA, orient="row")


def failures_of(frame: Any, table: str) -> pl.DataFrame:
    """``cm.validate(frame, table)`` must fail; its failures frame."""
    with pytest.raises(cm.ValidationError) as caught:
        cm.validate(frame, table)
    return caught.value.failures


def error_of(frame: Any, table: str) -> cm.ValidationError:
    with pytest.raises(cm.ValidationError) as caught:
        cm.validate(frame, table)
    return caught.value


def assert_failures(
    frame: Any, table: str, *rows: tuple[str, str, str, int | None, list[str]]
) -> None:
    """The failures are exactly ``rows``, in that order."""
    assert_frame_equal(failures_of(frame, table), expected(*rows))


def assert_failures_any_order(
    frame: Any, table: str, *rows: tuple[str, str, str, int | None, list[str]]
) -> None:
    """The failures are exactly ``rows``; several checks of one column in any order."""
    got = failures_of(frame, table)
    want = expected(*rows)
    key = ["column", "check"]
    # Columns still come in the model's order.
    assert got["column"].unique(maintain_order=True).to_list() == (
        want["column"].unique(maintain_order=True).to_list()
    )
    assert_frame_equal(got.sort(key), want.sort(key))


def required(table: str) -> list[tuple[str, str]]:
    return [(table, column) for column in cm.schemas.required_columns(table)]


ALL_REQUIRED = [case for table in TABLE_NAMES for case in required(table)]
ALL_COLUMNS = [
    (table, column)
    for table in TABLE_NAMES
    for column in cm.schemas.model(table).to_schema().columns
]


def _case_id(case: Any) -> str:
    return str(case)


# --------------------------------------------------------------------------
# valid frames


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_valid_frame_is_returned_as_is(table: str, to_kind: ToKind) -> None:
    frame = to_kind(make(table))
    assert cm.validate(frame, table) is frame


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_required_columns_alone_are_valid(table: str, to_kind: ToKind) -> None:
    frame = make(table).select(cm.schemas.required_columns(table))
    assert cm.validate(to_kind(frame), table) is not None


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_empty_frame_with_the_right_dtypes_is_valid(table: str, to_kind: ToKind) -> None:
    frame = to_kind(make(table).clear())
    assert cm.validate(frame, table) is frame


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_extra_columns_are_accepted(table: str, to_kind: ToKind) -> None:
    frame = make(
        table,
        3,
        notes=pl.Series(["a", None, "c"]),
        weight=pl.Series([NAN, INF, -1.0]),  # no finite / range check on unknown columns
        tags=pl.Series([["x"], [], None], dtype=pl.List(pl.String)),
        meta=pl.Series([{"k": 1}, {"k": None}, None]),
        order_id_copy=pl.Series([1, 1, 1]),  # no unique check either
    )
    cm.validate(to_kind(frame), table)


def test_a_column_named_like_another_tables_column_is_ignored(to_kind: ToKind) -> None:
    # score is a column of survey_responses, not of orders: no range check here.
    frame = make("orders", 3, score=pl.Series([-5, 50, 11]), kind=pl.Series(["x", "y", "z"]))
    cm.validate(to_kind(frame), "orders")


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("survey_responses", {"score": [0, 10, 5]}),
        ("feedback", {"rating": [1, 5, None]}),
        ("spend", {"amount": [0.0, 0.0, 1e12]}),
        ("web_sessions", {"pageviews": [1, 1, 10_000], "duration_s": [0.0, None, 0.0]}),
        ("subscriptions", {"mrr": [0.0, 0.0, 0.0], "ended_at": [date(2024, 2, 27), None, None]}),
        ("customers", {"age": [0.0, 130.0, None], "income": [0.0, None, 1e9]}),
        ("campaign_stats", {"impressions": [0, 5, 0], "clicks": [0, 5, 0], "reach": [0, 0, 0]}),
        ("orders", {"amount": [-1e9, 0.0, -0.01]}),  # refunds are negative amounts
        ("spend", {"kind": ["marketing", "sales", None], "currency": [None, "USD", "USD"]}),
        ("leads", {"converted_at": [datetime(2024, 2, 28, 9), None, None]}),  # same instant
    ],
    ids=_case_id,
)
def test_boundary_values_are_valid(
    table: str, columns: dict[str, list[Any]], to_kind: ToKind
) -> None:
    frame = to_kind(make(table, 3, **columns))
    assert cm.validate(frame, table) is frame


# --------------------------------------------------------------------------
# missing columns


@pytest.mark.parametrize(("table", "column"), ALL_REQUIRED, ids=_case_id)
def test_missing_required_column(table: str, column: str, to_kind: ToKind) -> None:
    frame = make(table).drop(column)
    assert_failures(
        to_kind(frame), table, (table, column, "column_in_dataframe", None, ["column is missing"])
    )


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_every_missing_column_is_reported(table: str, to_kind: ToKind) -> None:
    frame = pl.DataFrame({"unrelated": [1, 2]})
    assert_failures(
        to_kind(frame),
        table,
        *[
            (table, column, "column_in_dataframe", None, ["column is missing"])
            for column in cm.schemas.required_columns(table)
        ],
    )


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_missing_optional_columns_are_fine(table: str, to_kind: ToKind) -> None:
    optional = [c for c in make(table).columns if c not in cm.schemas.required_columns(table)]
    cm.validate(to_kind(make(table).drop(optional)), table)


# --------------------------------------------------------------------------
# wrong dtypes

WRONG = {
    "Int64 | String": pl.Series([1.5, 2.5, 3.5], dtype=pl.Float64),
    "Date | Datetime": pl.Series(["2024-02-27", "2024-02-28", "2024-02-29"], dtype=pl.String),
    "numeric (Int*, UInt*, Float*, Decimal)": pl.Series(["1.00", "2.00", "3.00"]),
    "integer (Int*, UInt*)": pl.Series([1.0, 2.0, 3.0], dtype=pl.Float64),
    "String | Categorical | Enum": pl.Series([1, 1, 1], dtype=pl.Int64),  # one "currency"
    "Boolean": pl.Series([1, 0, 1], dtype=pl.Int64),
}


def _label(table: str, column: str) -> str:
    return str(cm.schemas.model(table).to_schema().columns[column].dtype)


def _wrong_dtype_case(table: str, column: str) -> Any:
    return pytest.param(table, column, id=f"{table}.{column}")


@pytest.mark.parametrize(("table", "column"), [_wrong_dtype_case(*c) for c in ALL_COLUMNS])
def test_wrong_dtype_is_the_only_failure(table: str, column: str, to_kind: ToKind) -> None:
    label = _label(table, column)
    wrong = WRONG[label]
    frame = make(table, 3, **{column: wrong})
    assert_failures(
        to_kind(frame),
        table,
        (table, column, f"dtype('{label}')", None, [f"got {wrong.dtype}"]),
    )


def test_text_dates_get_the_parsing_hint(to_kind: ToKind) -> None:
    frame = make("orders", 2, ordered_at=pl.Series(["2024-01-31", "2024-02-29"]))
    error = error_of(to_kind(frame), "orders")
    assert error.failures.rows() == [
        ("orders", "ordered_at", "dtype('Date | Datetime')", None, ["got String"])
    ]
    assert "Hint: cast the column to an accepted dtype" in str(error)
    assert "str.to_date" in str(error)


def test_null_dtype_column_is_a_wrong_dtype(to_kind: ToKind) -> None:
    # pl.DataFrame({"quantity": [None, None]}) has dtype Null: give the dtype explicitly.
    frame = make("orders", 2, quantity=pl.Series([None, None], dtype=pl.Null))
    assert_failures(
        to_kind(frame),
        "orders",
        ("orders", "quantity", "dtype('integer (Int*, UInt*)')", None, ["got Null"]),
    )


# --------------------------------------------------------------------------
# nulls


@pytest.mark.parametrize(("table", "column"), ALL_REQUIRED, ids=_case_id)
def test_null_in_required_column(table: str, column: str, to_kind: ToKind) -> None:
    base = make(table, 3)
    frame = base.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col(column)).alias(column)
    )
    assert_failures(to_kind(frame), table, (table, column, "not_nullable", 1, ["null (row 1)"]))


def test_nulls_are_counted_and_listed_in_row_order(to_kind: ToKind) -> None:
    frame = make("orders", 8, customer_id=[None, 1, None, None, 2, None, None, None])
    assert_failures(
        to_kind(frame),
        "orders",
        (
            "orders",
            "customer_id",
            "not_nullable",
            6,
            ["null (row 0)", "null (row 2)", "null (row 3)", "null (row 5)", "null (row 6)"],
        ),
    )


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("customers", "acquired_at"),
        ("customers", "age"),
        ("orders", "quantity"),
        ("orders", "currency"),
        ("leads", "converted_at"),
        ("leads", "customer_id"),
        ("survey_responses", "customer_id"),
        ("feedback", "rating"),
        ("subscriptions", "ended_at"),
        ("web_sessions", "duration_s"),
        ("web_sessions", "converted"),
        ("campaign_stats", "reach"),
    ],
    ids=_case_id,
)
def test_nulls_in_optional_columns_are_fine(table: str, column: str, to_kind: ToKind) -> None:
    frame = make(table, 3).with_columns(pl.lit(None, dtype=make(table)[column].dtype).alias(column))
    cm.validate(to_kind(frame), table)


# --------------------------------------------------------------------------
# NaN and infinity in money

MONEY = [
    ("orders", "amount", None),
    ("spend", "amount", "greater_than_or_equal_to(0)"),
    ("subscriptions", "mrr", "greater_than_or_equal_to(0)"),
    ("customers", "income", "greater_than_or_equal_to(0)"),
    ("customers", "age", "in_range(0, 130)"),
    ("web_sessions", "duration_s", "greater_than_or_equal_to(0)"),
]


@pytest.mark.parametrize("money", MONEY, ids=_case_id)
@pytest.mark.parametrize(("value", "shown"), [(INF, "inf"), (-INF, "-inf")])
def test_infinite_money(
    money: tuple[str, str, str | None], value: float, shown: str, to_kind: ToKind
) -> None:
    table, column, range_check = money
    base = make(table, 3)
    frame = base.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(value).otherwise(pl.col(column)).alias(column)
    )
    rows = [(table, column, "finite", 1, [f"{shown} (row 1)"])]
    # -inf is also below every lower bound, +inf above age's upper bound.
    if range_check is not None and (value < 0 or range_check.startswith("in_range")):
        rows.insert(0, (table, column, range_check, 1, [f"{shown} (row 1)"]))
    assert_failures_any_order(to_kind(frame), table, *rows)


@pytest.mark.parametrize(
    ("table", "column"),
    [pytest.param(t, c, id=f"{t}.{c}") for t, c, _ in MONEY],
)
def test_nan_money_is_reported_once_by_finite(table: str, column: str, to_kind: ToKind) -> None:
    base = make(table, 4)
    frame = base.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([0, 3]))
        .then(NAN)
        .otherwise(pl.col(column))
        .alias(column)
    )
    # Not under not_nullable, not under a range check: once, as not finite.
    assert_failures(
        to_kind(frame), table, (table, column, "finite", 2, ["NaN (row 0)", "NaN (row 3)"])
    )


def test_nan_null_and_infinity_together(to_kind: ToKind) -> None:
    frame = make("orders", 5, amount=[1.0, NAN, None, INF, -INF])
    assert_failures(
        to_kind(frame),
        "orders",
        ("orders", "amount", "not_nullable", 1, ["null (row 2)"]),
        ("orders", "amount", "finite", 3, ["NaN (row 1)", "inf (row 3)", "-inf (row 4)"]),
    )


def test_float32_money_is_checked_for_finiteness(to_kind: ToKind) -> None:
    frame = make("orders", 2, amount=pl.Series([1.0, NAN], dtype=pl.Float32))
    assert_failures(to_kind(frame), "orders", ("orders", "amount", "finite", 1, ["NaN (row 1)"]))


# --------------------------------------------------------------------------
# out of range

GE0, GE1 = "greater_than_or_equal_to(0)", "greater_than_or_equal_to(1)"
KINDS = "isin(['marketing', 'sales'])"

RANGES = [
    # (table, column, values, check, n_rows, examples)
    ("survey_responses", "score", [-1, 11, 5], "in_range(0, 10)", 2, ["-1 (row 0)", "11 (row 1)"]),
    ("feedback", "rating", [0, 6, None], "in_range(1, 5)", 2, ["0 (row 0)", "6 (row 1)"]),
    ("spend", "amount", [-0.01, 0.0, -100.0], GE0, 2, ["-0.01 (row 0)", "-100.0 (row 2)"]),
    ("web_sessions", "pageviews", [0, 1, -3], GE1, 2, ["0 (row 0)", "-3 (row 2)"]),
    ("web_sessions", "duration_s", [0.0, -1.5, None], GE0, 1, ["-1.5 (row 1)"]),
    ("subscriptions", "mrr", [9.99, -9.99, 0.0], GE0, 1, ["-9.99 (row 1)"]),
    (
        "customers",
        "age",
        [131.0, -1.0, 130.0],
        "in_range(0, 130)",
        2,
        ["131.0 (row 0)", "-1.0 (row 1)"],
    ),
    ("customers", "income", [-1.0, 0.0, None], GE0, 1, ["-1.0 (row 0)"]),
    ("campaign_stats", "engagements", [-1, 0, 1], GE0, 1, ["-1 (row 0)"]),
    ("campaign_stats", "reach", [0, -7, None], GE0, 1, ["-7 (row 1)"]),
    ("campaign_stats", "clicks", [0, -1, -2], GE0, 2, ["-1 (row 1)", "-2 (row 2)"]),
    ("spend", "kind", ["marketing", "ads", "Sales"], KINDS, 2, ["ads (row 1)", "Sales (row 2)"]),
]


@pytest.mark.parametrize("case", RANGES, ids=_case_id)
def test_out_of_range(
    case: tuple[str, str, list[Any], str, int, list[str]], to_kind: ToKind
) -> None:
    table, column, values, check, n_rows, examples = case
    frame = make(table, 3, **{column: values})
    assert_failures(to_kind(frame), table, (table, column, check, n_rows, examples))


def test_negative_impressions_also_fail_the_row_check(to_kind: ToKind) -> None:
    frame = make("campaign_stats", 3, impressions=[-1, 100, -5], clicks=[0, 1, -7])
    assert_failures(
        to_kind(frame),
        "campaign_stats",
        (
            "campaign_stats",
            "impressions",
            "greater_than_or_equal_to(0)",
            2,
            ["-1 (row 0)", "-5 (row 2)"],
        ),
        (
            "campaign_stats",
            "impressions",
            "impressions >= clicks",
            1,
            ["row 0: impressions=-1, clicks=0"],
        ),
        ("campaign_stats", "clicks", "greater_than_or_equal_to(0)", 1, ["-7 (row 2)"]),
    )


def test_range_checks_on_other_integer_dtypes(to_kind: ToKind) -> None:
    frame = make("survey_responses", 3, score=pl.Series([0, 200, 10], dtype=pl.UInt8))
    assert_failures(
        to_kind(frame),
        "survey_responses",
        ("survey_responses", "score", "in_range(0, 10)", 1, ["200 (row 1)"]),
    )


def test_kind_as_categorical_and_enum(to_kind: ToKind) -> None:
    for dtype in (pl.Categorical, pl.Enum(["marketing", "sales", "ads"])):
        frame = make("spend", 3, kind=pl.Series(["marketing", "ads", "sales"], dtype=dtype))
        assert_failures(
            to_kind(frame),
            "spend",
            ("spend", "kind", "isin(['marketing', 'sales'])", 1, ["ads (row 1)"]),
        )


def test_at_most_five_examples(to_kind: ToKind) -> None:
    frame = make("survey_responses", 9, score=[11, 0, 12, 13, -1, 5, 99, -2, 10])
    assert_failures(
        to_kind(frame),
        "survey_responses",
        (
            "survey_responses",
            "score",
            "in_range(0, 10)",
            6,
            ["11 (row 0)", "12 (row 2)", "13 (row 3)", "-1 (row 4)", "99 (row 6)"],
        ),
    )


# --------------------------------------------------------------------------
# ends before starts


def test_converted_before_created(to_kind: ToKind) -> None:
    frame = make(
        "leads",
        4,
        converted_at=[
            datetime(2024, 2, 28, 8, 59, 59),  # one second before created_at
            None,  # not converted
            datetime(2024, 3, 1, 9),  # created 2024-03-01 09:00: same instant is fine
            datetime(2023, 12, 31),
        ],
    )
    assert_failures(
        to_kind(frame),
        "leads",
        (
            "leads",
            "converted_at",
            "converted_at >= created_at",
            2,
            [
                "row 0: converted_at=2024-02-28 08:59:59, created_at=2024-02-28 09:00:00",
                "row 3: converted_at=2023-12-31 00:00:00, created_at=2024-03-02 09:00:00",
            ],
        ),
    )


def test_ended_before_started(to_kind: ToKind) -> None:
    # started_at: 2024-02-27, 2024-02-28, 2024-02-29
    frame = make("subscriptions", 3, ended_at=[date(2024, 2, 26), None, date(2024, 2, 28)])
    assert_failures(
        to_kind(frame),
        "subscriptions",
        (
            "subscriptions",
            "ended_at",
            "ended_at >= started_at",
            2,
            [
                "row 0: ended_at=2024-02-26, started_at=2024-02-27",
                "row 2: ended_at=2024-02-28, started_at=2024-02-29",
            ],
        ),
    )


def test_clicks_above_impressions(to_kind: ToKind) -> None:
    frame = make("campaign_stats", 3, impressions=[1, 100, 0], clicks=[5, 100, 1])
    assert_failures(
        to_kind(frame),
        "campaign_stats",
        (
            "campaign_stats",
            "impressions",
            "impressions >= clicks",
            2,
            ["row 0: impressions=1, clicks=5", "row 2: impressions=0, clicks=1"],
        ),
    )


def test_row_check_counts_every_row_and_shows_five(to_kind: ToKind) -> None:
    frame = make("campaign_stats", 7, impressions=[0] * 7, clicks=[1] * 7)
    got = failures_of(to_kind(frame), "campaign_stats")
    assert got.select("column", "check", "n_rows").rows() == [
        ("impressions", "impressions >= clicks", 7)
    ]
    assert got["examples"][0].to_list() == [f"row {i}: impressions=0, clicks=1" for i in range(5)]


def test_row_check_compares_date_with_datetime(to_kind: ToKind) -> None:
    # A Date is midnight: converted on 2024-02-28 is before created at 09:00 that day.
    frame = make(
        "leads",
        2,
        converted_at=pl.Series([date(2024, 2, 28), date(2024, 3, 1)], dtype=pl.Date),
    )
    assert_failures(
        to_kind(frame),
        "leads",
        (
            "leads",
            "converted_at",
            "converted_at >= created_at",
            1,
            ["row 0: converted_at=2024-02-28, created_at=2024-02-28 09:00:00"],
        ),
    )


def test_row_check_in_one_time_zone(to_kind: ToKind) -> None:
    created = pl.Series([datetime(2024, 3, 31, 1, 30), datetime(2024, 10, 27, 2, 30)])
    converted = pl.Series([datetime(2024, 3, 31, 3, 0), datetime(2024, 10, 27, 2, 15)])

    def paris(series: pl.Series) -> pl.Series:
        return series.dt.replace_time_zone("Europe/Paris", ambiguous="latest")

    # 01:30 CET -> 03:00 CEST is half an hour later; 02:30 CET -> 02:15 CET is earlier.
    frame = make("leads", 2, created_at=paris(created), converted_at=paris(converted))
    got = failures_of(to_kind(frame), "leads")
    assert got.select("column", "check", "n_rows").rows() == [
        ("converted_at", "converted_at >= created_at", 1)
    ]
    assert got["examples"][0].to_list()[0].startswith("row 1: converted_at=")


def test_row_check_mixed_time_units(to_kind: ToKind) -> None:
    frame = make(
        "leads",
        1,
        # One millisecond apart (Polars compares us with ms at ms precision).
        created_at=pl.Series([datetime(2024, 1, 1, 0, 0, 0, 1000)], dtype=pl.Datetime("us")),
        converted_at=pl.Series([datetime(2024, 1, 1)], dtype=pl.Datetime("ms")),
    )
    assert failures_of(to_kind(frame), "leads")["n_rows"].to_list() == [1]


# --------------------------------------------------------------------------
# duplicate ids

ID_COLUMNS = [
    ("customers", "customer_id"),
    ("orders", "order_id"),
    ("leads", "lead_id"),
    ("survey_responses", "response_id"),
    ("feedback", "feedback_id"),
    ("subscriptions", "subscription_id"),
    ("web_sessions", "session_id"),
]


@pytest.mark.parametrize(("table", "column"), ID_COLUMNS, ids=_case_id)
def test_duplicate_int_ids(table: str, column: str, to_kind: ToKind) -> None:
    frame = make(table, 6, **{column: [1, 2, 1, 3, 3, 3]})
    assert_failures(
        to_kind(frame),
        table,
        (table, column, f"unique({column})", 5, ["3 (3 rows)", "1 (2 rows)"]),
    )


@pytest.mark.parametrize(("table", "column"), ID_COLUMNS, ids=_case_id)
def test_duplicate_string_ids(table: str, column: str, to_kind: ToKind) -> None:
    ids = pl.Series(["b-7", "a-1", "b-7", "z", "a-1", "Z"], dtype=pl.String)
    frame = make(table, 6, **{column: ids})
    assert_failures(
        to_kind(frame),
        table,
        (table, column, f"unique({column})", 4, ["'a-1' (2 rows)", "'b-7' (2 rows)"]),
    )


def test_duplicate_examples_are_the_five_largest_groups(to_kind: ToKind) -> None:
    ids = [7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 1]
    frame = make("orders", len(ids), order_id=ids)
    assert_failures(
        to_kind(frame),
        "orders",
        (
            "orders",
            "order_id",
            "unique(order_id)",
            13,
            ["3 (3 rows)", "2 (2 rows)", "4 (2 rows)", "5 (2 rows)", "6 (2 rows)"],
        ),
    )


def test_customer_id_may_repeat_in_event_tables(to_kind: ToKind) -> None:
    for table in ("orders", "leads", "survey_responses", "feedback", "subscriptions"):
        cm.validate(to_kind(make(table, 4, customer_id=[1, 1, 1, 1])), table)
    cm.validate(to_kind(make("web_sessions", 4, visitor_id=[5, 5, 5, 5])), "web_sessions")


# --------------------------------------------------------------------------
# currencies


@pytest.mark.parametrize("table", ["orders", "spend", "subscriptions"])
def test_mixed_currencies(table: str, to_kind: ToKind) -> None:
    frame = make(table, 5, currency=["EUR", "USD", None, "EUR", "GBP"])
    assert_failures(
        to_kind(frame),
        table,
        (
            table,
            "currency",
            "single_value(currency)",
            2,
            ["'EUR' (2 rows)", "'GBP' (1 row)", "'USD' (1 row)"],
        ),
    )


def test_mixed_categorical_currencies(to_kind: ToKind) -> None:
    currency = pl.Series(["USD", "EUR", "EUR", "USD"], dtype=pl.Categorical)
    frame = make("orders", 4, currency=currency)
    assert_failures(
        to_kind(frame),
        "orders",
        ("orders", "currency", "single_value(currency)", 2, ["'EUR' (2 rows)", "'USD' (2 rows)"]),
    )


@pytest.mark.parametrize("table", ["orders", "spend", "subscriptions"])
def test_one_currency_with_nulls_is_fine(table: str, to_kind: ToKind) -> None:
    cm.validate(to_kind(make(table, 3, currency=["USD", None, "USD"])), table)
    cm.validate(to_kind(make(table, 3, currency=[None, None, None])), table)


# --------------------------------------------------------------------------
# time zones


def _zoned(values: list[datetime], zone: str | None) -> pl.Series:
    naive = pl.Series(values, dtype=pl.Datetime("us"))
    return naive if zone is None else naive.dt.replace_time_zone(zone)


@pytest.mark.parametrize(
    ("created_zone", "converted_zone"),
    [(None, "UTC"), ("UTC", None), ("UTC", "Europe/Paris"), ("Europe/Paris", "UTC")],
)
def test_mixed_time_zones(
    created_zone: str | None, converted_zone: str | None, to_kind: ToKind
) -> None:
    frame = make(
        "leads",
        2,
        created_at=_zoned(_times(2), created_zone),
        converted_at=_zoned(_times(2, datetime(2024, 3, 31)), converted_zone),
    )
    a, b = created_zone or "naive", converted_zone or "naive"
    seen = f"leads.created_at: {a}, leads.converted_at: {b}"
    assert_failures(
        to_kind(frame),
        "leads",
        ("leads", "created_at", "time_zone", None, [f"{a} (all: {seen})"]),
        ("leads", "converted_at", "time_zone", None, [f"{b} (all: {seen})"]),
    )


def test_mixed_time_zones_in_subscriptions_and_customers(to_kind: ToKind) -> None:
    days = [datetime(2024, 1, 1), datetime(2024, 1, 2)]
    frame = make("subscriptions", 2, started_at=_zoned(days, "UTC"), ended_at=_zoned(days, None))
    got = failures_of(to_kind(frame), "subscriptions")
    assert got.select("column", "check", "n_rows").rows() == [
        ("started_at", "time_zone", None),
        ("ended_at", "time_zone", None),
    ]
    frame = make(
        "customers",
        2,
        acquired_at=_zoned(days, "Europe/Paris"),
        birth_date=_zoned(days, "America/New_York"),
    )
    got = failures_of(to_kind(frame), "customers")
    assert got.select("column", "check").rows() == [
        ("acquired_at", "time_zone"),
        ("birth_date", "time_zone"),
    ]


@pytest.mark.parametrize("zone", [None, "UTC", "Europe/Paris", "Asia/Kolkata"])
def test_one_time_zone_is_fine(zone: str | None, to_kind: ToKind) -> None:
    frame = make(
        "leads",
        2,
        created_at=_zoned(_times(2), zone),
        converted_at=_zoned(_times(2, datetime(2024, 12, 31, 23, 59)), zone),
    )
    cm.validate(to_kind(frame), "leads")


def test_dates_have_no_time_zone(to_kind: ToKind) -> None:
    # A Date next to a zoned Datetime is not a mix (the Date is read in that zone).
    frame = make(
        "subscriptions",
        2,
        started_at=pl.Series([date(2024, 2, 29), date(2024, 12, 31)]),
        ended_at=_zoned([datetime(2024, 2, 29), datetime(2025, 1, 1, 0, 30)], "Europe/Paris"),
    )
    cm.validate(to_kind(frame), "subscriptions")


def test_zone_is_reported_next_to_other_failures(to_kind: ToKind) -> None:
    frame = make(
        "leads",
        2,
        lead_id=[1, 1],
        created_at=_zoned(_times(2), "UTC"),
        converted_at=_zoned(_times(2), None),
    )
    got = failures_of(to_kind(frame), "leads")
    assert got.select("column", "check", "n_rows").rows() == [
        ("lead_id", "unique(lead_id)", 2),
        ("created_at", "time_zone", None),
        ("converted_at", "time_zone", None),
    ]


# --------------------------------------------------------------------------
# many failures at once


def test_many_failures_in_orders(to_kind: ToKind) -> None:
    frame = make(
        "orders",
        4,
        order_id=[1, 2, 2, 4],
        customer_id=[10, None, 11, 12],
        amount=[5.0, NAN, -INF, 7.0],
        quantity=pl.Series([1.0, 2.0, 1.0, 1.0]),
        currency=["EUR", "EUR", "USD", None],
    ).drop("ordered_at")
    error = error_of(to_kind(frame), "orders")
    assert_frame_equal(
        error.failures,
        expected(
            ("orders", "order_id", "unique(order_id)", 2, ["2 (2 rows)"]),
            ("orders", "customer_id", "not_nullable", 1, ["null (row 1)"]),
            ("orders", "ordered_at", "column_in_dataframe", None, ["column is missing"]),
            ("orders", "amount", "finite", 2, ["NaN (row 1)", "-inf (row 2)"]),
            ("orders", "quantity", "dtype('integer (Int*, UInt*)')", None, ["got Float64"]),
            (
                "orders",
                "currency",
                "single_value(currency)",
                1,
                ["'EUR' (2 rows)", "'USD' (1 row)"],
            ),
        ),
    )
    message = str(error)
    assert message.splitlines()[0] == "Validation failed: 6 checks failed in table 'orders'."
    for column in ("order_id", "customer_id", "ordered_at", "amount", "quantity", "currency"):
        assert column in message
    hints = [line for line in message.splitlines() if line.startswith("Hint: ")]
    assert len(hints) == len(set(hints)) == 6
    assert message.splitlines()[-1].startswith("Hint: ")


def test_many_failures_in_web_sessions(to_kind: ToKind) -> None:
    frame = make(
        "web_sessions",
        4,
        session_id=pl.Series(["s1", "s2", "s1", "s1"]),
        visitor_id=pl.Series([1.0, 2.0, 3.0, 4.0]),
        pageviews=[0, 1, None, 2],
        duration_s=[INF, -2.0, 1.0, None],
        converted=pl.Series(["yes", "no", "no", "no"]),
    )
    assert_failures_any_order(
        to_kind(frame),
        "web_sessions",
        ("web_sessions", "session_id", "unique(session_id)", 3, ["'s1' (3 rows)"]),
        ("web_sessions", "visitor_id", "dtype('Int64 | String')", None, ["got Float64"]),
        ("web_sessions", "pageviews", "not_nullable", 1, ["null (row 2)"]),
        ("web_sessions", "pageviews", "greater_than_or_equal_to(1)", 1, ["0 (row 0)"]),
        ("web_sessions", "duration_s", "greater_than_or_equal_to(0)", 1, ["-2.0 (row 1)"]),
        ("web_sessions", "duration_s", "finite", 1, ["inf (row 0)"]),
        ("web_sessions", "converted", "dtype('Boolean')", None, ["got String"]),
    )


def test_many_failures_in_survey_responses_and_feedback(to_kind: ToKind) -> None:
    frame = make("survey_responses", 3, response_id=[5, 5, 6], score=[10, 11, None]).drop(
        "responded_at"
    )
    assert_failures(
        to_kind(frame),
        "survey_responses",
        ("survey_responses", "response_id", "unique(response_id)", 2, ["5 (2 rows)"]),
        ("survey_responses", "responded_at", "column_in_dataframe", None, ["column is missing"]),
        ("survey_responses", "score", "not_nullable", 1, ["null (row 2)"]),
        ("survey_responses", "score", "in_range(0, 10)", 1, ["11 (row 1)"]),
    )
    frame = make("feedback", 3, channel=["review", None, None], rating=[0, 3, 9])
    assert_failures(
        to_kind(frame),
        "feedback",
        ("feedback", "channel", "not_nullable", 2, ["null (row 1)", "null (row 2)"]),
        ("feedback", "rating", "in_range(1, 5)", 2, ["0 (row 0)", "9 (row 2)"]),
    )


def test_failures_follow_the_model_order_not_the_frame_order(to_kind: ToKind) -> None:
    frame = make(
        "subscriptions",
        3,
        subscription_id=[1, 1, 2],
        mrr=[-1.0, 1.0, 1.0],
        ended_at=[date(2024, 1, 1), None, None],
        currency=["EUR", "USD", "USD"],
    ).drop("customer_id")
    want = expected(
        ("subscriptions", "subscription_id", "unique(subscription_id)", 2, ["1 (2 rows)"]),
        ("subscriptions", "customer_id", "column_in_dataframe", None, ["column is missing"]),
        (
            "subscriptions",
            "ended_at",
            "ended_at >= started_at",
            1,
            ["row 0: ended_at=2024-01-01, started_at=2024-02-27"],
        ),
        ("subscriptions", "mrr", "greater_than_or_equal_to(0)", 1, ["-1.0 (row 0)"]),
        (
            "subscriptions",
            "currency",
            "single_value(currency)",
            1,
            [
                "'USD' (2 rows)",
                "'EUR' (1 row)",
            ],
        ),
    )
    assert_frame_equal(failures_of(to_kind(frame), "subscriptions"), want)
    reversed_columns = frame.select(reversed(frame.columns))
    assert_frame_equal(failures_of(to_kind(reversed_columns), "subscriptions"), want)


def test_failures_frame_schema(to_kind: ToKind) -> None:
    got = failures_of(to_kind(make("orders", 2, order_id=[1, 1])), "orders")
    assert got.schema == FAILURE_SCHEMA


def test_one_failure_message(to_kind: ToKind) -> None:
    message = str(error_of(to_kind(make("spend", 2, amount=[-3.0, 1.0])), "spend"))
    lines = message.splitlines()
    assert lines[0] == "Validation failed: 1 check failed in table 'spend'."
    assert lines[1] == "table 'spend':"
    assert "greater_than_or_equal_to(0)" in lines[3]
    assert "-3.0 (row 0)" in lines[3]
    assert lines[-1] == (
        "Hint: values are outside the range the data model allows; fix or drop those rows."
    )


@pytest.mark.parametrize(
    ("table", "columns", "hint"),
    [
        ("orders", {"order_id": [1, 1]}, "ids must be unique"),
        ("orders", {"currency": ["EUR", "USD"]}, "convert every amount to one currency"),
        ("orders", {"amount": [NAN, 1.0]}, "NaN and infinite amounts cannot be summed"),
        ("orders", {"customer_id": [None, 1]}, "fill or drop the null"),
        ("leads", {"converted_at": [datetime(2000, 1, 1), None]}, "an end comes before its start"),
        ("feedback", {"rating": [7, 1]}, "values are outside the range"),
        ("orders", {"amount": pl.Series(["1", "2"])}, "cast the column to an accepted dtype"),
        ("leads", {"created_at": _zoned(_times(2), "UTC")}, "make every datetime naive"),
    ],
    ids=_case_id,
)
def test_hints(table: str, columns: dict[str, Any], hint: str, to_kind: ToKind) -> None:
    message = str(error_of(to_kind(make(table, 2, **columns)), table))
    assert f"Hint: {hint}" in message


# --------------------------------------------------------------------------
# eager and lazy inputs, identity, no mutation


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_lazy_in_lazy_out(table: str) -> None:
    lazy = make(table).lazy()
    assert cm.validate(lazy, table) is lazy


def test_lazy_data_checks_run() -> None:
    lazy = make("orders", 3, order_id=[1, 1, 2], amount=[1.0, NAN, 2.0]).lazy()
    assert_failures(
        lazy,
        "orders",
        ("orders", "order_id", "unique(order_id)", 2, ["1 (2 rows)"]),
        ("orders", "amount", "finite", 1, ["NaN (row 1)"]),
    )


def test_lazy_plan_is_validated_as_computed() -> None:
    # The plan makes the bad values: only running it finds them.
    lazy = make("survey_responses", 3).lazy().with_columns(pl.col("score") + 5)
    assert_failures(
        lazy,
        "survey_responses",
        (
            "survey_responses",
            "score",
            "in_range(0, 10)",
            3,
            ["15 (row 0)", "14 (row 1)", "13 (row 2)"],
        ),
    )


def test_lazy_plan_that_cannot_run_is_a_validation_error() -> None:
    lazy = pl.LazyFrame({"order_id": ["x"]}).select(
        pl.col("order_id").cast(pl.Int64),
        pl.lit(1, dtype=pl.Int64).alias("customer_id"),
        pl.lit(date(2024, 1, 1)).alias("ordered_at"),
        pl.lit(1.0).alias("amount"),
    )
    got = failures_of(lazy, "orders")
    assert got.select("table", "column", "check", "n_rows").rows() == [
        ("orders", "*", "readable", None)
    ]


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_eager_and_lazy_failures_are_equal(table: str) -> None:
    frame = make(table, 3).with_columns(
        pl.lit(None, dtype=make(table).schema[c]).alias(c)
        for c in cm.schemas.required_columns(table)[:1]
    )
    assert_frame_equal(failures_of(frame, table), failures_of(frame.lazy(), table))


def test_input_is_not_mutated(to_kind: ToKind) -> None:
    good = make("orders", 4)
    bad = make("orders", 4, order_id=[1, 1, 2, 3], amount=[NAN, 1.0, None, -INF])
    for frame in (good, bad):
        before = frame.clone()
        given_frame = to_kind(frame)
        schema_before = given_frame.collect_schema()
        try:
            cm.validate(given_frame, "orders")
        except cm.ValidationError:
            pass
        assert given_frame.collect_schema() == schema_before
        after = given_frame.collect() if isinstance(given_frame, pl.LazyFrame) else given_frame
        assert_frame_equal(after, before)
        assert_frame_equal(frame, before)


def test_validate_arguments_are_positional_only() -> None:
    with pytest.raises(TypeError):
        cm.validate(make("orders"), table="orders")  # type: ignore[call-arg]


# --------------------------------------------------------------------------
# not a Polars frame, unknown tables


class _FakePandasFrame:
    """Stands in for a pandas DataFrame (pandas is not a dependency)."""

    __module__ = "pandas.core.frame"

    def __init__(self) -> None:
        self.columns = ["order_id"]


_FakePandasFrame.__qualname__ = "DataFrame"


@pytest.mark.parametrize(
    ("frame", "got"),
    [
        ({"order_id": [1]}, "builtins.dict"),
        (_FakePandasFrame(), "pandas.core.frame.DataFrame"),
        (pa.table({"order_id": [1]}), "pyarrow.lib.Table"),
        (np.zeros((2, 2)), "numpy.ndarray"),
        (None, "builtins.NoneType"),
        (pl.Series("order_id", [1]), "polars.series.series.Series"),
    ],
    ids=["dict", "pandas-like", "pyarrow", "numpy", "none", "series"],
)
def test_not_a_polars_frame(frame: Any, got: str) -> None:
    error = error_of(frame, "orders")
    assert_frame_equal(
        error.failures, expected(("orders", "*", "frame_type", None, [f"got {got}"]))
    )
    assert "Hint: convert with pl.from_pandas(df) or pl.from_arrow(table)." in str(error)


def test_real_pandas_frame() -> None:
    pd = pytest.importorskip("pandas")
    got = failures_of(pd.DataFrame({"order_id": [1]}), "orders")
    assert got.select("column", "check").rows() == [("*", "frame_type")]


@pytest.mark.parametrize("name", ["order", "Orders", "survey-responses", "campaigns", ""])
def test_unknown_table(name: str) -> None:
    with pytest.raises(cm.UnknownTableError) as caught:
        cm.validate(make("orders"), name)
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, cm.CrmMetricsError)
    assert not isinstance(caught.value, cm.ValidationError)
    assert str(caught.value).startswith(f"Unknown table {name!r}.")
    assert "Hint:" in str(caught.value)


def test_unknown_table_wins_over_bad_frame() -> None:
    with pytest.raises(cm.UnknownTableError):
        cm.validate({"a": 1}, "nope")


def test_validation_error_is_catchable_as_value_error(to_kind: ToKind) -> None:
    frame = to_kind(make("orders", 2, order_id=[1, 1]))
    with pytest.raises(ValueError, match="unique"):
        cm.validate(frame, "orders")
    with pytest.raises(cm.CrmMetricsError):
        cm.validate(frame, "orders")
    error = error_of(frame, "orders")
    assert isinstance(error, ValueError)
    assert isinstance(error, cm.CrmMetricsError)


# --------------------------------------------------------------------------
# personal data stays out of messages

PII_VALUES = (PERSON_NAME, PERSON_EMAIL, PERSON_PHONE, PERSON_ADDRESS, COMMENT, "Grace", "hopper")


def _assert_no_pii(error: cm.ValidationError) -> None:
    text = str(error) + repr(error) + str(error.failures.rows())
    for value in PII_VALUES:
        assert value.lower() not in text.lower(), value


def test_row_check_examples_never_show_pii_of_leads(to_kind: ToKind) -> None:
    frame = make(
        "leads",
        3,
        converted_at=[datetime(2020, 1, 1), datetime(2020, 1, 1), None],
        name=pl.Series([PERSON_NAME] * 3),
        email=pl.Series([PERSON_EMAIL] * 3),
        phone=pl.Series([PERSON_PHONE] * 3),
        notes=pl.Series([COMMENT] * 3),
    )
    error = error_of(to_kind(frame), "leads")
    assert error.failures.select("column", "check", "n_rows").rows() == [
        ("converted_at", "converted_at >= created_at", 2)
    ]
    _assert_no_pii(error)


def test_failures_of_customers_never_show_pii(to_kind: ToKind) -> None:
    frame = make(
        "customers",
        4,
        customer_id=[1, 1, 2, None],
        age=[200.0, NAN, 30.0, -1.0],
        income=[-5.0, 1.0, INF, 2.0],
        consent_marketing=pl.Series(["yes", "no", "yes", "no"]),
    )
    error = error_of(to_kind(frame), "customers")
    assert set(error.failures["column"]) == {
        "customer_id",
        "age",
        "income",
        "consent_marketing",
    }
    _assert_no_pii(error)


def test_failures_of_free_text_tables_never_show_pii(to_kind: ToKind) -> None:
    for table, columns in (
        ("survey_responses", {"score": [11, -1, 3], "response_id": [1, 1, 2]}),
        ("feedback", {"rating": [9, 1, 1], "feedback_id": [3, 3, 3]}),
        ("subscriptions", {"ended_at": [date(2000, 1, 1), None, None]}),
        ("campaign_stats", {"clicks": [10_000, 0, 0]}),
    ):
        frame = make(table, 3, **columns).with_columns(
            pl.lit(PERSON_EMAIL).alias("email"), pl.lit(PERSON_NAME).alias("contact")
        )
        _assert_no_pii(error_of(to_kind(frame), table))


# --------------------------------------------------------------------------
# properties: inject k bad values into a valid frame, find exactly k


@settings(deadline=None, max_examples=20)
@given(
    frame=STRATEGIES["orders"](1, 30, with_optional=False),
    data=st.data(),
)
def test_injected_non_finite_amounts_are_all_found(
    frame: pl.DataFrame, data: st.DataObject, frame_kind: FrameKind
) -> None:
    rows = data.draw(st.sets(st.integers(0, frame.height - 1), min_size=1))
    values = data.draw(
        st.lists(st.sampled_from([NAN, INF, -INF]), min_size=len(rows), max_size=len(rows))
    )
    bad = dict(zip(sorted(rows), values, strict=True))
    amounts = [bad.get(i, a) for i, a in enumerate(frame["amount"].to_list())]
    broken = frame.with_columns(pl.Series("amount", amounts, dtype=pl.Float64))
    shown = {v: s for v, s in ((INF, "inf"), (-INF, "-inf"))}
    examples = [f"{shown.get(v, 'NaN')} (row {i})" for i, v in sorted(bad.items())][:5]
    assert_failures(
        as_kind(broken, frame_kind), "orders", ("orders", "amount", "finite", len(bad), examples)
    )


@settings(deadline=None, max_examples=20)
@given(frame=STRATEGIES["subscriptions"](2, 30, with_optional=False), data=st.data())
def test_injected_duplicate_ids_are_counted(
    frame: pl.DataFrame, data: st.DataObject, frame_kind: FrameKind
) -> None:
    ids = frame["subscription_id"].to_list()
    targets = data.draw(st.lists(st.integers(0, len(ids) - 1), min_size=1, max_size=len(ids)))
    copies = data.draw(
        st.lists(st.integers(0, len(ids) - 1), min_size=len(targets), max_size=len(targets))
    )
    for target, source in zip(targets, copies, strict=True):
        ids[target] = ids[source]
    broken = frame.with_columns(
        pl.Series("subscription_id", ids, dtype=frame["subscription_id"].dtype)
    )
    counts = broken.group_by("subscription_id").len().filter(pl.col("len") > 1)
    if counts.height == 0:
        cm.validate(as_kind(broken, frame_kind), "subscriptions")
        return
    got = failures_of(as_kind(broken, frame_kind), "subscriptions")
    assert got.select("column", "check", "n_rows").rows() == [
        ("subscription_id", "unique(subscription_id)", counts["len"].sum())
    ]
    assert len(got["examples"][0]) == min(5, counts.height)


@settings(deadline=None, max_examples=20)
@given(frame=STRATEGIES["survey_responses"](1, 30, with_optional=False), data=st.data())
def test_injected_scores_out_of_range_are_counted(
    frame: pl.DataFrame, data: st.DataObject, frame_kind: FrameKind
) -> None:
    out_of_range = st.one_of(st.integers(-(10**6), -1), st.integers(11, 10**6))
    rows = data.draw(st.sets(st.integers(0, frame.height - 1), min_size=1))
    scores = frame["score"].to_list()
    for row in rows:
        scores[row] = data.draw(out_of_range)
    broken = frame.with_columns(pl.Series("score", scores, dtype=pl.Int64))
    examples = [f"{scores[i]} (row {i})" for i in sorted(rows)][:5]
    assert_failures(
        as_kind(broken, frame_kind),
        "survey_responses",
        ("survey_responses", "score", "in_range(0, 10)", len(rows), examples),
    )


# --------------------------------------------------------------------------
# regressions: bugs found in src/ by this file, fixed, pinned here


def test_regression_string_score_reports_only_its_dtype(to_kind: ToKind) -> None:
    frame = make("survey_responses", 2, score=pl.Series(["7", "9"]))
    assert_failures(
        to_kind(frame),
        "survey_responses",
        ("survey_responses", "score", "dtype('integer (Int*, UInt*)')", None, ["got String"]),
    )


def test_regression_text_dates_do_not_fail_the_row_check(to_kind: ToKind) -> None:
    frame = make("leads", 2, converted_at=pl.Series(["2024-03-01", None]))
    got = failures_of(to_kind(frame), "leads")
    assert 0 not in got["n_rows"].to_list()
    assert got["check"].to_list() == ["dtype('Date | Datetime')"]


def test_regression_null_ids_are_not_duplicates(to_kind: ToKind) -> None:
    frame = make("orders", 3, order_id=[None, None, 1])
    assert_failures(
        to_kind(frame),
        "orders",
        ("orders", "order_id", "not_nullable", 2, ["null (row 0)", "null (row 1)"]),
    )


def test_regression_date_against_zone_without_midnight(to_kind: ToKind) -> None:
    frame = make(
        "leads",
        2,
        created_at=pl.Series([date(2024, 9, 8), date(2024, 9, 9)]),
        converted_at=_zoned([datetime(2024, 9, 9, 12)] * 2, "America/Santiago"),
    )
    cm.validate(to_kind(frame), "leads")


def test_regression_extra_datetime_column_is_ignored(to_kind: ToKind) -> None:
    frame = make("orders", 2, loaded_at=_zoned(_times(2), "UTC"))
    cm.validate(to_kind(frame), "orders")
