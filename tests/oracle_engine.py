"""Slow, obviously-correct references for cohorts, customer summaries, survival and subscriptions.

Like :mod:`oracle` (whose calendar layers this module reuses: :func:`period_start`,
:func:`periods_between`, :func:`add_duration`, :func:`subtract_duration`,
:class:`TimeKind`, :class:`Horizon`), everything here is plain Python on
``date`` / ``datetime`` / ``zoneinfo`` values, with loops over rows, customers
and periods. Polars only reads the input frames (``to_dicts``) and holds the
outputs, built with the schema each public function documents; no Polars
expression computes a result.

Oracles, each straight from the docstring of the function it checks:

* :func:`cohort_retention_oracle` — ``cm.cohort_retention``;
* :func:`customer_summary_oracle` — ``cm.customer_summary`` (and the durations
  behind ``cm.survival_curve``);
* :func:`kaplan_meier_oracle` — an exact (rational) Kaplan–Meier estimate, for
  counts, survival and the median (lifelines is the reference for the band);
* :func:`subscription_movements_oracle` and :func:`mrr_movements_oracle` —
  ``cm.subscription_movements`` and ``cm.mrr_movements``.

One calendar rule is added to :mod:`oracle`'s: :func:`shift` moves a value by a
calendar duration exactly as Polars' ``dt.offset_by`` does, including on a
tz-aware wall time that does not exist (a DST gap) or exists twice: of the
(at most two) instants the shifted wall time can mean, the one nearest the
original instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import polars as pl

from oracle import (
    Horizon,
    TimeKind,
    add_duration,
    horizon,
    period_start,
    periods_between,
    subtract_duration,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "COHORT_MEASURES",
    "LOGO_MEASURES",
    "MRR_MEASURES",
    "KMRow",
    "cohort_retention_oracle",
    "cohort_schema",
    "customer_summary_oracle",
    "horizon_of",
    "kaplan_meier_oracle",
    "keys_of",
    "km_median",
    "logo_schema",
    "mrr_movements_oracle",
    "mrr_schema",
    "shift",
    "sort_key",
    "subscription_movements_oracle",
    "summary_schema",
]

Key = tuple[Any, ...]
Timestamp = date | datetime


# --------------------------------------------------------------------------
# shared helpers


def sort_key(values: Iterable[Any]) -> tuple[tuple[bool, Any], ...]:
    """Sort group values with nulls last."""
    return tuple((v is None, v) for v in values)


def keys_of(group_by: str | Sequence[str] | None) -> list[str]:
    """``group_by`` as a list of column names."""
    if group_by is None:
        return []
    return [group_by] if isinstance(group_by, str) else list(group_by)


def horizon_of(
    rows: pl.DataFrame | pl.LazyFrame, column: str, as_of: date | datetime | None
) -> Horizon | None:
    """The :class:`oracle.Horizon` of ``as_of`` over one time column of ``rows``."""
    frame = _frame(rows)
    kind = TimeKind.of(frame.schema[column])
    return horizon(kind, frame[column].drop_nulls().to_list(), as_of)


def _frame(rows: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return rows.collect() if isinstance(rows, pl.LazyFrame) else rows


def shift(ts: Timestamp, duration: str, *, sign: int = 1) -> Timestamp:
    """``ts`` moved by ``sign * duration`` on its wall clock, as ``dt.offset_by`` does.

    Dates and naive datetimes: :func:`add_duration` / :func:`subtract_duration`
    (calendar months clamp the day). A tz-aware result is a local wall time
    that may mean two instants (repeated by a DST switch) or none (skipped):
    of the instants read with the offsets before and after the switch
    (``fold=0`` and ``fold=1``), Polars takes the one nearest the original
    instant — the earlier when shifting forward, the later when shifting
    back — and so does this (checked against Polars in ``test_survival.py``).
    """
    moved = add_duration(ts, duration) if sign > 0 else subtract_duration(ts, duration)
    if isinstance(moved, datetime) and moved.tzinfo is not None:
        candidates = (moved.replace(fold=0), moved.replace(fold=1))
        pick = min if sign > 0 else max
        nearest = pick(candidates, key=lambda value: value.astimezone(UTC))
        return nearest.astimezone(UTC).astimezone(moved.tzinfo)  # a real wall time
    return moved


def _local(kind: TimeKind, ts: Timestamp) -> Timestamp:
    """A value on its local wall clock (an aware value in the column's zone)."""
    if isinstance(ts, datetime) and ts.tzinfo is not None and kind.tz is not None:
        return ts.astimezone(kind.tz)
    return ts


def _micros(later: Any, earlier: Any) -> int:
    """Whole microseconds between two comparable instants (dates count whole days)."""
    return (later - earlier) // timedelta(microseconds=1)


def _period_numbers(days: Iterable[date], every: str) -> dict[date, int]:
    """Consecutive numbers for every period from the earliest to the latest of ``days``."""
    starts = sorted({period_start(d, every) for d in days})
    if not starts:
        return {}
    return {s: i for i, s in enumerate(periods_between(starts[0], starts[-1], every))}


# --------------------------------------------------------------------------
# cohorts


COHORT_MEASURES: dict[str, pl.DataType] = {
    "cohort_size": pl.Int64(),
    "active_customers": pl.Int64(),
    "retention_rate": pl.Float64(),
    "revenue": pl.Float64(),
    "revenue_retention": pl.Float64(),
    "cumulative_revenue_per_customer": pl.Float64(),
    "is_complete": pl.Boolean(),
}
"""The measure columns of ``cm.cohort_retention``, in order, with their dtypes."""


def cohort_schema(keys: dict[str, pl.DataType] | None = None) -> pl.Schema:
    """``cohort`` (Date), ``period_index`` (Int64), the group keys, then the measures."""
    return pl.Schema(
        {"cohort": pl.Date(), "period_index": pl.Int64(), **(keys or {}), **COHORT_MEASURES}
    )


@dataclass
class _Cohort:
    """One customer's observed orders, period by period."""

    revenue: dict[date, list[float]]
    bought: set[date]
    acquired: list[Timestamp]


def cohort_retention_oracle(
    rows: pl.DataFrame | pl.LazyFrame,
    *,
    every: str = "1mo",
    cohort_by: str = "first_order",
    mode: str = "classic",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.cohort_retention``.

    For one entity = (group values, ``customer_id``), over its observed orders
    (``ordered_at`` within ``as_of``, any amount):

    * its cohort is the period of its first purchase (``amount >= 0``), or
      with ``cohort_by="acquired_at"`` the period of its earliest
      ``acquired_at``; an entity without a purchase belongs to no cohort
      (the docstring's "left out, by design"), nor does one whose
      ``acquired_at`` is null;
    * it is active in period ``c + k`` (classic) when it has a purchase in
      it, (unbounded) when its last purchase period is ``c + k`` or later;
    * the cell's revenue is the sum of *all* its amounts in period
      ``c + k`` (refunds subtract); periods before the cohort are in no cell.

    Each cohort gets ``k = 0 .. (period of as_of's last day) - c``;
    ``revenue_retention = revenue / revenue at k = 0`` when the latter is > 0,
    ``cumulative_revenue_per_customer`` sums revenue over ``0..k`` and divides
    by the cohort size; ``is_complete`` says the period ``c + k`` ended by
    ``as_of`` (:meth:`Horizon.complete`). Money is summed with
    :func:`math.fsum` (correctly rounded).
    """
    frame = _frame(rows)
    keys = keys_of(group_by)
    kind = TimeKind.of(frame.schema["ordered_at"])
    schema = cohort_schema({k: frame.schema[k] for k in keys})
    by_acquisition = cohort_by == "acquired_at"
    acq_kind = TimeKind.of(frame.schema["acquired_at"]) if by_acquisition else None
    extra = ["acquired_at"] if by_acquisition else []
    records = frame.select(*keys, "customer_id", "ordered_at", "amount", *extra).to_dicts()
    hz = horizon(kind, [r["ordered_at"] for r in records], as_of)
    observed = [r for r in records if hz is not None and hz.observed(r["ordered_at"])]
    if hz is None or not observed:
        return pl.DataFrame(schema=schema)

    entities: dict[Key, _Cohort] = {}
    for r in observed:
        entity = (*(r[k] for k in keys), r["customer_id"])
        state = entities.setdefault(entity, _Cohort({}, set(), []))
        p = period_start(r["ordered_at"], every)
        state.revenue.setdefault(p, []).append(float(r["amount"]))
        if r["amount"] >= 0:
            state.bought.add(p)
        if by_acquisition and r["acquired_at"] is not None:
            state.acquired.append(r["acquired_at"])

    last_period = period_start(hz.last_day, every)
    cohorts: dict[Key, date] = {}
    for entity, state in entities.items():
        if not state.bought:
            continue  # no purchase by as_of: in no cohort
        if by_acquisition:
            if not state.acquired:
                continue
            assert acq_kind is not None
            cohorts[entity] = period_start(min(state.acquired, key=acq_kind.instant), every)
        else:
            cohorts[entity] = min(state.bought)

    numbers = _period_numbers(
        [last_period, *cohorts.values(), *(p for s in entities.values() for p in s.revenue)],
        every,
    )
    starts = sorted(numbers, key=numbers.__getitem__)
    cells: dict[tuple[Key, date], list[Key]] = {}
    for entity, c in cohorts.items():
        cells.setdefault((entity[:-1], c), []).append(entity)

    out: list[dict[str, Any]] = []
    for (group, c), members in cells.items():
        size = len(members)
        revenue_0: float | None = None
        cumulative: list[float] = []
        for k in range(numbers[last_period] - numbers[c] + 1):
            p = starts[numbers[c] + k]
            if mode == "classic":
                active = sum(p in entities[e].bought for e in members)
            else:
                active = sum(max(entities[e].bought) >= p for e in members)
            revenue = math.fsum(a for e in members for a in entities[e].revenue.get(p, []))
            cumulative.append(revenue)
            if k == 0:
                revenue_0 = revenue
            assert revenue_0 is not None
            out.append(
                {
                    "cohort": c,
                    "period_index": k,
                    **dict(zip(keys, group, strict=True)),
                    "cohort_size": size,
                    "active_customers": active,
                    "retention_rate": active / size,
                    "revenue": revenue,
                    "revenue_retention": revenue / revenue_0 if revenue_0 > 0 else None,
                    "cumulative_revenue_per_customer": math.fsum(cumulative) / size,
                    "is_complete": hz.complete(add_duration(p, every)),  # type: ignore[arg-type]
                }
            )
    out.sort(key=lambda row: (row["cohort"], row["period_index"], *sort_key(row[k] for k in keys)))
    return pl.DataFrame(out, schema=schema)


# --------------------------------------------------------------------------
# customer summary


STATUS = pl.Enum(["active", "churned"])


def summary_schema(
    id_dtype: pl.DataType, ts_dtype: pl.DataType, keys: dict[str, pl.DataType] | None = None
) -> pl.Schema:
    """The documented output schema of ``cm.customer_summary`` (group keys first, if any)."""
    return pl.Schema(
        {
            **(keys or {}),
            "customer_id": id_dtype,
            "first_order_at": ts_dtype,
            "last_order_at": ts_dtype,
            "orders": pl.Int64(),
            "revenue": pl.Float64(),
            "refunds": pl.Float64(),
            "average_order_value": pl.Float64(),
            "status": STATUS,
            "churned_at": ts_dtype,
            "tenure_days": pl.Float64(),
        }
    )


def _churn_instant(last: Timestamp, inactive_after: str) -> Timestamp:
    """The last instant ``t`` at which ``t - inactive_after <= last``.

    ``last + inactive_after`` (:func:`shift`), then, for calendar windows,
    moved on day by day while the next day, less the window, is still on or
    before ``last``'s date: a search over days (month subtraction clamps
    month ends, so from 28 February 2023 a month reaches 31 March), not a
    formula.
    """
    moved = shift(last, inactive_after)
    if not inactive_after.endswith(("mo", "q", "y")):
        return moved
    last_day = last.date() if isinstance(last, datetime) else last
    moved_day = moved.date() if isinstance(moved, datetime) else moved
    extra = 0
    while subtract_duration(moved_day + timedelta(days=extra + 1), inactive_after) <= last_day:
        extra += 1
    return shift(moved, f"{extra}d") if extra else moved


def customer_summary_oracle(
    rows: pl.DataFrame | pl.LazyFrame,
    *,
    inactive_after: str = "90d",
    as_of: date | datetime | None = None,
    group_by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.customer_summary`` (one row per group values and customer).

    Over each entity's observed orders: first and last purchase
    (``amount >= 0``), purchase count, net revenue, refunds (positive),
    revenue / orders; entities without a purchase are left out.

    *Status at* ``as_of``: active when the last purchase is on or after
    ``as_of - inactive_after``, with ``as_of`` the end of observation:

    * an instant (a Datetime column with a datetime or default ``as_of``):
      ``last >= shift(instant, -inactive_after)``;
    * a whole day ``D`` (a Date column, or a ``date`` ``as_of``): observation
      ends at the midnight starting ``D + 1``, so active when
      ``(D + 1) - inactive_after <= date of last`` (calendar subtraction on
      dates: a purchase on the last day of a month stays active to the end of
      the month ``inactive_after`` later).

    ``churned_at`` when churned: the last instant ``t`` with
    ``t - inactive_after <= last`` (:func:`_churn_instant`);
    ``tenure_days`` runs from the first purchase to ``churned_at``, or for an
    active customer to the end of observation (the instant, or the midnight
    starting ``D + 1``), in days of 24 hours (fractions for datetimes; real
    elapsed time across DST switches). Sorted by the keys, then ``customer_id``.
    """
    frame = _frame(rows)
    keys = keys_of(group_by)
    ts_dtype = frame.schema["ordered_at"]
    kind = TimeKind.of(ts_dtype)
    schema = summary_schema(
        frame.schema["customer_id"], ts_dtype, {k: frame.schema[k] for k in keys}
    )
    records = frame.select(*keys, "customer_id", "ordered_at", "amount").to_dicts()
    hz = horizon(kind, [r["ordered_at"] for r in records], as_of)
    observed = [r for r in records if hz is not None and hz.observed(r["ordered_at"])]
    if hz is None or not observed:
        return pl.DataFrame(schema=schema)
    at_instant = not kind.is_date and (as_of is None or isinstance(as_of, datetime))
    end_day = hz.last_day + timedelta(days=1)
    stop: Timestamp = _local(kind, hz.bound) if at_instant else kind.local(end_day)  # type: ignore[arg-type]
    threshold = shift(stop, inactive_after, sign=-1) if at_instant else None

    per: dict[Key, list[dict[str, Any]]] = {}
    for r in observed:
        per.setdefault((*(r[k] for k in keys), r["customer_id"]), []).append(r)
    out: list[dict[str, Any]] = []
    for entity, orders in per.items():
        purchases = [r["ordered_at"] for r in orders if r["amount"] >= 0]
        if not purchases:
            continue
        first = min(purchases, key=kind.instant)
        last = max(purchases, key=kind.instant)
        if at_instant:
            active = kind.instant(last) >= kind.instant(threshold)  # type: ignore[arg-type,operator]
        else:
            local_last = last.date() if isinstance(last, datetime) else last
            active = subtract_duration(end_day, inactive_after) <= local_last  # type: ignore[operator]
        churned_at = None if active else _churn_instant(last, inactive_after)
        until = stop if churned_at is None else churned_at
        n = len(purchases)
        revenue = math.fsum(float(r["amount"]) for r in orders)
        out.append(
            {
                **dict(zip(keys, entity[:-1], strict=True)),
                "customer_id": entity[-1],
                "first_order_at": first,
                "last_order_at": last,
                "orders": n,
                "revenue": revenue,
                "refunds": math.fsum(-float(r["amount"]) for r in orders if r["amount"] < 0),
                "average_order_value": revenue / n,
                "status": "active" if active else "churned",
                "churned_at": churned_at,
                "tenure_days": _micros(kind.instant(until), kind.instant(first)) / 86_400_000_000,
            }
        )
    out.sort(key=lambda row: (*sort_key(row[k] for k in keys), row["customer_id"]))
    return pl.DataFrame(out, schema=schema)


# --------------------------------------------------------------------------
# Kaplan–Meier, exactly


@dataclass(frozen=True)
class KMRow:
    """One row of an exact Kaplan–Meier table."""

    timeline: float
    at_risk: int
    churned: int
    censored: int
    survival: Fraction


def kaplan_meier_oracle(durations: Sequence[float], events: Sequence[bool]) -> list[KMRow]:
    """The Kaplan–Meier table in exact rational arithmetic.

    Rows at 0 and at every distinct duration: ``at_risk`` counts durations
    ``>= t``, ``churned`` the events at ``t``, ``censored`` the others at
    ``t``; ``S(t) = prod_{s <= t} (1 - d_s / n_s)``. Empty without durations.
    """
    if not durations:
        return []
    out: list[KMRow] = []
    survival = Fraction(1)
    for t in sorted({0.0, *durations}):
        n = sum(d >= t for d in durations)
        d = sum(x == t and e for x, e in zip(durations, events, strict=True))
        c = sum(x == t and not e for x, e in zip(durations, events, strict=True))
        survival *= 1 - Fraction(d, n)
        out.append(KMRow(t, n, d, c, survival))
    return out


def km_median(table: Sequence[KMRow]) -> float | None:
    """The first ``timeline`` with ``S <= 1/2`` (exactly), else ``None``."""
    return next((row.timeline for row in table if row.survival <= Fraction(1, 2)), None)


# --------------------------------------------------------------------------
# subscriptions


LOGO_MEASURES: dict[str, pl.DataType] = {
    "customers_start": pl.Int64(),
    "retained": pl.Int64(),
    "churned": pl.Int64(),
    "new": pl.Int64(),
    "reactivated": pl.Int64(),
    "customers_end": pl.Int64(),
    "churn_rate": pl.Float64(),
    "is_complete": pl.Boolean(),
}
MRR_MEASURES: dict[str, pl.DataType] = {
    "mrr_start": pl.Float64(),
    "new_mrr": pl.Float64(),
    "expansion_mrr": pl.Float64(),
    "contraction_mrr": pl.Float64(),
    "churned_mrr": pl.Float64(),
    "reactivation_mrr": pl.Float64(),
    "mrr_end": pl.Float64(),
    "net_revenue_retention": pl.Float64(),
    "gross_revenue_retention": pl.Float64(),
    "quick_ratio": pl.Float64(),
    "is_complete": pl.Boolean(),
}


def logo_schema(keys: dict[str, pl.DataType] | None = None) -> pl.Schema:
    """The documented output schema of ``cm.subscription_movements``."""
    return pl.Schema({"period_start": pl.Date(), **(keys or {}), **LOGO_MEASURES})


def mrr_schema(keys: dict[str, pl.DataType] | None = None) -> pl.Schema:
    """The documented output schema of ``cm.mrr_movements``."""
    return pl.Schema({"period_start": pl.Date(), **(keys or {}), **MRR_MEASURES})


@dataclass(frozen=True)
class _Boundaries:
    """Per group and period: each entity's MRR at the period's start and end (None: not subscribed).

    ``history[group][entity]`` lists the entity's MRR at every period start
    ``t_0 .. t_n`` (``t_n`` is the end of the last period).
    """

    starts: list[date]
    keys: list[str]
    history: dict[Key, dict[Key, list[float | None]]]
    complete: list[bool]


def _boundaries(
    rows: pl.DataFrame | pl.LazyFrame,
    every: str,
    group_by: str | Sequence[str] | None,
    as_of: date | datetime | None,
) -> _Boundaries | None:
    """Which entity is subscribed, with what MRR, at every period start.

    Subscribed at instant ``t``: a subscription with ``started_at <= t <
    ended_at``, over subscriptions started by ``as_of``; an ``ended_at`` after
    ``as_of`` (or null) is unknown: the subscription runs on. An ``ended_at``
    is read in ``started_at``'s dtype (a Date as that local midnight, a
    Datetime as its local date). ``as_of`` defaults to the latest
    ``started_at`` or ``ended_at``. Periods run from the one of the first
    observed start to the one containing ``as_of``'s last day; ``t`` are their
    local midnights.
    """
    frame = _frame(rows)
    keys = keys_of(group_by)
    kind = TimeKind.of(frame.schema["started_at"])
    end_is_date = frame.schema["ended_at"] == pl.Date

    def as_start_dtype(value: Timestamp | None) -> Timestamp | None:
        if value is None:
            return None
        if kind.is_date:
            return value.date() if isinstance(value, datetime) else value
        return kind.local(value) if end_is_date else value  # type: ignore[arg-type]

    records = frame.select(*keys, "customer_id", "started_at", "ended_at", "mrr").to_dicts()
    for r in records:
        r["ended_at"] = as_start_dtype(r["ended_at"])
    stamps = [r["started_at"] for r in records] + [
        r["ended_at"] for r in records if r["ended_at"] is not None
    ]
    hz: Horizon | None = horizon(kind, stamps, as_of)
    observed = [r for r in records if hz is not None and hz.observed(r["started_at"])]
    if hz is None or not observed:
        return None
    first = min((r["started_at"] for r in observed), key=kind.instant)
    starts = periods_between(first, hz.last_day, every)
    edges = [*starts, add_duration(starts[-1], every)]
    instants = [kind.midnight(day) for day in edges]  # type: ignore[arg-type]

    subs: dict[Key, dict[Key, list[tuple[Any, Any, float]]]] = {}
    for r in observed:
        group = tuple(r[k] for k in keys)
        ended = r["ended_at"]
        end = None if ended is None or not hz.observed(ended) else kind.instant(ended)
        subs.setdefault(group, {}).setdefault((*group, r["customer_id"]), []).append(
            (kind.instant(r["started_at"]), end, float(r["mrr"]))
        )
    history: dict[Key, dict[Key, list[float | None]]] = {}
    for group, entities in subs.items():
        history[group] = {}
        for entity, spans in entities.items():
            values: list[float | None] = []
            for t in instants:
                running = [m for s, e, m in spans if s <= t and (e is None or t < e)]
                values.append(math.fsum(running) if running else None)
            history[group][entity] = values
    complete = [hz.complete(day) for day in edges[1:]]  # type: ignore[arg-type]
    return _Boundaries(starts, keys, history, complete)


def _movement_rows(
    rows: pl.DataFrame | pl.LazyFrame,
    every: str,
    group_by: str | Sequence[str] | None,
    as_of: date | datetime | None,
) -> tuple[list[str], list[tuple[date, Key, list[tuple[float | None, float | None, bool]]]]]:
    """Per (period, group): each entity's (MRR at start, MRR at end, subscribed before)."""
    keys = keys_of(group_by)
    b = _boundaries(rows, every, group_by, as_of)
    if b is None:
        return keys, []
    out = []
    for i, t0 in enumerate(b.starts):
        for group in sorted(b.history, key=sort_key):
            moves = [
                (values[i], values[i + 1], any(v is not None for v in values[:i]))
                for values in b.history[group].values()
            ]
            out.append((t0, group, moves))
    return keys, out


def _completeness(
    rows: pl.DataFrame | pl.LazyFrame,
    every: str,
    group_by: str | Sequence[str] | None,
    as_of: date | datetime | None,
) -> dict[date, bool]:
    b = _boundaries(rows, every, group_by, as_of)
    return {} if b is None else dict(zip(b.starts, b.complete, strict=True))


def subscription_movements_oracle(
    rows: pl.DataFrame | pl.LazyFrame,
    *,
    every: str = "1mo",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.subscription_movements``.

    For period ``[t0, t1)`` and entity (group values, ``customer_id``):
    ``customers_start`` subscribed at ``t0``, ``customers_end`` at ``t1``,
    ``retained`` at both, ``churned`` at ``t0`` only; arriving at ``t1`` only:
    ``reactivated`` when subscribed at an earlier period start, else ``new``;
    ``churn_rate = churned / customers_start`` (null when 0). Every period for
    every group seen among the observed subscriptions.
    """
    keys, periods = _movement_rows(rows, every, group_by, as_of)
    frame = _frame(rows)
    schema = logo_schema({k: frame.schema[k] for k in keys})
    complete = _completeness(rows, every, group_by, as_of)
    out = []
    for t0, group, moves in periods:
        counts = dict.fromkeys(
            ("customers_start", "retained", "churned", "new", "reactivated", "customers_end"), 0
        )
        for m0, m1, before in moves:
            a0, a1 = m0 is not None, m1 is not None
            counts["customers_start"] += a0
            counts["customers_end"] += a1
            counts["retained"] += a0 and a1
            counts["churned"] += a0 and not a1
            if a1 and not a0:
                counts["reactivated" if before else "new"] += 1
        start = counts["customers_start"]
        out.append(
            {
                "period_start": t0,
                **dict(zip(keys, group, strict=True)),
                **counts,
                "churn_rate": None if start == 0 else counts["churned"] / start,
                "is_complete": complete[t0],
            }
        )
    return pl.DataFrame(out, schema=schema)


def mrr_movements_oracle(
    rows: pl.DataFrame | pl.LazyFrame,
    *,
    every: str = "1mo",
    group_by: str | Sequence[str] | None = None,
    as_of: date | datetime | None = None,
) -> pl.DataFrame:
    """Reference for ``cm.mrr_movements``: the MRR bridge.

    An entity's MRR at ``t`` is the sum of the ``mrr`` of its subscriptions
    running at ``t``. Subscribed at both ends: ``m1 - m0`` is expansion (> 0)
    or contraction (< 0, as a positive amount); at the start only: ``m0`` is
    churned; at the end only: ``m1`` is reactivation when subscribed at an
    earlier period start, else new. NRR = (start + expansion − contraction −
    churned) / start, GRR = (start − contraction − churned) / start, quick
    ratio = (new + expansion + reactivation) / (contraction + churned); null
    when the denominator is 0.
    """
    keys, periods = _movement_rows(rows, every, group_by, as_of)
    frame = _frame(rows)
    schema = mrr_schema({k: frame.schema[k] for k in keys})
    complete = _completeness(rows, every, group_by, as_of)
    out = []
    for t0, group, moves in periods:
        parts: dict[str, list[float]] = {
            name: []
            for name in (
                "mrr_start",
                "new_mrr",
                "expansion_mrr",
                "contraction_mrr",
                "churned_mrr",
                "reactivation_mrr",
                "mrr_end",
            )
        }
        for m0, m1, before in moves:
            if m0 is not None:
                parts["mrr_start"].append(m0)
            if m1 is not None:
                parts["mrr_end"].append(m1)
            if m0 is not None and m1 is not None:
                change = m1 - m0
                if change > 0:
                    parts["expansion_mrr"].append(change)
                elif change < 0:
                    parts["contraction_mrr"].append(-change)
            elif m0 is not None:
                parts["churned_mrr"].append(m0)
            elif m1 is not None:
                parts["reactivation_mrr" if before else "new_mrr"].append(m1)
        s = {name: math.fsum(values) for name, values in parts.items()}
        start, lost = s["mrr_start"], s["contraction_mrr"] + s["churned_mrr"]
        gained = s["new_mrr"] + s["expansion_mrr"] + s["reactivation_mrr"]
        out.append(
            {
                "period_start": t0,
                **dict(zip(keys, group, strict=True)),
                **s,
                "net_revenue_retention": (
                    (start + s["expansion_mrr"] - lost) / start if start != 0 else None
                ),
                "gross_revenue_retention": (start - lost) / start if start != 0 else None,
                "quick_ratio": gained / lost if lost != 0 else None,
                "is_complete": complete[t0],
            }
        )
    return pl.DataFrame(out, schema=schema)
