"""Slow, obviously-correct references for the acquisition, revenue, feedback and value KPIs.

Like :mod:`oracle` (whose calendar helpers this module reuses), everything here
is plain Python over ``date`` / ``datetime`` / ``zoneinfo`` values with loops
over rows, groups and periods. Polars only reads the inputs (``to_dicts``) and
holds the outputs, built with the schema each public function documents; no
Polars expression computes a result.

Layers:

1. **Clock** — :class:`Clock` knows whether a column is a ``Date``, a naive or a
   tz-aware ``Datetime``: it gives each value's local calendar day, a
   comparable instant, and shifts values by calendar durations the way
   ``dt.offset_by`` does (see :meth:`Clock.shift`).
2. **Observation** — :class:`Observation` is ``as_of``: either a last *instant*
   (inclusive) or a last *whole day*; it says which events are observed, which
   periods are complete (``period end <= end_day``) and which events fall in a
   trailing window.
3. **KPI oracles** — one function per public KPI, taking the same arguments
   (CAC, lead conversion, NPS, revenue growth, AOV / ARPC / purchase frequency,
   simple CLV with an explicit lifespan) and :func:`exact_age`.
4. **Test helpers** shared by the KPI test files: :func:`check_kpi` (oracle =
   eager = lazy = shuffled, input unchanged), :func:`as_of_values`,
   :func:`exact_money`, :func:`collected`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import NormalDist
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from oracle import add_duration, period_start, periods_between, subtract_duration

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from hypothesis.strategies import SearchStrategy

__all__ = [
    "Clock",
    "Observation",
    "aov_oracle",
    "arpc_oracle",
    "as_of_exists",
    "cac_oracle",
    "clv_oracle",
    "exact_age",
    "lead_conversion_oracle",
    "nps_oracle",
    "purchase_frequency_oracle",
    "revenue_growth_oracle",
]

Timestamp = date | datetime
Key = tuple[Any, ...]

# --------------------------------------------------------------------------
# 1. clock


@dataclass(frozen=True)
class Clock:
    """How one time column stores time: ``Date``, naive ``Datetime`` or tz-aware."""

    is_date: bool
    zone: str | None = None

    @classmethod
    def of(cls, dtype: pl.DataType) -> Clock:
        if dtype == pl.Date:
            return cls(is_date=True)
        if isinstance(dtype, pl.Datetime):
            return cls(is_date=False, zone=dtype.time_zone)
        msg = f"not a time dtype: {dtype}"
        raise TypeError(msg)

    @property
    def tz(self) -> ZoneInfo | None:
        return None if self.zone is None else ZoneInfo(self.zone)

    @staticmethod
    def day(ts: Timestamp) -> date:
        """The local calendar date (Python keeps the column's zone on aware values)."""
        return ts.date() if isinstance(ts, datetime) else ts

    @staticmethod
    def instant(ts: Timestamp) -> Timestamp:
        """A comparable instant: UTC for aware values (never compare wall clocks)."""
        if isinstance(ts, datetime) and ts.tzinfo is not None:
            return ts.astimezone(UTC)
        return ts

    @staticmethod
    def shift(ts: Timestamp, duration: str, *, back: bool = False) -> Timestamp:
        """``ts ± duration`` like Polars' ``dt.offset_by``.

        Dates and naive datetimes move on the calendar (months clamp the day, see
        :func:`oracle.add_duration`). An aware value moves its wall clock; the new
        wall time is read with the original UTC offset when that offset is valid
        there (so a repeated hour keeps its side of the DST switch), otherwise with
        the offset in force at that first guess (a skipped wall time lands on the
        other side of the gap). This is what Polars does; a test checks it.
        """
        move = subtract_duration if back else add_duration
        if not isinstance(ts, datetime) or ts.tzinfo is None:
            return move(ts, duration)
        zone = ts.tzinfo
        wall = move(ts.replace(tzinfo=None), duration)
        assert isinstance(wall, datetime)
        offset = ts.utcoffset()
        assert offset is not None
        guess = (wall - offset).replace(tzinfo=UTC)
        if guess.astimezone(zone).replace(tzinfo=None) != wall:
            other = guess.astimezone(zone).utcoffset()
            assert other is not None
            guess = (wall - other).replace(tzinfo=UTC)
        return guess.astimezone(zone)

    def to_kind(self, ts: Timestamp) -> Timestamp:
        """A value of another Date/Datetime column as a value of this one.

        Datetime → Date takes the local date; Date → Datetime is local midnight
        (the earlier one if repeated; a skipped midnight gives ``None``).
        """
        if self.is_date:
            return self.day(ts)
        if isinstance(ts, datetime):
            return ts
        wall = datetime.combine(ts, datetime.min.time())
        if self.tz is None:
            return wall
        if not as_of_exists(wall, self.zone):
            return None  # type: ignore[return-value]
        return wall.replace(tzinfo=self.tz, fold=0)


def as_of_exists(as_of: date | datetime | None, zone: str | None) -> bool:
    """Whether a naive ``as_of`` wall time exists in ``zone`` (is not skipped by DST)."""
    if not isinstance(as_of, datetime) or as_of.tzinfo is not None or zone is None:
        return True
    local = as_of.replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None) == as_of


# --------------------------------------------------------------------------
# 2. observation (as_of)


@dataclass(frozen=True)
class Observation:
    """The end of observation for one time column.

    ``bound`` is the last observed instant (inclusive) or ``None`` when whole
    days are observed up to and including ``last_day``.
    """

    clock: Clock
    last_day: date
    bound: Timestamp | None = None

    @property
    def end_day(self) -> date:
        """Periods ending (exclusively) on or before this local date are complete.

        With whole days observed, that is the day after ``last_day``; with an
        instant, the instant's own date (its midnight has passed, the next has not).
        """
        return self.last_day + timedelta(days=1) if self.bound is None else self.last_day

    def observed(self, ts: Timestamp | None) -> bool:
        if ts is None:
            return False
        if self.bound is None:
            return Clock.day(ts) <= self.last_day
        return Clock.instant(ts) <= Clock.instant(self.bound)  # type: ignore[operator]

    def complete(self, period_end: date) -> bool:
        return period_end <= self.end_day

    def in_window(self, ts: Timestamp, window: str) -> bool:
        """Observed and inside the trailing window.

        ``(as_of - window, as_of]`` for an instant, else the days
        ``[end_day - window, end_day)``.
        """
        if not self.observed(ts):
            return False
        if self.bound is None:
            return Clock.day(ts) >= subtract_duration(self.end_day, window)  # type: ignore[operator]
        lower = Clock.shift(self.bound, window, back=True)
        return Clock.instant(ts) > Clock.instant(lower)  # type: ignore[operator]


def observe(
    clock: Clock, as_of: date | datetime | None, latest: Iterable[Timestamp | None]
) -> Observation | None:
    """The :class:`Observation` of ``as_of`` (``None``: the latest of ``latest``).

    A ``date``, or anything on a Date column, observes that whole day; a
    ``datetime`` on a Datetime column observes up to that instant (naive: wall
    time in the column's zone, earlier instant if repeated; aware: converted).
    ``None`` is returned when there is no event to default to.
    """
    if as_of is None:
        values = [v for v in latest if v is not None]
        if not values:
            return None
        last = max(values, key=Clock.instant)
        if clock.is_date or not isinstance(last, datetime):
            return Observation(clock, Clock.day(last))
        return Observation(clock, last.date(), last)
    if clock.is_date or not isinstance(as_of, datetime):
        return Observation(clock, Clock.day(as_of))
    if as_of.tzinfo is None:
        local = as_of if clock.tz is None else as_of.replace(tzinfo=clock.tz, fold=0)
    elif clock.tz is None:
        local = as_of.astimezone(UTC).replace(tzinfo=None)
    else:
        local = as_of.astimezone(clock.tz)
    return Observation(clock, local.date(), local)


def whole_days(clock: Clock, day: date) -> Observation:
    return Observation(clock, day)


# --------------------------------------------------------------------------
# shared helpers


def _rows(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _keys(group_by: str | Sequence[str] | None) -> list[str]:
    if group_by is None:
        return []
    return [group_by] if isinstance(group_by, str) else list(group_by)


def _group_order(group: Key) -> tuple[tuple[bool, Any], ...]:
    """Sort key of group values, nulls last."""
    return tuple((v is None, v) for v in group)


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, ``None`` when the denominator is 0."""
    return None if denominator == 0 else numerator / denominator


def _next_start(start: date, every: str) -> date:
    return add_duration(start, every)  # type: ignore[return-value]


def _grid(groups: Iterable[Key], first: date, last: date, every: str) -> list[tuple[date, Key]]:
    """Every (period start, group), periods from ``first``'s to ``last``'s, sorted."""
    starts = periods_between(first, last, every)
    cells = [(s, g) for s in starts for g in groups]
    cells.sort(key=lambda cell: (cell[0], _group_order(cell[1])))
    return cells


# --------------------------------------------------------------------------
# 3a. customer acquisition cost


CAC_MEASURES: dict[str, pl.DataType] = {
    "spend": pl.Float64(),
    "new_customers": pl.Int64(),
    "cac": pl.Float64(),
    "is_complete": pl.Boolean(),
}


def acquisitions(
    customers: pl.DataFrame | pl.LazyFrame,
    orders: pl.DataFrame | pl.LazyFrame | None,
    keys: Sequence[str],
) -> tuple[Clock, list[tuple[Key, Timestamp | None]], dict[str, pl.DataType]]:
    """Each customer's (group values, acquisition time) and the acquisition clock.

    * customers with ``acquired_at`` and no orders: ``acquired_at`` (null: undated);
    * the orders table as customers: each customer's first purchase
      (``amount >= 0``); its group values are those of that purchase (the first
      such row in input order when purchases tie);
    * customers and ``orders``: ``acquired_at``, else the first purchase.

    The group key ``"channel"`` is read from ``acquisition_channel`` on this side.
    """
    people = _rows(customers)
    names = people.columns
    is_orders = "acquired_at" not in names and {"ordered_at", "amount"} <= set(names)
    side = {k: ("acquisition_channel" if k == "channel" else k) for k in keys}

    def first_purchases(frame: pl.DataFrame) -> dict[Any, dict[str, Any]]:
        first: dict[Any, dict[str, Any]] = {}
        for row in frame.to_dicts():
            if row["amount"] < 0:
                continue
            best = first.get(row["customer_id"])
            if best is None or Clock.instant(row["ordered_at"]) < Clock.instant(  # type: ignore[operator]
                best["ordered_at"]
            ):
                first[row["customer_id"]] = row
        return first

    key_dtypes = {k: people.schema[side[k]] for k in keys}
    if is_orders:
        clock = Clock.of(people.schema["ordered_at"])
        out = [
            (tuple(row[side[k]] for k in keys), row["ordered_at"])
            for row in first_purchases(people).values()
        ]
        return clock, out, key_dtypes
    has_date = "acquired_at" in names
    if orders is None:
        clock = Clock.of(people.schema["acquired_at"])
        out = [(tuple(r[side[k]] for k in keys), r["acquired_at"]) for r in people.to_dicts()]
        return clock, out, key_dtypes
    order_rows = _rows(orders)
    firsts = first_purchases(order_rows)
    clock = Clock.of(people.schema["acquired_at"] if has_date else order_rows.schema["ordered_at"])
    out = []
    for row in people.to_dicts():
        when = row["acquired_at"] if has_date else None
        if when is None and row["customer_id"] in firsts:
            when = clock.to_kind(firsts[row["customer_id"]]["ordered_at"])
        out.append((tuple(row[side[k]] for k in keys), when))
    return clock, out, key_dtypes


def cac_oracle(
    spend: pl.DataFrame | pl.LazyFrame,
    customers: pl.DataFrame | pl.LazyFrame,
    *,
    orders: pl.DataFrame | pl.LazyFrame | None = None,
    every: str = "1mo",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.customer_acquisition_cost``.

    Spend and acquisitions are observed separately against ``as_of`` (each on
    its own column's clock); ``as_of=None`` is the *day* of the latest spend or
    acquisition, observed whole. Rows: every period from the first observed
    spend or acquisition to the period of the last observed day, for every
    group seen on either side (nulls included); ``spend`` 0 and
    ``new_customers`` 0 fill the gaps; ``cac = spend / new_customers`` (null
    when no one was acquired); ``is_complete`` from the acquisitions' horizon.
    """
    keys = _keys(group_by)
    money = _rows(spend)
    spend_clock = Clock.of(money.schema["spent_at"])
    acq_clock, people, key_dtypes = acquisitions(customers, orders, keys)
    schema = {"period_start": pl.Date(), **key_dtypes, **CAC_MEASURES}
    spend_rows = [(tuple(r[k] for k in keys), r["spent_at"], r["amount"]) for r in money.to_dicts()]
    if as_of is None:
        days = [Clock.day(t) for _, t, _ in spend_rows] + [
            Clock.day(t) for _, t in people if t is not None
        ]
        if not days:
            return pl.DataFrame(schema=schema)
        spend_obs, acq_obs = whole_days(spend_clock, max(days)), whole_days(acq_clock, max(days))
    else:
        spend_obs = observe(spend_clock, as_of, [])
        acq_obs = observe(acq_clock, as_of, [])
    assert spend_obs is not None and acq_obs is not None

    spent: dict[tuple[Key, date], float] = defaultdict(float)
    new: dict[tuple[Key, date], int] = defaultdict(int)
    groups: set[Key] = set()
    firsts: list[date] = []
    for group, ts, amount in spend_rows:
        if spend_obs.observed(ts):
            start = period_start(ts, every)
            spent[group, start] += float(amount)
            groups.add(group)
            firsts.append(start)
    for group, ts in people:
        if acq_obs.observed(ts):
            start = period_start(ts, every)  # type: ignore[arg-type]
            new[group, start] += 1
            groups.add(group)
            firsts.append(start)
    if not firsts:
        return pl.DataFrame(schema=schema)
    out = []
    for start, group in _grid(groups, min(firsts), acq_obs.last_day, every):
        money_in, customers_in = spent.get((group, start), 0.0), new.get((group, start), 0)
        out.append(
            {
                "period_start": start,
                **dict(zip(keys, group, strict=True)),
                "spend": money_in,
                "new_customers": customers_in,
                "cac": ratio(money_in, customers_in),
                "is_complete": acq_obs.complete(_next_start(start, every)),
            }
        )
    return pl.DataFrame(out, schema=pl.Schema(schema))


# --------------------------------------------------------------------------
# 3b. lead conversion


LEAD_MEASURES: dict[str, pl.DataType] = {
    "leads": pl.Int64(),
    "converted": pl.Int64(),
    "conversion_rate": pl.Float64(),
    "is_mature": pl.Boolean(),
}


def lead_conversion_oracle(
    leads: pl.DataFrame | pl.LazyFrame,
    *,
    every: str = "1mo",
    within: str = "90d",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.lead_conversion_rate``.

    ``converted_at`` is read on ``created_at``'s clock (Date ↔ Datetime as in
    :meth:`Clock.to_kind`). ``as_of=None`` is the latest ``created_at`` or
    ``converted_at``. A lead (observed by ``created_at``) is converted iff
    ``converted_at`` is observed and ``created_at <= converted_at <=
    created_at + within``. A cohort is mature iff ``period end + within <=
    end_day`` (see :attr:`Observation.end_day`).
    """
    keys = _keys(group_by)
    frame = _rows(leads)
    clock = Clock.of(frame.schema["created_at"])
    schema = {"period_start": pl.Date(), **{k: frame.schema[k] for k in keys}, **LEAD_MEASURES}
    rows = [
        (
            tuple(r[k] for k in keys),
            r["created_at"],
            None if r["converted_at"] is None else clock.to_kind(r["converted_at"]),
        )
        for r in frame.to_dicts()
    ]
    obs = observe(clock, as_of, [c for _, c, _ in rows] + [v for _, _, v in rows])
    if obs is None:
        return pl.DataFrame(schema=schema)
    counts: dict[tuple[Key, date], list[int]] = defaultdict(lambda: [0, 0])
    groups: set[Key] = set()
    firsts = []
    for group, created, conv in rows:
        if not obs.observed(created):
            continue
        start = period_start(created, every)
        groups.add(group)
        firsts.append(start)
        cell = counts[group, start]
        cell[0] += 1
        if (
            conv is not None
            and obs.observed(conv)
            and Clock.instant(created) <= Clock.instant(conv)  # type: ignore[operator]
            and Clock.instant(conv) <= Clock.instant(Clock.shift(created, within))  # type: ignore[operator]
        ):
            cell[1] += 1
    if not firsts:
        return pl.DataFrame(schema=schema)
    out = []
    for start, group in _grid(groups, min(firsts), obs.last_day, every):
        n, won = counts.get((group, start), [0, 0])
        end = _next_start(start, every)
        out.append(
            {
                "period_start": start,
                **dict(zip(keys, group, strict=True)),
                "leads": n,
                "converted": won,
                "conversion_rate": ratio(won, n),
                "is_mature": add_duration(end, within) <= obs.end_day,  # type: ignore[operator]
            }
        )
    return pl.DataFrame(out, schema=pl.Schema(schema))


# --------------------------------------------------------------------------
# 3c. net promoter score


NPS_COUNTS = ("responses", "promoters", "passives", "detractors")
NPS_VALUES = ("nps", "nps_margin", "nps_low", "nps_high")


def nps_schema(keys: dict[str, pl.DataType] | None = None, *, periods: bool = False) -> pl.Schema:
    """The documented output schema of ``cm.net_promoter_score``."""
    return pl.Schema(
        {
            **({"period_start": pl.Date()} if periods else {}),
            **(keys or {}),
            **dict.fromkeys(NPS_COUNTS, pl.Int64()),
            **dict.fromkeys(NPS_VALUES, pl.Float64()),
            **({"is_complete": pl.Boolean()} if periods else {}),
        }
    )


def nps_values(
    promoters: int, passives: int, detractors: int, confidence: float = 0.95
) -> dict[str, Any]:
    """Counts, NPS and its interval from the three counts (``None`` without responses)."""
    n = promoters + passives + detractors
    row: dict[str, Any] = {
        "responses": n,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
    }
    if n == 0:
        return row | dict.fromkeys(NPS_VALUES)
    plus, minus = promoters / n, detractors / n
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    nps = 100 * (plus - minus)
    variance = max(plus + minus - (plus - minus) ** 2, 0.0)
    margin = z * 100 * math.sqrt(variance / n)
    return row | {
        "nps": nps,
        "nps_margin": margin,
        "nps_low": max(-100.0, nps - margin),
        "nps_high": min(100.0, nps + margin),
    }


def nps_oracle(
    responses: pl.DataFrame | pl.LazyFrame,
    *,
    every: str | None = None,
    group_by: str | Sequence[str] | None = None,
    confidence: float = 0.95,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.net_promoter_score``.

    Promoters 9–10, passives 7–8, detractors 0–6 among responses observed by
    ``as_of``. ``every=None``: one row per group seen; with periods, every
    period from the first observed response to ``as_of``'s, for every group.
    Empty when nothing is observed (DESIGN §3: empty in, empty out).
    """
    keys = _keys(group_by)
    frame = _rows(responses)
    clock = Clock.of(frame.schema["responded_at"])
    schema = nps_schema({k: frame.schema[k] for k in keys}, periods=every is not None)
    rows = [(tuple(r[k] for k in keys), r["responded_at"], r["score"]) for r in frame.to_dicts()]
    obs = observe(clock, as_of, [t for _, t, _ in rows])
    if obs is None:
        return pl.DataFrame(schema=schema)
    tally: dict[tuple[Key, date | None], list[int]] = defaultdict(lambda: [0, 0, 0])
    groups: set[Key] = set()
    firsts = []
    for group, ts, score in rows:
        if not obs.observed(ts):
            continue
        start = None if every is None else period_start(ts, every)
        groups.add(group)
        firsts.append(start)
        tally[group, start][0 if score >= 9 else 1 if score >= 7 else 2] += 1
    if not firsts:
        return pl.DataFrame(schema=schema)
    out = []
    if every is None:
        for group in sorted(groups, key=_group_order):
            out.append(
                dict(zip(keys, group, strict=True))
                | nps_values(*tally[group, None], confidence=confidence)
            )
    else:
        for start, group in _grid(groups, min(firsts), obs.last_day, every):  # type: ignore[type-var]
            out.append(
                {"period_start": start}
                | dict(zip(keys, group, strict=True))
                | nps_values(*tally.get((group, start), [0, 0, 0]), confidence=confidence)
                | {"is_complete": obs.complete(_next_start(start, every))}
            )
    return pl.DataFrame(out, schema=schema)


# --------------------------------------------------------------------------
# 3d. revenue


@dataclass
class _Cell:
    revenue: float = 0.0
    orders: int = 0
    buyers: set[Any] | None = None

    @property
    def customers(self) -> int:
        return len(self.buyers or ())


def _revenue_cells(
    orders: pl.DataFrame | pl.LazyFrame,
    every: str,
    keys: Sequence[str],
    as_of: date | datetime | None,
) -> tuple[list[tuple[date, Key, _Cell]], Observation | None, dict[str, pl.DataType]]:
    """Revenue, purchases and buyers per (period, group), every cell of the grid."""
    frame = _rows(orders)
    clock = Clock.of(frame.schema["ordered_at"])
    key_dtypes = {k: frame.schema[k] for k in keys}
    rows = frame.to_dicts()
    obs = observe(clock, as_of, [r["ordered_at"] for r in rows])
    if obs is None:
        return [], None, key_dtypes
    cells: dict[tuple[Key, date], _Cell] = {}
    groups: set[Key] = set()
    firsts = []
    for r in rows:
        if not obs.observed(r["ordered_at"]):
            continue
        group, start = tuple(r[k] for k in keys), period_start(r["ordered_at"], every)
        groups.add(group)
        firsts.append(start)
        cell = cells.setdefault((group, start), _Cell(buyers=set()))
        cell.revenue += float(r["amount"])
        if r["amount"] >= 0:
            cell.orders += 1
            assert cell.buyers is not None
            cell.buyers.add(r["customer_id"])
    if not firsts:
        return [], obs, key_dtypes
    grid = _grid(groups, min(firsts), obs.last_day, every)
    return [(s, g, cells.get((g, s), _Cell())) for s, g in grid], obs, key_dtypes


def _revenue_table(
    orders: pl.DataFrame | pl.LazyFrame,
    *,
    every: str,
    group_by: str | Sequence[str] | None,
    as_of: date | datetime | None,
    measures: dict[str, pl.DataType],
    values: Callable[[_Cell], dict[str, Any]],
) -> pl.DataFrame:
    keys = _keys(group_by)
    cells, obs, key_dtypes = _revenue_cells(orders, every, keys, as_of)
    schema = pl.Schema(
        {"period_start": pl.Date(), **key_dtypes, **measures, "is_complete": pl.Boolean()}
    )
    out = []
    for start, group, cell in cells:
        assert obs is not None
        out.append(
            {"period_start": start}
            | dict(zip(keys, group, strict=True))
            | values(cell)
            | {"is_complete": obs.complete(_next_start(start, every))}
        )
    return pl.DataFrame(out, schema=schema)


def aov_oracle(
    orders: pl.DataFrame | pl.LazyFrame,
    *,
    every: str = "1mo",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.average_order_value``: revenue (all amounts) ÷ purchases."""
    return _revenue_table(
        orders,
        every=every,
        group_by=group_by,
        as_of=as_of,
        measures={
            "revenue": pl.Float64(),
            "orders": pl.Int64(),
            "average_order_value": pl.Float64(),
        },
        values=lambda c: {
            "revenue": c.revenue,
            "orders": c.orders,
            "average_order_value": ratio(c.revenue, c.orders),
        },
    )


def arpc_oracle(
    orders: pl.DataFrame | pl.LazyFrame,
    *,
    every: str = "1mo",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.average_revenue_per_customer``: revenue ÷ distinct buyers."""
    return _revenue_table(
        orders,
        every=every,
        group_by=group_by,
        as_of=as_of,
        measures={
            "revenue": pl.Float64(),
            "customers": pl.Int64(),
            "average_revenue_per_customer": pl.Float64(),
        },
        values=lambda c: {
            "revenue": c.revenue,
            "customers": c.customers,
            "average_revenue_per_customer": ratio(c.revenue, c.customers),
        },
    )


def purchase_frequency_oracle(
    orders: pl.DataFrame | pl.LazyFrame,
    *,
    every: str = "1mo",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.purchase_frequency``: purchases ÷ distinct buyers."""
    return _revenue_table(
        orders,
        every=every,
        group_by=group_by,
        as_of=as_of,
        measures={
            "orders": pl.Int64(),
            "customers": pl.Int64(),
            "purchase_frequency": pl.Float64(),
        },
        values=lambda c: {
            "orders": c.orders,
            "customers": c.customers,
            "purchase_frequency": ratio(c.orders, c.customers),
        },
    )


def revenue_growth_oracle(
    orders: pl.DataFrame | pl.LazyFrame,
    *,
    every: str = "1mo",
    compare: str = "previous",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.revenue_growth_rate``.

    The compared period is the one before (``"previous"``), or the one that
    contains ``period_start - 1 year`` (``- 52 weeks`` for weekly periods)
    (``"year_ago"``); its revenue is null when it lies before the first period.
    ``growth_rate`` is null unless the compared revenue is > 0.
    """
    keys = _keys(group_by)
    cells, obs, key_dtypes = _revenue_cells(orders, every, keys, as_of)
    schema = pl.Schema(
        {
            "period_start": pl.Date(),
            **key_dtypes,
            "revenue": pl.Float64(),
            "compared_revenue": pl.Float64(),
            "growth_rate": pl.Float64(),
            "is_complete": pl.Boolean(),
        }
    )
    revenue = {(g, s): c.revenue for s, g, c in cells}
    weekly = every.endswith("w")
    out = []
    for start, group, cell in cells:
        assert obs is not None
        if compare == "previous":
            back = subtract_duration(start, every)
        else:
            back = period_start(subtract_duration(start, "52w" if weekly else "1y"), every)
        compared = revenue.get((group, back))  # type: ignore[arg-type]
        growth = None
        if compared is not None and compared > 0:
            growth = (cell.revenue - compared) / compared
        out.append(
            {"period_start": start}
            | dict(zip(keys, group, strict=True))
            | {
                "revenue": cell.revenue,
                "compared_revenue": compared,
                "growth_rate": growth,
                "is_complete": obs.complete(_next_start(start, every)),
            }
        )
    return pl.DataFrame(out, schema=schema)


# --------------------------------------------------------------------------
# 3e. customer lifetime value (explicit lifespan)


CLV_MEASURES: dict[str, pl.DataType] = {
    "customers": pl.Int64(),
    "average_order_value": pl.Float64(),
    "purchases_per_customer_per_year": pl.Float64(),
    "lifespan_years": pl.Float64(),
    "cltv": pl.Float64(),
}


def window_years(window: str) -> float:
    """A window's length in years: months ÷ 12, days ÷ 365.2425 (weeks are 7 days)."""
    number, unit = int(window.rstrip("dwmoqy")), window.lstrip("0123456789")
    months = {"mo": 1, "q": 3, "y": 12}
    if unit in months:
        return number * months[unit] / 12
    return number * (7 if unit == "w" else 1) / 365.2425


def clv_oracle(
    orders: pl.DataFrame | pl.LazyFrame,
    *,
    lifespan_years: float,
    window: str = "1y",
    margin: float = 1.0,
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.customer_lifetime_value`` with an explicit ``lifespan_years``.

    Over the orders in the trailing window (:meth:`Observation.in_window`), per
    group with at least one buyer: AOV = revenue ÷ purchases, purchases per
    customer per year = purchases ÷ buyers ÷ window years, ``cltv`` = AOV ×
    that × lifespan × margin. Sorted by the group keys (nulls last).
    """
    keys = _keys(group_by)
    frame = _rows(orders)
    clock = Clock.of(frame.schema["ordered_at"])
    schema = pl.Schema({**{k: frame.schema[k] for k in keys}, **CLV_MEASURES})
    rows = frame.to_dicts()
    obs = observe(clock, as_of, [r["ordered_at"] for r in rows])
    if obs is None:
        return pl.DataFrame(schema=schema)
    cells: dict[Key, _Cell] = {}
    for r in rows:
        if not obs.in_window(r["ordered_at"], window):
            continue
        cell = cells.setdefault(tuple(r[k] for k in keys), _Cell(buyers=set()))
        cell.revenue += float(r["amount"])
        if r["amount"] >= 0:
            cell.orders += 1
            assert cell.buyers is not None
            cell.buyers.add(r["customer_id"])
    years = window_years(window)
    out = []
    for group in sorted(cells, key=_group_order):
        cell = cells[group]
        if cell.customers == 0:
            continue
        aov = cell.revenue / cell.orders
        per_year = cell.orders / cell.customers / years
        out.append(
            dict(zip(keys, group, strict=True))
            | {
                "customers": cell.customers,
                "average_order_value": aov,
                "purchases_per_customer_per_year": per_year,
                "lifespan_years": float(lifespan_years),
                "cltv": aov * per_year * lifespan_years * margin,
            }
        )
    return pl.DataFrame(out, schema=schema)


# --------------------------------------------------------------------------
# 3f. age


def exact_age(born: date, on: date) -> int | None:
    """Whole years from ``born`` to ``on`` by counting birthdays (None if not born yet).

    The ``k``-th birthday is ``born`` moved ``k`` years on the calendar; a
    29 February birthday falls on 1 March in years without one.
    """

    def birthday(k: int) -> date:
        year = born.year + k
        try:
            return born.replace(year=year)
        except ValueError:  # 29 February in a common year
            return date(year, 3, 1)

    if born > on:
        return None
    k = 0
    while birthday(k + 1) <= on:
        k += 1
    return k


# --------------------------------------------------------------------------
# 4. helpers shared by the KPI test files (not oracles)


def collected(
    result: pl.DataFrame | pl.LazyFrame, like: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """``result`` as a DataFrame, after checking it is the same kind as the input ``like``."""
    assert isinstance(result, type(like)), f"{type(like).__name__} in, {type(result).__name__} out"
    return result.collect() if isinstance(result, pl.LazyFrame) else result


def exact_money(frame: pl.DataFrame, column: str = "amount") -> pl.DataFrame:
    """``column`` rounded to quarters, as Float64: sums are then exact in any order.

    The library and the oracles sum in different orders; with cents a refund can
    leave 1e-13 instead of 0, which flips "compared revenue > 0". Quarters keep
    every refund / same-day / zero case while making sums exact.
    """
    return frame.with_columns((pl.col(column).cast(pl.Float64) * 4).round() / 4)


def shuffled(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The rows of ``frame`` in another order."""
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)


NEW_YORK = ZoneInfo("America/New_York")

EVERY = ("1d", "3d", "1w", "2w", "1mo", "1q", "1y")
"""Period lengths the property tests draw from."""


def as_of_values(
    start: date = date(2023, 1, 1), end: date = date(2025, 12, 31)
) -> SearchStrategy[date | datetime | None]:
    """``as_of`` values: the default, a date, a naive or an aware (New York) datetime.

    Drawn from the calendar edges of :func:`strategies.moments` (month ends,
    29 February, year ends, DST days, midnight and the last second of a day).
    """
    from strategies import moments  # noqa: PLC0415 - keep this module importable alone

    naive = moments(start, end)
    return st.one_of(
        st.none(),
        moments(start, end, date_only=True),
        naive,
        naive.map(lambda moment: moment.replace(tzinfo=NEW_YORK)),  # type: ignore[union-attr]
    )


def check_kpi(
    function: Callable[..., Any],
    oracle: Callable[..., pl.DataFrame],
    frame: pl.DataFrame,
    *,
    seed: int = 0,
    **kwargs: Any,
) -> pl.DataFrame:
    """The library equals the oracle, eager, lazy and on shuffled rows; input unchanged.

    Returns the eager result for further invariants.
    """
    before = frame.clone()
    want = oracle(frame, **kwargs)
    eager = function(frame, **kwargs)
    assert isinstance(eager, pl.DataFrame), "eager in, eager out"
    assert_frame_equal(eager, want)
    lazy = function(frame.lazy(), **kwargs)
    assert isinstance(lazy, pl.LazyFrame), "lazy in, lazy out"
    assert_frame_equal(lazy.collect(), eager)
    assert_frame_equal(function(shuffled(frame, seed), **kwargs), eager)
    assert_frame_equal(frame, before)
    return eager
