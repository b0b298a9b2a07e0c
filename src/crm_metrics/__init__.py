"""crm_metrics: Polars-native customer metrics.

Import it as ``import crm_metrics as cm``.
"""

from __future__ import annotations

from crm_metrics import clv, datasets, expr, schemas
from crm_metrics._validation import validate
from crm_metrics.acquisition import customer_acquisition_cost, lead_conversion_rate
from crm_metrics.clv import calibration_holdout, rfm_segments, rfm_summary
from crm_metrics.cohorts import cohort_matrix, cohort_retention
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
from crm_metrics.feedback import SmallSampleWarning, net_promoter_score
from crm_metrics.retention import churn_rate, customer_movements, retention_rate
from crm_metrics.revenue import (
    average_order_value,
    average_revenue_per_customer,
    purchase_frequency,
    revenue_growth_rate,
)
from crm_metrics.segments import with_customer_attributes
from crm_metrics.subscriptions import mrr_movements, subscription_movements
from crm_metrics.survival import customer_summary, median_lifetime, survival_curve
from crm_metrics.value import cac_payback_months, customer_lifetime_value, ltv_to_cac

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "CRMData",
    "ConvergenceError",
    "CrmMetricsError",
    "DataLoadError",
    "OrphanRowsWarning",
    "SmallSampleWarning",
    "UnknownTableError",
    "ValidationError",
    "__version__",
    "average_order_value",
    "average_revenue_per_customer",
    "cac_payback_months",
    "calibration_holdout",
    "churn_rate",
    "clv",
    "cohort_matrix",
    "cohort_retention",
    "customer_acquisition_cost",
    "customer_lifetime_value",
    "customer_movements",
    "customer_summary",
    "datasets",
    "expr",
    "lead_conversion_rate",
    "load",
    "ltv_to_cac",
    "median_lifetime",
    "mrr_movements",
    "net_promoter_score",
    "purchase_frequency",
    "retention_rate",
    "revenue_growth_rate",
    "rfm_segments",
    "rfm_summary",
    "schemas",
    "subscription_movements",
    "survival_curve",
    "validate",
    "with_customer_attributes",
]
