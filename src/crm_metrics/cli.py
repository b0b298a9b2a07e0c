"""The ``crm-metrics`` command line.

``crm-metrics demo`` generates the synthetic data, validates it, writes it to a
folder and prints a summary; ``crm-metrics validate DIR`` loads and validates a
folder of tables. Errors print one clear line and exit non-zero, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import polars as pl

from crm_metrics import datasets
from crm_metrics.acquisition import customer_acquisition_cost, lead_conversion_rate
from crm_metrics.clv import customer_lifetime_value as predicted_lifetime_value
from crm_metrics.clv import (
    fit_beta_geo,
    fit_gamma_gamma,
    rfm_segments,
    rfm_summary,
)
from crm_metrics.cohorts import cohort_matrix, cohort_retention
from crm_metrics.data import load
from crm_metrics.exceptions import CrmMetricsError, ValidationError
from crm_metrics.feedback import net_promoter_score
from crm_metrics.retention import customer_movements
from crm_metrics.revenue import (
    average_order_value,
    average_revenue_per_customer,
    purchase_frequency,
    revenue_growth_rate,
)
from crm_metrics.subscriptions import MRR_COLUMNS, mrr_movements
from crm_metrics.value import cac_payback_months, customer_lifetime_value, ltv_to_cac

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crm_metrics.data import CRMData

__all__ = ["main"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2


def _table(frame: pl.DataFrame) -> str:
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_formatting="ASCII_MARKDOWN",
        tbl_width_chars=200,
        fmt_str_lengths=120,
        thousands_separator=True,
        float_precision=2,
    ):
        return str(frame)


def _print_summary(data: CRMData, out: TextIO) -> None:
    print(_table(data.summary()), file=out)


def _month_value(frame: pl.DataFrame, column: str, month: date) -> float | None:
    row = frame.filter(pl.col("period_start") == month)
    value = row.get_column(column).item() if row.height == 1 else None
    return None if value is None else float(value)


def _shown(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "money":
        return f"{value:,.2f}"
    return f"{value:,.2f}"


def _trailing_year(
    data: CRMData, cac: pl.DataFrame, month: date
) -> tuple[float | None, float | None, float | None]:
    """CLV, LTV:CAC and CAC payback over the year ending with ``month``."""
    next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a null lifespan shows as "-"
        clv = customer_lifetime_value(data["orders"], as_of=next_month - timedelta(days=1))
    if not clv.height:
        return None, None, None
    year = cac.filter(pl.col("period_start").is_between(month - timedelta(days=360), month))
    return (
        clv.get_column("cltv").item(),
        ltv_to_cac(clv, year).get_column("ltv_to_cac").item(),
        cac_payback_months(clv, year).get_column("cac_payback_months").item(),
    )


def kpi_snapshot(data: CRMData, *, as_of: date) -> tuple[pl.DataFrame, date]:
    """Every KPI for the latest month complete by ``as_of`` and the month before.

    Returns the table (``kpi`` and one text column per month) and the latest month.
    """
    orders = data["orders"]
    moves = customer_movements(orders, as_of=as_of)
    complete = moves.filter(pl.col("is_complete")).get_column("period_start")
    if complete.len() < 2:
        msg = "The data covers fewer than two complete months; no KPI month to show."
        raise CrmMetricsError(msg)
    latest, previous = complete[-1], complete[-2]
    revenue = revenue_growth_rate(orders, as_of=as_of)
    cac = customer_acquisition_cost(data["spend"], data["customers"], as_of=as_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small monthly samples are expected here
        nps = net_promoter_score(data["survey_responses"], every="1mo", as_of=as_of)
    monthly = [
        ("active customers at month end", moves, "customers_end", "count"),
        ("new customers", moves, "new", "count"),
        ("churn rate", moves, "churn_rate", "rate"),
        ("retention rate", moves, "retention_rate", "rate"),
        ("revenue (net of refunds)", revenue, "revenue", "money"),
        ("revenue growth vs previous month", revenue, "growth_rate", "rate"),
        (
            "revenue growth vs a year before",
            revenue_growth_rate(orders, compare="year_ago", as_of=as_of),
            "growth_rate",
            "rate",
        ),
        (
            "average order value",
            average_order_value(orders, as_of=as_of),
            "average_order_value",
            "money",
        ),
        (
            "revenue per buying customer",
            average_revenue_per_customer(orders, as_of=as_of),
            "average_revenue_per_customer",
            "money",
        ),
        (
            "purchases per buying customer",
            purchase_frequency(orders, as_of=as_of),
            "purchase_frequency",
            "number",
        ),
        ("customer acquisition cost", cac, "cac", "money"),
        (
            "lead conversion in 90 days (not yet final)",
            lead_conversion_rate(data["leads"], as_of=as_of),
            "conversion_rate",
            "rate",
        ),
        ("net promoter score", nps, "nps", "number"),
    ]
    labels = [label for label, *_ in monthly]
    before = [_shown(_month_value(f, c, previous), k) for _, f, c, k in monthly]
    after = [_shown(_month_value(f, c, latest), k) for _, f, c, k in monthly]
    kinds = ("money", "number", "number")
    names = ("lifetime value, trailing year", "LTV : CAC, trailing year", "CAC payback (months)")
    for month, column in ((previous, before), (latest, after)):
        column.extend(
            _shown(v, k) for v, k in zip(_trailing_year(data, cac, month), kinds, strict=True)
        )
    labels.extend(names)
    table = pl.DataFrame({"kpi": labels, f"{previous:%b %Y}": before, f"{latest:%b %Y}": after})
    return table, latest


def _print_engine(data: CRMData, as_of: date, out: TextIO) -> None:
    """The retention triangle of the last cohorts, and the MRR bridge of the last months."""
    cohorts = cohort_retention(data["orders"], as_of=as_of)
    last_cohorts = cohorts.get_column("cohort").unique().sort().tail(6)
    matrix = cohort_matrix(cohorts.filter(pl.col("cohort").is_in(last_cohorts.implode())))
    shown = matrix.select(
        pl.col("cohort").dt.strftime("%b %Y"),
        "cohort_size",
        *(
            (pl.col(c) * 100).round(1).cast(pl.String).fill_null("").alias(f"month {c}")
            for c in matrix.columns[2:8]
        ),
    )
    print("\nRetention triangle, % of each monthly cohort buying in month k", file=out)
    print(_table(shown), file=out)
    bridge = mrr_movements(data["subscriptions"], as_of=as_of).tail(4)
    money = [c for c in MRR_COLUMNS if "mrr" in c]  # the bridge's money columns, in order
    shown_bridge = bridge.select(
        pl.col("period_start").dt.strftime("%b %Y").alias("month"),
        *(pl.col(c).round(0).cast(pl.Int64) for c in money),
        (pl.col("net_revenue_retention") * 100).round(1).alias("NRR %"),
        pl.col("quick_ratio").round(2),
    )
    print(
        "\nMRR bridge (mrr_end = start + new + expansion - contraction - churned + reactivation)",
        file=out,
    )
    print(_table(shown_bridge), file=out)


def _print_value_models(data: CRMData, as_of: date, out: TextIO) -> None:
    """RFM segment sizes and the customers with the highest predicted 12-month CLV."""
    summary = rfm_summary(data["orders"], time_unit="1w", observation_end=as_of)
    segments = (
        rfm_segments(summary)
        .group_by("segment")
        .agg(pl.len().alias("customers"), pl.col("monetary_value").mean().round(2))
        .sort("segment")
    )
    print("\nRFM segments (quintile scores of recency and frequency)", file=out)
    print(_table(segments), file=out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic spend is mildly tied to frequency
        purchases = fit_beta_geo(summary)
        values = fit_gamma_gamma(summary)
    clv = predicted_lifetime_value(
        purchases, values, summary, horizon=12, horizon_unit="1mo", time_unit="1w"
    )
    top = (
        clv.sort("clv", descending=True)
        .head(5)
        .with_columns(pl.col(pl.Float64).round(2), pl.col("customer_id").cast(pl.String))
    )
    print(
        f"\nBG/NBD (r={purchases.r:.3f}, alpha={purchases.alpha:.2f}, a={purchases.a:.3f}, "
        f"b={purchases.b:.3f}) and Gamma-Gamma (p={values.p:.2f}, q={values.q:.2f}, "
        f"gamma={values.gamma:.2f}): top customers by predicted 12-month CLV",
        file=out,
    )
    print(_table(top), file=out)


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    started = time.perf_counter()
    data = datasets.synthetic(args.customers, seed=args.seed)
    data.validate()
    written = data.write(args.out)
    elapsed = time.perf_counter() - started
    print(
        f"Generated {args.customers:,} synthetic customers (seed {args.seed}), validated "
        f"every table and wrote {len(written)} Parquet files to {args.out} "
        f"in {elapsed:.1f} s.\n",
        file=out,
    )
    print("Tables", file=out)
    _print_summary(data, out)
    last_day = data["orders"].get_column("ordered_at").max()
    assert isinstance(last_day, datetime)
    table, latest = kpi_snapshot(data, as_of=last_day.date())
    print(f"\nKPIs: the latest complete month ({latest:%B %Y}) beside the month before", file=out)
    print(_table(table), file=out)
    _print_engine(data, last_day.date(), out)
    _print_value_models(data, last_day.date(), out)
    print(f"\nNext: crm-metrics validate {args.out}", file=out)
    return EXIT_OK


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            data = load(args.folder, orphans=args.orphans)
        except ValidationError as error:
            n = error.failures.height
            print(f"{args.folder}: {n} check{'s' if n != 1 else ''} failed.\n", file=out)
            print(_table(error.failures), file=out)
            hints = [line for line in str(error).splitlines() if line.startswith("Hint:")]
            print("\n" + "\n".join(hints), file=out)
            return EXIT_INVALID
    for warning in caught:
        print(f"warning: {warning.message}", file=out)
    print(f"{args.folder}: every table is valid.\n", file=out)
    _print_summary(data, out)
    return EXIT_OK


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"expected a whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"expected a number of at least 1, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm-metrics",
        description="Customer metrics from CRM tables (crm_metrics).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="generate synthetic data, validate it, write it and summarise it",
        description="Generate the synthetic demo data, validate it, write it as Parquet "
        "and print a summary of every table.",
    )
    demo.add_argument("--customers", type=_positive_int, default=10_000, metavar="N")
    demo.add_argument("--seed", type=int, default=0, metavar="S")
    demo.add_argument("--out", type=Path, default=Path("crm-demo"), metavar="DIR")
    demo.set_defaults(run=_demo)
    check = commands.add_parser(
        "validate",
        help="load a folder of tables and report every failure",
        description="Load a folder of <table>.parquet / <table>.csv files, validate every "
        "table and the references between them, and print every failure.",
    )
    check.add_argument("folder", type=Path, metavar="DIR")
    check.add_argument(
        "--orphans",
        choices=["error", "warn"],
        default="error",
        help="rows whose customer_id is not in customers: fail (default) or warn",
    )
    check.set_defaults(run=_validate)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; return the exit code.

    Exit codes: 0 success, 1 the data failed validation, 2 any other error
    (bad arguments, a missing folder, an unreadable file).
    """
    stream = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args, stream)
    except CrmMetricsError as error:
        one_line = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        print(f"crm-metrics: error: {one_line}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        print(f"crm-metrics: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
