"""Calendar periods, durations and the end of observation (``as_of``).

Everything here builds expressions; nothing collects. Periods are cut in the
calendar of the timestamps' own time zone with :meth:`polars.Expr.dt.truncate`,
so ``"1w"`` weeks start on Monday and ``"1mo"`` months are calendar months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import polars as pl

from crm_metrics.exceptions import ArgumentError

__all__ = [
    "Every",
    "Horizon",
    "horizon",
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


@dataclass(frozen=True, slots=True)
class Horizon:
    """The end of observation, as expressions in a timestamp column's own dtype.

    An event is observed when ``ts <= bound`` (``inclusive``) or ``ts < bound``.
    A period is complete when its end is ``<= bound``. ``last_day`` is the Date of
    the last observed instant: the period containing it is the last one emitted.
    """

    bound: pl.Expr
    inclusive: bool
    last_day: pl.Expr
    dtype: pl.DataType

    def observed(self, ts: pl.Expr) -> pl.Expr:
        """Whether each timestamp is on or before ``as_of``."""
        return ts <= self.bound if self.inclusive else ts < self.bound

    def complete(self, period_end: pl.Expr) -> pl.Expr:
        """Whether periods ending at ``period_end`` (Dates) ended by ``as_of``."""
        return self.at_midnight(period_end) <= self.bound

    def at_midnight(self, day: pl.Expr) -> pl.Expr:
        """A Date as the first instant of that day, in the column's dtype."""
        if not isinstance(self.dtype, pl.Datetime):
            return day
        out = day.cast(pl.Datetime(self.dtype.time_unit or "us"))
        if self.dtype.time_zone is not None:
            out = out.dt.replace_time_zone(
                self.dtype.time_zone, ambiguous="earliest", non_existent="null"
            )
        return out


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
    one event column.
    A ``date``, or an expression giving a Date, means the whole of that day is
    observed. A naive ``datetime`` is read as wall time in the column's zone; an
    aware one is converted to it.
    """
    col = pl.col(ts)
    newest = col.max() if latest is None else latest
    if isinstance(as_of, pl.Expr):
        day = as_of
    elif isinstance(as_of, datetime) or as_of is None:
        day = None
    else:
        day = pl.lit(as_of, pl.Date)
    if dtype == pl.Date:
        last: pl.Expr = (
            newest
            if as_of is None
            else day
            if day is not None
            else pl.lit(as_of.date() if isinstance(as_of, datetime) else as_of, pl.Date)
        )
        return Horizon(last.dt.offset_by("1d"), inclusive=False, last_day=last, dtype=dtype)
    if not isinstance(dtype, pl.Datetime):  # pragma: no cover - validated before
        msg = f"column {ts!r} is {dtype}, not a Date or Datetime"
        raise ArgumentError(msg)
    zone = dtype.time_zone
    if as_of is None:
        bound = newest
        return Horizon(bound, inclusive=True, last_day=bound.dt.date(), dtype=dtype)
    if isinstance(as_of, datetime):
        value = pl.lit(as_of)
        if as_of.tzinfo is None:
            bound = value.cast(pl.Datetime(dtype.time_unit or "us"))
            if zone is not None:
                bound = bound.dt.replace_time_zone(zone, ambiguous="earliest")
        else:
            bound = value.dt.convert_time_zone(zone or "UTC").cast(
                pl.Datetime(dtype.time_unit or "us", zone or "UTC")
            )
            if zone is None:
                bound = bound.dt.replace_time_zone(None)
        return Horizon(bound, inclusive=True, last_day=bound.dt.date(), dtype=dtype)
    assert day is not None
    whole_day = Horizon(pl.lit(None), inclusive=False, last_day=day, dtype=dtype)
    bound = whole_day.at_midnight(day.dt.offset_by("1d"))
    return Horizon(bound, inclusive=False, last_day=day, dtype=dtype)
