"""Predictive customer lifetime value, and RFM segments."""

from __future__ import annotations

import numpy as np
import polars as pl

from crm_metrics._engine.periods import parse_every
from crm_metrics.clv._models import (
    BetaGeoFit,
    GammaGammaFit,
    ParetoNBDFit,
    _summary_arrays,
    distinct_pairs,
)
from crm_metrics.exceptions import ArgumentError
from crm_metrics.typing import FrameT

__all__ = ["SEGMENTS", "customer_lifetime_value", "rfm_segments"]

_DAYS_PER_MONTH = 365.2425 / 12


def _days(duration: str, name: str) -> float:
    every = parse_every(duration, name=name)
    if every.unit == "mo":
        return every.n * _DAYS_PER_MONTH
    return float(every.n * (1 if every.unit == "d" else 7))


def customer_lifetime_value(
    purchase_fit: BetaGeoFit | ParetoNBDFit,
    value_fit: GammaGammaFit,
    summary: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    horizon: int = 12,
    horizon_unit: str = "1mo",
    time_unit: str = "1d",
    discount_rate: float = 0.01,
    margin: float = 1.0,
) -> pl.DataFrame:
    """Discounted expected value of each customer's purchases over a horizon.

    Parameters
    ----------
    purchase_fit : BetaGeoFit or ParetoNBDFit
        How many purchases each customer will make.
    value_fit : GammaGammaFit
        How much each purchase is worth.
    summary : polars.DataFrame or polars.LazyFrame
        The :func:`crm_metrics.rfm_summary` the predictions are for, with
        ``monetary_value``.
    horizon : int
        Number of periods to add up.
    horizon_unit : str
        Length of one period, e.g. ``"1mo"``; ``discount_rate`` is per period.
    time_unit : str
        The ``time_unit`` the summary (and so the fits) were built with, e.g.
        ``"1w"`` for weekly recency and T. It defaults to ``"1d"``, the default
        of :func:`~crm_metrics.rfm_summary`; a summary in other units must say
        so here, or every horizon is off by that factor (nothing in a summary
        records its unit).
    discount_rate : float
        Discount per period (0.01 per month is about 12.7 % a year); ≥ 0.
    margin : float
        Share of revenue kept as profit.

    Returns
    -------
    polars.DataFrame
        ``customer_id``, ``expected_purchases`` (over the whole horizon),
        ``expected_average_value``, ``clv`` (Float64), in the summary's order.

    Notes
    -----
    With :math:`E_i` the expected purchases up to the end of period :math:`i`
    (:math:`i \\cdot` ``horizon_unit``, converted into ``time_unit``; a month
    is 365.2425 / 12 days),

    .. math::

        \\text{CLV} = \\text{margin} \\cdot \\bar v \\sum_{i=1}^{H}
        \\frac{E_i - E_{i-1}}{(1 + d)^i}

    where :math:`\\bar v` is the Gamma-Gamma expected value per purchase.

    Examples
    --------
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> summary = pl.DataFrame(
    ...     {
    ...         "customer_id": range(8),
    ...         "frequency": [0, 1, 4, 0, 2, 7, 3, 1],
    ...         "recency": [0.0, 10.0, 30.0, 0.0, 5.0, 37.0, 20.0, 2.0],
    ...         "T": [38.0, 38.0, 38.0, 30.0, 30.0, 38.0, 35.0, 33.0],
    ...         "monetary_value": [0.0, 30.0, 22.0, 0.0, 35.0, 24.0, 31.0, 20.0],
    ...     }
    ... )
    >>> purchases = cm.clv.fit_beta_geo(summary)
    >>> values = cm.clv.fit_gamma_gamma(summary)
    >>> clv = cm.clv.customer_lifetime_value(purchases, values, summary, time_unit="1w")
    >>> clv.columns
    ['customer_id', 'expected_purchases', 'expected_average_value', 'clv']
    >>> bool((clv["clv"] >= 0).all())
    True
    """
    if not isinstance(purchase_fit, BetaGeoFit | ParetoNBDFit):
        msg = (
            f"purchase_fit is a {type(purchase_fit).__qualname__}, not a purchase model.\n"
            "Hint: pass cm.clv.fit_beta_geo(summary) or cm.clv.fit_pareto_nbd(summary)."
        )
        raise ArgumentError(msg)
    if not isinstance(value_fit, GammaGammaFit):
        msg = (
            f"value_fit is a {type(value_fit).__qualname__}, not a spend model.\n"
            "Hint: pass cm.clv.fit_gamma_gamma(summary)."
        )
        raise ArgumentError(msg)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        msg = (
            f"horizon={horizon!r} is not a whole number of periods >= 1.\n"
            "Hint: horizon=12 with horizon_unit='1mo' is one year."
        )
        raise ArgumentError(msg)
    for name, value in (("discount_rate", discount_rate), ("margin", margin)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            bad = True
        else:
            bad = not 0 <= value < float("inf")
        if bad:
            msg = (
                f"{name}={value!r} is not a finite number >= 0.\n"
                "Hint: discount_rate is per horizon_unit period (0.01 a month); margin a share."
            )
            raise ArgumentError(msg)
    step = _days(horizon_unit, "horizon_unit") / _days(time_unit, "time_unit")
    frame = summary.lazy().collect() if isinstance(summary, pl.LazyFrame) else summary
    _, x, t_x, T = _summary_arrays(frame)  # checked once for every period of the horizon
    pairs = distinct_pairs(x, T) if isinstance(purchase_fit, BetaGeoFit) else None
    previous = np.zeros(frame.height)
    discounted = np.zeros(frame.height)
    for i in range(1, horizon + 1):  # one vectorised pass per period of the horizon
        cumulative = purchase_fit._expected(x, t_x, T, i * step, pairs=pairs)
        discounted += (cumulative - previous) * (1 + discount_rate) ** -i
        previous = cumulative
    values = value_fit.expected_average_value(frame)
    average = values["expected_average_value"].to_numpy()
    return values.select(
        pl.first(),
        pl.Series("expected_purchases", previous),
        pl.Series("expected_average_value", average),
        pl.Series("clv", margin * average * discounted),
    )


SEGMENTS = pl.Enum(
    [
        "Champions",
        "Loyal",
        "Potential loyalist",
        "New",
        "Promising",
        "Need attention",
        "About to sleep",
        "At risk",
        "Cannot lose them",
        "Hibernating",
        "Lost",
    ]
)
"""The RFM segment names, best first."""


def _score(value: pl.Expr, bins: int) -> pl.Expr:
    """Quantile score 1..bins; ties split deterministically by customer_id."""
    rank = pl.struct(value, pl.col("customer_id")).rank("ordinal") - 1
    return (rank * bins // pl.len() + 1).cast(pl.Int8)


def rfm_segments(summary: FrameT, /, *, bins: int = 5) -> FrameT:
    """Recency, frequency and monetary scores, and the usual named segments.

    Parameters
    ----------
    summary : polars.DataFrame or polars.LazyFrame
        The result of :func:`crm_metrics.rfm_summary` (with ``monetary_value``).
    bins : int
        Number of score levels (quantile groups), 2 to 10.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        The summary with ``r_score``, ``f_score``, ``m_score`` (Int8, 1 =
        worst, ``bins`` = best), ``rfm_score`` (String, e.g. ``"545"``) and
        ``segment`` (the Enum :data:`SEGMENTS`).

    Notes
    -----
    Recency for scoring is the time since the last purchase, ``T - recency``:
    the more recent, the higher ``r_score``. Scores are equal-count quantile
    groups of the customers; ties are split deterministically by
    ``customer_id``. Segments come from ``r_score`` and ``f_score`` rescaled
    to five levels, with the common map: Champions (R 5, F 4–5), Loyal (R 3–4,
    F 4–5), Potential loyalist (R 4–5, F 2–3), New (R 5, F 1), Promising
    (R 4, F 1), Need attention (R 3, F 3), About to sleep (R 3, F 1–2), At
    risk (R 1–2, F 3–4), Cannot lose them (R 1–2, F 5), Hibernating (R 1–2,
    F 1–2, except R 1 F 1) and Lost (R 1, F 1).

    Examples
    --------
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> summary = pl.DataFrame(
    ...     {
    ...         "customer_id": range(5),
    ...         "frequency": [0, 8, 3, 1, 5],
    ...         "recency": [0.0, 50.0, 20.0, 5.0, 49.0],
    ...         "T": [52.0] * 5,
    ...         "monetary_value": [0.0, 40.0, 25.0, 10.0, 30.0],
    ...     }
    ... )
    >>> cm.rfm_segments(summary).select("customer_id", "rfm_score", "segment")
    shape: (5, 3)
    ┌─────────────┬───────────┬────────────────┐
    │ customer_id ┆ rfm_score ┆ segment        │
    │ ---         ┆ ---       ┆ ---            │
    │ i64         ┆ str       ┆ enum           │
    ╞═════════════╪═══════════╪════════════════╡
    │ 0           ┆ 111       ┆ Lost           │
    │ 1           ┆ 555       ┆ Champions      │
    │ 2           ┆ 333       ┆ Need attention │
    │ 3           ┆ 222       ┆ Hibernating    │
    │ 4           ┆ 444       ┆ Loyal          │
    └─────────────┴───────────┴────────────────┘
    """
    if not isinstance(bins, int) or not 2 <= bins <= 10:
        msg = f"bins={bins!r} must be a whole number from 2 to 10.\nHint: 5 gives quintiles."
        raise ArgumentError(msg)
    if not isinstance(summary, pl.DataFrame | pl.LazyFrame):
        msg = f"summary must be a Polars frame, got {type(summary).__qualname__}."
        raise ArgumentError(msg)
    names = summary.collect_schema().names()
    missing = [
        c for c in ("customer_id", "frequency", "recency", "T", "monetary_value") if c not in names
    ]
    if missing:
        msg = (
            f"summary has no column {', '.join(map(repr, missing))}.\n"
            "Hint: pass cm.rfm_summary(orders) (monetary=True)."
        )
        raise ArgumentError(msg)
    r = _score(-(pl.col("T") - pl.col("recency")), bins)
    f = _score(pl.col("frequency"), bins)
    m = _score(pl.col("monetary_value"), bins)
    r5 = ((pl.col("r_score").cast(pl.Int32) * 5 + bins - 1) // bins).cast(pl.Int8)
    f5 = ((pl.col("f_score").cast(pl.Int32) * 5 + bins - 1) // bins).cast(pl.Int8)
    segment = (
        pl.when((r5 == 5) & (f5 >= 4))
        .then(pl.lit("Champions"))
        .when(r5.is_between(3, 4) & (f5 >= 4))
        .then(pl.lit("Loyal"))
        .when((r5 >= 4) & f5.is_between(2, 3))
        .then(pl.lit("Potential loyalist"))
        .when((r5 == 5) & (f5 == 1))
        .then(pl.lit("New"))
        .when((r5 == 4) & (f5 == 1))
        .then(pl.lit("Promising"))
        .when((r5 == 3) & (f5 == 3))
        .then(pl.lit("Need attention"))
        .when((r5 == 3) & (f5 <= 2))
        .then(pl.lit("About to sleep"))
        .when((r5 <= 2) & f5.is_between(3, 4))
        .then(pl.lit("At risk"))
        .when((r5 <= 2) & (f5 == 5))
        .then(pl.lit("Cannot lose them"))
        .when((r5 == 1) & (f5 == 1))
        .then(pl.lit("Lost"))
        .otherwise(pl.lit("Hibernating"))
    )
    out = summary.with_columns(
        r.alias("r_score"), f.alias("f_score"), m.alias("m_score")
    ).with_columns(
        pl.concat_str(
            pl.col("r_score").cast(pl.String),
            pl.col("f_score").cast(pl.String),
            pl.col("m_score").cast(pl.String),
        ).alias("rfm_score"),
        segment.cast(SEGMENTS).alias("segment"),
    )
    return out
