"""Scale check of :func:`crm_metrics.datasets.synthetic`.

Runs ``synthetic(n)`` (default one million customers) in a fresh subprocess, so
that its peak RSS is its own, and prints the wall time, the number of orders,
the rows per table and the peak RSS. For comparison it also times a "floor" in
another subprocess: building a plain Polars frame from numpy random columns with
as many rows as the generated orders and the same column count and dtypes
(ints, floats, datetimes, short strings). The ratio is generator time / floor time.

Usage::

    uv run python benchmarks/datasets_scale.py [--customers 1000000] [--seed 0]

The target is under 60 s and under 6 GiB peak RSS for one million customers
(about ten million orders) on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

_GENERATE = textwrap.dedent(
    """
    import json, resource, sys, time
    import crm_metrics as cm

    n, seed = int(sys.argv[1]), int(sys.argv[2])
    t0 = time.perf_counter()
    data = cm.datasets.synthetic(n, seed=seed)
    wall = time.perf_counter() - t0
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "wall_s": wall,
        "peak_rss_kib": rss_kib,
        "rows": {name: frame.height for name, frame in data.items()},
        "mib": {name: frame.estimated_size("mb") for name, frame in data.items()},
    }))
    """
)

_FLOOR = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    import polars as pl

    rows = int(sys.argv[1])
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    words = pl.Series(["electronics", "apparel", "home", "web", "app", "store"])
    frame = pl.DataFrame({
        "order_id": np.arange(1, rows + 1, dtype=np.int64),
        "customer_id": rng.integers(1, rows // 10 + 2, rows),
        "ordered_at": (rng.integers(0, 10**14, rows) + 1_672_531_200_000_000).view(
            "datetime64[us]"
        ),
        "amount": np.round(rng.gamma(2.0, 40.0, rows), 2),
        "product_id": rng.integers(1000, 9000, rows),
        "category": words.gather(rng.integers(0, 3, rows).astype(np.uint32)),
        "quantity": rng.integers(1, 4, rows),
        "channel": words.gather(rng.integers(3, 6, rows).astype(np.uint32)),
    }).with_columns(currency=pl.lit("USD"))
    frame = frame.sort("ordered_at")
    wall = time.perf_counter() - t0
    print(json.dumps({
        "wall_s": wall,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rows": frame.height,
    }))
    """
)


def _run(code: str, *args: object) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    gen = _run(_GENERATE, args.customers, args.seed)
    rows = gen["rows"]
    mib = gen["mib"]
    assert isinstance(rows, dict)
    assert isinstance(mib, dict)
    n_orders = int(rows["orders"])
    floor = _run(_FLOOR, n_orders)

    wall = float(gen["wall_s"])  # type: ignore[arg-type]
    floor_wall = float(floor["wall_s"])  # type: ignore[arg-type]
    rss_gib = int(gen["peak_rss_kib"]) / 2**20  # type: ignore[call-overload]
    floor_rss_gib = int(floor["peak_rss_kib"]) / 2**20  # type: ignore[call-overload]

    print(f"synthetic({args.customers:_}, seed={args.seed})")
    print(f"  wall time      {wall:8.2f} s")
    print(f"  orders         {n_orders:>11_}  ({n_orders / args.customers:.2f} per customer)")
    print(f"  peak RSS       {rss_gib:8.2f} GiB")
    print("  rows per table:")
    for name, height in rows.items():
        print(f"    {name:<17}{height:>12_}  {mib[name]:9.1f} MiB")
    print(f"floor: numpy -> Polars frame of {n_orders:_} order-like rows, sorted by time")
    print(f"  wall time      {floor_wall:8.2f} s   (peak RSS {floor_rss_gib:.2f} GiB)")
    print(f"ratio synthetic / floor: {wall / floor_wall:.1f}x")
    ok = wall < 60 and rss_gib < 6
    print(f"target (< 60 s and < 6 GiB at 1M customers): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
