"""Each customer's purchase history, and how long customers stay: Kaplan–Meier."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics import _api
from crm_metrics._engine.periods import Horizon, horizon, last_active_day, parse_duration

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics.typing import FrameT

__all__ = ["customer_summary", "median_lifetime", "survival_curve"]

_TS = "ordered_at"
SUMMARY_COLUMNS = (
    "customer_id",
    "first_order_at",
    "last_order_at",
    "orders",
    "revenue",
    "refunds",
    "average_order_value",
    "status",
    "churned_at",
    "tenure_days",
)
STATUS = pl.Enum(["active", "churned"])


def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Days between two timestamps of one dtype, as Float64 (fractions for Datetimes)."""
    # times a constant, not divided: Polars may divide via a reciprocal in some chunks
    # only, which would make equal durations differ in the last bit
    return (later - earlier).dt.total_microseconds().cast(pl.Float64) * (1 / 86_400_000_000)


def _summary_plan(data: _api.Input, keys: Sequence[str], hz: Horizon, window: str) -> pl.LazyFrame:
    """One row per (keys, customer): the purchase history and status at ``as_of``."""
    dtype = data.schema[_TS]
    ts, amount = pl.col(_TS), pl.col("amount").cast(pl.Float64)
    bought = pl.col("amount") >= 0
    observed = data.frame.select(*keys, "customer_id", _TS, "amount").filter(hz.observed(ts))
    # the end of observation as an instant of the column's dtype (scalar columns)
    end = hz.instant if hz.instant is not None and dtype != pl.Date else None
    per = (
        observed.with_columns(
            hz.end_day.alias("_end_day"), *([end.alias("_instant")] if end is not None else [])
        )
        .group_by([*keys, "customer_id"])
        .agg(
            # when/then rather than filter: streaming aggregations, not per-group slices
            pl.when(bought).then(ts).min().alias("first_order_at"),
            pl.when(bought).then(ts).max().alias("last_order_at"),
            bought.sum().cast(pl.Int64).alias("orders"),
            amount.sum().alias("revenue"),
            pl.when(~bought).then(-amount).otherwise(0.0).sum().alias("refunds"),
            pl.col("_end_day").first(),
            *([pl.col("_instant").first()] if end is not None else []),
        )
        .filter(pl.col("first_order_at").is_not_null())
    )
    last = pl.col("last_order_at")
    if end is not None:
        active = last >= pl.col("_instant").dt.offset_by(f"-{window}")
        stop = pl.col("_instant")
    else:
        active = last_active_day(last, window) >= pl.col("_end_day")
        stop = _api.as_dtype(pl.col("_end_day"), pl.Date(), dtype)
    churned_at = pl.when(~active).then(_churn_instant(last, window))
    until = pl.min_horizontal(stop, churned_at)
    return per.select(
        *keys,
        "customer_id",
        "first_order_at",
        "last_order_at",
        "orders",
        "revenue",
        "refunds",
        _api.safe_ratio(pl.col("revenue"), pl.col("orders")).alias("average_order_value"),
        pl.when(active)
        .then(pl.lit("active"))
        .otherwise(pl.lit("churned"))
        .cast(STATUS)
        .alias("status"),
        churned_at.alias("churned_at"),
        _days(until, pl.col("first_order_at")).alias("tenure_days"),
    )


def _churn_instant(last: pl.Expr, window: str) -> pl.Expr:
    """The last instant at which a purchase at ``last`` still makes its customer active.

    ``last + window``, except that calendar subtraction clamps month ends
    (31 March − 1 month is 28 February): after a purchase on the last day of
    a month, a month-long window keeps the customer active to the *end* of
    the month ``window`` later (:func:`~crm_metrics._engine.periods.last_active_day`),
    so the shifted instant moves on by the days left in that month.
    """
    shifted = last.dt.offset_by(window)
    if not window.endswith(("mo", "q", "y")):
        return shifted
    # the days by which the clamping carries the last active day past the shifted date
    rest = (last_active_day(last, window) - shifted.dt.date()).dt.total_days()
    return pl.when(rest > 0).then(shifted.dt.offset_by(pl.format("{}d", rest))).otherwise(shifted)


def customer_summary(
    orders: FrameT,
    /,
    *,
    inactive_after: str = "90d",
    as_of: date | datetime | None = None,
) -> FrameT:
    """One row per customer: their purchase history and whether they are still active.

    Parameters
    ----------
    orders : polars.DataFrame or polars.LazyFrame
        The ``orders`` table; uses ``customer_id``, ``ordered_at``, ``amount``.
    inactive_after : str
        How long after a purchase a customer stays active (as in
        :func:`customer_movements`).
    as_of : date or datetime, optional
        End of observation; defaults to the latest ``ordered_at``.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``orders``, sorted by ``customer_id``: ``customer_id``,
        ``first_order_at``, ``last_order_at`` (first and last purchase),
        ``orders`` (purchases, Int64), ``revenue`` (net of refunds),
        ``refunds`` (the refunded amount, positive), ``average_order_value``
        (revenue ÷ orders), ``status`` (Enum ``active`` / ``churned``),
        ``churned_at`` (the last purchase + ``inactive_after``: the last
        instant at which the customer is still active; null while active),
        ``tenure_days`` (Float64: from the first purchase to ``churned_at``, or
        to ``as_of`` for active customers).

    Notes
    -----
    A customer is active at ``as_of`` when their last purchase is on or after
    ``as_of - inactive_after`` (the definition of :func:`customer_movements`).
    With month windows, calendar subtraction clamps month ends (31 March − 1
    month is 28 February), so a purchase on the last day of a month keeps its
    customer active to the end of the month ``inactive_after`` later:
    ``churned_at`` for a purchase on 28 February 2023 with ``"1mo"`` is 31
    March, not 28 March.
    Customers with refunds but no purchase by ``as_of`` have no history and
    are left out; orders after ``as_of`` are ignored.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": [1, 2, 3, 4],
    ...         "customer_id": [1, 1, 1, 2],
    ...         "ordered_at": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 2, 3),
    ...                        date(2024, 6, 1)],
    ...         "amount": [50.0, 30.0, -10.0, 20.0],
    ...     }
    ... )
    >>> cm.customer_summary(orders, inactive_after="30d", as_of=date(2024, 6, 30)).select(
    ...     "customer_id", "orders", "revenue", "refunds", "status", "churned_at", "tenure_days"
    ... )
    shape: (2, 7)
    ┌─────────────┬────────┬─────────┬─────────┬─────────┬────────────┬─────────────┐
    │ customer_id ┆ orders ┆ revenue ┆ refunds ┆ status  ┆ churned_at ┆ tenure_days │
    │ ---         ┆ ---    ┆ ---     ┆ ---     ┆ ---     ┆ ---        ┆ ---         │
    │ i64         ┆ i64    ┆ f64     ┆ f64     ┆ enum    ┆ date       ┆ f64         │
    ╞═════════════╪════════╪═════════╪═════════╪═════════╪════════════╪═════════════╡
    │ 1           ┆ 2      ┆ 70.0    ┆ 10.0    ┆ churned ┆ 2024-03-02 ┆ 61.0        │
    │ 2           ┆ 1      ┆ 20.0    ┆ 0.0     ┆ active  ┆ null       ┆ 30.0        │
    └─────────────┴────────┴─────────┴─────────┴─────────┴────────────┴─────────────┘
    """
    window = parse_duration(inactive_after, name="inactive_after")
    data = _api.prepare(orders, "orders", needs=("customer_id", _TS, "amount"))
    hz = horizon(_TS, data.schema[_TS], as_of)
    plan = _summary_plan(data, [], hz, window).sort("customer_id")
    return _api.finish(plan, orders)


def _kaplan_meier(durations: pl.LazyFrame, keys: Sequence[str], z: float) -> pl.LazyFrame:
    """Kaplan–Meier with exponential Greenwood bands from (keys, duration, event) rows."""
    keys = list(keys)
    by = {"partition_by": keys, "order_by": "timeline"} if keys else {"order_by": "timeline"}
    events = durations.select(
        *keys,
        pl.col("duration").alias("timeline"),
        pl.col("event").cast(pl.Int64).alias("churned"),
        (~pl.col("event")).cast(pl.Int64).alias("censored"),
    )
    # every curve starts with a row at 0, as lifelines' does
    starts = [
        pl.lit(0.0).alias("timeline"),
        pl.lit(0, pl.Int64).alias("churned"),
        pl.lit(0, pl.Int64).alias("censored"),
    ]
    if keys:
        zero = events.select(keys).unique().with_columns(starts)
    else:  # one row, or none for an empty input
        zero = (
            events.select(pl.len().alias("_n"))
            .filter(pl.col("_n") > 0)
            .with_columns(starts)
            .drop("_n")
        )
    table = (
        pl.concat([events, zero])
        .group_by([*keys, "timeline"])
        .agg(pl.col("churned").sum(), pl.col("censored").sum())
    )
    removed = pl.col("churned") + pl.col("censored")
    total = removed.sum().over(keys) if keys else removed.sum()
    at_risk = total - removed.cum_sum().over(**by) + removed
    d, n = pl.col("churned").cast(pl.Float64), pl.col("at_risk").cast(pl.Float64)
    survival = (1 - d / n).cum_prod().over(**by)
    greenwood = pl.when(n > d).then(d / (n * (n - d))).otherwise(float("inf")).cum_sum().over(**by)
    log_s = pl.col("survival").log()
    inner = (-log_s).log()
    spread = z * pl.col("_greenwood").sqrt() / log_s
    bound_a = (-(inner - spread).exp()).exp()
    bound_b = (-(inner + spread).exp()).exp()
    degenerate = (pl.col("survival") >= 1) | (pl.col("survival") <= 0)
    return (
        table.with_columns(at_risk.cast(pl.Int64).alias("at_risk"))
        .with_columns(survival.alias("survival"), greenwood.alias("_greenwood"))
        .with_columns(
            pl.when(degenerate)
            .then(pl.col("survival"))
            .otherwise(pl.min_horizontal(bound_a, bound_b))
            .alias("ci_lower"),
            pl.when(degenerate)
            .then(pl.col("survival"))
            .otherwise(pl.max_horizontal(bound_a, bound_b))
            .alias("ci_upper"),
        )
        .select(
            *keys, "timeline", "at_risk", "churned", "censored", "survival", "ci_lower", "ci_upper"
        )
        .sort([*keys, "timeline"], nulls_last=True)
    )


def survival_curve(
    orders: FrameT,
    /,
    *,
    inactive_after: str = "90d",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
    confidence: float = 0.95,
) -> FrameT:
    """Kaplan–Meier estimate of the time from a customer's first purchase to churn.

    Parameters
    ----------
    orders : polars.DataFrame or polars.LazyFrame
        The ``orders`` table; uses ``customer_id``, ``ordered_at``, ``amount``.
    inactive_after : str
        How long after a purchase a customer stays active; a customer churns
        ``inactive_after`` after their last purchase.
    group_by : str or list of str, optional
        Customer attributes: one curve per group.
    as_of : date or datetime, optional
        End of observation; customers still active then are right-censored.
    confidence : float
        Coverage of the pointwise band.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``orders``, sorted by the group keys and ``timeline``:
        group keys, ``timeline`` (days since the first purchase, Float64,
        starting at 0), ``at_risk``, ``churned``, ``censored`` (Int64),
        ``survival``, ``ci_lower``, ``ci_upper`` (Float64).

    Notes
    -----
    Durations are the ``tenure_days`` of :func:`customer_summary`: churned
    customers' to ``churned_at``, active customers' (censored) to ``as_of``.
    At each distinct duration :math:`t` with :math:`n_t` customers at risk and
    :math:`d_t` churning, :math:`S(t) = \\prod_{s \\le t} (1 - d_s / n_s)`. The
    band is the exponential Greenwood interval, as lifelines'
    ``KaplanMeierFitter`` computes it:
    :math:`\\exp(-\\exp(\\log(-\\log S) \\pm z \\sqrt{V} / \\log S))` with
    :math:`V = \\sum_{s \\le t} d_s / (n_s (n_s - d_s))`; it is :math:`S`
    itself where :math:`S` is 0 or 1.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": [1, 2, 3, 4],
    ...         "customer_id": [1, 2, 3, 3],
    ...         "ordered_at": [date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 1),
    ...                        date(2024, 2, 20)],
    ...         "amount": [10.0, 10.0, 10.0, 10.0],
    ...     }
    ... )
    >>> cm.survival_curve(orders, inactive_after="30d", as_of=date(2024, 3, 1)).select(
    ...     "timeline", "at_risk", "churned", "censored", "survival"
    ... )
    shape: (3, 5)
    ┌──────────┬─────────┬─────────┬──────────┬──────────┐
    │ timeline ┆ at_risk ┆ churned ┆ censored ┆ survival │
    │ ---      ┆ ---     ┆ ---     ┆ ---      ┆ ---      │
    │ f64      ┆ i64     ┆ i64     ┆ i64      ┆ f64      │
    ╞══════════╪═════════╪═════════╪══════════╪══════════╡
    │ 0.0      ┆ 3       ┆ 0       ┆ 0        ┆ 1.0      │
    │ 30.0     ┆ 3       ┆ 2       ┆ 0        ┆ 0.333333 │
    │ 61.0     ┆ 1       ┆ 0       ┆ 1        ┆ 0.333333 │
    └──────────┴─────────┴─────────┴──────────┴──────────┘
    """
    z = _api.two_sided_z(confidence)
    window = parse_duration(inactive_after, name="inactive_after")
    keys: list[str] = _api.group_keys(group_by)
    reserved = ("timeline", "at_risk", "churned", "censored", "survival", "ci_lower", "ci_upper")
    data = _api.prepare(
        orders, "orders", needs=("customer_id", _TS, "amount"), keys=keys, reserved=reserved
    )
    hz = horizon(_TS, data.schema[_TS], as_of)
    summary = _summary_plan(data, keys, hz, window).select(
        *keys,
        pl.col("tenure_days").alias("duration"),
        (pl.col("status") == "churned").alias("event"),
    )
    return _api.finish(_kaplan_meier(summary, keys, z), orders)


def median_lifetime(
    orders: FrameT,
    /,
    *,
    inactive_after: str = "90d",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Median time to churn, in days, from the Kaplan–Meier curve.

    Takes the arguments of :func:`survival_curve`. Returns the group keys and
    ``median_lifetime_days`` (Float64): the first ``timeline`` at which
    ``survival`` is 0.5 or less (within a relative 1e-12, so that a curve
    that is exactly 1/2 in exact arithmetic counts however the floats round),
    null when the curve never gets there (more than half the customers are
    still active), as lifelines reports ``inf``.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": [1, 2, 3, 4],
    ...         "customer_id": [1, 2, 3, 3],
    ...         "ordered_at": [date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 1),
    ...                        date(2024, 2, 20)],
    ...         "amount": [10.0, 10.0, 10.0, 10.0],
    ...     }
    ... )
    >>> cm.median_lifetime(orders, inactive_after="30d", as_of=date(2024, 3, 1))
    shape: (1, 1)
    ┌──────────────────────┐
    │ median_lifetime_days │
    │ ---                  │
    │ f64                  │
    ╞══════════════════════╡
    │ 30.0                 │
    └──────────────────────┘
    """
    keys: list[str] = _api.group_keys(group_by)
    curve = survival_curve(orders, inactive_after=inactive_after, group_by=keys, as_of=as_of)
    plan = curve.lazy()
    # S is a float product of (1 - d/n): where it is exactly 1/2 in exact arithmetic it
    # can land an ulp above; a relative tolerance of 1e-12 keeps such a tie a tie
    first = pl.col("timeline").filter(pl.col("survival") <= 0.5 * (1 + 1e-12)).min()
    out = (
        plan.group_by(keys).agg(first.alias("median_lifetime_days")).sort(keys, nulls_last=True)
        if keys
        else plan.select(first.alias("median_lifetime_days"))
    )
    return _api.finish(out, orders)
