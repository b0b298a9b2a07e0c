"""Column → expression builders that the KPI functions and users share."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics.exceptions import ArgumentError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["age", "age_band", "age_band_labels"]

DEFAULT_AGE_EDGES = (18, 25, 35, 45, 55, 65)


def _column(value: str | pl.Expr) -> pl.Expr:
    return pl.col(value) if isinstance(value, str) else value


def _as_date(as_of: date | datetime | pl.Expr) -> pl.Expr:
    if isinstance(as_of, pl.Expr):
        return as_of
    if isinstance(as_of, datetime):
        return pl.lit(as_of.date(), pl.Date)
    if isinstance(as_of, date):
        return pl.lit(as_of, pl.Date)
    msg = (
        f"as_of={as_of!r} is not a date.\n"
        "Hint: pass a datetime.date such as date(2025, 12, 31); ages are never taken "
        "from the clock."
    )
    raise ArgumentError(msg)


def age(birth_date: str | pl.Expr, as_of: date | datetime | pl.Expr) -> pl.Expr:
    """Age in whole years on ``as_of`` (Int64; null for a birth date after ``as_of``).

    Someone born on 29 February turns a year older on 1 March in years that
    have no 29 February.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> people = pl.DataFrame({"birth_date": [date(2000, 2, 29), date(1990, 12, 31)]})
    >>> people.select(cm.expr.age("birth_date", date(2023, 2, 28)))["age"].to_list()
    [22, 32]
    """
    born = _column(birth_date).dt.date()
    day = _as_date(as_of)
    years = day.dt.year().cast(pl.Int64) - born.dt.year().cast(pl.Int64)

    def month_day(d: pl.Expr) -> pl.Expr:  # Int32: month() is Int8, 12 * 100 overflows
        return d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)

    before_birthday = month_day(day) < month_day(born)
    whole = years - before_birthday.cast(pl.Int64)
    return pl.when(whole >= 0).then(whole).alias("age")


def age_band_labels(edges: Sequence[int] = DEFAULT_AGE_EDGES) -> list[str]:
    """The labels of :func:`age_band` for ``edges``, youngest first.

    Examples
    --------
    >>> import crm_metrics as cm
    >>> cm.expr.age_band_labels((18, 30, 50))
    ['<18', '18-29', '30-49', '50+']
    """
    bounds = list(edges)
    if (
        not bounds
        or any(not isinstance(b, int) or isinstance(b, bool) or b <= 0 for b in bounds)
        or sorted(set(bounds)) != bounds
    ):
        msg = (
            f"edges={tuple(edges)!r} are not increasing positive whole ages.\n"
            "Hint: the default is (18, 25, 35, 45, 55, 65)."
        )
        raise ArgumentError(msg)
    middle = [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(bounds)]
    return [f"<{bounds[0]}", *middle, f"{bounds[-1]}+"]


def age_band(
    birth_date: str | pl.Expr,
    as_of: date | datetime | pl.Expr,
    edges: Sequence[int] = DEFAULT_AGE_EDGES,
) -> pl.Expr:
    """Labelled age bands as an ordered ``Enum``, for ``group_by``.

    Parameters
    ----------
    birth_date : str or polars.Expr
        The birth date column (Date, or Datetime: its date is used).
    as_of : datetime.date, datetime.datetime or polars.Expr
        The day the ages are taken on (never the clock).
    edges : sequence of int, default (18, 25, 35, 45, 55, 65)
        Increasing ages where a new band starts: ``(18, 25)`` gives
        ``<18``, ``18-24`` and ``25+``.

    Returns
    -------
    polars.Expr
        Named ``age_band``, an ``Enum`` of :func:`age_band_labels` (so bands sort
        by age, not alphabetically); null when the birth date is null or after
        ``as_of``.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> people = pl.DataFrame(
    ...     {"birth_date": [date(2010, 5, 1), date(1999, 1, 1), date(1950, 7, 14), None]}
    ... )
    >>> people.with_columns(cm.expr.age_band("birth_date", date(2025, 1, 1)))
    shape: (4, 2)
    ┌────────────┬──────────┐
    │ birth_date ┆ age_band │
    │ ---        ┆ ---      │
    │ date       ┆ enum     │
    ╞════════════╪══════════╡
    │ 2010-05-01 ┆ <18      │
    │ 1999-01-01 ┆ 25-34    │
    │ 1950-07-14 ┆ 65+      │
    │ null       ┆ null     │
    └────────────┴──────────┘
    """
    labels = age_band_labels(edges)
    years = age(birth_date, as_of)
    band_index = pl.lit(0, pl.Int64)
    for edge in edges:
        band_index = band_index + (years >= edge).cast(pl.Int64)
    label = band_index.replace_strict(
        list(range(len(labels))), labels, return_dtype=pl.Enum(labels)
    )
    return pl.when(years.is_not_null()).then(label).alias("age_band")
