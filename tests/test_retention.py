"""``cm.customer_movements``, ``cm.churn_rate``, ``cm.retention_rate``.

The docstrings of :mod:`crm_metrics.retention` are the specification:

* a customer is *active* at instant ``t`` when they have a purchase ``s``
  (``amount >= 0``, observed by ``as_of``) with ``t - inactive_after <= s < t``;
* period ``[t0, t1)`` counts who is active at ``t0`` and at ``t1`` and how they
  moved (retained, churned, new, reactivated);
* periods are cut in the column's own (local) calendar, aligned to the epoch.

Layout of this file:

1. the oracle's own helpers checked against Polars' ``dt.truncate`` and
   ``dt.offset_by`` on hand cases and random dates (so the oracle is not
   trusted blindly);
2. golden tests computed by hand, each also run through the oracle, on eager
   and lazy frames;
3. hypothesis property tests against :func:`oracle.customer_movements_oracle`;
4. invariants (identities, continuity, rates, shuffle, eager = lazy =
   streaming, group totals, rate functions, no mutation);
5. errors;
6. regressions: the bugs this file found (month-window clamping, DST at
   midnight, raw Polars errors), fixed in a81bee1, each with its reproducer.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
import strategies
from oracle import (
    add_duration,
    customer_movements_oracle,
    movement_schema,
    period_start,
    periods_between,
    subtract_duration,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hypothesis.strategies import DrawFn, SearchStrategy

    ToKind = Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]

COUNTS = ("customers_start", "retained", "churned", "new", "reactivated", "customers_end")
RATES = ("churn_rate", "retention_rate")

MOVEMENTS_SCHEMA = pl.Schema(
    {
        "period_start": pl.Date(),
        "customers_start": pl.Int64(),
        "retained": pl.Int64(),
        "churned": pl.Int64(),
        "new": pl.Int64(),
        "reactivated": pl.Int64(),
        "customers_end": pl.Int64(),
        "churn_rate": pl.Float64(),
        "retention_rate": pl.Float64(),
        "is_complete": pl.Boolean(),
    }
)
"""The documented output schema, spelled out independently of the oracle."""


def schema_with(keys: dict[str, pl.DataType]) -> pl.Schema:
    """:data:`MOVEMENTS_SCHEMA` with the group keys after ``period_start``."""
    measures = {k: v for k, v in MOVEMENTS_SCHEMA.items() if k != "period_start"}
    return pl.Schema({"period_start": pl.Date(), **keys, **measures})


# --------------------------------------------------------------------------
# helpers


def make_orders(
    rows: Sequence[tuple[Any, date | datetime, float]],
    *,
    time_zone: str | None = None,
    time_unit: str = "us",
    **extra: Sequence[Any],
) -> pl.DataFrame:
    """An ``orders`` frame from ``(customer_id, ordered_at, amount)`` rows.

    ``ordered_at`` is a Date column when the first value is a ``date``, else a
    Datetime one; naive datetimes are read as wall time in ``time_zone``.
    ``extra`` adds columns (group keys), one value per row.
    """
    stamps = [r[1] for r in rows]
    if stamps and not isinstance(stamps[0], datetime):
        ordered_at = pl.Series("ordered_at", stamps, dtype=pl.Date)
    else:
        ordered_at = pl.Series("ordered_at", stamps, dtype=pl.Datetime(time_unit))  # type: ignore[arg-type]
        if time_zone is not None:
            ordered_at = ordered_at.dt.replace_time_zone(time_zone)
    ids = [r[0] for r in rows]
    id_dtype = pl.String if ids and isinstance(ids[0], str) else pl.Int64
    return pl.DataFrame(
        [
            pl.Series("order_id", range(1, len(rows) + 1), dtype=pl.Int64),
            pl.Series("customer_id", ids, dtype=id_dtype),
            ordered_at,
            pl.Series("amount", [r[2] for r in rows], dtype=pl.Float64),
            *(pl.Series(name, values) for name, values in extra.items()),
        ]
    )


def expected(
    rows: Sequence[tuple[Any, ...]], *, keys: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """The expected movements from hand-computed rows.

    Each row is ``(period_start, *group values, customers_start, retained,
    churned, new, reactivated, customers_end, is_complete)``; the two rates
    follow from the counts (null when ``customers_start`` is 0).
    """
    keys = keys or {}
    k = len(keys)
    out = []
    for row in rows:
        start, retained, churned = row[1 + k], row[2 + k], row[3 + k]
        out.append(
            {
                "period_start": row[0],
                **dict(zip(keys, row[1 : 1 + k], strict=True)),
                **dict(zip(COUNTS, row[1 + k : 7 + k], strict=True)),
                "churn_rate": None if start == 0 else churned / start,
                "retention_rate": None if start == 0 else retained / start,
                "is_complete": row[7 + k],
            }
        )
    return pl.DataFrame(out, schema=schema_with(keys))


def collected(
    result: pl.DataFrame | pl.LazyFrame, like: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """``result`` as a DataFrame, after checking it is the same kind as the input ``like``."""
    assert isinstance(result, type(like)), f"{type(like).__name__} in, {type(result).__name__} out"
    return result.collect() if isinstance(result, pl.LazyFrame) else result


def check_golden(frame: pl.DataFrame, want: pl.DataFrame, to_kind: ToKind, **kwargs: Any) -> None:
    """The oracle reproduces the hand computation, and so does the library (eager or lazy)."""
    assert_frame_equal(customer_movements_oracle(frame, **kwargs), want)
    data = to_kind(frame)
    assert_frame_equal(collected(cm.customer_movements(data, **kwargs), data), want)


# --------------------------------------------------------------------------
# 1. the oracle's helpers, against Polars


EVERY = ("1d", "1w", "2w", "1mo", "3mo", "1q", "1y")
DAY_WINDOWS = ("1d", "7d", "30d", "90d")
MONTH_WINDOWS = ("1mo", "3mo", "1y")


@pytest.mark.parametrize(
    ("day", "every", "start"),
    [
        (date(2024, 12, 29), "1w", date(2024, 12, 23)),  # a Sunday: week of Monday 23 Dec
        (date(2024, 12, 30), "1w", date(2024, 12, 30)),  # Monday of ISO week 2025-W01
        (date(2025, 1, 1), "1w", date(2024, 12, 30)),
        (date(1970, 1, 1), "1w", date(1969, 12, 29)),  # a Thursday, before the first Monday
        (date(1970, 1, 18), "2w", date(1970, 1, 5)),  # fortnights from Monday 1970-01-05
        (date(1970, 1, 19), "2w", date(1970, 1, 19)),
        (date(2024, 12, 31), "2w", date(2024, 12, 23)),
        (date(1970, 1, 4), "2d", date(1970, 1, 3)),
        (date(2024, 3, 2), "3d", date(2024, 2, 29)),
        (date(2024, 2, 29), "1d", date(2024, 2, 29)),
        (date(2024, 2, 29), "1mo", date(2024, 2, 1)),
        (date(2024, 5, 15), "1q", date(2024, 4, 1)),
        (date(2024, 5, 15), "3mo", date(2024, 4, 1)),
        (date(2024, 12, 31), "5mo", date(2024, 8, 1)),  # months from January 1970
        (date(1969, 12, 31), "1q", date(1969, 10, 1)),
        (date(2024, 12, 31), "1y", date(2024, 1, 1)),
    ],
)
def test_oracle_period_start_matches_polars_truncate(day: date, every: str, start: date) -> None:
    assert period_start(day, every) == start
    truncated = pl.Series([day], dtype=pl.Date).dt.truncate(every).item()
    assert truncated == start


@pytest.mark.parametrize(
    ("local", "zone", "start"),
    [
        (datetime(2024, 1, 31, 23, 30), "Europe/Paris", date(2024, 1, 1)),  # 22:30 UTC
        (datetime(2024, 2, 1, 0, 30), "Europe/Paris", date(2024, 2, 1)),  # January in UTC
        (datetime(2024, 1, 31, 23, 30), "America/New_York", date(2024, 1, 1)),  # February in UTC
        (datetime(2024, 2, 1, 0, 30), "America/New_York", date(2024, 2, 1)),
    ],
)
def test_oracle_period_start_uses_the_local_calendar(
    local: datetime, zone: str, start: date
) -> None:
    aware = local.replace(tzinfo=ZoneInfo(zone))
    assert period_start(aware, "1mo") == start
    column = pl.Series([local], dtype=pl.Datetime("us")).dt.replace_time_zone(zone)
    assert column.dt.truncate("1mo").dt.date().item() == start


@pytest.mark.parametrize(
    ("day", "duration", "plus", "minus"),
    [
        (date(2024, 1, 31), "1mo", date(2024, 2, 29), date(2023, 12, 31)),
        (date(2023, 1, 31), "1mo", date(2023, 2, 28), date(2022, 12, 31)),
        (date(2024, 3, 31), "1mo", date(2024, 4, 30), date(2024, 2, 29)),
        (date(2023, 3, 31), "1mo", date(2023, 4, 30), date(2023, 2, 28)),
        (date(2024, 2, 29), "1y", date(2025, 2, 28), date(2023, 2, 28)),
        (date(2024, 5, 31), "1q", date(2024, 8, 31), date(2024, 2, 29)),
        (date(2024, 12, 31), "3mo", date(2025, 3, 31), date(2024, 9, 30)),
        (date(2024, 12, 31), "90d", date(2025, 3, 31), date(2024, 10, 2)),
        (date(2024, 12, 30), "2w", date(2025, 1, 13), date(2024, 12, 16)),
    ],
)
def test_oracle_calendar_arithmetic_matches_polars_offset_by(
    day: date, duration: str, plus: date, minus: date
) -> None:
    assert add_duration(day, duration) == plus
    assert subtract_duration(day, duration) == minus
    column = pl.Series([day], dtype=pl.Date)
    assert column.dt.offset_by(duration).item() == plus
    assert column.dt.offset_by(f"-{duration}").item() == minus


def test_oracle_periods_between() -> None:
    weeks = periods_between(date(2024, 12, 20), date(2025, 1, 8), "1w")
    assert weeks == [date(2024, 12, 16), date(2024, 12, 23), date(2024, 12, 30), date(2025, 1, 6)]
    assert periods_between(date(2024, 11, 30), date(2025, 2, 1), "1q") == [
        date(2024, 10, 1),
        date(2025, 1, 1),
    ]
    assert periods_between(date(2024, 2, 1), date(2024, 1, 31), "1d") == []


@settings(deadline=None, max_examples=150)
@given(
    day=st.dates(date(1960, 1, 1), date(2060, 12, 31)),
    every=st.sampled_from((*EVERY, "2d", "3d", "5mo", "2y")),
)
def test_oracle_period_start_matches_polars_on_random_dates(day: date, every: str) -> None:
    assert period_start(day, every) == pl.Series([day]).dt.truncate(every).item()


@settings(deadline=None, max_examples=150)
@given(
    day=st.dates(date(2000, 1, 1), date(2040, 12, 31)),
    duration=st.sampled_from((*DAY_WINDOWS, *MONTH_WINDOWS, "1q", "2w")),
    zone=st.sampled_from((None, "Europe/Paris", "America/New_York")),
)
def test_oracle_offsets_match_polars_on_random_local_midnights(
    day: date, duration: str, zone: str | None
) -> None:
    """What the oracle subtracts from are local midnights: compare them with Polars."""
    midnight = datetime.combine(day, time())
    column = pl.Series([midnight], dtype=pl.Datetime("us"))
    if zone is not None:
        column = column.dt.replace_time_zone(zone)
        midnight = midnight.replace(tzinfo=ZoneInfo(zone))
    assert add_duration(midnight, duration) == column.dt.offset_by(duration).item()
    assert subtract_duration(midnight, duration) == column.dt.offset_by(f"-{duration}").item()


def test_oracle_schema_is_the_documented_one() -> None:
    assert movement_schema() == MOVEMENTS_SCHEMA
    keys = {"segment": pl.String(), "vip": pl.Boolean()}
    assert movement_schema(keys) == schema_with(keys)


# --------------------------------------------------------------------------
# 2. golden tests, computed by hand


def test_design_worked_example(to_kind: ToKind) -> None:
    """DESIGN §4: 1,000 active at the start, 100 lost: churn 10 %, retention 90 %."""
    rows = [(c, date(2024, 1, 15), 10.0) for c in range(1, 1001)]
    rows += [(c, date(2024, 2, 10), 10.0) for c in range(1, 901)]
    frame = make_orders(rows)
    kwargs: dict[str, Any] = {"every": "1mo", "inactive_after": "30d", "as_of": date(2024, 2, 29)}
    # 1 Feb: bought in [2 Jan, 1 Feb) → all 1,000. 1 Mar: bought in [30 Jan, 1 Mar) → 900.
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 1000, 0, 1000, True),
            (date(2024, 2, 1), 1000, 900, 100, 0, 0, 900, True),
        ]
    )
    check_golden(frame, want, to_kind, **kwargs)
    data = to_kind(frame)
    february = pl.col("period_start") == date(2024, 2, 1)
    churn = collected(cm.churn_rate(data, **kwargs), data).filter(february)
    retention = collected(cm.retention_rate(data, **kwargs), data).filter(february)
    assert churn.row(0, named=True) == {
        "period_start": date(2024, 2, 1),
        "customers_start": 1000,
        "churned": 100,
        "churn_rate": pytest.approx(0.10),
        "is_complete": True,
    }
    assert retention.row(0, named=True) == {
        "period_start": date(2024, 2, 1),
        "customers_start": 1000,
        "retained": 900,
        "retention_rate": pytest.approx(0.90),
        "is_complete": True,
    }


def test_docstring_example(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 10), 20.0),
            (2, date(2024, 1, 20), 35.0),
            (1, date(2024, 2, 15), 15.0),
            (3, date(2024, 3, 5), 50.0),
            (2, date(2024, 4, 25), 10.0),
        ]
    )
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 2, 0, 2, True),
            (date(2024, 2, 1), 2, 1, 1, 0, 0, 1, True),
            (date(2024, 3, 1), 1, 0, 1, 1, 0, 1, True),
            (date(2024, 4, 1), 1, 0, 1, 0, 1, 1, False),
        ]
    )
    check_golden(frame, want, to_kind, every="1mo", inactive_after="30d")


def test_reactivation(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 10), 10.0),
            (2, date(2024, 1, 15), 10.0),
            (2, date(2024, 2, 5), 10.0),
            (1, date(2024, 4, 20), 10.0),
        ]
    )
    # Active at 1 Feb: {1, 2}; 1 Mar: {2}; 1 Apr: {}; 1 May: {1}, who bought in January.
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 2, 0, 2, True),
            (date(2024, 2, 1), 2, 1, 1, 0, 0, 1, True),
            (date(2024, 3, 1), 1, 0, 1, 0, 0, 0, True),
            (date(2024, 4, 1), 0, 0, 0, 0, 1, 1, True),
        ]
    )
    check_golden(frame, want, to_kind, every="1mo", inactive_after="30d", as_of=date(2024, 4, 30))


def test_refunds_are_not_purchases_but_are_observed(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 10), 20.0),
            (1, date(2024, 2, 10), -20.0),  # a refund does not keep 1 active
            (3, date(2024, 1, 5), -10.0),  # 3's first order is a refund ...
            (3, date(2024, 2, 15), 30.0),  # ... so 3's first purchase is in February: new
            (2, date(2024, 3, 3), -5.0),  # only a refund: never active, but it is the last order
        ]
    )
    # as_of defaults to the latest order, refunds included: 3 March, a whole day (Date).
    # 1 Feb: {1}; 1 Mar: {3}; 1 Apr: {}.
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), 1, 0, 1, 1, 0, 1, True),
            (date(2024, 3, 1), 1, 0, 1, 0, 0, 0, False),
        ]
    )
    check_golden(frame, want, to_kind, every="1mo", inactive_after="30d")


def test_zero_amount_is_a_purchase(to_kind: ToKind) -> None:
    frame = make_orders([(1, date(2024, 1, 10), 0.0)])
    want = expected([(date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True)])
    check_golden(frame, want, to_kind, every="1mo", inactive_after="30d", as_of=date(2024, 1, 31))


def test_same_day_repeats_count_a_customer_once(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, datetime(2024, 3, 15, 9), 10.0),
            (1, datetime(2024, 3, 15, 9), 12.0),  # the same instant again
            (1, datetime(2024, 3, 15, 18), 5.0),
            (2, datetime(2024, 3, 15, 9), 7.0),
        ]
    )
    want = expected(
        [
            (date(2024, 3, 1), 0, 0, 0, 2, 0, 2, True),
            (date(2024, 4, 1), 2, 0, 2, 0, 0, 0, True),
        ]
    )
    check_golden(frame, want, to_kind, every="1mo", inactive_after="30d", as_of=date(2024, 4, 30))


@pytest.mark.parametrize(
    ("year", "last_active"),
    [(2024, date(2024, 2, 29)), (2023, date(2023, 2, 28))],
)
def test_month_end_plus_one_month(to_kind: ToKind, year: int, last_active: date) -> None:
    """Bought on 31 January, active for "1mo": up to the last day of February.

    Active at ``t`` when ``t - 1mo <= 31 Jan < t``: for ``t`` up to the last day
    of February, ``t - 1mo`` is at most 31 January (29 Feb - 1mo = 29 Jan); for
    ``t`` = 1 March it is 1 February, too late.
    """
    frame = make_orders([(1, date(year, 1, 31), 10.0)])
    as_of = date(year, 3, 1)
    rows: list[tuple[Any, ...]] = [(date(year, 1, 31), 0, 0, 0, 1, 0, 1, True)]
    day = date(year, 2, 1)
    while day < last_active:
        rows.append((day, 1, 1, 0, 0, 0, 1, True))
        day += timedelta(days=1)
    rows.append((last_active, 1, 0, 1, 0, 0, 0, True))
    rows.append((date(year, 3, 1), 0, 0, 0, 0, 0, 0, True))  # ends 2 March = as_of + 1 day
    check_golden(frame, expected(rows), to_kind, every="1d", inactive_after="1mo", as_of=as_of)


def test_month_end_order_belongs_to_its_month(to_kind: ToKind) -> None:
    frame = make_orders([(1, datetime(2024, 1, 31, 23, 59, 59), 10.0)])
    # 1 Feb: bought in [1 Jan, 1 Feb) yes; 1 Mar: [1 Feb, 1 Mar) no.
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), 1, 0, 1, 0, 0, 0, True),
        ]
    )
    check_golden(frame, want, to_kind, every="1mo", inactive_after="1mo", as_of=date(2024, 2, 29))


def test_leap_day_is_its_own_day(to_kind: ToKind) -> None:
    frame = make_orders([(1, date(2024, 2, 29), 10.0)])
    want = expected(
        [
            (date(2024, 2, 29), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 3, 1), 1, 0, 1, 0, 0, 0, True),
        ]
    )
    check_golden(frame, want, to_kind, every="1d", inactive_after="1d", as_of=date(2024, 3, 1))


def test_leap_day_plus_one_year(to_kind: ToKind) -> None:
    """Bought on 29 Feb 2024, active for "1y": at every month start up to 1 Feb 2025."""
    frame = make_orders([(1, date(2024, 2, 29), 10.0)])
    rows: list[tuple[Any, ...]] = [(date(2024, 2, 1), 0, 0, 0, 1, 0, 1, True)]
    rows += [(date(2024 + m // 12, m % 12 + 1, 1), 1, 1, 0, 0, 0, 1, True) for m in range(2, 13)]
    rows.append((date(2025, 2, 1), 1, 0, 1, 0, 0, 0, True))  # 1 Mar 2025 - 1y = 1 Mar 2024
    check_golden(
        frame,
        expected(rows),
        to_kind,
        every="1mo",
        inactive_after="1y",
        as_of=date(2025, 2, 28),
    )


def test_leap_day_plus_one_year_daily(to_kind: ToKind) -> None:
    """28 Feb 2025 - 1y = 28 Feb 2024 <= 29 Feb 2024: still active; 1 March is not."""
    frame = make_orders([(1, date(2024, 2, 29), 10.0)])
    got = customer_movements_oracle(frame, every="1d", inactive_after="1y", as_of=date(2025, 3, 1))
    data = to_kind(frame)
    library = collected(
        cm.customer_movements(data, every="1d", inactive_after="1y", as_of=date(2025, 3, 1)), data
    )
    assert_frame_equal(library, got)
    tail = got.filter(pl.col("period_start") >= date(2025, 2, 27))
    want = expected(
        [
            (date(2025, 2, 27), 1, 1, 0, 0, 0, 1, True),
            (date(2025, 2, 28), 1, 0, 1, 0, 0, 0, True),
            (date(2025, 3, 1), 0, 0, 0, 0, 0, 0, True),
        ]
    )
    assert_frame_equal(tail, want)
    assert got.height == 367  # 29 Feb 2024 to 1 Mar 2025, every day present


@pytest.mark.parametrize(
    ("every", "first", "second"),
    [
        ("1y", date(2024, 1, 1), date(2025, 1, 1)),
        ("1q", date(2024, 10, 1), date(2025, 1, 1)),
        ("1mo", date(2024, 12, 1), date(2025, 1, 1)),
    ],
)
def test_year_boundary(to_kind: ToKind, every: str, first: date, second: date) -> None:
    frame = make_orders(
        [
            (1, datetime(2024, 12, 31, 23, 59, 59), 10.0),
            (2, datetime(2025, 1, 1, 0, 0, 0), 10.0),  # exactly at the boundary: the new year
        ]
    )
    # Active at 1 Jan 2025: bought in [31 Dec, 1 Jan) → {1}; 2 at 00:00 is not before it.
    # At the end of the 2025 period nobody bought in the day before: 2 is neither new nor kept.
    want = expected(
        [
            (first, 0, 0, 0, 1, 0, 1, True),
            (second, 1, 0, 1, 0, 0, 0, False),
        ]
    )
    check_golden(
        frame, want, to_kind, every=every, inactive_after="1d", as_of=datetime(2025, 1, 1, 12)
    )


def test_year_boundary_daily(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, datetime(2024, 12, 31, 23, 59, 59), 10.0),
            (2, datetime(2025, 1, 1, 0, 0, 0), 10.0),
        ]
    )
    want = expected(
        [
            (date(2024, 12, 31), 0, 0, 0, 1, 0, 1, True),
            (date(2025, 1, 1), 1, 0, 1, 1, 0, 1, False),
        ]
    )
    check_golden(
        frame, want, to_kind, every="1d", inactive_after="1d", as_of=datetime(2025, 1, 1, 12)
    )


def test_weekly_periods_across_the_year_boundary(to_kind: ToKind) -> None:
    """ISO week 1 of 2025 starts on Monday 30 December 2024."""
    assert date(2024, 12, 30).weekday() == 0
    frame = make_orders(
        [
            (1, date(2024, 12, 29), 10.0),  # Sunday: week of 23 Dec
            (1, date(2024, 12, 31), 10.0),  # week of 30 Dec
            (2, date(2025, 1, 1), 10.0),  # week of 30 Dec, although in 2025
            (2, date(2025, 1, 6), 10.0),  # week of 6 Jan
        ]
    )
    # Active at 30 Dec: {1}; 6 Jan: {1, 2}; 13 Jan: {2}.
    want = expected(
        [
            (date(2024, 12, 23), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 12, 30), 1, 1, 0, 1, 0, 2, True),
            (date(2025, 1, 6), 2, 1, 1, 0, 0, 1, False),
        ]
    )
    check_golden(frame, want, to_kind, every="1w", inactive_after="7d")


def test_fortnights_are_aligned_to_monday_5_january_1970(to_kind: ToKind) -> None:
    frame = make_orders([(1, date(2024, 12, 31), 10.0), (1, date(2025, 1, 6), 10.0)])
    # (days since 1970-01-05) // 14: 23 Dec 2024 and 6 Jan 2025 start fortnights.
    want = expected(
        [
            (date(2024, 12, 23), 0, 0, 0, 1, 0, 1, True),
            (date(2025, 1, 6), 1, 1, 0, 0, 0, 1, False),
        ]
    )
    check_golden(frame, want, to_kind, every="2w", inactive_after="30d")


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
def test_time_zone_periods_use_local_midnight(to_kind: ToKind, zone: str) -> None:
    """23:30 local on 31 January is January; 00:30 local on 1 February is February.

    In UTC, Paris' 00:30 on 1 February is still 31 January, and New York's
    23:30 on 31 January is already 1 February.
    """
    frame = make_orders(
        [
            (1, datetime(2024, 1, 31, 23, 30), 10.0),
            (2, datetime(2024, 2, 1, 0, 30), 10.0),
        ],
        time_zone=zone,
    )
    # Active at 1 Feb 00:00 local: bought in [2 Jan, 1 Feb) → {1}; 1 Mar: [31 Jan, 1 Mar) → {1, 2}.
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), 1, 1, 0, 1, 0, 2, True),
        ]
    )
    check_golden(frame, want, to_kind, every="1mo", inactive_after="30d", as_of=date(2024, 2, 29))


@pytest.mark.parametrize(
    ("zone", "rows"),
    [
        # 03:00 UTC on 1 March is 22:00 on 29 February in New York: February is the last
        # period, and not complete (it ends at 05:00 UTC).
        ("America/New_York", [(date(2024, 2, 1), 0, 0, 0, 1, 0, 1, False)]),
        # ... and 04:00 on 1 March in Paris: February is complete, March is reported.
        (
            "Europe/Paris",
            [
                (date(2024, 2, 1), 0, 0, 0, 1, 0, 1, True),
                (date(2024, 3, 1), 1, 0, 1, 0, 0, 0, False),  # 1 Apr - 30d = 2 Mar
            ],
        ),
    ],
)
def test_aware_as_of_is_converted_to_the_column_zone(
    to_kind: ToKind, zone: str, rows: list[tuple[Any, ...]]
) -> None:
    frame = make_orders([(1, datetime(2024, 2, 20, 12), 10.0)], time_zone=zone)
    as_of = datetime(2024, 3, 1, 3, tzinfo=UTC)
    check_golden(frame, expected(rows), to_kind, every="1mo", inactive_after="30d", as_of=as_of)


def test_time_zone_daily_periods_across_dst(to_kind: ToKind) -> None:
    """Days around the Paris spring switch (31 March 2024 has 23 hours)."""
    frame = make_orders(
        [
            (1, datetime(2024, 3, 30, 23, 30), 10.0),
            (1, datetime(2024, 3, 31, 3, 30), 10.0),  # just after the gap
            (2, datetime(2024, 4, 1, 0, 0), 10.0),
        ],
        time_zone="Europe/Paris",
    )
    # Active at 31 Mar 00:00: {1}; 1 Apr 00:00: {1}; 2 Apr 00:00: {2}.
    want = expected(
        [
            (date(2024, 3, 30), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 3, 31), 1, 1, 0, 0, 0, 1, True),
            (date(2024, 4, 1), 1, 0, 1, 1, 0, 1, False),
        ]
    )
    check_golden(frame, want, to_kind, every="1d", inactive_after="1d")


def test_single_customer_with_string_id(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            ("solo", date(2024, 1, 10), 10.0),
            ("solo", date(2024, 2, 10), 10.0),
            ("solo", date(2024, 4, 10), 10.0),
        ]
    )
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), 1, 1, 0, 0, 0, 1, True),
            (date(2024, 3, 1), 1, 0, 1, 0, 0, 0, True),
            (date(2024, 4, 1), 0, 0, 0, 0, 1, 1, True),
        ]
    )
    check_golden(frame, want, to_kind, every="1mo", inactive_after="30d", as_of=date(2024, 4, 30))


@pytest.mark.parametrize("dtype", [pl.Date(), pl.Datetime("us"), pl.Datetime("ns", "Europe/Paris")])
@pytest.mark.parametrize("group_by", [None, "segment"])
def test_empty_input_gives_the_empty_schema(
    to_kind: ToKind, dtype: pl.DataType, group_by: str | None
) -> None:
    frame = pl.DataFrame(
        schema={
            "order_id": pl.Int64,
            "customer_id": pl.String,
            "ordered_at": dtype,
            "amount": pl.Float64,
            "segment": pl.String,
        }
    )
    keys = {"segment": pl.String()} if group_by else {}
    want = expected([], keys=keys)
    check_golden(frame, want, to_kind, group_by=group_by)
    data = to_kind(frame)
    churn = collected(cm.churn_rate(data, group_by=group_by), data)
    retention = collected(cm.retention_rate(data, group_by=group_by), data)
    assert_frame_equal(
        churn,
        want.select(
            "period_start", *keys, "customers_start", "churned", "churn_rate", "is_complete"
        ),
    )
    assert_frame_equal(
        retention,
        want.select(
            "period_start", *keys, "customers_start", "retained", "retention_rate", "is_complete"
        ),
    )


AS_OF_ORDERS = [(1, date(2024, 1, 10), 10.0), (2, date(2024, 3, 10), 10.0)]


@pytest.mark.parametrize(
    ("as_of", "rows"),
    [
        pytest.param(date(2023, 12, 31), [], id="before-data"),
        pytest.param(
            date(2024, 2, 15),
            [
                (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
                (date(2024, 2, 1), 1, 0, 1, 0, 0, 0, False),
            ],
            id="inside-data",
        ),
        pytest.param(
            date(2024, 5, 31),
            [
                (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
                (date(2024, 2, 1), 1, 0, 1, 0, 0, 0, True),
                (date(2024, 3, 1), 0, 0, 0, 1, 0, 1, True),
                (date(2024, 4, 1), 1, 0, 1, 0, 0, 0, True),
                (date(2024, 5, 1), 0, 0, 0, 0, 0, 0, True),
            ],
            id="after-data",
        ),
    ],
)
def test_as_of_before_inside_after_the_data(
    to_kind: ToKind, as_of: date, rows: list[tuple[Any, ...]]
) -> None:
    frame = make_orders(AS_OF_ORDERS)
    check_golden(frame, expected(rows), to_kind, every="1mo", inactive_after="30d", as_of=as_of)


@pytest.mark.parametrize(
    ("as_of", "march"),
    [
        # 2 bought at 09:00 on 10 March: an 08:00 as_of leaves that order out ...
        pytest.param(datetime(2024, 3, 10, 8), (0, 0, 0, 0, 0, 0), id="datetime-before"),
        # ... a 09:00 as_of includes it (the instant itself is observed) ...
        pytest.param(datetime(2024, 3, 10, 9), (0, 0, 0, 1, 0, 1), id="datetime-at"),
        # ... and a date as_of includes the whole day.
        pytest.param(date(2024, 3, 10), (0, 0, 0, 1, 0, 1), id="date"),
    ],
)
def test_as_of_on_a_datetime_column(
    to_kind: ToKind, as_of: date | datetime, march: tuple[int, ...]
) -> None:
    frame = make_orders([(1, datetime(2024, 1, 10, 12), 10.0), (2, datetime(2024, 3, 10, 9), 10.0)])
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), 1, 0, 1, 0, 0, 0, True),
            (date(2024, 3, 1), *march, False),
        ]
    )
    check_golden(frame, want, to_kind, every="1mo", inactive_after="30d", as_of=as_of)


def test_datetime_as_of_on_a_date_column_includes_the_whole_day(to_kind: ToKind) -> None:
    frame = make_orders([(1, date(2024, 1, 10), 10.0), (2, date(2024, 3, 10), 10.0)])
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), 1, 0, 1, 0, 0, 0, True),
            (date(2024, 3, 1), 0, 0, 0, 1, 0, 1, False),
        ]
    )
    check_golden(
        frame, want, to_kind, every="1mo", inactive_after="30d", as_of=datetime(2024, 3, 10, 8)
    )


@pytest.mark.parametrize(
    ("stamps", "last_complete"),
    [
        # A Date column's default as_of is the whole last day: 11 January ended by it.
        pytest.param([date(2024, 1, 10), date(2024, 1, 11)], True, id="date"),
        # A Datetime column's default as_of is the last instant, midnight: 11 January has not.
        pytest.param([datetime(2024, 1, 10), datetime(2024, 1, 11)], False, id="datetime-midnight"),
    ],
)
def test_date_vs_datetime_columns(to_kind: ToKind, stamps: list[date], last_complete: bool) -> None:
    frame = make_orders([(1, s, 10.0) for s in stamps])
    want = expected(
        [
            (date(2024, 1, 10), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 1, 11), 1, 1, 0, 0, 0, 1, last_complete),
        ]
    )
    check_golden(frame, want, to_kind, every="1d", inactive_after="1d")


@pytest.mark.parametrize("time_unit", ["ms", "us", "ns"])
def test_datetime_time_units_agree(to_kind: ToKind, time_unit: str) -> None:
    frame = make_orders(
        [(1, datetime(2024, 1, 31, 23, 59, 59, 999000), 10.0), (1, datetime(2024, 3, 31, 23), 1.0)],
        time_unit=time_unit,
        time_zone="America/New_York",
    )
    want = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), 1, 0, 1, 0, 0, 0, True),
            (date(2024, 3, 1), 0, 0, 0, 0, 1, 1, False),
        ]
    )
    check_golden(frame, want, to_kind, every="1mo", inactive_after="1d")


def test_group_by_with_null_group_and_string_ids(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            ("a", date(2024, 1, 10), 10.0),
            ("b", date(2024, 1, 20), 10.0),
            ("b", date(2024, 2, 5), 10.0),
            ("c", date(2024, 2, 10), 10.0),
        ],
        segment=["x", "y", "y", None],
    )
    keys = {"segment": pl.String()}
    # x: 1 Feb {a}, 1 Mar {}; y: {b}, {b}; null: {}, {c}. Nulls sort last.
    want = expected(
        [
            (date(2024, 1, 1), "x", 0, 0, 0, 1, 0, 1, True),
            (date(2024, 1, 1), "y", 0, 0, 0, 1, 0, 1, True),
            (date(2024, 1, 1), None, 0, 0, 0, 0, 0, 0, True),
            (date(2024, 2, 1), "x", 1, 0, 1, 0, 0, 0, True),
            (date(2024, 2, 1), "y", 1, 1, 0, 0, 0, 1, True),
            (date(2024, 2, 1), None, 0, 0, 0, 1, 0, 1, True),
        ],
        keys=keys,
    )
    check_golden(
        frame,
        want,
        to_kind,
        every="1mo",
        inactive_after="30d",
        group_by="segment",
        as_of=date(2024, 2, 29),
    )


def test_a_customer_counts_in_each_group_they_bought_in(to_kind: ToKind) -> None:
    frame = make_orders(
        [(1, date(2024, 1, 10), 10.0), (1, date(2024, 2, 10), 10.0)], channel=["web", "shop"]
    )
    kwargs: dict[str, Any] = {"every": "1mo", "inactive_after": "30d", "as_of": date(2024, 2, 29)}
    keys = {"channel": pl.String()}
    # Per (channel, customer): web churns in February; shop's first purchase is then: new.
    want = expected(
        [
            (date(2024, 1, 1), "shop", 0, 0, 0, 0, 0, 0, True),
            (date(2024, 1, 1), "web", 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), "shop", 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), "web", 1, 0, 1, 0, 0, 0, True),
        ],
        keys=keys,
    )
    check_golden(frame, want, to_kind, group_by="channel", **kwargs)
    total = expected(
        [
            (date(2024, 1, 1), 0, 0, 0, 1, 0, 1, True),
            (date(2024, 2, 1), 1, 1, 0, 0, 0, 1, True),
        ]
    )
    check_golden(frame, total, to_kind, **kwargs)


def test_group_by_two_keys(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 10), 10.0),
            (2, date(2024, 1, 12), 10.0),
            (3, date(2024, 1, 14), -10.0),  # a group with only a refund still gets its rows
        ],
        country=["FR", "FR", None],
        vip=[True, None, False],
    )
    keys = {"country": pl.String(), "vip": pl.Boolean()}
    want = expected(
        [
            (date(2024, 1, 1), "FR", True, 0, 0, 0, 1, 0, 1, True),
            (date(2024, 1, 1), "FR", None, 0, 0, 0, 1, 0, 1, True),
            (date(2024, 1, 1), None, False, 0, 0, 0, 0, 0, 0, True),
        ],
        keys=keys,
    )
    check_golden(
        frame,
        want,
        to_kind,
        every="1mo",
        inactive_after="30d",
        group_by=["country", "vip"],
        as_of=date(2024, 1, 31),
    )


@pytest.mark.parametrize(("alias", "canonical"), [("1q", "3mo"), ("1y", "12mo"), ("1w", "7d")])
def test_period_aliases(alias: str, canonical: str) -> None:
    """Quarters are 3 months and years 12 (same grid); a week is not 7 epoch days."""
    frame = make_orders(
        [(1, date(2024, 1, 31), 10.0), (2, date(2024, 5, 31), 10.0), (1, date(2025, 2, 3), 1.0)]
    )
    left = cm.customer_movements(frame, every=alias, inactive_after="90d")
    right = cm.customer_movements(frame, every=canonical, inactive_after="90d")
    if alias == "1w":
        assert left["period_start"].dt.weekday().unique().to_list() == [1]  # Mondays
        assert right["period_start"].dt.weekday().unique().to_list() == [4]  # epoch Thursdays
    else:
        assert_frame_equal(left, right)


def test_pipe_and_positional_only_frame() -> None:
    frame = make_orders([(1, date(2024, 1, 10), 10.0)])
    assert_frame_equal(frame.pipe(cm.churn_rate, every="1q"), cm.churn_rate(frame, every="1q"))
    with pytest.raises(TypeError):
        cm.customer_movements(orders=frame)  # type: ignore[call-arg]


# --------------------------------------------------------------------------
# 3. property tests against the oracle

DATE = "date"  # marks a Date column among the time zones
ZONES_UNDER_TEST: tuple[str | None, ...] = (
    DATE,
    None,
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/Asuncion",  # DST starts at midnight: some days have no 00:00
    "Africa/Cairo",  # idem, in April; and ends at midnight in October
)
MIDNIGHT_DST_DATES = (
    date(2023, 4, 28),  # Cairo: 00:00 -> 01:00
    date(2023, 10, 1),  # Asuncion: 00:00 -> 01:00, on the first of a month
    date(2024, 4, 26),  # Cairo
    date(2024, 9, 8),  # Santiago
    date(2024, 10, 6),  # Asuncion
)
EDGES = (*strategies.EDGE_DATES, *MIDNIGHT_DST_DATES)
"""Dates the drawn order windows start near (the strategies favour the edges inside)."""
SPAN_DAYS = {"1d": 60, "1w": 200, "2w": 300, "1mo": 500, "3mo": 900, "1q": 900, "1y": 1100}
"""How far the drawn orders spread, per period length (keeps the row count small)."""
SEGMENTS = ("a", "b", None)
SAFE_TIMES = tuple(t for t in strategies.EDGE_TIMES if not 2 <= t.hour < 3)
"""Times of day for naive ``as_of`` values: never in a DST gap (an ArgumentError, tested apart)."""
GROUPINGS: tuple[str | list[str] | None, ...] = (None, "segment", ["segment", "flag"])


class Case(NamedTuple):
    """One drawn call: the orders frame and the keyword arguments."""

    frame: pl.DataFrame
    kwargs: dict[str, Any]


def as_ofs(low: date, high: date) -> SearchStrategy[date | datetime | None]:
    """``None``, a date, a naive datetime or a UTC datetime between ``low`` and ``high``."""
    lo, hi = datetime.combine(low, time()), datetime.combine(high, time())
    return st.one_of(
        st.none(),
        st.dates(low, high),
        st.builds(datetime.combine, st.dates(low, high), st.sampled_from(SAFE_TIMES)),
        st.datetimes(lo, hi, timezones=st.just(UTC)),
    )


@st.composite
def movement_cases(
    draw: DrawFn,
    *,
    everies: Sequence[str] = EVERY,
    windows: Sequence[str] = (*DAY_WINDOWS, *MONTH_WINDOWS),
    zones: Sequence[str | None] = ZONES_UNDER_TEST,
    max_rows: int = 40,
) -> Case:
    """Small order frames around calendar edges, with drawn options.

    Up to ``max_rows`` orders of 1 to 5 customers (Int64 or String ids, refunds
    and zero amounts included) in a window that starts near one of
    :data:`EDGES`; a ``segment`` (String) and a ``flag`` (Boolean) column with
    nulls to group by; ``every`` from ``everies``, ``inactive_after`` from
    ``windows``; ``as_of`` none, a date, a naive or an aware datetime.
    """
    every = draw(st.sampled_from(list(everies)))
    inactive_after = draw(st.sampled_from(list(windows)))
    zone = draw(st.sampled_from(list(zones)))
    edge = draw(st.sampled_from(EDGES))
    start = edge - timedelta(days=draw(st.integers(0, 10)))
    end = start + timedelta(days=draw(st.integers(0, SPAN_DAYS[every])))
    frame = draw(
        strategies.orders(
            0,
            max_rows,
            n_customers=draw(st.integers(1, 5)),
            time_zone=None if zone == DATE else zone,
            date_only=zone == DATE,
            with_optional=False,
            start=start,
            end=end,
        )
    )
    n = frame.height
    segment = draw(st.lists(st.sampled_from(SEGMENTS), min_size=n, max_size=n))
    flag = draw(st.lists(st.sampled_from((True, False, None)), min_size=n, max_size=n))
    frame = frame.with_columns(
        pl.Series("segment", segment, dtype=pl.String), pl.Series("flag", flag, dtype=pl.Boolean)
    )
    kwargs = {
        "every": every,
        "inactive_after": inactive_after,
        "group_by": draw(st.sampled_from(GROUPINGS)),
        "as_of": draw(as_ofs(start - timedelta(days=20), end + timedelta(days=60))),
    }
    return Case(frame, kwargs)


def keys_of(group_by: str | list[str] | None) -> list[str]:
    return [] if group_by is None else [group_by] if isinstance(group_by, str) else group_by


ORACLE_SETTINGS = settings(
    deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)
PROPERTY_SETTINGS = settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)


@ORACLE_SETTINGS
@given(case=movement_cases())
def test_matches_the_oracle(case: Case) -> None:
    before = case.frame.clone()
    got = cm.customer_movements(case.frame, **case.kwargs)
    assert_frame_equal(got, customer_movements_oracle(case.frame, **case.kwargs))
    assert_frame_equal(case.frame, before)  # the input is not mutated
    # What the drawn cases exercised (see pytest --hypothesis-show-statistics).
    event(f"ordered_at: {case.frame.schema['ordered_at']}")
    for column in ("retained", "churned", "new", "reactivated"):
        event(f"some {column}: {got.height > 0 and got[column].sum() > 0}")


# --------------------------------------------------------------------------
# 4. invariants


@PROPERTY_SETTINGS
@given(case=movement_cases())
def test_invariants(case: Case) -> None:
    keys = keys_of(case.kwargs["group_by"])
    got = cm.customer_movements(case.frame, **case.kwargs)
    assert got.schema == schema_with({k: case.frame.schema[k] for k in keys})
    assert got.select("period_start", *COUNTS, "is_complete").null_count().to_numpy().sum() == 0
    # sorted by period_start then the keys (nulls last), one row per (period, group)
    assert_frame_equal(got, got.sort(["period_start", *keys], nulls_last=True))
    assert got.select("period_start", *keys).is_duplicated().sum() == 0
    by_group: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in got.iter_rows(named=True):
        assert row["customers_start"] == row["retained"] + row["churned"]
        assert row["customers_end"] == row["retained"] + row["new"] + row["reactivated"]
        assert all(row[c] >= 0 for c in COUNTS)
        for rate in RATES:
            if row["customers_start"] == 0:
                assert row[rate] is None
            else:
                assert 0.0 <= row[rate] <= 1.0
        assert row["churn_rate"] is None or row["churn_rate"] + row["retention_rate"] == (
            pytest.approx(1.0)
        )
        assert isinstance(row["is_complete"], bool)
        by_group.setdefault(tuple(row[k] for k in keys), []).append(row)
    grids = {tuple(r["period_start"] for r in rows) for rows in by_group.values()}
    assert len(grids) <= 1  # every group has the same grid of periods
    for rows in by_group.values():
        assert rows[0]["customers_start"] == 0  # nobody bought before the first order
        for previous, current in itertools.pairwise(rows):
            assert previous["period_start"] < current["period_start"]
            assert previous["customers_end"] == current["customers_start"]
            assert previous["is_complete"]  # only the last period can be unfinished
    every = case.kwargs["every"]
    for starts in grids:
        assert all(period_start(s, every) == s for s in starts)  # aligned period starts
        for a, b in itertools.pairwise(starts):
            assert b == add_duration(a, every)  # dense: no period missing


@PROPERTY_SETTINGS
@given(case=movement_cases(), data=st.data())
def test_shuffling_rows_changes_nothing(case: Case, data: st.DataObject) -> None:
    permutation = data.draw(st.permutations(range(case.frame.height)))
    shuffled = case.frame[list(permutation)] if case.frame.height else case.frame
    assert_frame_equal(
        cm.customer_movements(shuffled, **case.kwargs),
        cm.customer_movements(case.frame, **case.kwargs),
    )


@PROPERTY_SETTINGS
@given(case=movement_cases())
def test_eager_equals_lazy_and_streaming(case: Case) -> None:
    eager = cm.customer_movements(case.frame, **case.kwargs)
    lazy = cm.customer_movements(case.frame.lazy(), **case.kwargs)
    assert isinstance(eager, pl.DataFrame)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), eager)
    assert_frame_equal(lazy.collect(engine="streaming"), eager)


@PROPERTY_SETTINGS
@given(case=movement_cases(), data=st.data())
def test_groups_of_a_customer_attribute_sum_to_the_total(case: Case, data: st.DataObject) -> None:
    ids = case.frame["customer_id"].unique().sort().to_list()
    values = data.draw(st.lists(st.sampled_from(SEGMENTS), min_size=len(ids), max_size=len(ids)))
    attribute = dict(zip(ids, values, strict=True))
    frame = case.frame.with_columns(
        pl.Series("segment", [attribute[c] for c in case.frame["customer_id"]], dtype=pl.String)
    )
    kwargs = {**case.kwargs, "group_by": None}
    total = cm.customer_movements(frame, **kwargs)
    grouped = cm.customer_movements(frame, **{**kwargs, "group_by": "segment"})
    summed = (
        grouped.group_by("period_start")
        .agg(*(pl.col(c).sum() for c in COUNTS), pl.col("is_complete").all())
        .sort("period_start")
    )
    assert_frame_equal(summed, total.select("period_start", *COUNTS, "is_complete"))


@PROPERTY_SETTINGS
@given(case=movement_cases())
def test_rate_functions_are_columns_of_customer_movements(case: Case) -> None:
    keys = keys_of(case.kwargs["group_by"])
    moves = cm.customer_movements(case.frame, **case.kwargs)
    churn = cm.churn_rate(case.frame, **case.kwargs)
    retention = cm.retention_rate(case.frame, **case.kwargs)
    assert_frame_equal(
        churn,
        moves.select(
            "period_start", *keys, "customers_start", "churned", "churn_rate", "is_complete"
        ),
    )
    assert_frame_equal(
        retention,
        moves.select(
            "period_start", *keys, "customers_start", "retained", "retention_rate", "is_complete"
        ),
    )


def test_lazy_input_is_not_collected_by_the_call() -> None:
    """Lazy in, lazy out: the call builds a plan; only ``collect`` reads the data."""
    frame = make_orders([(1, date(2024, 1, 10), 10.0), (1, date(2024, 3, 10), 10.0)])
    reads: list[int] = []

    def read(amount: pl.Series) -> pl.Series:
        reads.append(amount.len())
        return amount

    lazy = frame.lazy().with_columns(pl.col("amount").map_batches(read, return_dtype=pl.Float64))
    result = cm.customer_movements(lazy, every="1mo", inactive_after="30d")
    assert isinstance(result, pl.LazyFrame)
    assert reads == []
    assert_frame_equal(
        result.collect(), cm.customer_movements(frame, every="1mo", inactive_after="30d")
    )
    assert reads


# --------------------------------------------------------------------------
# 5. errors


@pytest.fixture
def small_orders() -> pl.DataFrame:
    return make_orders(
        [(1, date(2024, 1, 10), 10.0), (2, date(2024, 2, 10), 5.0)], email=["x@y", "z@w"]
    )


FUNCTIONS = [cm.customer_movements, cm.churn_rate, cm.retention_rate]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("every", ["1month", "0d", "1h", "", "1", "d", "-1d", "1.5mo", "1W", 7])
def test_bad_every(small_orders: pl.DataFrame, function: Any, every: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="every") as info:
        function(small_orders, every=every)
    assert isinstance(info.value, ValueError)
    assert "Hint:" in str(info.value)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("window", ["0d", "1h", "90", "-30d", "", "1month", "30 d", 90])
def test_bad_inactive_after(small_orders: pl.DataFrame, function: Any, window: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="inactive_after") as info:
        function(small_orders, inactive_after=window)
    assert isinstance(info.value, ValueError)
    assert "Hint:" in str(info.value)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_group_by_a_missing_column(
    small_orders: pl.DataFrame, to_kind: ToKind, function: Any
) -> None:
    with pytest.raises(cm.ArgumentError, match="'country'"):
        function(to_kind(small_orders), group_by="country")
    with pytest.raises(cm.ArgumentError, match="'country'"):
        function(to_kind(small_orders), group_by=["email", "country"])


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("column", ["email", "name", "phone", "address"])
def test_group_by_personal_data(
    small_orders: pl.DataFrame, to_kind: ToKind, function: Any, column: str
) -> None:
    frame = small_orders.with_columns(pl.col("email").alias(column))
    with pytest.raises(cm.ArgumentError, match=repr(column)) as info:
        function(to_kind(frame), group_by=column)
    assert isinstance(info.value, ValueError)
    assert "Hint:" in str(info.value)


@pytest.mark.parametrize("group_by", [["segment", "segment"], [1], "is_complete", "churn_rate"])
def test_group_by_bad_names(group_by: Any) -> None:
    frame = make_orders(
        [(1, date(2024, 1, 10), 10.0)], segment=["a"], is_complete=[True], churn_rate=[0.5]
    )
    with pytest.raises(cm.ArgumentError):
        cm.customer_movements(frame, group_by=group_by)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("column", ["customer_id", "ordered_at", "amount"])
def test_missing_required_column(
    small_orders: pl.DataFrame, to_kind: ToKind, function: Any, column: str
) -> None:
    with pytest.raises(cm.ValidationError, match=column) as info:
        function(to_kind(small_orders.drop(column)))
    assert isinstance(info.value, ValueError)
    failures = info.value.failures
    assert failures.filter(pl.col("column") == column)["check"].to_list() == ["column_in_dataframe"]


def test_wrong_dtype_and_bad_values_are_validation_errors(small_orders: pl.DataFrame) -> None:
    text_dates = small_orders.with_columns(pl.col("ordered_at").cast(pl.String))
    with pytest.raises(cm.ValidationError, match="ordered_at"):
        cm.customer_movements(text_dates)
    null_customer = small_orders.with_columns(customer_id=pl.lit(None, pl.Int64))
    with pytest.raises(cm.ValidationError, match="customer_id"):
        cm.customer_movements(null_customer)


def test_not_a_frame() -> None:
    with pytest.raises(cm.ValidationError):
        cm.customer_movements({"customer_id": [1]})  # type: ignore[type-var]


# --------------------------------------------------------------------------
# 6. regressions: bugs found by this file, fixed in a81bee1


class Clamping(NamedTuple):
    """One purchase on ``bought``; kept until ``churn_period``, then nobody."""

    bought: date
    every: str
    window: str
    as_of: date
    first_period: date
    churn_period: date

    def expected(self) -> pl.DataFrame:
        rows: list[tuple[Any, ...]] = [(self.first_period, 0, 0, 0, 1, 0, 1, True)]
        every = self.every
        for start in periods_between(add_duration(self.first_period, every), self.as_of, every):
            if start < self.churn_period:
                rows.append((start, 1, 1, 0, 0, 0, 1, True))
            elif start == self.churn_period:
                rows.append((start, 1, 0, 1, 0, 0, 0, True))
            else:
                rows.append((start, 0, 0, 0, 0, 0, 0, True))
        return expected(rows)


@pytest.mark.parametrize(
    "case",
    [
        # daily: active at t for t - 1mo <= 28 Feb, i.e. up to 31 March; churns on 31 March.
        Clamping(
            date(2023, 2, 28), "1d", "1mo", date(2023, 4, 1), date(2023, 2, 28), date(2023, 3, 31)
        ),
        # weekly: Monday 31 March 2025 - 1mo = 28 Feb: still active; churns that week.
        Clamping(
            date(2025, 2, 28), "1w", "1mo", date(2025, 4, 6), date(2025, 2, 24), date(2025, 3, 31)
        ),
        # yearly window: 29 Feb 2024 - 1y = 28 Feb 2023: active on 29 February 2024.
        Clamping(
            date(2023, 2, 28), "1d", "1y", date(2024, 3, 1), date(2023, 2, 28), date(2024, 2, 29)
        ),
        # quarter window from 30 April: 31 July - 1q = 30 April; 1 August - 1q = 1 May.
        Clamping(
            date(2024, 4, 30), "1d", "1q", date(2024, 8, 2), date(2024, 4, 30), date(2024, 7, 31)
        ),
    ],
    ids=["1d-1mo", "1w-1mo", "1d-1y", "1d-1q"],
)
def test_month_window_clamps_like_calendar_subtraction(to_kind: ToKind, case: Clamping) -> None:
    """Was a bug: the engine kept a customer active while ``t <= s + inactive_after``.

    The documented window is ``t - inactive_after <= s < t``; the two differ
    when the subtraction clamps the day of the month: bought on 28 Feb 2023
    with "1mo", 31 Mar - 1mo = 28 Feb, so the customer is active at 29, 30
    and 31 March, where the engine had dropped them after 28 March.
    """
    frame = make_orders([(1, case.bought, 10.0)])
    check_golden(
        frame,
        case.expected(),
        to_kind,
        every=case.every,
        inactive_after=case.window,
        as_of=case.as_of,
    )


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(case=movement_cases(everies=("1d", "1w", "2w"), windows=MONTH_WINDOWS))
@example(
    case=Case(
        make_orders([(1, date(2023, 2, 28), 10.0)], segment=["a"], flag=[True]),
        {"every": "1d", "inactive_after": "1mo", "group_by": None, "as_of": date(2023, 4, 1)},
    )
)
def test_month_windows_with_day_or_week_periods_match_the_oracle(case: Case) -> None:
    """Where clamping bites most: boundaries on any day of the month (was a bug)."""
    got = cm.customer_movements(case.frame, **case.kwargs)
    assert_frame_equal(got, customer_movements_oracle(case.frame, **case.kwargs))


# Asuncion's clocks went from 00:00 to 01:00 on 1 October 2023. A purchase at 00:30 on
# 1 September keeps its customer active at the start of 1 October (1 Oct - 30d or 1mo =
# 1 Sep 00:00 <= 00:30), although "00:30 on 1 October" does not exist: Polars moves
# s + 30d to 23:30 on 30 September, which made the engine drop the customer a day early.
ASUNCION_ORDER = [(1, datetime(2023, 9, 1, 0, 30), 10.0)]
ASUNCION_WANT = [
    (date(2023, 9, 1), 0, 0, 0, 1, 0, 1, True),
    (date(2023, 10, 1), 1, 0, 1, 0, 0, 0, True),
]


@pytest.mark.parametrize("window", ["30d", "1mo"])
def test_dst_at_midnight_does_not_shorten_activity(to_kind: ToKind, window: str) -> None:
    """Was a bug: ``s + inactive_after`` fell into the gap and onto the previous day."""
    frame = make_orders(ASUNCION_ORDER, time_zone="America/Asuncion")
    want = expected(ASUNCION_WANT)
    check_golden(frame, want, to_kind, every="1mo", inactive_after=window, as_of=date(2023, 10, 31))


@pytest.mark.parametrize(
    ("zone", "stamps", "every"),
    [
        ("America/Asuncion", [datetime(2023, 9, 15, 12), datetime(2023, 10, 15, 12)], "1mo"),
        ("America/Santiago", [datetime(2024, 9, 7, 12), datetime(2024, 9, 8, 12)], "1d"),
        ("Africa/Cairo", [datetime(2024, 4, 25, 12), datetime(2024, 4, 26, 12)], "1d"),
    ],
    ids=["asuncion-month", "santiago-day", "cairo-day"],
)
def test_dst_at_midnight_is_complete_is_a_boolean(
    to_kind: ToKind, zone: str, stamps: list[datetime], every: str
) -> None:
    """Was a bug: a period ending on a day without a 00:00 had ``is_complete`` null."""
    frame = make_orders([(1, s, 10.0) for s in stamps], time_zone=zone)
    data = to_kind(frame)
    got = collected(cm.customer_movements(data, every=every, inactive_after="90d"), data)
    assert got["is_complete"].to_list() == [True, False]
    oracle = customer_movements_oracle(frame, every=every, inactive_after="90d")
    assert_frame_equal(got, oracle)


@pytest.mark.parametrize("column", ["customer_id", "ordered_at", "amount"])
def test_group_by_a_used_column_is_an_argument_error(
    small_orders: pl.DataFrame, to_kind: ToKind, column: str
) -> None:
    """Was a bug: a raw polars DuplicateError escaped."""
    with pytest.raises(cm.ArgumentError, match=repr(column)) as info:
        cm.customer_movements(to_kind(small_orders), group_by=column)
    assert "Hint:" in str(info.value)


def test_naive_as_of_in_a_dst_gap_is_an_argument_error(to_kind: ToKind) -> None:
    """Was a bug: a raw polars ComputeError escaped from replace_time_zone.

    An aware ``as_of`` names the instant without ambiguity and is accepted.
    """
    frame = make_orders(
        [(1, datetime(2024, 3, 30, 12), 10.0), (1, datetime(2024, 3, 31, 12), 10.0)],
        time_zone="Europe/Paris",
    )
    data = to_kind(frame)
    with pytest.raises(cm.ArgumentError, match="Europe/Paris") as info:
        cm.customer_movements(data, every="1d", as_of=datetime(2024, 3, 31, 2, 30))
    assert "Hint:" in str(info.value)
    aware = datetime(2024, 3, 31, 1, 30, tzinfo=UTC)  # 03:30 CEST, just after the gap
    got = collected(cm.customer_movements(data, every="1d", as_of=aware), data)
    assert_frame_equal(got, customer_movements_oracle(frame, every="1d", as_of=aware))
    assert got["is_complete"].to_list() == [True, False]
