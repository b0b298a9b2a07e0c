"""The exception hierarchy of crm_metrics.

Every error the library raises on purpose derives from :class:`CrmMetricsError`
and also from the matching builtin, so ``except ValueError`` keeps working.
Messages say what was got, what was expected, and end with a ``Hint:`` line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "ArgumentError",
    "ConvergenceError",
    "CrmMetricsError",
    "DataLoadError",
    "OrphanRowsWarning",
    "UnknownTableError",
    "ValidationError",
]


class CrmMetricsError(Exception):
    """Root of every error raised on purpose by crm_metrics."""


class ValidationError(CrmMetricsError, ValueError):
    """Input data broke one or more checks of the data model.

    Attributes
    ----------
    failures : polars.DataFrame
        One row per failed (table, column, check), with columns
        ``table, column, check, n_rows, examples``. ``n_rows`` is the number of
        offending rows, null for checks about the schema rather than the rows
        (a missing column, a wrong dtype). ``examples`` lists up to five
        offending values, rendered as text.
    """

    def __init__(self, message: str, failures: pl.DataFrame) -> None:
        super().__init__(message)
        self.failures = failures


class ArgumentError(CrmMetricsError, ValueError):
    """An argument outside what a function accepts (an unknown option, a bad range)."""


class UnknownTableError(CrmMetricsError, KeyError):
    """A table name that is not in the data model, or not in a bundle."""

    def __str__(self) -> str:
        # KeyError would show the repr of the message, newlines escaped.
        return str(self.args[0]) if self.args else ""


class DataLoadError(CrmMetricsError, OSError):
    """A folder or file could not be read as crm_metrics tables."""


class ConvergenceError(CrmMetricsError, RuntimeError):
    """A model fit did not converge to finite parameters."""


class OrphanRowsWarning(UserWarning):
    """Rows reference a ``customer_id`` that the customers table lacks."""
