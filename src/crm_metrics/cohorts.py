"""Cohort retention: who of each acquisition cohort is still buying, and for how much."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal, TypeAlias

import polars as pl

from crm_metrics import _api
from crm_metrics._engine.cohorts import cohort_counts, customer_periods
from crm_metrics._engine.order import measured_order
from crm_metrics._engine.periods import horizon, parse_every
from crm_metrics.exceptions import ArgumentError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics.typing import FrameT

__all__ = ["cohort_matrix", "cohort_retention"]

CohortBy: TypeAlias = Literal["first_order", "acquired_at"]
Mode: TypeAlias = Literal["classic", "unbounded"]

_TS = "ordered_at"
COHORT_COLUMNS = (
    "cohort",
    "period_index",
    "cohort_size",
    "active_customers",
    "retention_rate",
    "revenue",
    "revenue_retention",
    "cumulative_revenue_per_customer",
    "is_complete",
)


def cohort_retention(
    orders: FrameT,
    /,
    *,
    every: str = "1mo",
    cohort_by: CohortBy = "first_order",
    mode: Mode = "classic",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Retention and revenue of each acquisition cohort, period by period.

    Parameters
    ----------
    orders : polars.DataFrame or polars.LazyFrame
        The ``orders`` table; uses ``customer_id``, ``ordered_at``, ``amount``,
        and ``acquired_at`` with ``cohort_by="acquired_at"`` (join it with
        ``cm.with_customer_attributes(orders, customers, ["acquired_at"])``).
    every : str
        Period length of cohorts and of the periods after them.
    cohort_by : {"first_order", "acquired_at"}
        A customer's cohort is the period of their first purchase, or of
        their ``acquired_at``.
    mode : {"classic", "unbounded"}
        ``"classic"``: a customer counts in period ``k`` when they buy in it.
        ``"unbounded"``: when they buy in period ``k`` or any later one.
    group_by : str or list of str, optional
        Customer attributes to segment by (cohorts within each group).
    as_of : date or datetime, optional
        End of observation; defaults to the latest ``ordered_at``.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``orders``; a dense triangle, one row per cohort and
        ``period_index`` from 0 to the period containing ``as_of``, sorted by
        ``cohort``, ``period_index`` and the group keys: ``cohort`` (Date),
        ``period_index``, group keys, ``cohort_size``, ``active_customers``
        (Int64), ``retention_rate``, ``revenue``, ``revenue_retention``,
        ``cumulative_revenue_per_customer`` (Float64), ``is_complete``.

    Notes
    -----
    For cohort :math:`c` (its customers' first purchase, or acquisition, in
    period :math:`c`) and period index :math:`k`:

    * ``retention_rate = active_customers / cohort_size``; with the first
      purchase as cohort, period 0 retention is 1;
    * ``revenue``: the cohort's net revenue (refunds subtracted) in period
      :math:`c + k`;
    * ``revenue_retention = revenue / revenue of period 0`` (null when that
      is not positive, or below 1e-6: float noise of refunds netting out);
    * ``cumulative_revenue_per_customer``: revenue of periods :math:`0..k`
      divided by ``cohort_size``.

    Cells with no activity are 0, not missing. With ``cohort_by="acquired_at"``
    a customer whose ``acquired_at`` is null is placed by their first
    purchase. Left out, by design: orders after ``as_of``; customers with no
    purchase (only refunds) by ``as_of`` belong to no cohort; orders dated
    before a customer's cohort period (``acquired_at`` later than an order)
    are not in any cell.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": range(6),
    ...         "customer_id": [1, 2, 1, 3, 1, 2],
    ...         "ordered_at": [date(2024, 1, 5), date(2024, 1, 20), date(2024, 2, 3),
    ...                        date(2024, 2, 10), date(2024, 3, 1), date(2024, 3, 9)],
    ...         "amount": [10.0, 20.0, 5.0, 8.0, 7.0, 4.0],
    ...     }
    ... )
    >>> cm.cohort_retention(orders).select(
    ...     "cohort", "period_index", "cohort_size", "active_customers", "retention_rate"
    ... )
    shape: (5, 5)
    ┌────────────┬──────────────┬─────────────┬──────────────────┬────────────────┐
    │ cohort     ┆ period_index ┆ cohort_size ┆ active_customers ┆ retention_rate │
    │ ---        ┆ ---          ┆ ---         ┆ ---              ┆ ---            │
    │ date       ┆ i64          ┆ i64         ┆ i64              ┆ f64            │
    ╞════════════╪══════════════╪═════════════╪══════════════════╪════════════════╡
    │ 2024-01-01 ┆ 0            ┆ 2           ┆ 2                ┆ 1.0            │
    │ 2024-01-01 ┆ 1            ┆ 2           ┆ 1                ┆ 0.5            │
    │ 2024-01-01 ┆ 2            ┆ 2           ┆ 2                ┆ 1.0            │
    │ 2024-02-01 ┆ 0            ┆ 1           ┆ 1                ┆ 1.0            │
    │ 2024-02-01 ┆ 1            ┆ 1           ┆ 0                ┆ 0.0            │
    └────────────┴──────────────┴─────────────┴──────────────────┴────────────────┘
    """
    if cohort_by not in ("first_order", "acquired_at"):
        msg = (
            f"cohort_by={cohort_by!r} is not an option.\n"
            "Expected 'first_order' or 'acquired_at'.\n"
            "Hint: 'acquired_at' needs that column on the orders (cm.with_customer_attributes)."
        )
        raise ArgumentError(msg)
    if mode not in ("classic", "unbounded"):
        msg = (
            f"mode={mode!r} is not an option.\n"
            "Expected 'classic' or 'unbounded'.\n"
            "Hint: 'unbounded' counts a customer in every period up to their last purchase."
        )
        raise ArgumentError(msg)
    period = parse_every(every)
    keys: list[str] = _api.group_keys(group_by)
    cohort_ts: str | None = "acquired_at" if cohort_by == "acquired_at" else None
    needs = ("customer_id", _TS, "amount", *([cohort_ts] if cohort_ts else []))
    data = _api.prepare(orders, "orders", needs=needs, keys=keys, reserved=COHORT_COLUMNS)
    if cohort_ts is not None:
        dtype = data.schema.get(cohort_ts)
        if not (dtype == pl.Date or isinstance(dtype, pl.Datetime)):
            msg = (
                f"cohort_by='acquired_at' needs an acquired_at Date or Datetime column on the "
                f"orders; got {dtype or 'no such column'}.\n"
                "Hint: cm.with_customer_attributes(orders, customers, ['acquired_at'])."
            )
            raise ArgumentError(msg)
        _api.check_zones((data, [_TS, cohort_ts]))
    hz = horizon(_TS, data.schema[_TS], as_of)
    ts = pl.col(_TS)
    observed = data.frame.select(*keys, "customer_id", _TS, "amount", *needs[3:]).filter(
        hz.observed(ts)
    )
    entity = [*keys, "customer_id"]
    rows = customer_periods(
        observed,
        order=measured_order(data.frame, entity, in_memory=data.eager),
        ts=_TS,
        every=period,
        cohort_ts=cohort_ts,
        lasts=mode == "unbounded",
    )
    last = observed.select(period.number(hz.last_day).alias("_last"), hz.end_day.alias("_end_day"))
    cells = cohort_counts(
        rows,
        keys=keys,
        last_period=last.select("_last"),
        unbounded=mode == "unbounded",
    )
    cohort = period.start_of(pl.col("c"))
    order = {"partition_by": [*keys, "c"], "order_by": "k"}
    revenue_0 = pl.col("revenue").sort_by("k").first().over([*keys, "c"])
    out = (
        cells.join(last.select("_end_day"), how="cross")
        .select(
            cohort.alias("cohort"),
            pl.col("k").cast(pl.Int64).alias("period_index"),
            *keys,
            "cohort_size",
            pl.col("active").alias("active_customers"),
            _api.safe_ratio(pl.col("active"), pl.col("cohort_size")).alias("retention_rate"),
            "revenue",
            # below a micro-unit, period-0 revenue is float noise (0.1 + 0.2 - 0.3), not money
            pl.when(revenue_0 > 1e-6)
            .then(pl.col("revenue") / revenue_0)
            .alias("revenue_retention"),
            (pl.col("revenue").cum_sum().over(**order) / pl.col("cohort_size")).alias(  # type: ignore[arg-type]
                "cumulative_revenue_per_customer"
            ),
            (period.end(period.start_of(pl.col("c") + pl.col("k"))) <= pl.col("_end_day")).alias(
                "is_complete"
            ),
        )
        .sort(["cohort", "period_index", *keys], nulls_last=True)
    )
    return _api.finish(out, orders)


def cohort_matrix(
    cohorts: FrameT,
    /,
    *,
    value: str = "retention_rate",
) -> pl.DataFrame:
    """Pivot a :func:`cohort_retention` frame wide: one row per cohort, one column per period.

    Parameters
    ----------
    cohorts : polars.DataFrame or polars.LazyFrame
        The long frame of :func:`cohort_retention` (a LazyFrame is collected:
        the columns of a pivot depend on the data).
    value : str
        The measure to show, e.g. ``"retention_rate"``, ``"active_customers"``,
        ``"revenue"``, ``"cumulative_revenue_per_customer"``.

    Returns
    -------
    polars.DataFrame
        ``cohort``, the group keys, ``cohort_size`` and one column per period
        index, named ``"0"``, ``"1"``, …; cells after ``as_of`` are null (the
        triangle).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": range(4),
    ...         "customer_id": [1, 2, 1, 3],
    ...         "ordered_at": [date(2024, 1, 5), date(2024, 1, 20), date(2024, 2, 3),
    ...                        date(2024, 2, 10)],
    ...         "amount": [10.0, 20.0, 5.0, 8.0],
    ...     }
    ... )
    >>> cm.cohort_matrix(cm.cohort_retention(orders))
    shape: (2, 4)
    ┌────────────┬─────────────┬─────┬──────┐
    │ cohort     ┆ cohort_size ┆ 0   ┆ 1    │
    │ ---        ┆ ---         ┆ --- ┆ ---  │
    │ date       ┆ i64         ┆ f64 ┆ f64  │
    ╞════════════╪═════════════╪═════╪══════╡
    │ 2024-01-01 ┆ 2           ┆ 1.0 ┆ 0.5  │
    │ 2024-02-01 ┆ 1           ┆ 1.0 ┆ null │
    └────────────┴─────────────┴─────┴──────┘
    """
    frame = cohorts.collect() if isinstance(cohorts, pl.LazyFrame) else cohorts
    missing = [
        c for c in ("cohort", "period_index", "cohort_size", value) if c not in frame.columns
    ]
    if missing:
        msg = (
            f"cohorts has no column {', '.join(map(repr, missing))}.\n"
            "Hint: pass the frame returned by cm.cohort_retention(...), and a value among "
            "its measures."
        )
        raise ArgumentError(msg)
    keys: list[str] = [c for c in frame.columns if c not in COHORT_COLUMNS]
    wide = frame.pivot(
        on="period_index",
        index=["cohort", *keys, "cohort_size"],
        values=value,
        aggregate_function=None,
        sort_columns=True,
    )
    periods = sorted((c for c in wide.columns if c.isdigit()), key=int)
    return wide.select("cohort", *keys, "cohort_size", *periods).sort(
        ["cohort", *keys], nulls_last=True
    )
