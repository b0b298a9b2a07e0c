"""Maximum-likelihood plumbing shared by the models: data, optimiser, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import optimize
from threadpoolctl import threadpool_limits

from crm_metrics.exceptions import ArgumentError, ConvergenceError

__all__ = ["Weighted", "maximise", "numeric_hessian", "weighted_rows"]

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Weighted:
    """Distinct (frequency, recency, T[, monetary]) rows and how many customers share each."""

    x: Array
    t_x: Array
    T: Array
    weight: Array
    m: Array | None = None

    @property
    def n_customers(self) -> int:
        return int(self.weight.sum())


def weighted_rows(
    summary: pl.DataFrame | pl.LazyFrame, *, monetary: bool = False, repeat_only: bool = False
) -> Weighted:
    """Deduplicate a summary to distinct rows with weights (many customers share one)."""
    if not isinstance(summary, pl.DataFrame | pl.LazyFrame):
        msg = (
            f"summary must be a Polars frame, got {type(summary).__qualname__}.\n"
            "Hint: pass the result of cm.rfm_summary(orders, ...)."
        )
        raise ArgumentError(msg)
    needed = ["frequency", "recency", "T", *(["monetary_value"] if monetary else [])]
    names = summary.collect_schema().names()
    missing = [c for c in needed if c not in names]
    if missing:
        msg = (
            f"summary has no column {', '.join(map(repr, missing))}.\n"
            "Hint: pass the result of cm.rfm_summary(orders, ...)"
            + (" with monetary=True." if "monetary_value" in missing else ".")
        )
        raise ArgumentError(msg)
    frame = summary.lazy().select(
        pl.col("frequency").cast(pl.Float64),
        pl.col("recency").cast(pl.Float64),
        pl.col("T").cast(pl.Float64),
        *([pl.col("monetary_value").cast(pl.Float64)] if monetary else []),
    )
    if repeat_only:
        frame = frame.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
    rows = frame.group_by(needed).agg(pl.len().cast(pl.Float64).alias("w")).sort(needed).collect()
    if rows.height == 0:
        msg = (
            "The summary has no customers to fit on"
            + (" (none with a repeat purchase and a positive value)" if repeat_only else "")
            + ".\nHint: check the observation window and the orders."
        )
        raise ArgumentError(msg)
    bad = rows.filter(
        (pl.col("frequency") < 0)
        | (pl.col("recency") < 0)
        | (pl.col("recency") > pl.col("T"))
        | ((pl.col("frequency") == 0) & (pl.col("recency") != 0))
        | ~pl.all_horizontal(pl.col(needed).is_finite())
    )
    if bad.height:
        example = bad.row(0, named=True)
        msg = (
            f"{int(bad['w'].sum())} customers have an impossible summary row, e.g. {example}.\n"
            "Expected frequency >= 0, 0 <= recency <= T, recency = 0 when frequency = 0, "
            "all finite.\n"
            "Hint: build the summary with cm.rfm_summary."
        )
        raise ArgumentError(msg)
    return Weighted(
        x=rows["frequency"].to_numpy(),
        t_x=rows["recency"].to_numpy(),
        T=rows["T"].to_numpy(),
        weight=rows["w"].to_numpy(),
        m=rows["monetary_value"].to_numpy() if monetary else None,
    )


def maximise(
    negative_ll: Callable[[Array], tuple[float, Array]],
    start: Array,
    *,
    model: str,
    scale: float = 1.0,
) -> tuple[Array, float, bool]:
    """Minimise ``negative_ll`` over log-parameters with L-BFGS-B and its gradient.

    The objective is divided by ``scale`` (the number of customers) so that
    the first steps are of a sensible size; a non-finite value is a rejected
    step. Returns the parameters, the maximised log-likelihood and whether
    the fit converged (the optimiser's word, or a gradient that vanished).
    Raises :class:`ConvergenceError` for non-finite results.
    """

    def scaled(log_params: Array) -> tuple[float, Array]:
        value, gradient = negative_ll(log_params)
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return 1e30, np.full(len(log_params), 1e10)  # a wall: the line search backs off
        return value / scale, gradient / scale

    # L-BFGS-B calls BLAS on vectors of 4 numbers: OpenBLAS's worker threads then
    # spin on the other cores for nothing (they doubled the fit's CPU time)
    with threadpool_limits(limits=1, user_api="blas"):
        result = optimize.minimize(
            scaled,
            np.log(start),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-20.0, 20.0)] * len(start),
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
        )
    params = np.exp(result.x)
    if not (np.all(np.isfinite(params)) and np.isfinite(result.fun) and result.fun < 1e29):
        msg = (
            f"The {model} fit did not reach finite parameters: {result.message}.\n"
            "Hint: check the summary (time unit, observation window); very few repeat "
            "buyers make the model unidentifiable."
        )
        raise ConvergenceError(msg)
    flat = bool(np.max(np.abs(result.jac)) < 1e-5) if result.jac is not None else False
    return params, float(-result.fun * scale), bool(result.success) or flat


def numeric_hessian(gradient: Callable[[Array], Array], params: Array) -> Array:
    """Hessian of a function from central differences of its analytic gradient."""
    k = len(params)
    hessian = np.empty((k, k))
    for i in range(k):  # one column per parameter (k <= 4): not a loop over rows
        step = 1e-5 * max(abs(params[i]), 1e-3)
        up, down = params.copy(), params.copy()
        up[i] += step
        down[i] -= step
        hessian[:, i] = (gradient(up) - gradient(down)) / (2 * step)
    return (hessian + hessian.T) / 2


def standard_errors(gradient_of_negative_ll: Callable[[Array], Array], params: Array) -> Array:
    """Asymptotic standard errors: the inverse observed information's diagonal."""
    with threadpool_limits(limits=1, user_api="blas"):  # as in maximise
        hessian = numeric_hessian(gradient_of_negative_ll, params)
    try:
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return np.full(len(params), np.nan)
    diagonal = np.diag(covariance)
    return np.where(diagonal > 0, np.sqrt(np.abs(diagonal)), np.nan)
