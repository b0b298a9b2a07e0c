"""The :class:`CRMData` bundle of tables, and reading, checking and writing it."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics import _validation, schemas
from crm_metrics.exceptions import (
    ArgumentError,
    DataLoadError,
    OrphanRowsWarning,
    UnknownTableError,
)
from crm_metrics.typing import TABLE_NAMES, OrphanPolicy, TableName

if TYPE_CHECKING:
    from crm_metrics._validation import _Failure

__all__ = ["CRMData", "load"]


@dataclass(frozen=True, slots=True)
class CRMData:
    """A frozen bundle of the data model's tables, each optional.

    Parameters
    ----------
    customers, orders, spend, leads, survey_responses, feedback, subscriptions, \
web_sessions, campaign_stats : polars.DataFrame or None
        The tables of the data model (see :mod:`crm_metrics.schemas`), each with
        its canonical column names. A table that is not there is ``None``.

    Examples
    --------
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> data = cm.CRMData(customers=pl.DataFrame({"customer_id": [1, 2]}))
    >>> data.table_names
    ('customers',)
    >>> data["customers"].height
    2
    """

    customers: pl.DataFrame | None = None
    orders: pl.DataFrame | None = None
    spend: pl.DataFrame | None = None
    leads: pl.DataFrame | None = None
    survey_responses: pl.DataFrame | None = None
    feedback: pl.DataFrame | None = None
    subscriptions: pl.DataFrame | None = None
    web_sessions: pl.DataFrame | None = None
    campaign_stats: pl.DataFrame | None = None

    @property
    def table_names(self) -> tuple[TableName, ...]:
        """Names of the tables present, in the data model's order."""
        return tuple(name for name in TABLE_NAMES if getattr(self, name) is not None)

    def items(self) -> Iterator[tuple[TableName, pl.DataFrame]]:
        """Iterate over ``(name, frame)`` for the tables present."""
        for name in self.table_names:
            frame: pl.DataFrame = getattr(self, name)
            yield name, frame

    def __getitem__(self, name: str) -> pl.DataFrame:
        """Return the table ``name``; :class:`~crm_metrics.UnknownTableError` if absent."""
        if name not in TABLE_NAMES:
            msg = (
                f"Unknown table {name!r}.\n"
                f"Expected one of: {', '.join(TABLE_NAMES)}.\n"
                "Hint: table names are lower case, with underscores."
            )
            raise UnknownTableError(msg)
        frame: pl.DataFrame | None = getattr(self, name)
        if frame is None:
            msg = (
                f"Table {name!r} is not in this CRMData; it has: "
                f"{', '.join(self.table_names) or 'no tables'}.\n"
                f"Hint: pass it as CRMData({name}=...) or add {name}.parquet to the folder."
            )
            raise UnknownTableError(msg)
        return frame

    def replace(self, **tables: pl.DataFrame | None) -> CRMData:
        """Return a copy with some tables replaced (the bundle itself is frozen)."""
        return dataclasses.replace(self, **tables)

    def validate(self, *, orphans: OrphanPolicy = "error") -> CRMData:
        """Validate every table and the references between them; return ``self``.

        Each table is checked against its model (see :func:`crm_metrics.validate`),
        and then across tables: every datetime column of every table is naive or
        all share one time zone; all money is in one currency; and each
        ``customer_id`` of orders, leads, survey_responses, feedback,
        subscriptions and web_sessions exists in ``customers`` (only checked when
        ``customers`` is present).

        Parameters
        ----------
        orphans : {"error", "warn"}
            Rows whose ``customer_id`` is missing from ``customers``: reported as
            a failure (``"error"``), or kept and reported in an
            :class:`~crm_metrics.OrphanRowsWarning` (``"warn"``). They are never
            dropped.

        Raises
        ------
        crm_metrics.ValidationError
            Listing every failure of every table at once.

        Examples
        --------
        >>> import polars as pl
        >>> import crm_metrics as cm
        >>> from datetime import date
        >>> data = cm.CRMData(
        ...     customers=pl.DataFrame({"customer_id": [1, 2]}),
        ...     orders=pl.DataFrame(
        ...         {
        ...             "order_id": [10, 11],
        ...             "customer_id": [1, 3],
        ...             "ordered_at": [date(2024, 1, 1), date(2024, 1, 2)],
        ...             "amount": [5.0, 7.5],
        ...         }
        ...     ),
        ... )
        >>> try:
        ...     data.validate()
        ... except cm.ValidationError as error:
        ...     print(error.failures.select("table", "column", "check", "n_rows"))
        shape: (1, 4)
        ┌────────┬─────────────┬─────────────────┬────────┐
        │ table  ┆ column      ┆ check           ┆ n_rows │
        │ ---    ┆ ---         ┆ ---             ┆ ---    │
        │ str    ┆ str         ┆ str             ┆ i64    │
        ╞════════╪═════════════╪═════════════════╪════════╡
        │ orders ┆ customer_id ┆ customer_exists ┆ 1      │
        └────────┴─────────────┴─────────────────┴────────┘
        """
        if orphans not in ("error", "warn"):
            msg = (
                f"orphans={orphans!r} is not an option.\n"
                "Expected 'error' or 'warn'.\n"
                "Hint: 'warn' keeps rows of unknown customers and warns about them."
            )
            raise ArgumentError(msg)
        _validation.raise_failures(_bundle_failures(self, orphans))
        return self

    def summary(self) -> pl.DataFrame:
        """One row per table present: its size, customers, time span and money.

        Returns
        -------
        polars.DataFrame
            ``table`` (String), ``rows`` (Int64), ``customers`` (Int64: distinct
            non-null ``customer_id``, null when the table has none), ``first_date``
            and ``last_date`` (Date: the span of the table's main time column,
            e.g. ``ordered_at``), ``total_amount`` (Float64: the sum of ``amount``
            — net revenue for orders, spend for spend — null for other tables).

        Examples
        --------
        >>> import polars as pl
        >>> import crm_metrics as cm
        >>> from datetime import date
        >>> orders = pl.DataFrame(
        ...     {
        ...         "order_id": [1, 2, 3],
        ...         "customer_id": [7, 7, 8],
        ...         "ordered_at": [date(2024, 1, 1), date(2024, 3, 1), date(2024, 2, 1)],
        ...         "amount": [10.0, -2.5, 4.0],
        ...     }
        ... )
        >>> cm.CRMData(orders=orders).summary()
        shape: (1, 6)
        ┌────────┬──────┬───────────┬────────────┬────────────┬──────────────┐
        │ table  ┆ rows ┆ customers ┆ first_date ┆ last_date  ┆ total_amount │
        │ ---    ┆ ---  ┆ ---       ┆ ---        ┆ ---        ┆ ---          │
        │ str    ┆ i64  ┆ i64       ┆ date       ┆ date       ┆ f64          │
        ╞════════╪══════╪═══════════╪════════════╪════════════╪══════════════╡
        │ orders ┆ 3    ┆ 2         ┆ 2024-01-01 ┆ 2024-03-01 ┆ 11.5         │
        └────────┴──────┴───────────┴────────────┴────────────┴──────────────┘
        """
        rows = []
        for name, frame in self.items():
            columns = frame.columns
            time = schemas.TIME_COLUMNS[name]
            when = pl.col(time).dt.date() if time in columns else pl.lit(None, pl.Date)
            rows.append(
                frame.lazy().select(
                    pl.lit(name).alias("table"),
                    pl.len().cast(pl.Int64).alias("rows"),
                    (
                        pl.col("customer_id").drop_nulls().n_unique().cast(pl.Int64)
                        if "customer_id" in columns
                        else pl.lit(None, pl.Int64)
                    ).alias("customers"),
                    when.min().alias("first_date"),
                    when.max().alias("last_date"),
                    (
                        pl.col("amount").cast(pl.Float64).sum()
                        if "amount" in columns
                        else pl.lit(None, pl.Float64)
                    ).alias("total_amount"),
                )
            )
        empty = pl.DataFrame(
            schema={
                "table": pl.String,
                "rows": pl.Int64,
                "customers": pl.Int64,
                "first_date": pl.Date,
                "last_date": pl.Date,
                "total_amount": pl.Float64,
            }
        )
        return pl.concat([empty, *pl.collect_all(rows)])  # in the data model's order

    def write(self, path: str | Path) -> list[Path]:
        """Write every table present to ``path/<table>.parquet``.

        The folder is created when missing. Returns the paths written, in the
        data model's order.
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, frame in self.items():
            target = folder / f"{name}.parquet"
            frame.write_parquet(target)
            written.append(target)
        return written


# --------------------------------------------------------------------------
# checks across tables


def _bundle_failures(data: CRMData, orphans: OrphanPolicy) -> list[_Failure]:
    """Every failure of every table and across tables; warns about kept orphans."""
    failures: list[_Failure] = []
    for name, frame in data.items():
        failures.extend(_validation.table_failures(frame, name, depth="data"))
    failures.extend(_cross_table_failures(data))
    broken_ids = {(t, c) for t, c, *_ in failures if c == "customer_id"}
    orphan_rows = [f for f in _orphan_failures(data) if (f[0], f[1]) not in broken_ids]
    if orphans == "error":
        failures.extend(orphan_rows)
    elif orphan_rows:
        detail = "; ".join(
            f"{table}: {n:,} rows (customer_id {', '.join(examples)})"
            for table, _, _, n, examples in orphan_rows
        )
        warnings.warn(
            f"Rows reference customers missing from 'customers' and were kept: {detail}.",
            OrphanRowsWarning,
            stacklevel=4,
        )
    return failures


def _cross_table_failures(data: CRMData) -> list[_Failure]:
    """One time zone across every table; one currency across every table."""
    zones: dict[tuple[str, str], str] = {}
    currencies: dict[str, list[str]] = {}
    for name, frame in data.items():
        frame_schema = frame.collect_schema()
        model_columns = schemas.model(name).to_schema().columns
        for column, zone in _validation.datetime_zones(frame_schema).items():
            if column in model_columns:  # extra columns are not judged
                zones[(name, column)] = zone
        if "currency" in frame_schema.names():
            values = frame.get_column("currency").cast(pl.String).drop_nulls().unique()
            currencies[name] = sorted(values.to_list())
    failures: list[_Failure] = []
    # Zones within one table are reported by that table's own check.
    if len({z for z in zones.values()}) > 1 and all(
        len({z for (t, _), z in zones.items() if t == name}) <= 1 for name, _ in data.items()
    ):
        failures.extend(_validation.zone_failures(zones))
    if len({c for values in currencies.values() for c in values}) > 1 and all(
        len(values) <= 1 for values in currencies.values()
    ):
        seen = ", ".join(f"{t}: {'/'.join(v)}" for t, v in currencies.items())
        failures.extend(
            (table, "currency", "same_currency", frame.height, [f"{'/'.join(values)} ({seen})"])
            for table, values in currencies.items()
            if values
            for frame in [data[table]]
        )
    return failures


def _orphan_failures(data: CRMData) -> list[_Failure]:
    """Rows of customer-keyed tables whose ``customer_id`` is not in ``customers``."""
    if data.customers is None:
        return []
    known = data.customers.select("customer_id")
    known_dtype = known.schema["customer_id"]
    failures: list[_Failure] = []
    for name in schemas.CUSTOMER_KEYED:
        frame: pl.DataFrame | None = getattr(data, name)
        if frame is None or "customer_id" not in frame.columns:
            continue
        ids = frame.select("customer_id").drop_nulls()
        if ids.schema["customer_id"] != known_dtype:
            failures.append(
                (
                    name,
                    "customer_id",
                    "same_id_dtype",
                    None,
                    [f"got {ids.schema['customer_id']}, customers has {known_dtype}"],
                )
            )
            continue
        missing = ids.join(known, on="customer_id", how="anti")
        if missing.height:
            examples = (
                missing.get_column("customer_id")
                .unique()
                .sort()
                .head(_validation.MAX_EXAMPLES)
                .cast(pl.String)
                .to_list()
            )
            failures.append((name, "customer_id", "customer_exists", missing.height, examples))
    return failures


# --------------------------------------------------------------------------
# reading a folder

_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _parse_column(
    frame: pl.DataFrame, table: TableName, column: str, family: str, fmt: str | None
) -> tuple[pl.Series, _Failure | None]:
    """Parse one CSV text column into its model dtype; report what does not parse."""
    stripped = pl.col(column).str.strip_chars()
    text = frame.select(pl.when(stripped != "").then(stripped)).to_series()  # "" is null
    expected: str
    if family == "Timestamp":
        if fmt is not None:
            parsed = (
                text.str.to_date(fmt, strict=False)
                if not any(code in fmt for code in ("%H", "%M", "%S", "%T", "%z"))
                else text.str.to_datetime(fmt, strict=False)
            )
        elif text.drop_nulls().str.contains(_ISO_DATE).all():
            parsed = text.str.to_date("%Y-%m-%d", strict=False)
        else:
            parsed = text.str.to_datetime(strict=False)
        expected = f"a date or datetime{f' in format {fmt!r}' if fmt else ''}"
    elif family in ("Money",):
        parsed = text.cast(pl.Float64, strict=False)
        expected = "a number"
    elif family == "Integer":
        parsed = text.cast(pl.Int64, strict=False)
        expected = "an integer"
    elif family == "Identifier":
        as_int = text.cast(pl.Int64, strict=False)
        parsed = as_int if as_int.null_count() == text.null_count() else text
        expected = "an id"
    elif family == "Boolean":
        lowered = text.str.to_lowercase()
        parsed = lowered.replace_strict(
            ["true", "false", "1", "0", "yes", "no", "t", "f", "y", "n"],
            [True, False, True, False, True, False, True, False, True, False],
            default=None,
            return_dtype=pl.Boolean,
        )
        expected = "true/false"
    else:
        return text, None
    bad = text.is_not_null() & parsed.is_null()
    n_bad = int(bad.sum())
    if not n_bad:
        return parsed.alias(column), None
    examples = [
        f"{value!r} (row {index})"
        for index, value in frame.with_row_index("index")
        .filter(bad)
        .select("index", column)
        .head(_validation.MAX_EXAMPLES)
        .rows()
    ]
    return parsed.alias(column), (table, column, f"parse({expected})", n_bad, examples)


def _family(schema_column: object) -> str:
    dtype = getattr(schema_column, "dtype", None)
    name = type(dtype).__name__
    if name in ("Identifier", "Timestamp", "Money", "Integer", "Text"):
        return name
    return "Boolean" if str(dtype) == "Boolean" else "Text"


def _read_csv(
    path: Path, table: TableName, rename: Mapping[str, str], formats: Mapping[str, str]
) -> tuple[pl.DataFrame, list[_Failure]]:
    try:
        frame = pl.read_csv(path, infer_schema=False, try_parse_dates=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = (
            f"Could not read {path} as CSV: {first}\n"
            "Expected a comma-separated file with a header row, UTF-8 encoded.\n"
            "Hint: check the delimiter and the quoting, or write the table as Parquet."
        )
        raise DataLoadError(msg) from None
    frame = _apply_rename(frame, path, rename)
    model_columns = schemas.model(table).to_schema().columns
    failures: list[_Failure] = []
    parsed_columns = []
    for column in frame.columns:
        if column not in model_columns:
            continue  # extra columns stay text
        series, failure = _parse_column(
            frame, table, column, _family(model_columns[column]), formats.get(column)
        )
        parsed_columns.append(series)
        if failure is not None:
            failures.append(failure)
    return frame.with_columns(parsed_columns), failures


def _apply_rename(frame: pl.DataFrame, path: Path, rename: Mapping[str, str]) -> pl.DataFrame:
    absent = [old for old in rename if old not in frame.columns]
    if absent:
        msg = (
            f"rename names columns that {path.name} does not have: "
            f"{', '.join(map(repr, absent))}.\n"
            f"Its columns are: {', '.join(frame.columns)}.\n"
            "Hint: rename maps the file's own column names to the canonical ones."
        )
        raise DataLoadError(msg)
    return frame.rename(dict(rename))


def _read_parquet(path: Path, rename: Mapping[str, str]) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = (
            f"Could not read {path} as Parquet: {first}\n"
            "Hint: check that the file is complete and really Parquet."
        )
        raise DataLoadError(msg) from None
    return _apply_rename(frame, path, rename)


def load(
    path: str | Path,
    /,
    *,
    rename: Mapping[str, Mapping[str, str]] | None = None,
    formats: Mapping[str, Mapping[str, str]] | None = None,
    orphans: OrphanPolicy = "error",
) -> CRMData:
    """Read a folder of tables, validate them and return a :class:`CRMData`.

    Each table is read from ``<table>.parquet`` or ``<table>.csv`` (for example
    ``orders.parquet``, ``survey_responses.csv``); tables without a file are
    ``None``. Every table is then validated, and the tables against each other
    (see :meth:`CRMData.validate`).

    Parameters
    ----------
    path : str or pathlib.Path
        The folder.
    rename : mapping of table name to {file column: canonical column}, optional
        Your own column names, per table, e.g.
        ``{"orders": {"OrderDate": "ordered_at"}}``. Applied right after reading.
    formats : mapping of table name to {column: strftime format}, optional
        Formats of date/datetime columns in CSV files, e.g.
        ``{"orders": {"ordered_at": "%d/%m/%Y"}}``. Without one, a column whose
        values all look like ``YYYY-MM-DD`` is read as ``Date``, and any other
        as ``Datetime`` in the ISO 8601 form Polars infers (with an offset it is
        converted to UTC).
    orphans : {"error", "warn"}
        What to do with rows whose ``customer_id`` is not in ``customers``.

    Returns
    -------
    CRMData

    Raises
    ------
    crm_metrics.DataLoadError
        The folder does not exist, holds no table file, holds both a CSV and a
        Parquet file for one table, or a file cannot be read.
    crm_metrics.ValidationError
        Any value that does not parse, and any failure of the data model, across
        all tables at once.

    Notes
    -----
    CSV files are read as text and each column of the data model is parsed
    explicitly: ids as Int64 when every value is an integer (else String),
    money as Float64, counts as Int64, booleans from true/false, 1/0, yes/no,
    timestamps with :meth:`polars.Expr.str.to_date` or ``str.to_datetime``.
    A non-empty value that does not parse is a failure, never a silent null.
    Empty strings are nulls. Columns outside the data model are kept as text.
    Files whose names are not table names are not read; a warning lists them.

    Examples
    --------
    >>> import tempfile
    >>> import crm_metrics as cm
    >>> data = cm.datasets.synthetic(50, seed=3)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = data.write(folder)
    ...     again = cm.load(folder)
    >>> again.orders.equals(data.orders)
    True
    """
    folder = Path(path)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        msg = (
            f"{folder} {what}.\n"
            "Expected a folder of <table>.parquet or <table>.csv files.\n"
            "Hint: crm-metrics demo --out DIR writes such a folder."
        )
        raise DataLoadError(msg)
    rename = rename or {}
    formats = formats or {}
    for table in (*rename, *formats):
        schemas.check_table(table)
    tables: dict[str, pl.DataFrame] = {}
    failures: list[_Failure] = []
    for table in TABLE_NAMES:
        parquet, csv = folder / f"{table}.parquet", folder / f"{table}.csv"
        if parquet.exists() and csv.exists():
            msg = (
                f"{folder} has both {parquet.name} and {csv.name}.\n"
                "Expected one file per table.\n"
                "Hint: remove the one that is out of date."
            )
            raise DataLoadError(msg)
        if parquet.exists():
            tables[table] = _read_parquet(parquet, rename.get(table, {}))
        elif csv.exists():
            frame, parse_failures = _read_csv(
                csv, table, rename.get(table, {}), formats.get(table, {})
            )
            tables[table] = frame
            failures.extend(parse_failures)
    known = {f"{t}.{ext}" for t in TABLE_NAMES for ext in ("parquet", "csv")}
    others = sorted(
        p.name
        for p in folder.iterdir()
        if p.suffix.lower() in (".csv", ".parquet") and p.name not in known
    )
    if not tables:
        msg = (
            f"{folder} holds no table file.\n"
            f"Expected files named <table>.parquet or <table>.csv, with <table> one of "
            f"{', '.join(TABLE_NAMES)}"
            + (f"; found {', '.join(others)}" if others else "")
            + ".\nHint: rename the files to the table names."
        )
        raise DataLoadError(msg)
    if others:
        warnings.warn(
            f"Not read (not a table name): {', '.join(others)}. "
            f"Table files are named <table>.parquet or <table>.csv.",
            UserWarning,
            stacklevel=2,
        )
    data = CRMData(**tables)
    # Parse failures and model failures are reported together. A value that does
    # not parse is null afterwards, so it may also count for 'not_nullable'.
    _validation.raise_failures([*failures, *_bundle_failures(data, orphans)])
    return data
