"""Running the table models and turning every failure into one error.

pandera runs the column and row checks of :mod:`crm_metrics.schemas`; this
module adds what pandera reports poorly (which rows are duplicated, which
currencies are mixed), the checks that span columns or tables (one time zone,
one currency, known customers), and renders everything as one
:class:`~crm_metrics.ValidationError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import polars as pl
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaError, SchemaErrors

from crm_metrics import schemas
from crm_metrics.exceptions import ValidationError
from crm_metrics.typing import TABLE_NAMES, FrameT, TableName

if TYPE_CHECKING:
    from pandera.api.polars.container import DataFrameSchema

__all__ = ["validate"]

Depth: TypeAlias = Literal["schema", "data"]

MAX_EXAMPLES = 5

FAILURE_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "table": pl.String,
        "column": pl.String,
        "check": pl.String,
        "n_rows": pl.Int64,
        "examples": pl.List(pl.String),
    }
)

_Failure: TypeAlias = tuple[str, str, str, int | None, list[str]]

_HINTS: dict[str, str] = {
    "column_in_dataframe": (
        "a required column is missing: rename your columns to the canonical names "
        "(cm.load(..., rename={table: {'your_name': 'canonical_name'}}) or frame.rename)."
    ),
    "dtype": (
        "cast the column to an accepted dtype; parse text dates with "
        "pl.col(c).str.to_date(format=...) or .str.to_datetime(format=...) "
        "(Polars 2 has no string-to-date cast)."
    ),
    "not_nullable": "fill or drop the null (or NaN) rows, or leave the optional column out.",
    "finite": "NaN and infinite amounts cannot be summed; fix or drop those rows.",
    "unique": "ids must be unique: deduplicate with frame.unique(subset=[...], keep='first').",
    "single_value": (
        "convert every amount to one currency before computing KPIs; "
        "money in several currencies is never summed."
    ),
    "range": "values are outside the range the data model allows; fix or drop those rows.",
    "order": "an end comes before its start; fix or drop those rows.",
    "time_zone": (
        "make every datetime naive or give them all one zone, e.g. "
        "pl.col(c).dt.convert_time_zone('UTC')."
    ),
    "same_currency": "convert every table's money to one currency.",
    "same_id_dtype": "give customer_id one dtype (Int64 or String) in every table.",
    "customer_exists": (
        "add the missing customers to the customers table, drop those rows, "
        "or load with orphans='warn' to keep them."
    ),
    "frame_type": "convert with pl.from_pandas(df) or pl.from_arrow(table).",
    "parse": (
        "values that do not parse were found: fix them, or give the format, e.g. "
        "cm.load(path, formats={'orders': {'ordered_at': '%d/%m/%Y'}})."
    ),
}


def _hint_key(check: str) -> str:
    if check.startswith("dtype("):
        return "dtype"
    if check.startswith("unique("):
        return "unique"
    if check.startswith("single_value("):
        return "single_value"
    if " >= " in check:
        return "order"
    if check.startswith("parse("):
        return "parse"
    if check.startswith(("in_range", "greater_than", "less_than", "isin")):
        return "range"
    return check


def _position(failure: _Failure) -> tuple[int, int]:
    """Sort key: the data model's table order, then the model's column order."""
    table, column = failure[0], failure[1]
    if table not in TABLE_NAMES:
        return (len(TABLE_NAMES), 0)
    names = list(_schema_for(table, None).columns)
    return (TABLE_NAMES.index(table), names.index(column) if column in names else len(names))


def _failure_frame(rows: Sequence[_Failure]) -> pl.DataFrame:
    rows = sorted(rows, key=_position)
    return pl.DataFrame(
        {
            "table": [r[0] for r in rows],
            "column": [r[1] for r in rows],
            "check": [r[2] for r in rows],
            "n_rows": [r[3] for r in rows],
            "examples": [r[4] for r in rows],
        },
        schema=FAILURE_SCHEMA,
    )


def _render(failures: pl.DataFrame) -> str:
    """The message of a :class:`ValidationError`: every failure, then the hints."""
    tables = failures["table"].unique(maintain_order=True).to_list()
    n = failures.height
    header = (
        f"Validation failed: {n} check{'s' if n != 1 else ''} failed "
        f"in table{'s' if len(tables) != 1 else ''} {', '.join(repr(t) for t in tables)}."
    )
    lines = [header]
    width_col = max(len("column"), *(len(c) for c in failures["column"]))
    width_check = max(len("check"), *(len(c) for c in failures["check"]))
    for table in tables:
        part = failures.filter(pl.col("table") == table)
        lines.append(f"table {table!r}:")
        lines.append(f"  {'column':<{width_col}}  {'check':<{width_check}}  {'rows':>8}  examples")
        for _, column, check, n_rows, examples in part.rows():
            shown = "-" if n_rows is None else f"{n_rows:,}"
            lines.append(
                f"  {column:<{width_col}}  {check:<{width_check}}  {shown:>8}  "
                f"{', '.join(examples)}"
            )
    hints = []
    for check in failures["check"].to_list():
        hint = _HINTS.get(_hint_key(check))
        if hint is not None and hint not in hints:
            hints.append(hint)
    lines.extend(f"Hint: {hint}" for hint in hints)
    return "\n".join(lines)


def raise_failures(rows: Sequence[_Failure]) -> None:
    """Raise one :class:`ValidationError` for ``rows``, if there are any."""
    if not rows:
        return
    failures = _failure_frame(rows)
    raise ValidationError(_render(failures), failures)


# --------------------------------------------------------------------------
# checks on the schema alone


def _zone_label(dtype: pl.DataType) -> str:
    assert isinstance(dtype, pl.Datetime)
    return dtype.time_zone or "naive"


def datetime_zones(schema: pl.Schema) -> dict[str, str]:
    """Column → time-zone label ('naive' or the zone) of every Datetime column."""
    return {
        name: _zone_label(dtype) for name, dtype in schema.items() if isinstance(dtype, pl.Datetime)
    }


def zone_failures(zones: Mapping[tuple[str, str], str]) -> list[_Failure]:
    """One failure per (table, column) when the columns do not share a zone."""
    if len(set(zones.values())) <= 1:
        return []
    seen = ", ".join(f"{t}.{c}: {z}" for (t, c), z in zones.items())
    return [
        (table, column, "time_zone", None, [f"{zone} (all: {seen})"])
        for (table, column), zone in zones.items()
    ]


def as_frame_or_fail(frame: Any, table: str) -> pl.DataFrame | pl.LazyFrame:
    """``frame`` itself if it is a Polars frame; a ValidationError otherwise."""
    if isinstance(frame, pl.DataFrame | pl.LazyFrame):
        return frame
    got = f"{type(frame).__module__}.{type(frame).__qualname__}"
    raise_failures([(table, "*", "frame_type", None, [f"got {got}"])])
    raise AssertionError  # pragma: no cover - raise_failures raised


# --------------------------------------------------------------------------
# running pandera


@cache
def _schema_for(table: TableName, columns: tuple[str, ...] | None) -> DataFrameSchema:
    """The table's pandera schema, restricted to ``columns`` when given."""
    schema: DataFrameSchema = schemas.model(table).to_schema()
    if columns is None:
        return schema
    keep = [c for c in schema.columns if c in columns]
    checks = [
        check
        for check in schema.checks
        if set(schemas.FRAME_CHECK_COLUMNS.get(check.name or "", ())) <= set(keep)
    ]
    restricted: DataFrameSchema = schema.select_columns(keep)  # a copy
    restricted.checks = checks
    return restricted


def rows_label(n: int) -> str:
    """``'1 row'``, ``'2 rows'``."""
    return f"{n:,} row{'s' if n != 1 else ''}"


def _text(value: object) -> str:
    return "null" if value is None else str(value)


def _example_from_row(row_json: str, columns: Sequence[str], index: int | None) -> str:
    """Render the involved columns of a failing row (never the rest: it may hold PII)."""
    try:
        row = json.loads(row_json)
    except ValueError:
        row = {}
    values = ", ".join(f"{c}={row.get(c)}" for c in columns if c in row)
    return f"row {index}: {values}" if index is not None else values


def _duplicate_failure(
    frame: pl.DataFrame | pl.LazyFrame, table: str, check: str, columns: tuple[str, ...]
) -> _Failure:
    key = pl.col(columns[0]) if len(columns) == 1 else pl.struct(columns)
    dupes = (
        frame.lazy()
        .filter(key.is_not_null() if len(columns) == 1 else pl.lit(value=True))
        .group_by(key.alias("key"))
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .filter(pl.col("n") > 1)
        .sort(["n", "key"], descending=[True, False], nulls_last=True)
        .collect(engine="in-memory")
    )
    examples = [f"{k!r} ({rows_label(n)})" for k, n in dupes.head(MAX_EXAMPLES).rows()]
    return (table, columns[0], check, int(dupes["n"].sum()), examples)


def _mixed_values_failure(
    frame: pl.DataFrame | pl.LazyFrame, table: str, check: str, column: str
) -> _Failure:
    counts = (
        frame.lazy()
        .select(pl.col(column).cast(pl.String).drop_nulls().alias("value"))
        .group_by("value")
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .sort(["n", "value"], descending=[True, False])
        .collect(engine="in-memory")
    )
    examples = [f"{v!r} ({rows_label(n)})" for v, n in counts.head(MAX_EXAMPLES).rows()]
    # The rows that differ from the most common value.
    n_rows = int(counts["n"].sum() - counts["n"].max()) if counts.height else 0  # type: ignore[operator]
    return (table, column, check, n_rows, examples)


def _convert_pandera(
    cases: pl.DataFrame, frame: pl.DataFrame | pl.LazyFrame, table: str
) -> list[_Failure]:
    """pandera's one-row-per-failing-value frame → one failure per (column, check)."""
    out: list[_Failure] = []
    cases = cases.with_columns(pl.col("check").fill_null("unknown"))
    wrong_dtype = set(cases.filter(pl.col("check").str.starts_with("dtype("))["column"].to_list())
    cases = cases.filter(
        # pandera counts NaN as null and as above any bound; NaN money is reported
        # once, by the 'finite' check.
        ~((pl.col("check") != "finite") & (pl.col("failure_case") == "NaN")).fill_null(value=False),
        # a column of the wrong dtype gets only its dtype failure: its value checks
        # cannot run (pandera reports them as raw Polars errors).
        ~(pl.col("column").is_in(list(wrong_dtype)) & ~pl.col("check").str.starts_with("dtype(")),
    )
    keys = cases.select("schema_context", "column", "check").unique(maintain_order=True)
    for context, column, check in keys.rows():
        part = cases.filter(
            (pl.col("schema_context") == context)
            & (pl.col("column") == column)
            & (pl.col("check") == check)
        ).sort("index", nulls_last=True)
        if check == "column_in_dataframe":
            out.extend(
                (table, missing, check, None, ["column is missing"])
                for missing in part["failure_case"].to_list()
            )
        elif check.startswith("dtype("):
            got = part["failure_case"].to_list()
            out.append((table, column, check, None, [f"got {g}" for g in got]))
        elif context == "DataFrameSchema" and check in schemas.FRAME_CHECK_COLUMNS:
            involved = schemas.FRAME_CHECK_COLUMNS[check]
            if check.startswith("unique("):
                out.append(_duplicate_failure(frame, table, check, involved))
            elif check.startswith("single_value("):
                out.append(_mixed_values_failure(frame, table, check, involved[0]))
            else:
                rows = part.filter(pl.col("index").is_not_null())
                examples = [
                    _example_from_row(case, involved, index)
                    for case, index in rows.head(MAX_EXAMPLES)
                    .select("failure_case", "index")
                    .rows()
                ]
                out.append((table, involved[0], check, rows.height, examples))
        else:
            examples = [
                f"{_text(case)} (row {index})" if index is not None else _text(case)
                for case, index in part.head(MAX_EXAMPLES).select("failure_case", "index").rows()
            ]
            n_rows = part.filter(pl.col("index").is_not_null()).height or None
            out.append((table, column, check, n_rows, examples))
    return out


def table_failures(
    frame: pl.DataFrame | pl.LazyFrame,
    table: TableName,
    *,
    depth: Depth = "data",
    columns: Sequence[str] | None = None,
) -> list[_Failure]:
    """Every failure of one table, without raising."""
    frame_schema = frame.collect_schema()
    present = set(frame_schema.names())
    schema = _schema_for(table, tuple(columns) if columns is not None else None)
    failures: list[_Failure] = []
    # Missing columns are found here, before pandera (whose coerce path can raise a
    # raw ColumnNotFoundError on them, pandera#2085).
    missing = [name for name, col in schema.columns.items() if col.required and name not in present]
    failures.extend(
        (table, name, "column_in_dataframe", None, ["column is missing"]) for name in missing
    )
    model_columns = _schema_for(table, None).columns  # extra columns are not judged
    zones: dict[tuple[str, str], str] = {
        (table, c): z for c, z in datetime_zones(frame_schema).items() if c in model_columns
    }
    failures.extend(zone_failures(zones))
    level = ValidationDepth.SCHEMA_AND_DATA if depth == "data" else ValidationDepth.SCHEMA_ONLY
    try:
        with config_context(validation_depth=level):
            schema.validate(frame, lazy=True)  # type: ignore[type-var]
    except SchemaErrors as exc:
        converted = _convert_pandera(exc.failure_cases, frame, table)
        failures.extend(
            f for f in converted if f[2] != "column_in_dataframe" or f[1] not in missing
        )
    except SchemaError as exc:  # pragma: no cover - lazy=True collects into SchemaErrors
        failures.append((table, str(getattr(exc, "column_name", "*")), "schema", None, [str(exc)]))
    except pl.exceptions.PolarsError as exc:
        # pandera let a Polars error escape: report it as a failure, never a raw traceback.
        failures.append((table, "*", "readable", None, [f"{type(exc).__name__}: {exc}"]))
    return failures


def validate(frame: FrameT, table: str, /) -> FrameT:
    """Check a frame against the data model of ``table`` and return it unchanged.

    Every check runs, and every failure is reported at once in one
    :class:`~crm_metrics.ValidationError`: missing required columns, dtypes
    outside the column's family, nulls (and NaN) in required columns, NaN or
    infinite money, values out of range, ends before starts, duplicate ids,
    more than one currency, and datetime columns in more than one time zone.

    Parameters
    ----------
    frame : polars.DataFrame or polars.LazyFrame
        The table, with the canonical column names of the data model. Extra
        columns are allowed and ignored.
    table : str
        One of ``customers``, ``orders``, ``spend``, ``leads``,
        ``survey_responses``, ``feedback``, ``subscriptions``, ``web_sessions``,
        ``campaign_stats``.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        ``frame`` itself, unchanged (a LazyFrame stays lazy).

    Raises
    ------
    crm_metrics.ValidationError
        When any check fails. Its ``failures`` frame has one row per (table,
        column, check) with ``n_rows`` offending rows and up to five examples.
    crm_metrics.UnknownTableError
        When ``table`` is not a table of the data model (a ``KeyError``).

    Notes
    -----
    A LazyFrame's data checks run by collecting only what the checks need
    (one streaming pass for the column checks); the frame returned is the
    original lazy plan. Uniqueness is checked with ``n_unique`` (one hash
    pass); only when it fails are the duplicated ids counted.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": [1, 2, 2],
    ...         "customer_id": [10, 11, None],
    ...         "ordered_at": [date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 6)],
    ...         "amount": [20.0, -5.0, float("nan")],
    ...     }
    ... )
    >>> cm.validate(orders.head(2), "orders").height
    2
    >>> try:
    ...     cm.validate(orders, "orders")
    ... except cm.ValidationError as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    Validation failed: 3 checks failed in table 'orders'.
    table 'orders':
      column       check                 rows  examples
      order_id     unique(order_id)         2  2 (2 rows)
      customer_id  not_nullable             1  null (row 2)
      amount       finite                   1  NaN (row 2)
    Hint: ids must be unique: deduplicate with frame.unique(subset=[...], keep='first').
    Hint: fill or drop the null (or NaN) rows, or leave the optional column out.
    Hint: NaN and infinite amounts cannot be summed; fix or drop those rows.
    """
    name = schemas.check_table(table)
    checked = as_frame_or_fail(frame, name)
    raise_failures(table_failures(checked, name, depth="data"))
    return frame
