"""``cm.load``, ``CRMData`` and the checks across tables."""

from __future__ import annotations

import warnings
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import crm_metrics as cm


@pytest.fixture(scope="module")
def demo() -> cm.CRMData:
    return cm.datasets.synthetic(300, seed=11)


def _write_csv(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.csv").write_text(text.strip() + "\n")


CUSTOMERS_CSV = """
customer_id,acquired_at,email,country,consent_marketing
1,2024-01-02,ann@example.com,FR,true
2,2024-01-09,bob@example.com,DE,no
3,,cid@example.com,,
"""

ORDERS_CSV = """
OrderID,customer_id,OrderDate,amount,currency
10,1,03/01/2024,25.50,USD
11,1,15/02/2024,-5,USD
12,2,29/02/2024,40,USD
"""


# --- round trips ------------------------------------------------------------


def test_write_then_load_round_trips_every_table(demo: cm.CRMData, tmp_path: Path) -> None:
    written = demo.write(tmp_path / "out")
    assert [p.name for p in written] == [f"{t}.parquet" for t in demo.table_names]
    again = cm.load(tmp_path / "out")
    assert again.table_names == demo.table_names
    for name, frame in demo.items():
        assert_frame_equal(again[name], frame)


def test_csv_is_parsed_explicitly_with_rename_and_formats(tmp_path: Path) -> None:
    _write_csv(tmp_path, "customers", CUSTOMERS_CSV)
    _write_csv(tmp_path, "orders", ORDERS_CSV)
    data = cm.load(
        tmp_path,
        rename={"orders": {"OrderID": "order_id", "OrderDate": "ordered_at"}},
        formats={"orders": {"ordered_at": "%d/%m/%Y"}},
    )
    customers = data["customers"]
    assert customers.schema["customer_id"] == pl.Int64
    assert customers.schema["acquired_at"] == pl.Date
    assert customers.schema["consent_marketing"] == pl.Boolean
    assert customers["consent_marketing"].to_list() == [True, False, None]
    assert customers["acquired_at"].to_list() == [date(2024, 1, 2), date(2024, 1, 9), None]
    assert customers["country"].to_list() == ["FR", "DE", None]  # "" is null
    orders = data["orders"]
    assert orders.columns == ["order_id", "customer_id", "ordered_at", "amount", "currency"]
    assert orders["ordered_at"].to_list() == [
        date(2024, 1, 3),
        date(2024, 2, 15),
        date(2024, 2, 29),
    ]
    assert orders["amount"].to_list() == [25.5, -5.0, 40.0]


def test_csv_datetimes_with_offsets_become_utc(tmp_path: Path) -> None:
    _write_csv(
        tmp_path,
        "leads",
        "lead_id,created_at\n1,2024-03-01T10:00:00+01:00\n2,2024-03-02T23:30:00+01:00",
    )
    leads = cm.load(tmp_path)["leads"]
    assert leads.schema["created_at"] == pl.Datetime("us", "UTC")
    assert leads["created_at"].to_list()[0].replace(tzinfo=None) == datetime(2024, 3, 1, 9)


def test_string_ids_stay_strings(tmp_path: Path) -> None:
    _write_csv(tmp_path, "customers", "customer_id\nA-1\n7\n")
    assert cm.load(tmp_path)["customers"].schema["customer_id"] == pl.String


# --- failures: parsing, model, references ---------------------------------


def test_every_failure_of_every_table_is_reported_at_once(tmp_path: Path) -> None:
    _write_csv(tmp_path, "customers", CUSTOMERS_CSV.replace("2024-01-09", "2024-02-30"))
    _write_csv(
        tmp_path,
        "orders",
        "order_id,customer_id,ordered_at,amount,currency\n"
        "1,1,2024-01-01,abc,USD\n2,9,2024-01-02,3,EUR\n3,1,2024-01-03,4,USD",
    )
    with pytest.raises(cm.ValidationError) as info:
        cm.load(tmp_path)
    got = info.value.failures.select("table", "column", "check", "n_rows").rows()
    assert got == [
        ("customers", "acquired_at", "parse(a date or datetime)", 1),
        ("orders", "customer_id", "customer_exists", 1),
        ("orders", "amount", "parse(a number)", 1),
        ("orders", "amount", "not_nullable", 1),
        ("orders", "currency", "single_value(currency)", 1),
    ]
    message = str(info.value)
    assert "'2024-02-30' (row 1)" in message
    assert "Hint:" in message
    assert "ann@example.com" not in message  # PII never shown


def test_orphans_warn_keeps_the_rows(demo: cm.CRMData) -> None:
    orders = demo["orders"]
    extra = orders.head(2).with_columns(
        pl.lit(10**9, pl.Int64).alias("customer_id"), (pl.col("order_id") + 10**9).alias("order_id")
    )
    data = demo.replace(orders=pl.concat([orders, extra]))
    with pytest.raises(cm.ValidationError) as info:
        data.validate()
    assert info.value.failures.rows() == [
        ("orders", "customer_id", "customer_exists", 2, [str(10**9)])
    ]
    with pytest.warns(cm.OrphanRowsWarning, match="orders: 2 rows"):
        kept = data.validate(orphans="warn")
    assert kept["orders"].height == orders.height + 2


def test_orphan_check_needs_the_same_id_dtype() -> None:
    data = cm.CRMData(
        customers=pl.DataFrame({"customer_id": ["1"]}),
        leads=pl.DataFrame({"lead_id": [1], "created_at": [date(2024, 1, 1)], "customer_id": [1]}),
    )
    with pytest.raises(cm.ValidationError) as info:
        data.validate()
    assert info.value.failures.select("table", "column", "check").rows() == [
        ("leads", "customer_id", "same_id_dtype")
    ]


def test_time_zones_must_agree_across_tables() -> None:
    naive = pl.DataFrame(
        {"lead_id": [1], "created_at": [datetime(2024, 1, 1, 12)]},
    )
    zoned = pl.DataFrame(
        {
            "response_id": [1],
            "responded_at": pl.Series([datetime(2024, 1, 1, 12)]).dt.replace_time_zone("UTC"),
            "score": [9],
        }
    )
    with pytest.raises(cm.ValidationError) as info:
        cm.CRMData(leads=naive, survey_responses=zoned).validate()
    assert info.value.failures.select("table", "column", "check").rows() == [
        ("leads", "created_at", "time_zone"),
        ("survey_responses", "responded_at", "time_zone"),
    ]


def test_one_currency_across_tables() -> None:
    orders = pl.DataFrame(
        {
            "order_id": [1],
            "customer_id": [1],
            "ordered_at": [date(2024, 1, 1)],
            "amount": [1.0],
            "currency": ["USD"],
        }
    )
    spend = pl.DataFrame({"spent_at": [date(2024, 1, 1)], "amount": [2.0], "currency": ["EUR"]})
    with pytest.raises(cm.ValidationError) as info:
        cm.CRMData(orders=orders, spend=spend).validate()
    assert info.value.failures.select("table", "column", "check", "n_rows").rows() == [
        ("orders", "currency", "same_currency", 1),
        ("spend", "currency", "same_currency", 1),
    ]


def test_bad_orphan_policy() -> None:
    with pytest.raises(cm.ArgumentError, match="orphans='drop'"):
        cm.CRMData().validate(orphans="drop")  # type: ignore[arg-type]


# --- folder errors ----------------------------------------------------------


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(cm.DataLoadError, match="does not exist"):
        cm.load(tmp_path / "nope")


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text("x\n")
    with pytest.raises(cm.DataLoadError, match="is a file, not a folder"):
        cm.load(tmp_path / "orders.csv")


def test_empty_folder_lists_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "Orders.csv").write_text("x\n")
    with pytest.raises(cm.DataLoadError, match=r"(?s)holds no table file.*found Orders\.csv"):
        cm.load(tmp_path)


def test_both_csv_and_parquet_is_ambiguous(demo: cm.CRMData, tmp_path: Path) -> None:
    demo["spend"].write_parquet(tmp_path / "spend.parquet")
    demo["spend"].write_csv(tmp_path / "spend.csv")
    with pytest.raises(cm.DataLoadError, match=r"both spend\.parquet and spend\.csv"):
        cm.load(tmp_path)


def test_unknown_files_are_named_in_a_warning(demo: cm.CRMData, tmp_path: Path) -> None:
    demo["spend"].write_parquet(tmp_path / "spend.parquet")
    (tmp_path / "notes.csv").write_text("a\n1\n")
    with pytest.warns(UserWarning, match=r"Not read \(not a table name\): notes.csv"):
        data = cm.load(tmp_path)
    assert data.table_names == ("spend",)


def test_rename_of_an_absent_column(tmp_path: Path) -> None:
    _write_csv(tmp_path, "customers", "customer_id\n1\n")
    with pytest.raises(cm.DataLoadError, match="'Nope'"):
        cm.load(tmp_path, rename={"customers": {"Nope": "customer_id"}})


def test_rename_of_an_unknown_table(tmp_path: Path) -> None:
    _write_csv(tmp_path, "customers", "customer_id\n1\n")
    with pytest.raises(cm.UnknownTableError, match="'customer'"):
        cm.load(tmp_path, rename={"customer": {"a": "b"}})


def test_corrupt_parquet_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "orders.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(cm.DataLoadError, match=r"Could not read .*orders.parquet as Parquet"):
        cm.load(tmp_path)


def test_malformed_csv_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_bytes(b"order_id,customer_id\n1,2,3,4\n\xff\xfe")
    with pytest.raises(cm.DataLoadError, match=r"Could not read .*orders.csv as CSV"):
        cm.load(tmp_path)


# --- the bundle ---------------------------------------------------------------


def test_bundle_access_and_errors(demo: cm.CRMData) -> None:
    small = cm.CRMData(orders=demo["orders"])
    assert small.table_names == ("orders",)
    assert [name for name, _ in small.items()] == ["orders"]
    with pytest.raises(cm.UnknownTableError, match="not in this CRMData"):
        small["customers"]
    with pytest.raises(cm.UnknownTableError, match="Unknown table 'order'"):
        small["order"]
    with pytest.raises(AttributeError):
        small.orders = None  # type: ignore[misc]  # frozen


def test_summary_counts(demo: cm.CRMData) -> None:
    summary = demo.summary()
    assert summary["table"].to_list() == list(demo.table_names)
    orders = summary.filter(pl.col("table") == "orders").row(0, named=True)
    assert orders["rows"] == demo["orders"].height
    assert orders["customers"] == demo["orders"]["customer_id"].n_unique()
    assert orders["total_amount"] == pytest.approx(demo["orders"]["amount"].sum())
    assert orders["first_date"] == demo["orders"]["ordered_at"].min().date()  # type: ignore[union-attr]
    assert summary.filter(pl.col("table") == "campaign_stats")["customers"].item() is None


def test_empty_bundle_summary_has_the_schema() -> None:
    summary = cm.CRMData().summary()
    assert summary.height == 0
    assert summary.columns == [
        "table",
        "rows",
        "customers",
        "first_date",
        "last_date",
        "total_amount",
    ]


def test_validate_returns_the_bundle(demo: cm.CRMData) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert demo.validate() is demo
