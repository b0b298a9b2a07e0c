"""``cm.with_customer_attributes``.

The docstring of :mod:`crm_metrics.segments` is the specification: every event
row is kept, in its order, with the customer's attributes appended (no row
added or lost); rows of unknown customers are kept with null attributes and an
``OrphanRowsWarning`` (eager events only); anonymous rows (null
``customer_id``) get nulls silently; personal data, unknown and clashing
columns are ``ArgumentError``; a missing or non-unique ``customer_id`` is a
``ValidationError``. The joined attributes then work as any KPI's ``group_by``.
"""

from __future__ import annotations

import warnings
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
import strategies
from oracle_kpis import collected

if TYPE_CHECKING:
    from collections.abc import Callable

    ToKind = Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]


CUSTOMERS = pl.DataFrame(
    {
        "customer_id": [1, 2, 3],
        "country": ["FR", "DE", None],
        "gender": ["female", "male", "female"],
        "email": ["a@x.fr", "b@x.de", "c@x.fr"],
        "name": ["Ada", "Bob", "Cy"],
        "birth_date": [date(2000, 2, 29), date(1980, 6, 1), date(1960, 1, 1)],
    }
)


def join(events: pl.DataFrame | pl.LazyFrame, columns: Any, customers: Any = CUSTOMERS) -> Any:
    return cm.with_customer_attributes(events, customers, columns)


# --------------------------------------------------------------------------
# 1. golden tests


def test_docstring_example(to_kind: ToKind) -> None:
    responses = pl.DataFrame({"response_id": [7, 8, 9], "customer_id": [2, None, 1]})
    data = to_kind(responses)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # anonymous rows are silent
        got = collected(join(data, "country"), data)
    want = pl.DataFrame(
        {"response_id": [7, 8, 9], "customer_id": [2, None, 1], "country": ["DE", None, "FR"]}
    )
    assert_frame_equal(got, want)


def test_rows_and_order_are_kept_with_repeats(to_kind: ToKind) -> None:
    events = pl.DataFrame({"event": list(range(8)), "customer_id": [3, 1, 3, None, 2, 2, 1, 3]})
    data = to_kind(events)
    got = collected(join(data, ["gender", "country"]), data)
    assert got.columns == ["event", "customer_id", "gender", "country"]
    assert got["event"].to_list() == list(range(8))
    assert got["gender"].to_list() == [
        "female",
        "female",
        "female",
        None,
        "male",
        "male",
        "female",
        "female",
    ]
    assert got["country"].to_list() == [None, "FR", None, None, "DE", "DE", "FR", None]


def test_orphans_warn_with_their_count_and_are_kept() -> None:
    events = pl.DataFrame({"order_id": [1, 2, 3, 4, 5], "customer_id": [1, 9, 9, 7, None]})
    with pytest.warns(cm.OrphanRowsWarning, match=r"3 event rows") as record:
        got = join(events, "country")
    assert "[7, 9]" in str(record[0].message)
    assert got.height == 5
    assert got["country"].to_list() == ["FR", None, None, None, None]


def test_lazy_events_stay_lazy_and_do_not_warn() -> None:
    events = pl.DataFrame({"customer_id": [1, 9]}).lazy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = join(events, "country", CUSTOMERS.lazy())
    assert isinstance(got, pl.LazyFrame)
    assert got.collect()["country"].to_list() == ["FR", None]


def test_string_ids(to_kind: ToKind) -> None:
    customers = pl.DataFrame({"customer_id": ["c-1", "c-2"], "region": ["north", "south"]})
    events = pl.DataFrame({"customer_id": ["c-2", "c-2", "c-1"]})
    data = to_kind(events)
    got = collected(cm.with_customer_attributes(data, to_kind(customers), "region"), data)
    assert got["region"].to_list() == ["south", "south", "north"]


def test_derived_age_band_reaches_group_by(to_kind: ToKind) -> None:
    customers = CUSTOMERS.with_columns(cm.expr.age_band("birth_date", date(2024, 3, 1)))
    responses = pl.DataFrame(
        {
            "response_id": range(6),
            "customer_id": [1, 2, 3, 1, None, 2],
            "responded_at": [date(2024, 2, 1)] * 6,
            "score": [10, 9, 0, 8, 5, 10],
        }
    )
    joined = join(responses, "age_band", customers)
    data = to_kind(joined)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cm.SmallSampleWarning)
        got = collected(cm.net_promoter_score(data, group_by="age_band"), data)
    # ages on 1 Mar 2024: 24 (born 29 Feb 2000), 43, 64; bands sort by age, not alphabet
    assert got.select("age_band", "responses", "promoters").rows() == [
        ("18-24", 2, 1),
        ("35-44", 2, 2),
        ("55-64", 1, 0),
        (None, 1, 0),
    ]
    assert got.schema["age_band"] == pl.Enum(cm.expr.age_band_labels())


# --------------------------------------------------------------------------
# 2. properties


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, Any]:
    """Customers and survey responses that reference some of them, some others, some nobody."""
    ids = draw(st.sampled_from([pl.Int64, pl.String]))
    people = draw(strategies.customers(min_rows=1, max_rows=8, id_dtype=ids))
    known = people["customer_id"].to_list()
    strangers = ["zz-1", "zz-2"] if ids == pl.String else [-1, -2]
    pool = known + strangers
    responses = draw(
        strategies.survey_responses(
            max_rows=40, id_dtype=ids, customer_ids=pool, with_optional=True
        )
    )
    return {"customers": people, "responses": responses, "known": set(known)}


@settings(deadline=None, max_examples=30)
@given(bundle=bundles(), columns=st.sampled_from([["country"], ["gender", "age"], "region"]))
def test_join_matches_a_lookup(bundle: dict[str, Any], columns: Any) -> None:
    people, responses = bundle["customers"], bundle["responses"]
    wanted = [columns] if isinstance(columns, str) else columns
    before = (people.clone(), responses.clone())
    orphans = sum(1 for c in responses["customer_id"] if c is not None and c not in bundle["known"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = cm.with_customer_attributes(responses, people, columns)
    warned = [w for w in caught if issubclass(w.category, cm.OrphanRowsWarning)]
    if orphans:
        assert len(warned) == 1
        assert f"{orphans:,} event rows" in str(warned[0].message)
    else:
        assert not warned
    lookup = {row["customer_id"]: row for row in people.to_dicts()}
    # no row added or lost, order kept, attributes from the customer (null if unknown)
    assert_frame_equal(got.select(responses.columns), responses)
    for column in wanted:
        want = [lookup.get(c, {}).get(column) for c in responses["customer_id"].to_list()]
        assert got[column].to_list() == want
        assert got.schema[column] == people.schema[column]
    lazy = cm.with_customer_attributes(responses.lazy(), people.lazy(), columns)
    assert_frame_equal(lazy.collect(), got)
    assert_frame_equal(before[0], people)
    assert_frame_equal(before[1], responses)


@settings(deadline=None, max_examples=20)
@given(bundle=bundles(), every=st.sampled_from([None, "1mo", "1q"]))
def test_nps_by_country_sums_back_to_the_overall_counts(
    bundle: dict[str, Any], every: str | None
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cm.OrphanRowsWarning)
        joined = cm.with_customer_attributes(bundle["responses"], bundle["customers"], "country")
    counts = ["responses", "promoters", "passives", "detractors"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cm.SmallSampleWarning)
        total = cm.net_promoter_score(bundle["responses"], every=every)
        grouped = cm.net_promoter_score(joined, every=every, group_by="country")
    if every is None:
        # no responses at all: both are empty (empty in, empty out)
        want = total.select(counts).row(0) if total.height else (0, 0, 0, 0)
        assert grouped.select(pl.col(counts).sum()).row(0) == want
    else:
        sums = grouped.group_by("period_start").agg(pl.col(counts).sum()).sort("period_start")
        assert_frame_equal(sums, total.select("period_start", *counts))


# --------------------------------------------------------------------------
# 3. errors


@pytest.mark.parametrize("column", ["name", "email", "phone", "address"])
def test_personal_data_is_refused(column: str) -> None:
    customers = CUSTOMERS.with_columns(pl.lit("x").alias("phone"), pl.lit("x").alias("address"))
    events = pl.DataFrame({"customer_id": [1]})
    with pytest.raises(cm.ArgumentError, match="personal data") as info:
        cm.with_customer_attributes(events, customers, ["country", column])
    assert "Hint:" in str(info.value)


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        (["income"], "not columns of customers"),
        (["customer_id"], "join key"),
        (["country"], "already columns of the events"),
    ],
)
def test_bad_columns(columns: list[str], match: str) -> None:
    events = pl.DataFrame({"customer_id": [1], "country": ["FR"]})
    with pytest.raises(cm.ArgumentError, match=match):
        cm.with_customer_attributes(events, CUSTOMERS, columns)


def test_duplicate_customer_ids(to_kind: ToKind) -> None:
    customers = pl.DataFrame({"customer_id": [1, 1, 2], "country": ["FR", "DE", "US"]})
    events = to_kind(pl.DataFrame({"customer_id": [1, 2]}))
    with pytest.raises(cm.ValidationError, match="customer_id"):
        cm.with_customer_attributes(events, customers, "country")


def test_null_customer_ids_in_customers() -> None:
    customers = pl.DataFrame({"customer_id": [1, None], "country": ["FR", "DE"]})
    with pytest.raises(cm.ValidationError, match="customer_id"):
        cm.with_customer_attributes(pl.DataFrame({"customer_id": [1]}), customers, "country")


def test_events_without_customer_id(to_kind: ToKind) -> None:
    events = to_kind(pl.DataFrame({"order_id": [1]}))
    with pytest.raises(cm.ValidationError, match="customer_id"):
        cm.with_customer_attributes(events, CUSTOMERS, "country")


def test_customers_without_customer_id() -> None:
    events = pl.DataFrame({"customer_id": [1]})
    with pytest.raises(cm.ValidationError, match="customer_id"):
        cm.with_customer_attributes(events, CUSTOMERS.drop("customer_id"), "country")


def test_id_dtypes_must_agree(to_kind: ToKind) -> None:
    events = to_kind(pl.DataFrame({"customer_id": ["1"]}))
    with pytest.raises(cm.ValidationError, match="customer_id"):
        cm.with_customer_attributes(events, CUSTOMERS, "country")


def test_not_a_frame() -> None:
    with pytest.raises(cm.ValidationError):
        cm.with_customer_attributes({"customer_id": [1]}, CUSTOMERS, "country")  # type: ignore[type-var]


def test_duplicate_ids_in_lazy_customers_fail_when_collected() -> None:
    """Documented: a lazy customers table is checked at schema level only; duplicate
    ids fail when the result is collected (Polars' m:1 join check) — at the call for
    eager events, which the function collects."""
    customers = pl.LazyFrame({"customer_id": [1, 1], "country": ["FR", "DE"]})
    events = pl.DataFrame({"customer_id": [1, 2]})
    lazy = cm.with_customer_attributes(events.lazy(), customers, "country")
    with pytest.raises(pl.exceptions.ComputeError, match="m:1"):
        lazy.collect()
    with pytest.raises(pl.exceptions.ComputeError, match="m:1"):
        cm.with_customer_attributes(events, customers, "country")
