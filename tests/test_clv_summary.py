"""``cm.rfm_summary``, ``cm.calibration_holdout`` and ``units_between``.

The docstrings of :mod:`crm_metrics.clv._summary` are the specification:

* purchase periods are the ``granularity`` periods (local calendar) with an
  order of amount ≥ 0; refunds (amount < 0) are left out entirely;
* ``frequency`` = purchase periods − 1; ``recency`` = first → last purchase
  period; ``T`` = first purchase period → ``observation_end``'s period (its
  day, floored to ``granularity``; default: the latest order's day), both in
  ``time_unit``, calendar-exact (months are never 30 days);
* ``monetary_value`` = mean over the repeat periods of each period's sum;
* ``calibration_holdout``: the summary at ``calibration_end`` plus the
  purchase periods after it up to ``observation_end``.

Layout: CDNOW (published counts); golden hand cases; a plain-Python oracle
driven by hypothesis; lifetimes as a peer (with the deliberate differences
written down in :data:`LIFETIMES_DIFFERENCES`); errors.
"""

from __future__ import annotations

import calendar
import warnings
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
import strategies
from cdnow import cdnow_orders  # noqa: F401  (the fixture)
from crm_metrics._engine.periods import parse_every
from crm_metrics.clv._summary import units_between
from oracle import parse_duration, period_start
from oracle_kpis import collected, exact_money

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes (archived) imports pkg_resources, old pandas APIs
    import pandas as pd
    from lifetimes.utils import (
        calibration_and_holdout_data,
        summary_data_from_transaction_data,
    )

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    ToKind = Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]

LIFETIMES_DIFFERENCES = """
Deliberate differences from lifetimes 0.11.3 (found by the peer tests below):

1. Ends are whole days here; lifetimes' calibration_and_holdout_data compares
   raw timestamps with calibration_period_end / observation_period_end, so a
   date means its midnight and an order at 18:00 on calibration_end goes to
   its holdout. The peer test passes lifetimes the day's last instant.
2. With granularity coarser than a day, calibration_holdout splits on periods
   (calibration = periods up to calibration_end's period, as documented);
   lifetimes splits the raw timestamps at calibration_end and then counts the
   rest of that week as a holdout period. The peer test ends both periods on a
   Sunday, where the two agree.
3. monetary_holdout is the mean over the holdout periods of each period's sum
   (like monetary_value); lifetimes' monetary_value_holdout is the mean of the
   raw holdout transactions. Their totals agree: ours × frequency_holdout =
   lifetimes' × the number of holdout transactions.
4. lifetimes raises ValueError when nothing happens in the holdout; ours gives
   frequency_holdout = 0 and monetary_holdout = 0 for everyone.
5. lifetimes' freq sets both granularity and time unit. Its "W" is pandas'
   W-SUN (weeks Monday-Sunday), the same weeks as "1w" here, so freq="W"
   equals granularity="1w", time_unit="1w" (integer weeks, T to the start of
   observation_end's week). The papers' setting (days, in weeks: T = 38.857
   for CDNOW) is granularity="1d", time_unit="1w", i.e. lifetimes' freq="D",
   freq_multiplier=7.
6. frequency is Int64 here (lifetimes: float); refunds are left out here
   (lifetimes sums negative amounts into the period sums); ids are a column,
   sorted (lifetimes: the index, in order of appearance).
"""

END_OF_DAY = timedelta(days=1) - timedelta(microseconds=1)


# --------------------------------------------------------------------------
# helpers


def make_orders(
    rows: Sequence[tuple[Any, date | datetime, float]], *, time_zone: str | None = None
) -> pl.DataFrame:
    stamps = [r[1] for r in rows]
    if not any(isinstance(ts, datetime) for ts in stamps):
        ordered_at = pl.Series("ordered_at", stamps, dtype=pl.Date)
    else:
        moments = [
            ts if isinstance(ts, datetime) else datetime(ts.year, ts.month, ts.day) for ts in stamps
        ]
        ordered_at = pl.Series("ordered_at", moments, dtype=pl.Datetime("us"))
        if time_zone is not None:
            ordered_at = ordered_at.dt.replace_time_zone(time_zone)
    return pl.DataFrame(
        [
            pl.Series("order_id", range(1, len(rows) + 1), dtype=pl.Int64),
            pl.Series("customer_id", [r[0] for r in rows], dtype=pl.Int64),
            ordered_at,
            pl.Series("amount", [r[2] for r in rows], dtype=pl.Float64),
        ]
    )


def summary(frame: pl.DataFrame, to_kind: ToKind, **kwargs: Any) -> pl.DataFrame:
    data = to_kind(frame)
    return collected(cm.rfm_summary(data, **kwargs), data)


def holdout(frame: pl.DataFrame, to_kind: ToKind, **kwargs: Any) -> pl.DataFrame:
    data = to_kind(frame)
    return collected(cm.calibration_holdout(data, **kwargs), data)


def row(frame: pl.DataFrame, customer_id: Any) -> dict[str, Any]:
    return frame.filter(pl.col("customer_id") == customer_id).row(0, named=True)


# --------------------------------------------------------------------------
# plain-Python oracle


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def months_between(start: date, end: date) -> float:
    """Whole calendar months (clamped at month ends), then a fraction of the next one."""
    whole = (end.year - start.year) * 12 + end.month - start.month + 1
    while _add_months(start, whole) > end:
        whole -= 1
    anchor, following = _add_months(start, whole), _add_months(start, whole + 1)
    return whole + (end - anchor).days / (following - anchor).days


def units_oracle(start: date, end: date, unit: str) -> float:
    d = parse_duration(unit)
    if d.unit == "mo":
        return months_between(start, end) / d.n
    return (end - start).days / (d.n * (7 if d.unit == "w" else 1))


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def rfm_oracle(
    frame: pl.DataFrame,
    *,
    granularity: str = "1d",
    time_unit: str = "1d",
    observation_end: date | datetime | None = None,
) -> pl.DataFrame:
    """The summary by the docstring's definitions, one customer at a time."""
    rows = list(
        zip(*(frame[c].to_list() for c in ("customer_id", "ordered_at", "amount")), strict=True)
    )
    if observation_end is None:
        last_day = max((_day(ts) for _, ts, _ in rows), default=None)
    else:
        last_day = _day(observation_end)
    per: dict[Any, dict[date, float]] = {}
    if last_day is not None:
        end = period_start(last_day, granularity)
        for customer, ts, amount in rows:
            p = period_start(ts, granularity)
            if float(amount) >= 0 and p <= end:
                periods = per.setdefault(customer, {})
                periods[p] = periods.get(p, 0.0) + float(amount)
    out = []
    for customer, periods in per.items():
        days = sorted(periods)
        frequency = len(days) - 1
        repeat = sum(periods[d] for d in days[1:]) / frequency if frequency else 0.0
        out.append(
            (
                customer,
                frequency,
                units_oracle(days[0], days[-1], time_unit),
                units_oracle(days[0], end, time_unit),
                repeat,
            )
        )
    schema = {
        "customer_id": frame.schema["customer_id"],
        "frequency": pl.Int64,
        "recency": pl.Float64,
        "T": pl.Float64,
        "monetary_value": pl.Float64,
    }
    return pl.DataFrame(out, schema=schema, orient="row").sort("customer_id")


# --------------------------------------------------------------------------
# CDNOW


def test_cdnow_counts(cdnow_orders: pl.DataFrame) -> None:  # noqa: F811
    s = cm.rfm_summary(cdnow_orders, time_unit="1w", observation_end=date(1997, 9, 30))
    assert s.height == 2357
    assert s.filter(pl.col("frequency") == 0).height == 1411
    assert s.filter(pl.col("frequency") > 0).height == 946
    assert s["frequency"].sum() == 2457
    firsts = cdnow_orders.group_by("customer_id").agg(pl.col("ordered_at").min())
    new_year = firsts.filter(pl.col("ordered_at") == date(1997, 1, 1))["customer_id"]
    assert new_year.len() > 0
    t = s.filter(pl.col("customer_id").is_in(new_year.implode()))["T"]
    assert t.min() == pytest.approx(272 / 7, abs=1e-12)
    assert t.max() == pytest.approx(272 / 7, abs=1e-12)
    assert round(272 / 7, 3) == 38.857
    assert s["T"].max() == pytest.approx(272 / 7)  # nobody is older than the 1 January buyers


def test_cdnow_calibration_holdout(cdnow_orders: pl.DataFrame) -> None:  # noqa: F811
    cal_end, obs_end = date(1997, 9, 30), date(1998, 6, 30)
    out = cm.calibration_holdout(
        cdnow_orders, calibration_end=cal_end, observation_end=obs_end, time_unit="1w"
    )
    calibration = cm.rfm_summary(cdnow_orders, time_unit="1w", observation_end=cal_end)
    assert_frame_equal(out.select(calibration.columns), calibration)
    assert (out["duration_holdout"] == 39.0).all()  # 273 days
    later = cdnow_orders.filter(
        (pl.col("ordered_at") > cal_end) & (pl.col("ordered_at") <= obs_end)
    ).filter(pl.col("amount") >= 0)
    # every CDNOW customer first bought in Q1 1997: all are in the calibration
    days = later.select("customer_id", "ordered_at").unique()
    assert out["frequency_holdout"].sum() == days.height
    spent = (out["monetary_holdout"] * out["frequency_holdout"]).sum()
    assert spent == pytest.approx(later["amount"].sum(), rel=1e-12)
    per_customer = days.group_by("customer_id").len().sort("customer_id")
    holdout_buyers = out.filter(pl.col("frequency_holdout") > 0)
    assert holdout_buyers["customer_id"].to_list() == per_customer["customer_id"].to_list()
    assert holdout_buyers["frequency_holdout"].to_list() == per_customer["len"].to_list()


# --------------------------------------------------------------------------
# golden hand cases


def test_same_day_repeats_count_once(to_kind: ToKind) -> None:
    orders = make_orders(
        [
            (1, datetime(2024, 1, 1, 10), 10.0),
            (1, datetime(2024, 1, 1, 18), 5.0),
            (1, datetime(2024, 1, 3, 0, 0), 20.0),
            (1, datetime(2024, 1, 3, 23, 59, 59), 4.0),
            (2, datetime(2024, 1, 2, 9), 7.0),
            (2, datetime(2024, 1, 2, 9), 7.0),
        ]
    )
    out = summary(orders, to_kind, observation_end=date(2024, 1, 10))
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2],
            "frequency": [1, 0],
            "recency": [2.0, 0.0],
            "T": [9.0, 8.0],
            "monetary_value": [24.0, 0.0],
        }
    )
    assert_frame_equal(out, expected)


def test_refunds_are_left_out(to_kind: ToKind) -> None:
    orders = make_orders(
        [
            (1, date(2024, 1, 1), 10.0),
            (1, date(2024, 1, 5), -10.0),  # a refund on its own day: no purchase period
            (1, date(2024, 1, 8), 30.0),
            (1, date(2024, 1, 8), -10.0),  # nor netted out of the day's value
            (2, date(2024, 1, 2), -5.0),  # only refunds: not in the summary
            (2, date(2024, 1, 4), -5.0),
            (3, date(2024, 1, 1), -5.0),  # a refund before the first purchase
            (3, date(2024, 1, 3), 12.0),
            (4, date(2024, 1, 2), 0.0),  # a free order is a purchase, not a refund
            (4, date(2024, 1, 6), 0.0),
        ]
    )
    out = summary(orders, to_kind, observation_end=date(2024, 1, 10))
    expected = pl.DataFrame(
        {
            "customer_id": [1, 3, 4],
            "frequency": [1, 0, 1],
            "recency": [7.0, 0.0, 4.0],
            "T": [9.0, 7.0, 8.0],
            "monetary_value": [30.0, 0.0, 0.0],
        }
    )
    assert_frame_equal(out, expected)


def test_monetary_value_is_the_mean_of_repeat_period_sums(to_kind: ToKind) -> None:
    orders = make_orders(
        [
            (1, date(2024, 1, 1), 100.0),  # first purchase: not in the mean
            (1, date(2024, 1, 2), 10.0),
            (1, date(2024, 1, 2), 20.0),  # one period worth 30
            (1, date(2024, 1, 5), 60.0),
            (1, date(2024, 1, 1), 1.0),  # same day as the first: still first
        ]
    )
    out = summary(orders, to_kind, observation_end=date(2024, 1, 5))
    assert row(out, 1)["frequency"] == 2
    assert row(out, 1)["monetary_value"] == pytest.approx(45.0)
    weekly = summary(orders, to_kind, granularity="1w", time_unit="1w")
    # all in the week of Monday 1 January: one purchase period
    assert row(weekly, 1) == {
        "customer_id": 1,
        "frequency": 0,
        "recency": 0.0,
        "T": 0.0,
        "monetary_value": 0.0,
    }


@pytest.mark.parametrize(
    ("first", "last", "unit", "expected"),
    [
        (date(2024, 1, 15), date(2024, 3, 15), "1mo", 2.0),
        (date(2024, 1, 31), date(2024, 2, 29), "1mo", 1.0),  # clamped month end
        (date(2023, 1, 31), date(2023, 2, 28), "1mo", 1.0),
        (date(2023, 2, 1), date(2023, 3, 1), "1mo", 1.0),  # 28 days, not 28/30
        (date(2023, 2, 1), date(2023, 2, 15), "1mo", 0.5),  # 14 of February's 28 days
        (date(2024, 1, 15), date(2024, 1, 30), "1mo", 15 / 31),  # of 15 Jan → 15 Feb
        (date(2024, 1, 31), date(2024, 3, 1), "1mo", 1 + 1 / 31),  # 29 Feb → 31 Mar
        (date(2023, 12, 15), date(2024, 1, 15), "1mo", 1.0),  # year boundary
        (date(2024, 1, 15), date(2024, 4, 15), "1q", 1.0),
        (date(2024, 1, 15), date(2024, 3, 15), "1q", 2 / 3),
        (date(2024, 2, 29), date(2025, 2, 28), "1y", 1.0),
        (date(2024, 1, 15), date(2024, 3, 15), "2mo", 1.0),
        (date(2024, 1, 1), date(2024, 1, 15), "1w", 2.0),
        (date(2024, 1, 1), date(2024, 1, 15), "2w", 1.0),
        (date(2024, 1, 1), date(2024, 3, 1), "1d", 60.0),
    ],
)
def test_calendar_exact_time_units(
    to_kind: ToKind, first: date, last: date, unit: str, expected: float
) -> None:
    orders = make_orders([(1, first, 1.0), (1, last, 2.0)])
    out = summary(orders, to_kind, time_unit=unit, observation_end=last)
    assert row(out, 1)["recency"] == pytest.approx(expected, abs=1e-12)
    assert row(out, 1)["T"] == pytest.approx(expected, abs=1e-12)
    direct = pl.select(units_between(pl.lit(first), pl.lit(last), parse_every(unit)))
    assert direct.item() == pytest.approx(expected, abs=1e-12)
    assert units_oracle(first, last, unit) == pytest.approx(expected, abs=1e-12)


@settings(deadline=None, max_examples=150)
@given(
    start=strategies.moments(date(2023, 1, 1), date(2025, 12, 31), date_only=True),
    days=st.one_of(st.integers(0, 70), st.integers(0, 900)),
    unit=st.sampled_from(["1d", "1w", "2w", "1mo", "2mo", "1q", "1y"]),
)
def test_units_between_matches_calendar_oracle(start: date, days: int, unit: str) -> None:
    end = start + timedelta(days=days)
    every = parse_every(unit)
    got = pl.select(units_between(pl.lit(start), pl.lit(end), every)).item()
    assert got == pytest.approx(units_oracle(start, end, unit), abs=1e-12)
    after = pl.select(units_between(pl.lit(start), pl.lit(end + timedelta(days=1)), every)).item()
    assert after > got  # strictly increasing in the end date


def test_T_is_measured_to_observation_ends_period(to_kind: ToKind) -> None:
    orders = make_orders(
        [
            (1, date(2024, 1, 2), 5.0),  # Tuesday of the week of Monday 1 January
            (2, date(2024, 1, 20), 5.0),  # January
            (2, date(2024, 2, 29), 6.0),  # February
        ]
    )
    # observation ends on Thursday 11 January: the week of Monday 8 January
    weekly = summary(orders, to_kind, granularity="1w", observation_end=date(2024, 1, 11))
    assert row(weekly, 1)["T"] == 7.0
    assert weekly["customer_id"].to_list() == [1]  # customer 2 starts later
    monthly = summary(
        orders,
        to_kind,
        granularity="1mo",
        time_unit="1mo",
        observation_end=datetime(2024, 3, 10, 8),
    )
    assert row(monthly, 2) == {
        "customer_id": 2,
        "frequency": 1,
        "recency": 1.0,
        "T": 2.0,
        "monetary_value": 6.0,
    }
    assert row(monthly, 1)["T"] == 2.0
    daily = summary(orders, to_kind, time_unit="1w", observation_end=date(2024, 1, 16))
    assert row(daily, 1)["T"] == pytest.approx(2.0)  # 14 days, in weeks


def test_orders_in_observation_ends_period_count(to_kind: ToKind) -> None:
    """As lifetimes' summary: the end is floored to its period, whose orders all count.

    An order on Saturday 13 January 2024 counts in a weekly summary observed to
    Wednesday 10 January (same week); a daily one leaves it out.
    """
    orders = make_orders([(1, date(2024, 1, 2), 5.0), (1, date(2024, 1, 13), 9.0)])
    weekly = summary(
        orders, to_kind, granularity="1w", time_unit="1w", observation_end=date(2024, 1, 10)
    )
    assert row(weekly, 1)["frequency"] == 1
    daily = summary(orders, to_kind, observation_end=date(2024, 1, 10))
    assert row(daily, 1)["frequency"] == 0
    assert row(daily, 1)["T"] == 8.0


def test_observation_end_is_a_whole_day(to_kind: ToKind) -> None:
    orders = make_orders(
        [
            (1, datetime(2024, 1, 1, 12), 5.0),
            (1, datetime(2024, 1, 10, 23), 7.0),  # after 09:00 on the end day: counts
            (1, datetime(2024, 1, 11, 0, 0), 8.0),  # the next day: left out
            (2, datetime(2024, 1, 11, 0, 0), 8.0),  # first purchase after the end: absent
        ]
    )
    at_nine = summary(orders, to_kind, observation_end=datetime(2024, 1, 10, 9))
    as_day = summary(orders, to_kind, observation_end=date(2024, 1, 10))
    assert_frame_equal(at_nine, as_day)
    assert at_nine.rows() == [(1, 1, 9.0, 9.0, 7.0)]


def test_default_observation_end_is_the_latest_orders_day(to_kind: ToKind) -> None:
    orders = make_orders(
        [
            (1, datetime(2024, 1, 1, 12), 5.0),
            (2, datetime(2024, 1, 5, 12), 5.0),
            (2, datetime(2024, 1, 20, 8), -5.0),  # the latest order is a refund
        ]
    )
    out = summary(orders, to_kind)
    assert out["T"].to_list() == [19.0, 15.0]
    assert_frame_equal(out, summary(orders, to_kind, observation_end=date(2024, 1, 20)))


def test_local_calendar_days() -> None:
    # 23:30 and 00:30 in Paris are two days (the same UTC day, 22:30 and 23:30)
    orders = make_orders(
        [(1, datetime(2024, 1, 1, 23, 30), 5.0), (1, datetime(2024, 1, 2, 0, 30), 6.0)],
        time_zone="Europe/Paris",
    )
    out = cm.rfm_summary(orders, observation_end=datetime(2024, 1, 3, tzinfo=ZoneInfo("UTC")))
    assert out.rows() == [(1, 1, 1.0, 2.0, 6.0)]


def test_schema_monetary_false_and_empty(to_kind: ToKind) -> None:
    orders = make_orders([(2, date(2024, 1, 2), 5.0), (1, date(2024, 1, 3), 5.0)])
    out = summary(orders, to_kind, monetary=False)
    assert out.schema == pl.Schema(
        {"customer_id": pl.Int64, "frequency": pl.Int64, "recency": pl.Float64, "T": pl.Float64}
    )
    assert out["customer_id"].to_list() == [1, 2]  # sorted by customer_id
    empty = summary(orders.clear(), to_kind)
    assert empty.height == 0
    assert empty.schema == summary(orders, to_kind).schema
    before = summary(orders, to_kind, observation_end=date(2023, 12, 31))
    assert before.height == 0


def test_eager_equals_lazy_and_inputs_untouched() -> None:
    orders = make_orders(
        [(1, date(2024, 1, 1), 5.0), (1, date(2024, 2, 1), 6.0), (2, date(2024, 1, 9), 7.0)]
    )
    copy = orders.clone()
    for kwargs in ({}, {"granularity": "1w", "time_unit": "1mo"}):
        eager = cm.rfm_summary(orders, **kwargs)
        lazy = cm.rfm_summary(orders.lazy(), **kwargs)
        assert isinstance(lazy, pl.LazyFrame)
        assert_frame_equal(eager, lazy.collect())
    assert_frame_equal(orders, copy)


# --------------------------------------------------------------------------
# calibration_holdout, by hand


def test_calibration_holdout_by_hand(to_kind: ToKind) -> None:
    orders = make_orders(
        [
            (1, date(2024, 1, 1), 10.0),
            (1, date(2024, 1, 8), 20.0),
            (1, datetime(2024, 1, 31, 18), 1.0),  # evening of calibration_end: calibration
            (1, date(2024, 2, 5), 40.0),
            (1, date(2024, 2, 5), 2.0),  # same day: one holdout period worth 42
            (1, date(2024, 2, 12), 18.0),
            (1, date(2024, 2, 13), -18.0),  # refund: left out
            (1, date(2024, 3, 1), 99.0),  # after observation_end: left out
            (2, date(2024, 1, 15), 7.0),
            (3, date(2024, 2, 2), 5.0),  # first purchase in the holdout: absent
        ]
    )
    out = holdout(
        orders,
        to_kind,
        calibration_end=date(2024, 1, 31),
        observation_end=date(2024, 2, 29),
    )
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2],
            "frequency": [2, 0],
            "recency": [30.0, 0.0],
            "T": [30.0, 16.0],
            "monetary_value": [10.5, 0.0],
            "frequency_holdout": [2, 0],
            "monetary_holdout": [30.0, 0.0],
            "duration_holdout": [29.0, 29.0],
        }
    )
    assert_frame_equal(out, expected)
    monthly = holdout(
        orders,
        to_kind,
        calibration_end=date(2024, 1, 31),
        observation_end=date(2024, 2, 29),
        time_unit="1mo",
    )
    assert monthly["duration_holdout"].to_list() == [1.0, 1.0]  # 31 Jan → 29 Feb
    weekly = holdout(
        orders,
        to_kind,
        calibration_end=datetime(2024, 1, 31, 6),
        observation_end=datetime(2024, 3, 3, 1),
        granularity="1w",
        time_unit="1w",
    )
    # weeks of Monday 29 January and Monday 26 February; 1 March is in the holdout now
    assert row(weekly, 1)["frequency_holdout"] == 3
    assert row(weekly, 1)["duration_holdout"] == 4.0


def test_calibration_holdout_equals_summary_plus_holdout(to_kind: ToKind) -> None:
    orders = make_orders(
        [
            (c, date(2024, 1, 1) + timedelta(days=3 * i + c), 1.0 + i)
            for i in range(20)
            for c in (1, 2)
        ]
    )
    out = holdout(orders, to_kind, calibration_end=date(2024, 1, 20), time_unit="1w")
    calibration = summary(orders, to_kind, time_unit="1w", observation_end=date(2024, 1, 20))
    assert_frame_equal(out.select(calibration.columns), calibration)
    # default observation_end: the latest order's day
    last = orders["ordered_at"].max()
    # Polars divides by a scalar as a multiplication by its inverse on some plans:
    # the last bit may differ from Python's 40 / 7
    want = (last - date(2024, 1, 20)).days / 7
    assert out["duration_holdout"].to_list() == [pytest.approx(want, rel=1e-15)] * 2


# --------------------------------------------------------------------------
# hypothesis: the oracle


@st.composite
def order_frames(draw: st.DrawFn, *, time_zone: bool = True) -> pl.DataFrame:
    zone = draw(strategies.zones()) if time_zone else None
    frame = draw(
        strategies.orders(
            max_rows=25,
            time_zone=zone,
            date_only=draw(st.booleans()),
            with_optional=False,
            start=date(2023, 11, 1),
            end=date(2024, 4, 30),
        )
    )
    return exact_money(frame)


ends = st.one_of(
    st.none(),
    strategies.moments(date(2023, 10, 1), date(2024, 5, 31), date_only=True),
    strategies.moments(date(2023, 10, 1), date(2024, 5, 31)),
)


@settings(deadline=None, max_examples=60)
@given(
    frame=order_frames(),
    end=ends,
    units=st.tuples(
        st.sampled_from(["1d", "1w", "1mo"]), st.sampled_from(["1d", "1w", "2w", "1mo", "1q"])
    ),
    seed=st.integers(0, 2**16),
)
def test_rfm_summary_matches_oracle(
    to_kind: ToKind,
    frame: pl.DataFrame,
    end: date | datetime | None,
    units: tuple[str, str],
    seed: int,
) -> None:
    kwargs: dict[str, Any] = {"granularity": units[0], "time_unit": units[1]}
    expected = rfm_oracle(frame, observation_end=end, **kwargs)
    got = summary(frame, to_kind, observation_end=end, **kwargs)
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
    shuffled = summary(
        frame.sample(fraction=1.0, shuffle=True, seed=seed), to_kind, **kwargs, observation_end=end
    )
    assert_frame_equal(shuffled, got)


# --------------------------------------------------------------------------
# hypothesis: lifetimes as a peer


def _pandas(frame: pl.DataFrame) -> pd.DataFrame:
    return frame.select(
        "customer_id", pl.col("ordered_at").cast(pl.Datetime("us")), "amount"
    ).to_pandas()


def _from_lifetimes(result: pd.DataFrame, id_dtype: pl.DataType) -> pl.DataFrame:
    frame = pl.from_pandas(result.reset_index())
    return frame.with_columns(
        pl.col("customer_id").cast(id_dtype),
        pl.col("^frequency.*$").cast(pl.Int64),
    ).sort("customer_id")


@st.composite
def purchases(draw: st.DrawFn) -> pl.DataFrame:
    """Naive orders made all purchases (amounts > 0), in quarters of a unit."""
    frame = draw(order_frames(time_zone=False))
    return frame.with_columns(pl.col("amount").abs() + 0.25)


@settings(deadline=None, max_examples=40)
@given(
    frame=purchases(),
    observation_ends=st.lists(
        strategies.moments(date(2023, 10, 1), date(2024, 5, 31), date_only=True),
        min_size=1,
        max_size=3,
    ),
    freq=st.sampled_from(["D", "W"]),
)
def test_rfm_summary_matches_lifetimes(
    frame: pl.DataFrame, observation_ends: list[date], freq: str
) -> None:
    every = {"D": "1d", "W": "1w"}[freq]
    transactions = _pandas(frame)
    for end in observation_ends:
        ours = cm.rfm_summary(frame, granularity=every, time_unit=every, observation_end=end)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = summary_data_from_transaction_data(
                transactions,
                "customer_id",
                "ordered_at",
                monetary_value_col="amount",
                observation_period_end=pd.Timestamp(end),
                freq=freq,
            )
        expected = _from_lifetimes(theirs, frame.schema["customer_id"])
        assert_frame_equal(ours, expected, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
        if freq == "D":  # the papers' setting: days, measured in weeks
            weeks = cm.rfm_summary(frame, time_unit="1w", observation_end=end)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = summary_data_from_transaction_data(
                    transactions,
                    "customer_id",
                    "ordered_at",
                    monetary_value_col="amount",
                    observation_period_end=pd.Timestamp(end),
                    freq="D",
                    freq_multiplier=7,
                )
            expected = _from_lifetimes(theirs, frame.schema["customer_id"])
            assert_frame_equal(weeks, expected, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def _sunday(day: date) -> date:
    return day + timedelta(days=6 - day.weekday())


@settings(deadline=None, max_examples=40)
@given(
    frame=purchases(),
    calibration_end=strategies.moments(date(2023, 11, 1), date(2024, 3, 31), date_only=True),
    gap=st.integers(0, 120),
    freq=st.sampled_from(["D", "W"]),
)
def test_calibration_holdout_matches_lifetimes(
    frame: pl.DataFrame, calibration_end: date, gap: int, freq: str
) -> None:
    observation_end = calibration_end + timedelta(days=gap)
    if freq == "W":  # difference 2: lifetimes splits on dates, so end both on a Sunday
        calibration_end, observation_end = _sunday(calibration_end), _sunday(observation_end)
    every = {"D": "1d", "W": "1w"}[freq]
    ours = cm.calibration_holdout(
        frame,
        calibration_end=calibration_end,
        observation_end=observation_end,
        granularity=every,
        time_unit=every,
    )
    transactions = _pandas(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = calibration_and_holdout_data(
                transactions,
                "customer_id",
                "ordered_at",
                # difference 1: lifetimes' ends are instants; give it the days' last ones
                calibration_period_end=pd.Timestamp(calibration_end) + END_OF_DAY,
                observation_period_end=pd.Timestamp(observation_end) + END_OF_DAY,
                freq=freq,
                monetary_value_col="amount",
            )
        except ValueError as error:  # difference 4: nothing in the holdout
            assert "no data available" in str(error)
            assert (ours["frequency_holdout"] == 0).all()
            assert (ours["monetary_holdout"] == 0).all()
            return
    expected = _from_lifetimes(theirs, frame.schema["customer_id"]).rename(
        lambda c: c.removesuffix("_cal")
    )
    columns = [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "frequency_holdout",
        "duration_holdout",
    ]
    assert_frame_equal(
        ours.select(columns),
        expected.select(columns),
        check_exact=False,
        rel_tol=1e-9,
        abs_tol=1e-9,
    )
    # difference 3: the same holdout total, averaged over periods rather than transactions
    in_holdout = frame.filter(
        (pl.col("ordered_at").cast(pl.Date) > calibration_end)
        & (pl.col("ordered_at").cast(pl.Date) <= observation_end)
    )
    counts = in_holdout.group_by("customer_id").len()
    totals = (
        expected.join(counts, on="customer_id", how="left")
        .select((pl.col("monetary_value_holdout") * pl.col("len").fill_null(0)).alias("total"))
        .to_series()
    )
    assert (ours["monetary_holdout"] * ours["frequency_holdout"]).to_list() == pytest.approx(
        totals.to_list(), rel=1e-9, abs=1e-9
    )


def test_lifetimes_differences_pinned() -> None:
    """Differences 1 and 3 on one customer, against lifetimes itself."""
    orders = make_orders(
        [
            (1, datetime(2024, 1, 1, 9), 10.0),
            (1, datetime(2024, 1, 31, 18), 20.0),  # evening of calibration_end
            (1, datetime(2024, 2, 5, 9), 40.0),
            (1, datetime(2024, 2, 5, 10), 2.0),
        ]
    )
    ours = cm.calibration_holdout(
        orders, calibration_end=date(2024, 1, 31), observation_end=date(2024, 2, 29)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = calibration_and_holdout_data(
            _pandas(orders),
            "customer_id",
            "ordered_at",
            calibration_period_end=pd.Timestamp(date(2024, 1, 31)),
            observation_period_end=pd.Timestamp(date(2024, 2, 29)),
            monetary_value_col="amount",
        )
    assert row(ours, 1)["frequency"] == 1  # the evening order is in the calibration
    assert theirs.loc[1, "frequency_cal"] == 0  # lifetimes: after midnight, so holdout
    assert theirs.loc[1, "frequency_holdout"] == 2
    assert row(ours, 1)["frequency_holdout"] == 1
    assert row(ours, 1)["monetary_holdout"] == 42.0  # one period worth 42


# --------------------------------------------------------------------------
# errors


ORDERS = make_orders([(1, date(2024, 1, 1), 5.0), (1, date(2024, 1, 9), 6.0)])


@pytest.mark.parametrize("granularity", ["1h", "w", "0d", "", "1 d", "1m", 7, None])
def test_bad_granularity(to_kind: ToKind, granularity: Any) -> None:
    with pytest.raises(cm.ArgumentError, match=r"(?s)granularity=.*Hint:"):
        cm.rfm_summary(to_kind(ORDERS), granularity=granularity)
    with pytest.raises(cm.ArgumentError, match="granularity="):
        cm.calibration_holdout(
            to_kind(ORDERS), calibration_end=date(2024, 1, 5), granularity=granularity
        )


@pytest.mark.parametrize("time_unit", ["1h", "1m", "mo", "-1d", 1.0])
def test_bad_time_unit(to_kind: ToKind, time_unit: Any) -> None:
    with pytest.raises(cm.ArgumentError, match=r"(?s)time_unit=.*Hint:"):
        cm.rfm_summary(to_kind(ORDERS), time_unit=time_unit)
    with pytest.raises(cm.ArgumentError, match="time_unit="):
        cm.calibration_holdout(
            to_kind(ORDERS), calibration_end=date(2024, 1, 5), time_unit=time_unit
        )


@pytest.mark.parametrize("end", ["2024-01-05", 20240105, 1.5])
def test_bad_observation_end(to_kind: ToKind, end: Any) -> None:
    with pytest.raises(cm.ArgumentError, match=r"(?s)observation_end=.*Hint:"):
        cm.rfm_summary(to_kind(ORDERS), observation_end=end)
    with pytest.raises(cm.ArgumentError, match="observation_end="):
        cm.calibration_holdout(
            to_kind(ORDERS), calibration_end=date(2024, 1, 5), observation_end=end
        )


def test_bad_calibration_end_names_itself(to_kind: ToKind) -> None:
    with pytest.raises(cm.ArgumentError, match=r"(?s)^calibration_end='2024-01-05'.*Hint:"):
        cm.calibration_holdout(to_kind(ORDERS), calibration_end="2024-01-05")


@pytest.mark.parametrize("monetary", ["yes", 1, 0, None])
def test_bad_monetary(to_kind: ToKind, monetary: Any) -> None:
    with pytest.raises(cm.ArgumentError, match=r"(?s)monetary=.*Hint:"):
        cm.rfm_summary(to_kind(ORDERS), monetary=monetary)


def test_missing_columns(to_kind: ToKind) -> None:
    with pytest.raises(cm.ValidationError):
        summary(ORDERS.drop("amount"), to_kind)
    with pytest.raises(cm.ValidationError):
        holdout(ORDERS.drop("ordered_at"), to_kind, calibration_end=date(2024, 1, 5))
