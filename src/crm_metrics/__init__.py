"""crm_metrics: Polars-native customer metrics.

Import it as ``import crm_metrics as cm``.
"""

from __future__ import annotations

from crm_metrics import datasets, schemas
from crm_metrics._validation import validate
from crm_metrics.data import CRMData, load
from crm_metrics.exceptions import (
    ArgumentError,
    ConvergenceError,
    CrmMetricsError,
    DataLoadError,
    OrphanRowsWarning,
    UnknownTableError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "CRMData",
    "ConvergenceError",
    "CrmMetricsError",
    "DataLoadError",
    "OrphanRowsWarning",
    "UnknownTableError",
    "ValidationError",
    "__version__",
    "datasets",
    "load",
    "schemas",
    "validate",
]
