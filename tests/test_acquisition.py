"""``cm.customer_acquisition_cost`` and ``cm.lead_conversion_rate``.

The docstrings of :mod:`crm_metrics.acquisition` are the specification:

* CAC = spend in the period ÷ customers acquired in it, by channel where both
  sides have one (``spend.channel`` ↔ ``customers.acquisition_channel``; a null
  channel is a group); customers are dated by ``acquired_at``, by their first
  purchase (the orders table passed as customers), or by ``acquired_at`` else
  their first purchase (``orders=``); ``as_of`` defaults to the *day* of the
  latest spend or acquisition, observed whole;
* a lead created at ``c`` is converted when ``converted_at`` is observed and
  ``c <= converted_at <= c + within``; a cohort is mature when its period's end
  plus ``within`` is on or before the end of observation.

Layout: golden tests by hand; hypothesis properties against
:mod:`oracle_kpis`; invariants; errors; regressions for bugs found this way.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import crm_metrics as cm
import strategies
from oracle_kpis import (
    CAC_MEASURES,
    EVERY,
    LEAD_MEASURES,
    Clock,
    as_of_exists,
    as_of_values,
    cac_oracle,
    check_kpi,
    collected,
    exact_money,
    lead_conversion_oracle,
    shuffled,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    ToKind = Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]


# --------------------------------------------------------------------------
# helpers


def stamps(name: str, values: Sequence[date | datetime | None], zone: str | None) -> pl.Series:
    """A Date series when the first non-null value is a date, else a Datetime one."""
    first = next((v for v in values if v is not None), date(2024, 1, 1))
    if not isinstance(first, datetime):
        return pl.Series(name, values, dtype=pl.Date)
    series = pl.Series(name, values, dtype=pl.Datetime("us"))
    return series if zone is None else series.dt.replace_time_zone(zone)


def make_spend(
    rows: Sequence[tuple[date | datetime, float]], *, time_zone: str | None = None, **extra: Any
) -> pl.DataFrame:
    return pl.DataFrame(
        [
            stamps("spent_at", [r[0] for r in rows], time_zone),
            pl.Series("amount", [r[1] for r in rows], dtype=pl.Float64),
            *(pl.Series(k, v) for k, v in extra.items()),
        ]
    )


def make_customers(
    acquired: Sequence[date | datetime | None], *, time_zone: str | None = None, **extra: Any
) -> pl.DataFrame:
    return pl.DataFrame(
        [
            pl.Series("customer_id", range(1, len(acquired) + 1), dtype=pl.Int64),
            stamps("acquired_at", acquired, time_zone),
            *(pl.Series(k, v) for k, v in extra.items()),
        ]
    )


def make_orders(
    rows: Sequence[tuple[int, date | datetime, float]],
    *,
    time_zone: str | None = None,
    **extra: Any,
) -> pl.DataFrame:
    return pl.DataFrame(
        [
            pl.Series("order_id", range(1, len(rows) + 1), dtype=pl.Int64),
            pl.Series("customer_id", [r[0] for r in rows], dtype=pl.Int64),
            stamps("ordered_at", [r[1] for r in rows], time_zone),
            pl.Series("amount", [r[2] for r in rows], dtype=pl.Float64),
            *(pl.Series(k, v) for k, v in extra.items()),
        ]
    )


def make_leads(
    rows: Sequence[tuple[date | datetime, date | datetime | None]],
    *,
    time_zone: str | None = None,
    **extra: Any,
) -> pl.DataFrame:
    created = stamps("created_at", [r[0] for r in rows], time_zone)
    converted = stamps("converted_at", [r[1] for r in rows], time_zone).cast(created.dtype)
    return pl.DataFrame(
        [
            pl.Series("lead_id", range(1, len(rows) + 1), dtype=pl.Int64),
            created,
            converted,
            *(pl.Series(k, v) for k, v in extra.items()),
        ]
    )


def cac_frame(
    rows: Sequence[tuple[Any, ...]], keys: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    schema = {"period_start": pl.Date(), **(keys or {}), **CAC_MEASURES}
    return pl.DataFrame(rows, schema=schema, orient="row")


def cac(
    spend: pl.DataFrame, customers: pl.DataFrame, to_kind: ToKind, **kwargs: Any
) -> pl.DataFrame:
    """The library's CAC on the kind under test (orders= converted too)."""
    if kwargs.get("orders") is not None:
        kwargs["orders"] = to_kind(kwargs["orders"])
    data = to_kind(spend)
    return collected(cm.customer_acquisition_cost(data, to_kind(customers), **kwargs), data)


def leads_run(frame: pl.DataFrame, to_kind: ToKind, **kwargs: Any) -> pl.DataFrame:
    data = to_kind(frame)
    return collected(cm.lead_conversion_rate(data, **kwargs), data)


# --------------------------------------------------------------------------
# 0. the oracle's clock against Polars (so that the oracle is not trusted blindly)


@settings(deadline=None, max_examples=150)
@given(
    day=st.sampled_from(
        [date(2024, 3, 31), date(2024, 10, 27), date(2024, 3, 10), date(2024, 11, 3)]
    ).flatmap(lambda d: st.dates(d - timedelta(days=400), d + timedelta(days=400))),
    minutes=st.integers(0, 24 * 60 - 1),
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "UTC"]),
    duration=st.sampled_from(["1d", "7d", "30d", "90d", "2w", "1mo", "3mo", "1q", "1y"]),
    back=st.booleans(),
)
def test_oracle_shift_matches_polars_offset_by(
    day: date, minutes: int, zone: str, duration: str, back: bool
) -> None:
    """Wall-clock shifts of aware datetimes, DST gaps and repeated hours included."""
    wall = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes)
    column = pl.Series([wall], dtype=pl.Datetime("us")).dt.replace_time_zone(
        zone, ambiguous="earliest", non_existent="null"
    )
    start = column.item()
    if start is None:  # a wall time skipped by DST: not a value a column can hold
        return
    shifted = column.dt.offset_by(f"-{duration}" if back else duration).item()
    mine = Clock.shift(start, duration, back=back)
    assert mine.astimezone(UTC) == shifted.astimezone(UTC)  # type: ignore[union-attr]


def test_oracle_shift_through_dst_edges() -> None:
    paris = ZoneInfo("Europe/Paris")
    # 30 March 02:30 + 1 day is 31 March 02:30, skipped: Polars lands at 00:30 UTC
    start = datetime(2024, 3, 30, 2, 30, tzinfo=paris)
    assert Clock.shift(start, "1d").astimezone(UTC) == datetime(2024, 3, 31, 0, 30, tzinfo=UTC)
    # a repeated hour keeps the side of the switch of the value it came from
    summer = datetime(2024, 10, 26, 2, 30, tzinfo=paris)
    assert Clock.shift(summer, "1d").utcoffset() == timedelta(hours=2)
    winter = datetime(2024, 10, 28, 2, 30, tzinfo=paris)
    assert Clock.shift(winter, "1d", back=True).utcoffset() == timedelta(hours=1)


# --------------------------------------------------------------------------
# 1. customer acquisition cost: golden tests


def test_design_worked_example(to_kind: ToKind) -> None:
    """DESIGN §4: $100,000 spent, 100 customers acquired: CAC $1,000."""
    spend = make_spend(
        [
            (date(2024, 3, 1), 40_000.0),
            (date(2024, 3, 15), 30_000.0),
            (date(2024, 3, 29), 20_000.0),
            (date(2024, 3, 31), 10_000.0),  # month end
        ]
    )
    days = [date(2024, 3, 1) + timedelta(days=i % 31) for i in range(100)]
    customers = make_customers(days)
    want = cac_frame([(date(2024, 3, 1), 100_000.0, 100, 1_000.0, True)])
    assert_frame_equal(cac(spend, customers, to_kind), want)
    assert_frame_equal(cac_oracle(spend, customers), want)


def test_docstring_example_with_a_null_channel(to_kind: ToKind) -> None:
    spend = make_spend(
        [
            (date(2024, 1, 1), 50_000.0),
            (date(2024, 1, 15), 30_000.0),
            (date(2024, 1, 20), 20_000.0),
            (date(2024, 1, 21), 6_000.0),  # spend without a channel is never lost
        ],
        channel=["search", "search", "social", None],
    )
    customers = make_customers(
        [
            date(2024, 1, 3),
            date(2024, 1, 9),
            date(2024, 1, 9),
            date(2024, 1, 30),
            date(2024, 1, 31),
        ],
        acquisition_channel=["search", "search", "social", "referral", None],
    )
    want = cac_frame(
        [
            (date(2024, 1, 1), "referral", 0.0, 1, 0.0, True),  # organic: CAC 0
            (date(2024, 1, 1), "search", 80_000.0, 2, 40_000.0, True),
            (date(2024, 1, 1), "social", 20_000.0, 1, 20_000.0, True),
            (date(2024, 1, 1), None, 6_000.0, 1, 6_000.0, True),  # null channels meet
        ],
        {"channel": pl.String()},
    )
    got = cac(spend, customers, to_kind, group_by="channel")
    assert_frame_equal(got, want)
    assert_frame_equal(cac_oracle(spend, customers, group_by="channel"), want)
    total = cac(spend, customers, to_kind)
    assert total.select("spend", "new_customers").row(0) == (106_000.0, 5)


def test_spend_without_customers_and_empty_months() -> None:
    spend = make_spend([(date(2024, 1, 10), 500.0), (date(2024, 4, 10), 300.0)])
    customers = make_customers([date(2024, 2, 29), date(2024, 4, 30), None])
    with pytest.warns(UserWarning, match="1 customers have a null acquired_at"):
        got = cm.customer_acquisition_cost(spend, customers)
    want = cac_frame(
        [
            (date(2024, 1, 1), 500.0, 0, None, True),  # spend, nobody acquired: null
            (date(2024, 2, 1), 0.0, 1, 0.0, True),  # acquired without spend: 0
            (date(2024, 3, 1), 0.0, 0, None, True),  # nothing at all: still a row
            (date(2024, 4, 1), 300.0, 1, 300.0, True),  # as_of is 30 April, observed whole
        ]
    )
    assert_frame_equal(got, want)
    lazy = cm.customer_acquisition_cost(spend.lazy(), customers.lazy())
    assert_frame_equal(collected(lazy, spend.lazy()), want)
    assert_frame_equal(cac_oracle(spend, customers), want)


def test_orders_as_customers_first_purchase(to_kind: ToKind) -> None:
    spend = make_spend([(date(2024, 1, 15), 300.0), (date(2024, 2, 10), 500.0)])
    orders = make_orders(
        [
            (1, date(2024, 1, 10), -20.0),  # a refund does not acquire anyone
            (1, date(2024, 1, 31), 20.0),  # 1's first purchase
            (1, date(2024, 2, 5), 20.0),  # a repeat purchase is not a new customer
            (2, date(2024, 2, 29), 0.0),  # a zero-amount order is a purchase
            (3, date(2024, 3, 5), -10.0),  # only a refund: never acquired
            (1, date(2024, 3, 9), 20.0),  # a later order does not move as_of
        ]
    )
    # as_of: the day of the latest spend or acquisition = 29 February, observed whole.
    want = cac_frame(
        [
            (date(2024, 1, 1), 300.0, 1, 300.0, True),
            (date(2024, 2, 1), 500.0, 1, 500.0, True),
        ]
    )
    assert_frame_equal(cac(spend, orders, to_kind), want)
    assert_frame_equal(cac_oracle(spend, orders), want)


def test_customers_dated_by_orders(to_kind: ToKind) -> None:
    spend = make_spend([(date(2024, 1, 2), 100.0), (date(2024, 2, 2), 100.0)])
    customers = make_customers([date(2024, 1, 5), None, None])
    orders = make_orders(
        [
            (1, date(2024, 2, 7), 10.0),  # 1 keeps its acquired_at (January)
            (2, date(2024, 2, 3), 10.0),  # 2 is dated by its first purchase
            (2, date(2024, 1, 30), -5.0),  # ... refunds are not purchases
            # 3 has no order: undated, not counted, no warning (orders were given)
        ]
    )
    want = cac_frame(
        [
            (date(2024, 1, 1), 100.0, 1, 100.0, True),
            (date(2024, 2, 1), 100.0, 1, 100.0, False),  # as_of: 3 February
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = cac(spend, customers, to_kind, orders=orders)
    assert_frame_equal(got, want)
    assert_frame_equal(cac_oracle(spend, customers, orders=orders), want)
    # Without an acquired_at column, every customer is dated by orders.
    no_dates = customers.drop("acquired_at")
    got = cac(spend, no_dates, to_kind, orders=orders)
    assert got.select("new_customers").to_series().to_list() == [0, 2]
    assert_frame_equal(cac_oracle(spend, no_dates, orders=orders), got)


def test_default_as_of_observes_the_whole_latest_day(to_kind: ToKind) -> None:
    """Spend at 31 March 10:00 (the latest event): all of 31 March is observed."""
    spend = make_spend(
        [(datetime(2024, 3, 1, 9), 10.0), (datetime(2024, 3, 31, 10), 10.0)],
        time_zone="Europe/Paris",
    )
    customers = make_customers([datetime(2024, 3, 31, 9)], time_zone="Europe/Paris")
    got = cac(spend, customers, to_kind)
    assert got.rows() == [(date(2024, 3, 1), 20.0, 1, 20.0, True)]
    # An explicit datetime as_of observes up to that instant only.
    got = cac(spend, customers, to_kind, as_of=datetime(2024, 3, 31, 9, 30))
    assert got.rows() == [(date(2024, 3, 1), 10.0, 1, 10.0, False)]


def test_weekly_periods_across_the_year_boundary(to_kind: ToKind) -> None:
    spend = make_spend([(date(2024, 12, 29), 70.0), (date(2024, 12, 30), 30.0)])
    customers = make_customers([date(2025, 1, 5), date(2024, 12, 23)])
    got = cac(spend, customers, to_kind, every="1w")
    assert got.rows() == [
        (date(2024, 12, 23), 70.0, 1, 70.0, True),  # Sunday 29 Dec is in the week of Mon 23
        (date(2024, 12, 30), 30.0, 1, 30.0, True),  # ISO week 2025-W01
    ]


def test_undated_customers_warn_only_for_eager_input() -> None:
    spend = make_spend([(date(2024, 1, 2), 100.0)])
    customers = make_customers([date(2024, 1, 5), None, None])
    with pytest.warns(UserWarning, match="2 customers have a null acquired_at"):
        cm.customer_acquisition_cost(spend, customers)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cm.customer_acquisition_cost(spend.lazy(), customers.lazy())


# --------------------------------------------------------------------------
# 2. customer acquisition cost: properties


@st.composite
def cac_cases(draw: st.DrawFn, *, source: str) -> dict[str, Any]:
    """spend, plus customers dated one of three ways (``source``), same clock."""
    zone = draw(strategies.zones())
    date_only = draw(st.booleans())
    when = {"time_zone": zone, "date_only": date_only}
    spend = exact_money(
        draw(strategies.spend(max_rows=20, with_optional=True, currency="EUR", **when))
    )
    ids = draw(st.sampled_from([pl.Int64, pl.String]))
    people = draw(strategies.customers(max_rows=15, id_dtype=ids, **when))
    pool = people["customer_id"].to_list() or None
    orders = None
    if source != "acquired_at":
        orders = draw(
            strategies.orders(
                max_rows=25,
                id_dtype=ids,
                customer_ids=pool,
                with_optional=False,
                currency="EUR",
                **when,
            )
        )
    if source == "orders":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cm.OrphanRowsWarning)
            customers = cm.with_customer_attributes(orders, people, "acquisition_channel")
        orders = None
    else:
        customers = people
    return {
        "spend": spend,
        "customers": customers,
        "orders": orders,
        "zone": None if date_only else zone,
        "every": draw(st.sampled_from(EVERY)),
        "group_by": draw(st.sampled_from([None, "channel"])),
        "as_of": draw(as_of_values()),
        "seed": draw(st.integers(0, 2**16)),
    }


def check_cac(case: dict[str, Any]) -> pl.DataFrame | None:
    """Library = oracle, eager = lazy = shuffled, inputs unchanged; the eager result."""
    spend, customers, orders = case["spend"], case["customers"], case["orders"]
    kwargs = {k: case[k] for k in ("every", "group_by", "as_of")}

    def call(s: Any, c: Any, o: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return cm.customer_acquisition_cost(s, c, orders=o, **kwargs)

    if not as_of_exists(case["as_of"], case["zone"]):
        with pytest.raises(cm.ArgumentError, match="Hint:"):
            call(spend, customers, orders)
        return None
    before = [f.clone() for f in (spend, customers, orders) if f is not None]
    want = cac_oracle(spend, customers, orders=orders, **kwargs)
    got = call(spend, customers, orders)
    assert isinstance(got, pl.DataFrame)
    assert_frame_equal(got, want)
    lazy = call(spend.lazy(), customers.lazy(), None if orders is None else orders.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), got)
    seed = case["seed"]
    reordered = call(
        shuffled(spend, seed),
        shuffled(customers, seed + 1),
        None if orders is None else shuffled(orders, seed + 2),
    )
    assert_frame_equal(reordered, got)
    after = [f for f in (spend, customers, orders) if f is not None]
    for old, new in zip(before, after, strict=True):
        assert_frame_equal(old, new)
    # invariants
    assert (got["spend"] >= 0).all()
    assert got["cac"].is_null().equals(got["new_customers"] == 0, check_names=False)
    assert (got["cac"].drop_nulls() >= 0).all()
    return got


@settings(deadline=None, max_examples=30)
@given(case=cac_cases(source="acquired_at"))
def test_cac_matches_oracle_acquired_at(case: dict[str, Any]) -> None:
    check_cac(case)


@settings(deadline=None, max_examples=25)
@given(case=cac_cases(source="orders"))
def test_cac_matches_oracle_orders_as_customers(case: dict[str, Any]) -> None:
    # acquisition_channel is a customer attribute: constant over a customer's orders,
    # so ties between first purchases cannot disagree on the group.
    check_cac(case)


@settings(deadline=None, max_examples=25)
@given(case=cac_cases(source="fallback"))
def test_cac_matches_oracle_customers_and_orders(case: dict[str, Any]) -> None:
    check_cac(case)


@settings(deadline=None, max_examples=20)
@given(case=cac_cases(source="acquired_at"))
def test_cac_channel_totals_match_the_ungrouped_result(case: dict[str, Any]) -> None:
    if not as_of_exists(case["as_of"], case["zone"]):
        return
    kwargs = {"every": case["every"], "as_of": case["as_of"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        total = cm.customer_acquisition_cost(case["spend"], case["customers"], **kwargs)
        grouped = cm.customer_acquisition_cost(
            case["spend"], case["customers"], group_by="channel", **kwargs
        )
    sums = (
        grouped.group_by("period_start")
        .agg(pl.col("spend").sum(), pl.col("new_customers").sum())
        .sort("period_start")
    )
    assert_frame_equal(sums, total.select("period_start", "spend", "new_customers"))


@pytest.mark.parametrize("group_by", [None, "channel"])
def test_cac_empty_input_gives_an_empty_frame(to_kind: ToKind, group_by: str | None) -> None:
    spend = make_spend([(date(2024, 1, 1), 1.0)], channel=["a"]).clear()
    customers = make_customers([date(2024, 1, 1)], acquisition_channel=["a"]).clear()
    got = cac(spend, customers, to_kind, group_by=group_by)
    assert got.is_empty()
    assert got.schema == cac_oracle(spend, customers, group_by=group_by).schema
    assert got.columns == [
        "period_start",
        *([group_by] if group_by else []),
        "spend",
        "new_customers",
        "cac",
        "is_complete",
    ]


# --------------------------------------------------------------------------
# 3. customer acquisition cost: errors


SPEND = make_spend([(date(2024, 1, 1), 10.0)], channel=["a"])
CUSTOMERS = make_customers([date(2024, 1, 1)], acquisition_channel=["a"])


@pytest.mark.parametrize("every", ["1m", "0d", "1h", "month", "", "2 w"])
def test_cac_bad_every(every: str) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:") as info:
        cm.customer_acquisition_cost(SPEND, CUSTOMERS, every=every)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("column", ["spent_at", "amount"])
def test_cac_missing_spend_column(to_kind: ToKind, column: str) -> None:
    with pytest.raises(cm.ValidationError, match=column):
        cm.customer_acquisition_cost(to_kind(SPEND.drop(column)), to_kind(CUSTOMERS))


def test_cac_missing_customer_id(to_kind: ToKind) -> None:
    with pytest.raises(cm.ValidationError, match="customer_id"):
        cm.customer_acquisition_cost(to_kind(SPEND), to_kind(CUSTOMERS.drop("customer_id")))


def test_cac_negative_spend_is_invalid() -> None:
    with pytest.raises(cm.ValidationError, match="amount"):
        cm.customer_acquisition_cost(SPEND.with_columns(pl.lit(-1.0).alias("amount")), CUSTOMERS)


def test_cac_undatable_customers() -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.customer_acquisition_cost(SPEND, CUSTOMERS.drop("acquired_at"))


def test_cac_channel_of_orders_is_not_the_acquisition_channel() -> None:
    orders = make_orders([(1, date(2024, 1, 1), 10.0)], channel=["a"])
    with pytest.raises(cm.ArgumentError, match="acquisition_channel"):
        cm.customer_acquisition_cost(SPEND, orders, group_by="channel")


def test_cac_group_by_personal_data_is_refused() -> None:
    spend = SPEND.with_columns(pl.lit("x@y.z").alias("email"))
    customers = CUSTOMERS.with_columns(pl.lit("x@y.z").alias("email"))
    with pytest.raises(cm.ArgumentError, match="personal data"):
        cm.customer_acquisition_cost(spend, customers, group_by="email")


def test_cac_group_by_column_missing_on_one_side() -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.customer_acquisition_cost(
            SPEND.with_columns(pl.lit("m").alias("kind")), CUSTOMERS, group_by="kind"
        )


def test_cac_mixed_time_zones() -> None:
    spend = make_spend([(datetime(2024, 1, 1), 1.0)], time_zone="UTC")
    customers = make_customers([datetime(2024, 1, 1)], time_zone="Europe/Paris")
    with pytest.raises(cm.ValidationError, match="time_zone"):
        cm.customer_acquisition_cost(spend, customers)


def test_mixed_spend_currencies_are_refused() -> None:
    """DESIGN §3 (was a bug: spend was validated on spent_at and amount only)."""
    spend = make_spend(
        [(date(2024, 1, 1), 10.0), (date(2024, 1, 2), 20.0)], currency=["EUR", "USD"]
    )
    with pytest.raises(cm.ValidationError, match="currency"):
        cm.customer_acquisition_cost(spend, CUSTOMERS)


# --------------------------------------------------------------------------
# 4. lead conversion: golden tests


def test_design_worked_example_250_of_1000(to_kind: ToKind) -> None:
    """DESIGN §4: 250 of 1,000 leads converted: 25 %."""
    rows: list[tuple[date, date | None]] = []
    for i in range(1000):
        created = date(2024, 1, 1) + timedelta(days=i % 31)  # 1 to 31 January
        if i < 250:
            converted: date | None = created + timedelta(days=i % 31)  # within 30 days
        elif i < 300:
            converted = created + timedelta(days=31)  # too late: not converted
        else:
            converted = None
        rows.append((created, converted))
    frame = make_leads(rows)
    got = leads_run(frame, to_kind, every="1mo", within="30d", as_of=date(2024, 6, 30))
    january = got.row(0, named=True)
    assert january == {
        "period_start": date(2024, 1, 1),
        "leads": 1000,
        "converted": 250,
        "conversion_rate": 0.25,
        "is_mature": True,
    }
    assert got.height == 6  # dense to June
    assert got["leads"].sum() == 1000
    assert_frame_equal(
        lead_conversion_oracle(frame, every="1mo", within="30d", as_of=date(2024, 6, 30)), got
    )


def test_docstring_example(to_kind: ToKind) -> None:
    frame = make_leads(
        [
            (date(2024, 1, 2), date(2024, 1, 20)),
            (date(2024, 1, 5), None),
            (date(2024, 1, 9), date(2024, 6, 1)),
            (date(2024, 2, 1), None),
        ]
    )
    got = leads_run(frame, to_kind, within="30d", as_of=date(2024, 3, 31))
    want = pl.DataFrame(
        [
            (date(2024, 1, 1), 3, 1, 1 / 3, True),
            (date(2024, 2, 1), 1, 0, 0.0, True),
            (date(2024, 3, 1), 0, 0, None, False),
        ],
        schema={"period_start": pl.Date(), **LEAD_MEASURES},
        orient="row",
    )
    assert_frame_equal(got, want)


def test_window_boundaries_are_inclusive_and_calendar(to_kind: ToKind) -> None:
    frame = make_leads(
        [
            (datetime(2024, 1, 31, 10), datetime(2024, 2, 29, 10)),  # +1mo clamps: on time
            (datetime(2024, 1, 31, 10), datetime(2024, 2, 29, 10, 0, 1)),  # one second late
            (datetime(2024, 1, 15, 10), datetime(2024, 1, 15, 10)),  # converted on creation
            (datetime(2024, 1, 15, 23, 59), datetime(2024, 2, 15, 23, 59)),  # exactly +1mo
        ],
        time_zone="Europe/Paris",
    )
    got = leads_run(frame, to_kind, within="1mo", as_of=date(2024, 3, 31))
    assert got.select("period_start", "leads", "converted").rows()[0] == (date(2024, 1, 1), 4, 3)
    assert_frame_equal(lead_conversion_oracle(frame, within="1mo", as_of=date(2024, 3, 31)), got)


def test_conversions_after_as_of_are_not_seen(to_kind: ToKind) -> None:
    frame = make_leads([(date(2024, 1, 5), date(2024, 2, 10))])
    early = leads_run(frame, to_kind, within="90d", as_of=date(2024, 2, 9))
    late = leads_run(frame, to_kind, within="90d", as_of=date(2024, 2, 10))
    assert early["converted"].to_list() == [0, 0]
    assert late["converted"].to_list() == [1, 0]
    assert not early["is_mature"].any()  # 1 Feb + 90 days is 1 May


@pytest.mark.parametrize(
    ("as_of", "mature"),
    [
        (date(2024, 3, 1), True),  # 1 Feb + 30d = 2 Mar = the end of the observed 1 March
        (datetime(2024, 3, 1, 23, 59), False),  # observation stops before 2 March
        (datetime(2024, 3, 2), True),
        (date(2024, 2, 29), False),
    ],
)
def test_maturity(to_kind: ToKind, as_of: date | datetime, mature: bool) -> None:
    frame = make_leads([(datetime(2024, 1, 10), None)])
    got = leads_run(frame, to_kind, within="30d", as_of=as_of)
    assert got["is_mature"][0] is mature
    assert_frame_equal(lead_conversion_oracle(frame, within="30d", as_of=as_of), got)


def test_default_as_of_is_the_latest_creation_or_conversion(to_kind: ToKind) -> None:
    frame = make_leads(
        [(datetime(2024, 1, 5), datetime(2024, 3, 3, 12)), (datetime(2024, 1, 7), None)]
    )
    got = leads_run(frame, to_kind, within="90d")
    assert got.select("period_start", "leads", "converted", "conversion_rate").rows() == [
        (date(2024, 1, 1), 2, 1, 0.5),
        (date(2024, 2, 1), 0, 0, None),
        (date(2024, 3, 1), 0, 0, None),
    ]
    assert not got["is_mature"].any()


def test_group_by_source_keeps_nulls(to_kind: ToKind) -> None:
    frame = make_leads(
        [
            (date(2024, 1, 5), date(2024, 1, 6)),
            (date(2024, 1, 6), None),
            (date(2024, 2, 6), date(2024, 2, 7)),
        ],
        source=["ads", None, "ads"],
    )
    got = leads_run(frame, to_kind, within="7d", group_by="source", as_of=date(2024, 2, 29))
    assert got.select("period_start", "source", "leads", "converted", "is_mature").rows() == [
        (date(2024, 1, 1), "ads", 1, 1, True),
        (date(2024, 1, 1), None, 1, 0, True),
        (date(2024, 2, 1), "ads", 1, 1, False),  # 1 Mar + 7d is after 1 Mar
        (date(2024, 2, 1), None, 0, 0, False),
    ]


# --------------------------------------------------------------------------
# 5. lead conversion: properties


@st.composite
def lead_cases(draw: st.DrawFn) -> dict[str, Any]:
    zone = draw(strategies.zones())
    date_only = draw(st.booleans())
    frame = draw(
        strategies.leads(max_rows=40, time_zone=zone, date_only=date_only, with_optional=True)
    )
    return {
        "frame": frame,
        "zone": None if date_only else zone,
        "every": draw(st.sampled_from(EVERY)),
        "within": draw(st.sampled_from(["1d", "7d", "30d", "90d", "2w", "1mo", "1q", "1y"])),
        "group_by": draw(st.sampled_from([None, "source", ["stage", "source"]])),
        "as_of": draw(as_of_values()),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(deadline=None, max_examples=50)
@given(case=lead_cases())
def test_lead_conversion_matches_oracle(case: dict[str, Any]) -> None:
    kwargs = {k: case[k] for k in ("every", "within", "group_by", "as_of")}
    if not as_of_exists(case["as_of"], case["zone"]):
        with pytest.raises(cm.ArgumentError, match="Hint:"):
            cm.lead_conversion_rate(case["frame"], **kwargs)
        return
    got = check_kpi(
        cm.lead_conversion_rate, lead_conversion_oracle, case["frame"], seed=case["seed"], **kwargs
    )
    assert got["conversion_rate"].drop_nulls().is_between(0, 1).all()
    assert (got["converted"] <= got["leads"]).all()
    assert got["conversion_rate"].is_null().equals(got["leads"] == 0, check_names=False)
    # maturity only moves forward: once a cohort is immature, every later one is too
    per_period = got.group_by("period_start").agg(pl.col("is_mature").all()).sort("period_start")
    flags = per_period["is_mature"].to_list()
    assert flags == sorted(flags, reverse=True)


@settings(deadline=None, max_examples=20)
@given(case=lead_cases())
def test_lead_source_totals_match_the_ungrouped_result(case: dict[str, Any]) -> None:
    if not as_of_exists(case["as_of"], case["zone"]):
        return
    kwargs = {k: case[k] for k in ("every", "within", "as_of")}
    total = cm.lead_conversion_rate(case["frame"], **kwargs)
    grouped = cm.lead_conversion_rate(case["frame"], group_by="source", **kwargs)
    sums = (
        grouped.group_by("period_start")
        .agg(pl.col("leads").sum(), pl.col("converted").sum())
        .sort("period_start")
    )
    assert_frame_equal(sums, total.select("period_start", "leads", "converted"))


def test_lead_empty_input(to_kind: ToKind) -> None:
    frame = make_leads([(date(2024, 1, 1), None)], source=["a"]).clear()
    got = leads_run(frame, to_kind, group_by="source")
    assert got.is_empty()
    assert got.schema == lead_conversion_oracle(frame, group_by="source").schema


# --------------------------------------------------------------------------
# 6. lead conversion: errors


LEADS = make_leads([(date(2024, 1, 1), date(2024, 1, 3))], source=["ads"])


@pytest.mark.parametrize("within", ["0d", "1h", "ninety", "-3d", "90", "", "3 mo", None])
def test_lead_bad_within(within: Any) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:") as info:
        cm.lead_conversion_rate(LEADS, within=within)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("every", ["1m", "0w", "weekly"])
def test_lead_bad_every(every: str) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.lead_conversion_rate(LEADS, every=every)


def test_lead_missing_created_at(to_kind: ToKind) -> None:
    with pytest.raises(cm.ValidationError, match="created_at"):
        cm.lead_conversion_rate(to_kind(LEADS.drop("created_at")))


def test_lead_converted_before_created_is_invalid() -> None:
    frame = make_leads([(date(2024, 1, 5), date(2024, 1, 3))])
    with pytest.raises(cm.ValidationError, match="converted_at"):
        cm.lead_conversion_rate(frame)


@pytest.mark.parametrize("key", ["email", "phone"])
def test_lead_group_by_personal_data(key: str) -> None:
    with pytest.raises(cm.ArgumentError, match="personal data"):
        cm.lead_conversion_rate(LEADS.with_columns(pl.lit("x").alias(key)), group_by=key)


@pytest.mark.parametrize("key", ["created_at", "converted_at", "leads", "unknown"])
def test_lead_group_by_bad_column(key: str) -> None:
    with pytest.raises(cm.ArgumentError, match="Hint:"):
        cm.lead_conversion_rate(LEADS.with_columns(pl.lit(1).alias("leads")), group_by=key)


# --------------------------------------------------------------------------
# 7. known bugs


def test_regression_missing_converted_at_is_a_raw_key_error() -> None:
    with pytest.raises(cm.ValidationError, match="converted_at"):
        cm.lead_conversion_rate(LEADS.drop("converted_at"))


def test_regression_first_purchase_tie_depends_on_row_order() -> None:
    orders = make_orders(
        [(1, date(2024, 1, 5), 10.0), (1, date(2024, 1, 5), 20.0)], category=["a", "b"]
    )
    spend = make_spend([(date(2024, 1, 1), 100.0)], category=["a"])
    forward = cm.customer_acquisition_cost(spend, orders, group_by="category")
    backward = cm.customer_acquisition_cost(spend, orders.reverse(), group_by="category")
    assert_frame_equal(forward, backward)
