"""What validation costs: cm.validate against a hand-written Polars pass and pandera's unique=True.

Run: ``uv run python benchmarks/validation_cost.py [--rows 10000000] [--repeat 5]``

Builds a 10M-row orders frame (5 columns, ids shuffled so no sortedness flag
helps), then times, median of ``--repeat`` runs:

* ``cm.validate(orders, "orders")``: every check, uniqueness by ``n_unique``;
* the same checks without the uniqueness check (the rest of validation);
* a hand-written single Polars pass over the same conditions (the floor);
* pandera with ``Field(unique=True)`` on ``order_id`` (what we avoid).

The issue's bar: uniqueness must not make validation cost 3× the rest.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandera.polars as pa
import polars as pl

import crm_metrics as cm


def _orders(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    start = datetime(2023, 1, 1)
    return pl.DataFrame(
        {
            "order_id": rng.permutation(rows).astype(np.int64),
            "customer_id": rng.integers(0, rows // 5, rows),
            "ordered_at": pl.datetime_range(
                start, start + timedelta(seconds=rows - 1), "1s", eager=True
            ),
            "amount": rng.gamma(2.0, 40.0, rows).round(2),
            "currency": np.full(rows, "USD"),
        }
    )


def _median(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class _PanderaUnique(pa.DataFrameModel):
    order_id: pl.Int64 = pa.Field(unique=True, nullable=False)
    customer_id: pl.Int64 = pa.Field(nullable=False)
    ordered_at: pl.Datetime = pa.Field(nullable=False)
    amount: pl.Float64 = pa.Field(nullable=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    orders = _orders(args.rows)
    # a copy: pandera caches to_schema(), and cm.validate must keep its frame checks
    bare = copy.deepcopy(cm.schemas.Orders.to_schema())
    bare.checks = []  # every column check; no uniqueness, no single-currency check

    def floor() -> object:
        return (
            orders.lazy()
            .select(
                pl.col("order_id").is_null().any().alias("a"),
                pl.col("customer_id").is_null().any().alias("b"),
                pl.col("ordered_at").is_null().any().alias("c"),
                (~pl.col("amount").is_finite()).any().alias("d"),
                (pl.col("order_id").n_unique() == pl.len()).alias("e"),
                (pl.col("currency").n_unique() <= 1).alias("f"),
            )
            .collect()
        )

    def fresh(fn: Callable[[pl.DataFrame], object]) -> Callable[[], object]:
        return lambda: fn(orders.clone())  # a new object each run: nothing cached on it

    timings = {
        "cm.validate (all checks, n_unique uniqueness)": _median(
            fresh(lambda f: cm.validate(f, "orders")), args.repeat
        ),
        "the same without the frame checks": _median(
            fresh(lambda f: bare.validate(f, lazy=True)), args.repeat
        ),
        "hand-written single Polars pass (floor)": _median(floor, args.repeat),
        "pandera Field(unique=True)": _median(
            fresh(lambda f: _PanderaUnique.validate(f, lazy=True)), args.repeat
        ),
    }
    base = timings["the same without the frame checks"]
    print(f"orders: {args.rows:,} rows, median of {args.repeat}, polars {pl.__version__}")
    print("| variant | median s | × without uniqueness |")
    print("| --- | ---: | ---: |")
    for label, seconds in timings.items():
        print(f"| {label} | {seconds:.3f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
