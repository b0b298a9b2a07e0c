"""Segmenting events by customer attributes."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import polars as pl

from crm_metrics import _validation, schemas
from crm_metrics.exceptions import ArgumentError, OrphanRowsWarning

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics.typing import FrameT

__all__ = ["with_customer_attributes"]


def with_customer_attributes(
    events: FrameT,
    customers: pl.DataFrame | pl.LazyFrame,
    columns: str | Sequence[str],
    /,
) -> FrameT:
    """Join customer attributes onto an event frame, for any KPI's ``group_by``.

    Parameters
    ----------
    events : polars.DataFrame or polars.LazyFrame
        Any frame with a ``customer_id`` column: orders, leads,
        survey_responses, feedback, subscriptions, web_sessions.
    customers : polars.DataFrame or polars.LazyFrame
        The ``customers`` table (``customer_id`` unique), possibly with
        derived columns such as ``cm.expr.age_band(...)``.
    columns : str or list of str
        The attributes to copy, e.g. ``["country", "acquisition_channel"]``.
        Personal data (``name``, ``email``, ``phone``, ``address``) is refused.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Same kind as ``events``: every event row, in its order, with the
        attributes appended; no row is added or lost.

    Raises
    ------
    crm_metrics.ValidationError
        When ``customer_id`` is missing, or (for an eager ``customers``) not
        unique. A lazy ``customers`` is checked at schema level only; duplicate
        ids then fail when the result is collected (Polars' m:1 join check).
    crm_metrics.ArgumentError
        For unknown or personal-data columns, or a name the events already use.

    Warns
    -----
    crm_metrics.OrphanRowsWarning
        For eager ``events``, when some rows reference a customer missing from
        ``customers``; they are kept, with null attributes (a null group).
        Rows with a null ``customer_id`` (anonymous) also get nulls, silently:
        that is what anonymous means.

    Examples
    --------
    >>> import polars as pl
    >>> import crm_metrics as cm
    >>> customers = pl.DataFrame({"customer_id": [1, 2], "country": ["FR", "DE"]})
    >>> responses = pl.DataFrame({"response_id": [7, 8, 9], "customer_id": [2, None, 1]})
    >>> cm.with_customer_attributes(responses, customers, "country")
    shape: (3, 3)
    ┌─────────────┬─────────────┬─────────┐
    │ response_id ┆ customer_id ┆ country │
    │ ---         ┆ ---         ┆ ---     │
    │ i64         ┆ i64         ┆ str     │
    ╞═════════════╪═════════════╪═════════╡
    │ 7           ┆ 2           ┆ DE      │
    │ 8           ┆ null        ┆ null    │
    │ 9           ┆ 1           ┆ FR      │
    └─────────────┴─────────────┴─────────┘
    """
    wanted = [columns] if isinstance(columns, str) else list(columns)
    event_frame = _validation.as_frame_or_fail(events, "orders")
    customer_frame = _validation.as_frame_or_fail(customers, "customers")
    event_names = event_frame.collect_schema().names()
    customer_schema = customer_frame.collect_schema()
    private = [c for c in wanted if c in schemas.pii_columns("customers")]
    unknown = [c for c in wanted if c not in customer_schema.names()]
    clash = [c for c in wanted if c in event_names]
    problems = []
    if private:
        problems.append(f"personal data never joins a KPI's input: {private}")
    if unknown:
        problems.append(f"not columns of customers: {unknown} (it has {customer_schema.names()})")
    if clash:
        problems.append(f"already columns of the events: {clash}")
    if "customer_id" in wanted:
        problems.append("'customer_id' is the join key, not an attribute")
    if problems:
        msg = (
            f"columns={wanted!r} cannot be joined: {'; '.join(problems)}.\n"
            "Hint: pick non-identifying attributes such as country, gender, acquisition_channel "
            "or a derived age_band, and rename clashing columns first."
        )
        raise ArgumentError(msg)
    failures = _validation.table_failures(
        customer_frame,
        "customers",
        depth="data" if isinstance(customer_frame, pl.DataFrame) else "schema",
        columns=("customer_id",),
    )
    if "customer_id" not in event_names:
        failures.append(
            ("events", "customer_id", "column_in_dataframe", None, ["column is missing"])
        )
    elif customer_schema.get("customer_id") != event_frame.collect_schema()["customer_id"]:
        failures.append(
            (
                "events",
                "customer_id",
                "same_id_dtype",
                None,
                [
                    f"got {event_frame.collect_schema()['customer_id']}, "
                    f"customers has {customer_schema.get('customer_id')}"
                ],
            )
        )
    _validation.raise_failures(failures)
    attributes = customer_frame.lazy().select("customer_id", *wanted)
    joined = event_frame.lazy().join(
        attributes, on="customer_id", how="left", validate="m:1", maintain_order="left"
    )
    if isinstance(event_frame, pl.DataFrame):
        out = joined.collect()
        known = customer_frame.lazy().select("customer_id")
        orphans = (
            event_frame.lazy()
            .select("customer_id")
            .drop_nulls()
            .join(known, on="customer_id", how="anti")
            .collect()
        )
        if orphans.height:
            examples = orphans.get_column("customer_id").unique().sort().head(5).to_list()
            warnings.warn(
                f"{orphans.height:,} event rows reference customers missing from customers "
                f"(e.g. customer_id {examples}); they are kept with null {wanted}.",
                OrphanRowsWarning,
                stacklevel=2,
            )
        return out  # type: ignore[return-value]
    return joined  # type: ignore[return-value]
