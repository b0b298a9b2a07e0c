"""Net Promoter Score, with its margin of error."""

from __future__ import annotations

import warnings
from datetime import date, datetime
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics import _api
from crm_metrics._engine.grid import dense_periods
from crm_metrics._engine.periods import horizon, parse_every

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics.typing import FrameT

__all__ = ["SMALL_SAMPLE", "SmallSampleWarning", "net_promoter_score"]

_TS = "responded_at"
SMALL_SAMPLE = 30
"""Below this many responses a row's NPS gets a :class:`SmallSampleWarning`."""


class SmallSampleWarning(UserWarning):
    """A KPI computed from so few observations that its margin is wide."""


def net_promoter_score(
    responses: FrameT,
    /,
    *,
    every: str | None = None,
    group_by: str | Sequence[str] | None = None,
    confidence: float = 0.95,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Net Promoter Score from 0–10 answers, with a confidence interval.

    Parameters
    ----------
    responses : polars.DataFrame or polars.LazyFrame
        The ``survey_responses`` table; uses ``responded_at``, ``score`` and
        the ``group_by`` columns.
    every : str, optional
        Period length (``"1mo"``, ``"1q"``, …). ``None`` (the default) gives one
        row per group over all responses up to ``as_of``.
    group_by : str or list of str, optional
        Columns to segment by. Anonymous responses (null ``customer_id``) that
        got null customer attributes form the null group: they are counted,
        not dropped.
    confidence : float
        Coverage of the interval, strictly between 0 and 1.
    as_of : date or datetime, optional
        End of observation; defaults to the latest ``responded_at``.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``responses``: ``period_start`` (Date, only with
        ``every``), group keys, ``responses``, ``promoters``, ``passives``,
        ``detractors`` (Int64), ``nps``, ``nps_margin``, ``nps_low``,
        ``nps_high`` (Float64, null without responses) and, with ``every``,
        ``is_complete``. Sorted by the keys.

    Warns
    -----
    SmallSampleWarning
        For an eager result, when a row has between 1 and 29 responses.

    Notes
    -----
    Promoters score 9–10, passives 7–8, detractors 0–6. With :math:`n`
    responses, :math:`p_+` and :math:`p_-` the shares of promoters and
    detractors,

    .. math::

        \\text{NPS} = 100 (p_+ - p_-), \\qquad
        \\text{margin} = z \\cdot 100 \\sqrt{\\frac{p_+ + p_- - (p_+ - p_-)^2}{n}}

    where :math:`z` is the two-sided normal quantile of ``confidence``
    (1.96 for 0.95): the multinomial variance of the difference of two shares.
    ``nps_low`` and ``nps_high`` are ``nps ∓ nps_margin`` clipped to
    −100…100. Responses after ``as_of`` are left out.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> responses = pl.DataFrame(
    ...     {
    ...         "response_id": range(10),
    ...         "responded_at": [date(2024, 3, 1)] * 10,
    ...         "score": [10, 9, 9, 9, 9, 8, 7, 6, 3, 0],
    ...     }
    ... )
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", cm.SmallSampleWarning)
    ...     nps = cm.net_promoter_score(responses)
    >>> nps.select("responses", "promoters", "passives", "detractors", "nps")
    shape: (1, 5)
    ┌───────────┬───────────┬──────────┬────────────┬──────┐
    │ responses ┆ promoters ┆ passives ┆ detractors ┆ nps  │
    │ ---       ┆ ---       ┆ ---      ┆ ---        ┆ ---  │
    │ i64       ┆ i64       ┆ i64      ┆ i64        ┆ f64  │
    ╞═══════════╪═══════════╪══════════╪════════════╪══════╡
    │ 10        ┆ 5         ┆ 2        ┆ 3          ┆ 20.0 │
    └───────────┴───────────┴──────────┴────────────┴──────┘
    >>> round(nps["nps_margin"].item(), 2)  # 1.96 × 100 × sqrt((0.5 + 0.3 − 0.04) / 10)
    54.03
    """
    z = _api.two_sided_z(confidence)
    keys: list[str] = _api.group_keys(group_by)
    reserved = (
        "period_start",
        "responses",
        "promoters",
        "passives",
        "detractors",
        "nps",
        "nps_margin",
        "nps_low",
        "nps_high",
        "is_complete",
        "j",
    )
    data = _api.prepare(
        responses, "survey_responses", needs=(_TS, "score"), keys=keys, reserved=reserved
    )
    hz = horizon(_TS, data.schema[_TS], as_of)
    observed = data.frame.select(*keys, _TS, "score").filter(hz.observed(pl.col(_TS)))
    score = pl.col("score")
    counts = [
        pl.len().cast(pl.Int64).alias("responses"),
        (score >= 9).sum().cast(pl.Int64).alias("promoters"),
        score.is_between(7, 8).sum().cast(pl.Int64).alias("passives"),
        (score <= 6).sum().cast(pl.Int64).alias("detractors"),
    ]
    period_keys: list[str]
    if every is None:
        if keys:
            plan = observed.group_by(keys).agg(counts)
        else:  # no responses, no row (as with every= or group_by=)
            plan = observed.select(counts).filter(pl.col("responses") > 0)
        period_keys = []
    else:
        plan = dense_periods(
            observed,
            ts=_TS,
            every=parse_every(every),
            hz=hz,
            keys=keys,
            aggs=counts,
            zeros={"responses": 0, "promoters": 0, "passives": 0, "detractors": 0},
        ).drop("j")
        period_keys = ["period_start"]
    n = pl.col("responses").cast(pl.Float64)
    plus = pl.when(n > 0).then(pl.col("promoters") / n)
    minus = pl.when(n > 0).then(pl.col("detractors") / n)
    nps = 100 * (plus - minus)
    margin = z * 100 * ((plus + minus - (plus - minus) ** 2).clip(lower_bound=0) / n).sqrt()
    out = (
        plan.with_columns(nps.alias("nps"), margin.alias("nps_margin"))
        .with_columns(
            (pl.col("nps") - pl.col("nps_margin")).clip(-100, 100).alias("nps_low"),
            (pl.col("nps") + pl.col("nps_margin")).clip(-100, 100).alias("nps_high"),
        )
        .select(
            *period_keys,
            *keys,
            "responses",
            "promoters",
            "passives",
            "detractors",
            "nps",
            "nps_margin",
            "nps_low",
            "nps_high",
            *(["is_complete"] if every is not None else []),
        )
    )
    if period_keys or keys:
        out = out.sort([*period_keys, *keys], nulls_last=True)
    result = _api.finish(out, responses)
    if isinstance(result, pl.DataFrame):
        small = result.filter(pl.col("responses").is_between(1, SMALL_SAMPLE - 1)).height
        if small:
            warnings.warn(
                f"{small} of {result.height} NPS rows rest on fewer than {SMALL_SAMPLE} "
                "responses; read them with their nps_low and nps_high.",
                SmallSampleWarning,
                stacklevel=2,
            )
    return result
