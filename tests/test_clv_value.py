"""``cm.clv.customer_lifetime_value`` and ``cm.rfm_segments``.

The docstrings of :mod:`crm_metrics.clv._value` are the specification:

* CLV = margin · v̄ · Σ_{i=1..H} (E_i − E_{i−1}) / (1 + d)^i, with E_i the
  expected purchases up to i · ``horizon_unit`` converted into ``time_unit``
  (a month is 365.2425 / 12 days) and v̄ the Gamma-Gamma expected value;
* RFM scores are equal-count quantile groups 1..bins (ties split by
  ``customer_id``), recency scored on ``T - recency`` (more recent, higher);
  segments from the documented map of R and F on five levels.

Layout: CLV against a direct sum of the fit's own predictions, its
invariants (zero discount, margin, units) and errors; RFM scores and segments
by hand, by hypothesis (equal counts, order, shuffle invariance), errors.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
from oracle_kpis import collected

if TYPE_CHECKING:
    from collections.abc import Callable

    ToKind = Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]

DAYS_PER_MONTH = 365.2425 / 12


# --------------------------------------------------------------------------
# fixtures: seeded orders, their summaries and fits


def synthetic_orders(n: int = 400, seed: int = 5) -> pl.DataFrame:
    """Customers first buying in Q1 2024, then at a gamma-distributed daily rate until they leave.

    Lifetimes are exponential (mean 90 days), so both purchase models have an
    interior maximum.
    """
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 90, n)
    rate = rng.gamma(0.6, 1 / 12, n)
    leaves = np.minimum(first + 1 + rng.exponential(90.0, n).astype(np.int64), 274)
    ids, days = [], []
    for customer in range(n):  # a test helper: plain loops are fine
        span = leaves[customer] - first[customer]
        later = rng.integers(first[customer], leaves[customer], rng.poisson(rate[customer] * span))
        ids += [customer] * (1 + later.size)
        days += [int(first[customer]), *map(int, later)]
    return pl.DataFrame(
        {
            "order_id": range(len(ids)),
            "customer_id": ids,
            "ordered_at": [date(2024, 1, 1) + timedelta(days=d) for d in days],
            "amount": np.round(rng.gamma(4.0, 8.0, len(ids)), 2) + 0.01,
        }
    )


END = date(2024, 9, 30)


@pytest.fixture(scope="module")
def orders() -> pl.DataFrame:
    return synthetic_orders()


@pytest.fixture(scope="module")
def weekly(orders: pl.DataFrame) -> pl.DataFrame:
    return cm.rfm_summary(orders, time_unit="1w", observation_end=END)


@pytest.fixture(scope="module")
def daily(orders: pl.DataFrame) -> pl.DataFrame:
    return cm.rfm_summary(orders, observation_end=END)


@pytest.fixture(scope="module")
def fits(weekly: pl.DataFrame) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a chance correlation is not the point
        value = cm.clv.fit_gamma_gamma(weekly)
    return {
        "bg": cm.clv.fit_beta_geo(weekly),
        "pareto": cm.clv.fit_pareto_nbd(weekly),
        "gg": value,
    }


def direct_clv(
    purchase_fit: Any,
    value_fit: Any,
    summary: pl.DataFrame,
    *,
    horizon: int,
    step: float,
    discount_rate: float,
    margin: float = 1.0,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Σ margin · v̄ · (E(i·step) − E((i−1)·step)) / (1 + d)^i, one period at a time."""
    average = value_fit.expected_average_value(summary)["expected_average_value"].to_numpy()
    total = np.zeros(summary.height)
    for i in range(1, horizon + 1):
        now = purchase_fit.expected_purchases(summary, i * step)["expected_purchases"]
        before = purchase_fit.expected_purchases(summary, (i - 1) * step)["expected_purchases"]
        total += (now - before).to_numpy() / (1 + discount_rate) ** i
    return margin * average * total


# --------------------------------------------------------------------------
# customer_lifetime_value


@pytest.mark.parametrize("model", ["bg", "pareto"])
@pytest.mark.parametrize(
    "period",
    [
        (12, "1mo", DAYS_PER_MONTH / 7),
        (4, "1q", 3 * DAYS_PER_MONTH / 7),
        (26, "2w", 2.0),
        (10, "1w", 1.0),
        (30, "1d", 1 / 7),
        (2, "1y", 365.2425 / 7),
    ],
)
def test_clv_is_the_discounted_sum_of_expected_purchases(
    fits: dict[str, Any],
    weekly: pl.DataFrame,
    model: str,
    period: tuple[int, str, float],
) -> None:
    horizon, horizon_unit, step = period
    got = cm.clv.customer_lifetime_value(
        fits[model],
        fits["gg"],
        weekly,
        horizon=horizon,
        horizon_unit=horizon_unit,
        time_unit="1w",
        discount_rate=0.02,
        margin=0.3,
    )
    assert got.columns == ["customer_id", "expected_purchases", "expected_average_value", "clv"]
    assert got.schema["clv"] == pl.Float64
    assert got["customer_id"].to_list() == weekly["customer_id"].to_list()
    expected = direct_clv(
        fits[model], fits["gg"], weekly, horizon=horizon, step=step, discount_rate=0.02, margin=0.3
    )
    assert got["clv"].to_numpy() == pytest.approx(expected, rel=1e-10, abs=1e-12)
    total = fits[model].expected_purchases(weekly, horizon * step)["expected_purchases"]
    assert got["expected_purchases"].to_numpy() == pytest.approx(total.to_numpy(), rel=1e-12)
    average = fits["gg"].expected_average_value(weekly)["expected_average_value"]
    assert got["expected_average_value"].to_numpy() == pytest.approx(average.to_numpy())
    assert (got["clv"] >= 0).all()


def test_clv_by_hand_on_one_customer(fits: dict[str, Any]) -> None:
    one = pl.DataFrame(
        {
            "customer_id": [7],
            "frequency": [3],
            "recency": [20.0],
            "T": [30.0],
            "monetary_value": [40.0],
        }
    )
    bg, gg = fits["bg"], fits["gg"]
    step = DAYS_PER_MONTH / 7
    e = [bg.expected_purchases(one, i * step)["expected_purchases"].item() for i in range(4)]
    v = gg.p * (gg.gamma + 3 * 40.0) / (gg.p * 3 + gg.q - 1)
    by_hand = v * ((e[1] - e[0]) / 1.01 + (e[2] - e[1]) / 1.01**2 + (e[3] - e[2]) / 1.01**3)
    got = cm.clv.customer_lifetime_value(bg, gg, one, horizon=3, time_unit="1w")
    assert got["clv"].item() == pytest.approx(by_hand, rel=1e-12)
    assert got["expected_average_value"].item() == pytest.approx(v, rel=1e-12)


@pytest.mark.parametrize("model", ["bg", "pareto"])
def test_zero_discount_margin_and_units(
    fits: dict[str, Any], weekly: pl.DataFrame, model: str
) -> None:
    purchases, values = fits[model], fits["gg"]

    def clv(**kwargs: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
        out = cm.clv.customer_lifetime_value(purchases, values, weekly, time_unit="1w", **kwargs)
        return out["clv"].to_numpy()

    undiscounted = clv(discount_rate=0.0)
    average = values.expected_average_value(weekly)["expected_average_value"].to_numpy()
    total = purchases.expected_purchases(weekly, 12 * DAYS_PER_MONTH / 7)["expected_purchases"]
    assert undiscounted == pytest.approx(average * total.to_numpy(), rel=1e-10)
    assert clv(discount_rate=0.0, horizon=1, horizon_unit="1y") == pytest.approx(
        undiscounted, rel=1e-10
    )
    assert clv(discount_rate=0.0, horizon=4, horizon_unit="1q") == pytest.approx(
        undiscounted, rel=1e-10
    )
    assert clv(discount_rate=0.0, horizon=52, horizon_unit="1w") == pytest.approx(
        average * purchases.expected_purchases(weekly, 52.0)["expected_purchases"].to_numpy(),
        rel=1e-10,
    )
    base = clv()
    assert np.all(base <= undiscounted + 1e-12)
    assert np.all(clv(discount_rate=0.05) <= base + 1e-12)
    assert clv(margin=0.25) == pytest.approx(0.25 * base, rel=1e-12)
    assert clv(margin=0) == pytest.approx(np.zeros_like(base))
    assert clv(margin=3) == pytest.approx(3 * base, rel=1e-12)


@pytest.mark.parametrize("model", ["bg", "pareto"])
def test_weekly_and_daily_summaries_agree(
    fits: dict[str, Any], weekly: pl.DataFrame, daily: pl.DataFrame, model: str
) -> None:
    """The same orders in days or weeks: the same 12-month CLV, up to the fits' tolerance."""
    assert daily["T"].to_numpy() == pytest.approx(7 * weekly["T"].to_numpy(), rel=1e-12)
    in_days_fit = (cm.clv.fit_beta_geo if model == "bg" else cm.clv.fit_pareto_nbd)(daily)
    assert in_days_fit.alpha == pytest.approx(7 * fits[model].alpha, rel=1e-4)
    values = fits["gg"]  # monetary values do not depend on the time unit
    in_weeks = cm.clv.customer_lifetime_value(fits[model], values, weekly, time_unit="1w")
    in_days = cm.clv.customer_lifetime_value(in_days_fit, values, daily, time_unit="1d")
    assert in_days["customer_id"].to_list() == in_weeks["customer_id"].to_list()
    assert in_days["clv"].to_numpy() == pytest.approx(in_weeks["clv"].to_numpy(), rel=1e-3)
    assert in_days["clv"].sum() == pytest.approx(in_weeks["clv"].sum(), rel=1e-4)
    # stating the wrong unit is not caught, but changes the answer: the unit matters
    wrong = cm.clv.customer_lifetime_value(in_days_fit, values, daily, time_unit="1w")
    assert wrong["clv"].sum() < 0.5 * in_days["clv"].sum()


def test_clv_keeps_the_summary_order_and_reads_lazy(
    fits: dict[str, Any], weekly: pl.DataFrame
) -> None:
    shuffled = weekly.sample(fraction=1.0, shuffle=True, seed=2)
    got = cm.clv.customer_lifetime_value(fits["bg"], fits["gg"], shuffled, time_unit="1w")
    assert got["customer_id"].to_list() == shuffled["customer_id"].to_list()
    straight = cm.clv.customer_lifetime_value(fits["bg"], fits["gg"], weekly, time_unit="1w")
    assert_frame_equal(got.sort("customer_id"), straight.sort("customer_id"))
    lazy = cm.clv.customer_lifetime_value(fits["bg"], fits["gg"], weekly.lazy(), time_unit="1w")
    assert isinstance(lazy, pl.DataFrame)
    assert_frame_equal(lazy, straight)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": 0}, "horizon="),
        ({"horizon": -3}, "horizon="),
        ({"horizon": 1.5}, "horizon="),
        ({"horizon": "12"}, "horizon="),
        ({"discount_rate": -0.01}, "discount_rate="),
        ({"discount_rate": float("nan")}, "discount_rate="),
        ({"discount_rate": float("inf")}, "discount_rate="),
        ({"discount_rate": "1%"}, "discount_rate="),
        ({"margin": -0.5}, "margin="),
        ({"margin": None}, "margin="),
        ({"horizon_unit": "1h"}, "horizon_unit="),
        ({"horizon_unit": "month"}, "horizon_unit="),
        ({"time_unit": "7"}, "time_unit="),
    ],
)
def test_clv_bad_arguments(
    fits: dict[str, Any], weekly: pl.DataFrame, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(cm.ArgumentError, match=match):
        cm.clv.customer_lifetime_value(fits["bg"], fits["gg"], weekly, **kwargs)


def test_clv_bad_fits_and_summary(fits: dict[str, Any], weekly: pl.DataFrame) -> None:
    with pytest.raises(cm.ArgumentError, match="purchase_fit"):
        cm.clv.customer_lifetime_value(fits["gg"], fits["gg"], weekly)
    with pytest.raises(cm.ArgumentError, match="value_fit"):
        cm.clv.customer_lifetime_value(fits["bg"], fits["pareto"], weekly)
    with pytest.raises(cm.ArgumentError, match=r"(?s)monetary_value.*Hint:"):
        cm.clv.customer_lifetime_value(fits["bg"], fits["gg"], weekly.drop("monetary_value"))
    with pytest.raises(cm.ArgumentError, match="impossible summary row"):
        cm.clv.customer_lifetime_value(
            fits["bg"], fits["gg"], weekly.with_columns(recency=pl.col("T") + 1)
        )


# --------------------------------------------------------------------------
# rfm_segments


SEGMENT_MAP: dict[str, list[tuple[int, int]]] = {
    "Champions": [(5, 4), (5, 5)],
    "Loyal": [(r, f) for r in (3, 4) for f in (4, 5)],
    "Potential loyalist": [(r, f) for r in (4, 5) for f in (2, 3)],
    "New": [(5, 1)],
    "Promising": [(4, 1)],
    "Need attention": [(3, 3)],
    "About to sleep": [(3, 1), (3, 2)],
    "At risk": [(r, f) for r in (1, 2) for f in (3, 4)],
    "Cannot lose them": [(1, 5), (2, 5)],
    "Hibernating": [(1, 2), (2, 1), (2, 2)],
    "Lost": [(1, 1)],
}
"""The docstring's map from (R, F) on five levels to the segment."""

SEGMENT_OF = {cell: name for name, cells in SEGMENT_MAP.items() for cell in cells}


def test_segment_map_is_a_partition() -> None:
    assert sorted(SEGMENT_OF) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert sum(len(cells) for cells in SEGMENT_MAP.values()) == 25
    assert list(cm.clv.SEGMENTS.categories) == list(SEGMENT_MAP)  # best first


def segments(frame: pl.DataFrame, to_kind: ToKind, **kwargs: Any) -> pl.DataFrame:
    data = to_kind(frame)
    return collected(cm.rfm_segments(data, **kwargs), data)


def test_every_cell_of_the_map(to_kind: ToKind) -> None:
    """25 customers whose R and F ranks cover the 5 x 5 grid once each."""
    k = np.arange(25)
    summary = pl.DataFrame(
        {
            "customer_id": k,
            "frequency": (k % 5) * 5 + k // 5,  # F rank → f_score = k % 5 + 1
            "recency": k.astype(np.float64),  # T - recency = 100 - k → r_score = k // 5 + 1
            "T": np.full(25, 100.0),
            "monetary_value": (24 - k) * 2.5,  # m_score = 5 - k // 5
        }
    )
    out = segments(summary, to_kind)
    assert out["r_score"].to_list() == list(k // 5 + 1)
    assert out["f_score"].to_list() == list(k % 5 + 1)
    assert out["m_score"].to_list() == list(5 - k // 5)
    expected = [SEGMENT_OF[(r, f)] for r, f in zip(k // 5 + 1, k % 5 + 1, strict=True)]
    assert out["segment"].cast(pl.String).to_list() == expected
    assert out["rfm_score"].to_list() == [
        f"{r}{f}{m}" for r, f, m in zip(k // 5 + 1, k % 5 + 1, 5 - k // 5, strict=True)
    ]
    assert out.schema["segment"] == cm.clv.SEGMENTS
    for column in ("r_score", "f_score", "m_score"):
        assert out.schema[column] == pl.Int8
    assert out.schema["rfm_score"] == pl.String
    assert_frame_equal(out.select(summary.columns), summary)  # the summary comes through


def test_docstring_example_and_ties(to_kind: ToKind) -> None:
    summary = pl.DataFrame(
        {
            "customer_id": [10, 11, 12, 13, 14, 15],
            "frequency": [2, 2, 2, 2, 0, 9],  # four tied customers
            "recency": [10.0, 10.0, 10.0, 10.0, 0.0, 50.0],
            "T": [52.0] * 6,
            "monetary_value": [20.0, 20.0, 20.0, 20.0, 0.0, 40.0],
        }
    )
    out = segments(summary, to_kind, bins=3)
    # six customers in three groups of two; the ties split by customer_id
    for column in ("r_score", "f_score", "m_score"):
        assert sorted(out[column].to_list()) == [1, 1, 2, 2, 3, 3]
    assert out.filter(pl.col("customer_id") == 14)["f_score"].item() == 1
    assert out.filter(pl.col("customer_id") == 15)["f_score"].item() == 3
    tied = out.filter(pl.col("frequency") == 2).sort("customer_id")["f_score"].to_list()
    assert tied in ([1, 2, 2, 3], [3, 2, 2, 1])  # ordered by customer_id, one way or the other


@st.composite
def summaries(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n, unique=True))
    frequency = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))  # many ties
    T = draw(st.lists(st.sampled_from([10.0, 20.0, 30.0]), min_size=n, max_size=n))
    share = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=n, max_size=n))
    value = draw(st.lists(st.sampled_from([0.0, 9.99, 25.0, 100.0]), min_size=n, max_size=n))
    return pl.DataFrame(
        {
            "customer_id": ids,
            "frequency": frequency,
            "recency": [t * s if f else 0.0 for t, s, f in zip(T, share, frequency, strict=True)],
            "T": T,
            "monetary_value": [v if f else 0.0 for v, f in zip(value, frequency, strict=True)],
        }
    )


@settings(deadline=None, max_examples=60)
@given(summary=summaries(), bins=st.integers(2, 10), seed=st.integers(0, 2**16))
def test_scores_are_equal_count_groups(
    to_kind: ToKind, summary: pl.DataFrame, bins: int, seed: int
) -> None:
    out = segments(summary, to_kind, bins=bins)
    n = summary.height
    keys = {
        "r_score": -(pl.col("T") - pl.col("recency")),
        "f_score": pl.col("frequency"),
        "m_score": pl.col("monetary_value"),
    }
    for column, key in keys.items():
        scores = out[column]
        assert scores.dtype == pl.Int8
        assert scores.min() >= 1
        assert scores.max() <= bins
        sizes = [int((scores == s).sum()) for s in range(1, bins + 1)]
        assert sorted(sizes, reverse=True) == sorted(
            [n // bins + (1 if i < n % bins else 0) for i in range(bins)], reverse=True
        )
        # a higher value never scores lower
        ordered = out.with_columns(key.alias("_key")).sort("_key")
        per_value = (
            ordered.group_by("_key")
            .agg(pl.col(column).min().alias("low"), pl.col(column).max().alias("high"))
            .sort("_key")
        )
        assert (per_value["low"].shift(-1).fill_null(bins + 1) >= per_value["high"]).all()
    shuffled = segments(summary.sample(fraction=1.0, shuffle=True, seed=seed), to_kind, bins=bins)
    assert_frame_equal(shuffled.sort("customer_id"), out.sort("customer_id"))
    assert out["segment"].null_count() == 0
    if bins == 5:
        expected = [SEGMENT_OF[(r, f)] for r, f in zip(out["r_score"], out["f_score"], strict=True)]
        assert out["segment"].cast(pl.String).to_list() == expected


def test_empty_and_single_customer(to_kind: ToKind) -> None:
    one = pl.DataFrame(
        {
            "customer_id": [1],
            "frequency": [0],
            "recency": [0.0],
            "T": [5.0],
            "monetary_value": [0.0],
        }
    )
    out = segments(one, to_kind)
    assert out["rfm_score"].to_list() == ["111"]
    empty = segments(one.clear(), to_kind)
    assert empty.height == 0
    assert empty.schema == out.schema


@pytest.mark.parametrize("bins", [0, 1, 11, 2.5, "5", True, None])
def test_bad_bins(to_kind: ToKind, bins: Any) -> None:
    summary = pl.DataFrame(
        {
            "customer_id": [1],
            "frequency": [0],
            "recency": [0.0],
            "T": [5.0],
            "monetary_value": [0.0],
        }
    )
    with pytest.raises(cm.ArgumentError, match=r"(?s)bins=.*2 to 10.*Hint:"):
        cm.rfm_segments(to_kind(summary), bins=bins)


def test_bad_segment_inputs(to_kind: ToKind) -> None:
    summary = pl.DataFrame({"customer_id": [1], "frequency": [0], "recency": [0.0], "T": [5.0]})
    with pytest.raises(cm.ArgumentError, match=r"(?s)'monetary_value'.*Hint:"):
        cm.rfm_segments(to_kind(summary))
    with pytest.raises(cm.ArgumentError, match="must be a Polars frame"):
        cm.rfm_segments(summary.to_dicts())  # type: ignore[arg-type]
