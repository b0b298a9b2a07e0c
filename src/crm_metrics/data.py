"""The :class:`CRMData` bundle of tables, and reading and writing it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics.exceptions import UnknownTableError
from crm_metrics.typing import TABLE_NAMES, TableName

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["CRMData"]


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
