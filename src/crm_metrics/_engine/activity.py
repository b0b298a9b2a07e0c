"""Customer activity on a calendar grid: the plan behind customer movements.

A customer is *active* at instant ``t`` when they have a purchase in
``[t - inactive_after, t)``. On a grid of period starts ``t_0 < t_1 < ...``, a
purchase at ``s`` in period ``k`` makes its customer active at the boundaries
``k + 1 .. hi`` where ``hi`` is the period containing the last day whose
midnight ``t`` still has ``t - inactive_after <= s`` (see
:func:`~crm_metrics._engine.periods.last_active_day`).

Stage 1 (customer-keyed): per customer, the union of those boundary ranges as
maximal *runs* ``[a, b]`` of consecutive active boundaries (marked by where
they start and end). Stage 2 (additive): counts per period from the runs alone:

* active at boundary ``j``: runs with ``a <= j <= b``;
* churned in period ``j`` (from ``t_j`` to ``t_{j+1}``): runs with ``b == j``;
* arrived in period ``j``: runs with ``a == j + 1``, *new* when ``j`` is the
  period of the customer's first purchase, *reactivated* otherwise.

Stage 1 needs one customer's rows at a time and stage 2 is a sum, so the same
plan runs in memory, streaming, or per customer-hash partition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from crm_metrics._engine.periods import last_active_day

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics._engine.order import EntityOrder
    from crm_metrics._engine.periods import Every

__all__ = ["activity_runs", "movement_counts"]


def activity_runs(
    purchases: pl.LazyFrame,
    *,
    order: EntityOrder,
    ts: str,
    every: Every,
    inactive_after: str,
) -> pl.LazyFrame:
    """Stage 1: where each entity's runs of active boundaries start and end.

    Parameters
    ----------
    purchases
        One row per purchase, already restricted to what is observed; columns
        ``order.entity`` and ``ts``.
    order
        The entity (group keys, then ``customer_id``) and how its rows are
        grouped and sorted (:func:`~crm_metrics._engine.order.entity_order`).

    Returns
    -------
    LazyFrame
        One row per (entity, purchase period ``k``) whose purchases reach a
        boundary: the group keys, ``k``, ``hi`` (the last boundary they reach),
        ``starts`` (a run starts at boundary ``k + 1``), ``ends`` (a run ends at
        boundary ``hi``), ``is_new`` (``k`` is the entity's first purchase
        period), and the layout's helper columns.

    Notes
    -----
    Within an entity, ``hi`` never decreases with ``k`` (it comes from the
    latest purchase of period ``k``), so after one sort by (entity, ``k``) a run
    starts wherever ``k`` is beyond the previous row's ``hi`` and ends where
    the next row's ``k`` is beyond this row's ``hi``. A row whose purchases
    reach no boundary (``hi == k``) starts nothing, and a run never needs it.
    """
    reach = every.number(last_active_day(pl.col(ts).max(), inactive_after)).alias("hi")
    per_period = (
        order.grouped(purchases, every.number(pl.col(ts)), "k", [reach])
        .with_columns(order.same_as(1).not_().alias("is_new"))
        .filter(pl.col("hi") > pl.col("k"))
    )
    return per_period.with_columns(
        (order.same_as(1).not_() | (pl.col("k") > pl.col("hi").shift(1))).alias("starts"),
        (order.same_as(-1).not_() | (pl.col("k").shift(-1) > pl.col("hi"))).alias("ends"),
    ).cache()  # read by both arrivals and departures: computed once


def movement_counts(
    runs: pl.LazyFrame,
    grid: pl.LazyFrame,
    *,
    keys: Sequence[str],
) -> pl.LazyFrame:
    """Stage 2: per (keys, period number ``j``) the movement counts, dense over ``grid``.

    ``runs`` is the output of :func:`activity_runs`; ``grid`` holds every
    (keys, ``j``) row to emit, ``j`` consecutive per key from the first period
    with a purchase. Returns ``keys, j, customers_start, retained, churned,
    new, reactivated, customers_end`` (Int64).
    """
    keys = list(keys)
    arrivals = (
        runs.filter("starts")
        .group_by([*keys, pl.col("k").alias("j")])
        .agg(
            pl.col("is_new").sum().cast(pl.Int64).alias("new"),
            (~pl.col("is_new")).sum().cast(pl.Int64).alias("reactivated"),
        )
    )
    departures = (
        runs.filter("ends")
        .group_by([*keys, pl.col("hi").alias("j")])
        .agg(pl.len().cast(pl.Int64).alias("churned"))
    )
    counts = (
        grid.join(arrivals, on=[*keys, "j"], how="left", nulls_equal=True)
        .join(departures, on=[*keys, "j"], how="left", nulls_equal=True)
        .with_columns(pl.col("new", "reactivated", "churned").fill_null(0))
    )
    flow = pl.col("new") + pl.col("reactivated") - pl.col("churned")
    end = flow.cum_sum().over(keys, order_by="j") if keys else flow.cum_sum().over(order_by="j")
    return counts.with_columns(end.alias("customers_end")).select(
        *keys,
        "j",
        (pl.col("customers_end") - flow).alias("customers_start"),
        (pl.col("customers_end") - flow - pl.col("churned")).alias("retained"),
        "churned",
        "new",
        "reactivated",
        "customers_end",
    )
