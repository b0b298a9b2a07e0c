"""Churn and retention from orders: who is active, kept, lost, new or back."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics import _api
from crm_metrics._engine.activity import activity_runs, movement_counts
from crm_metrics._engine.grid import period_span
from crm_metrics._engine.order import measured_order
from crm_metrics._engine.periods import horizon, parse_duration, parse_every

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics.typing import FrameT

__all__ = ["churn_rate", "customer_movements", "retention_rate"]

_TS = "ordered_at"
_MOVEMENT_COLUMNS = (
    "period_start",
    "customers_start",
    "retained",
    "churned",
    "new",
    "reactivated",
    "customers_end",
    "churn_rate",
    "retention_rate",
    "is_complete",
)


def _movements_plan(
    orders: object,
    every: str,
    inactive_after: str,
    group_by: str | Sequence[str] | None,
    as_of: date | datetime | None,
    *,
    measures: Sequence[str] | None,
) -> pl.LazyFrame:
    """The lazy plan of :func:`customer_movements`, sorted by its keys.

    ``measures=None`` keeps every column; otherwise the keys,
    ``customers_start``, the ``measures`` and ``is_complete``.
    """
    period = parse_every(every)
    window = parse_duration(inactive_after, name="inactive_after")
    keys: list[str] = _api.group_keys(group_by)
    data = _api.prepare(
        orders,
        "orders",
        needs=("customer_id", _TS, "amount"),
        keys=keys,
        reserved=_MOVEMENT_COLUMNS,
    )
    hz = horizon(_TS, data.schema[_TS], as_of)
    ts = pl.col(_TS)
    observed = data.frame.select(*keys, "customer_id", _TS, "amount").filter(hz.observed(ts))
    entity = [*keys, "customer_id"]
    runs = activity_runs(
        observed.filter(pl.col("amount") >= 0),  # refunds are not purchases
        order=measured_order(data.frame, entity, in_memory=data.eager),
        ts=_TS,
        every=period,
        inactive_after=window,
    )
    periods = period_span(observed, ts=_TS, every=period, hz=hz)
    grid = observed.select(keys).unique().join(periods, how="cross") if keys else periods
    counts = movement_counts(runs, grid.drop("_end_day"), keys=keys)
    start = period.start_of(pl.col("j"))
    plan = counts.join(periods, on="j", how="left").select(
        start.alias("period_start"),
        *keys,
        "customers_start",
        "retained",
        "churned",
        "new",
        "reactivated",
        "customers_end",
        _api.safe_ratio(pl.col("churned"), pl.col("customers_start")).alias("churn_rate"),
        _api.safe_ratio(pl.col("retained"), pl.col("customers_start")).alias("retention_rate"),
        (period.end(start) <= pl.col("_end_day")).alias("is_complete"),
    )
    if measures is not None:
        plan = plan.select("period_start", *keys, "customers_start", *measures, "is_complete")
    return plan.sort(["period_start", *keys], nulls_last=True)


def customer_movements(
    orders: FrameT,
    /,
    *,
    every: str = "1mo",
    inactive_after: str = "90d",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Customers active at each period's start and end, and how they moved.

    Parameters
    ----------
    orders : polars.DataFrame or polars.LazyFrame
        The ``orders`` table; uses ``customer_id``, ``ordered_at``, ``amount``
        and the ``group_by`` columns.
    every : str
        Period length: ``"1d"``, ``"1w"`` (ISO weeks from Monday), ``"1mo"``,
        ``"1q"``, ``"1y"`` or a multiple such as ``"2w"``, ``"3mo"``.
    inactive_after : str
        How long after a purchase a customer stays active, e.g. ``"90d"``,
        ``"12w"``, ``"3mo"`` (calendar months).
    group_by : str or list of str, optional
        Columns to segment by. A customer is counted within each group they
        bought in, so groups sum to the total only for customer-level
        attributes (country, acquisition channel).
    as_of : date or datetime, optional
        End of observation; defaults to the latest ``ordered_at``. Orders after
        it are ignored; a ``date`` includes that whole day.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``orders``. One row per period (and group), from the
        period of the first order to the one containing ``as_of``, sorted by
        ``period_start`` then the group keys: ``period_start`` (Date), group
        keys, ``customers_start``, ``retained``, ``churned``, ``new``,
        ``reactivated``, ``customers_end`` (Int64), ``churn_rate``,
        ``retention_rate`` (Float64, null when ``customers_start`` is 0),
        ``is_complete`` (Boolean: the period ended by ``as_of``).

    Notes
    -----
    A customer is *active* at instant :math:`t` when they have a purchase in
    :math:`[t - \\text{inactive\\_after}, t)`. Period :math:`[t_0, t_1)` starts
    with the customers active at :math:`t_0` and ends with those active at
    :math:`t_1`:

    * ``retained``: active at :math:`t_0` and :math:`t_1`;
    * ``churned``: active at :math:`t_0`, not at :math:`t_1`;
    * ``new``: not active at :math:`t_0`, active at :math:`t_1`, first purchase
      in :math:`[t_0, t_1)`;
    * ``reactivated``: not active at :math:`t_0`, active at :math:`t_1`, bought
      before :math:`t_0`;
    * ``churn_rate = churned / customers_start`` and
      ``retention_rate = retained / customers_start``.

    ``customers_start = retained + churned`` and
    ``customers_end = retained + new + reactivated`` hold on every row. The
    textbook retention :math:`(E - N) / S` also counts reactivated customers as
    kept: it is ``(customers_end - new) / customers_start``.

    Left out, by design: refunds (negative ``amount``) are not purchases and do
    not make anyone active; orders after ``as_of`` are ignored. A customer who
    bought only in a period but is inactive again by its end (``inactive_after``
    shorter than the period) is in neither count. The last period is marked
    ``is_complete = false`` when it ends after ``as_of``: its counts use only
    what was observed.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": [1, 2, 3, 4, 5],
    ...         "customer_id": [1, 2, 1, 3, 2],
    ...         "ordered_at": [
    ...             date(2024, 1, 10), date(2024, 1, 20), date(2024, 2, 15),
    ...             date(2024, 3, 5), date(2024, 4, 25),
    ...         ],
    ...         "amount": [20.0, 35.0, 15.0, 50.0, 10.0],
    ...     }
    ... )
    >>> moves = cm.customer_movements(orders, every="1mo", inactive_after="30d")
    >>> moves.select("period_start", "customers_start", "retained", "churned", "new",
    ...              "reactivated", "customers_end")
    shape: (4, 7)
    ┌──────────────┬─────────────────┬──────────┬─────────┬─────┬─────────────┬───────────────┐
    │ period_start ┆ customers_start ┆ retained ┆ churned ┆ new ┆ reactivated ┆ customers_end │
    │ ---          ┆ ---             ┆ ---      ┆ ---     ┆ --- ┆ ---         ┆ ---           │
    │ date         ┆ i64             ┆ i64      ┆ i64     ┆ i64 ┆ i64         ┆ i64           │
    ╞══════════════╪═════════════════╪══════════╪═════════╪═════╪═════════════╪═══════════════╡
    │ 2024-01-01   ┆ 0               ┆ 0        ┆ 0       ┆ 2   ┆ 0           ┆ 2             │
    │ 2024-02-01   ┆ 2               ┆ 1        ┆ 1       ┆ 0   ┆ 0           ┆ 1             │
    │ 2024-03-01   ┆ 1               ┆ 0        ┆ 1       ┆ 1   ┆ 0           ┆ 1             │
    │ 2024-04-01   ┆ 1               ┆ 0        ┆ 1       ┆ 0   ┆ 1           ┆ 1             │
    └──────────────┴─────────────────┴──────────┴─────────┴─────┴─────────────┴───────────────┘
    >>> moves.select("period_start", "churn_rate", "retention_rate", "is_complete")
    shape: (4, 4)
    ┌──────────────┬────────────┬────────────────┬─────────────┐
    │ period_start ┆ churn_rate ┆ retention_rate ┆ is_complete │
    │ ---          ┆ ---        ┆ ---            ┆ ---         │
    │ date         ┆ f64        ┆ f64            ┆ bool        │
    ╞══════════════╪════════════╪════════════════╪═════════════╡
    │ 2024-01-01   ┆ null       ┆ null           ┆ true        │
    │ 2024-02-01   ┆ 0.5        ┆ 0.5            ┆ true        │
    │ 2024-03-01   ┆ 1.0        ┆ 0.0            ┆ true        │
    │ 2024-04-01   ┆ 1.0        ┆ 0.0            ┆ false       │
    └──────────────┴────────────┴────────────────┴─────────────┘

    Customer 2 bought on 20 January, lapsed in February and came back on
    25 April: reactivated in April. April is incomplete (``as_of`` is the last
    order, 25 April).
    """
    plan = _movements_plan(orders, every, inactive_after, group_by, as_of, measures=None)
    return _api.finish(plan, orders)


def churn_rate(
    orders: FrameT,
    /,
    *,
    every: str = "1mo",
    inactive_after: str = "90d",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Share of the customers active at a period's start who are not at its end.

    Takes the arguments of :func:`customer_movements` and returns its
    ``period_start``, group keys, ``customers_start``, ``churned``,
    ``churn_rate`` and ``is_complete`` columns.

    Notes
    -----
    ``churn_rate = churned / customers_start`` (null when no one was active at
    the start). 1,000 customers at the start and 100 lost give 0.10.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": [1, 2, 3],
    ...         "customer_id": [1, 2, 1],
    ...         "ordered_at": [date(2024, 1, 10), date(2024, 1, 20), date(2024, 2, 15)],
    ...         "amount": [20.0, 35.0, 15.0],
    ...     }
    ... )
    >>> cm.churn_rate(orders, inactive_after="30d", as_of=date(2024, 2, 29))
    shape: (2, 5)
    ┌──────────────┬─────────────────┬─────────┬────────────┬─────────────┐
    │ period_start ┆ customers_start ┆ churned ┆ churn_rate ┆ is_complete │
    │ ---          ┆ ---             ┆ ---     ┆ ---        ┆ ---         │
    │ date         ┆ i64             ┆ i64     ┆ f64        ┆ bool        │
    ╞══════════════╪═════════════════╪═════════╪════════════╪═════════════╡
    │ 2024-01-01   ┆ 0               ┆ 0       ┆ null       ┆ true        │
    │ 2024-02-01   ┆ 2               ┆ 1       ┆ 0.5        ┆ true        │
    └──────────────┴─────────────────┴─────────┴────────────┴─────────────┘
    """
    measures = ("churned", "churn_rate")
    plan = _movements_plan(orders, every, inactive_after, group_by, as_of, measures=measures)
    return _api.finish(plan, orders)


def retention_rate(
    orders: FrameT,
    /,
    *,
    every: str = "1mo",
    inactive_after: str = "90d",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Share of the customers active at a period's start who still are at its end.

    Takes the arguments of :func:`customer_movements` and returns its
    ``period_start``, group keys, ``customers_start``, ``retained``,
    ``retention_rate`` and ``is_complete`` columns.

    Notes
    -----
    ``retention_rate = retained / customers_start`` (null when no one was
    active at the start): 1,000 at the start, 900 kept, gives 0.90. Customers
    who come back during the period are not counted as kept; for the textbook
    :math:`(E - N) / S` use :func:`customer_movements`, which has ``new`` and
    ``reactivated``.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> orders = pl.DataFrame(
    ...     {
    ...         "order_id": [1, 2, 3],
    ...         "customer_id": [1, 2, 1],
    ...         "ordered_at": [date(2024, 1, 10), date(2024, 1, 20), date(2024, 2, 15)],
    ...         "amount": [20.0, 35.0, 15.0],
    ...     }
    ... )
    >>> cm.retention_rate(orders, inactive_after="30d", as_of=date(2024, 2, 29))
    shape: (2, 5)
    ┌──────────────┬─────────────────┬──────────┬────────────────┬─────────────┐
    │ period_start ┆ customers_start ┆ retained ┆ retention_rate ┆ is_complete │
    │ ---          ┆ ---             ┆ ---      ┆ ---            ┆ ---         │
    │ date         ┆ i64             ┆ i64      ┆ f64            ┆ bool        │
    ╞══════════════╪═════════════════╪══════════╪════════════════╪═════════════╡
    │ 2024-01-01   ┆ 0               ┆ 0        ┆ null           ┆ true        │
    │ 2024-02-01   ┆ 2               ┆ 1        ┆ 0.5            ┆ true        │
    └──────────────┴─────────────────┴──────────┴────────────────┴─────────────┘
    """
    measures = ("retained", "retention_rate")
    plan = _movements_plan(orders, every, inactive_after, group_by, as_of, measures=measures)
    return _api.finish(plan, orders)
