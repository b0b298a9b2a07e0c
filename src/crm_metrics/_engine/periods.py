"""Calendar periods, durations and the end of observation (``as_of``).

Everything here builds expressions; nothing collects. Periods are cut in the
calendar of the timestamps' own time zone with :meth:`polars.Expr.dt.truncate`,
so ``"1w"`` weeks start on Monday and ``"1mo"`` months are calendar months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl

from crm_metrics.exceptions import ArgumentError

__all__ = [
    "Every",
    "Horizon",
    "horizon",
    "last_active_day",
    "parse_duration",
    "parse_every",
]

_EVERY = re.compile(r"^([1-9][0-9]*)(d|w|mo|q|y)$")
_MONTHS = {"mo": 1, "q": 3, "y": 12}


@dataclass(frozen=True, slots=True)
class Every:
    """A calendar period length: ``n`` days, weeks or months."""

    text: str
    """The Polars duration string, e.g. ``"1mo"``, ``"2w"``, ``"1q"``."""
    unit: Literal["d", "w", "mo"]
    n: int
    """Length in ``unit``: ``"1q"`` is 3 months, ``"1y"`` 12 months."""

    @property
    def per_year(self) -> float:
        """Periods in a year: 12 for months, 52.1775 for weeks, 365.2425 for days."""
        if self.unit == "mo":
            return 12 / self.n
        return 365.2425 / (self.n if self.unit == "d" else 7 * self.n)

    def start(self, ts: pl.Expr) -> pl.Expr:
        """The start (a Date) of the period containing each timestamp."""
        return ts.dt.truncate(self.text).dt.date()  # the local date, also when tz-aware

    def number(self, ts: pl.Expr) -> pl.Expr:
        """The absolute number (Int64) of the period containing each timestamp.

        Polars aligns truncation to the Unix epoch: days to 1970-01-01, weeks to
        Monday 1970-01-05, months to January 1970, so the number is computed from
        the local calendar fields without truncating: consecutive periods get
        consecutive numbers, and ``start_of(number(ts)) == start(ts)``.
        """
        if self.unit == "mo":
            months = (ts.dt.year().cast(pl.Int64) - 1970) * 12 + ts.dt.month().cast(pl.Int64) - 1
            return months // self.n if self.n > 1 else months
        days = ts.dt.date().cast(pl.Int32).cast(pl.Int64)
        if self.unit == "d":
            return days // self.n if self.n > 1 else days
        return (days - 4) // (7 * self.n)

    def start_of(self, number: pl.Expr) -> pl.Expr:
        """The start (a Date) of the period with absolute ``number``."""
        if self.unit == "mo":
            months = number * self.n
            return pl.date(1970 + months // 12, months % 12 + 1, 1)
        days = number * self.n if self.unit == "d" else number * 7 * self.n + 4
        return days.cast(pl.Int32).cast(pl.Date)

    def end(self, start: pl.Expr) -> pl.Expr:
        """The (exclusive) end of the period starting at ``start``."""
        return start.dt.offset_by(self.text)


def parse_every(every: str, *, name: str = "every") -> Every:
    """Validate a period length such as ``"1mo"``, ``"2w"``, ``"1q"``."""
    match = _EVERY.match(every) if isinstance(every, str) else None
    if match is None:
        msg = (
            f"{name}={every!r} is not a calendar period.\n"
            'Expected a whole number and one unit: "1d", "1w", "2w", "1mo", "3mo", "1q", "1y".\n'
            "Hint: weeks start on Monday; months, quarters and years are calendar ones."
        )
        raise ArgumentError(msg)
    n, unit = int(match.group(1)), match.group(2)
    if unit in _MONTHS:
        return Every(every, "mo", n * _MONTHS[unit])
    if unit == "w":
        return Every(every, "w", n)
    return Every(every, "d", n)


_DURATION = re.compile(r"^([0-9]+)(d|w|mo|q|y)$")


def parse_duration(text: str, *, name: str) -> str:
    """Validate a calendar duration such as ``"90d"``, ``"12w"``, ``"3mo"``, ``"1y"``."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) == 0:
        msg = (
            f"{name}={text!r} is not a positive calendar duration.\n"
            'Expected a whole number and one unit, e.g. "90d", "12w", "3mo", "1q", "1y".\n'
            'Hint: months are calendar months ("1mo" after 31 January is 29 February in 2024).'
        )
        raise ArgumentError(msg)
    return text


def last_active_day(ts: pl.Expr, duration: str) -> pl.Expr:
    """The last day whose midnight ``t`` has ``t - duration <= ts`` (a Date).

    A purchase at ``ts`` keeps its customer active at every period boundary
    (a local midnight) up to that day. For days and weeks it is the date of
    ``ts + duration``. For months, quarters and years, subtraction clamps the
    day of the month (31 March − 1 month is 29 February), so a purchase on the
    last day of a month stays active to the end of the month ``duration``
    later: from 28 February 2023, ``"1mo"`` reaches 31 March, not 28 March.
    Computed on local dates, it is unaffected by daylight-saving changes.
    """
    day = ts.dt.date()
    later = day.dt.offset_by(duration)
    if duration.endswith(("mo", "q", "y")):
        at_month_end = day == day.dt.month_end()
        later = pl.when(at_month_end).then(later.dt.month_end()).otherwise(later)
    return later


@dataclass(frozen=True, slots=True)
class Horizon:
    """The end of observation (``as_of``), as expressions.

    Observation ends either at an ``instant`` (a Datetime in the column's dtype,
    inclusive), or with the whole of ``last_day`` (``instant`` is None). Periods
    start and end at local midnights, so whether a period ending on day ``E``
    is complete is a comparison of dates, ``E <= end_day``, which also holds
    on days whose midnight does not exist (DST changes at 00:00).
    """

    instant: pl.Expr | None
    last_day: pl.Expr
    """Date of the last observed day: the period containing it is the last one."""
    end_day: pl.Expr
    """Date: a period whose (exclusive) end is on or before it is complete."""
    dtype: pl.DataType

    def observed(self, ts: pl.Expr) -> pl.Expr:
        """Whether each timestamp is on or before ``as_of``."""
        if self.dtype == pl.Date:
            return ts <= self.last_day
        if self.instant is not None:
            return ts <= self.instant
        return ts.dt.date() <= self.last_day

    def after_window(self, ts: pl.Expr, window: str) -> pl.Expr:
        """Whether each timestamp is inside the trailing ``window`` before ``as_of``.

        ``(instant - window, instant]``, or the days ``[end_day - window, end_day)``.
        """
        if self.instant is not None and self.dtype != pl.Date:
            return ts > self.instant.dt.offset_by(f"-{window}")
        day = ts if self.dtype == pl.Date else ts.dt.date()
        return day >= self.end_day.dt.offset_by(f"-{window}")


def _exists(as_of: datetime, zone: str) -> bool:
    """Whether the naive wall time ``as_of`` exists in ``zone`` (not in a DST gap)."""
    local = as_of.replace(tzinfo=ZoneInfo(zone))
    round_trip = local.astimezone(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return round_trip == as_of


def horizon(
    ts: str,
    dtype: pl.DataType,
    as_of: date | datetime | pl.Expr | None,
    *,
    latest: pl.Expr | None = None,
) -> Horizon:
    """The :class:`Horizon` of ``as_of`` for timestamps in column ``ts``.

    ``as_of=None`` means the latest timestamp in the data (computed in the plan):
    ``pl.col(ts).max()``, or ``latest`` (same dtype) when the data has more than
    one event column. A ``date``, or an expression giving a Date, means the
    whole of that day is observed; so does a ``datetime`` against a Date column.
    A naive ``datetime`` is read as wall time in the column's zone; an aware one
    is converted to it.
    """
    newest = pl.col(ts).max() if latest is None else latest
    if dtype == pl.Date:
        if as_of is None:
            day = newest
        elif isinstance(as_of, pl.Expr):
            day = as_of
        else:
            day = pl.lit(as_of.date() if isinstance(as_of, datetime) else as_of, pl.Date)
        return Horizon(None, day, day.dt.offset_by("1d"), dtype)
    if not isinstance(dtype, pl.Datetime):  # pragma: no cover - validated before
        msg = f"column {ts!r} is {dtype}, not a Date or Datetime"
        raise ArgumentError(msg)
    if isinstance(as_of, pl.Expr) or (isinstance(as_of, date) and not isinstance(as_of, datetime)):
        day = as_of if isinstance(as_of, pl.Expr) else pl.lit(as_of, pl.Date)
        return Horizon(None, day, day.dt.offset_by("1d"), dtype)
    if as_of is None:
        instant = newest
    else:
        instant = _instant(as_of, dtype)
    day = instant.dt.date()
    return Horizon(instant, day, day, dtype)


def _instant(as_of: datetime, dtype: pl.Datetime) -> pl.Expr:
    """A datetime ``as_of`` as a literal of the column's dtype."""
    zone, unit = dtype.time_zone, dtype.time_unit or "us"
    if as_of.tzinfo is not None:
        value = pl.lit(as_of).dt.convert_time_zone(zone or "UTC")
        value = value.cast(pl.Datetime(unit, zone or "UTC"))
        return value.dt.replace_time_zone(None) if zone is None else value
    if zone is not None and not _exists(as_of, zone):
        msg = (
            f"as_of={as_of} does not exist in {zone}: the clocks skip it (daylight saving).\n"
            "Hint: pass a time outside the gap, or an aware datetime."
        )
        raise ArgumentError(msg)
    value = pl.lit(as_of).cast(pl.Datetime(unit))
    if zone is not None:
        value = value.dt.replace_time_zone(zone, ambiguous="earliest")
    return value
