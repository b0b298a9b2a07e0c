"""Customer value models: RFM summaries, BG/NBD, Pareto/NBD, Gamma-Gamma, sBG, predictive CLV.

Import the module as ``cm.clv``; the summary functions are also top-level
(``cm.rfm_summary``, ``cm.calibration_holdout``, ``cm.rfm_segments``).
"""

from __future__ import annotations

from crm_metrics.clv._models import (
    BetaGeoFit,
    GammaGammaFit,
    ParetoNBDFit,
    ShiftedBetaGeoFit,
    fit_beta_geo,
    fit_gamma_gamma,
    fit_pareto_nbd,
    fit_shifted_beta_geo,
)
from crm_metrics.clv._summary import calibration_holdout, rfm_summary
from crm_metrics.clv._value import SEGMENTS, customer_lifetime_value, rfm_segments

__all__ = [
    "SEGMENTS",
    "BetaGeoFit",
    "GammaGammaFit",
    "ParetoNBDFit",
    "ShiftedBetaGeoFit",
    "calibration_holdout",
    "customer_lifetime_value",
    "fit_beta_geo",
    "fit_gamma_gamma",
    "fit_pareto_nbd",
    "fit_shifted_beta_geo",
    "rfm_segments",
    "rfm_summary",
]
