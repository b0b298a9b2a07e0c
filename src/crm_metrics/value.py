"""Customer lifetime value (the simple formula) and its ratio to acquisition cost."""

from __future__ import annotations

import dataclasses
import warnings
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics import _api
from crm_metrics._engine.periods import horizon, parse_duration, parse_every
from crm_metrics.exceptions import ArgumentError
from crm_metrics.retention import _movements_plan

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics.typing import FrameT

__all__ = ["cac_payback_months", "customer_lifetime_value", "ltv_to_cac"]

_TS = "ordered_at"
CLV_MEASURES = (
    "customers",
    "average_order_value",
    "purchases_per_customer_per_year",
    "lifespan_years",
    "cltv",
)
CAC_MEASURES = ("period_start", "spend", "new_customers", "cac", "is_complete")


def _positive(value: float | None, name: str, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int | float) or not 0 < value < float("inf"):
        msg = (
            f"{name}={value!r} is not a positive finite number.\n"
            f"Hint: {name} is a multiplier such as 1.0 or 0.35."
        )
        raise ArgumentError(msg)


def customer_lifetime_value(
    orders: FrameT,
    /,
    *,
    window: str = "1y",
    lifespan_years: float | None = None,
    inactive_after: str = "90d",
    margin: float = 1.0,
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Customer lifetime value by the simple formula, over a trailing window.

    Parameters
    ----------
    orders : polars.DataFrame or polars.LazyFrame
        The ``orders`` table; uses ``customer_id``, ``ordered_at``, ``amount``.
    window : str
        The trailing window before ``as_of`` that the averages come from,
        e.g. ``"1y"``, ``"6mo"``, ``"90d"``.
    lifespan_years : float, optional
        Average relationship length in years. When not given it is
        1 ÷ the annual churn rate measured by :func:`customer_movements`
        (monthly, with ``inactive_after``) over the window.
    inactive_after : str
        Passed to :func:`customer_movements` for the churn rate.
    margin : float
        Share of revenue kept as profit (1.0: revenue CLV).
    group_by : str or list of str, optional
        Columns to segment by.
    as_of : date or datetime, optional
        End of observation; defaults to the latest ``ordered_at``.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``orders``: one row per group with a purchase in the
        window, sorted by the keys: group keys, ``customers`` (Int64),
        ``average_order_value``, ``purchases_per_customer_per_year``,
        ``lifespan_years``, ``cltv`` (Float64).

    Warns
    -----
    UserWarning
        For an eager result, when a group's lifespan is null because no
        customer churned in the window (its ``cltv`` is then null too).

    Notes
    -----
    Over the orders in the window :math:`(\\text{as\\_of} - \\text{window},
    \\text{as\\_of}]`:

    * ``average_order_value`` = revenue (net of refunds) ÷ purchases
      (rows with ``amount >= 0``);
    * ``purchases_per_customer_per_year`` = purchases ÷ buying customers ÷ the
      window in years (months ÷ 12, or days ÷ 365.2425);
    * ``lifespan_years`` = ``lifespan_years`` if given, else 1 ÷ annual churn,
      where the monthly churn :math:`m` = churned ÷ customers at the start,
      summed over the complete months starting inside the window, and
      annual churn = :math:`1 - (1 - m)^{12}`;
    * ``cltv`` = average_order_value × purchases_per_customer_per_year ×
      lifespan_years × margin.

    $100 per order × 3 orders a year × 4 years = $1,200.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": range(6),
    ...         "customer_id": [1, 1, 1, 2, 2, 2],
    ...         "ordered_at": [date(2024, m, 1) for m in (2, 6, 10, 3, 7, 11)],
    ...         "amount": [100.0] * 6,
    ...     }
    ... )
    >>> clv = cm.customer_lifetime_value(orders, lifespan_years=4, as_of=date(2024, 12, 31))
    >>> clv.row(0, named=True)  # doctest: +NORMALIZE_WHITESPACE
    {'customers': 2, 'average_order_value': 100.0, 'purchases_per_customer_per_year': 3.0,
     'lifespan_years': 4.0, 'cltv': 1200.0}
    """
    span = parse_every(parse_duration(window, name="window"), name="window")
    years = span.n / 12 if span.unit == "mo" else span.n * (1 if span.unit == "d" else 7) / 365.2425
    _positive(lifespan_years, "lifespan_years", allow_none=True)
    _positive(margin, "margin", allow_none=False)
    keys: list[str] = _api.group_keys(group_by)
    data = _api.prepare(
        orders,
        "orders",
        needs=("customer_id", _TS, "amount"),
        keys=keys,
        reserved=CLV_MEASURES,
    )
    hz = horizon(_TS, data.schema[_TS], as_of)
    ts = pl.col(_TS)
    in_window = hz.observed(ts) & hz.after_window(ts, window)
    buying = pl.col("amount") >= 0
    stats = [
        # when/then rather than filter: ~3x faster in the streaming group_by (as in revenue)
        pl.when(buying)
        .then(pl.col("customer_id"))
        .drop_nulls()
        .n_unique()
        .cast(pl.Int64)
        .alias("customers"),
        buying.sum().cast(pl.Int64).alias("_purchases"),
        pl.col("amount").cast(pl.Float64).sum().alias("_revenue"),
    ]
    frame = data.frame.select(*keys, "customer_id", _TS, "amount")
    windowed = frame.filter(in_window)
    per_group = windowed.group_by(keys).agg(stats) if keys else windowed.select(stats)
    per_group = per_group.filter(pl.col("customers") > 0)
    if lifespan_years is not None:
        lifespan = per_group.with_columns(pl.lit(float(lifespan_years)).alias("lifespan_years"))
    else:
        moves = _movements_plan(data.frame, "1mo", inactive_after, keys, as_of, measures=None)
        # the first day wholly inside the window: its months are the ones counted
        if hz.instant is not None and data.schema[_TS] != pl.Date:
            low = hz.instant.dt.offset_by(f"-{window}")
            starts_late = low.dt.time() != pl.lit(time(0))
            first_day = low.dt.date() + pl.duration(days=starts_late.cast(pl.Int64))
        else:
            first_day = hz.end_day.dt.offset_by(f"-{window}")
        first_month = frame.select(first_day.alias("_low"))
        churn = (
            moves.join(first_month, how="cross")
            .filter(pl.col("is_complete") & (pl.col("period_start") >= pl.col("_low")))
            .group_by(keys or pl.lit(0).alias("_all"))
            .agg(
                pl.col("churned").sum().alias("_churned"),
                pl.col("customers_start").sum().alias("_start"),
            )
        )
        monthly = _api.safe_ratio(pl.col("_churned"), pl.col("_start"))
        annual = 1 - (1 - monthly) ** 12
        churn = churn.select(*keys, pl.when(annual > 0).then(1 / annual).alias("lifespan_years"))
        lifespan = (
            per_group.join(churn, on=keys, how="left", nulls_equal=True)
            if keys
            else per_group.join(churn, how="cross")
        )
    aov = _api.safe_ratio(pl.col("_revenue"), pl.col("_purchases"))
    ppy = pl.col("_purchases") / pl.col("customers") / years
    out = lifespan.select(
        *keys,
        "customers",
        aov.alias("average_order_value"),
        ppy.alias("purchases_per_customer_per_year"),
        "lifespan_years",
        (aov * ppy * pl.col("lifespan_years") * margin).alias("cltv"),
    )
    if keys:
        out = out.sort(keys, nulls_last=True)
    result = _api.finish(out, orders)
    if isinstance(result, pl.DataFrame):
        missing = result.filter(pl.col("lifespan_years").is_null()).height
        if missing:
            warnings.warn(
                f"{missing} of {result.height} rows have no churn in the window, so their "
                "lifespan and cltv are null; pass lifespan_years=... or widen the window.",
                UserWarning,
                stacklevel=2,
            )
    return result


@dataclasses.dataclass(frozen=True, slots=True)
class _Pair:
    clv: pl.LazyFrame
    cac: pl.LazyFrame
    keys: list[str]


def _pair(clv: object, cac: object) -> _Pair:
    """The two KPI frames, lazily, and the group keys they share."""
    frames = []
    for name, frame, measures in (("clv", clv, CLV_MEASURES), ("cac", cac, CAC_MEASURES)):
        if not isinstance(frame, pl.DataFrame | pl.LazyFrame):
            got = type(frame).__qualname__
            msg = f"{name} must be a Polars frame, got {got}."
            raise ArgumentError(msg)
        names = frame.collect_schema().names()
        needed = ["cltv", "lifespan_years"] if name == "clv" else ["spend", "new_customers"]
        absent = [c for c in needed if c not in names]
        if absent:
            made_by = (
                "cm.customer_lifetime_value" if name == "clv" else "cm.customer_acquisition_cost"
            )
            msg = (
                f"{name} has no column {', '.join(map(repr, absent))}.\n"
                f"Hint: pass the frame returned by {made_by}(...)."
            )
            raise ArgumentError(msg)
        frames.append((frame.lazy(), [c for c in names if c not in measures]))
    (clv_frame, clv_keys), (cac_frame, cac_keys) = frames
    if sorted(clv_keys) != sorted(cac_keys):
        msg = (
            f"clv is grouped by {clv_keys} but cac by {cac_keys}.\n"
            "Hint: compute both with the same group_by."
        )
        raise ArgumentError(msg)
    per_group = (
        cac_frame.group_by(cac_keys).agg(pl.col("spend").sum(), pl.col("new_customers").sum())
        if cac_keys
        else cac_frame.select(pl.col("spend").sum(), pl.col("new_customers").sum())
    )
    per_group = per_group.with_columns(
        _api.safe_ratio(pl.col("spend"), pl.col("new_customers")).alias("cac")
    )
    return _Pair(clv_frame, per_group, clv_keys)


def _joined(pair: _Pair) -> pl.LazyFrame:
    if pair.keys:
        return pair.clv.join(pair.cac, on=pair.keys, how="left", nulls_equal=True)
    return pair.clv.join(pair.cac, how="cross")


def ltv_to_cac(clv: FrameT, cac: pl.DataFrame | pl.LazyFrame, /) -> FrameT:
    """Lifetime value per unit of acquisition cost.

    Parameters
    ----------
    clv : polars.DataFrame or polars.LazyFrame
        The result of :func:`customer_lifetime_value`.
    cac : polars.DataFrame or polars.LazyFrame
        The result of :func:`customer_acquisition_cost` with the same
        ``group_by``, restricted to the periods to average over (usually the
        same trailing window).

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``clv``: group keys, ``cltv``, ``cac``, ``ltv_to_cac``
        (Float64; null when ``cac`` is null or 0).

    Notes
    -----
    ``cac`` here is total spend ÷ total new customers over the rows of
    ``cac`` (not a mean of monthly ratios); ``ltv_to_cac = cltv / cac``.
    A ratio of 3 is the usual rule of thumb for a healthy business.

    Examples
    --------
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> clv = pl.DataFrame({"customers": [2], "average_order_value": [100.0],
    ...     "purchases_per_customer_per_year": [3.0], "lifespan_years": [4.0],
    ...     "cltv": [1200.0]})
    >>> cac = pl.DataFrame({"spend": [250.0, 350.0], "new_customers": [1, 1]})
    >>> cm.ltv_to_cac(clv, cac)
    shape: (1, 3)
    ┌────────┬───────┬────────────┐
    │ cltv   ┆ cac   ┆ ltv_to_cac │
    │ ---    ┆ ---   ┆ ---        │
    │ f64    ┆ f64   ┆ f64        │
    ╞════════╪═══════╪════════════╡
    │ 1200.0 ┆ 300.0 ┆ 4.0        │
    └────────┴───────┴────────────┘
    """
    pair = _pair(clv, cac)
    out = _joined(pair).select(
        *pair.keys,
        "cltv",
        "cac",
        _api.safe_ratio(pl.col("cltv"), pl.col("cac")).alias("ltv_to_cac"),
    )
    if pair.keys:
        out = out.sort(pair.keys, nulls_last=True)
    return _api.finish(out, clv)


def cac_payback_months(clv: FrameT, cac: pl.DataFrame | pl.LazyFrame, /) -> FrameT:
    """Months of a customer's margin needed to earn back their acquisition cost.

    Takes the same two frames as :func:`ltv_to_cac`.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``clv``: group keys, ``cac``,
        ``monthly_value_per_customer``, ``cac_payback_months`` (Float64; null
        when the monthly value is null or 0).

    Notes
    -----
    ``monthly_value_per_customer = cltv / lifespan_years / 12`` (that is,
    average order value × purchases per year × margin ÷ 12), and
    ``cac_payback_months = cac / monthly_value_per_customer``.

    Examples
    --------
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> clv = pl.DataFrame({"customers": [2], "average_order_value": [100.0],
    ...     "purchases_per_customer_per_year": [3.0], "lifespan_years": [4.0],
    ...     "cltv": [1200.0]})
    >>> cac = pl.DataFrame({"spend": [250.0, 350.0], "new_customers": [1, 1]})
    >>> cm.cac_payback_months(clv, cac)
    shape: (1, 3)
    ┌───────┬────────────────────────────┬────────────────────┐
    │ cac   ┆ monthly_value_per_customer ┆ cac_payback_months │
    │ ---   ┆ ---                        ┆ ---                │
    │ f64   ┆ f64                        ┆ f64                │
    ╞═══════╪════════════════════════════╪════════════════════╡
    │ 300.0 ┆ 25.0                       ┆ 12.0               │
    └───────┴────────────────────────────┴────────────────────┘
    """
    pair = _pair(clv, cac)
    monthly = _api.safe_ratio(pl.col("cltv"), pl.col("lifespan_years") * 12)
    out = _joined(pair).select(
        *pair.keys,
        "cac",
        monthly.alias("monthly_value_per_customer"),
        _api.safe_ratio(pl.col("cac"), monthly).alias("cac_payback_months"),
    )
    if pair.keys:
        out = out.sort(pair.keys, nulls_last=True)
    return _api.finish(out, clv)
