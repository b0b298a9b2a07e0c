"""Contractual churn: subscription (logo) movements and the MRR bridge."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics import _api
from crm_metrics._engine.grid import period_span
from crm_metrics._engine.periods import Every, horizon, parse_every

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics.typing import FrameT

__all__ = ["mrr_movements", "subscription_movements"]

_START, _END = "started_at", "ended_at"
LOGO_COLUMNS = (
    "period_start",
    "customers_start",
    "retained",
    "churned",
    "new",
    "reactivated",
    "customers_end",
    "churn_rate",
    "is_complete",
)
MRR_COLUMNS = (
    "period_start",
    "mrr_start",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "mrr_end",
    "net_revenue_retention",
    "gross_revenue_retention",
    "quick_ratio",
    "is_complete",
)


def _first_boundary(every: Every, ts: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Number of the first period start (a local midnight) at or after each timestamp.

    A period starts at the first instant of its first day: midnight, or 01:00
    where the clocks skip midnight.
    """
    number = every.number(ts)
    first_instant = _api.as_dtype(every.start_of(number), pl.Date(), dtype)
    return number + (ts > first_instant).cast(pl.Int64)


def _boundary_states(
    subscriptions: object,
    every: str,
    group_by: str | Sequence[str] | None,
    as_of: date | datetime | None,
    reserved: Sequence[str],
) -> tuple[pl.LazyFrame, list[str], pl.LazyFrame, Every]:
    """Per (keys, customer, period ``j``): active and MRR at the period's start and end.

    Stage 1 (customer-keyed). Returns ``keys, customer_id, j, a0, m0, a1, m1,
    first_k`` for every period in which the customer is active at either
    boundary; the group keys; the dense (keys, ``j``, ``_end_day``) grid; the period.
    """
    period = parse_every(every)
    keys: list[str] = _api.group_keys(group_by)
    data = _api.prepare(
        subscriptions,
        "subscriptions",
        needs=("customer_id", _START, _END, "mrr"),
        keys=keys,
        reserved=reserved,
    )
    start_dtype = data.schema[_START]
    end = _api.as_dtype(pl.col(_END), data.schema[_END], start_dtype)
    frame = data.frame.select(*keys, "customer_id", _START, end.alias(_END), "mrr")
    hz = horizon(
        _START,
        start_dtype,
        as_of,
        latest=pl.max_horizontal(pl.col(_START).max(), pl.col(_END).max()),
    )
    observed = frame.filter(hz.observed(pl.col(_START))).with_columns(
        # an end after as_of is not known yet: the subscription is still running
        pl.when(hz.observed(pl.col(_END))).then(pl.col(_END)).alias(_END)
    )
    periods = period_span(observed, ts=_START, every=period, hz=hz)
    last = periods.select(pl.col("j").max().alias("_last_j"))
    entity = [*keys, "customer_id"]
    spans = (
        observed.join(last, how="cross")
        .select(
            *entity,
            pl.col("mrr").cast(pl.Float64),
            _first_boundary(period, pl.col(_START), start_dtype).alias("_lo"),
            pl.coalesce(
                _first_boundary(period, pl.col(_END), start_dtype) - 1,
                pl.col("_last_j") + 1,  # still running: active at the boundary after as_of
            ).alias("_hi"),
        )
        .filter(pl.col("_hi") >= pl.col("_lo"))
    )
    at_boundary = (
        spans.with_columns(pl.int_ranges("_lo", pl.col("_hi") + 1).alias("k"))
        .explode("k")
        .group_by([*entity, "k"])
        .agg(pl.col("mrr").sum())
        .with_columns(pl.col("k").min().over(entity).alias("first_k"))
        .cache()  # read by both sides of the join: computed once
    )
    start_side = at_boundary.select(
        *entity, pl.col("k").alias("j"), pl.col("mrr").alias("m0"), "first_k"
    )
    end_side = at_boundary.select(
        *entity, (pl.col("k") - 1).alias("j"), pl.col("mrr").alias("m1"), "first_k"
    )
    states = (
        start_side.join(end_side, on=[*entity, "j"], how="full", coalesce=True, nulls_equal=True)
        .select(
            *entity,
            "j",
            pl.col("m0").is_not_null().alias("a0"),
            pl.col("m0").fill_null(0.0),
            pl.col("m1").is_not_null().alias("a1"),
            pl.col("m1").fill_null(0.0),
            pl.coalesce("first_k", "first_k_right").alias("first_k"),
        )
        .join(periods.select("j"), on="j", how="semi")
    )
    grid = observed.select(keys).unique().join(periods, how="cross") if keys else periods
    return states, keys, grid, period


def _finish_periods(
    counts: pl.LazyFrame,
    grid: pl.LazyFrame,
    keys: list[str],
    period: Every,
    zeros: dict[str, float],
) -> pl.LazyFrame:
    start = period.start_of(pl.col("j"))
    return (
        grid.join(counts, on=[*keys, "j"], how="left", nulls_equal=True)
        .with_columns(pl.col(name).fill_null(value) for name, value in zeros.items())
        .with_columns(
            start.alias("period_start"),
            (period.end(start) <= pl.col("_end_day")).alias("is_complete"),
        )
    )


def subscription_movements(
    subscriptions: FrameT,
    /,
    *,
    every: str = "1mo",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Subscribed customers (logos) at each period's start and end, and how they moved.

    Parameters
    ----------
    subscriptions : polars.DataFrame or polars.LazyFrame
        The ``subscriptions`` table; uses ``customer_id``, ``started_at``,
        ``ended_at`` (null: still running) and ``mrr``.
    every : str
        Period length (``"1mo"``, ``"1q"``, …).
    group_by : str or list of str, optional
        Columns to segment by (a customer counts within each group).
    as_of : date or datetime, optional
        End of observation; defaults to the latest ``started_at`` or
        ``ended_at``. An ``ended_at`` after it is not known yet: the
        subscription counts as running.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``subscriptions``, sorted by ``period_start`` then the
        group keys: ``period_start``, group keys, ``customers_start``,
        ``retained``, ``churned``, ``new``, ``reactivated``, ``customers_end``
        (Int64), ``churn_rate`` (Float64, null without customers at the start),
        ``is_complete``.

    Notes
    -----
    A customer is subscribed at instant :math:`t` when one of their
    subscriptions has ``started_at`` :math:`\\le t <` ``ended_at``. Period
    :math:`[t_0, t_1)` compares :math:`t_0` and :math:`t_1` as
    :func:`customer_movements` does; *new* customers were never subscribed
    at an earlier period start, *reactivated* ones were. Customers still
    subscribed at ``as_of`` never get a churn row (the flaw of SQL playbooks
    that close every open subscription at the end of the data). A
    subscription that starts and ends between two period starts is not seen,
    and one that starts exactly at a period start (1 March 00:00) is counted
    as arriving in the period before, whose end it is.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> subscriptions = pl.DataFrame(
    ...     {
    ...         "subscription_id": [1, 2, 3],
    ...         "customer_id": [1, 2, 3],
    ...         "started_at": [date(2024, 1, 10), date(2024, 1, 15), date(2024, 2, 20)],
    ...         "ended_at": [None, date(2024, 2, 10), None],
    ...         "mrr": [50.0, 20.0, 30.0],
    ...     }
    ... )
    >>> moves = cm.subscription_movements(subscriptions, as_of=date(2024, 3, 31))
    >>> moves.select("period_start", "customers_start", "churned", "new", "customers_end",
    ...              "churn_rate")
    shape: (3, 6)
    ┌──────────────┬─────────────────┬─────────┬─────┬───────────────┬────────────┐
    │ period_start ┆ customers_start ┆ churned ┆ new ┆ customers_end ┆ churn_rate │
    │ ---          ┆ ---             ┆ ---     ┆ --- ┆ ---           ┆ ---        │
    │ date         ┆ i64             ┆ i64     ┆ i64 ┆ i64           ┆ f64        │
    ╞══════════════╪═════════════════╪═════════╪═════╪═══════════════╪════════════╡
    │ 2024-01-01   ┆ 0               ┆ 0       ┆ 2   ┆ 2             ┆ null       │
    │ 2024-02-01   ┆ 2               ┆ 1       ┆ 1   ┆ 2             ┆ 0.5        │
    │ 2024-03-01   ┆ 2               ┆ 0       ┆ 0   ┆ 2             ┆ 0.0        │
    └──────────────┴─────────────────┴─────────┴─────┴───────────────┴────────────┘
    """
    keys: list[str]
    states, keys, grid, period = _boundary_states(
        subscriptions, every, group_by, as_of, LOGO_COLUMNS
    )
    a0, a1 = pl.col("a0"), pl.col("a1")
    arriving = ~a0 & a1
    is_new = pl.col("first_k") == pl.col("j") + 1
    counts = states.group_by([*keys, "j"]).agg(
        a0.sum().cast(pl.Int64).alias("customers_start"),
        (a0 & a1).sum().cast(pl.Int64).alias("retained"),
        (a0 & ~a1).sum().cast(pl.Int64).alias("churned"),
        (arriving & is_new).sum().cast(pl.Int64).alias("new"),
        (arriving & ~is_new).sum().cast(pl.Int64).alias("reactivated"),
        a1.sum().cast(pl.Int64).alias("customers_end"),
    )
    names = ("customers_start", "retained", "churned", "new", "reactivated", "customers_end")
    out = (
        _finish_periods(counts, grid, keys, period, dict.fromkeys(names, 0))
        .select(
            "period_start",
            *keys,
            *names,
            _api.safe_ratio(pl.col("churned"), pl.col("customers_start")).alias("churn_rate"),
            "is_complete",
        )
        .sort(["period_start", *keys], nulls_last=True)
    )
    return _api.finish(out, subscriptions)


def mrr_movements(
    subscriptions: FrameT,
    /,
    *,
    every: str = "1mo",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """The MRR bridge: monthly recurring revenue at each period's start and end, and why.

    Takes the arguments of :func:`subscription_movements`.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``subscriptions``, sorted by ``period_start`` then the
        group keys: ``period_start``, group keys, ``mrr_start``, ``new_mrr``,
        ``expansion_mrr``, ``contraction_mrr``, ``churned_mrr``,
        ``reactivation_mrr``, ``mrr_end``, ``net_revenue_retention``,
        ``gross_revenue_retention``, ``quick_ratio`` (Float64),
        ``is_complete``.

    Notes
    -----
    Each customer's MRR at a period start is the sum of ``mrr`` over their
    running subscriptions. Comparing a customer's MRR at the start
    (:math:`m_0`) and end (:math:`m_1`) of a period:

    * subscribed at both: :math:`m_1 - m_0` is ``expansion_mrr`` when
      positive, ``contraction_mrr`` (as a positive amount) when negative;
    * only at the start: :math:`m_0` is ``churned_mrr``;
    * only at the end: :math:`m_1` is ``new_mrr``, or ``reactivation_mrr``
      when the customer was subscribed at an earlier period start.

    So ``mrr_end = mrr_start + new + expansion - contraction - churned +
    reactivation`` on every row.
    ``net_revenue_retention = (mrr_start + expansion - contraction - churned)
    / mrr_start``, ``gross_revenue_retention = (mrr_start - contraction -
    churned) / mrr_start``, ``quick_ratio = (new + expansion + reactivation) /
    (contraction + churned)``; each null when its denominator is 0.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> subscriptions = pl.DataFrame(
    ...     {
    ...         "subscription_id": [1, 2, 3, 4],
    ...         "customer_id": [1, 1, 2, 3],
    ...         "started_at": [date(2024, 1, 10), date(2024, 2, 15), date(2024, 1, 15),
    ...                        date(2024, 2, 20)],
    ...         "ended_at": [date(2024, 2, 15), None, date(2024, 2, 10), None],
    ...         "mrr": [50.0, 80.0, 20.0, 30.0],
    ...     }
    ... )
    >>> bridge = cm.mrr_movements(subscriptions, as_of=date(2024, 3, 31))
    >>> bridge.select("period_start", "mrr_start", "new_mrr", "expansion_mrr", "churned_mrr",
    ...               "mrr_end")
    shape: (3, 6)
    ┌──────────────┬───────────┬─────────┬───────────────┬─────────────┬─────────┐
    │ period_start ┆ mrr_start ┆ new_mrr ┆ expansion_mrr ┆ churned_mrr ┆ mrr_end │
    │ ---          ┆ ---       ┆ ---     ┆ ---           ┆ ---         ┆ ---     │
    │ date         ┆ f64       ┆ f64     ┆ f64           ┆ f64         ┆ f64     │
    ╞══════════════╪═══════════╪═════════╪═══════════════╪═════════════╪═════════╡
    │ 2024-01-01   ┆ 0.0       ┆ 70.0    ┆ 0.0           ┆ 0.0         ┆ 70.0    │
    │ 2024-02-01   ┆ 70.0      ┆ 30.0    ┆ 30.0          ┆ 20.0        ┆ 110.0   │
    │ 2024-03-01   ┆ 110.0     ┆ 0.0     ┆ 0.0           ┆ 0.0         ┆ 110.0   │
    └──────────────┴───────────┴─────────┴───────────────┴─────────────┴─────────┘
    """
    keys: list[str]
    states, keys, grid, period = _boundary_states(
        subscriptions, every, group_by, as_of, MRR_COLUMNS
    )
    a0, a1, m0, m1 = pl.col("a0"), pl.col("a1"), pl.col("m0"), pl.col("m1")
    both = a0 & a1
    arriving = ~a0 & a1
    is_new = pl.col("first_k") == pl.col("j") + 1
    # sums of several subscriptions' float mrr can differ by float noise (0.1 + 0.2 vs
    # 0.3): below a nano-unit a change is none, so it is neither expansion nor contraction
    raw_change = m1 - m0
    change = pl.when(raw_change.abs() < 1e-9).then(0.0).otherwise(raw_change)
    counts = states.group_by([*keys, "j"]).agg(
        m0.sum().alias("mrr_start"),
        m1.filter(arriving & is_new).sum().alias("new_mrr"),
        change.filter(both & (change > 0)).sum().alias("expansion_mrr"),
        (-change).filter(both & (change < 0)).sum().alias("contraction_mrr"),
        m0.filter(a0 & ~a1).sum().alias("churned_mrr"),
        m1.filter(arriving & ~is_new).sum().alias("reactivation_mrr"),
        m1.sum().alias("mrr_end"),
    )
    names = (
        "mrr_start",
        "new_mrr",
        "expansion_mrr",
        "contraction_mrr",
        "churned_mrr",
        "reactivation_mrr",
        "mrr_end",
    )
    start, exp_, con = pl.col("mrr_start"), pl.col("expansion_mrr"), pl.col("contraction_mrr")
    churn, new, back = pl.col("churned_mrr"), pl.col("new_mrr"), pl.col("reactivation_mrr")
    out = (
        _finish_periods(counts, grid, keys, period, dict.fromkeys(names, 0.0))
        .select(
            "period_start",
            *keys,
            *names,
            _api.safe_ratio(start + exp_ - con - churn, start).alias("net_revenue_retention"),
            _api.safe_ratio(start - con - churn, start).alias("gross_revenue_retention"),
            _api.safe_ratio(new + exp_ + back, con + churn).alias("quick_ratio"),
            "is_complete",
        )
        .sort(["period_start", *keys], nulls_last=True)
    )
    return _api.finish(out, subscriptions)
