"""``cm.revenue_growth_rate``, ``cm.average_order_value``,
``cm.average_revenue_per_customer``, ``cm.purchase_frequency``.

The docstrings of :mod:`crm_metrics.revenue` are the specification:

* revenue is the sum of ``amount`` in the period, refunds (negative) included;
  purchases are rows with ``amount >= 0``; customers are distinct buyers;
* periods are ``dt.truncate(every)`` periods in the column's own calendar, dense
  from the first observed order to ``as_of``'s period;
* growth compares with the previous period or the period containing
  ``period_start - 1y`` (``- 52w`` for weekly periods); the compared revenue
  is null before the first period, the growth rate null unless it is > 0.

Layout: golden tests by hand; hypothesis properties against
:mod:`oracle_kpis`; invariants; errors; regressions for bugs found this way.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
import strategies
from oracle_kpis import (
    EVERY,
    aov_oracle,
    arpc_oracle,
    as_of_exists,
    as_of_values,
    check_kpi,
    collected,
    exact_money,
    purchase_frequency_oracle,
    revenue_growth_oracle,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    ToKind = Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]


# --------------------------------------------------------------------------
# helpers


def make_orders(
    rows: Sequence[tuple[Any, date | datetime, float]],
    *,
    time_zone: str | None = None,
    **extra: Sequence[Any],
) -> pl.DataFrame:
    """An ``orders`` frame from ``(customer_id, ordered_at, amount)`` rows.

    ``ordered_at`` is a Date column when the first value is a ``date``;
    datetimes are read as wall time in ``time_zone``.
    """
    stamps = [r[1] for r in rows]
    if stamps and not isinstance(stamps[0], datetime):
        ordered_at = pl.Series("ordered_at", stamps, dtype=pl.Date)
    else:
        ordered_at = pl.Series("ordered_at", stamps, dtype=pl.Datetime("us"))
        if time_zone is not None:
            ordered_at = ordered_at.dt.replace_time_zone(time_zone)
    return pl.DataFrame(
        [
            pl.Series("order_id", range(1, len(rows) + 1), dtype=pl.Int64),
            pl.Series("customer_id", [r[0] for r in rows], dtype=pl.Int64),
            ordered_at,
            pl.Series("amount", [r[2] for r in rows], dtype=pl.Float64),
            *(pl.Series(name, values) for name, values in extra.items()),
        ]
    )


GROWTH_SCHEMA = {
    "period_start": pl.Date(),
    "revenue": pl.Float64(),
    "compared_revenue": pl.Float64(),
    "growth_rate": pl.Float64(),
    "is_complete": pl.Boolean(),
}


def growth_frame(
    rows: Sequence[tuple[date, float, float | None, float | None, bool]],
) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=GROWTH_SCHEMA, orient="row")


def run(function: Callable[..., Any], frame: pl.DataFrame, to_kind: ToKind, **kw: Any) -> Any:
    data = to_kind(frame)
    return collected(function(data, **kw), data)


# --------------------------------------------------------------------------
# 1. golden tests


def test_design_worked_example_growth(to_kind: ToKind) -> None:
    """DESIGN §4: revenue 100,000 → 125,000 is a growth of 25 %."""
    frame = make_orders(
        [
            (1, date(2024, 1, 5), 60_000.0),
            (2, date(2024, 1, 31), 40_000.0),  # month end: still January
            (1, date(2024, 2, 1), 100_000.0),
            (3, date(2024, 2, 29), 25_000.0),  # leap day
        ]
    )
    want = growth_frame(
        [
            (date(2024, 1, 1), 100_000.0, None, None, True),
            (date(2024, 2, 1), 125_000.0, 100_000.0, 0.25, True),  # 29 Feb is observed whole
        ]
    )
    assert_frame_equal(run(cm.revenue_growth_rate, frame, to_kind), want)
    assert_frame_equal(revenue_growth_oracle(frame), want)


def test_refunds_empty_periods_and_non_positive_comparisons(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 10), 100.0),
            (1, date(2024, 1, 20), -30.0),  # refund: January nets 70
            # February: no order at all → revenue 0
            (2, date(2024, 3, 3), 50.0),  # growth over 0 is null
            (2, date(2024, 4, 4), -80.0),  # April nets -80
            (3, date(2024, 5, 5), 40.0),  # growth over a net refund is null
            (3, date(2024, 6, 6), 60.0),
        ]
    )
    want = growth_frame(
        [
            (date(2024, 1, 1), 70.0, None, None, True),
            (date(2024, 2, 1), 0.0, 70.0, -1.0, True),
            (date(2024, 3, 1), 50.0, 0.0, None, True),
            (date(2024, 4, 1), -80.0, 50.0, -2.6, True),
            (date(2024, 5, 1), 40.0, -80.0, None, True),
            (date(2024, 6, 1), 60.0, 40.0, 0.5, True),
        ]
    )
    got = run(cm.revenue_growth_rate, frame, to_kind, as_of=date(2024, 6, 30))
    assert_frame_equal(got, want)
    assert_frame_equal(revenue_growth_oracle(frame, as_of=date(2024, 6, 30)), want)


def test_year_ago_monthly_with_leap_day(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2023, 2, 28), 100.0),
            (1, date(2024, 2, 29), 150.0),
            (1, date(2025, 2, 28), 120.0),
        ]
    )
    got = run(cm.revenue_growth_rate, frame, to_kind, compare="year_ago", as_of=date(2025, 2, 28))
    february = got.filter(pl.col("period_start").dt.month() == 2)
    assert february.rows() == [
        (date(2023, 2, 1), 100.0, None, None, True),
        (date(2024, 2, 1), 150.0, 100.0, 0.5, True),
        (date(2025, 2, 1), 120.0, 150.0, pytest.approx(-0.2), True),
    ]
    march_2024 = got.filter(pl.col("period_start") == date(2024, 3, 1))
    assert march_2024.rows() == [(date(2024, 3, 1), 0.0, 0.0, None, True)]  # vs March 2023
    assert got.height == 25  # every month from February 2023 to February 2025
    assert_frame_equal(
        revenue_growth_oracle(frame, compare="year_ago", as_of=date(2025, 2, 28)), got
    )


def test_year_ago_daily_clamps_29_february(to_kind: ToKind) -> None:
    """Days compare with ``day - 1y``: 29 Feb 2024 and 28 Feb 2024 both look at 28 Feb 2023."""
    frame = make_orders(
        [
            (1, date(2023, 2, 28), 10.0),
            (1, date(2023, 3, 1), 20.0),
            (1, date(2024, 2, 28), 30.0),
            (1, date(2024, 2, 29), 40.0),
            (1, date(2024, 3, 1), 50.0),
        ]
    )
    got = run(cm.revenue_growth_rate, frame, to_kind, every="1d", compare="year_ago")
    tail = got.filter(pl.col("period_start") >= date(2024, 2, 28)).select(
        "period_start", "revenue", "compared_revenue", "growth_rate"
    )
    assert tail.rows() == [
        (date(2024, 2, 28), 30.0, 10.0, 2.0),
        (date(2024, 2, 29), 40.0, 10.0, 3.0),
        (date(2024, 3, 1), 50.0, 20.0, 1.5),
    ]
    assert_frame_equal(revenue_growth_oracle(frame, every="1d", compare="year_ago"), got)


def test_year_ago_weekly_is_52_weeks_back(to_kind: ToKind) -> None:
    """The ISO week starting Monday 30 Dec 2024 (2025-W01) compares with Monday 1 Jan 2024."""
    frame = make_orders(
        [
            (1, date(2024, 1, 7), 80.0),  # Sunday: week of Monday 1 January 2024
            (1, date(2024, 12, 31), 100.0),  # Tuesday of the week of Monday 30 December
            (1, date(2025, 1, 5), 20.0),  # Sunday of that same week
        ]
    )
    got = run(cm.revenue_growth_rate, frame, to_kind, every="1w", compare="year_ago")
    last = got.row(-1, named=True)
    assert last == {
        "period_start": date(2024, 12, 30),
        "revenue": 120.0,
        "compared_revenue": 80.0,
        "growth_rate": 0.5,
        "is_complete": True,  # 5 January is observed whole; the week ends on the 6th
    }
    assert got.height == 53
    assert got["period_start"].dt.weekday().unique().to_list() == [1]  # all Mondays
    assert_frame_equal(revenue_growth_oracle(frame, every="1w", compare="year_ago"), got)


def test_year_ago_before_first_period_is_null(to_kind: ToKind) -> None:
    frame = make_orders([(1, date(2024, 1, 15), 10.0), (1, date(2024, 3, 15), 10.0)])
    got = run(cm.revenue_growth_rate, frame, to_kind, every="1mo", compare="year_ago")
    assert got["compared_revenue"].null_count() == got.height == 3
    assert got["growth_rate"].null_count() == 3


def test_average_order_value_golden(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 5), 100.0),
            (2, date(2024, 1, 9), 50.0),
            (1, date(2024, 1, 20), -30.0),  # refund: lowers revenue, not an order
            (3, date(2024, 1, 20), 0.0),  # a zero-amount order is an order
            # February: nothing
            (2, date(2024, 3, 1), -10.0),  # a month with only a refund
        ]
    )
    got = run(cm.average_order_value, frame, to_kind)
    want = pl.DataFrame(
        [
            (date(2024, 1, 1), 120.0, 3, 40.0, True),
            (date(2024, 2, 1), 0.0, 0, None, True),
            (date(2024, 3, 1), -10.0, 0, None, False),
        ],
        schema={
            "period_start": pl.Date(),
            "revenue": pl.Float64(),
            "orders": pl.Int64(),
            "average_order_value": pl.Float64(),
            "is_complete": pl.Boolean(),
        },
        orient="row",
    )
    assert_frame_equal(got, want)
    assert_frame_equal(aov_oracle(frame), want)


def test_average_revenue_per_customer_golden(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 5), 100.0),
            (1, date(2024, 1, 5), 30.0),  # same day: still one customer
            (2, date(2024, 1, 9), 50.0),
            (3, date(2024, 1, 20), -20.0),  # only a refund: not a buying customer
        ]
    )
    got = run(cm.average_revenue_per_customer, frame, to_kind)
    assert got.rows() == [(date(2024, 1, 1), 160.0, 2, 80.0, False)]  # as_of: 20 Jan
    assert got.columns == [
        "period_start",
        "revenue",
        "customers",
        "average_revenue_per_customer",
        "is_complete",
    ]
    assert_frame_equal(arpc_oracle(frame), got)


def test_purchase_frequency_golden(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, datetime(2024, 1, 9, 10), 100.0),
            (1, datetime(2024, 1, 9, 10), 30.0),  # same instant: two purchases
            (2, datetime(2024, 1, 9, 11), 50.0),
            (2, datetime(2024, 1, 10, 9), -50.0),  # refunds are in neither count
        ]
    )
    got = run(cm.purchase_frequency, frame, to_kind)
    # The default as_of is the latest instant (10 Jan 09:00): January is not complete.
    assert got.rows() == [(date(2024, 1, 1), 3, 2, 1.5, False)]
    assert_frame_equal(purchase_frequency_oracle(frame), got)


@pytest.mark.parametrize(
    ("as_of", "flags"),
    [
        (None, [False]),  # the latest order, 31 Mar 23:59:59: the instant, not the day
        (date(2024, 3, 31), [True]),  # a date: the whole day is observed
        (datetime(2024, 3, 31, 23, 59, 59, 999999), [False]),
        (datetime(2024, 4, 1), [True, False]),  # the midnight that ends March starts April
        (date(2024, 4, 1), [True, False]),
    ],
)
def test_is_complete_follows_the_end_of_observation(
    to_kind: ToKind, as_of: date | datetime | None, flags: list[bool]
) -> None:
    frame = make_orders(
        [(1, datetime(2024, 3, 1), 10.0), (1, datetime(2024, 3, 31, 23, 59, 59), 10.0)]
    )
    got = run(cm.average_order_value, frame, to_kind, as_of=as_of)
    assert got["is_complete"].to_list() == flags
    assert got["period_start"].to_list() == [date(2024, 3, 1), date(2024, 4, 1)][: len(flags)]
    assert_frame_equal(aov_oracle(frame, as_of=as_of), got)


def test_orders_after_as_of_are_left_out(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, datetime(2024, 1, 31, 12), 10.0),
            (1, datetime(2024, 1, 31, 12, 0, 1), 99.0),  # one second after as_of
            (2, datetime(2024, 3, 1), 99.0),
        ]
    )
    got = run(cm.average_order_value, frame, to_kind, as_of=datetime(2024, 1, 31, 12))
    assert got.rows() == [(date(2024, 1, 1), 10.0, 1, 10.0, False)]


def test_periods_follow_the_local_calendar(to_kind: ToKind) -> None:
    """Near local midnight in Paris, the UTC date is the day before."""
    frame = make_orders(
        [
            (1, datetime(2024, 1, 31, 23, 30), 10.0),  # 22:30 UTC: January
            (2, datetime(2024, 2, 1, 0, 30), 20.0),  # 23:30 UTC on 31 Jan: February
        ],
        time_zone="Europe/Paris",
    )
    got = run(cm.average_order_value, frame, to_kind, as_of=date(2024, 2, 29))
    assert got.select("period_start", "revenue").rows() == [
        (date(2024, 1, 1), 10.0),
        (date(2024, 2, 1), 20.0),
    ]
    assert_frame_equal(aov_oracle(frame, as_of=date(2024, 2, 29)), got)


def test_group_by_keeps_the_null_group_and_densifies(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 5), 10.0),
            (2, date(2024, 2, 5), 20.0),
            (3, date(2024, 2, 6), 30.0),
        ],
        channel=["web", None, "web"],
    )
    got = run(cm.average_order_value, frame, to_kind, group_by="channel")
    assert got.select("period_start", "channel", "revenue", "orders").rows() == [
        (date(2024, 1, 1), "web", 10.0, 1),
        (date(2024, 1, 1), None, 0.0, 0),  # the null group, nulls last
        (date(2024, 2, 1), "web", 30.0, 1),
        (date(2024, 2, 1), None, 20.0, 1),
    ]
    assert_frame_equal(aov_oracle(frame, group_by="channel"), got)


@pytest.mark.parametrize("dtype", [pl.Int64, pl.Decimal(12, 2), pl.Float32])
def test_money_dtypes_give_float64(to_kind: ToKind, dtype: pl.DataType) -> None:
    frame = make_orders([(1, date(2024, 1, 5), 10.0), (2, date(2024, 1, 6), -4.0)]).with_columns(
        pl.col("amount").cast(dtype)
    )
    got = run(cm.average_order_value, frame, to_kind)
    assert got.schema["revenue"] == pl.Float64
    assert got.select("revenue", "orders", "average_order_value").row(0) == (6.0, 1, 6.0)


def test_decimal_cents_sum_exactly(to_kind: ToKind) -> None:
    frame = make_orders([(1, date(2024, 1, 5), 0.0)] * 3).with_columns(
        pl.Series("amount", [Decimal("0.10"), Decimal("0.20"), Decimal("-0.30")]).cast(
            pl.Decimal(12, 2)
        )
    )
    got = run(cm.revenue_growth_rate, frame, to_kind)
    assert got["revenue"].item() == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------
# 2. properties against the oracles


RATIOS: dict[str, tuple[Callable[..., Any], Callable[..., pl.DataFrame]]] = {
    "average_order_value": (cm.average_order_value, aov_oracle),
    "average_revenue_per_customer": (cm.average_revenue_per_customer, arpc_oracle),
    "purchase_frequency": (cm.purchase_frequency, purchase_frequency_oracle),
    "revenue_growth_rate": (cm.revenue_growth_rate, revenue_growth_oracle),
}


@st.composite
def revenue_cases(draw: st.DrawFn) -> dict[str, Any]:
    """An orders frame (≤ 40 rows, exact money) and the arguments of a call."""
    zone = draw(strategies.zones())
    date_only = draw(st.booleans())
    frame = draw(
        strategies.orders(max_rows=40, time_zone=zone, date_only=date_only, with_optional=None)
    )
    keys = [k for k in ("channel", "category") if k in frame.columns]
    return {
        "frame": exact_money(frame),
        "zone": None if date_only else zone,
        "every": draw(st.sampled_from(EVERY)),
        "group_by": draw(st.sampled_from([None, *keys])),
        "as_of": draw(as_of_values()),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(deadline=None, max_examples=50)
@given(
    case=revenue_cases(),
    name=st.sampled_from(sorted(RATIOS)),
    compare=st.sampled_from(["previous", "year_ago"]),
)
def test_matches_oracle(case: dict[str, Any], name: str, compare: str) -> None:
    function, oracle = RATIOS[name]
    kwargs = {k: case[k] for k in ("every", "group_by", "as_of")}
    if name == "revenue_growth_rate":
        kwargs["compare"] = compare
    if not as_of_exists(case["as_of"], case["zone"]):
        with pytest.raises(cm.ArgumentError, match="Hint:"):
            function(case["frame"], **kwargs)
        return
    got = check_kpi(function, oracle, case["frame"], seed=case["seed"], **kwargs)
    # invariants of every revenue table
    assert got["period_start"].is_sorted()
    keys = ["period_start", *([kwargs["group_by"]] if kwargs["group_by"] else [])]
    assert got.select(keys).is_unique().all()
    assert got.select(keys).equals(got.select(keys).sort(keys, nulls_last=True))
    for column in ("average_order_value", "average_revenue_per_customer", "purchase_frequency"):
        if column in got.columns:
            values = got[column]
            assert values.is_nan().sum() == 0 and values.is_infinite().sum() == 0
    if "purchase_frequency" in got.columns:
        assert (got["purchase_frequency"].drop_nulls() >= 1).all()


@settings(deadline=None, max_examples=25)
@given(case=revenue_cases())
def test_group_totals_match_the_ungrouped_result(case: dict[str, Any]) -> None:
    frame = case["frame"].with_columns(pl.col("customer_id").alias("segment"))
    frame = frame.with_columns(
        (pl.col("amount") > 100).alias("big")  # a row-level key
    )
    kwargs = {"every": case["every"], "as_of": case["as_of"]}
    if not as_of_exists(case["as_of"], case["zone"]):
        return
    total = cm.average_revenue_per_customer(frame, **kwargs)
    frequency = cm.purchase_frequency(frame, **kwargs)
    for key in ("big", "segment"):
        grouped = cm.average_revenue_per_customer(frame, group_by=key, **kwargs)
        sums = grouped.group_by("period_start").agg(
            pl.col("revenue").sum(), pl.col("customers").sum()
        )
        joined = total.join(sums, on="period_start", how="left", suffix="_groups")
        assert joined.height == total.height
        assert ((joined["revenue"] - joined["revenue_groups"]).abs() < 1e-9).all()
        if key == "segment":  # a customer-level key: buyers add up too
            assert (joined["customers"] == joined["customers_groups"]).all()
        else:  # a buyer can be in both row-level groups
            assert (joined["customers"] <= joined["customers_groups"]).all()
        orders = cm.purchase_frequency(frame, group_by=key, **kwargs)
        order_sums = orders.group_by("period_start").agg(pl.col("orders").sum())
        assert_frame_equal(
            frequency.select("period_start", "orders"),
            order_sums.sort("period_start"),
        )


@settings(deadline=None, max_examples=15)
@given(case=revenue_cases(), name=st.sampled_from(sorted(RATIOS)))
def test_empty_input_gives_an_empty_frame_with_the_schema(case: dict[str, Any], name: str) -> None:
    function, oracle = RATIOS[name]
    empty = case["frame"].clear()
    kwargs = {"every": case["every"], "group_by": case["group_by"]}
    got = function(empty, **kwargs)
    assert got.is_empty()
    assert got.schema == oracle(case["frame"], **kwargs).schema
    assert function(empty.lazy(), **kwargs).collect().schema == got.schema


# --------------------------------------------------------------------------
# 3. errors


ALL = [
    cm.revenue_growth_rate,
    cm.average_order_value,
    cm.average_revenue_per_customer,
    cm.purchase_frequency,
]

SAMPLE = make_orders([(1, date(2024, 1, 5), 10.0)], channel=["web"])


@pytest.mark.parametrize("function", ALL)
@pytest.mark.parametrize("every", ["1month", "0mo", "1h", "mo", "", "-1mo", "1 mo", 3])
def test_bad_every(function: Callable[..., Any], every: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:") as info:
        function(SAMPLE, every=every)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("compare", ["last", "year", None, "Previous"])
def test_bad_compare(compare: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.revenue_growth_rate(SAMPLE, compare=compare)


@pytest.mark.parametrize("function", ALL)
@pytest.mark.parametrize("column", ["customer_id", "ordered_at", "amount"])
def test_missing_column(to_kind: ToKind, function: Callable[..., Any], column: str) -> None:
    with pytest.raises(cm.ValidationError, match=column) as info:
        function(to_kind(SAMPLE.drop(column)))
    assert column in info.value.failures["column"].to_list()


@pytest.mark.parametrize("function", ALL)
def test_group_by_personal_data_is_refused(function: Callable[..., Any]) -> None:
    frame = SAMPLE.with_columns(pl.lit("a@b.c").alias("email"))
    with pytest.raises(cm.ArgumentError, match="personal data"):
        function(frame, group_by="email")


@pytest.mark.parametrize("key", ["amount", "ordered_at", "revenue", "period_start", "missing"])
def test_group_by_on_a_used_or_unknown_column_is_refused(key: str) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.revenue_growth_rate(SAMPLE, group_by=key)


def test_bad_amounts_are_validation_errors() -> None:
    frame = SAMPLE.with_columns(pl.lit(float("nan")).alias("amount"))
    with pytest.raises(cm.ValidationError, match="amount"):
        cm.average_order_value(frame)


def test_naive_as_of_in_a_dst_gap_is_an_argument_error() -> None:
    frame = make_orders([(1, datetime(2024, 3, 1), 10.0)], time_zone="Europe/Paris")
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.average_order_value(frame, as_of=datetime(2024, 3, 31, 2, 30))


def test_millisecond_utc_column(to_kind: ToKind) -> None:
    frame = make_orders([(1, datetime(2024, 3, 1), 10.0)]).with_columns(
        pl.col("ordered_at").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = run(cm.average_order_value, frame, to_kind, as_of=datetime(2024, 3, 1, 0, 0))
    assert got.rows() == [(date(2024, 3, 1), 10.0, 1, 10.0, False)]


@pytest.mark.parametrize("function", ALL)
def test_mixed_currencies_are_refused(to_kind: ToKind, function: Callable[..., Any]) -> None:
    """DESIGN §3: money in several currencies is an error, never a silent sum.

    (Was a bug: only the needed columns were validated, so EUR 10 + USD 20 gave 30.)
    """
    frame = make_orders(
        [(1, date(2024, 1, 5), 10.0), (2, date(2024, 1, 5), 20.0)], currency=["EUR", "USD"]
    )
    if isinstance(to_kind(frame), pl.LazyFrame):
        return  # values of a LazyFrame are not checked (schema only)
    with pytest.raises(cm.ValidationError, match="currency"):
        function(frame)
    one = frame.with_columns(pl.lit("EUR").alias("currency"))
    assert function(one).height == 1
