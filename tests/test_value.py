"""``cm.customer_lifetime_value``, ``cm.ltv_to_cac``, ``cm.cac_payback_months``.

The docstrings of :mod:`crm_metrics.value` are the specification:

* over the orders in the trailing window — ``(as_of - window, as_of]`` for an
  instant, the days ``[end_day - window, end_day)`` when whole days are
  observed — AOV = revenue (net of refunds) ÷ purchases, purchases per customer
  per year = purchases ÷ buyers ÷ window years, ``cltv`` = AOV × that ×
  lifespan × margin; lifespan defaults to 1 ÷ annual churn;
* ``ltv_to_cac = cltv / cac`` with ``cac`` = total spend ÷ total new customers
  over the CAC rows; ``cac_payback_months = cac / (cltv / lifespan / 12)``.

Layout: golden tests by hand; hypothesis properties against
:func:`oracle_kpis.clv_oracle`; invariants; errors.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
import strategies
from oracle_kpis import (
    CLV_MEASURES,
    as_of_exists,
    as_of_values,
    check_kpi,
    clv_oracle,
    collected,
    exact_money,
    window_years,
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


def clv(frame: pl.DataFrame, to_kind: ToKind, **kwargs: Any) -> pl.DataFrame:
    data = to_kind(frame)
    return collected(cm.customer_lifetime_value(data, **kwargs), data)


CLV_ROW = {
    "customers": [2],
    "average_order_value": [100.0],
    "purchases_per_customer_per_year": [3.0],
    "lifespan_years": [4.0],
    "cltv": [1200.0],
}


# --------------------------------------------------------------------------
# 1. customer lifetime value: golden tests


def test_design_worked_example(to_kind: ToKind) -> None:
    """DESIGN §4: $100 × 3 purchases a year × 4 years = $1,200."""
    frame = make_orders(
        [
            (c, date(2024, m, 1), 100.0)
            for c, months in ((1, (2, 6, 10)), (2, (3, 7, 11)))
            for m in months
        ]
    )
    got = clv(frame, to_kind, lifespan_years=4, as_of=date(2024, 12, 31))
    want = pl.DataFrame(CLV_ROW, schema=CLV_MEASURES)
    assert_frame_equal(got, want)
    assert_frame_equal(clv_oracle(frame, lifespan_years=4, as_of=date(2024, 12, 31)), want)
    half = clv(frame, to_kind, lifespan_years=4, margin=0.5, as_of=date(2024, 12, 31))
    assert half["cltv"].item() == pytest.approx(600.0)


def test_refunds_lower_the_average_not_the_purchases(to_kind: ToKind) -> None:
    """Window "6mo" before 31 Dec 2024 (whole days): the days [1 Jul 2024, 1 Jan 2025).

    In it: purchases 100, 50, 0 (3 purchases, buyers 1 and 2) and refunds −30, −10;
    customer 3 only refunded there, so is no buyer; its 500 on 30 June is outside.
    AOV = (100 − 30 + 50 + 0 − 10) / 3 = 110 / 3; per customer per year =
    3 / 2 / 0.5 = 3; cltv with 2 years and margin 0.25 = 110 / 3 × 3 × 2 × 0.25 = 55.
    """
    frame = make_orders(
        [
            (1, date(2024, 7, 1), 100.0),
            (1, date(2024, 8, 1), -30.0),
            (2, date(2024, 9, 1), 50.0),
            (2, date(2024, 12, 31), 0.0),
            (3, date(2024, 10, 1), -10.0),
            (3, date(2024, 6, 30), 500.0),
        ]
    )
    kwargs: dict[str, Any] = {
        "window": "6mo",
        "lifespan_years": 2,
        "margin": 0.25,
        "as_of": date(2024, 12, 31),
    }
    got = clv(frame, to_kind, **kwargs)
    assert got.row(0) == (2, pytest.approx(110 / 3), 3.0, 2.0, pytest.approx(55.0))
    assert_frame_equal(clv_oracle(frame, **kwargs), got)


@pytest.mark.parametrize(
    ("as_of", "inside"),
    [
        # whole days: [1 Jan 2024, 1 Jan 2025)
        (date(2024, 12, 31), {"2024-01-01 00:00", "2024-12-31 12:00", "2024-12-31 23:59"}),
        # an instant: (31 Dec 2023 12:00, 31 Dec 2024 12:00]
        (
            datetime(2024, 12, 31, 12),
            {"2023-12-31 12:00:01", "2024-01-01 00:00", "2024-12-31 12:00"},
        ),
    ],
)
def test_window_boundaries(to_kind: ToKind, as_of: date | datetime, inside: set[str]) -> None:
    moments = {
        "2023-12-31 12:00": datetime(2023, 12, 31, 12),
        "2023-12-31 12:00:01": datetime(2023, 12, 31, 12, 0, 1),
        "2024-01-01 00:00": datetime(2024, 1, 1),
        "2024-12-31 12:00": datetime(2024, 12, 31, 12),
        "2024-12-31 23:59": datetime(2024, 12, 31, 23, 59),
    }
    for label, moment in moments.items():
        frame = make_orders([(1, moment, 10.0)])
        got = clv(frame, to_kind, window="1y", lifespan_years=1, as_of=as_of)
        assert (got.height == 1) is (label in inside), label


@pytest.mark.parametrize(
    ("as_of", "counted"),
    [
        (date(2025, 2, 28), False),  # days [1 Mar 2024, 1 Mar 2025): 29 Feb is out
        (date(2025, 2, 27), True),  # days [28 Feb 2024, 28 Feb 2025)
    ],
)
def test_leap_day_and_a_one_year_window(to_kind: ToKind, as_of: date, counted: bool) -> None:
    frame = make_orders([(1, date(2024, 2, 29), 10.0), (2, date(2024, 6, 1), 10.0)])
    got = clv(frame, to_kind, lifespan_years=1, as_of=as_of)
    assert got["customers"].item() == (2 if counted else 1)


@pytest.mark.parametrize(
    ("window", "years"),
    [("1y", 1.0), ("6mo", 0.5), ("1q", 0.25), ("2w", 14 / 365.2425), ("90d", 90 / 365.2425)],
)
def test_window_years(to_kind: ToKind, window: str, years: float) -> None:
    frame = make_orders([(1, date(2024, 12, 30), 10.0), (1, date(2024, 12, 31), 10.0)])
    got = clv(frame, to_kind, window=window, lifespan_years=1)
    assert got["purchases_per_customer_per_year"].item() == pytest.approx(2 / years)
    assert window_years(window) == pytest.approx(years)


def test_group_by_drops_groups_without_buyers(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 5, 1), 100.0),
            (2, date(2024, 5, 2), -20.0),  # the only row of "shop": no buyer
            (3, date(2024, 5, 3), 60.0),
            (3, date(2024, 5, 4), 40.0),
        ],
        channel=["web", "shop", None, None],
    )
    got = clv(frame, to_kind, lifespan_years=2, group_by="channel", as_of=date(2024, 12, 31))
    want = pl.DataFrame(
        [("web", 1, 100.0, 1.0, 2.0, 200.0), (None, 1, 50.0, 2.0, 2.0, 200.0)],
        schema={"channel": pl.String(), **CLV_MEASURES},
        orient="row",
    )
    assert_frame_equal(got, want)
    assert_frame_equal(
        clv_oracle(frame, lifespan_years=2, group_by="channel", as_of=date(2024, 12, 31)), want
    )


def test_lifespan_from_churn(to_kind: ToKind) -> None:
    """Lifespan = 1 / annual churn, from monthly movements with ``inactive_after="30d"``.

    Customer 1 buys on 15 January only; customer 2 on the 15th of every month.
    Complete months starting in the window [1 Jan 2024, 1 Jan 2025):
    January starts with nobody active; February starts with {1, 2} and ends with
    {2} (1 churned); March to December each start and end with {2}.
    Monthly churn m = 1 / (2 + 10) = 1/12; annual = 1 − (11/12)¹² = 0.648004;
    lifespan = 1.543200 years. 13 purchases of 100 by 2 buyers in one year:
    AOV 100, 6.5 a year; cltv = 100 × 6.5 × 1.5432 = 1003.08.
    """
    rows = [(1, date(2024, 1, 15), 100.0)] + [(2, date(2024, m, 15), 100.0) for m in range(1, 13)]
    frame = make_orders(rows)
    got = clv(frame, to_kind, inactive_after="30d", as_of=date(2024, 12, 31))
    lifespan = 1 / (1 - (11 / 12) ** 12)
    assert got.row(0, named=True) == {
        "customers": 2,
        "average_order_value": 100.0,
        "purchases_per_customer_per_year": 6.5,
        "lifespan_years": pytest.approx(lifespan),
        "cltv": pytest.approx(650 * lifespan),
    }
    assert lifespan == pytest.approx(1.5432, abs=1e-4)


def test_no_churn_gives_a_null_lifespan_and_a_warning() -> None:
    frame = make_orders([(1, date(2024, m, 15), 100.0) for m in range(1, 13)])
    with pytest.warns(UserWarning, match="no churn"):
        got = cm.customer_lifetime_value(frame, as_of=date(2024, 12, 31))
    assert got.row(0, named=True)["lifespan_years"] is None
    assert got.row(0, named=True)["cltv"] is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lazy = cm.customer_lifetime_value(frame.lazy(), as_of=date(2024, 12, 31))
    assert_frame_equal(lazy.collect(), got)


def test_empty_input(to_kind: ToKind) -> None:
    frame = make_orders([(1, date(2024, 1, 1), 1.0)], channel=["a"]).clear()
    for group_by in (None, "channel"):
        got = clv(frame, to_kind, lifespan_years=3, group_by=group_by)
        assert got.is_empty()
        assert got.schema == clv_oracle(frame, lifespan_years=3, group_by=group_by).schema


# --------------------------------------------------------------------------
# 2. customer lifetime value: properties


@st.composite
def clv_cases(draw: st.DrawFn) -> dict[str, Any]:
    zone = draw(strategies.zones())
    date_only = draw(st.booleans())
    frame = draw(
        strategies.orders(max_rows=40, time_zone=zone, date_only=date_only, with_optional=None)
    )
    keys = [k for k in ("channel", "category") if k in frame.columns]
    return {
        "frame": exact_money(frame),
        "zone": None if date_only else zone,
        "window": draw(st.sampled_from(["1y", "6mo", "1q", "90d", "30d", "2w", "2y"])),
        "lifespan_years": draw(st.sampled_from([0.5, 1, 3.25, 10])),
        "margin": draw(st.sampled_from([1.0, 0.3, 2])),
        "group_by": draw(st.sampled_from([None, *keys])),
        "as_of": draw(as_of_values()),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(deadline=None, max_examples=45)
@given(case=clv_cases())
def test_clv_matches_oracle(case: dict[str, Any]) -> None:
    kwargs = {k: case[k] for k in ("window", "lifespan_years", "margin", "group_by", "as_of")}
    if not as_of_exists(case["as_of"], case["zone"]):
        with pytest.raises(cm.ArgumentError, match="Hint:"):
            cm.customer_lifetime_value(case["frame"], **kwargs)
        return
    got = check_kpi(
        cm.customer_lifetime_value, clv_oracle, case["frame"], seed=case["seed"], **kwargs
    )
    assert (got["customers"] > 0).all()
    assert (got["purchases_per_customer_per_year"] > 0).all()
    for column in CLV_MEASURES:
        assert got[column].null_count() == 0


@settings(deadline=None, max_examples=20)
@given(case=clv_cases())
def test_clv_group_totals(case: dict[str, Any]) -> None:
    """Purchases add up over a row-level group (``channel``); buyers may repeat.

    Revenue does not have to add up: a group whose window holds only refunds
    has no buyer and no row, while its refunds count in the ungrouped revenue.
    """
    if not as_of_exists(case["as_of"], case["zone"]) or "channel" not in case["frame"].columns:
        return
    kwargs = {k: case[k] for k in ("window", "lifespan_years", "as_of")}
    total = cm.customer_lifetime_value(case["frame"], **kwargs)
    grouped = cm.customer_lifetime_value(case["frame"], group_by="channel", **kwargs)
    if total.is_empty():
        assert grouped.is_empty()
        return
    years = window_years(case["window"])
    purchases = pl.col("purchases_per_customer_per_year") * pl.col("customers") * years
    assert grouped.select(purchases.sum()).item() == pytest.approx(total.select(purchases).item())
    assert grouped["customers"].sum() >= total["customers"].item()


# --------------------------------------------------------------------------
# 3. customer lifetime value: errors


SAMPLE = make_orders([(1, date(2024, 1, 5), 10.0)])


@pytest.mark.parametrize("window", ["0y", "1h", "12", "", "-1y", "one year", None])
def test_bad_window(window: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:") as info:
        cm.customer_lifetime_value(SAMPLE, window=window, lifespan_years=1)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), "4", -0.0])
def test_bad_lifespan_years(value: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.customer_lifetime_value(SAMPLE, lifespan_years=value)


@pytest.mark.parametrize("value", [0, -0.5, float("inf"), float("nan"), "1", None])
def test_bad_margin(value: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.customer_lifetime_value(SAMPLE, lifespan_years=1, margin=value)


@pytest.mark.parametrize("inactive_after", ["0d", "90", "1h"])
def test_bad_inactive_after(inactive_after: str) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.customer_lifetime_value(SAMPLE, inactive_after=inactive_after)


@pytest.mark.parametrize("column", ["customer_id", "ordered_at", "amount"])
def test_missing_column(to_kind: ToKind, column: str) -> None:
    with pytest.raises(cm.ValidationError, match=column):
        cm.customer_lifetime_value(to_kind(SAMPLE.drop(column)), lifespan_years=1)


def test_mixed_currencies_are_refused() -> None:
    frame = make_orders(
        [(1, date(2024, 1, 5), 10.0), (2, date(2024, 1, 6), 10.0)], currency=["EUR", "GBP"]
    )
    with pytest.raises(cm.ValidationError, match="currency"):
        cm.customer_lifetime_value(frame, lifespan_years=1)


@pytest.mark.parametrize("key", ["email", "address"])
def test_group_by_personal_data(key: str) -> None:
    with pytest.raises(cm.ArgumentError, match="personal data"):
        cm.customer_lifetime_value(
            SAMPLE.with_columns(pl.lit("x").alias(key)), lifespan_years=1, group_by=key
        )


@pytest.mark.parametrize("key", ["amount", "cltv", "customers"])
def test_group_by_used_column(key: str) -> None:
    frame = SAMPLE.with_columns(pl.lit(1).alias("cltv"), pl.lit(1).alias("customers"))
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.customer_lifetime_value(frame, lifespan_years=1, group_by=key)


# --------------------------------------------------------------------------
# 4. ltv_to_cac and cac_payback_months


def test_ltv_to_cac_docstring(to_kind: ToKind) -> None:
    """cac = (250 + 350) / (1 + 1) = 300 (not the mean of 250 and 350 per row: also 300
    here, so a second frame separates the two); ltv_to_cac = 1200 / 300 = 4."""
    clv_frame = to_kind(pl.DataFrame(CLV_ROW))
    cac_frame = pl.DataFrame({"spend": [250.0, 350.0], "new_customers": [1, 1]})
    got = collected(cm.ltv_to_cac(clv_frame, cac_frame), clv_frame)
    assert got.rows() == [(1200.0, 300.0, 4.0)]
    # Total spend / total customers: 600 / 4 = 150, not mean(250 / 1, 350 / 3) = 183.3.
    uneven = pl.DataFrame({"spend": [250.0, 350.0], "new_customers": [1, 3]})
    assert collected(cm.ltv_to_cac(clv_frame, uneven), clv_frame)["cac"].item() == 150.0


def test_cac_payback_months_docstring(to_kind: ToKind) -> None:
    """Monthly value = 1200 / 4 / 12 = 25; payback = 300 / 25 = 12 months."""
    clv_frame = to_kind(pl.DataFrame(CLV_ROW))
    cac_frame = pl.DataFrame({"spend": [250.0, 350.0], "new_customers": [1, 1]})
    got = collected(cm.cac_payback_months(clv_frame, cac_frame), clv_frame)
    assert got.rows() == [(300.0, 25.0, 12.0)]
    assert got.columns == ["cac", "monthly_value_per_customer", "cac_payback_months"]


def test_grouped_ratios_with_zero_and_null_cac(to_kind: ToKind) -> None:
    clv_frame = pl.DataFrame(
        {
            "channel": ["search", "social", "referral", None],
            "customers": [10, 5, 3, 2],
            "average_order_value": [50.0, 40.0, 30.0, 20.0],
            "purchases_per_customer_per_year": [4.0, 3.0, 2.0, 1.0],
            "lifespan_years": [2.0, 1.0, 5.0, None],
            "cltv": [400.0, 120.0, 300.0, None],
        }
    )
    cac_frame = pl.DataFrame(
        {
            "period_start": [date(2024, 1, 1)] * 4 + [date(2024, 2, 1)] * 3,
            "channel": ["search", "social", "referral", None, "search", "social", "referral"],
            "spend": [600.0, 90.0, 0.0, 10.0, 400.0, 60.0, 0.0],
            "new_customers": [6, 0, 2, 1, 4, 0, 1],
            "cac": [100.0, None, 0.0, 10.0, 100.0, None, 0.0],
            "is_complete": [True] * 7,
        }
    )
    data = to_kind(clv_frame)
    ratio = collected(cm.ltv_to_cac(data, cac_frame), data)
    # search: 1000 / 10 = 100 → 4; social: 150 spent, nobody acquired → null cac and ratio;
    # referral: organic, cac 0 → null ratio (never inf); null channel: 10 → cltv null.
    assert ratio.rows() == [
        ("referral", 300.0, 0.0, None),
        ("search", 400.0, 100.0, 4.0),
        ("social", 120.0, None, None),
        (None, None, 10.0, None),
    ]
    payback = collected(cm.cac_payback_months(data, cac_frame), data)
    # search: 400 / 2 / 12 = 16.67 a month → 100 / 16.67 = 6 months; referral 300/5/12 = 5
    assert payback.rows() == [
        ("referral", 0.0, 5.0, 0.0),
        ("search", 100.0, pytest.approx(400 / 24), pytest.approx(6.0)),
        ("social", None, 10.0, None),
        (None, 10.0, None, None),
    ]


def test_ratios_from_the_library_outputs(to_kind: ToKind) -> None:
    """The two KPI frames chain: CLV by channel (orders' sales channel renamed) and CAC."""
    orders = make_orders(
        [(1, date(2024, 3, 1), 100.0), (1, date(2024, 9, 1), 100.0), (2, date(2024, 5, 1), 50.0)],
        channel=["search", "search", "social"],
    )
    spend = pl.DataFrame(
        {
            "spent_at": [date(2024, 2, 1), date(2024, 4, 1)],
            "amount": [300.0, 80.0],
            "channel": ["search", "social"],
        }
    )
    customers = pl.DataFrame(
        {
            "customer_id": [1, 2],
            "acquired_at": [date(2024, 3, 1), date(2024, 5, 1)],
            "acquisition_channel": ["search", "social"],
        }
    )
    lifetime = clv(orders, to_kind, lifespan_years=2, group_by="channel", as_of=date(2024, 12, 31))
    data = to_kind(spend)
    acquisition = collected(
        cm.customer_acquisition_cost(
            data, to_kind(customers), group_by="channel", as_of=date(2024, 12, 31)
        ),
        data,
    )
    ratio = cm.ltv_to_cac(lifetime, acquisition)
    # search: AOV 100, 2 a year, 2 years → 400; cac 300 → 1.333; social: 50 × 1 × 2 = 100; 80
    assert ratio.rows() == [
        ("search", 400.0, 300.0, pytest.approx(4 / 3)),
        ("social", 100.0, 80.0, 1.25),
    ]
    assert_frame_equal(cm.ltv_to_cac(lifetime.lazy(), acquisition).collect(), ratio)


def test_ratio_errors() -> None:
    clv_frame = pl.DataFrame(CLV_ROW)
    cac_frame = pl.DataFrame({"spend": [1.0], "new_customers": [1]})
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.ltv_to_cac(clv_frame.drop("cltv"), cac_frame)
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.cac_payback_months(clv_frame, cac_frame.drop("new_customers"))
    with pytest.raises(cm.ArgumentError, match="Hint:"):  # grouped one side only
        cm.ltv_to_cac(clv_frame.with_columns(pl.lit("a").alias("channel")), cac_frame)
    with pytest.raises(cm.ArgumentError):
        cm.ltv_to_cac({"cltv": [1.0]}, cac_frame)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# 5. regressions (bugs found by this file, fixed)


def test_regression_churn_month_before_an_instant_window_is_counted() -> None:
    rows = [(1, datetime(2023, 11, 15), 100.0)]  # active on 1 Dec 2023, gone by 1 Jan 2024
    rows += [(2, datetime(2023 + (m > 12), (m - 1) % 12 + 1, 15), 100.0) for m in range(11, 24)]
    frame = make_orders(rows)  # 2 buys on the 15th of every month, Nov 2023 to Nov 2024
    with pytest.warns(UserWarning, match="no churn"):
        got = cm.customer_lifetime_value(
            frame, inactive_after="30d", as_of=datetime(2024, 12, 1, 10)
        )
    assert got["lifespan_years"].item() is None
