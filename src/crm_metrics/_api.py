"""What every public KPI function does at its boundary, and at its end."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, TypeVar, overload

import polars as pl

from crm_metrics import _validation, schemas
from crm_metrics.exceptions import ArgumentError
from crm_metrics.typing import TableName

__all__ = [
    "Input",
    "as_dtype",
    "check_zones",
    "finish",
    "group_keys",
    "prepare",
    "safe_ratio",
    "two_sided_z",
]

T = TypeVar("T", pl.DataFrame, pl.LazyFrame)


class Input:
    """A validated input: its lazy plan, whether it came eager, and its schema."""

    __slots__ = ("eager", "frame", "schema", "table")

    def __init__(self, frame: pl.LazyFrame, *, eager: bool, table: str) -> None:
        self.frame = frame
        self.eager = eager
        self.table = table
        self.schema = frame.collect_schema()


def group_keys(group_by: str | Sequence[str] | None) -> list[str]:
    """``group_by`` as a list of column names."""
    if group_by is None:
        return []
    if isinstance(group_by, str):
        return [group_by]
    keys = list(group_by)
    if not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys):
        msg = (
            f"group_by={group_by!r} is not a list of distinct column names.\n"
            "Hint: pass a column name or a list of them, e.g. group_by=['country', 'gender']."
        )
        raise ArgumentError(msg)
    return keys


def prepare(
    frame: Any,
    table: TableName,
    *,
    needs: Sequence[str],
    keys: Sequence[str] = (),
    reserved: Sequence[str] = (),
) -> Input:
    """Validate ``frame`` as ``table`` (only the columns ``needs``) at the boundary.

    An eager frame has its data checked too; a LazyFrame only its schema
    (columns, dtypes, time zones), since checking values means collecting it.
    Group keys must exist, must not be personal data, and must not collide with
    the output's own column names (``reserved``).
    """
    checked = _validation.as_frame_or_fail(frame, table)
    eager = isinstance(checked, pl.DataFrame)
    used = tuple(needs)
    money = {"amount", "mrr"} & set(needs)
    if money and "currency" in checked.collect_schema().names() and "currency" not in keys:
        # money in several currencies is never summed (grouping by currency keeps
        # each sum in one currency)
        needs = (*needs, "currency")
    failures = _validation.table_failures(
        checked, table, depth="data" if eager else "schema", columns=needs
    )
    _validation.raise_failures(failures)
    lazy = checked.lazy()
    names = lazy.collect_schema().names()
    # optional columns of the data model that this function needs
    absent = [c for c in needs if c not in names]
    _validation.raise_failures(
        [(table, c, "column_in_dataframe", None, ["column is missing"]) for c in absent]
    )
    missing = [k for k in keys if k not in names]
    if missing:
        msg = (
            f"group_by names columns that the {table} frame does not have: "
            f"{', '.join(map(repr, missing))}.\n"
            f"Its columns are: {', '.join(names)}.\n"
            "Hint: join customer attributes first with "
            "cm.with_customer_attributes(events, customers, [...])."
        )
        raise ArgumentError(msg)
    private = [k for k in keys if k in schemas.pii_columns(table) or k in _ALWAYS_PII]
    if private:
        msg = (
            f"group_by={list(keys)!r} includes personal data: {', '.join(map(repr, private))}.\n"
            "KPI outputs never carry personal data.\n"
            "Hint: segment by a non-identifying attribute (country, age band, channel)."
        )
        raise ArgumentError(msg)
    clash = [k for k in keys if k in reserved or k in used]
    if clash:
        msg = (
            f"group_by={list(keys)!r} names columns that the function itself uses or "
            f"writes: {', '.join(map(repr, clash))}.\n"
            "Hint: group by an attribute (country, channel, age band); to keep a copy of "
            "such a column, add it under another name first."
        )
        raise ArgumentError(msg)
    return Input(lazy, eager=eager, table=table)


_ALWAYS_PII = frozenset({"name", "email", "phone", "address", "comment", "text"})


def check_zones(*inputs: tuple[Input, Sequence[str]]) -> None:
    """All the given datetime columns of one call: naive, or one shared zone."""
    zones: dict[tuple[str, str], str] = {}
    for data, columns in inputs:
        for column in columns:
            dtype = data.schema.get(column)
            if isinstance(dtype, pl.Datetime):
                zones[(data.table, column)] = dtype.time_zone or "naive"
    _validation.raise_failures(_validation.zone_failures(zones))


@overload
def finish(plan: pl.LazyFrame, like: pl.DataFrame) -> pl.DataFrame: ...
@overload
def finish(plan: pl.LazyFrame, like: pl.LazyFrame) -> pl.LazyFrame: ...
def finish(plan: pl.LazyFrame, like: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Collect once when the caller passed an eager frame (``like``); stay lazy otherwise."""
    return plan.collect() if isinstance(like, pl.DataFrame) else plan


def as_dtype(expr: pl.Expr, source: pl.DataType, target: pl.DataType) -> pl.Expr:
    """A Date or Datetime expression in another of the two (local dates, local midnights).

    A Date becomes the first instant of that day in the target's zone.
    """
    if source == target:
        return expr
    if target == pl.Date:
        return expr.dt.date()
    assert isinstance(target, pl.Datetime)
    if source == pl.Date:
        naive = expr.cast(pl.Datetime(target.time_unit or "us"))
        if target.time_zone is None:
            return naive
        zone = target.time_zone
        # a day whose midnight does not exist (DST at 00:00) starts at 01:00
        return pl.coalesce(
            naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null"),
            naive.dt.offset_by("1h").dt.replace_time_zone(
                zone, ambiguous="earliest", non_existent="null"
            ),
        )
    return expr.cast(target)  # another unit, same zone (zones were checked to agree)


def two_sided_z(confidence: float) -> float:
    """The standard normal quantile for a two-sided ``confidence`` interval (0.95 → 1.96)."""
    if not isinstance(confidence, float | int) or not 0 < confidence < 1:
        msg = (
            f"confidence={confidence!r} is not a probability strictly between 0 and 1.\n"
            "Hint: 0.95 gives a 95 % interval (z = 1.96)."
        )
        raise ArgumentError(msg)
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator`` as Float64, null when the denominator is 0 or null."""
    return (
        pl.when(denominator != 0)
        .then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64))
        .otherwise(None)
    )
