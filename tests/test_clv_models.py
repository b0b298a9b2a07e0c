"""``cm.clv.fit_beta_geo``, ``fit_pareto_nbd``, ``fit_gamma_gamma``, ``fit_shifted_beta_geo``.

The docstrings of :mod:`crm_metrics.clv._models` and :mod:`crm_metrics.clv._fit`
are the specification: maximum likelihood on the deduplicated, weighted
summary rows; BG/NBD as Fader, Hardie & Lee (2005) eq. 6; Pareto/NBD as
Schmittlein, Morrison & Colombo (1987) in Fader & Hardie's note 009;
Gamma-Gamma as Fader & Hardie (2013); sBG as Fader & Hardie (2007).

Layout: published values (Hardie's notes, the CDNOW papers, the sBG paper);
the likelihoods against independent references (numerical derivatives, a
numerical double integral, lifetimes' formulas); the fits (weights, parameter
recovery on simulated data, lifetimes' fitters); the prediction methods'
invariants; errors.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

import crm_metrics as cm
from cdnow import cdnow_orders  # noqa: F401  (the fixture)
from crm_metrics.clv._models import (
    BetaGeoObjective,
    GammaGammaObjective,
    _weighted_correlation,
    beta_geo_log_likelihood,
    distinct_pairs,
    gamma_gamma_log_likelihood,
    pareto_nbd_log_likelihood,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes (archived) imports pkg_resources, old pandas APIs
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

if TYPE_CHECKING:
    from collections.abc import Sequence

Array = np.ndarray[Any, np.dtype[np.float64]]

CDNOW_BG = (0.243, 4.414, 0.793, 2.426)
CDNOW_PARETO = (0.55, 10.58, 0.61, 11.67)
"""Fader, Hardie & Lee's published Pareto/NBD fit of CDNOW (weeks), LL = −9594.98."""


# --------------------------------------------------------------------------
# helpers


def beta_geo(params: Sequence[float]) -> cm.clv.BetaGeoFit:
    r, alpha, a, b = params
    return cm.clv.BetaGeoFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=math.nan,
        std_errors={},
        n_customers=0,
        converged=True,
        params=np.array(params, dtype=np.float64),
    )


def pareto_nbd(params: Sequence[float]) -> cm.clv.ParetoNBDFit:
    r, alpha, s, beta = params
    return cm.clv.ParetoNBDFit(
        r=r,
        alpha=alpha,
        s=s,
        beta=beta,
        log_likelihood=math.nan,
        std_errors={},
        n_customers=0,
        converged=True,
        params=np.array(params, dtype=np.float64),
    )


def summary_frame(x: Sequence[float], t_x: Sequence[float], T: Sequence[float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": range(len(x)),
            "frequency": pl.Series(list(x), dtype=pl.Float64).cast(pl.Int64),
            "recency": pl.Series(list(t_x), dtype=pl.Float64),
            "T": pl.Series(list(T), dtype=pl.Float64),
        }
    )


def arrays(summary: pl.DataFrame) -> tuple[Array, Array, Array]:
    return tuple(summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))  # type: ignore[return-value]


def bg_reference_ll(params: Sequence[float], x: Array, t_x: Array, T: Array) -> Array:
    """FHL (2005) eq. 6, written out directly (no shared code with the library)."""
    r, alpha, a, b = params
    log_a = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    first = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        second = np.where(
            x > 0,
            special.betaln(a + 1, b + np.maximum(x, 1) - 1)
            - special.betaln(a, b + x)
            - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return log_a + np.logaddexp(first, second)


def simulate_beta_geo(
    n: int, params: Sequence[float], seed: int, *, ages: tuple[float, float] = (26.0, 52.0)
) -> pl.DataFrame:
    """BG/NBD customers: λ ~ Gamma(r, 1/α), p ~ Beta(a, b), drop-out coin after each repeat."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    rate = np.maximum(rng.gamma(r, 1 / alpha, n), 1e-300)
    p = rng.beta(a, b, n)
    T = rng.uniform(*ages, n)
    repeats_before_dropout = rng.geometric(p)  # dies right after this many repeat purchases
    clock, x, t_x = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():  # one step per purchase, all customers at once
        clock = clock + rng.exponential(1 / rate)
        bought = active & (clock <= T)
        x[bought] += 1
        t_x[bought] = clock[bought]
        active = bought & (x < repeats_before_dropout)
    return summary_frame(x, t_x, T)


def simulate_gamma_gamma(n: int, params: Sequence[float], seed: int) -> pl.DataFrame:
    """Repeat buyers' mean spend: ν ~ Gamma(q, rate γ), spends ~ Gamma(p, rate ν)."""
    p, q, gamma = params
    rng = np.random.default_rng(seed)
    x = 1 + rng.poisson(2.0, n)
    nu = rng.gamma(q, 1 / gamma, n)
    mean_spend = rng.gamma(p * x, 1 / nu) / x  # the sum of x Gamma(p, ν) spends, over x
    return pl.DataFrame(
        {
            "customer_id": range(n),
            "frequency": x,
            "recency": x.astype(np.float64),
            "T": x + 1.0,
            "monetary_value": mean_spend,
        }
    )


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_orders: pl.DataFrame) -> pl.DataFrame:  # noqa: F811
    return cm.rfm_summary(cdnow_orders, time_unit="1w", observation_end=date(1997, 9, 30))


# --------------------------------------------------------------------------
# published values


def test_beta_geo_log_likelihood_hardies_note() -> None:
    """Hardie's note 004 (BG/NBD in Excel): r, α, a, b = 0.25, 4, 0.8, 2.5 and T = 40."""
    ll, _ = beta_geo_log_likelihood(
        np.array([0.25, 4.0, 0.8, 2.5]),
        np.array([200.0, 0.0]),
        np.array([38.0, 0.0]),
        np.array([40.0, 40.0]),
    )
    assert ll[0] == pytest.approx(100.7957, abs=1e-4)
    assert ll[1] == pytest.approx(-0.59947382, abs=1e-8)


def test_cdnow_beta_geo(cdnow_summary: pl.DataFrame) -> None:
    fit = cm.clv.fit_beta_geo(cdnow_summary)
    assert (fit.r, fit.alpha, fit.a, fit.b) == pytest.approx(CDNOW_BG, abs=1e-3)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert fit.n_customers == 2357
    assert fit.converged
    assert all(0 < e < math.inf for e in fit.std_errors.values())


def test_cdnow_gamma_gamma(cdnow_summary: pl.DataFrame) -> None:
    fit = cm.clv.fit_gamma_gamma(cdnow_summary)
    assert (fit.p, fit.q, fit.gamma) == pytest.approx((6.25, 3.74, 15.44), abs=1e-2)
    assert fit.n_customers == 946
    assert fit.converged


def test_cdnow_pareto_nbd_published(cdnow_summary: pl.DataFrame) -> None:
    fit = cm.clv.fit_pareto_nbd(cdnow_summary)
    assert (fit.r, fit.alpha, fit.s, fit.beta) == pytest.approx(CDNOW_PARETO, abs=0.01)
    assert fit.log_likelihood == pytest.approx(-9594.98, abs=0.05)


REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


@pytest.mark.parametrize(
    ("survivors", "alpha", "beta", "ll"),
    [(REGULAR, 0.704, 1.182, -1680.3), (HIGH_END, 0.668, 3.806, -1611.2)],
    ids=["regular", "high-end"],
)
def test_shifted_beta_geo_fader_hardie_2007(
    survivors: list[int], alpha: float, beta: float, ll: float
) -> None:
    """Fitted on years 0-7, projected to year 12 (the paper's Figure 3)."""
    fit = cm.clv.fit_shifted_beta_geo(survivors[:8])
    assert (fit.alpha, fit.beta) == pytest.approx((alpha, beta), abs=1e-3)
    assert fit.log_likelihood == pytest.approx(ll, abs=0.05)
    assert fit.n_customers == 1000
    assert fit.converged
    projected = fit.survival(range(13))
    assert projected["period"].to_list() == list(range(13))
    # the projection tracks the five held-out years within 5 %
    assert (projected["survival"].to_numpy() * 1000) == pytest.approx(survivors, rel=0.05)
    # S(t) is the product of the retention rates r(1) ... r(t)
    rates = (beta + np.arange(12)) / (alpha + beta + np.arange(12))
    expected = np.concatenate(
        [[1.0], np.cumprod((fit.beta + np.arange(12)) / (fit.alpha + fit.beta + np.arange(12)))]
    )
    assert projected["survival"].to_numpy() == pytest.approx(expected, rel=1e-10)
    assert projected["retention_rate"][0] is None
    assert projected["retention_rate"].to_numpy()[1:] == pytest.approx(rates, abs=2e-3)
    assert fit.survival(12)["survival"].item() == pytest.approx(expected[-1], rel=1e-12)


# --------------------------------------------------------------------------
# likelihoods against independent references


@pytest.mark.parametrize(
    "params", [(0.25, 4.0, 0.8, 2.5), CDNOW_BG, (2.0, 0.5, 3.0, 0.7), (0.1, 60.0, 0.05, 20.0)]
)
def test_beta_geo_gradient_matches_central_differences(params: tuple[float, ...]) -> None:
    x = np.array([0.0, 1.0, 2.0, 7.0, 50.0, 500.0, 3.0])
    t_x = np.array([0.0, 0.5, 30.0, 37.9, 38.0, 38.5, 39.0])
    T = np.array([39.0, 39.0, 39.0, 39.0, 39.0, 39.0, 39.0])
    point = np.array(params)
    _, grad = beta_geo_log_likelihood(point, x, t_x, T)
    for i in range(4):
        step = 1e-6 * point[i]
        up, down = point.copy(), point.copy()
        up[i] += step
        down[i] -= step
        numeric = (
            beta_geo_log_likelihood(up, x, t_x, T)[0] - beta_geo_log_likelihood(down, x, t_x, T)[0]
        ) / (2 * step)
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-6)
    assert beta_geo_log_likelihood(point, x, t_x, T)[0] == pytest.approx(
        bg_reference_ll(params, x, t_x, T), rel=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 300),  # frequency
            st.floats(0.0, 1.0),  # recency as a share of T
            st.sampled_from([1.0, 7.0, 38.5, 39.0, 365.0, 1000.0]),  # T: repeated values
            st.integers(1, 50),  # weight
        ),
        min_size=1,
        max_size=40,
    ),
    params=st.tuples(
        st.floats(0.01, 20.0), st.floats(0.01, 500.0), st.floats(0.01, 20.0), st.floats(0.01, 50.0)
    ),
)
def test_the_fitting_objective_is_the_weighted_per_row_likelihood(
    rows: list[tuple[int, float, float, int]], params: tuple[float, ...]
) -> None:
    # the optimiser's objective groups terms by distinct x, T and recency: it must
    # equal the plain weighted sum of the per-row likelihood and its gradient
    x = np.array([float(f) for f, _, _, _ in rows])
    T = np.array([t for _, _, t, _ in rows])
    t_x = np.where(x > 0, np.round(np.array([s for _, s, _, _ in rows]) * T, 1), 0.0)
    weight = np.array([float(w) for _, _, _, w in rows])
    point = np.array(params)
    ll, grad = beta_geo_log_likelihood(point, x, t_x, T)
    total, gradient = BetaGeoObjective(x, t_x, T, weight)(point)
    assert total == pytest.approx(float(np.sum(weight * ll)), rel=1e-10)
    want = np.array([np.sum(weight * g) for g in grad])
    scale = np.sum(weight * np.abs(grad), axis=1) + 1e-300  # cancellation in the sums
    assert np.all(np.abs(gradient - want) <= 1e-10 * scale + 1e-9)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 300),  # frequency (repeat buyers only)
            st.floats(0.01, 5000.0),  # mean value
            st.integers(1, 50),  # weight
        ),
        min_size=1,
        max_size=40,
    ),
    params=st.tuples(st.floats(0.05, 30.0), st.floats(0.05, 30.0), st.floats(0.05, 500.0)),
)
def test_the_gamma_gamma_objective_is_the_weighted_per_row_likelihood(
    rows: list[tuple[int, float, int]], params: tuple[float, ...]
) -> None:
    x = np.array([float(f) for f, _, _ in rows])
    m = np.array([v for _, v, _ in rows])
    weight = np.array([float(w) for _, _, w in rows])
    point = np.array(params)
    ll, grad = gamma_gamma_log_likelihood(point, x, m)
    total, gradient = GammaGammaObjective(x, m, weight)(point)
    scale = float(np.sum(weight * np.abs(ll)))
    assert abs(total - float(np.sum(weight * ll))) <= 1e-11 * scale + 1e-9
    want = np.array([np.sum(weight * g) for g in grad])
    bound = np.sum(weight * np.abs(grad), axis=1) * 1e-10 + 1e-9
    assert np.all(np.abs(gradient - want) <= bound)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 60), st.floats(0.0, 1.0), st.sampled_from([5.0, 38.5, 39.0])),
        min_size=1,
        max_size=30,
    ),
    horizon=st.sampled_from([0.0, 1.0, 30.4, 365.0]),
    a=st.sampled_from([0.79, 1.0, 1.00004, 2.5]),
)
def test_expected_purchases_per_distinct_pair_equal_per_row(
    rows: list[tuple[int, float, float]], horizon: float, a: float
) -> None:
    # customer_lifetime_value computes the hypergeometric term once per distinct
    # (x, T): the same numbers as row by row, bit for bit
    x = np.array([float(f) for f, _, _ in rows])
    T = np.array([t for _, _, t in rows])
    t_x = np.where(x > 0, np.array([s for _, s, _ in rows]) * T, 0.0)
    fit = cm.clv.BetaGeoFit(
        r=0.24, alpha=4.41, a=a, b=2.43, log_likelihood=0.0, std_errors={},
        n_customers=len(rows), converged=True, params=np.array([0.24, 4.41, a, 2.43]),
    )  # fmt: skip
    pairs = distinct_pairs(x, T)
    assert len(pairs[0]) == len({(f, t) for f, _, t in rows})
    np.testing.assert_array_equal(
        fit._expected(x, t_x, T, horizon, pairs=pairs), fit._expected(x, t_x, T, horizon)
    )


@pytest.mark.parametrize("weights", [[1, 1, 1, 1], [3, 1, 2, 5]])
def test_weighted_correlation_is_the_correlation_of_repeated_rows(weights: list[int]) -> None:
    x = np.array([1.0, 2.0, 5.0, 9.0])
    y = np.array([10.0, 8.0, 30.0, 4.0])
    w = np.array(weights, dtype=np.float64)
    want = np.corrcoef(np.repeat(x, weights), np.repeat(y, weights))[0, 1]
    assert _weighted_correlation(x, y, w) == pytest.approx(want, rel=1e-12)
    assert np.isnan(_weighted_correlation(x, np.full(4, 7.0), w))  # no spread: undefined


def test_gamma_gamma_gradient_matches_central_differences() -> None:
    x = np.array([1.0, 2.0, 5.0, 30.0])
    m = np.array([10.0, 35.5, 3.2, 400.0])
    point = np.array([6.25, 3.74, 15.44])
    _, grad = gamma_gamma_log_likelihood(point, x, m)
    for i in range(3):
        step = 1e-6 * point[i]
        up, down = point.copy(), point.copy()
        up[i] += step
        down[i] -= step
        numeric = (
            gamma_gamma_log_likelihood(up, x, m)[0] - gamma_gamma_log_likelihood(down, x, m)[0]
        ) / (2 * step)
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-6)
    # the density of the mean of x Gamma(p, ν) spends, ν ~ Gamma(q, γ), integrated over ν
    p, q, gamma = point
    for xi, mi, ll in zip(x, m, gamma_gamma_log_likelihood(point, x, m)[0], strict=True):

        def joint(nu: float, xi: float = xi, mi: float = mi) -> float:
            mean_density = stats.gamma.pdf(mi, p * xi, scale=1 / (nu * xi))
            return float(mean_density * stats.gamma.pdf(nu, q, scale=1 / gamma))

        total, _ = integrate.quad(joint, 0, np.inf, epsrel=1e-11, limit=400)
        assert ll == pytest.approx(math.log(total), abs=1e-7)


def pareto_integral(params: Sequence[float], x: int, t_x: float, T: float) -> float:
    """log ∫∫ L(λ, μ | x, t_x, T) g(λ; r, α) g(μ; s, β) dλ dμ, by scipy's dblquad.

    L = λ^x e^{-(λ+μ)T} + λ^x μ/(λ+μ) (e^{-(λ+μ)t_x} - e^{-(λ+μ)T}): alive at T, or
    died between the last purchase and T.
    """
    r, alpha, s, beta = params
    log_norm = r * math.log(alpha) - math.lgamma(r) + s * math.log(beta) - math.lgamma(s)

    def integrand(mu: float, lam: float) -> float:
        if lam <= 0 or mu <= 0:
            return 0.0
        total = lam + mu
        alive = math.exp(-total * T)
        died = mu / total * (math.exp(-total * t_x) - math.exp(-total * T))
        log_prior = (r - 1) * math.log(lam) - alpha * lam + (s - 1) * math.log(mu) - beta * mu
        return (alive + died) * math.exp(x * math.log(lam) + log_prior + log_norm)

    lam_max = stats.gamma.ppf(1 - 1e-15, r + x, scale=1 / alpha)
    mu_max = stats.gamma.ppf(1 - 1e-15, s, scale=1 / beta)
    value, _ = integrate.dblquad(integrand, 0, lam_max, 0, mu_max, epsabs=0, epsrel=1e-10)
    return math.log(value)


PARETO_POINTS = [(1.5, 10.0, 1.3, 12.0), (1.5, 12.0, 2.0, 5.0)]  # alpha < beta, alpha > beta


@pytest.mark.parametrize("params", PARETO_POINTS, ids=["alpha<beta", "alpha>beta"])
@pytest.mark.parametrize(
    ("x", "t_x", "T"), [(0, 0.0, 38.0), (2, 30.5, 38.0), (6, 12.25, 38.5), (1, 5.0, 5.5)]
)
def test_pareto_nbd_log_likelihood_matches_double_integral(
    params: tuple[float, ...], x: int, t_x: float, T: float
) -> None:
    ll, _ = pareto_nbd_log_likelihood(
        np.array(params), np.array([float(x)]), np.array([t_x]), np.array([T])
    )
    assert ll[0] == pytest.approx(pareto_integral(params, x, t_x, T), abs=1e-7)


@pytest.mark.parametrize("params", PARETO_POINTS, ids=["alpha<beta", "alpha>beta"])
def test_pareto_nbd_last_purchase_at_T(params: tuple[float, ...]) -> None:
    one = (np.array([3.0]), np.array([38.0]), np.array([38.0]))
    ll, _ = pareto_nbd_log_likelihood(np.array(params), *one)
    assert ll[0] == pytest.approx(pareto_integral(params, 3, 38.0, 38.0), abs=1e-7)
    alive = pareto_nbd(params).probability_alive(summary_frame(*one))
    assert alive["probability_alive"].item() == 1.0  # bought at T: cannot have died before


rows = st.tuples(st.integers(0, 60), st.floats(0.0, 1.0), st.floats(0.5, 80.0)).map(
    lambda v: (float(v[0]), 0.0 if v[0] == 0 else max(v[1] * v[2], 1e-3), v[2])
)
"""(x, t_x, T) with 0 < t_x <= T when x > 0 (t_x = 0 otherwise)."""


@settings(deadline=None, max_examples=60)
@given(
    data=st.lists(rows, min_size=1, max_size=8),
    params=st.tuples(*(st.floats(0.05, 20.0) for _ in range(4))),
)
def test_log_likelihoods_match_lifetimes_formulas(
    data: list[tuple[float, float, float]], params: tuple[float, ...]
) -> None:
    x, t_x, T = (np.array(column) for column in zip(*data, strict=True))
    ours = beta_geo_log_likelihood(np.array(params), x, t_x, T)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.array(
            [
                -BetaGeoFitter._negative_log_likelihood(
                    np.log(params), x[i : i + 1], t_x[i : i + 1], T[i : i + 1], np.ones(1), 0.0
                )
                for i in range(len(x))
            ]
        )
        pareto_theirs = ParetoNBDFitter._conditional_log_likelihood(params, x, t_x, T)
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9)
    pareto_ours = pareto_nbd_log_likelihood(np.array(params), x, t_x, T)[0]
    # lifetimes' A0 subtracts two hypergeometric terms: it loses digits, hence abs 1e-6
    before_T = T - t_x > 1e-9 * T  # recency == T (to rounding) is the bug pinned above
    assert pareto_ours[before_T] == pytest.approx(pareto_theirs[before_T], rel=1e-7, abs=1e-6)


# --------------------------------------------------------------------------
# fits


@pytest.fixture(scope="module")
def simulated() -> pl.DataFrame:
    """A BG/NBD sample of 5,000 customers (fixed seed), in weeks."""
    return simulate_beta_geo(5000, (0.25, 4.0, 0.8, 2.5), seed=20240229)


def test_beta_geo_recovers_simulated_parameters(simulated: pl.DataFrame) -> None:
    fit = cm.clv.fit_beta_geo(simulated)
    assert fit.converged
    assert fit.n_customers == 5000
    truth = dict(zip(("r", "alpha", "a", "b"), (0.25, 4.0, 0.8, 2.5), strict=True))
    for name, value in truth.items():
        estimate, error = getattr(fit, name), fit.std_errors[name]
        assert 0 < error < 0.5 * value, name
        assert abs(estimate - value) < 3 * error, (name, estimate, value, error)


def test_gamma_gamma_recovers_simulated_parameters() -> None:
    data = simulate_gamma_gamma(5000, (6.0, 4.0, 15.0), seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # independent by construction: no correlation warning
        fit = cm.clv.fit_gamma_gamma(data)
    assert fit.converged
    assert fit.n_customers == 5000
    for name, value in {"p": 6.0, "q": 4.0, "gamma": 15.0}.items():
        estimate, error = getattr(fit, name), fit.std_errors[name]
        assert 0 < error < 0.5 * value, name
        assert abs(estimate - value) < 3 * error, (name, estimate, value, error)


def test_weighted_fit_is_the_fit_of_the_expanded_rows() -> None:
    """Rows are deduplicated and weighted; the result is the maximum over every customer."""
    sample = simulate_beta_geo(600, (0.5, 6.0, 1.2, 3.0), seed=3, ages=(20.0, 24.0))
    sample = sample.with_columns(pl.col("recency").floor(), pl.col("T").floor())  # duplicates
    distinct = sample.select("frequency", "recency", "T").unique().height
    assert distinct < sample.height / 2
    fit = cm.clv.fit_beta_geo(sample)
    x, t_x, T = arrays(sample)
    assert fit.n_customers == sample.height
    assert fit.log_likelihood == pytest.approx(
        bg_reference_ll(fit.params, x, t_x, T).sum(), rel=1e-12
    )
    _, grad = beta_geo_log_likelihood(fit.params, x, t_x, T)
    assert np.abs(grad.sum(axis=1) * fit.params).max() < 1e-3  # a stationary point of the sum

    def negative(log_params: Array) -> float:
        return -float(bg_reference_ll(np.exp(log_params), x, t_x, T).sum())

    start = optimize.minimize(
        negative,
        np.zeros(4),
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20_000},
    )
    best = optimize.minimize(negative, start.x, method="BFGS", options={"gtol": 1e-8})
    assert fit.log_likelihood >= -best.fun - 1e-6
    assert fit.params == pytest.approx(np.exp(best.x), rel=1e-3)
    shuffled = cm.clv.fit_beta_geo(sample.sample(fraction=1.0, shuffle=True, seed=1))
    assert shuffled.params == pytest.approx(fit.params, rel=1e-12)
    lazy = cm.clv.fit_beta_geo(sample.lazy())
    assert lazy.params == pytest.approx(fit.params, rel=1e-12)


def test_gamma_gamma_weights_and_filter() -> None:
    data = simulate_gamma_gamma(300, (6.0, 4.0, 15.0), seed=11).with_columns(
        pl.col("monetary_value").round(0).clip(1.0)
    )
    extra = pl.DataFrame(  # left out: no repeat purchase, or no positive value
        {
            "customer_id": [-1, -2],
            "frequency": [0, 3],
            "recency": [0.0, 3.0],
            "T": [5.0, 5.0],
            "monetary_value": [0.0, 0.0],
        }
    )
    fit = cm.clv.fit_gamma_gamma(pl.concat([data, extra]))
    assert fit.n_customers == 300
    x = data["frequency"].cast(pl.Float64).to_numpy()
    m = data["monetary_value"].to_numpy()
    assert fit.log_likelihood == pytest.approx(
        gamma_gamma_log_likelihood(fit.params, x, m)[0].sum(), rel=1e-12
    )
    _, grad = gamma_gamma_log_likelihood(fit.params, x, m)
    assert np.abs(grad.sum(axis=1) * fit.params).max() < 1e-3


# --------------------------------------------------------------------------
# against lifetimes' fitters on CDNOW


def _lifetimes_fit(fitter: Any, *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fitter.fit(*args)


def test_cdnow_beta_geo_vs_lifetimes(cdnow_summary: pl.DataFrame) -> None:
    x, t_x, T = arrays(cdnow_summary)
    theirs = _lifetimes_fit(BetaGeoFitter(), x, t_x, T)
    ours = cm.clv.fit_beta_geo(cdnow_summary)
    lifetimes_params = theirs.params_[["r", "alpha", "a", "b"]].to_numpy()

    def their_ll(params: Array) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return -len(x) * BetaGeoFitter._negative_log_likelihood(
                np.log(params), x, t_x, T, np.ones(len(x)), 0.0
            )

    assert ours.log_likelihood == pytest.approx(their_ll(ours.params), abs=1e-6)
    assert their_ll(ours.params) >= their_ll(lifetimes_params) - 1e-6
    assert ours.params == pytest.approx(lifetimes_params, rel=1e-4)


def test_cdnow_gamma_gamma_vs_lifetimes(cdnow_summary: pl.DataFrame) -> None:
    repeat = cdnow_summary.filter(pl.col("frequency") > 0)
    x = repeat["frequency"].cast(pl.Float64).to_numpy()
    m = repeat["monetary_value"].to_numpy()
    theirs = _lifetimes_fit(GammaGammaFitter(), x, m)
    ours = cm.clv.fit_gamma_gamma(cdnow_summary)
    lifetimes_params = theirs.params_[["p", "q", "v"]].to_numpy()
    their_ll = gamma_gamma_log_likelihood(lifetimes_params, x, m)[0].sum()
    assert ours.log_likelihood >= their_ll - 1e-6
    assert ours.params == pytest.approx(lifetimes_params, rel=1e-4)
    # the same conditional expectation as lifetimes', at lifetimes' parameters
    at_theirs = dataclasses.replace(
        ours,
        p=lifetimes_params[0],
        q=lifetimes_params[1],
        gamma=lifetimes_params[2],
        params=lifetimes_params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = theirs.conditional_expected_average_profit(
            cdnow_summary["frequency"].to_numpy(), cdnow_summary["monetary_value"].to_numpy()
        )
    mine = at_theirs.expected_average_value(cdnow_summary)["expected_average_value"]
    assert mine.to_numpy() == pytest.approx(np.asarray(values), rel=1e-10)


def test_cdnow_pareto_nbd_vs_lifetimes(cdnow_summary: pl.DataFrame) -> None:
    x, t_x, T = arrays(cdnow_summary)
    theirs = _lifetimes_fit(ParetoNBDFitter(), x, t_x, T)
    ours = cm.clv.fit_pareto_nbd(cdnow_summary)
    lifetimes_params = theirs.params_[["r", "alpha", "s", "beta"]].to_numpy()

    def their_ll(params: Array) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(ParetoNBDFitter._conditional_log_likelihood(params, x, t_x, T).sum())

    assert their_ll(ours.params) >= their_ll(lifetimes_params) - 1e-6
    assert ours.params == pytest.approx(lifetimes_params, rel=1e-2)
    assert ours.log_likelihood == pytest.approx(their_ll(ours.params), abs=1e-6)


def test_cdnow_pareto_nbd_converges(cdnow_summary: pl.DataFrame) -> None:
    fit = cm.clv.fit_pareto_nbd(cdnow_summary)
    assert fit.converged
    assert fit.n_customers == 2357
    assert np.all(np.isfinite(fit.params))
    assert fit.log_likelihood == pytest.approx(
        pareto_nbd_log_likelihood(fit.params, *arrays(cdnow_summary))[0].sum(), rel=1e-12
    )


# --------------------------------------------------------------------------
# prediction methods


MODELS = {
    "bg-cdnow": beta_geo(CDNOW_BG),
    "bg-a>1": beta_geo((1.2, 8.0, 2.5, 4.0)),
    "pareto-cdnow": pareto_nbd(CDNOW_PARETO),
    "pareto-alpha>beta": pareto_nbd((0.8, 12.0, 1.4, 5.0)),
    "pareto-s=1": pareto_nbd((0.8, 12.0, 1.0, 5.0)),
}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("t", [0.5, 10.0, 39.0, 78.0])
def test_probability_of_purchases_is_a_distribution(name: str, t: float) -> None:
    fit = MODELS[name]
    n = np.arange(400)
    probabilities = fit.probability_of_purchases(t, n)
    assert probabilities["n"].to_list() == n.tolist()
    p = probabilities["probability"].to_numpy()
    assert np.all((p >= -1e-15) & (p <= 1))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    mean = fit.expected_purchases_population(t)["expected_purchases"].item()
    assert (n * p).sum() == pytest.approx(mean, rel=1e-7)
    one = fit.probability_of_purchases(t, 3)["probability"].item()
    assert one == pytest.approx(p[3], rel=1e-12)
    assert fit.probability_of_purchases(0.0, [0, 1])["probability"].to_list() == pytest.approx(
        [1.0, 0.0]
    )


@settings(deadline=None, max_examples=60)
@given(data=st.lists(rows, min_size=1, max_size=10), name=st.sampled_from(list(MODELS)))
def test_predictions_are_probabilities_and_grow(
    data: list[tuple[float, float, float]], name: str
) -> None:
    fit = MODELS[name]
    summary = summary_frame(*zip(*data, strict=True))
    alive = fit.probability_alive(summary)
    assert alive["customer_id"].to_list() == summary["customer_id"].to_list()
    p = alive["probability_alive"].to_numpy()
    assert np.all((p >= 0) & (p <= 1))
    if isinstance(fit, cm.clv.BetaGeoFit):
        assert np.all(p[summary["frequency"].to_numpy() == 0] == 1.0)
    previous = np.zeros(summary.height)
    for t in (0.0, 0.5, 1.0, 5.0, 26.0, 52.0, 104.0):
        expected = fit.expected_purchases(summary, t)["expected_purchases"].to_numpy()
        assert np.all(np.isfinite(expected))
        assert np.all(expected >= previous - 1e-9 * (1 + previous))
        previous = expected
    population = fit.expected_purchases_population([0.0, 1.0, 10.0, 100.0])
    values = population["expected_purchases"].to_numpy()
    assert values[0] == 0.0
    assert np.all(np.diff(values) > 0)


def test_predictions_accept_lazy_summaries() -> None:
    summary = summary_frame([0, 2, 5], [0.0, 10.0, 30.0], [39.0, 39.0, 39.0])
    for fit in MODELS.values():
        eager = fit.expected_purchases(summary, 10.0)
        lazy = fit.expected_purchases(summary.lazy(), 10.0)
        assert eager.equals(lazy)
        assert fit.probability_alive(summary).equals(fit.probability_alive(summary.lazy()))


def bg_conditional_reference(
    params: Sequence[float], x: float, t_x: float, T: float, t: float
) -> float:
    """FHL (2005) eq. 10 with 2F1 summed in log space (its terms are all positive)."""
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    k = np.arange(200_000, dtype=np.float64)
    log_terms = (
        special.gammaln(r + x + k)
        - special.gammaln(r + x)
        + special.gammaln(b + x + k)
        - special.gammaln(b + x)
        - special.gammaln(a + b + x - 1 + k)
        + special.gammaln(a + b + x - 1)
        - special.gammaln(k + 1)
        + k * math.log(z)
    )
    log_hyp = special.logsumexp(log_terms)
    log_ratio = (r + x) * (math.log(alpha + T) - math.log(alpha + T + t))
    numerator = (a + b + x - 1) / (a - 1) * -math.expm1(log_ratio + log_hyp)
    odds = a / (b + x - 1) * math.exp((r + x) * (math.log(alpha + T) - math.log(alpha + t_x)))
    return numerator / (1 + odds)


def test_large_frequencies_stay_finite() -> None:
    heavy = summary_frame([500, 500, 0], [99.0, 20.0, 0.0], [100.0, 100.0, 100.0])
    x, t_x, T = arrays(heavy)
    for params in (CDNOW_BG, (1.2, 2.0, 2.5, 4.0)):
        assert np.all(np.isfinite(beta_geo_log_likelihood(np.array(params), x, t_x, T)[0]))
        fit = beta_geo(params)
        expected = fit.expected_purchases(heavy, 52.0)["expected_purchases"].to_numpy()
        assert expected[0] == pytest.approx(
            bg_conditional_reference(params, 500, 99.0, 100.0, 52.0), rel=1e-8
        )
        assert np.all(np.isfinite(fit.probability_alive(heavy)["probability_alive"].to_numpy()))
    for params in (CDNOW_PARETO, (0.8, 12.0, 1.4, 5.0)):
        assert np.all(np.isfinite(pareto_nbd_log_likelihood(np.array(params), x, t_x, T)[0]))
        fit = pareto_nbd(params)
        for t in (52.0, 520.0):
            expected = fit.expected_purchases(heavy, t)["expected_purchases"].to_numpy()
            assert np.all(np.isfinite(expected) & (expected >= 0))
        assert np.all(np.isfinite(fit.probability_alive(heavy)["probability_alive"].to_numpy()))
    for fitter in (cm.clv.fit_beta_geo, cm.clv.fit_pareto_nbd):
        sample = pl.concat(
            [summary_frame([0, 1, 3, 0, 2], [0.0, 5.0, 20.0, 0.0, 30.0], [40.0] * 5), heavy]
        ).with_columns(pl.int_range(pl.len()).alias("customer_id"))
        assert np.all(np.isfinite(fitter(sample).params))


def test_beta_geo_expected_purchases_long_horizon_large_frequency() -> None:
    heavy = summary_frame([500], [99.0], [100.0])
    fit = beta_geo(CDNOW_BG)
    expected = fit.expected_purchases(heavy, 520.0)["expected_purchases"].item()
    assert expected == pytest.approx(
        bg_conditional_reference(CDNOW_BG, 500, 99.0, 100.0, 520.0), rel=1e-8
    )


def test_beta_geo_predictions_at_a_equal_one() -> None:
    summary = summary_frame([0, 3], [0.0, 20.0], [39.0, 39.0])
    at_one = beta_geo((0.25, 4.0, 1.0, 2.5))
    near = beta_geo((0.25, 4.0, 1.0 + 1e-7, 2.5))
    got = at_one.expected_purchases(summary, 10.0)["expected_purchases"].to_numpy()
    assert got == pytest.approx(
        near.expected_purchases(summary, 10.0)["expected_purchases"].to_numpy(), rel=1e-5
    )
    population = at_one.expected_purchases_population(10.0)["expected_purchases"].item()
    assert population == pytest.approx(
        near.expected_purchases_population(10.0)["expected_purchases"].item(), rel=1e-5
    )


# --------------------------------------------------------------------------
# errors and degenerate data


NO_REPEATERS = summary_frame([0] * 6, [0.0] * 6, [10.0, 20.0, 30.0, 38.0, 38.0, 25.0])


@pytest.mark.parametrize("fitter", [cm.clv.fit_beta_geo, cm.clv.fit_pareto_nbd])
def test_no_repeat_buyers_is_refused(fitter: Any) -> None:
    with pytest.raises((cm.ConvergenceError, cm.ArgumentError), match="Hint:"):
        fitter(NO_REPEATERS)


def test_shifted_beta_geo_without_churn_is_refused() -> None:
    with pytest.raises((cm.ConvergenceError, cm.ArgumentError), match="Hint:"):
        cm.clv.fit_shifted_beta_geo([1000, 1000, 1000])


@pytest.mark.parametrize("fitter", [cm.clv.fit_beta_geo, cm.clv.fit_pareto_nbd])
def test_degenerate_fits_never_give_nan_parameters(fitter: Any) -> None:
    tiny = summary_frame([1], [5.0], [10.0])
    for data in (NO_REPEATERS, tiny, pl.concat([tiny, tiny])):
        try:
            fit = fitter(data)
        except (cm.ConvergenceError, cm.ArgumentError) as error:
            assert "Hint:" in str(error)
        else:
            assert np.all(np.isfinite(fit.params))
            assert math.isfinite(fit.log_likelihood)


def test_gamma_gamma_without_repeat_buyers() -> None:
    data = NO_REPEATERS.with_columns(monetary_value=pl.lit(0.0))
    with pytest.raises(cm.ArgumentError, match=r"(?s)no customers to fit on.*repeat.*Hint:"):
        cm.clv.fit_gamma_gamma(data)
    with pytest.raises(cm.ArgumentError, match=r"(?s)monetary_value.*Hint:.*monetary=True"):
        cm.clv.fit_gamma_gamma(NO_REPEATERS)


GOOD = summary_frame([0, 1, 4], [0.0, 10.0, 30.0], [38.0, 38.0, 38.0])
BAD_SUMMARIES = {
    "dict": (GOOD.to_dict(as_series=False), "must be a Polars frame"),
    "pandas": (GOOD.to_pandas(), "must be a Polars frame"),
    "missing": (GOOD.drop("T"), r"no column 'T'"),
    "empty": (GOOD.clear(), "no customers to fit on"),
    "recency>T": (GOOD.with_columns(recency=pl.Series([0.0, 40.0, 30.0])), "impossible"),
    "nan": (GOOD.with_columns(T=pl.Series([38.0, float("nan"), 38.0])), "impossible"),
    "inf": (GOOD.with_columns(T=pl.Series([38.0, float("inf"), 38.0])), "impossible"),
    # rows Gamma-Gamma leaves out (frequency 0) are not checked by it
    "recency-no-repeat": (GOOD.with_columns(recency=pl.Series([2.0, 10.0, 30.0])), "impossible"),
    "negative": (GOOD.with_columns(frequency=pl.Series([0, -1, 4])), "impossible"),
}


@pytest.mark.parametrize("case", list(BAD_SUMMARIES))
@pytest.mark.parametrize(
    "fitter", [cm.clv.fit_beta_geo, cm.clv.fit_pareto_nbd, cm.clv.fit_gamma_gamma]
)
def test_bad_summaries(case: str, fitter: Any) -> None:
    summary, match = BAD_SUMMARIES[case]
    if fitter is cm.clv.fit_gamma_gamma:
        if case in {"recency-no-repeat", "negative"}:
            return
        if isinstance(summary, pl.DataFrame):
            summary = summary.with_columns(monetary_value=pl.lit(10.0))
    with pytest.raises(cm.ArgumentError, match=r"(?s)" + match + ".*Hint:"):
        fitter(summary)


@pytest.mark.parametrize(
    "survivors",
    [[1000], [1000, 1200], [0, 0], [1000, 500, float("nan")], [1000, -5], [[1000, 500]], []],
)
def test_shifted_beta_geo_bad_input(survivors: Any) -> None:
    with pytest.raises(cm.ArgumentError, match=r"(?s)non-increasing.*Hint:"):
        cm.clv.fit_shifted_beta_geo(survivors)


def test_shifted_beta_geo_series_and_bad_periods() -> None:
    fit = cm.clv.fit_shifted_beta_geo(pl.Series(HIGH_END[:8]))
    assert fit.alpha == pytest.approx(0.668, abs=1e-3)
    with pytest.raises(cm.ArgumentError, match="periods="):
        fit.survival([-1, 2])


@pytest.mark.parametrize("fit", [beta_geo(CDNOW_BG), pareto_nbd(CDNOW_PARETO)])
def test_bad_prediction_arguments(fit: Any) -> None:
    for t in (-1.0, float("nan"), float("inf"), [[1.0]]):
        with pytest.raises(cm.ArgumentError, match="t="):
            fit.expected_purchases(GOOD, t)
        with pytest.raises(cm.ArgumentError, match="t="):
            fit.expected_purchases_population(t)
    with pytest.raises(cm.ArgumentError, match="n="):
        fit.probability_of_purchases(10.0, [0, -1])
    with pytest.raises(cm.ArgumentError, match="impossible summary row"):
        fit.probability_alive(GOOD.with_columns(recency=pl.Series([0.0, 40.0, 30.0])))
