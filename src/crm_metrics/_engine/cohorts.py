"""Cohort tables: the customer-keyed stage and the additive stage.

Stage 1 (customer-keyed) reduces the orders to one row per (entity, period)
with the period's revenue, whether it holds a purchase, the entity's cohort
and flags on its first (and last) purchase period, all read from one sort by
(entity, period) (:mod:`crm_metrics._engine.order`). Stage 2 (additive) sums
those rows per (cohort, period index): sums over customers, so partitions by
customer merge by addition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics._engine.order import EntityOrder
    from crm_metrics._engine.periods import Every

__all__ = ["cohort_counts", "customer_periods"]


def customer_periods(
    observed: pl.LazyFrame,
    *,
    order: EntityOrder,
    ts: str,
    every: Every,
    cohort_ts: str | None = None,
    lasts: bool = False,
) -> pl.LazyFrame:
    """Stage 1: one row per (entity, period ``p``) of every entity with a cohort.

    Returns the group keys, ``c`` (the entity's cohort), ``p``, ``revenue``
    (net of refunds), ``bought`` (a purchase in ``p``), ``first`` (the entity's
    first purchase period: one row per entity) and, with ``lasts``, ``last``
    (its last purchase period), in no particular order.

    The cohort is the first purchase period, or ``cohort_ts`` (a column
    constant per customer, such as ``acquired_at``) where given: a null
    ``acquired_at`` falls back to the first purchase, so it never loses a
    customer. Entities without a purchase (only refunds) belong to no cohort.
    Rows before the cohort (``p < c``) are kept: they hold the ``first`` row of
    a customer who bought before being acquired.
    """
    aggs = [
        pl.col("amount").cast(pl.Float64).sum().alias("revenue"),
        (pl.col("amount") >= 0).any().alias("bought"),
    ]
    if cohort_ts is not None:
        aggs.append(pl.col(cohort_ts).min().alias("_cohort_ts"))
    rows = order.grouped(observed, every.number(pl.col(ts)), "p", aggs)
    # rows are in (entity, p) order: count the purchase periods so far within the
    # entity from one running count, restarted where the entity changes
    starts, ends = order.same_as(1).not_(), order.same_as(-1).not_()
    bought = pl.col("bought").cast(pl.Int64)
    rows = rows.with_columns(bought.cum_sum().alias("_so_far"), starts.alias("_starts"))
    before = pl.when("_starts").then(pl.col("_so_far") - bought).forward_fill()
    rows = rows.with_columns((pl.col("_so_far") - before).alias("_n"))
    total = pl.when(ends).then(pl.col("_n")).backward_fill()
    first = pl.col("bought") & (pl.col("_n") == 1)
    first_purchase = pl.when(pl.col("_n") > 0).then(pl.when(first).then(pl.col("p")).forward_fill())
    cohort = (
        pl.coalesce(every.number(pl.col("_cohort_ts").min().over(order.compared)), first_purchase)
        if cohort_ts is not None
        else first_purchase
    )
    flags = [cohort.alias("c"), first.alias("first")]
    if lasts:
        flags.append((pl.col("bought") & (pl.col("_n") == total)).alias("last"))
    if cohort_ts is not None:
        # an acquired customer without a purchase has a cohort but belongs to none
        flags.append(total.alias("_total"))
    rows = rows.with_columns(flags).filter(pl.col("c").is_not_null())
    if cohort_ts is not None:
        rows = rows.filter(pl.col("_total") > 0)
    return rows.select(
        *(c for c in order.entity if c != "customer_id"),
        "c",
        "p",
        "revenue",
        "bought",
        "first",
        *(["last"] if lasts else []),
    )


def cohort_counts(
    rows: pl.LazyFrame,
    *,
    keys: Sequence[str],
    last_period: pl.LazyFrame,
    unbounded: bool,
) -> pl.LazyFrame:
    """Stage 2: ``keys, c, k, cohort_size, active, revenue``, dense in ``k``.

    ``rows`` is the output of :func:`customer_periods`; ``last_period`` is a
    one-row frame with ``_last`` (the number of the period containing
    ``as_of``): every cohort gets ``k = 0 .. _last - c``.
    """
    keys = list(keys)
    cohort = [*keys, "c"]
    # the one aggregation over stage 1's rows; everything after is per cell
    cells = (
        rows.group_by([*cohort, (pl.col("p") - pl.col("c")).alias("k")])
        .agg(
            pl.col("revenue").sum(),
            pl.col("bought").sum().cast(pl.Int64).alias("_active"),
            pl.col("first").sum().cast(pl.Int64).alias("_joined"),
            *([pl.col("last").sum().cast(pl.Int64).alias("_ending")] if unbounded else []),
        )
        .cache()
    )
    # a customer who bought before being acquired joins their cohort at k < 0
    sizes = cells.group_by(cohort).agg(pl.col("_joined").sum().alias("cohort_size"))
    grid = (
        sizes.join(last_period, how="cross")
        .with_columns(pl.int_ranges(0, pl.col("_last") - pl.col("c") + 1).alias("k"))
        .explode("k")
        .drop_nulls("k")
        .drop("_last")
    )
    dense = grid.join(
        cells.filter(pl.col("k") >= 0), on=[*cohort, "k"], how="left", nulls_equal=True
    ).with_columns(pl.col("_active").fill_null(0), pl.col("revenue").fill_null(0.0))
    if unbounded:
        # active in period k or later: the last purchase is at k or after
        order = {"partition_by": cohort, "order_by": "k", "descending": True}
        active = pl.col("_ending").fill_null(0).cum_sum().over(**order)  # type: ignore[arg-type]
    else:
        active = pl.col("_active")
    return dense.select(*cohort, "k", "cohort_size", active.alias("active"), "revenue")
