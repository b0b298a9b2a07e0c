"""The data model: one pandera (Polars backend) model per table.

Each model lists a table's canonical columns (see the table in the docs' data
model page), their dtypes, which are optional, and the checks their values
must pass. The models are what users read; :func:`crm_metrics.validate` runs
them and turns every failure into one :class:`~crm_metrics.ValidationError`.

Column dtypes are families rather than single Polars dtypes where the data
model allows a choice:

* :class:`Identifier`: ``Int64`` or ``String``;
* :class:`Timestamp`: ``Date`` or ``Datetime`` of any unit, naive or tz-aware;
* :class:`Money`: any integer, float or decimal dtype (computed in Float64);
* :class:`Integer`: any integer dtype;
* :class:`Text`: ``String``, ``Categorical`` or ``Enum``.

Personal data is marked in each column's metadata (``{"pii": True}``);
:func:`pii_columns` lists them.

Examples
--------
>>> import crm_metrics as cm
>>> cm.schemas.model("orders").__name__
'Orders'
>>> cm.schemas.required_columns("orders")
('order_id', 'customer_id', 'ordered_at', 'amount')
>>> cm.schemas.pii_columns("survey_responses")
('comment',)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import pandera.polars as pa
import polars as pl
from pandera import dtypes
from pandera.engines import polars_engine

from crm_metrics.exceptions import UnknownTableError
from crm_metrics.typing import TABLE_NAMES, TableName

if TYPE_CHECKING:
    from pandera.api.polars.types import PolarsData

__all__ = [
    "CampaignStats",
    "Customers",
    "Feedback",
    "Identifier",
    "Integer",
    "Leads",
    "Money",
    "Orders",
    "Spend",
    "Subscriptions",
    "SurveyResponses",
    "Text",
    "Timestamp",
    "WebSessions",
    "model",
    "pii_columns",
    "required_columns",
]


# --------------------------------------------------------------------------
# dtype families


PolarsDType: TypeAlias = pl.DataType | type[pl.DataType]
"""A Polars dtype, as an instance or as the bare class."""


def _polars_type(pandera_dtype: Any) -> PolarsDType | None:
    try:
        found: PolarsDType = polars_engine.Engine.dtype(pandera_dtype).type
    except TypeError:
        return None
    return found


class _Family(polars_engine.DataType):
    """A set of Polars dtypes accepted for one column."""

    label: ClassVar[str] = ""

    def accepts(self, dtype: PolarsDType) -> bool:
        raise NotImplementedError

    def check(self, pandera_dtype: Any, data_container: Any = None) -> bool:
        found = _polars_type(pandera_dtype)
        return found is not None and self.accepts(found)

    def __str__(self) -> str:
        return self.label


@polars_engine.Engine.register_dtype
@dtypes.immutable
class Identifier(_Family):
    """An id column: ``Int64`` or ``String``."""

    type = pl.Int64
    label = "Int64 | String"

    def accepts(self, dtype: PolarsDType) -> bool:
        return dtype in (pl.Int64, pl.String)


@polars_engine.Engine.register_dtype
@dtypes.immutable
class Timestamp(_Family):
    """A point in time: ``Date``, or ``Datetime`` of any unit and time zone."""

    type = pl.Datetime
    label = "Date | Datetime"

    def accepts(self, dtype: PolarsDType) -> bool:
        return dtype == pl.Date or isinstance(dtype, pl.Datetime) or dtype == pl.Datetime


@polars_engine.Engine.register_dtype
@dtypes.immutable
class Money(_Family):
    """An amount of money: any integer, float or decimal dtype."""

    type = pl.Float64
    label = "numeric (Int*, UInt*, Float*, Decimal)"

    def accepts(self, dtype: PolarsDType) -> bool:
        return dtype.is_numeric()


@polars_engine.Engine.register_dtype
@dtypes.immutable
class Integer(_Family):
    """A count or score: any integer dtype."""

    type = pl.Int64
    label = "integer (Int*, UInt*)"

    def accepts(self, dtype: PolarsDType) -> bool:
        return dtype.is_integer()


@polars_engine.Engine.register_dtype
@dtypes.immutable
class Text(_Family):
    """A label: ``String``, ``Categorical`` or ``Enum``."""

    type = pl.String
    label = "String | Categorical | Enum"

    def accepts(self, dtype: PolarsDType) -> bool:
        return dtype in (pl.String, pl.Categorical, pl.Enum) or isinstance(
            dtype, pl.Categorical | pl.Enum
        )


# --------------------------------------------------------------------------
# reusable checks

FRAME_CHECK_COLUMNS: dict[str, tuple[str, ...]] = {}
"""Frame-level check name → the columns it is about (the first one is reported)."""

_CheckFn = Callable[[Any, "PolarsData"], pl.LazyFrame]


def _skip_unless(data: PolarsData, *columns: str) -> pl.LazyFrame | None:
    """All-pass result when a column is absent (its absence is reported already)."""
    present = set(data.lazyframe.collect_schema().names())
    if set(columns) <= present:
        return None
    return data.lazyframe.select(pl.lit(value=True))


def _unique(*columns: str) -> Any:
    """Frame check: the combination of ``columns`` is unique (an ``n_unique`` pass)."""
    name = f"unique({', '.join(columns)})"
    FRAME_CHECK_COLUMNS[name] = columns

    def check(cls: Any, data: PolarsData) -> pl.LazyFrame:
        skipped = _skip_unless(data, *columns)
        if skipped is not None:
            return skipped
        if len(columns) == 1:  # nulls are judged by `nullable`, not as duplicates
            column = pl.col(columns[0])
            return data.lazyframe.select(column.drop_nulls().n_unique() == column.count())
        return data.lazyframe.select(pl.struct(columns).n_unique() == pl.len())

    check.__name__ = f"unique_{'_'.join(columns)}"
    return pa.dataframe_check(check, name=name)


def _single_value(column: str) -> Any:
    """Frame check: ``column`` holds at most one distinct non-null value."""
    name = f"single_value({column})"
    FRAME_CHECK_COLUMNS[name] = (column,)

    def check(cls: Any, data: PolarsData) -> pl.LazyFrame:
        skipped = _skip_unless(data, column)
        if skipped is not None:
            return skipped
        # min == max: two linear scans, a third of the cost of hashing for n_unique
        values = pl.col(column)
        return data.lazyframe.select((values.min() == values.max()).fill_null(True))

    check.__name__ = f"single_value_{column}"
    return pa.dataframe_check(check, name=name)


def _comparable(schema: pl.Schema, column: str, other: str) -> pl.Expr:
    """``column`` as an expression comparable with ``other`` (Date vs Datetime)."""
    dtype, other_dtype = schema[column], schema[other]
    expr = pl.col(column)
    if dtype == pl.Date and isinstance(other_dtype, pl.Datetime):
        expr = expr.cast(pl.Datetime(other_dtype.time_unit or "us"))
        if other_dtype.time_zone is not None:  # no local midnight (DST at 0:00): not judged
            expr = expr.dt.replace_time_zone(
                other_dtype.time_zone, ambiguous="earliest", non_existent="null"
            )
    return expr


def _not_less(column: str, than: str) -> Any:
    """Row check: ``column >= than`` wherever both are present."""
    name = f"{column} >= {than}"
    FRAME_CHECK_COLUMNS[name] = (column, than)

    def check(cls: Any, data: PolarsData) -> pl.LazyFrame:
        skipped = _skip_unless(data, column, than)
        if skipped is not None:
            return skipped
        schema = data.lazyframe.collect_schema()
        pair = (schema[column], schema[than])
        zones = {dtype.time_zone for dtype in pair if isinstance(dtype, pl.Datetime)}
        comparable = all(d.is_temporal() for d in pair) or all(d.is_numeric() for d in pair)
        if len(zones) > 1 or not comparable:
            # mixed zones and wrong dtypes are reported by their own checks
            return data.lazyframe.select(pl.lit(value=True).alias(name))
        left, right = _comparable(schema, column, than), _comparable(schema, than, column)
        return data.lazyframe.select(
            (left >= right).fill_null(value=True).alias(name),
        )

    check.__name__ = f"{column}_not_less_than_{than}"
    return pa.dataframe_check(check, name=name)


def _finite(column: str) -> Any:
    """Column check: no NaN or ±inf (nulls are judged by ``nullable``)."""

    def check(cls: Any, data: PolarsData) -> pl.LazyFrame:
        dtype = data.lazyframe.collect_schema()[data.key]
        if not dtype.is_float():
            return data.lazyframe.select(pl.lit(value=True).alias(data.key))
        return data.lazyframe.select(pl.col(data.key).is_finite())

    check.__name__ = f"finite_{column}"
    return pa.check(column, name="finite")(check)


def _pii(**kwargs: Any) -> Any:
    """A nullable optional column holding personal data."""
    return pa.Field(nullable=True, metadata={"pii": True}, **kwargs)


def _optional(**kwargs: Any) -> Any:
    return pa.Field(nullable=True, **kwargs)


class _Base(pa.DataFrameModel):
    class Config:
        strict = False  # users' frames may carry more columns
        coerce = False  # schema-level coerce hides missing columns (pandera#2085)


# --------------------------------------------------------------------------
# the tables


class Customers(_Base):
    """``customers``: one row per customer.

    ``acquired_at`` is when the customer was acquired; when absent, KPIs use the
    first order. ``name``, ``email``, ``phone`` and ``address`` are personal data
    and never reach a KPI output.
    """

    customer_id: Identifier = pa.Field(nullable=False)
    acquired_at: Timestamp | None = _optional()
    acquisition_channel: Text | None = _optional()
    name: Text | None = _pii()
    email: Text | None = _pii()
    phone: Text | None = _pii()
    address: Text | None = _pii()
    birth_date: Timestamp | None = _optional()
    age: Money | None = _optional(in_range={"min_value": 0, "max_value": 130})
    gender: Text | None = _optional()
    country: Text | None = _optional()
    region: Text | None = _optional()
    city: Text | None = _optional()
    occupation: Text | None = _optional()
    income: Money | None = _optional(ge=0)
    consent_marketing: pl.Boolean | None = _optional()
    consent_analytics: pl.Boolean | None = _optional()

    unique_customer_id = _unique("customer_id")
    finite_age = _finite("age")
    finite_income = _finite("income")


class Orders(_Base):
    """``orders``: one row per order; a negative ``amount`` is a refund."""

    order_id: Identifier = pa.Field(nullable=False)
    customer_id: Identifier = pa.Field(nullable=False)
    ordered_at: Timestamp = pa.Field(nullable=False)
    amount: Money = pa.Field(nullable=False)
    product_id: Identifier | None = _optional()
    category: Text | None = _optional()
    quantity: Integer | None = _optional()
    channel: Text | None = _optional()
    currency: Text | None = _optional()

    unique_order_id = _unique("order_id")
    single_currency = _single_value("currency")
    finite_amount = _finite("amount")


class Spend(_Base):
    """``spend``: acquisition spend (marketing or sales) per day and channel."""

    spent_at: Timestamp = pa.Field(nullable=False)
    amount: Money = pa.Field(nullable=False, ge=0)
    channel: Text | None = _optional()
    kind: Text | None = _optional(isin=["marketing", "sales"])
    currency: Text | None = _optional()

    single_currency = _single_value("currency")
    finite_amount = _finite("amount")


class Leads(_Base):
    """``leads``: one row per lead; ``converted_at`` null means not converted."""

    lead_id: Identifier = pa.Field(nullable=False)
    created_at: Timestamp = pa.Field(nullable=False)
    source: Text | None = _optional()
    converted_at: Timestamp | None = _optional()
    customer_id: Identifier | None = _optional()
    stage: Text | None = _optional()

    unique_lead_id = _unique("lead_id")
    converted_after_created = _not_less("converted_at", "created_at")


class SurveyResponses(_Base):
    """``survey_responses``: NPS answers, ``score`` an integer from 0 to 10."""

    response_id: Identifier = pa.Field(nullable=False)
    customer_id: Identifier | None = _optional()
    responded_at: Timestamp = pa.Field(nullable=False)
    score: Integer = pa.Field(nullable=False, in_range={"min_value": 0, "max_value": 10})
    comment: Text | None = _pii()

    unique_response_id = _unique("response_id")


class Feedback(_Base):
    """``feedback``: reviews, support tickets and survey comments."""

    feedback_id: Identifier = pa.Field(nullable=False)
    customer_id: Identifier | None = _optional()
    created_at: Timestamp = pa.Field(nullable=False)
    channel: Text = pa.Field(nullable=False)
    rating: Integer | None = _optional(in_range={"min_value": 1, "max_value": 5})
    text: Text | None = _pii()

    unique_feedback_id = _unique("feedback_id")


class Subscriptions(_Base):
    """``subscriptions``: contracts; ``ended_at`` null means still active."""

    subscription_id: Identifier = pa.Field(nullable=False)
    customer_id: Identifier = pa.Field(nullable=False)
    started_at: Timestamp = pa.Field(nullable=False)
    ended_at: Timestamp | None = _optional()
    mrr: Money = pa.Field(nullable=False, ge=0)
    plan: Text | None = _optional()
    currency: Text | None = _optional()

    unique_subscription_id = _unique("subscription_id")
    ended_after_started = _not_less("ended_at", "started_at")
    single_currency = _single_value("currency")
    finite_mrr = _finite("mrr")


class WebSessions(_Base):
    """``web_sessions``: one row per visit; ``customer_id`` null when anonymous."""

    session_id: Identifier = pa.Field(nullable=False)
    started_at: Timestamp = pa.Field(nullable=False)
    visitor_id: Identifier = pa.Field(nullable=False)
    customer_id: Identifier | None = _optional()
    source: Text | None = _optional()
    pageviews: Integer = pa.Field(nullable=False, ge=1)
    duration_s: Money | None = _optional(ge=0)
    converted: pl.Boolean | None = _optional()

    unique_session_id = _unique("session_id")
    finite_duration = _finite("duration_s")


class CampaignStats(_Base):
    """``campaign_stats``: daily delivery of each campaign."""

    date: Timestamp = pa.Field(nullable=False)
    campaign: Text = pa.Field(nullable=False)
    channel: Text | None = _optional()
    impressions: Integer = pa.Field(nullable=False, ge=0)
    clicks: Integer = pa.Field(nullable=False, ge=0)
    engagements: Integer | None = _optional(ge=0)
    reach: Integer | None = _optional(ge=0)

    clicks_within_impressions = _not_less("impressions", "clicks")


_MODELS: dict[TableName, type[pa.DataFrameModel]] = {
    "customers": Customers,
    "orders": Orders,
    "spend": Spend,
    "leads": Leads,
    "survey_responses": SurveyResponses,
    "feedback": Feedback,
    "subscriptions": Subscriptions,
    "web_sessions": WebSessions,
    "campaign_stats": CampaignStats,
}

TIME_COLUMNS: dict[TableName, str] = {
    "customers": "acquired_at",
    "orders": "ordered_at",
    "spend": "spent_at",
    "leads": "created_at",
    "survey_responses": "responded_at",
    "feedback": "created_at",
    "subscriptions": "started_at",
    "web_sessions": "started_at",
    "campaign_stats": "date",
}
"""Each table's main event time (``acquired_at`` is optional in customers)."""

CUSTOMER_KEYED: tuple[TableName, ...] = (
    "orders",
    "leads",
    "survey_responses",
    "feedback",
    "subscriptions",
    "web_sessions",
)
"""Tables whose ``customer_id`` must exist in ``customers``."""


def check_table(table: str) -> TableName:
    """``table`` itself if it names a table of the data model; an error otherwise."""
    if table not in _MODELS:
        msg = (
            f"Unknown table {table!r}.\n"
            f"Expected one of: {', '.join(TABLE_NAMES)}.\n"
            "Hint: table names are lower case with underscores, e.g. 'survey_responses'."
        )
        raise UnknownTableError(msg)
    return table


def model(table: str) -> type[pa.DataFrameModel]:
    """Return the pandera model of ``table``.

    Examples
    --------
    >>> import crm_metrics as cm
    >>> cm.schemas.model("web_sessions") is cm.schemas.WebSessions
    True
    """
    return _MODELS[check_table(table)]


def required_columns(table: str) -> tuple[str, ...]:
    """Return the columns ``table`` must have, in the model's order.

    Examples
    --------
    >>> import crm_metrics as cm
    >>> cm.schemas.required_columns("spend")
    ('spent_at', 'amount')
    """
    schema = model(table).to_schema()
    return tuple(name for name, column in schema.columns.items() if column.required)


def pii_columns(table: str) -> tuple[str, ...]:
    """Return the columns of ``table`` that hold personal data.

    These are never copied into a KPI output.

    Examples
    --------
    >>> import crm_metrics as cm
    >>> cm.schemas.pii_columns("customers")
    ('name', 'email', 'phone', 'address')
    """
    schema = model(table).to_schema()
    return tuple(
        name for name, column in schema.columns.items() if (column.metadata or {}).get("pii", False)
    )
