"""Cohort tables: the customer-keyed stage and the additive stage.

Stage 1 (customer-keyed) reduces the orders to one row per (entity, period)
with the period's revenue and whether it holds a purchase, and one row per
entity with its cohort (first purchase period) and last purchase period.
Stage 2 (additive) counts entities and sums revenue per (cohort, period
index): sums over customers, so partitions by customer merge by addition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics._engine.periods import Every

__all__ = ["cohort_counts", "customer_periods"]


def customer_periods(
    observed: pl.LazyFrame,
    *,
    entity: Sequence[str],
    ts: str,
    every: Every,
    cohort_ts: str | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Stage 1: per (entity, period ``p``) revenue and ``bought``; per entity ``c``, ``last``.

    ``cohort_ts`` (a column constant per customer, such as ``acquired_at``)
    sets the cohort instead of the first purchase.
    """
    keys = list(entity)
    aggs = [
        pl.col("amount").cast(pl.Float64).sum().alias("revenue"),
        (pl.col("amount") >= 0).any().alias("bought"),
    ]
    if cohort_ts is not None:
        aggs.append(pl.col(cohort_ts).min().alias("_cohort_ts"))
    pairs = observed.group_by([*keys, every.number(pl.col(ts)).alias("p")]).agg(aggs)
    first_purchase = pl.col("p").filter("bought").min()
    # acquired_at where given, else the first purchase (a null acquired_at never loses
    # a customer); customers without a purchase belong to no cohort either way
    cohort = (
        pl.coalesce(every.number(pl.col("_cohort_ts").min()), first_purchase)
        if cohort_ts is not None
        else first_purchase
    )
    per_entity = (
        pairs.group_by(keys)
        .agg(
            cohort.alias("c"),
            pl.col("p").filter("bought").max().alias("last"),
            pl.col("bought").any().alias("_any"),
        )
        .filter("_any")
        .drop("_any")
    )
    # both feed several branches of the plan: computed once (the streaming engine
    # does not share common subplans by itself)
    return (
        pairs.drop("_cohort_ts", strict=False).cache(),
        per_entity.filter(pl.col("c").is_not_null()).cache(),
    )


def cohort_counts(
    pairs: pl.LazyFrame,
    per_entity: pl.LazyFrame,
    *,
    keys: Sequence[str],
    entity: Sequence[str],
    last_period: pl.LazyFrame,
    unbounded: bool,
) -> pl.LazyFrame:
    """Stage 2: ``keys, c, k, cohort_size, active_customers, revenue``, dense in ``k``.

    ``last_period`` is a one-row frame with ``_last`` (the number of the period
    containing ``as_of``): every cohort gets ``k = 0 .. _last - c``.
    """
    keys, entity = list(keys), list(entity)
    with_cohort = pairs.join(per_entity, on=entity, how="inner", nulls_equal=True).filter(
        pl.col("p") >= pl.col("c")
    )
    by_cell = [*keys, "c", (pl.col("p") - pl.col("c")).alias("k")]
    revenue = with_cohort.group_by(by_cell).agg(pl.col("revenue").sum())
    sizes = per_entity.group_by([*keys, "c"]).agg(pl.len().cast(pl.Int64).alias("cohort_size"))
    grid = (
        sizes.join(last_period, how="cross")
        .with_columns(pl.int_ranges(0, pl.col("_last") - pl.col("c") + 1).alias("k"))
        .explode("k")
        .drop_nulls("k")
        .drop("_last")
    )
    if unbounded:
        # active in period k or later: the last purchase is at k or after
        lasts = per_entity.group_by([*keys, "c", (pl.col("last") - pl.col("c")).alias("k")]).agg(
            pl.len().cast(pl.Int64).alias("_ending")
        )
        order = {"partition_by": [*keys, "c"], "order_by": "k", "descending": True}
        active = (
            grid.join(lasts, on=[*keys, "c", "k"], how="left", nulls_equal=True)
            .with_columns(pl.col("_ending").fill_null(0).cum_sum().over(**order).alias("active"))  # type: ignore[arg-type]
            .select(*keys, "c", "k", "active")
        )
    else:
        active = (
            with_cohort.filter("bought")
            .group_by(by_cell)
            .agg(pl.len().cast(pl.Int64).alias("active"))
        )
    return (
        grid.join(active, on=[*keys, "c", "k"], how="left", nulls_equal=True)
        .join(revenue, on=[*keys, "c", "k"], how="left", nulls_equal=True)
        .with_columns(pl.col("active").fill_null(0), pl.col("revenue").fill_null(0.0))
    )
