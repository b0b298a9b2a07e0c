"""Slow, obviously-correct reference implementations of the KPIs (test oracles).

Everything here is plain Python on ``date`` / ``datetime`` / ``zoneinfo``
values, with loops over rows, customers and periods: it never calls a Polars
expression to compute a result, so that a bug in the vectorised engine of
``src/`` cannot hide behind the same bug in its reference. Polars is only used
to read the input frame (``to_dicts``) and to build the output frame with the
exact schema the public function documents.

The module is organised in layers that later oracles (CAC, CLV, lead
conversion, NPS, revenue growth) can reuse:

1. **Durations** — :func:`parse_duration` reads ``"1d"``, ``"2w"``, ``"3mo"``,
   ``"1q"``, ``"1y"`` into a :class:`Duration`.
2. **Calendar arithmetic** — :func:`add_duration` / :func:`subtract_duration`
   shift a date or datetime by a calendar duration on its *wall clock* (the
   local calendar for tz-aware values), clamping the day of month as Polars'
   ``dt.offset_by`` does; :func:`period_start` and :func:`periods_between` cut
   the calendar into periods aligned to the Unix epoch as ``dt.truncate`` does.
3. **Time columns** — :class:`TimeKind` says whether a column is a ``Date``, a
   naive ``Datetime`` or a tz-aware one, and turns its values into comparable
   *instants* and period starts into the instant of their local midnight.
4. **Observation window** — :class:`Horizon` / :func:`horizon` implement
   ``as_of``: which events are observed, the last observed day, and whether a
   period is complete.
5. **KPI oracles** — :func:`customer_movements_oracle` (churn and retention).
   Add new ones below it, reusing the layers above.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "EPOCH",
    "MOVEMENT_MEASURES",
    "Duration",
    "Horizon",
    "TimeKind",
    "add_duration",
    "customer_movements_oracle",
    "horizon",
    "movement_schema",
    "parse_duration",
    "period_start",
    "periods_between",
    "ratio",
    "subtract_duration",
]

EPOCH = date(1970, 1, 1)
"""Day 0 of the period grids (a Thursday); ISO weeks count from Monday 1970-01-05."""

_FIRST_MONDAY = 4
"""Days from :data:`EPOCH` to the first Monday, 1970-01-05."""


# --------------------------------------------------------------------------
# 1. durations


@dataclass(frozen=True)
class Duration:
    """A calendar duration: ``n`` days, weeks or months.

    ``"1q"`` is read as 3 months and ``"1y"`` as 12 months, which is what they
    are both for period grids (quarters start in January, April, July and
    October) and for calendar arithmetic (``+1y`` on 29 February 2024 is
    28 February 2025, exactly like ``+12mo``).
    """

    n: int
    unit: Literal["d", "w", "mo"]


_DURATION = re.compile(r"^([0-9]+)(d|w|mo|q|y)$")
_MONTHS_PER = {"mo": 1, "q": 3, "y": 12}


def parse_duration(text: str | Duration) -> Duration:
    """Read a duration string such as ``"90d"``, ``"2w"``, ``"3mo"``, ``"1q"``, ``"1y"``.

    A :class:`Duration` is returned unchanged. Only the units used by the
    library's period and window arguments are understood; anything else (or a
    zero length) raises ``ValueError``: validating user input is the library's
    job, not the oracle's, so this only guards against typos in tests.
    """
    if isinstance(text, Duration):
        return text
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        msg = f"the oracle does not understand the duration {text!r}"
        raise ValueError(msg)
    n, unit = int(match.group(1)), match.group(2)
    if unit in _MONTHS_PER:
        return Duration(n * _MONTHS_PER[unit], "mo")
    return Duration(n, "w" if unit == "w" else "d")


# --------------------------------------------------------------------------
# 2. calendar arithmetic


def _shift_date(day: date, n: int, unit: str) -> date:
    """``day`` moved by ``n`` (possibly negative) days, weeks or months.

    Months move the (year, month) pair and clamp the day to the length of the
    target month: 31 January + 1 month is 29 February 2024 (28 in 2023), and
    31 March - 1 month is 29 February 2024.
    """
    if unit == "d":
        return day + timedelta(days=n)
    if unit == "w":
        return day + timedelta(days=7 * n)
    months = day.year * 12 + (day.month - 1) + n
    year, month = divmod(months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _shift(ts: date | datetime, n: int, unit: str) -> date | datetime:
    """Shift ``ts`` on its wall clock; re-attach the zone of an aware datetime.

    For a tz-aware datetime the local calendar date moves and the local time of
    day is kept (as Polars does for calendar durations); the result is read in
    the same zone with ``fold=0`` (the earlier instant when the wall time is
    repeated by a DST switch).
    """
    if not isinstance(ts, datetime):
        return _shift_date(ts, n, unit)
    zone = ts.tzinfo
    wall = ts.replace(tzinfo=None)
    moved = datetime.combine(_shift_date(wall.date(), n, unit), wall.time())
    return moved if zone is None else moved.replace(tzinfo=zone, fold=0)


def add_duration(ts: date | datetime, duration: str | Duration) -> date | datetime:
    """``ts + duration`` in calendar terms, like Polars' ``dt.offset_by(duration)``.

    Days and weeks move the calendar date by ``n`` or ``7 n`` days; months (and
    quarters, years) move the month and clamp the day to the target month's
    length: ``add_duration(date(2024, 1, 31), "1mo") == date(2024, 2, 29)``.
    Datetimes keep their local time of day (see :func:`_shift`).
    """
    d = parse_duration(duration)
    return _shift(ts, d.n, d.unit)


def subtract_duration(ts: date | datetime, duration: str | Duration) -> date | datetime:
    """``ts - duration`` in calendar terms, like ``dt.offset_by("-" + duration)``.

    The mirror of :func:`add_duration`, with the same clamping:
    ``subtract_duration(date(2023, 3, 31), "1mo") == date(2023, 2, 28)``. Note
    that clamping makes the two not inverse to each other:
    ``add_duration(date(2023, 2, 28), "1mo")`` is 28 March, not 31 March.
    """
    d = parse_duration(duration)
    return _shift(ts, -d.n, d.unit)


def _local_date(ts: date | datetime) -> date:
    """The calendar date of ``ts`` on its own wall clock (local date if tz-aware)."""
    return ts.date() if isinstance(ts, datetime) else ts


def period_start(ts: date | datetime, every: str | Duration) -> date:
    """The first day of the period of length ``every`` that contains ``ts``.

    Periods are cut in ``ts``'s own calendar (the local one when tz-aware) and
    aligned to the Unix epoch, like Polars' ``dt.truncate(every)``:

    * ``n`` days: day numbers since 1970-01-01, floor-divided by ``n``;
    * ``n`` weeks: day numbers since Monday 1970-01-05, floor-divided by
      ``7 n`` (so ``"1w"`` periods are ISO weeks starting on Monday);
    * ``n`` months: month numbers since January 1970, floor-divided by ``n``
      (``"1q"`` starts quarters in January, April, July, October; ``"1y"``
      starts years on 1 January).
    """
    d = parse_duration(every)
    day = _local_date(ts)
    if d.unit == "mo":
        months = (day.year - 1970) * 12 + (day.month - 1)
        first = months // d.n * d.n
        return date(1970 + first // 12, first % 12 + 1, 1)
    days = (day - EPOCH).days
    if d.unit == "d":
        return EPOCH + timedelta(days=days // d.n * d.n)
    width = 7 * d.n
    return EPOCH + timedelta(days=(days - _FIRST_MONDAY) // width * width + _FIRST_MONDAY)


def periods_between(
    first: date | datetime, last: date | datetime, every: str | Duration
) -> list[date]:
    """The starts of every period from the one containing ``first`` to the one containing ``last``.

    Both ends are included; empty when ``last`` falls in an earlier period than
    ``first``. Consecutive starts are one ``every`` apart (period starts are
    aligned, so stepping by :func:`add_duration` never clamps).
    """
    d = parse_duration(every)
    start, stop = period_start(first, d), period_start(last, d)
    out: list[date] = []
    while start <= stop:
        out.append(start)
        start = _shift_date(start, d.n, d.unit)
    return out


# --------------------------------------------------------------------------
# 3. time columns


Instant = date | datetime
"""A comparable point in time: a ``date`` (Date columns), a naive ``datetime``
(naive columns) or a UTC-aware ``datetime`` (tz-aware columns)."""


@dataclass(frozen=True)
class TimeKind:
    """How a timestamp column stores time: ``Date``, naive or tz-aware ``Datetime``.

    Instants of tz-aware values are converted to UTC before any comparison:
    Python compares two datetimes that share a ``tzinfo`` object by their wall
    clock, which is wrong around DST switches.
    """

    is_date: bool
    zone: str | None = None

    @classmethod
    def of(cls, dtype: pl.DataType) -> TimeKind:
        """The kind of a Polars ``Date`` or ``Datetime`` dtype."""
        if dtype == pl.Date:
            return cls(is_date=True)
        if isinstance(dtype, pl.Datetime):
            return cls(is_date=False, zone=dtype.time_zone)
        msg = f"not a time dtype: {dtype}"
        raise TypeError(msg)

    @property
    def tz(self) -> tzinfo | None:
        """The ``ZoneInfo`` of a tz-aware column, else ``None``."""
        return None if self.zone is None else ZoneInfo(self.zone)

    def instant(self, ts: date | datetime) -> Instant:
        """``ts`` as a comparable instant (UTC when tz-aware)."""
        if isinstance(ts, datetime) and ts.tzinfo is not None:
            return ts.astimezone(UTC)
        return ts

    def local(self, day: date, at: time = time()) -> date | datetime:
        """The local wall-clock value of ``day`` at ``at`` (the day itself for Dates)."""
        if self.is_date:
            return day
        wall = datetime.combine(day, at)
        return wall if self.tz is None else wall.replace(tzinfo=self.tz, fold=0)

    def midnight(self, day: date) -> Instant:
        """The instant a day starts: local midnight (the date itself for Date columns).

        On a day whose 00:00 does not exist (DST starting at midnight, as in
        America/Asuncion or Africa/Cairo), ``fold=0`` reads 00:00 with the offset
        in force before the switch, which is the day's first instant (01:00 local).
        """
        return self.instant(self.local(day))


# --------------------------------------------------------------------------
# 4. observation window (as_of)


@dataclass(frozen=True)
class Horizon:
    """The end of observation (``as_of``) for one time column.

    ``bound`` is an instant; an event at ``s`` is observed when ``s <= bound``
    (``inclusive``) or ``s < bound``. ``last_day`` is the local calendar date
    of the last observed instant: the period containing it is the last one
    reported. A period ``[t0, t1)`` is complete when ``midnight(t1) <= bound``.
    """

    bound: Instant
    inclusive: bool
    last_day: date
    kind: TimeKind

    def observed(self, ts: date | datetime) -> bool:
        """Whether the event at ``ts`` is on or before ``as_of``."""
        s = self.kind.instant(ts)
        return s <= self.bound if self.inclusive else s < self.bound  # type: ignore[operator]

    def complete(self, period_end: date) -> bool:
        """Whether the period ending (exclusively) on ``period_end`` ended by ``as_of``."""
        return self.kind.midnight(period_end) <= self.bound  # type: ignore[operator]


def horizon(
    kind: TimeKind, timestamps: Sequence[date | datetime], as_of: date | datetime | None
) -> Horizon | None:
    """The :class:`Horizon` of ``as_of`` over a column's ``timestamps``.

    * ``None``: the latest timestamp (``None`` returned when there is none).
      For a Date column that whole day is observed; for a Datetime column,
      everything up to and including that instant.
    * a ``date`` (or any value on a Date column, a datetime being reduced to
      its date): that whole day is observed, the bound is the next midnight.
    * a naive ``datetime`` on a Datetime column: wall time in the column's zone,
      that instant included; an aware one is converted to the column's zone
      (to UTC wall time for a naive column).
    """
    if as_of is None:
        if not timestamps:
            return None
        latest = max(timestamps, key=kind.instant)
        if kind.is_date:
            as_of = latest
        else:
            return Horizon(kind.instant(latest), True, _local_date(latest), kind)
    if kind.is_date or not isinstance(as_of, datetime):
        day = _local_date(as_of)
        return Horizon(kind.midnight(day + timedelta(days=1)), False, day, kind)
    if as_of.tzinfo is None:
        local = as_of if kind.tz is None else as_of.replace(tzinfo=kind.tz, fold=0)
    elif kind.tz is None:
        local = as_of.astimezone(UTC).replace(tzinfo=None)
    else:
        local = as_of.astimezone(kind.tz)
    return Horizon(kind.instant(local), True, local.date(), kind)


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator`` as a float, ``None`` when the denominator is 0."""
    return None if denominator == 0 else numerator / denominator


# --------------------------------------------------------------------------
# 5. KPI oracles


MOVEMENT_MEASURES: dict[str, pl.DataType] = {
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
"""The measure columns of ``cm.customer_movements``, in order, with their dtypes."""


def movement_schema(keys: dict[str, pl.DataType] | None = None) -> pl.Schema:
    """The documented output schema of ``cm.customer_movements``.

    ``period_start`` (Date), then the group keys with their input dtypes, then
    :data:`MOVEMENT_MEASURES`.
    """
    return pl.Schema({"period_start": pl.Date(), **(keys or {}), **MOVEMENT_MEASURES})


def _sort_key(value: Any) -> tuple[bool, Any]:
    """Sort group values with nulls last."""
    return (value is None, value)


def customer_movements_oracle(
    rows: pl.DataFrame | pl.LazyFrame,
    *,
    every: str = "1mo",
    inactive_after: str = "90d",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.customer_movements``, straight from its docstring.

    Definitions, for one *entity* = (group values, ``customer_id``):

    * purchases: the entity's observed orders (``ordered_at`` within
      ``as_of``) with ``amount >= 0``; refunds never make anyone active;
    * active at instant ``t``: some purchase ``s`` with
      ``t - inactive_after <= s < t`` (calendar subtraction on the local wall
      clock, see :func:`subtract_duration`);
    * for a period ``[t0, t1)`` (``t0``, ``t1`` local midnights):
      ``customers_start`` = active at ``t0``, ``customers_end`` = active at
      ``t1``, ``retained`` = at both, ``churned`` = at ``t0`` not ``t1``,
      ``new`` = not at ``t0``, at ``t1``, first purchase in ``[t0, t1)``,
      ``reactivated`` = not at ``t0``, at ``t1``, first purchase before ``t0``;
    * ``churn_rate = churned / customers_start``,
      ``retention_rate = retained / customers_start`` (null when 0);
    * ``is_complete``: ``t1``'s midnight is within the horizon (see
      :meth:`Horizon.complete`).

    Rows: every period from the one of the first observed order (any amount)
    to the one containing the last observed day, for every group seen among
    the observed orders (any amount, nulls included); sorted by
    ``period_start`` then the group keys (nulls last).
    """
    frame = rows.collect() if isinstance(rows, pl.LazyFrame) else rows
    keys = [] if group_by is None else [group_by] if isinstance(group_by, str) else list(group_by)
    kind = TimeKind.of(frame.schema["ordered_at"])
    schema = movement_schema({k: frame.schema[k] for k in keys})
    window = parse_duration(inactive_after)

    records = frame.select(*keys, "customer_id", "ordered_at", "amount").to_dicts()
    hz = horizon(kind, [r["ordered_at"] for r in records], as_of)
    observed = [r for r in records if hz is not None and hz.observed(r["ordered_at"])]
    if hz is None or not observed:
        return pl.DataFrame(schema=schema)

    # Purchases per entity, as instants; the groups seen among observed orders.
    groups: set[tuple[Any, ...]] = set()
    purchases: dict[tuple[Any, ...], list[Instant]] = {}
    for r in observed:
        group = tuple(r[k] for k in keys)
        groups.add(group)
        if r["amount"] >= 0:
            purchases.setdefault((*group, r["customer_id"]), []).append(
                kind.instant(r["ordered_at"])
            )

    first_order = min((r["ordered_at"] for r in observed), key=kind.instant)
    starts = periods_between(first_order, hz.last_day, every)
    # Period boundaries: [t_i, t_{i+1}) for i over starts; one more for the last end.
    step = parse_duration(every)
    edges = [*starts, _shift_date(starts[-1], step.n, step.unit)]
    instants = [kind.midnight(day) for day in edges]
    lowers = [kind.instant(subtract_duration(kind.local(day), window)) for day in edges]

    def active(bought: list[Instant], i: int) -> bool:
        return any(lowers[i] <= s < instants[i] for s in bought)  # type: ignore[operator]

    out: list[dict[str, Any]] = []
    for group in sorted(groups, key=lambda g: tuple(_sort_key(v) for v in g)):
        entities = [bought for entity, bought in purchases.items() if entity[:-1] == group]
        for i, t0 in enumerate(starts):
            counts = dict.fromkeys(
                ("customers_start", "retained", "churned", "new", "reactivated", "customers_end"),
                0,
            )
            for bought in entities:
                at_start, at_end = active(bought, i), active(bought, i + 1)
                first = min(bought)  # type: ignore[type-var]
                counts["customers_start"] += at_start
                counts["customers_end"] += at_end
                counts["retained"] += at_start and at_end
                counts["churned"] += at_start and not at_end
                if at_end and not at_start:
                    if instants[i] <= first < instants[i + 1]:  # type: ignore[operator]
                        counts["new"] += 1
                    elif first < instants[i]:  # type: ignore[operator]
                        counts["reactivated"] += 1
            out.append(
                {
                    "period_start": t0,
                    **dict(zip(keys, group, strict=True)),
                    **counts,
                    "churn_rate": ratio(counts["churned"], counts["customers_start"]),
                    "retention_rate": ratio(counts["retained"], counts["customers_start"]),
                    "is_complete": hz.complete(edges[i + 1]),
                }
            )
    out.sort(key=lambda row: (row["period_start"], *(_sort_key(row[k]) for k in keys)))
    return pl.DataFrame(out, schema=schema)
