"""Aggregates per calendar period, dense over every period and group."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from crm_metrics._engine.periods import Every, Horizon

__all__ = ["dense_periods", "period_span"]


def period_span(
    observed: pl.LazyFrame, *, ts: str, every: Every, hz: Horizon, first: pl.Expr | None = None
) -> pl.LazyFrame:
    """One row per period number ``j`` from the first event's period to ``as_of``'s.

    Also carries ``_end_day`` (see :class:`Horizon`) for ``is_complete``. Empty
    when nothing is observed.
    """
    start = every.number(pl.col(ts).min()) if first is None else first
    span = observed.select(
        start.alias("_first"),
        every.number(hz.last_day).alias("_last"),
        hz.end_day.alias("_end_day"),
    )
    return (
        span.select(pl.int_ranges("_first", pl.col("_last") + 1).alias("j"), "_end_day")
        .explode("j")
        .drop_nulls("j")
    )


def dense_periods(
    observed: pl.LazyFrame,
    *,
    ts: str,
    every: Every,
    hz: Horizon,
    keys: Sequence[str],
    aggs: Sequence[pl.Expr],
    zeros: Mapping[str, int | float],
    periods: pl.LazyFrame | None = None,
    keep_end_day: bool = False,
) -> pl.LazyFrame:
    """``aggs`` per (keys, period), with every period of the span and every group.

    Returns ``period_start`` (Date), ``keys``, ``j`` (the period number), the
    aggregates (``zeros`` fills periods without rows) and ``is_complete``
    (and ``_end_day``, see :class:`Horizon`, with ``keep_end_day``).
    """
    keys = list(keys)
    if periods is None:
        periods = period_span(observed, ts=ts, every=every, hz=hz)
    groups = observed.select(keys).unique()
    grid = groups.join(periods, how="cross") if keys else periods
    values = observed.group_by([*keys, every.number(pl.col(ts)).alias("j")]).agg(aggs)
    start = every.start_of(pl.col("j"))
    return (
        grid.join(values, on=[*keys, "j"], how="left", nulls_equal=True)
        .with_columns(pl.col(name).fill_null(value) for name, value in zeros.items())
        .with_columns(
            start.alias("period_start"),
            (every.end(start) <= pl.col("_end_day")).alias("is_complete"),
        )
        .drop([] if keep_end_day else ["_end_day"])
    )
