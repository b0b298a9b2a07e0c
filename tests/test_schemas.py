"""The data model: every table's columns, personal data, dtype families and checks.

The expected columns are copied from DESIGN.md §2 by hand, so that the models
cannot drift from the design unnoticed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandera.engines import polars_engine

import crm_metrics as cm
from crm_metrics.typing import TABLE_NAMES
from strategies import STRATEGIES, as_kind, crm_data, zones

if TYPE_CHECKING:
    from strategies import FrameKind

# --------------------------------------------------------------------------
# DESIGN.md §2, by hand: table -> (required columns, optional columns), in order.

DESIGN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "customers": (
        ("customer_id",),
        (
            "acquired_at",
            "acquisition_channel",
            "name",
            "email",
            "phone",
            "address",
            "birth_date",
            "age",
            "gender",
            "country",
            "region",
            "city",
            "occupation",
            "income",
            "consent_marketing",
            "consent_analytics",
        ),
    ),
    "orders": (
        ("order_id", "customer_id", "ordered_at", "amount"),
        ("product_id", "category", "quantity", "channel", "currency"),
    ),
    "spend": (("spent_at", "amount"), ("channel", "kind")),
    "leads": (("lead_id", "created_at"), ("source", "converted_at", "customer_id", "stage")),
    "survey_responses": (("response_id", "responded_at", "score"), ("customer_id", "comment")),
    "feedback": (("feedback_id", "created_at", "channel"), ("customer_id", "rating", "text")),
    "subscriptions": (
        ("subscription_id", "customer_id", "started_at", "mrr"),
        ("ended_at", "plan"),
    ),
    "web_sessions": (
        ("session_id", "started_at", "visitor_id", "pageviews"),
        ("customer_id", "source", "duration_s", "converted"),
    ),
    "campaign_stats": (
        ("date", "campaign", "impressions", "clicks"),
        ("channel", "engagements", "reach"),
    ),
}

# Optional columns the models add to the design: a currency next to money
# (DESIGN.md §3: more than one currency is an error, never a silent sum).
ADDED_OPTIONAL: dict[str, set[str]] = {"spend": {"currency"}, "subscriptions": {"currency"}}

MODELS = {
    "customers": cm.schemas.Customers,
    "orders": cm.schemas.Orders,
    "spend": cm.schemas.Spend,
    "leads": cm.schemas.Leads,
    "survey_responses": cm.schemas.SurveyResponses,
    "feedback": cm.schemas.Feedback,
    "subscriptions": cm.schemas.Subscriptions,
    "web_sessions": cm.schemas.WebSessions,
    "campaign_stats": cm.schemas.CampaignStats,
}

PII = {
    "customers": ("name", "email", "phone", "address"),
    "survey_responses": ("comment",),
    "feedback": ("text",),
}

ID_COLUMNS = {
    "customers": "customer_id",
    "orders": "order_id",
    "leads": "lead_id",
    "survey_responses": "response_id",
    "feedback": "feedback_id",
    "subscriptions": "subscription_id",
    "web_sessions": "session_id",
}

MONEY_COLUMNS = {
    ("customers", "age"),
    ("customers", "income"),
    ("orders", "amount"),
    ("spend", "amount"),
    ("subscriptions", "mrr"),
    ("web_sessions", "duration_s"),
}


def _columns(table: str) -> dict[str, Any]:
    return dict(cm.schemas.model(table).to_schema().columns)


def _accepts(column: Any, dtype: pl.DataType | type[pl.DataType]) -> bool:
    return bool(column.dtype.check(polars_engine.Engine.dtype(dtype)))


# --------------------------------------------------------------------------
# columns of each model


def test_models_cover_the_data_model_in_order() -> None:
    assert tuple(MODELS) == TABLE_NAMES
    for table, expected in MODELS.items():
        assert cm.schemas.model(table) is expected


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_required_columns_are_those_of_the_design(table: str) -> None:
    required, _ = DESIGN[table]
    assert cm.schemas.required_columns(table) == required


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_every_design_column_is_in_the_model(table: str) -> None:
    required, optional = DESIGN[table]
    columns = _columns(table)
    assert set(columns) == set(required) | set(optional) | ADDED_OPTIONAL.get(table, set())
    for name in optional + tuple(ADDED_OPTIONAL.get(table, ())):
        assert not columns[name].required, name
        assert columns[name].nullable, name
    for name in required:
        assert columns[name].required, name
        assert not columns[name].nullable, name


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_model_order_follows_the_design(table: str) -> None:
    required, optional = DESIGN[table]
    names = [c for c in _columns(table) if c not in ADDED_OPTIONAL.get(table, set())]
    # The model interleaves required and optional columns as the design lists them;
    # each group keeps the design's order.
    assert [c for c in names if c in required] == list(required)
    assert [c for c in names if c in optional] == list(optional)


def test_required_columns_examples() -> None:
    assert cm.schemas.required_columns("orders") == (
        "order_id",
        "customer_id",
        "ordered_at",
        "amount",
    )
    assert cm.schemas.required_columns("spend") == ("spent_at", "amount")
    assert cm.schemas.required_columns("customers") == ("customer_id",)
    assert cm.schemas.required_columns("campaign_stats") == (
        "date",
        "campaign",
        "impressions",
        "clicks",
    )


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_pii_columns(table: str) -> None:
    assert cm.schemas.pii_columns(table) == PII.get(table, ())


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_pii_columns_are_optional_text(table: str) -> None:
    columns = _columns(table)
    for name in cm.schemas.pii_columns(table):
        assert not columns[name].required
        assert _accepts(columns[name], pl.String)
        assert not _accepts(columns[name], pl.Int64)


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_every_float_column_has_a_finite_check(table: str) -> None:
    for name, column in _columns(table).items():
        check_names = [check.name for check in column.checks]
        if _accepts(column, pl.Float64):
            assert "finite" in check_names, f"{table}.{name}"
            assert (table, name) in MONEY_COLUMNS
        else:
            assert "finite" not in check_names, f"{table}.{name}"
            assert (table, name) not in MONEY_COLUMNS


@pytest.mark.parametrize("table", sorted(ID_COLUMNS))
def test_id_columns_are_unique_identifiers(table: str) -> None:
    name = ID_COLUMNS[table]
    schema = cm.schemas.model(table).to_schema()
    assert f"unique({name})" in [check.name for check in schema.checks]
    assert isinstance(schema.columns[name].dtype, cm.schemas.Identifier)


def test_row_checks() -> None:
    def frame_checks(table: str) -> list[str | None]:
        return [check.name for check in cm.schemas.model(table).to_schema().checks]

    assert "converted_at >= created_at" in frame_checks("leads")
    assert "ended_at >= started_at" in frame_checks("subscriptions")
    assert frame_checks("campaign_stats") == ["impressions >= clicks"]
    for table in ("orders", "spend", "subscriptions"):
        assert "single_value(currency)" in frame_checks(table)


@pytest.mark.parametrize(
    ("table", "column", "family"),
    [
        ("orders", "order_id", cm.schemas.Identifier),
        ("orders", "customer_id", cm.schemas.Identifier),
        ("orders", "product_id", cm.schemas.Identifier),
        ("web_sessions", "visitor_id", cm.schemas.Identifier),
        ("orders", "ordered_at", cm.schemas.Timestamp),
        ("customers", "birth_date", cm.schemas.Timestamp),
        ("campaign_stats", "date", cm.schemas.Timestamp),
        ("orders", "amount", cm.schemas.Money),
        ("customers", "age", cm.schemas.Money),
        ("survey_responses", "score", cm.schemas.Integer),
        ("orders", "quantity", cm.schemas.Integer),
        ("campaign_stats", "clicks", cm.schemas.Integer),
        ("feedback", "channel", cm.schemas.Text),
        ("customers", "email", cm.schemas.Text),
    ],
)
def test_column_families(table: str, column: str, family: type) -> None:
    assert isinstance(_columns(table)[column].dtype, family)


# --------------------------------------------------------------------------
# unknown tables


@pytest.mark.parametrize(
    "function",
    [cm.schemas.model, cm.schemas.required_columns, cm.schemas.pii_columns, cm.schemas.check_table],
)
@pytest.mark.parametrize("name", ["order", "Orders", "survey-responses", ""])
def test_unknown_table(function: Any, name: str) -> None:
    with pytest.raises(cm.UnknownTableError) as caught:
        function(name)
    error = caught.value
    assert isinstance(error, KeyError)
    assert isinstance(error, cm.CrmMetricsError)
    message = str(error)
    assert f"Unknown table {name!r}." in message
    assert "customers, orders, spend" in message
    assert message.splitlines()[-1].startswith("Hint:")
    assert "\\n" not in message  # not KeyError's escaped repr


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_check_table_returns_known_names(table: str) -> None:
    assert cm.schemas.check_table(table) == table


# --------------------------------------------------------------------------
# every frame the strategies make is valid


@pytest.mark.parametrize("table", TABLE_NAMES)
@settings(deadline=None, max_examples=12)
@given(data=st.data())
def test_strategy_frames_are_valid(table: str, frame_kind: FrameKind, data: st.DataObject) -> None:
    frame = data.draw(
        STRATEGIES[table](
            time_zone=data.draw(zones(), label="time_zone"),
            with_optional=data.draw(st.sampled_from([True, False, None]), label="with_optional"),
            date_only=data.draw(st.booleans(), label="date_only"),
        ),
        label="frame",
    )
    given_frame = as_kind(frame, frame_kind)
    assert cm.validate(given_frame, table) is given_frame


@settings(deadline=None, max_examples=6)
@given(data=crm_data(time_zone="Europe/Paris", max_rows=10))
def test_crm_data_is_consistent(data: cm.CRMData) -> None:
    known = set(data["customers"]["customer_id"].to_list())
    dtypes = {frame.schema["customer_id"] for _, frame in data.items() if "customer_id" in frame}
    assert len(dtypes) == 1
    for name, frame in data.items():
        cm.validate(frame, name)
        if name != "customers" and "customer_id" in frame.columns:
            assert set(frame["customer_id"].drop_nulls().to_list()) <= known, name
        for column, dtype in frame.schema.items():
            if isinstance(dtype, pl.Datetime):
                assert dtype.time_zone == "Europe/Paris", f"{name}.{column}"
    assert data.validate() is data


@settings(deadline=None, max_examples=10)
@given(data=st.data())
def test_strategy_options_are_honoured(data: st.DataObject) -> None:
    tz = data.draw(zones())
    frame = data.draw(
        STRATEGIES["orders"](
            3, 7, id_dtype=pl.String, time_zone=tz, with_optional=False, money_dtype=pl.Int32
        )
    )
    assert 0 <= frame.height <= 7
    assert frame.columns == list(cm.schemas.required_columns("orders"))
    assert frame.schema["order_id"] == pl.String
    assert frame.schema["amount"] == pl.Int32
    assert frame.schema["ordered_at"] == pl.Datetime("us", tz)
    dated = data.draw(STRATEGIES["leads"](1, 5, date_only=True, id_dtype=pl.Int64))
    assert dated.schema["created_at"] == pl.Date
    assert dated.schema["converted_at"] == pl.Date
    assert dated.schema["lead_id"] == pl.Int64


# --------------------------------------------------------------------------
# dtype families, through cm.validate

BASE_ORDERS = pl.DataFrame(
    {
        "order_id": [1, 2],
        "customer_id": [10, 11],
        "ordered_at": [date(2024, 2, 29), date(2024, 3, 1)],
        "amount": [19.99, -5.0],
        "quantity": [1, 2],
        "category": ["books", "music"],
    }
)


def _series(name: str, dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    """Two sample values of ``dtype``."""
    if isinstance(dtype, pl.Datetime):
        naive = pl.Series(name, [datetime(2024, 2, 29, 23, 59), datetime(2024, 3, 1)])
        naive = naive.cast(pl.Datetime(dtype.time_unit))
        return naive.dt.replace_time_zone(dtype.time_zone) if dtype.time_zone else naive
    if isinstance(dtype, pl.Enum) or dtype == pl.Categorical:
        return pl.Series(name, ["a", "b"], dtype=dtype)
    if isinstance(dtype, pl.Decimal):
        return pl.Series(name, [Decimal("1.50"), Decimal("2.00")], dtype=dtype)
    samples: dict[Any, list[Any]] = {
        pl.Date: [date(2024, 2, 29), date(2024, 3, 1)],
        pl.String: ["1", "2"],
        pl.Boolean: [True, False],
        pl.Time: [time(1), time(2)],
        pl.Duration: [timedelta(1), timedelta(2)],
    }
    for key, values in samples.items():
        if dtype == key:
            return pl.Series(name, values, dtype=dtype)
    if dtype.is_float():
        return pl.Series(name, [1.0, 2.0], dtype=dtype)
    return pl.Series(name, [1, 2], dtype=dtype)


FAMILY_CASES: list[tuple[str, str, Any, bool]] = [
    # (table, column, dtype, accepted)
    ("orders", "order_id", pl.Int64, True),
    ("orders", "order_id", pl.String, True),
    ("orders", "order_id", pl.Float64, False),
    ("orders", "order_id", pl.Int32, False),
    ("orders", "order_id", pl.UInt64, False),
    ("orders", "order_id", pl.Categorical, False),
    ("orders", "ordered_at", pl.Date, True),
    ("orders", "ordered_at", pl.Datetime("ms"), True),
    ("orders", "ordered_at", pl.Datetime("us", "UTC"), True),
    ("orders", "ordered_at", pl.Datetime("ns", "Europe/Paris"), True),
    ("orders", "ordered_at", pl.String, False),
    ("orders", "ordered_at", pl.Int64, False),
    ("orders", "ordered_at", pl.Time, False),
    ("orders", "ordered_at", pl.Duration, False),
    ("orders", "amount", pl.Float64, True),
    ("orders", "amount", pl.Float32, True),
    ("orders", "amount", pl.Int64, True),
    ("orders", "amount", pl.UInt8, True),
    ("orders", "amount", pl.Decimal(18, 2), True),
    ("orders", "amount", pl.String, False),
    ("orders", "amount", pl.Boolean, False),
    ("orders", "quantity", pl.Int64, True),
    ("orders", "quantity", pl.Int8, True),
    ("orders", "quantity", pl.UInt32, True),
    ("orders", "quantity", pl.Float64, False),
    ("orders", "quantity", pl.Boolean, False),
    ("orders", "category", pl.String, True),
    ("orders", "category", pl.Categorical, True),
    ("orders", "category", pl.Enum(["a", "b", "c"]), True),
    ("orders", "category", pl.Int64, False),
    ("orders", "category", pl.Boolean, False),
]

LABELS = {
    "order_id": "Int64 | String",
    "ordered_at": "Date | Datetime",
    "amount": "numeric (Int*, UInt*, Float*, Decimal)",
    "quantity": "integer (Int*, UInt*)",
    "category": "String | Categorical | Enum",
}


def _dtype_id(case: Any) -> str:
    return str(case)


@pytest.mark.parametrize(("table", "column", "dtype", "accepted"), FAMILY_CASES, ids=_dtype_id)
def test_dtype_families(
    table: str, column: str, dtype: Any, accepted: bool, frame_kind: FrameKind
) -> None:
    frame = BASE_ORDERS.with_columns(_series(column, dtype))
    given_frame = as_kind(frame, frame_kind)
    if accepted:
        assert cm.validate(given_frame, table) is given_frame
        return
    with pytest.raises(cm.ValidationError) as caught:
        cm.validate(given_frame, table)
    failures = caught.value.failures
    got = str(frame.schema[column])
    assert failures.rows() == [(table, column, f"dtype('{LABELS[column]}')", None, [f"got {got}"])]


@pytest.mark.parametrize(
    ("dtype", "accepted"), [(pl.Boolean, True), (pl.Int64, False), (pl.String, False)]
)
def test_boolean_columns(dtype: Any, accepted: bool, frame_kind: FrameKind) -> None:
    frame = pl.DataFrame({"customer_id": [1, 2]}).with_columns(
        _series("consent_marketing", dtype), _series("consent_analytics", pl.Boolean)
    )
    if accepted:
        cm.validate(as_kind(frame, frame_kind), "customers")
        return
    with pytest.raises(cm.ValidationError) as caught:
        cm.validate(as_kind(frame, frame_kind), "customers")
    assert caught.value.failures.rows() == [
        ("customers", "consent_marketing", "dtype('Boolean')", None, [f"got {dtype}"])
    ]


def test_family_labels_are_the_check_names() -> None:
    assert str(cm.schemas.Identifier()) == "Int64 | String"
    assert str(cm.schemas.Timestamp()) == "Date | Datetime"
    assert str(cm.schemas.Money()) == "numeric (Int*, UInt*, Float*, Decimal)"
    assert str(cm.schemas.Integer()) == "integer (Int*, UInt*)"
    assert str(cm.schemas.Text()) == "String | Categorical | Enum"
