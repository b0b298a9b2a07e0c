"""Hypothesis strategies for valid frames of every table of the data model.

pandera cannot generate Polars data, so these strategies build it by hand:
each draws a row count, then each column as one list, and assembles the
frame column-wise (fast, and shrinks well). Every frame they produce passes
``cm.validate(frame, table)``; the KPI tests reuse them as oracle inputs.

Timestamps favour the calendar's edge cases: month ends, 29 February 2024,
year boundaries, ISO-week boundaries, the European DST switches, midnight and
the last second of a day, and repeats of the same instant. Time-zone-aware
columns are built as local wall-clock times (so that "midnight on the last
day of the month" is local midnight); DST-ambiguous times take the earlier
instant and DST-skipped times move to the end of the gap.

Every table strategy takes the same options where they apply:

``min_rows``, ``max_rows``
    Bounds on the number of rows.
``id_dtype``
    ``pl.Int64`` or ``pl.String`` for every id column; ``None`` draws one.
``time_zone``
    ``None`` for naive datetimes, or a zone such as ``"UTC"`` or
    ``"Europe/Paris"`` shared by every datetime column.
``date_only``
    ``Date`` columns instead of ``Datetime`` ones.
``with_optional``
    ``True``: every optional column; ``False``: only the required ones;
    ``None``: a drawn subset of the optional ones.
``start``, ``end``
    The calendar range of the timestamps drawn (ends may run past ``end``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
from hypothesis import strategies as st

import crm_metrics as cm
from crm_metrics.typing import TABLE_NAMES

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hypothesis.strategies import DrawFn, SearchStrategy

    PolarsDType = pl.DataType | type[pl.DataType]

__all__ = [
    "EDGE_DATES",
    "EDGE_TIMES",
    "STRATEGIES",
    "ZONES",
    "FrameKind",
    "as_kind",
    "campaign_stats",
    "crm_data",
    "customers",
    "feedback",
    "leads",
    "moments",
    "orders",
    "spend",
    "subscriptions",
    "survey_responses",
    "web_sessions",
    "zones",
]

FrameKind = Literal["eager", "lazy"]

START = date(2023, 1, 1)
END = date(2025, 12, 31)

ZONES: tuple[str | None, ...] = (None, "UTC", "Europe/Paris")
"""Time zones the strategies are exercised with (``None`` is naive)."""

EDGE_DATES: tuple[date, ...] = (
    date(2023, 1, 1),  # a Sunday: ISO week 2022-W52
    date(2023, 1, 31),
    date(2023, 2, 28),
    date(2023, 3, 1),
    date(2023, 3, 26),  # DST starts in Europe
    date(2023, 10, 29),  # DST ends in Europe
    date(2023, 12, 31),
    date(2024, 1, 1),
    date(2024, 1, 31),
    date(2024, 2, 28),
    date(2024, 2, 29),  # leap day
    date(2024, 3, 1),
    date(2024, 3, 31),  # month end and DST start
    date(2024, 4, 30),
    date(2024, 6, 30),
    date(2024, 9, 30),
    date(2024, 10, 27),  # DST ends in Europe
    date(2024, 12, 30),  # Monday of ISO week 2025-W01
    date(2024, 12, 31),
    date(2025, 1, 1),
    date(2025, 2, 28),
    date(2025, 3, 1),
    date(2025, 3, 30),
    date(2025, 12, 31),
)
"""Calendar edge cases the timestamp strategies favour."""

EDGE_TIMES: tuple[time, ...] = (
    time(0, 0),
    time(0, 0, 0, 1000),
    time(2, 30),  # skipped or repeated on DST switch days
    time(12, 0),
    time(23, 59, 59),
    time(23, 59, 59, 999000),
)
"""Times of day the datetime strategies favour."""

CHANNELS = ("email", "search", "social", "referral", "direct", "paid_search")
SOURCES = ("organic", "ads", "newsletter", "partner", "event")
FEEDBACK_CHANNELS = ("survey", "review", "support", "chat")
PLANS = ("basic", "pro", "enterprise")
CURRENCIES = ("EUR", "USD", "GBP")
NAMES = ("Ada Lovelace", "Zoë Dupont", "José Núñez", "李雷", "O'Brien, Pat", "Jean-Luc")
COUNTRIES = ("FR", "DE", "US", "GB", "JP", "BR")
WORDS = ("great", "slow delivery", "", "ok", "émoji 🙂", "would recommend", "too pricey")
ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz0123456789-_"


def zones() -> SearchStrategy[str | None]:
    """Draw a time zone from :data:`ZONES` (``None`` means naive)."""
    return st.sampled_from(ZONES)


def as_kind(frame: pl.DataFrame, kind: FrameKind) -> pl.DataFrame | pl.LazyFrame:
    """``frame`` itself for ``"eager"``, ``frame.lazy()`` for ``"lazy"``."""
    if kind == "eager":
        return frame
    if kind == "lazy":
        return frame.lazy()
    msg = f"kind must be 'eager' or 'lazy', got {kind!r}"
    raise ValueError(msg)


# --------------------------------------------------------------------------
# columns


def moments(
    start: date = START, end: date = END, *, date_only: bool = False
) -> SearchStrategy[date] | SearchStrategy[datetime]:
    """One calendar date or naive datetime in ``[start, end]``, edge cases favoured."""
    edges = [d for d in EDGE_DATES if start <= d <= end] or [start, end]
    if date_only:
        return st.one_of(st.sampled_from(edges), st.dates(start, end))
    return st.one_of(
        st.builds(datetime.combine, st.sampled_from(edges), st.sampled_from(EDGE_TIMES)),
        st.datetimes(datetime.combine(start, time()), datetime.combine(end, time.max)).map(
            lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        ),
    )


def _localize(naive: pl.Series, time_zone: str | None) -> pl.Series:
    """Read naive wall-clock times in ``time_zone``, monotonically.

    Ambiguous times (DST ends) take the earlier instant; times skipped by DST
    move to the end of the gap, so that a later wall-clock time never becomes
    an earlier instant.
    """
    if time_zone is None:
        return naive
    exact = naive.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null")
    after_gap = (naive.dt.truncate("1h") + timedelta(hours=1)).dt.replace_time_zone(
        time_zone, ambiguous="earliest", non_existent="null"
    )
    # Zones whose gaps are not whole hours: read the wall clock as UTC instead.
    as_utc = naive.dt.replace_time_zone("UTC").dt.convert_time_zone(time_zone)
    return exact.fill_null(after_gap).fill_null(as_utc)


def _timestamps(
    draw: DrawFn,
    n: int,
    name: str,
    *,
    start: date,
    end: date,
    date_only: bool,
    time_zone: str | None,
) -> pl.Series:
    """``n`` timestamps, often repeating a few drawn instants (same-day repeats)."""
    moment = moments(start, end, date_only=date_only)
    pool = draw(st.lists(moment, min_size=1, max_size=4))
    values = draw(st.lists(st.one_of(st.sampled_from(pool), moment), min_size=n, max_size=n))
    if date_only:
        return pl.Series(name, values, dtype=pl.Date)
    return _localize(pl.Series(name, values, dtype=pl.Datetime("us")), time_zone)


def _after(
    draw: DrawFn, starts: pl.Series, name: str, *, nullable: bool, max_days: int = 400
) -> pl.Series:
    """A column at or after ``starts`` row by row (null where drawn, if ``nullable``).

    The gap is often zero (same instant) and is added in absolute time, so the
    order holds in every time zone.
    """
    n = starts.len()
    if starts.dtype == pl.Date:
        gaps = st.one_of(st.just(0), st.integers(0, max_days))
        days = draw(st.lists(gaps, min_size=n, max_size=n))
        ends = starts + pl.Series([timedelta(days=d) for d in days], dtype=pl.Duration("ms"))
        ends = ends.cast(pl.Date)
    else:
        seconds = st.one_of(st.just(0), st.integers(0, max_days * 86_400))
        gaps_s = draw(st.lists(seconds, min_size=n, max_size=n))
        ends = starts + pl.Series([timedelta(seconds=s) for s in gaps_s], dtype=pl.Duration("us"))
    ends = ends.alias(name)
    if nullable:
        ends = _with_nulls(draw, ends)
    return ends


def _null_mask(draw: DrawFn, n: int) -> list[bool]:
    return draw(st.lists(st.sampled_from((False, False, False, True)), min_size=n, max_size=n))


def _with_nulls(draw: DrawFn, series: pl.Series) -> pl.Series:
    """``series`` with a drawn subset of its values set to null."""
    mask = pl.Series("__null", _null_mask(draw, series.len()), dtype=pl.Boolean)
    return (
        pl.DataFrame([series, mask])
        .select(pl.when(pl.col("__null")).then(None).otherwise(pl.col(series.name)))
        .to_series()
        .alias(series.name)
    )


def _id_dtype(draw: DrawFn, id_dtype: PolarsDType | None) -> PolarsDType:
    if id_dtype is None:
        return draw(st.sampled_from((pl.Int64, pl.String)))
    if id_dtype not in (pl.Int64, pl.String):
        msg = f"id_dtype must be pl.Int64 or pl.String, got {id_dtype}"
        raise ValueError(msg)
    return id_dtype


def _unique_ids(draw: DrawFn, n: int, name: str, dtype: PolarsDType, prefix: str) -> pl.Series:
    """``n`` distinct ids (not contiguous, in no particular order)."""
    if dtype == pl.Int64:
        ints = draw(st.lists(st.integers(1, 10**12), min_size=n, max_size=n, unique=True))
        return pl.Series(name, ints, dtype=pl.Int64)
    texts = draw(
        st.lists(st.text(ID_ALPHABET, min_size=1, max_size=6), min_size=n, max_size=n, unique=True)
    )
    return pl.Series(name, [f"{prefix}{t}" for t in texts], dtype=pl.String)


def _references(
    draw: DrawFn,
    n: int,
    name: str,
    pool: Sequence[Any],
    dtype: PolarsDType,
    *,
    nullable: bool,
) -> pl.Series:
    """``n`` values drawn from ``pool`` (nulls mixed in if ``nullable``)."""
    choices: SearchStrategy[Any]
    if not pool:
        choices = st.none()
    elif nullable:
        choices = st.one_of(st.sampled_from(list(pool)), st.none())
    else:
        choices = st.sampled_from(list(pool))
    return pl.Series(name, draw(st.lists(choices, min_size=n, max_size=n)), dtype=dtype)


def _labels(
    draw: DrawFn, n: int, name: str, values: Sequence[str], *, nullable: bool = True
) -> pl.Series:
    choices = st.sampled_from(list(values))
    if nullable:
        choices = st.one_of(choices, st.none())
    return pl.Series(name, draw(st.lists(choices, min_size=n, max_size=n)), dtype=pl.String)


def _money(
    draw: DrawFn,
    n: int,
    name: str,
    *,
    min_cents: int,
    max_cents: int,
    dtype: PolarsDType = pl.Float64,
    nullable: bool = False,
) -> pl.Series:
    """Finite amounts in ``[min_cents, max_cents] / 100``, in any Money dtype."""
    specials = [c for c in (0, 1, 99, 100, -100, 1999, 10**6) if min_cents <= c <= max_cents]
    cents_strategy = st.integers(min_cents, max_cents)
    if specials:
        cents_strategy = st.one_of(st.sampled_from(specials), cents_strategy)
    cents = draw(st.lists(cents_strategy, min_size=n, max_size=n))
    if dtype.is_decimal():
        target = dtype if isinstance(dtype, pl.DataType) else pl.Decimal(18, 2)
        series = pl.Series(name, [Decimal(c).scaleb(-2) for c in cents], dtype=target)
    elif dtype.is_integer():
        series = pl.Series(name, [c // 100 for c in cents], dtype=pl.Int64).cast(dtype)
    elif dtype.is_float():
        series = pl.Series(name, [c / 100 for c in cents], dtype=pl.Float64).cast(dtype)
    else:
        msg = f"a Money dtype must be numeric, got {dtype}"
        raise ValueError(msg)
    return _with_nulls(draw, series) if nullable else series


def _flags(draw: DrawFn, n: int, name: str) -> pl.Series:
    """A Boolean column with nulls mixed in."""
    flags = st.one_of(st.booleans(), st.none())
    return pl.Series(name, draw(st.lists(flags, min_size=n, max_size=n)), dtype=pl.Boolean)


def _counts(draw: DrawFn, n: int, name: str, *, low: int, high: int) -> pl.Series:
    values = st.one_of(st.sampled_from((low, low + 1)), st.integers(low, high))
    return pl.Series(name, draw(st.lists(values, min_size=n, max_size=n)), dtype=pl.Int64)


def _assemble(
    draw: DrawFn,
    table: str,
    required: list[pl.Series],
    optional: list[Callable[[], pl.Series]],
    with_optional: bool | None,
) -> pl.DataFrame:
    """The frame of the required columns and the optional ones asked for.

    Optional columns are built lazily (thunks) so that a column left out costs
    no drawing; ``with_optional=None`` draws which ones to keep. Columns come in
    the model's order.
    """
    if with_optional is None:
        keep = draw(st.lists(st.booleans(), min_size=len(optional), max_size=len(optional)))
    else:
        keep = [with_optional] * len(optional)
    columns = list(required) + [make() for make, kept in zip(optional, keep, strict=True) if kept]
    frame = pl.DataFrame(columns)
    return frame.select(c for c in _model_columns(table) if c in frame.columns)


@cache
def _model_columns(table: str) -> tuple[str, ...]:
    return tuple(cm.schemas.model(table).to_schema().columns)


def _customer_pool(
    draw: DrawFn,
    customer_ids: Sequence[Any] | None,
    n_customers: int | None,
    dtype: PolarsDType,
) -> list[Any]:
    if customer_ids is not None:
        return list(customer_ids)
    size = draw(st.integers(1, 10)) if n_customers is None else n_customers
    return _unique_ids(draw, size, "customer_id", dtype, "c-").to_list()


def _row_count(draw: DrawFn, min_rows: int, max_rows: int, *, pool: Sequence[Any] = (1,)) -> int:
    """Rows to draw; zero when the frame needs customers and there are none."""
    if not pool:
        return 0
    return draw(st.integers(min_rows, max_rows))


# --------------------------------------------------------------------------
# tables


@st.composite
def customers(
    draw: DrawFn,
    min_rows: int = 0,
    max_rows: int = 30,
    *,
    id_dtype: PolarsDType | None = None,
    customer_ids: Sequence[Any] | None = None,
    time_zone: str | None = None,
    with_optional: bool | None = True,
    start: date = START,
    end: date = END,
    date_only: bool = False,
) -> pl.DataFrame:
    """A valid ``customers`` table: unique ids, PII columns, demographics, consents.

    ``customer_ids`` fixes the ids (and the row count) instead of drawing them.
    ``age`` is Float64 in [0, 130], ``income`` Float64 ≥ 0; both nullable.
    """
    dtype = _id_dtype(draw, id_dtype)
    if customer_ids is not None:
        ids = pl.Series("customer_id", list(customer_ids), dtype=dtype)
    else:
        ids = _unique_ids(draw, draw(st.integers(min_rows, max_rows)), "customer_id", dtype, "c-")
    n = ids.len()
    when = {"start": start, "end": end, "date_only": date_only, "time_zone": time_zone}

    def pii(name: str, render: Callable[[int, str], str]) -> Callable[[], pl.Series]:
        def make() -> pl.Series:
            picked = draw(st.lists(st.sampled_from(NAMES), min_size=n, max_size=n))
            values = [render(i, person) for i, person in enumerate(picked)]
            return _with_nulls(draw, pl.Series(name, values, dtype=pl.String))

        return make

    optional: list[Callable[[], pl.Series]] = [
        lambda: _with_nulls(draw, _timestamps(draw, n, "acquired_at", **when)),
        lambda: _labels(draw, n, "acquisition_channel", CHANNELS),
        pii("name", lambda _, person: person),
        pii("email", lambda i, _: f"person{i}@example.com"),
        pii("phone", lambda i, _: f"+33 6 12 34 {i // 100 % 100:02d} {i % 100:02d}"),
        pii("address", lambda i, _: f"{i + 1} rue de la Paix, 75002 Paris"),
        lambda: _with_nulls(
            draw,
            _timestamps(
                draw,
                n,
                "birth_date",
                start=date(1930, 1, 1),
                end=date(2007, 12, 31),
                date_only=True,
                time_zone=None,
            ),
        ),
        lambda: _money(draw, n, "age", min_cents=0, max_cents=13_000, nullable=True),
        lambda: _labels(draw, n, "gender", ("female", "male", "non-binary")),
        lambda: _labels(draw, n, "country", COUNTRIES),
        lambda: _labels(draw, n, "region", ("north", "south", "east", "west")),
        lambda: _labels(draw, n, "city", ("Paris", "Lyon", "Berlin", "São Paulo")),
        lambda: _labels(draw, n, "occupation", ("engineer", "teacher", "nurse")),
        lambda: _money(draw, n, "income", min_cents=0, max_cents=50_000_000, nullable=True),
        lambda: _flags(draw, n, "consent_marketing"),
        lambda: _flags(draw, n, "consent_analytics"),
    ]
    return _assemble(draw, "customers", [ids], optional, with_optional)


@st.composite
def orders(
    draw: DrawFn,
    min_rows: int = 0,
    max_rows: int = 30,
    *,
    id_dtype: PolarsDType | None = None,
    customer_ids: Sequence[Any] | None = None,
    n_customers: int | None = None,
    time_zone: str | None = None,
    with_optional: bool | None = True,
    start: date = START,
    end: date = END,
    date_only: bool = False,
    money_dtype: PolarsDType = pl.Float64,
    currency: str | None = None,
) -> pl.DataFrame:
    """A valid ``orders`` table; ``amount`` may be negative (a refund) or zero.

    Customers come from ``customer_ids`` when given, else from a drawn pool of
    ``n_customers`` ids (1 to 10), so that customers repeat. ``currency`` is one
    value (drawn unless given) with nulls mixed in.
    """
    dtype = _id_dtype(draw, id_dtype)
    pool = _customer_pool(draw, customer_ids, n_customers, dtype)
    n = _row_count(draw, min_rows, max_rows, pool=pool)
    when = {"start": start, "end": end, "date_only": date_only, "time_zone": time_zone}
    money = draw(st.sampled_from(CURRENCIES)) if currency is None else currency
    required = [
        _unique_ids(draw, n, "order_id", dtype, "o-"),
        _references(draw, n, "customer_id", pool, dtype, nullable=False),
        _timestamps(draw, n, "ordered_at", **when),
        _money(draw, n, "amount", min_cents=-50_000, max_cents=500_000, dtype=money_dtype),
    ]
    optional: list[Callable[[], pl.Series]] = [
        lambda: _with_nulls(draw, _unique_ids(draw, n, "product_id", dtype, "p-")),
        lambda: _labels(draw, n, "category", ("books", "music", "garden")),
        lambda: _with_nulls(draw, _counts(draw, n, "quantity", low=1, high=20)),
        lambda: _labels(draw, n, "channel", CHANNELS),
        lambda: _labels(draw, n, "currency", (money,)),
    ]
    return _assemble(draw, "orders", required, optional, with_optional)


@st.composite
def spend(
    draw: DrawFn,
    min_rows: int = 0,
    max_rows: int = 30,
    *,
    time_zone: str | None = None,
    with_optional: bool | None = True,
    start: date = START,
    end: date = END,
    date_only: bool = False,
    money_dtype: PolarsDType = pl.Float64,
    currency: str | None = None,
) -> pl.DataFrame:
    """A valid ``spend`` table: ``amount`` ≥ 0, ``kind`` marketing / sales."""
    n = _row_count(draw, min_rows, max_rows)
    when = {"start": start, "end": end, "date_only": date_only, "time_zone": time_zone}
    money = draw(st.sampled_from(CURRENCIES)) if currency is None else currency
    required = [
        _timestamps(draw, n, "spent_at", **when),
        _money(draw, n, "amount", min_cents=0, max_cents=10_000_000, dtype=money_dtype),
    ]
    optional: list[Callable[[], pl.Series]] = [
        lambda: _labels(draw, n, "channel", CHANNELS),
        lambda: _labels(draw, n, "kind", ("marketing", "sales")),
        lambda: _labels(draw, n, "currency", (money,)),
    ]
    return _assemble(draw, "spend", required, optional, with_optional)


@st.composite
def leads(
    draw: DrawFn,
    min_rows: int = 0,
    max_rows: int = 30,
    *,
    id_dtype: PolarsDType | None = None,
    customer_ids: Sequence[Any] | None = None,
    n_customers: int | None = None,
    time_zone: str | None = None,
    with_optional: bool | None = True,
    start: date = START,
    end: date = END,
    date_only: bool = False,
) -> pl.DataFrame:
    """A valid ``leads`` table; ``converted_at`` is null or at/after ``created_at``."""
    dtype = _id_dtype(draw, id_dtype)
    pool = _customer_pool(draw, customer_ids, n_customers, dtype)
    n = _row_count(draw, min_rows, max_rows)
    when = {"start": start, "end": end, "date_only": date_only, "time_zone": time_zone}
    created = _timestamps(draw, n, "created_at", **when)
    required = [_unique_ids(draw, n, "lead_id", dtype, "l-"), created]
    optional: list[Callable[[], pl.Series]] = [
        lambda: _labels(draw, n, "source", SOURCES),
        lambda: _after(draw, created, "converted_at", nullable=True),
        lambda: _references(draw, n, "customer_id", pool, dtype, nullable=True),
        lambda: _labels(draw, n, "stage", ("new", "qualified", "won", "lost")),
    ]
    return _assemble(draw, "leads", required, optional, with_optional)


@st.composite
def survey_responses(
    draw: DrawFn,
    min_rows: int = 0,
    max_rows: int = 30,
    *,
    id_dtype: PolarsDType | None = None,
    customer_ids: Sequence[Any] | None = None,
    n_customers: int | None = None,
    time_zone: str | None = None,
    with_optional: bool | None = True,
    start: date = START,
    end: date = END,
    date_only: bool = False,
) -> pl.DataFrame:
    """A valid ``survey_responses`` table: integer ``score`` in 0 to 10, some anonymous."""
    dtype = _id_dtype(draw, id_dtype)
    pool = _customer_pool(draw, customer_ids, n_customers, dtype)
    n = _row_count(draw, min_rows, max_rows)
    when = {"start": start, "end": end, "date_only": date_only, "time_zone": time_zone}
    scores = st.one_of(st.sampled_from((0, 6, 7, 8, 9, 10)), st.integers(0, 10))
    required = [
        _unique_ids(draw, n, "response_id", dtype, "r-"),
        _timestamps(draw, n, "responded_at", **when),
        pl.Series("score", draw(st.lists(scores, min_size=n, max_size=n)), dtype=pl.Int64),
    ]
    optional: list[Callable[[], pl.Series]] = [
        lambda: _references(draw, n, "customer_id", pool, dtype, nullable=True),
        lambda: _labels(draw, n, "comment", WORDS),
    ]
    return _assemble(draw, "survey_responses", required, optional, with_optional)


@st.composite
def feedback(
    draw: DrawFn,
    min_rows: int = 0,
    max_rows: int = 30,
    *,
    id_dtype: PolarsDType | None = None,
    customer_ids: Sequence[Any] | None = None,
    n_customers: int | None = None,
    time_zone: str | None = None,
    with_optional: bool | None = True,
    start: date = START,
    end: date = END,
    date_only: bool = False,
) -> pl.DataFrame:
    """A valid ``feedback`` table: ``rating`` 1 to 5 or null, free ``text``."""
    dtype = _id_dtype(draw, id_dtype)
    pool = _customer_pool(draw, customer_ids, n_customers, dtype)
    n = _row_count(draw, min_rows, max_rows)
    when = {"start": start, "end": end, "date_only": date_only, "time_zone": time_zone}
    required = [
        _unique_ids(draw, n, "feedback_id", dtype, "f-"),
        _timestamps(draw, n, "created_at", **when),
        _labels(draw, n, "channel", FEEDBACK_CHANNELS, nullable=False),
    ]
    ratings = st.one_of(st.integers(1, 5), st.none())
    optional: list[Callable[[], pl.Series]] = [
        lambda: _references(draw, n, "customer_id", pool, dtype, nullable=True),
        lambda: pl.Series(
            "rating", draw(st.lists(ratings, min_size=n, max_size=n)), dtype=pl.Int64
        ),
        lambda: _labels(draw, n, "text", WORDS),
    ]
    return _assemble(draw, "feedback", required, optional, with_optional)


@st.composite
def subscriptions(
    draw: DrawFn,
    min_rows: int = 0,
    max_rows: int = 30,
    *,
    id_dtype: PolarsDType | None = None,
    customer_ids: Sequence[Any] | None = None,
    n_customers: int | None = None,
    time_zone: str | None = None,
    with_optional: bool | None = True,
    start: date = START,
    end: date = END,
    date_only: bool = False,
    money_dtype: PolarsDType = pl.Float64,
    currency: str | None = None,
) -> pl.DataFrame:
    """A valid ``subscriptions`` table: ``ended_at`` null or ≥ ``started_at``, ``mrr`` ≥ 0."""
    dtype = _id_dtype(draw, id_dtype)
    pool = _customer_pool(draw, customer_ids, n_customers, dtype)
    n = _row_count(draw, min_rows, max_rows, pool=pool)
    when = {"start": start, "end": end, "date_only": date_only, "time_zone": time_zone}
    money = draw(st.sampled_from(CURRENCIES)) if currency is None else currency
    started = _timestamps(draw, n, "started_at", **when)
    required = [
        _unique_ids(draw, n, "subscription_id", dtype, "s-"),
        _references(draw, n, "customer_id", pool, dtype, nullable=False),
        started,
        _money(draw, n, "mrr", min_cents=0, max_cents=100_000, dtype=money_dtype),
    ]
    optional: list[Callable[[], pl.Series]] = [
        lambda: _after(draw, started, "ended_at", nullable=True, max_days=800),
        lambda: _labels(draw, n, "plan", PLANS),
        lambda: _labels(draw, n, "currency", (money,)),
    ]
    return _assemble(draw, "subscriptions", required, optional, with_optional)


@st.composite
def web_sessions(
    draw: DrawFn,
    min_rows: int = 0,
    max_rows: int = 30,
    *,
    id_dtype: PolarsDType | None = None,
    customer_ids: Sequence[Any] | None = None,
    n_customers: int | None = None,
    time_zone: str | None = None,
    with_optional: bool | None = True,
    start: date = START,
    end: date = END,
    date_only: bool = False,
) -> pl.DataFrame:
    """A valid ``web_sessions`` table: ``pageviews`` ≥ 1, ``duration_s`` ≥ 0 or null.

    Visitors repeat (a pool of up to 8 ``visitor_id``); ``customer_id`` is null
    for anonymous sessions.
    """
    dtype = _id_dtype(draw, id_dtype)
    pool = _customer_pool(draw, customer_ids, n_customers, dtype)
    n = _row_count(draw, min_rows, max_rows)
    when = {"start": start, "end": end, "date_only": date_only, "time_zone": time_zone}
    visitors = _unique_ids(draw, draw(st.integers(1, 8)), "visitor_id", dtype, "v-").to_list()
    required = [
        _unique_ids(draw, n, "session_id", dtype, "w-"),
        _timestamps(draw, n, "started_at", **when),
        _references(draw, n, "visitor_id", visitors, dtype, nullable=False),
        _counts(draw, n, "pageviews", low=1, high=200),
    ]
    optional: list[Callable[[], pl.Series]] = [
        lambda: _references(draw, n, "customer_id", pool, dtype, nullable=True),
        lambda: _labels(draw, n, "source", SOURCES),
        lambda: _money(draw, n, "duration_s", min_cents=0, max_cents=720_000, nullable=True),
        lambda: _flags(draw, n, "converted"),
    ]
    return _assemble(draw, "web_sessions", required, optional, with_optional)


@st.composite
def campaign_stats(
    draw: DrawFn,
    min_rows: int = 0,
    max_rows: int = 30,
    *,
    time_zone: str | None = None,
    with_optional: bool | None = True,
    start: date = START,
    end: date = END,
    date_only: bool = True,
) -> pl.DataFrame:
    """A valid ``campaign_stats`` table: 0 ≤ ``clicks`` ≤ ``impressions``.

    ``date`` is a ``Date`` unless ``date_only=False``. Rows are not unique per
    (date, campaign): the model does not require it.
    """
    n = _row_count(draw, min_rows, max_rows)
    when = {"start": start, "end": end, "date_only": date_only, "time_zone": time_zone}
    impressions = draw(
        st.lists(st.one_of(st.sampled_from((0, 1)), st.integers(0, 10**7)), min_size=n, max_size=n)
    )
    clicks = [draw(st.one_of(st.just(i), st.integers(0, i))) for i in impressions]
    required = [
        _timestamps(draw, n, "date", **when),
        _labels(draw, n, "campaign", ("spring_sale", "black_friday", "brand"), nullable=False),
        pl.Series("impressions", impressions, dtype=pl.Int64),
        pl.Series("clicks", clicks, dtype=pl.Int64),
    ]
    optional: list[Callable[[], pl.Series]] = [
        lambda: _labels(draw, n, "channel", CHANNELS),
        lambda: _with_nulls(draw, _counts(draw, n, "engagements", low=0, high=10**6)),
        lambda: _with_nulls(draw, _counts(draw, n, "reach", low=0, high=10**7)),
    ]
    return _assemble(draw, "campaign_stats", required, optional, with_optional)


STRATEGIES: dict[str, Callable[..., SearchStrategy[pl.DataFrame]]] = {
    "customers": customers,
    "orders": orders,
    "spend": spend,
    "leads": leads,
    "survey_responses": survey_responses,
    "feedback": feedback,
    "subscriptions": subscriptions,
    "web_sessions": web_sessions,
    "campaign_stats": campaign_stats,
}
"""Table name → its strategy, in the data model's order."""


@st.composite
def crm_data(
    draw: DrawFn,
    *,
    min_customers: int = 1,
    max_customers: int = 10,
    max_rows: int = 20,
    id_dtype: PolarsDType | None = None,
    time_zone: str | None = None,
    date_only: bool = False,
    currency: str = "EUR",
    tables: Sequence[str] = TABLE_NAMES,
) -> cm.CRMData:
    """A consistent bundle: every ``customer_id`` of an event table is a customer.

    All ids share one dtype, every datetime column one time zone, and all money
    one ``currency``. ``tables`` chooses which tables to include (customers is
    always built, as the pool of ids, but only returned if listed).
    """
    dtype = _id_dtype(draw, id_dtype)
    people = draw(
        customers(
            min_customers, max_customers, id_dtype=dtype, time_zone=time_zone, date_only=date_only
        )
    )
    pool = people.get_column("customer_id").to_list()
    options: dict[str, Any] = {"time_zone": time_zone, "max_rows": max_rows}
    keyed: dict[str, Any] = {**options, "id_dtype": dtype, "customer_ids": pool}
    built: dict[str, pl.DataFrame] = {"customers": people}
    for name in tables:
        if name == "customers":
            continue
        if name == "campaign_stats":
            built[name] = draw(campaign_stats(**options))
        elif name == "spend":
            built[name] = draw(spend(**options, date_only=date_only, currency=currency))
        elif name in ("orders", "subscriptions"):
            built[name] = draw(STRATEGIES[name](**keyed, date_only=date_only, currency=currency))
        else:
            built[name] = draw(STRATEGIES[name](**keyed, date_only=date_only))
    return cm.CRMData(**{name: built[name] for name in tables})
