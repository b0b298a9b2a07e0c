"""``cm.customer_summary``, ``cm.survival_curve`` and ``cm.median_lifetime``.

The docstrings of :mod:`crm_metrics.survival` are the specification. A
customer is active at ``as_of`` when their last purchase is on or after
``as_of - inactive_after`` (``as_of`` being the end of observation: an instant,
or the midnight after a whole observed day); churned customers churn at
``last purchase + inactive_after``; ``tenure_days`` runs from the first
purchase to the churn, or to ``as_of``. The survival curve is Kaplan–Meier on
those durations, checked against lifelines' ``KaplanMeierFitter`` (the
reference the docstring names), and against an exact rational Kaplan–Meier for
the median at ties.

Layout: the oracle's calendar rule against Polars; golden summaries; summaries
against :func:`oracle_engine.customer_summary_oracle`; curves and medians
against lifelines (drawn orders, synthetic data, groups, 90 % bands);
invariants; errors; the bugs found (strict xfails).
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from polars.testing import assert_frame_equal

import crm_metrics as cm
import strategies
from oracle_engine import (
    customer_summary_oracle,
    kaplan_meier_oracle,
    km_median,
    shift,
    summary_schema,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hypothesis.strategies import DrawFn, SearchStrategy

    ToKind = Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]

CURVE_SCHEMA = {
    "timeline": pl.Float64(),
    "at_risk": pl.Int64(),
    "churned": pl.Int64(),
    "censored": pl.Int64(),
    "survival": pl.Float64(),
    "ci_lower": pl.Float64(),
    "ci_upper": pl.Float64(),
}


# --------------------------------------------------------------------------
# helpers


def make_orders(
    rows: Sequence[tuple[Any, date | datetime, float]],
    *,
    time_zone: str | None = None,
    **extra: Sequence[Any],
) -> pl.DataFrame:
    """An ``orders`` frame from ``(customer_id, ordered_at, amount)`` rows (Date or Datetime)."""
    stamps = [r[1] for r in rows]
    if stamps and not isinstance(stamps[0], datetime):
        ordered_at = pl.Series("ordered_at", stamps, dtype=pl.Date)
    else:
        ordered_at = pl.Series("ordered_at", stamps, dtype=pl.Datetime("us"))
        if time_zone is not None:
            ordered_at = ordered_at.dt.replace_time_zone(time_zone)
    ids = [r[0] for r in rows]
    id_dtype = pl.String if ids and isinstance(ids[0], str) else pl.Int64
    return pl.DataFrame(
        [
            pl.Series("order_id", range(1, len(rows) + 1), dtype=pl.Int64),
            pl.Series("customer_id", ids, dtype=id_dtype),
            ordered_at,
            pl.Series("amount", [r[2] for r in rows], dtype=pl.Float64),
            *(pl.Series(name, values) for name, values in extra.items()),
        ]
    )


def summary(frame: pl.DataFrame, rows: Sequence[tuple[Any, ...]]) -> pl.DataFrame:
    """Expected summary rows ``(id, first, last, orders, revenue, refunds, status, churned_at,
    tenure_days)``; ``average_order_value`` follows."""
    schema = summary_schema(frame.schema["customer_id"], frame.schema["ordered_at"])
    out = [
        {
            "customer_id": r[0],
            "first_order_at": r[1],
            "last_order_at": r[2],
            "orders": r[3],
            "revenue": r[4],
            "refunds": r[5],
            "average_order_value": r[4] / r[3],
            "status": r[6],
            "churned_at": r[7],
            "tenure_days": r[8],
        }
        for r in rows
    ]
    return pl.DataFrame(out, schema=schema)


def collected(
    result: pl.DataFrame | pl.LazyFrame, like: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """``result`` as a DataFrame, after checking it is the same kind as the input ``like``."""
    assert isinstance(result, type(like)), f"{type(like).__name__} in, {type(result).__name__} out"
    return result.collect() if isinstance(result, pl.LazyFrame) else result


def check_summary(frame: pl.DataFrame, want: pl.DataFrame, to_kind: ToKind, **kwargs: Any) -> None:
    """The oracle reproduces the hand computation, and so does the library (eager or lazy)."""
    assert_frame_equal(customer_summary_oracle(frame, **kwargs), want, rel_tol=1e-12)
    data = to_kind(frame)
    got = collected(cm.customer_summary(data, **kwargs), data)
    assert_frame_equal(got, want, rel_tol=1e-12)


def lifelines_curve(
    durations: Sequence[float], events: Sequence[bool], *, confidence: float = 0.95
) -> pl.DataFrame:
    """lifelines' Kaplan–Meier table in the layout of ``cm.survival_curve``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines divides by zero where S reaches 0
        fit = KaplanMeierFitter().fit(
            np.asarray(durations, dtype=float),
            np.asarray(events, dtype=bool),
            alpha=1 - confidence,
        )
    table = fit.event_table
    label = f"{1 - (1 - confidence):g}"
    band = fit.confidence_interval_
    return pl.DataFrame(
        {
            "timeline": table.index.to_numpy(dtype=float),
            "at_risk": table["at_risk"].to_numpy(dtype=np.int64),
            "churned": table["observed"].to_numpy(dtype=np.int64),
            "censored": table["censored"].to_numpy(dtype=np.int64),
            "survival": fit.survival_function_["KM_estimate"].loc[table.index].to_numpy(),
            "ci_lower": band[f"KM_estimate_lower_{label}"].loc[table.index].to_numpy(),
            "ci_upper": band[f"KM_estimate_upper_{label}"].loc[table.index].to_numpy(),
        },
        schema=CURVE_SCHEMA,
    )


def lifelines_median(durations: Sequence[float], events: Sequence[bool]) -> float | None:
    """lifelines' ``median_survival_time_``, ``None`` for ``inf``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(KaplanMeierFitter().fit(durations, events).median_survival_time_)
    return None if math.isinf(value) else value


MICROS_PER_DAY = 86_400_000_000


def snap(days: float) -> float:
    """``days`` as the nearest whole number of microseconds, divided exactly (Python's ``/``).

    Durations are whole microseconds; ``cm.customer_summary`` may return the same
    duration rounded two ways (an ulp apart: see the strict xfail
    ``test_equal_tenures_are_equal``), so comparisons snap them first.
    """
    return round(days * MICROS_PER_DAY) / MICROS_PER_DAY


def canonical(curve: pl.DataFrame, keys: Sequence[str] = ()) -> pl.DataFrame:
    """``curve`` with snapped timelines, and the rows of a tie split by an ulp merged back.

    A tie split in two rows (n at risk, d1 then d2 events) gives the same survival
    and the same Greenwood sum as one row with d1 + d2: the merged row keeps the
    first ``at_risk``, the sums of the counts and the last row's estimates.
    """
    snapped = pl.Series("timeline", [snap(t) for t in curve["timeline"]], dtype=pl.Float64)
    return (
        curve.with_columns(snapped)
        .group_by(*keys, "timeline", maintain_order=True)
        .agg(
            pl.col("at_risk").max(),
            pl.col("churned", "censored").sum(),
            pl.col("survival", "ci_lower", "ci_upper").last(),
        )
        .select(curve.columns)
    )


def durations_of(orders: pl.DataFrame, **kwargs: Any) -> tuple[list[float], list[bool]]:
    """(tenure_days, churned) of ``cm.customer_summary``: the documented survival data."""
    table = cm.customer_summary(orders, **kwargs)
    return [snap(d) for d in table["tenure_days"]], (table["status"] == "churned").to_list()


def end_of(frame: pl.DataFrame) -> date | datetime:
    """The default ``as_of`` (the latest order) as a value to pass explicitly."""
    latest = frame["ordered_at"].max()
    assert isinstance(latest, date | datetime)
    return latest


# --------------------------------------------------------------------------
# 1. the oracle's calendar rule, against Polars


@pytest.mark.parametrize(
    ("local", "duration", "sign", "want_utc"),
    [
        # 1 Mar 02:30 + 30 days = 31 Mar 02:30, skipped in Paris: the reading nearest the
        # start, 02:30 at +02:00 (the earlier one, going forward) ...
        (datetime(2024, 3, 1, 2, 30), "30d", 1, datetime(2024, 3, 31, 0, 30)),
        # ... and at +01:00 (the later one) going back from 30 April
        (datetime(2024, 4, 30, 2, 30), "30d", -1, datetime(2024, 3, 31, 1, 30)),
        # 27 Oct 02:30 is repeated in Paris: CEST coming from September, CET from November
        (datetime(2024, 9, 27, 2, 30), "30d", 1, datetime(2024, 10, 27, 0, 30)),
        (datetime(2024, 11, 26, 2, 30), "30d", -1, datetime(2024, 10, 27, 1, 30)),
        (datetime(2024, 1, 31, 12), "1mo", 1, datetime(2024, 2, 29, 11)),
    ],
)
def test_oracle_shift_matches_polars_offset_by(
    local: datetime, duration: str, sign: int, want_utc: datetime
) -> None:
    zone = "Europe/Paris"
    moved = shift(local.replace(tzinfo=ZoneInfo(zone)), duration, sign=sign)
    assert isinstance(moved, datetime)
    assert moved.astimezone(UTC).replace(tzinfo=None) == want_utc
    column = pl.Series([local], dtype=pl.Datetime("us")).dt.replace_time_zone(zone)
    offset = duration if sign > 0 else f"-{duration}"
    polars = column.dt.offset_by(offset).dt.convert_time_zone("UTC").item()
    assert polars.replace(tzinfo=None) == want_utc


@settings(deadline=None, max_examples=60)
@given(
    moment=st.builds(
        datetime.combine,
        st.one_of(
            st.sampled_from(strategies.EDGE_DATES), st.dates(date(2023, 1, 1), date(2025, 12, 31))
        ),
        st.sampled_from((*strategies.EDGE_TIMES, time(1, 30), time(3, 0))),
    ),
    duration=st.sampled_from(("1d", "7d", "30d", "90d", "1mo", "3mo", "1y", "2w")),
    sign=st.sampled_from((1, -1)),
    zone=st.sampled_from(("Europe/Paris", "America/New_York", "UTC")),
)
def test_oracle_shift_matches_polars_on_random_wall_times(
    moment: datetime, duration: str, sign: int, zone: str
) -> None:
    column = pl.Series([moment], dtype=pl.Datetime("us")).dt.replace_time_zone(
        zone, ambiguous="earliest", non_existent="null"
    )
    aware = column.item()
    if aware is None:
        return  # the drawn wall time does not exist
    offset = duration if sign > 0 else f"-{duration}"
    want = column.dt.offset_by(offset).item()
    got = shift(aware, duration, sign=sign)
    assert isinstance(got, datetime)
    assert got.astimezone(UTC) == want.astimezone(UTC)


def test_kaplan_meier_oracle_by_hand() -> None:
    table = kaplan_meier_oracle([3.0, 3.0, 5.5, 7.0], [True, False, True, False])
    assert [(r.timeline, r.at_risk, r.churned, r.censored) for r in table] == [
        (0.0, 4, 0, 0),
        (3.0, 4, 1, 1),
        (5.5, 2, 1, 0),
        (7.0, 1, 0, 1),
    ]
    assert [float(r.survival) for r in table] == [1.0, 0.75, 0.375, 0.375]
    assert km_median(table) == 5.5
    assert km_median(kaplan_meier_oracle([1.0, 2.0], [False, False])) is None
    assert kaplan_meier_oracle([], []) == []


# --------------------------------------------------------------------------
# 2. golden summaries


def test_docstring_example(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 1), 50.0),
            (1, date(2024, 2, 1), 30.0),
            (1, date(2024, 2, 3), -10.0),
            (2, date(2024, 6, 1), 20.0),
        ]
    )
    want = summary(
        frame,
        [
            (
                1,
                date(2024, 1, 1),
                date(2024, 2, 1),
                2,
                70.0,
                10.0,
                "churned",
                date(2024, 3, 2),
                61.0,
            ),
            (2, date(2024, 6, 1), date(2024, 6, 1), 1, 20.0, 0.0, "active", None, 30.0),
        ],
    )
    check_summary(frame, want, to_kind, inactive_after="30d", as_of=date(2024, 6, 30))


BOUNDARY = make_orders(
    [
        (1, date(2024, 1, 10), 20.0),
        (1, date(2024, 3, 2), 10.0),  # on 1 April (end of as_of) - 30 days: still active
        (2, date(2024, 1, 15), 30.0),
        (2, date(2024, 3, 1), 5.0),  # a day earlier: churned on 31 March
        (2, date(2024, 3, 5), -8.0),  # a refund does not keep anyone active
        (3, date(2024, 2, 1), -5.0),  # refunds only: no history, left out
        (4, date(2024, 3, 31), 0.0),  # a zero amount is a purchase
    ]
)


def test_window_boundary_on_a_date_column(to_kind: ToKind) -> None:
    """``as_of`` 31 March observes that whole day: the end is the midnight of 1 April."""
    want = summary(
        BOUNDARY,
        [
            (1, date(2024, 1, 10), date(2024, 3, 2), 2, 30.0, 0.0, "active", None, 82.0),
            (
                2,
                date(2024, 1, 15),
                date(2024, 3, 1),
                2,
                27.0,
                8.0,
                "churned",
                date(2024, 3, 31),
                76.0,
            ),
            (4, date(2024, 3, 31), date(2024, 3, 31), 1, 0.0, 0.0, "active", None, 1.0),
        ],
    )
    check_summary(BOUNDARY, want, to_kind, inactive_after="30d", as_of=date(2024, 3, 31))
    # the default as_of is the latest order, 31 March, as a whole day: the same
    check_summary(BOUNDARY, want, to_kind, inactive_after="30d")


def test_window_boundary_on_a_datetime_column(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, datetime(2024, 1, 10), 20.0),
            (1, datetime(2024, 3, 1, 12), 10.0),  # exactly as_of - 30 days: active
            (2, datetime(2024, 1, 15, 6), 30.0),
            (2, datetime(2024, 3, 1, 11, 59, 59), 5.0),  # a second earlier: churned
        ]
    )
    as_of = datetime(2024, 3, 31, 12)
    want = summary(
        frame,
        [
            (
                1,
                datetime(2024, 1, 10),
                datetime(2024, 3, 1, 12),
                2,
                30.0,
                0.0,
                "active",
                None,
                81.5,
            ),
            (
                2,
                datetime(2024, 1, 15, 6),
                datetime(2024, 3, 1, 11, 59, 59),
                2,
                35.0,
                0.0,
                "churned",
                datetime(2024, 3, 31, 11, 59, 59),
                76 + (6 * 3600 - 1) / 86400,
            ),
        ],
    )
    check_summary(frame, want, to_kind, inactive_after="30d", as_of=as_of)
    # A date as_of observes the whole of 31 March: the end is 1 April 00:00, and 1 April
    # - 30 days = 2 March, after both last purchases: both churned.
    by_day = summary(
        frame,
        [
            (
                1,
                datetime(2024, 1, 10),
                datetime(2024, 3, 1, 12),
                2,
                30.0,
                0.0,
                "churned",
                datetime(2024, 3, 31, 12),
                81.5,
            ),
            (
                2,
                datetime(2024, 1, 15, 6),
                datetime(2024, 3, 1, 11, 59, 59),
                2,
                35.0,
                0.0,
                "churned",
                datetime(2024, 3, 31, 11, 59, 59),
                76 + (6 * 3600 - 1) / 86400,
            ),
        ],
    )
    check_summary(frame, by_day, to_kind, inactive_after="30d", as_of=date(2024, 3, 31))


@pytest.mark.parametrize(
    ("as_of", "status", "churned_at", "tenure"),
    [
        # end 29 Feb: 29 Feb - 1mo = 29 Jan <= 31 Jan, active; tenure to the end, 29 Feb
        (date(2024, 2, 28), "active", None, 29.0),
        # end 1 Mar: 1 Mar - 1mo = 1 Feb > 31 Jan: churned at 31 Jan + 1mo = 29 Feb
        (date(2024, 2, 29), "churned", date(2024, 2, 29), 29.0),
    ],
)
def test_month_window_at_a_month_end(
    to_kind: ToKind, as_of: date, status: str, churned_at: date | None, tenure: float
) -> None:
    frame = make_orders([(7, date(2024, 1, 31), 12.0)])
    want = summary(
        frame,
        [(7, date(2024, 1, 31), date(2024, 1, 31), 1, 12.0, 0.0, status, churned_at, tenure)],
    )
    check_summary(frame, want, to_kind, inactive_after="1mo", as_of=as_of)


def test_tenure_is_elapsed_time_across_dst(to_kind: ToKind) -> None:
    """Paris skips an hour on 31 March 2024: two wall-clock days are 47 hours."""
    frame = make_orders(
        [("x", datetime(2024, 3, 30, 12), 1.0), ("y", datetime(2024, 1, 1, 12), 1.0)],
        time_zone="Europe/Paris",
    )
    paris = ZoneInfo("Europe/Paris")
    as_of = datetime(2024, 4, 1, 12, tzinfo=paris)
    churned = datetime(2024, 3, 31, 12, tzinfo=paris)  # 1 Jan + 90 days
    want = summary(
        frame,
        [
            (
                "x",
                frame["ordered_at"][0],
                frame["ordered_at"][0],
                1,
                1.0,
                0.0,
                "active",
                None,
                47 / 24,
            ),
            (
                "y",
                frame["ordered_at"][1],
                frame["ordered_at"][1],
                1,
                1.0,
                0.0,
                "churned",
                churned,
                90 - 1 / 24,
            ),
        ],
    )
    check_summary(frame, want, to_kind, as_of=as_of)
    # the same instant given in UTC, and as a naive wall time in the column's zone
    check_summary(frame, want, to_kind, as_of=as_of.astimezone(UTC))
    check_summary(frame, want, to_kind, as_of=datetime(2024, 4, 1, 12))


def test_string_ids_are_sorted_and_orders_after_as_of_ignored(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            ("b", date(2024, 1, 1), 5.0),
            ("a", date(2024, 1, 2), 5.0),
            ("a", date(2024, 5, 2), 100.0),  # after as_of
            ("c", date(2024, 5, 3), 5.0),  # after as_of: c has no history yet
        ]
    )
    want = summary(
        frame,
        [
            ("a", date(2024, 1, 2), date(2024, 1, 2), 1, 5.0, 0.0, "active", None, 29.0),
            ("b", date(2024, 1, 1), date(2024, 1, 1), 1, 5.0, 0.0, "active", None, 30.0),
        ],
    )
    check_summary(frame, want, to_kind, as_of=date(2024, 1, 30))


@pytest.mark.parametrize("dtype", [pl.Date(), pl.Datetime("us"), pl.Datetime("ns", "Europe/Paris")])
def test_empty_input_gives_the_empty_schemas(to_kind: ToKind, dtype: pl.DataType) -> None:
    frame = pl.DataFrame(
        schema={
            "order_id": pl.Int64,
            "customer_id": pl.String,
            "ordered_at": dtype,
            "amount": pl.Float64,
            "segment": pl.String,
        }
    )
    check_summary(frame, summary(frame, []), to_kind)
    data = to_kind(frame)
    grouped = collected(cm.survival_curve(data, group_by="segment"), data)
    assert grouped.schema == pl.Schema({"segment": pl.String(), **CURVE_SCHEMA})
    assert grouped.height == 0
    median = collected(cm.median_lifetime(data), data)
    assert median.schema == pl.Schema({"median_lifetime_days": pl.Float64()})
    assert median["median_lifetime_days"].to_list() in ([], [None])
    by_group = collected(cm.median_lifetime(data, group_by="segment"), data)
    assert by_group.schema == pl.Schema(
        {"segment": pl.String(), "median_lifetime_days": pl.Float64()}
    )
    assert by_group.height == 0
    # the ungrouped curve of no customer: see the strict xfail below


def test_survival_curve_docstring_example(to_kind: ToKind) -> None:
    frame = make_orders(
        [
            (1, date(2024, 1, 1), 10.0),
            (2, date(2024, 1, 1), 10.0),
            (3, date(2024, 1, 1), 10.0),
            (3, date(2024, 2, 20), 10.0),
        ]
    )
    data = to_kind(frame)
    kwargs: dict[str, Any] = {"inactive_after": "30d", "as_of": date(2024, 3, 1)}
    got = collected(cm.survival_curve(data, **kwargs), data)
    want = lifelines_curve([30.0, 30.0, 61.0], [True, True, False])
    assert_frame_equal(got, want, abs_tol=1e-12)
    assert got["survival"].to_list() == pytest.approx([1.0, 1 / 3, 1 / 3])
    median = collected(cm.median_lifetime(data, **kwargs), data)
    assert median.item() == 30.0


# --------------------------------------------------------------------------
# 3. summaries against the oracle


DATE = "date"
ZONES_UNDER_TEST: tuple[str | None, ...] = (DATE, None, "UTC", "Europe/Paris", "America/New_York")
WINDOWS = ("1d", "7d", "30d", "90d", "1mo", "3mo", "1y")
SAFE_TIMES = tuple(t for t in strategies.EDGE_TIMES if not 2 <= t.hour < 3)


class Case(NamedTuple):
    """One drawn call: the orders frame and the keyword arguments."""

    frame: pl.DataFrame
    kwargs: dict[str, Any]


def as_ofs(low: date, high: date) -> SearchStrategy[date | datetime | None]:
    lo, hi = datetime.combine(low, time()), datetime.combine(high, time())
    return st.one_of(
        st.none(),
        st.dates(low, high),
        st.builds(datetime.combine, st.dates(low, high), st.sampled_from(SAFE_TIMES)),
        st.datetimes(lo, hi, timezones=st.just(UTC)),
    )


@st.composite
def summary_cases(
    draw: DrawFn,
    *,
    zones: Sequence[str | None] = ZONES_UNDER_TEST,
    max_rows: int = 30,
    n_customers: int = 8,
) -> Case:
    """Small order frames near calendar edges, a window and an ``as_of``; a ``segment``."""
    zone = draw(st.sampled_from(list(zones)))
    edge = draw(st.sampled_from(strategies.EDGE_DATES))
    start = edge - timedelta(days=draw(st.integers(0, 10)))
    end = start + timedelta(days=draw(st.integers(0, 500)))
    frame = draw(
        strategies.orders(
            0,
            max_rows,
            n_customers=draw(st.integers(1, n_customers)),
            time_zone=None if zone == DATE else zone,
            date_only=zone == DATE,
            with_optional=False,
            start=start,
            end=end,
        )
    )
    n = frame.height
    segment = draw(st.lists(st.sampled_from(("a", "b", None)), min_size=n, max_size=n))
    frame = frame.with_columns(pl.Series("segment", segment, dtype=pl.String))
    kwargs = {
        "inactive_after": draw(st.sampled_from(WINDOWS)),
        "as_of": draw(as_ofs(start - timedelta(days=20), end + timedelta(days=60))),
    }
    return Case(frame, kwargs)


ORACLE_SETTINGS = settings(
    deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow]
)
PROPERTY_SETTINGS = settings(
    deadline=None, max_examples=20, suppress_health_check=[HealthCheck.too_slow]
)


@ORACLE_SETTINGS
@given(case=summary_cases())
@example(case=Case(BOUNDARY, {"inactive_after": "30d", "as_of": date(2024, 3, 31)}))
@example(case=Case(BOUNDARY, {"inactive_after": "1mo", "as_of": datetime(2024, 3, 31, 12)}))
@example(case=Case(BOUNDARY.clear(), {"inactive_after": "90d", "as_of": None}))
def test_summary_matches_the_oracle(case: Case) -> None:
    before = case.frame.clone()
    got = cm.customer_summary(case.frame, **case.kwargs)
    assert_frame_equal(got, customer_summary_oracle(case.frame, **case.kwargs), rel_tol=1e-12)
    assert_frame_equal(case.frame, before)
    event(f"ordered_at: {case.frame.schema['ordered_at']}")
    event(f"churned: {got.height > 0 and (got['status'] == 'churned').any()}")


@PROPERTY_SETTINGS
@given(case=summary_cases())
def test_summary_invariants_and_eager_equals_lazy(case: Case) -> None:
    got = cm.customer_summary(case.frame, **case.kwargs)
    lazy = cm.customer_summary(case.frame.lazy(), **case.kwargs)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), got)
    assert_frame_equal(lazy.collect(engine="streaming"), got, rel_tol=1e-12)
    assert got["customer_id"].is_sorted()
    assert got["customer_id"].is_unique().all()
    for row in got.iter_rows(named=True):
        assert row["orders"] >= 1
        assert row["first_order_at"] <= row["last_order_at"]
        assert row["refunds"] >= 0
        assert row["tenure_days"] >= 0
        assert (row["churned_at"] is None) == (row["status"] == "active")
        assert row["average_order_value"] == pytest.approx(row["revenue"] / row["orders"])


@PROPERTY_SETTINGS
@given(case=summary_cases(), data=st.data())
def test_shuffling_rows_changes_nothing(case: Case, data: st.DataObject) -> None:
    permutation = data.draw(st.permutations(range(case.frame.height)))
    shuffled = case.frame[list(permutation)] if case.frame.height else case.frame
    assert_frame_equal(
        cm.customer_summary(shuffled, **case.kwargs),
        cm.customer_summary(case.frame, **case.kwargs),
        rel_tol=1e-12,
    )
    assert_frame_equal(
        canonical(cm.survival_curve(shuffled, **case.kwargs)),
        canonical(cm.survival_curve(case.frame, **case.kwargs)),
        abs_tol=1e-12,
    )


# --------------------------------------------------------------------------
# 4. curves and medians against lifelines


def check_against_lifelines(
    orders: pl.DataFrame, *, confidence: float = 0.95, **kwargs: Any
) -> None:
    """``survival_curve`` = lifelines' fit on ``customer_summary``'s durations, to 1e-9;
    ``median_lifetime`` = lifelines' median (or the exact one at a float tie)."""
    durations, events = durations_of(orders, **kwargs)
    curve = cm.survival_curve(orders, confidence=confidence, **kwargs)
    median = cm.median_lifetime(orders, **kwargs)
    if not durations:  # no customer: see test_no_customer_gives_an_empty_curve (xfail)
        assert median["median_lifetime_days"].to_list() in ([], [None])
        return
    want = lifelines_curve(durations, events, confidence=confidence)
    curve = canonical(curve)
    assert_frame_equal(curve, want, abs_tol=1e-9, rel_tol=0)
    exact = kaplan_meier_oracle(durations, events)
    assert curve["timeline"].to_list() == [r.timeline for r in exact]
    assert curve["at_risk"].to_list() == [r.at_risk for r in exact]
    assert curve["churned"].to_list() == [r.churned for r in exact]
    assert curve["survival"].to_list() == pytest.approx(
        [float(r.survival) for r in exact], rel=1e-12, abs=1e-15
    )
    check_median(median.item(), durations, events)


def check_median(got: float | None, durations: Sequence[float], events: Sequence[bool]) -> None:
    """lifelines' median, except where the curve is exactly 1/2 and floats may round either way.

    lifelines computes S as exp(sum(log(1 - d/n))), the library as a product: at
    an exact tie (S = 1/2 in rational arithmetic) each may land a bit above or
    below 0.5; the definition ("S <= 0.5") then says the exact answer. Times
    are compared to an ulp (see :func:`check_against_lifelines`).
    """
    exact = kaplan_meier_oracle(durations, events)
    if any(r.survival == 0.5 for r in exact):
        event("median at an exact tie S = 1/2")
        want = km_median(exact)
    else:
        want = lifelines_median(durations, events)
        assert want == km_median(exact)
    assert (got is None) == (want is None)
    if want is not None:
        assert got == pytest.approx(want, rel=1e-15)


@settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(case=summary_cases(max_rows=40, n_customers=10), confidence=st.sampled_from((0.95, 0.9)))
def test_curve_and_median_equal_lifelines(case: Case, confidence: float) -> None:
    check_against_lifelines(case.frame, confidence=confidence, **case.kwargs)


@pytest.mark.parametrize(
    ("seed", "window", "confidence"),
    [(1, "90d", 0.95), (2, "6mo", 0.9)],
)
def test_synthetic_data_equal_lifelines(seed: int, window: str, confidence: float) -> None:
    orders = cm.datasets.synthetic(2000, seed=seed).orders
    assert orders is not None
    check_against_lifelines(orders, confidence=confidence, inactive_after=window)
    curve = cm.survival_curve(orders, inactive_after=window)
    assert curve["survival"].is_sorted(descending=True)
    assert curve["churned"].sum() + curve["censored"].sum() == curve["at_risk"][0]


@settings(deadline=None, max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@given(case=summary_cases(max_rows=40, n_customers=10))
def test_group_curves_equal_per_group_lifelines_fits(case: Case) -> None:
    frame = case.frame
    as_of = case.kwargs["as_of"]
    if as_of is None and frame.height:
        as_of = end_of(frame)  # the groups share the horizon of the whole frame
    window = case.kwargs["inactive_after"]
    curves = cm.survival_curve(frame, group_by="segment", **case.kwargs)
    medians = cm.median_lifetime(frame, group_by="segment", **case.kwargs)
    assert_frame_equal(curves, curves.sort("segment", "timeline", nulls_last=True))
    groups = frame["segment"].unique().to_list()
    seen = []
    for value in sorted(groups, key=lambda v: (v is None, v)):
        part = frame.filter(
            pl.col("segment").is_null() if value is None else pl.col("segment") == value
        )
        durations, events = durations_of(part, inactive_after=window, as_of=as_of)
        if not durations:
            continue  # refunds only in this group: no customer, no curve
        seen.append(value)
        mine = curves.filter(pl.col("segment").eq_missing(value)).drop("segment")
        want = lifelines_curve(durations, events)
        assert_frame_equal(canonical(mine), want, abs_tol=1e-9, rel_tol=0)
        median = medians.filter(pl.col("segment").eq_missing(value))["median_lifetime_days"]
        check_median(median.item(), durations, events)
    assert curves["segment"].unique(maintain_order=True).to_list() == seen
    assert medians["segment"].to_list() == seen


@PROPERTY_SETTINGS
@given(case=summary_cases())
def test_curve_eager_equals_lazy_and_streaming(case: Case) -> None:
    for function in (cm.survival_curve, cm.median_lifetime):
        eager = function(case.frame, group_by="segment", **case.kwargs)
        lazy = function(case.frame.lazy(), group_by="segment", **case.kwargs)
        assert isinstance(eager, pl.DataFrame)
        assert isinstance(lazy, pl.LazyFrame)
        keys = ["segment"]
        if function is cm.survival_curve:
            eager = canonical(eager, keys)
            in_memory = canonical(lazy.collect(), keys)
            streaming = canonical(lazy.collect(engine="streaming"), keys)
        else:
            in_memory, streaming = lazy.collect(), lazy.collect(engine="streaming")
        assert_frame_equal(in_memory, eager, abs_tol=1e-12)
        assert_frame_equal(streaming, eager, abs_tol=1e-12)


def test_median_is_null_while_more_than_half_are_active() -> None:
    frame = make_orders([(1, date(2024, 1, 1), 1.0), (2, date(2024, 3, 1), 1.0)])
    got = cm.median_lifetime(frame, inactive_after="30d", as_of=date(2024, 3, 10))
    assert got.item() == 30.0  # 2 is censored at 10 days, then 1 churns at 30: S = 0
    got = cm.median_lifetime(frame, inactive_after="90d", as_of=date(2024, 3, 10))
    assert got.item() is None
    assert (
        lifelines_median(*durations_of(frame, inactive_after="90d", as_of=date(2024, 3, 10)))
        is None
    )


def test_median_at_a_float_tie_is_the_exact_one() -> None:
    """S = (1 - 1/4)(1 - 1/3) = 1/2 exactly: the median is that time."""
    frame = make_orders(
        [
            (1, date(2024, 1, 1), 1.0),
            (2, date(2024, 1, 1), 1.0),
            (3, date(2024, 1, 1), 1.0),
            (4, date(2024, 1, 1), 1.0),
            (1, date(2024, 1, 11), 1.0),  # 1 churns 10 days later than 2
            (3, date(2024, 3, 1), 1.0),
            (4, date(2024, 3, 1), 1.0),
        ]
    )
    kwargs: dict[str, Any] = {"inactive_after": "30d", "as_of": date(2024, 3, 10)}
    durations, events = durations_of(frame, **kwargs)
    assert sorted(zip(durations, events, strict=True)) == [
        (30.0, True),
        (40.0, True),
        (70.0, False),
        (70.0, False),
    ]
    exact = kaplan_meier_oracle(durations, events)
    assert km_median(exact) == 40.0
    assert cm.median_lifetime(frame, **kwargs).item() == 40.0


# --------------------------------------------------------------------------
# 5. errors


SMALL = make_orders([(1, date(2024, 1, 1), 1.0), (2, date(2024, 2, 1), 2.0)], segment=["a", "b"])


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, "0.9", None])
def test_bad_confidence(confidence: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="confidence") as info:
        cm.survival_curve(SMALL, confidence=confidence)
    assert "Hint:" in str(info.value)


@pytest.mark.parametrize("function", [cm.customer_summary, cm.survival_curve, cm.median_lifetime])
@pytest.mark.parametrize("window", ["90", "0d", "-30d", "3 months", "1h", 90])
def test_bad_inactive_after(function: Any, window: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="inactive_after"):
        function(SMALL, inactive_after=window)


@pytest.mark.parametrize("function", [cm.survival_curve, cm.median_lifetime])
def test_bad_group_by(function: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="country"):
        function(SMALL, group_by="country")
    with pytest.raises(cm.ArgumentError, match="timeline"):
        cm.survival_curve(SMALL.with_columns(pl.lit(1).alias("timeline")), group_by="timeline")
    with pytest.raises(cm.ArgumentError):
        function(SMALL, group_by=["segment", "segment"])


@pytest.mark.parametrize("function", [cm.customer_summary, cm.survival_curve, cm.median_lifetime])
def test_missing_column_and_bad_values(function: Any) -> None:
    with pytest.raises(cm.CrmMetricsError, match="ordered_at"):
        function(SMALL.drop("ordered_at"))
    with pytest.raises(cm.CrmMetricsError):
        function(SMALL.with_columns(pl.lit("x").alias("amount")))


def test_naive_as_of_in_a_dst_gap() -> None:
    frame = make_orders([(1, datetime(2024, 3, 1, 12), 1.0)], time_zone="Europe/Paris")
    with pytest.raises(cm.ArgumentError, match="daylight"):
        cm.customer_summary(frame, as_of=datetime(2024, 3, 31, 2, 30))


# --------------------------------------------------------------------------
# 6. bugs found (strict xfails: they pass once fixed)


def test_date_as_of_before_a_day_without_midnight() -> None:
    zone = "America/Asuncion"
    frame = make_orders([(1, datetime(2023, 9, 20, 12), 5.0)], time_zone=zone)
    got = cm.customer_summary(frame, as_of=date(2023, 9, 30))
    # observation ends at the first instant of 1 October, 01:00 -03 (00:00 does not exist):
    # 10 days and 12 hours after the purchase (12:00 -04)
    assert_frame_equal(got, customer_summary_oracle(frame, as_of=date(2023, 9, 30)))
    assert got["tenure_days"].item() == 10.5  # got: null
    curve = cm.survival_curve(frame, as_of=date(2023, 9, 30))
    assert curve["timeline"].null_count() == 0  # got: a null timeline, NaN survival


def test_churn_is_never_before_a_time_the_customer_was_active() -> None:
    frame = make_orders([(1, date(2023, 1, 10), 5.0), (1, date(2023, 2, 28), 5.0)])
    active = cm.customer_summary(frame, inactive_after="1mo", as_of=date(2023, 3, 30))
    later = cm.customer_summary(frame, inactive_after="1mo", as_of=date(2023, 4, 30))
    assert active["status"].item() == "active"  # observed active to the end of 30 March
    assert later["status"].item() == "churned"
    # was: churned_at 28 March, tenure 77 days < the 79 days observed active before
    assert later["churned_at"].item() == date(2023, 3, 31)
    assert later["tenure_days"].item() >= active["tenure_days"].item()


@pytest.mark.parametrize("amounts", [[], [-5.0]])
def test_no_customer_gives_an_empty_curve(to_kind: ToKind, amounts: list[float]) -> None:
    frame = make_orders([(1, date(2024, 1, 1), a) for a in amounts] or [])
    if not amounts:
        frame = frame.with_columns(pl.col("ordered_at").cast(pl.Date))
    data = to_kind(frame)
    curve = collected(cm.survival_curve(data), data)
    assert curve.schema == pl.Schema(CURVE_SCHEMA)
    assert curve.height == 0  # got: 1 row, at_risk 0, survival NaN


def test_equal_tenures_are_equal() -> None:
    n = 100
    frame = pl.DataFrame(
        {
            "order_id": range(n),
            "customer_id": range(n),
            "ordered_at": [datetime(2024, 10, 31, 9, 39, 46, 27000)] * n,
            "amount": [1.0] * n,
        }
    )
    as_of = datetime(2025, 1, 28, 0, 0, 0, 1000)
    tenure = cm.customer_summary(frame, as_of=as_of)["tenure_days"]
    assert tenure.n_unique() == 1  # got: 2 values an ulp apart
    curve = cm.survival_curve(frame, as_of=as_of)
    assert curve.select("timeline", "at_risk", "censored").rows() == [
        (0.0, 100, 0),
        (tenure[0], 100, 100),
    ]  # got: (88.597..., 100, 99) and (88.597..., 1, 1)


def test_median_at_an_exact_half_that_floats_round_up() -> None:
    # 10 customers: 1 churns after 1 day, 2 after 2 days (of 9), 2 after 3 days (of 7):
    # S(3) = 9/10 * 7/9 * 5/7 = 1/2 exactly, but the float product is 0.5000000000000001
    start = date(2024, 3, 1)
    lasts = [0, 1, 1, 2, 2, 10, 10, 10, 10, 10]  # the day of each customer's last order
    rows = [(c, start, 1.0) for c in range(10)]
    rows += [(c, start + timedelta(days=k), 1.0) for c, k in enumerate(lasts) if k]
    frame = make_orders(rows)
    curve = cm.survival_curve(frame, inactive_after="1d")
    assert curve.filter(pl.col("timeline") == 3.0)["survival"].item() > 0.5  # the float
    assert cm.median_lifetime(frame, inactive_after="1d").item() == 3.0  # got: 11.0
