"""``cm.expr.age``, ``cm.expr.age_band`` and ``cm.expr.age_band_labels``.

The docstrings of :mod:`crm_metrics.expr` are the specification: ``age`` is
whole years on ``as_of`` (Int64; null before birth), a 29 February birthday
falls on 1 March in common years; ``age_band`` is an ordered ``Enum`` of the
labels ``<e0``, ``e0-(e1-1)``, …, ``en+`` (null when the age is null).
Checked by hand and, with hypothesis, against :func:`oracle_kpis.exact_age`,
which counts birthdays one by one instead of comparing (month, day) pairs.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_series_equal

import crm_metrics as cm
from oracle_kpis import exact_age


def ages(births: list[date | None], as_of: Any) -> list[int | None]:
    frame = pl.DataFrame({"birth_date": births}, schema={"birth_date": pl.Date})
    return frame.select(cm.expr.age("birth_date", as_of))["age"].to_list()


def bands(births: list[date | None], as_of: Any, edges: Any = None) -> pl.Series:
    frame = pl.DataFrame({"birth_date": births}, schema={"birth_date": pl.Date})
    expr = (
        cm.expr.age_band("birth_date", as_of)
        if edges is None
        else cm.expr.age_band("birth_date", as_of, edges)
    )
    return frame.select(expr).to_series()


# --------------------------------------------------------------------------
# 1. age: hand cases


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2000, 2, 29), date(2023, 2, 28), 22),  # no 29 Feb in 2023: not yet
        (date(2000, 2, 29), date(2023, 3, 1), 23),  # ... the birthday is 1 March
        (date(2000, 2, 29), date(2024, 2, 28), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),  # a leap year: on the day
        (date(2000, 2, 29), date(2001, 2, 28), 0),
        (date(2000, 2, 29), date(2001, 3, 1), 1),
        (date(1990, 12, 31), date(2023, 12, 30), 32),  # year end
        (date(1990, 12, 31), date(2023, 12, 31), 33),  # birthday on as_of
        (date(1991, 1, 1), date(2023, 12, 31), 32),
        (date(2000, 1, 1), date(2000, 12, 31), 0),
        (date(2000, 1, 1), date(2000, 1, 1), 0),  # born on as_of
        (date(2000, 1, 2), date(2000, 1, 1), None),  # born after as_of
        (date(2024, 3, 1), date(2024, 2, 29), None),
        (date(1930, 3, 1), date(2025, 2, 28), 94),
        (date(2000, 3, 1), date(2024, 2, 29), 23),  # 29 Feb is before 1 March
    ],
)
def test_age_by_hand(born: date, on: date, age: int | None) -> None:
    assert ages([born], on) == [age]
    assert exact_age(born, on) == age


def test_age_dtype_name_and_nulls() -> None:
    frame = pl.DataFrame({"birth_date": [date(2000, 5, 5), None]})
    got = frame.select(cm.expr.age("birth_date", date(2020, 5, 5)))
    assert got.schema == pl.Schema({"age": pl.Int64()})
    assert got["age"].to_list() == [20, None]


def test_age_of_a_datetime_column_uses_its_local_date() -> None:
    """23:30 on 28 Feb 2000 in New York is 29 Feb in UTC: the local date counts."""
    local = pl.Series("born", [datetime(2000, 2, 28, 23, 30)]).dt.replace_time_zone(
        "America/New_York"
    )
    frame = pl.DataFrame([local])
    got = frame.select(cm.expr.age("born", date(2023, 2, 28)))["age"].to_list()
    assert got == [23]  # born on 28 Feb: 23 on 28 Feb 2023
    utc = frame.select(pl.col("born").dt.convert_time_zone("UTC"))
    assert utc.select(cm.expr.age("born", date(2023, 2, 28)))["age"].to_list() == [22]


def test_age_as_of_datetime_and_expression() -> None:
    frame = pl.DataFrame(
        {
            "birth_date": [date(2000, 6, 15), date(2000, 6, 15)],
            "seen": [date(2020, 6, 14), date(2020, 6, 15)],
        }
    )
    assert frame.select(cm.expr.age("birth_date", pl.col("seen")))["age"].to_list() == [19, 20]
    at_night = datetime(2020, 6, 14, 23, 59)
    assert frame.select(cm.expr.age(pl.col("birth_date"), at_night))["age"].to_list() == [19, 19]


@pytest.mark.parametrize("as_of", ["2024-01-01", 20240101, None])
def test_age_as_of_must_be_a_date(as_of: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.expr.age("birth_date", as_of)


# --------------------------------------------------------------------------
# 2. age: against the birthday-counting oracle


LEAP_BIRTHS = st.sampled_from(
    [date(1972, 2, 29), date(2000, 2, 29), date(1999, 12, 31), date(2000, 1, 1), date(1980, 3, 1)]
)


@settings(deadline=None, max_examples=150)
@given(
    births=st.lists(
        st.one_of(LEAP_BIRTHS, st.dates(date(1900, 1, 1), date(2030, 12, 31)), st.none()),
        min_size=1,
        max_size=40,
    ),
    on=st.one_of(
        st.sampled_from(
            [date(2023, 2, 28), date(2023, 3, 1), date(2024, 2, 28), date(2024, 2, 29)]
        ),
        st.dates(date(1950, 1, 1), date(2040, 12, 31)),
    ),
)
@example(births=[date(2000, 2, 29)], on=date(2100, 2, 28))  # 2100 is not a leap year
def test_age_matches_counting_birthdays(births: list[date | None], on: date) -> None:
    want = [None if b is None else exact_age(b, on) for b in births]
    assert ages(births, on) == want


@settings(deadline=None, max_examples=60)
@given(born=st.dates(date(1900, 1, 1), date(2030, 12, 31)), days=st.integers(0, 40_000))
def test_age_against_days_lived(born: date, days: int) -> None:
    """A coarse independent bound: age ≈ days / 365.2425, never off by more than one.

    (True for spans up to about 130 years; ``days`` stays below 110.)
    """
    on = born + timedelta(days=days)
    if on > date(9999, 12, 31):
        return
    age = ages([born], on)[0]
    assert age is not None
    assert abs(age - days / 365.2425) < 1


# --------------------------------------------------------------------------
# 3. age bands


def test_default_labels_and_enum_order() -> None:
    labels = cm.expr.age_band_labels()
    assert labels == ["<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
    got = bands([date(1950, 7, 14), date(2010, 5, 1), date(1999, 1, 1), None], date(2025, 1, 1))
    assert got.dtype == pl.Enum(labels)
    assert got.name == "age_band"
    assert got.to_list() == ["65+", "<18", "25-34", None]
    assert got.sort(nulls_last=True).to_list() == ["<18", "25-34", "65+", None]  # by age


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "<18"),
        (17, "<18"),
        (18, "18-24"),
        (24, "18-24"),
        (25, "25-34"),
        (64, "55-64"),
        (65, "65+"),
        (120, "65+"),
    ],
)
def test_default_band_edges(age: int, band: str) -> None:
    on = date(2024, 6, 1)
    born = date(on.year - age, on.month, on.day)
    assert bands([born], on).to_list() == [band]


def test_custom_edges() -> None:
    edges = (18, 30, 50)
    assert cm.expr.age_band_labels(edges) == ["<18", "18-29", "30-49", "50+"]
    on = date(2024, 2, 29)
    births = [date(2006, 3, 1), date(2006, 2, 28), date(1994, 3, 1), date(1994, 2, 28), None]
    got = bands(births, on, edges)  # ages 17, 18, 29, 30, null
    assert got.to_list() == ["<18", "18-29", "18-29", "30-49", None]
    assert got.dtype == pl.Enum(["<18", "18-29", "30-49", "50+"])
    assert cm.expr.age_band_labels([21]) == ["<21", "21+"]
    assert bands([date(2003, 2, 28), date(2003, 3, 1)], on, [21]).to_list() == ["21+", "<21"]


def test_leap_day_birthday_changes_band_on_1_march() -> None:
    born = date(2004, 2, 29)  # 18 on 1 March 2022
    assert bands([born], date(2022, 2, 28)).to_list() == ["<18"]
    assert bands([born], date(2022, 3, 1)).to_list() == ["18-24"]


def test_born_after_as_of_has_no_band() -> None:
    assert bands([date(2030, 1, 1)], date(2025, 1, 1)).to_list() == [None]


@pytest.mark.parametrize(
    "edges",
    [(), (18, 18), (30, 18), (0, 18), (-1,), (18.5,), ("18",), (18, 25, 25), [65, 18, 25]],
)
def test_bad_edges(edges: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:") as info:
        cm.expr.age_band("birth_date", date(2024, 1, 1), edges)
    assert isinstance(info.value, ValueError)
    with pytest.raises(cm.ArgumentError):
        cm.expr.age_band_labels(edges)


@settings(deadline=None, max_examples=60)
@given(
    births=st.lists(
        st.one_of(LEAP_BIRTHS, st.dates(date(1900, 1, 1), date(2030, 12, 31)), st.none()),
        min_size=1,
        max_size=30,
    ),
    on=st.dates(date(2000, 1, 1), date(2030, 12, 31)),
    edges=st.lists(st.integers(1, 120), min_size=1, max_size=6, unique=True).map(sorted),
)
def test_age_band_matches_the_oracle(births: list[date | None], on: date, edges: list[int]) -> None:
    labels = cm.expr.age_band_labels(edges)
    want = []
    for born in births:
        age = None if born is None else exact_age(born, on)
        want.append(None if age is None else labels[sum(age >= e for e in edges)])
    got = bands(births, on, edges)
    assert_series_equal(got, pl.Series("age_band", want, dtype=pl.Enum(labels)))


def test_regression_boolean_edges_are_accepted() -> None:
    with pytest.raises(cm.ArgumentError):
        cm.expr.age_band_labels((True, 18))
