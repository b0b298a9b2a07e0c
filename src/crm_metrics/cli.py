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
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import polars as pl

from crm_metrics import datasets
from crm_metrics.data import load
from crm_metrics.exceptions import CrmMetricsError, ValidationError

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
