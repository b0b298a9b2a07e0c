"""Acquisition: customer acquisition cost and lead conversion."""

from __future__ import annotations

import dataclasses
import warnings
from datetime import date, datetime
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics import _api, _validation
from crm_metrics._engine.grid import dense_periods
from crm_metrics._engine.periods import horizon, parse_duration, parse_every
from crm_metrics.exceptions import ArgumentError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics.typing import FrameT

__all__ = ["customer_acquisition_cost", "lead_conversion_rate"]

_ACQUIRED = "_acquired_at"
_CAC_COLUMNS = ("period_start", "spend", "new_customers", "cac", "is_complete", "j")


@dataclasses.dataclass(frozen=True, slots=True)
class _Acquisitions:
    plan: pl.LazyFrame  # group keys, _acquired_at (one row per customer)
    dtype: pl.DataType  # of _acquired_at
    inputs: list[tuple[_api.Input, list[str]]]  # for the time-zone check
    undated: int  # customers without an acquisition time (eager input only)
    source: str  # "acquired_at" or "first order"


def _customer_side_keys(
    keys: Sequence[str], names: Sequence[str], *, is_orders: bool
) -> dict[str, str]:
    """Output key → the column that holds it on the customers' side."""
    side = {k: k for k in keys}
    if "channel" in side:
        if "acquisition_channel" in names or not is_orders:
            side["channel"] = "acquisition_channel"
        else:
            msg = (
                "group_by='channel' needs each customer's acquisition channel, but the "
                "orders frame passed as customers has no 'acquisition_channel' ('channel' "
                "there is the sales channel of each order).\n"
                "Hint: cm.with_customer_attributes(orders, customers, ['acquisition_channel'])."
            )
            raise ArgumentError(msg)
    return side


def _first_purchase(data: _api.Input, side: dict[str, str]) -> pl.LazyFrame:
    """Per customer: the first purchase's time and the keys of that purchase."""
    ts = pl.col("ordered_at")
    return (
        data.frame.filter(pl.col("amount") >= 0)
        .group_by("customer_id")
        .agg(
            ts.min().alias(_ACQUIRED),
            *(
                pl.col(c).sort_by(ts, pl.col(c), nulls_last=True).first()
                for c in dict.fromkeys(side.values())
            ),
        )
    )


def _acquisitions(customers: object, orders: object, keys: Sequence[str]) -> _Acquisitions:
    frame = _validation.as_frame_or_fail(customers, "customers")
    names = frame.collect_schema().names()
    is_orders = "acquired_at" not in names and {"ordered_at", "amount"} <= set(names)
    side = _customer_side_keys(keys, names, is_orders=is_orders)
    out_keys = [pl.col(source).alias(key) for key, source in side.items()]
    needs_orders = ("customer_id", "ordered_at", "amount")
    if is_orders:
        data = _api.prepare(
            frame, "orders", needs=needs_orders, keys=list(side.values()), reserved=_CAC_COLUMNS
        )
        first = _first_purchase(data, side)
        return _Acquisitions(
            first.select(*out_keys, _ACQUIRED),
            data.schema["ordered_at"],
            [(data, ["ordered_at"])],
            0,
            "first order",
        )
    has_date = "acquired_at" in names
    data = _api.prepare(
        frame,
        "customers",
        needs=("customer_id", *(["acquired_at"] if has_date else [])),
        keys=list(side.values()),
        reserved=_CAC_COLUMNS,
    )
    if orders is None:
        if not has_date:
            msg = (
                "The customers frame has no 'acquired_at', so acquisitions cannot be dated.\n"
                "Hint: pass orders=... (each customer's first purchase dates them), or pass "
                "the orders frame itself as customers."
            )
            raise ArgumentError(msg)
        undated = (
            int(frame.get_column("acquired_at").null_count())
            if isinstance(frame, pl.DataFrame)
            else 0
        )
        return _Acquisitions(
            data.frame.select(*out_keys, pl.col("acquired_at").alias(_ACQUIRED)),
            data.schema["acquired_at"],
            [(data, ["acquired_at"])],
            undated,
            "acquired_at",
        )
    order_data = _api.prepare(orders, "orders", needs=needs_orders)
    first_dtype = order_data.schema["ordered_at"]
    first = _first_purchase(order_data, {}).select("customer_id", pl.col(_ACQUIRED).alias("_first"))
    dtype = data.schema["acquired_at"] if has_date else first_dtype
    acquired = _api.as_dtype(pl.col("_first"), first_dtype, dtype)
    if has_date:
        acquired = pl.coalesce(pl.col("acquired_at"), acquired)
    plan = data.frame.join(first, on="customer_id", how="left").select(
        *out_keys, acquired.alias(_ACQUIRED)
    )
    zones = [(data, ["acquired_at"]), (order_data, ["ordered_at"])]
    return _Acquisitions(plan, dtype, zones, 0, "acquired_at, else first order")


def customer_acquisition_cost(
    spend: FrameT,
    customers: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    orders: pl.DataFrame | pl.LazyFrame | None = None,
    every: str = "1mo",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Acquisition spend per newly acquired customer, per period.

    Parameters
    ----------
    spend : polars.DataFrame or polars.LazyFrame
        The ``spend`` table; uses ``spent_at`` and ``amount`` (marketing and
        sales spend alike; filter on ``kind`` first to split them).
    customers : polars.DataFrame or polars.LazyFrame
        Who was acquired when: the ``customers`` table with ``acquired_at``;
        or the ``orders`` table, each customer acquired at their first
        purchase; or the ``customers`` table without ``acquired_at`` together
        with ``orders=``.
    orders : polars.DataFrame or polars.LazyFrame, optional
        Dates customers whose ``acquired_at`` is missing (or who have no such
        column) by their first purchase (``amount >= 0``).
    every : str
        Period length (``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, multiples).
    group_by : str or list of str, optional
        ``"channel"`` matches ``spend.channel`` with the customers'
        ``acquisition_channel``; any other key must be a column of both.
        Spend with a null channel is reported under a null channel, never lost.
    as_of : date or datetime, optional
        End of observation; defaults to the day of the latest spend or
        acquisition (that whole day is observed).

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``spend``; one row per period (and group) from the first
        spend or acquisition to ``as_of``, sorted by the keys:
        ``period_start`` (Date), group keys, ``spend`` (Float64),
        ``new_customers`` (Int64), ``cac`` (Float64, null when no customer was
        acquired), ``is_complete``.

    Warns
    -----
    UserWarning
        When an eager customers table has rows with a null ``acquired_at`` and
        no ``orders`` were given: those customers cannot be dated and are not
        counted.

    Notes
    -----
    ``cac = spend / new_customers``, both within the period (and group):
    $100,000 spent and 100 customers acquired give a CAC of $1,000.
    Customers acquired after ``as_of`` and spend after it are left out.
    A group with spend but no acquisitions has a null ``cac`` (not infinite);
    acquisitions without spend (organic) have ``cac`` 0.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> spend = pl.DataFrame(
    ...     {
    ...         "spent_at": [date(2024, 1, 1), date(2024, 1, 15), date(2024, 1, 20)],
    ...         "amount": [50_000.0, 30_000.0, 20_000.0],
    ...         "channel": ["search", "search", "social"],
    ...     }
    ... )
    >>> customers = pl.DataFrame(
    ...     {
    ...         "customer_id": [1, 2, 3, 4],
    ...         "acquired_at": [date(2024, 1, 3), date(2024, 1, 9), date(2024, 1, 9),
    ...                         date(2024, 1, 30)],
    ...         "acquisition_channel": ["search", "search", "social", "referral"],
    ...     }
    ... )
    >>> cm.customer_acquisition_cost(spend, customers, group_by="channel").drop("is_complete")
    shape: (3, 5)
    ┌──────────────┬──────────┬─────────┬───────────────┬─────────┐
    │ period_start ┆ channel  ┆ spend   ┆ new_customers ┆ cac     │
    │ ---          ┆ ---      ┆ ---     ┆ ---           ┆ ---     │
    │ date         ┆ str      ┆ f64     ┆ i64           ┆ f64     │
    ╞══════════════╪══════════╪═════════╪═══════════════╪═════════╡
    │ 2024-01-01   ┆ referral ┆ 0.0     ┆ 1             ┆ 0.0     │
    │ 2024-01-01   ┆ search   ┆ 80000.0 ┆ 2             ┆ 40000.0 │
    │ 2024-01-01   ┆ social   ┆ 20000.0 ┆ 1             ┆ 20000.0 │
    └──────────────┴──────────┴─────────┴───────────────┴─────────┘
    """
    period = parse_every(every)
    keys: list[str] = _api.group_keys(group_by)
    money = _api.prepare(
        spend, "spend", needs=("spent_at", "amount"), keys=keys, reserved=_CAC_COLUMNS
    )
    acquired = _acquisitions(customers, orders, keys)
    _api.check_zones((money, ["spent_at"]), *acquired.inputs)
    if acquired.undated:
        warnings.warn(
            f"{acquired.undated:,} customers have a null acquired_at and are not counted "
            "as acquired; pass orders=... to date them by their first purchase.",
            UserWarning,
            stacklevel=2,
        )
    spend_frame = money.frame.select(*keys, "spent_at", pl.col("amount").cast(pl.Float64))
    acquired_frame = acquired.plan
    day: date | datetime | pl.Expr | None = as_of
    if as_of is None:
        latest = pl.concat(
            [
                spend_frame.select(pl.col("spent_at").max().dt.date().alias("_day")),
                acquired_frame.select(pl.col(_ACQUIRED).max().dt.date().alias("_day")),
            ]
        ).select(pl.col("_day").max())
        # several branches read these: computed once, not once per branch
        spend_frame = spend_frame.join(latest, how="cross").cache()
        acquired_frame = acquired_frame.join(latest, how="cross").cache()
        day = pl.col("_day")
    hz_spend = horizon("spent_at", money.schema["spent_at"], day)
    hz = horizon(_ACQUIRED, acquired.dtype, day)
    if as_of is None:
        # the end is the latest date of both frames: every dated row is observed. A
        # comparison with the joined-in end would also turn the cross join into an
        # inequality join (Polars 2.1), three times the cost of the whole KPI.
        spend_seen = pl.col("spent_at").is_not_null()
        acquired_seen = pl.col(_ACQUIRED).is_not_null()
    else:
        spend_seen = hz_spend.observed(pl.col("spent_at"))
        acquired_seen = hz.observed(pl.col(_ACQUIRED))
    # the end of observation as plain columns before the group-bys: a computed
    # expression inside an aggregation is evaluated group by group (Polars 2.1)
    ends = [hz.last_day.alias("_last"), hz.end_day.alias("_end_day")]
    last_and_end = [pl.col("_last").first(), pl.col("_end_day").first()]
    spent = (
        spend_frame.filter(spend_seen)
        .with_columns(ends)
        .group_by([*keys, period.number(pl.col("spent_at")).alias("j")])
        .agg(pl.col("amount").sum().alias("spend"), *last_and_end)
    )
    new = (
        acquired_frame.filter(acquired_seen)
        .with_columns(ends)
        .group_by([*keys, period.number(pl.col(_ACQUIRED)).alias("j")])
        .agg(pl.len().cast(pl.Int64).alias("new_customers"), *last_and_end)
    )
    both = pl.concat(
        [
            spent.select(*keys, "j", "_last", "_end_day"),
            new.select(*keys, "j", "_last", "_end_day"),
        ]
    )
    periods = (
        both.select(
            pl.int_ranges(pl.col("j").min(), period.number(pl.col("_last").max()) + 1).alias("j"),
            pl.col("_end_day").max(),
        )
        .explode("j")
        .drop_nulls("j")
    )
    grid = both.select(keys).unique().join(periods, how="cross") if keys else periods
    start = period.start_of(pl.col("j"))
    plan = (
        grid.join(spent.drop("_last", "_end_day"), on=[*keys, "j"], how="left", nulls_equal=True)
        .join(new.drop("_last", "_end_day"), on=[*keys, "j"], how="left", nulls_equal=True)
        .select(
            start.alias("period_start"),
            *keys,
            pl.col("spend").fill_null(0.0),
            pl.col("new_customers").fill_null(0),
            _api.safe_ratio(pl.col("spend").fill_null(0.0), pl.col("new_customers")).alias("cac"),
            (period.end(start) <= pl.col("_end_day")).alias("is_complete"),
        )
        .sort(["period_start", *keys], nulls_last=True)
    )
    return _api.finish(plan, spend)


def lead_conversion_rate(
    leads: FrameT,
    /,
    *,
    every: str = "1mo",
    within: str = "90d",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> FrameT:
    """Share of the leads created in each period that converted within ``within``.

    Parameters
    ----------
    leads : polars.DataFrame or polars.LazyFrame
        The ``leads`` table; uses ``created_at``, ``converted_at`` (null: not
        converted) and the ``group_by`` columns (e.g. ``source``).
    every : str
        Period length of the lead cohorts (by ``created_at``).
    within : str
        How long a lead has to convert, e.g. ``"30d"``, ``"90d"``, ``"3mo"``.
    group_by : str or list of str, optional
        Columns to segment by.
    as_of : date or datetime, optional
        End of observation; defaults to the latest ``created_at`` or
        ``converted_at``.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``leads``, sorted by the keys: ``period_start`` (Date),
        group keys, ``leads``, ``converted`` (Int64), ``conversion_rate``
        (Float64, null without leads), ``is_mature``.

    Notes
    -----
    A lead created at :math:`c` is *converted* when
    :math:`c \\le` ``converted_at`` :math:`\\le c +` ``within`` and
    ``converted_at`` is observed (on or before ``as_of``).
    ``conversion_rate = converted / leads``: 250 of 1,000 leads is 0.25.
    A cohort is *mature* (``is_mature``) when its period's end plus
    ``within`` is on or before ``as_of``: every lead in it had its whole window
    observed. Immature cohorts are still emitted; their rate can only rise.
    Leads created after ``as_of`` are left out; conversions later than
    ``within`` count as not converted.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> leads = pl.DataFrame(
    ...     {
    ...         "lead_id": [1, 2, 3, 4],
    ...         "created_at": [date(2024, 1, 2), date(2024, 1, 5), date(2024, 1, 9),
    ...                        date(2024, 2, 1)],
    ...         "converted_at": [date(2024, 1, 20), None, date(2024, 6, 1), None],
    ...     }
    ... )
    >>> cm.lead_conversion_rate(leads, within="30d", as_of=date(2024, 3, 31))
    shape: (3, 5)
    ┌──────────────┬───────┬───────────┬─────────────────┬───────────┐
    │ period_start ┆ leads ┆ converted ┆ conversion_rate ┆ is_mature │
    │ ---          ┆ ---   ┆ ---       ┆ ---             ┆ ---       │
    │ date         ┆ i64   ┆ i64       ┆ f64             ┆ bool      │
    ╞══════════════╪═══════╪═══════════╪═════════════════╪═══════════╡
    │ 2024-01-01   ┆ 3     ┆ 1         ┆ 0.333333        ┆ true      │
    │ 2024-02-01   ┆ 1     ┆ 0         ┆ 0.0             ┆ true      │
    │ 2024-03-01   ┆ 0     ┆ 0         ┆ null            ┆ false     │
    └──────────────┴───────┴───────────┴─────────────────┴───────────┘
    """
    period = parse_every(every)
    window = parse_duration(within, name="within")
    keys: list[str] = _api.group_keys(group_by)
    reserved = ("period_start", "leads", "converted", "conversion_rate", "is_mature", "j")
    data = _api.prepare(
        leads, "leads", needs=("created_at", "converted_at"), keys=keys, reserved=reserved
    )
    created_dtype = data.schema["created_at"]
    conv = _api.as_dtype(pl.col("converted_at"), data.schema["converted_at"], created_dtype)
    frame = data.frame.select(*keys, "created_at", conv.alias("_conv"))
    hz = horizon(
        "created_at",
        created_dtype,
        as_of,
        latest=pl.max_horizontal(pl.col("created_at").max(), pl.col("_conv").max()),
    )
    # the end of observation as columns: inside group_by, hz's max() would be per group
    observed = frame.filter(hz.observed(pl.col("created_at"))).with_columns(
        hz.last_day.alias("_last_day"),
        *([hz.instant.alias("_instant")] if hz.instant is not None else []),
    )
    seen = dataclasses.replace(
        hz,
        instant=pl.col("_instant") if hz.instant is not None else None,
        last_day=pl.col("_last_day"),
    )
    converted = (
        pl.col("_conv").is_not_null()
        & seen.observed(pl.col("_conv"))
        & (pl.col("_conv") >= pl.col("created_at"))
        & (pl.col("_conv") <= pl.col("created_at").dt.offset_by(window))
    )
    plan = dense_periods(
        observed,
        ts="created_at",
        every=period,
        hz=hz,
        keys=keys,
        aggs=[
            pl.len().cast(pl.Int64).alias("leads"),
            converted.sum().cast(pl.Int64).alias("converted"),
        ],
        zeros={"leads": 0, "converted": 0},
        keep_end_day=True,
    )
    matured = period.end(pl.col("period_start")).dt.offset_by(window)
    out = plan.select(
        "period_start",
        *keys,
        "leads",
        "converted",
        _api.safe_ratio(pl.col("converted"), pl.col("leads")).alias("conversion_rate"),
        (matured <= pl.col("_end_day")).alias("is_mature"),
    ).sort(["period_start", *keys], nulls_last=True)
    return _api.finish(out, leads)
