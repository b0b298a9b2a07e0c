"""Type aliases shared by the public API.

Option sets are :data:`typing.Literal` aliases so that type checkers catch a
misspelt option before a KPI runs.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, TypeVar

import polars as pl

__all__ = [
    "TABLE_NAMES",
    "FrameT",
    "IntoFrame",
    "OrphanPolicy",
    "TableName",
]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
"""A Polars frame: eager in gives eager out, lazy in gives lazy out."""

IntoFrame: TypeAlias = pl.DataFrame | pl.LazyFrame
"""Either kind of Polars frame."""

TableName: TypeAlias = Literal[
    "customers",
    "orders",
    "spend",
    "leads",
    "survey_responses",
    "feedback",
    "subscriptions",
    "web_sessions",
    "campaign_stats",
]
"""The canonical table names of the data model."""

TABLE_NAMES: tuple[TableName, ...] = (
    "customers",
    "orders",
    "spend",
    "leads",
    "survey_responses",
    "feedback",
    "subscriptions",
    "web_sessions",
    "campaign_stats",
)
"""Every table name, in the order of the data model."""

OrphanPolicy: TypeAlias = Literal["error", "warn"]
"""What :func:`crm_metrics.load` does with rows whose customer is unknown."""
