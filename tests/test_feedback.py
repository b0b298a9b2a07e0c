"""``cm.net_promoter_score``.

The docstring of :mod:`crm_metrics.feedback` is the specification: promoters
score 9–10, passives 7–8, detractors 0–6; ``nps = 100 (p₊ − p₋)``; the margin is
``z · 100 · sqrt((p₊ + p₋ − (p₊ − p₋)²) / n)`` with ``z`` the two-sided normal
quantile of ``confidence``; ``nps_low`` / ``nps_high`` are clipped to ±100; an
eager result with a row of 1–29 responses warns (``SmallSampleWarning``).

Layout: golden tests by hand; hypothesis properties against
:func:`oracle_kpis.nps_oracle`; invariants; warnings; errors; known bugs.
"""

from __future__ import annotations

import math
import warnings
from datetime import date, datetime
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
import strategies
from oracle_kpis import (
    EVERY,
    as_of_exists,
    as_of_values,
    check_kpi,
    collected,
    nps_oracle,
    nps_schema,
    nps_values,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    ToKind = Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]

# --------------------------------------------------------------------------
# helpers


def make_responses(
    scores: Sequence[int],
    stamps: Sequence[date | datetime] | date | datetime = date(2024, 3, 1),
    *,
    time_zone: str | None = None,
    **extra: Sequence[Any],
) -> pl.DataFrame:
    """A ``survey_responses`` frame; one timestamp for all, or one per score."""
    when = list(stamps) if isinstance(stamps, list | tuple) else [stamps] * len(scores)
    if when and not isinstance(when[0], datetime):
        responded_at = pl.Series("responded_at", when, dtype=pl.Date)
    else:
        responded_at = pl.Series("responded_at", when, dtype=pl.Datetime("us"))
        if time_zone is not None:
            responded_at = responded_at.dt.replace_time_zone(time_zone)
    return pl.DataFrame(
        [
            pl.Series("response_id", range(len(scores)), dtype=pl.Int64),
            responded_at,
            pl.Series("score", scores, dtype=pl.Int64),
            *(pl.Series(name, values) for name, values in extra.items()),
        ]
    )


def quiet_nps(data: pl.DataFrame | pl.LazyFrame, **kwargs: Any) -> pl.DataFrame:
    """The NPS of ``data`` as a DataFrame, small-sample warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cm.SmallSampleWarning)
        return collected(cm.net_promoter_score(data, **kwargs), data)


def quiet(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cm.SmallSampleWarning)
            return function(*args, **kwargs)

    return call


# --------------------------------------------------------------------------
# 1. golden tests


def test_hand_count_with_its_margin(to_kind: ToKind) -> None:
    """10 answers: 5 promoters (10, 9, 9, 9, 9), 2 passives (8, 7), 3 detractors (6, 3, 0).

    p₊ = 0.5, p₋ = 0.3, NPS = 100 × (0.5 − 0.3) = 20.
    Variance term p₊ + p₋ − (p₊ − p₋)² = 0.8 − 0.04 = 0.76; / n = 0.076;
    sqrt(0.076) = 0.275681; margin = 1.959964 × 100 × 0.275681 = 54.0325.
    Interval: 20 − 54.0325 = −34.0325 to 20 + 54.0325 = 74.0325 (inside ±100).
    """
    frame = make_responses([10, 9, 9, 9, 9, 8, 7, 6, 3, 0])
    got = quiet_nps(to_kind(frame))
    assert got.schema == nps_schema()
    row = got.row(0, named=True)
    assert (row["responses"], row["promoters"], row["passives"], row["detractors"]) == (
        10,
        5,
        2,
        3,
    )
    assert row["nps"] == pytest.approx(20.0)
    assert row["nps_margin"] == pytest.approx(54.0325, abs=1e-4)
    assert row["nps_low"] == pytest.approx(-34.0325, abs=1e-4)
    assert row["nps_high"] == pytest.approx(74.0325, abs=1e-4)
    assert_frame_equal(nps_oracle(frame), got)


def test_forty_answers_no_warning(to_kind: ToKind) -> None:
    """20 promoters, 10 passives, 10 detractors: p₊ = 0.5, p₋ = 0.25, NPS = 25.

    0.5 + 0.25 − 0.25² = 0.6875; / 40 = 0.0171875; sqrt = 0.1311011;
    margin = 1.959964 × 13.11011 = 25.6953.
    """
    frame = make_responses([9] * 10 + [10] * 10 + [7] * 5 + [8] * 5 + [0] * 5 + [6] * 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = collected(cm.net_promoter_score(to_kind(frame)), to_kind(frame))
    row = got.row(0, named=True)
    assert row["nps"] == pytest.approx(25.0)
    assert row["nps_margin"] == pytest.approx(25.6953, abs=1e-4)


def test_interval_is_clipped_to_plus_minus_100(to_kind: ToKind) -> None:
    """4 promoters, 1 detractor: NPS 60; 0.8 + 0.2 − 0.36 = 0.64; / 5 = 0.128;
    sqrt = 0.357771; margin = 1.959964 × 35.7771 = 70.1218: 60 + 70.12 is clipped to 100.
    All promoters: NPS 100, margin 0. All detractors: −100, margin 0.
    """
    frame = make_responses(
        [10, 10, 9, 9, 0] + [10] * 3 + [2] * 2,
        [date(2024, 1, 2)] * 5 + [date(2024, 2, 2)] * 3 + [date(2024, 3, 2)] * 2,
    )
    got = quiet_nps(to_kind(frame), every="1mo", as_of=date(2024, 3, 31))
    assert got.select("nps", "nps_low", "nps_high").rows() == [
        (pytest.approx(60.0), pytest.approx(60.0 - 70.1218, abs=1e-4), 100.0),
        (100.0, 100.0, 100.0),
        (-100.0, -100.0, -100.0),
    ]
    assert got["nps_margin"].to_list() == [pytest.approx(70.1218, abs=1e-4), 0.0, 0.0]
    assert_frame_equal(nps_oracle(frame, every="1mo", as_of=date(2024, 3, 31)), got)


def test_score_boundaries() -> None:
    frame = make_responses(list(range(11)))
    got = quiet_nps(frame)
    # 0–6: 7 detractors, 7–8: 2 passives, 9–10: 2 promoters → 100 × (2 − 7) / 11
    assert got.select("promoters", "passives", "detractors").row(0) == (2, 2, 7)
    assert got["nps"].item() == pytest.approx(-500 / 11)


def test_confidence_changes_z(to_kind: ToKind) -> None:
    """90 %: z = 1.644854; same shares as the hand count: 1.644854 × 27.5681 = 45.3455."""
    frame = make_responses([10, 9, 9, 9, 9, 8, 7, 6, 3, 0])
    got = quiet_nps(to_kind(frame), confidence=0.90)
    assert got["nps_margin"].item() == pytest.approx(45.3455, abs=1e-4)
    wide = quiet_nps(to_kind(frame), confidence=0.99)
    assert wide["nps_margin"].item() > 54.03


def test_periods_are_dense_and_flag_completeness(to_kind: ToKind) -> None:
    frame = make_responses(
        [10, 0, 8, 9],
        [
            datetime(2024, 1, 31, 23, 30),  # Paris: still January
            datetime(2024, 2, 1, 0, 30),  # Paris: 1 February (31 January in UTC)
            datetime(2024, 4, 2, 12),
            datetime(2024, 4, 30, 8),
        ],
        time_zone="Europe/Paris",
    )
    got = quiet_nps(to_kind(frame), every="1mo")
    assert got.select("period_start", "responses", "nps", "is_complete").rows() == [
        (date(2024, 1, 1), 1, 100.0, True),
        (date(2024, 2, 1), 1, -100.0, True),
        (date(2024, 3, 1), 0, None, True),  # no response: zero counts, null NPS
        (date(2024, 4, 1), 2, 50.0, False),  # observed up to 30 April 08:00 only
    ]
    march = got.row(2, named=True)
    assert march["nps_margin"] is None and march["nps_low"] is None
    assert_frame_equal(nps_oracle(frame, every="1mo"), got)


def test_responses_after_as_of_are_left_out(to_kind: ToKind) -> None:
    frame = make_responses([10, 0], [date(2024, 1, 31), date(2024, 2, 1)])
    got = quiet_nps(to_kind(frame), as_of=datetime(2024, 1, 31, 23, 59))
    assert got.select("responses", "nps").row(0) == (1, 100.0)


def test_group_by_customer_attribute_with_anonymous_null_group(to_kind: ToKind) -> None:
    customers = pl.DataFrame({"customer_id": [1, 2, 3], "country": ["FR", "DE", "FR"]})
    responses = make_responses(
        [10, 9, 0, 8, 10, 3],
        customer_id=[1, 3, 2, None, 2, None],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", cm.OrphanRowsWarning)  # anonymous is not orphan
        joined = cm.with_customer_attributes(responses, customers, "country")
    got = quiet_nps(to_kind(joined), group_by="country")
    assert got.select("country", "responses", "promoters", "passives", "detractors").rows() == [
        ("DE", 2, 1, 0, 1),
        ("FR", 2, 2, 0, 0),
        (None, 2, 0, 1, 1),  # anonymous responses: counted in the null group
    ]
    overall = quiet_nps(to_kind(responses))
    sums = got.select(pl.col("responses", "promoters", "passives", "detractors").sum())
    assert_frame_equal(sums, overall.select(sums.columns))
    assert_frame_equal(nps_oracle(joined, group_by="country"), got)


# --------------------------------------------------------------------------
# 2. warnings


@pytest.mark.parametrize("n", [1, 29])
def test_small_sample_warning_below_30(n: int) -> None:
    frame = make_responses([9] * n)
    with pytest.warns(cm.SmallSampleWarning, match="fewer than 30"):
        cm.net_promoter_score(frame)


@pytest.mark.parametrize("n", [30, 31, 200])
def test_no_small_sample_warning_from_30(n: int) -> None:
    frame = make_responses([9, 3] * (n // 2) + [7] * (n % 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cm.net_promoter_score(frame)


def test_small_sample_warning_counts_rows_and_ignores_empty_periods() -> None:
    frame = make_responses(
        [9] * 30 + [3] * 5,
        [date(2024, 1, 5)] * 30 + [date(2024, 3, 5)] * 5,
    )
    with pytest.warns(cm.SmallSampleWarning, match="1 of 3 NPS rows"):
        cm.net_promoter_score(frame, every="1mo")
    big = make_responses([9] * 60, [date(2024, 1, 5)] * 30 + [date(2024, 3, 5)] * 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # February has 0 responses: not a small sample
        cm.net_promoter_score(big, every="1mo")


def test_no_warning_for_lazy_results() -> None:
    frame = make_responses([9] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cm.net_promoter_score(frame.lazy())
    assert isinstance(result, pl.LazyFrame)


# --------------------------------------------------------------------------
# 3. properties against the oracle


@st.composite
def nps_cases(draw: st.DrawFn) -> dict[str, Any]:
    zone = draw(strategies.zones())
    date_only = draw(st.booleans())
    frame = draw(
        strategies.survey_responses(
            max_rows=40, time_zone=zone, date_only=date_only, with_optional=None
        )
    )
    n = frame.height
    segments = draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n))
    waves = draw(st.lists(st.sampled_from([1, 2, None]), min_size=n, max_size=n))
    frame = frame.with_columns(
        pl.Series("segment", segments, dtype=pl.String),
        pl.Series("wave", waves, dtype=pl.Int64),
    )
    return {
        "frame": frame,
        "zone": None if date_only else zone,
        "every": draw(st.sampled_from([None, *EVERY])),
        "group_by": draw(st.sampled_from([None, "segment", ["wave", "segment"]])),
        "confidence": draw(st.sampled_from([0.95, 0.9, 0.5, 0.999])),
        "as_of": draw(as_of_values()),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(deadline=None, max_examples=60)
@given(case=nps_cases())
def test_matches_oracle(case: dict[str, Any]) -> None:
    kwargs = {k: case[k] for k in ("every", "group_by", "confidence", "as_of")}
    function = quiet(cm.net_promoter_score)
    if not as_of_exists(case["as_of"], case["zone"]):
        with pytest.raises(cm.ArgumentError, match="Hint:"):
            function(case["frame"], **kwargs)
        return
    if kwargs["every"] is None and kwargs["group_by"] is None:
        if nps_oracle(case["frame"], **kwargs).is_empty():
            return  # nothing observed: pinned by test_bug_empty_input_gives_one_row
    got = check_kpi(function, nps_oracle, case["frame"], seed=case["seed"], **kwargs)
    # invariants
    counts = got.select(pl.col("promoters") + pl.col("passives") + pl.col("detractors"))
    assert counts.to_series().equals(got["responses"], check_names=False)
    scored = got.filter(pl.col("responses") > 0)
    assert scored["nps"].is_between(-100, 100).all()
    assert (scored["nps_low"] <= scored["nps"] + 1e-9).all()
    assert (scored["nps"] <= scored["nps_high"] + 1e-9).all()
    assert scored["nps_low"].is_between(-100, 100).all()
    assert scored["nps_high"].is_between(-100, 100).all()
    assert (scored["nps_margin"] >= 0).all()
    assert got.filter(pl.col("responses") == 0)["nps"].null_count() == got.height - scored.height
    for column in ("nps", "nps_margin", "nps_low", "nps_high"):
        assert got[column].is_nan().sum() == 0


@settings(deadline=None, max_examples=25)
@given(case=nps_cases())
def test_group_totals_match_the_ungrouped_result(case: dict[str, Any]) -> None:
    if not as_of_exists(case["as_of"], case["zone"]):
        return
    kwargs = {"every": case["every"], "as_of": case["as_of"]}
    frame = case["frame"]
    total = quiet_nps(frame, **kwargs)
    grouped = quiet_nps(frame, group_by="segment", **kwargs)
    counts = ["responses", "promoters", "passives", "detractors"]
    if kwargs["every"] is None:
        if grouped.is_empty():
            assert total["responses"].sum() == 0
            return
        assert_frame_equal(grouped.select(pl.col(counts).sum()), total.select(counts))
    else:
        sums = grouped.group_by("period_start").agg(pl.col(counts).sum()).sort("period_start")
        assert_frame_equal(sums, total.select("period_start", *counts))


@settings(deadline=None, max_examples=40)
@given(
    promoters=st.integers(0, 200),
    passives=st.integers(0, 200),
    detractors=st.integers(0, 200),
    confidence=st.floats(0.01, 0.999),
)
def test_counts_to_nps_matches_the_formula(
    promoters: int, passives: int, detractors: int, confidence: float
) -> None:
    n = promoters + passives + detractors
    scores = [10] * promoters + [7] * passives + [0] * detractors
    frame = make_responses(scores)
    got = quiet_nps(frame, confidence=confidence)
    if n == 0:
        return
    want = nps_values(promoters, passives, detractors, confidence)
    row = got.row(0, named=True)
    for column in ("nps", "nps_margin", "nps_low", "nps_high"):
        assert row[column] == pytest.approx(want[column], abs=1e-9)
    assert row["nps"] == pytest.approx(100 * (promoters - detractors) / n)
    # p₊ + p₋ − (p₊ − p₋)² ≤ 1, so the margin is at most z · 100 / √n
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    assert row["nps_margin"] <= z * 100 / math.sqrt(n) + 1e-9


def test_empty_with_periods_is_empty_with_the_schema(to_kind: ToKind) -> None:
    frame = make_responses([9]).clear()
    got = quiet_nps(to_kind(frame), every="1mo")
    assert got.is_empty()
    assert got.schema == nps_schema(periods=True)
    grouped = quiet_nps(to_kind(frame.with_columns(pl.lit("x").alias("g"))), group_by="g")
    assert grouped.is_empty()
    assert grouped.schema == nps_schema({"g": pl.String()})


def test_input_not_mutated() -> None:
    frame = make_responses([10, 3, 8])
    before = frame.clone()
    quiet_nps(frame, every="1w")
    assert_frame_equal(frame, before)


# --------------------------------------------------------------------------
# 4. errors


SAMPLE = make_responses([10, 3, 8])


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, float("nan"), "0.95", None, 95])
def test_bad_confidence(confidence: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:") as info:
        cm.net_promoter_score(SAMPLE, confidence=confidence)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("every", ["monthly", "0w", "1h", "1 mo", ""])
def test_bad_every(every: str) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.net_promoter_score(SAMPLE, every=every)


@pytest.mark.parametrize("column", ["responded_at", "score"])
def test_missing_column(to_kind: ToKind, column: str) -> None:
    with pytest.raises(cm.ValidationError, match=column) as info:
        cm.net_promoter_score(to_kind(SAMPLE.drop(column)))
    assert column in info.value.failures["column"].to_list()


def test_score_out_of_range() -> None:
    with pytest.raises(cm.ValidationError, match="score"):
        cm.net_promoter_score(make_responses([11, 3]))


@pytest.mark.parametrize("key", ["comment", "email", "name"])
def test_group_by_personal_data_is_refused(key: str) -> None:
    frame = SAMPLE.with_columns(pl.lit("x").alias(key))
    with pytest.raises(cm.ArgumentError, match="personal data"):
        cm.net_promoter_score(frame, group_by=key)


@pytest.mark.parametrize("key", ["nps", "responses", "score_missing", "responded_at"])
def test_group_by_bad_column(key: str) -> None:
    frame = SAMPLE.with_columns(pl.lit(1).alias("nps"), pl.lit(1).alias("responses"))
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.net_promoter_score(frame, group_by=key)


# --------------------------------------------------------------------------
# 5. known bugs


def test_regression_empty_input_gives_one_row(to_kind: ToKind) -> None:
    got = quiet_nps(to_kind(SAMPLE.clear()))
    assert got.is_empty()
    assert got.schema == nps_schema()
