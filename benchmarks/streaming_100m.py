"""Cohort retention of about 100M orders, lazily from Parquet, on the streaming engine.

Data: ten ``cm.datasets.synthetic(1_000_000, seed=k)`` orders tables (k = 0..9),
customer ids offset by ``k * 1_000_000`` and order ids by ``k * 10**9`` so that
the seeds are distinct customers, each written by its own subprocess to a
piece, then streamed (``sink_parquet``) into one file,
``benchmarks/_data/orders_100m/orders.parquet`` (about 100M orders, 10M
customers, 2023-2025). Generated once; delete the folder to regenerate.

Measured, each in a fresh subprocess (``os.wait4`` gives its wall time, CPU
time and peak RSS; the parent polls the child's RSS and stops it above
``--kill-above`` GiB, so that a run that does not fit cannot take the shared
machine down):

* **single pass**: ``cm.cohort_retention(pl.scan_parquet(path)).collect(engine="streaming")``;
* **hash buckets**: the customers split by ``pl.col("customer_id").hash() % k``,
  one ``cohort_retention`` per bucket (every bucket with the same ``as_of``, the
  latest order of the whole file), and the additive counts merged:
  ``cohort_size``, ``active_customers`` and ``revenue`` summed per (cohort,
  period_index), the rates recomputed. Run when the single pass does not fit
  in ``--target`` GiB, or always with ``--buckets K``.

Before the 100M runs the bucket merge is checked against the single pass on
the 10M-order file of ``kpis_vs_floor.py``: equal up to float summation order.

Usage::

    df -h /work                                        # needs about 2 GB free for the data
    uv run python benchmarks/streaming_100m.py         # generate once (~5 min), then the runs
    uv run python benchmarks/streaming_100m.py --buckets 4   # also the bucketed run

Target: peak RSS of the 100M single pass at most 8 GiB (24 GiB machine). A
dated section is appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
from engine_vs_peers import header, measured_code
from kpis_vs_floor import DATA_DIR, RESULTS, append_results, ensure_data, load_average
from polars.testing import assert_frame_equal

import crm_metrics as cm

FOLDER = DATA_DIR / "orders_100m"
PIECE_CUSTOMERS = 1_000_000
ORDER_ID_OFFSET = 10**9
MIN_FREE_GB = 5.0
RATE_COLUMNS = ("retention_rate", "revenue_retention", "cumulative_revenue_per_customer")

# ---------------------------------------------------------------------------
# data: pieces in subprocesses, then one file

_PIECE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import polars as pl
    import crm_metrics as cm

    n, seed, offset, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    orders = cm.datasets.synthetic(n, seed=seed)["orders"]
    orders = orders.with_columns(
        pl.col("order_id") + seed * offset, pl.col("customer_id") + seed * n
    )
    orders.write_parquet(path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    """
)


def data_path(pieces: int) -> Path:
    return FOLDER / f"orders_{pieces}x{PIECE_CUSTOMERS // 1000}k.parquet"


def ensure_100m(pieces: int) -> tuple[Path, list[str]]:
    """The big orders file, generated first if missing; returns notes on generation."""
    path = data_path(pieces)
    notes: list[str] = []
    if path.exists():
        return path, notes
    FOLDER.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(FOLDER).free / 1e9
    if free < MIN_FREE_GB:
        msg = f"only {free:.1f} GB free under {FOLDER}; the data needs about 2 GB"
        raise SystemExit(msg)
    started = time.perf_counter()
    parts = []
    for seed in range(pieces):
        part = FOLDER / f"piece_{seed}.parquet"
        parts.append(part)
        if part.exists():
            continue
        args = [str(PIECE_CUSTOMERS), str(seed), str(ORDER_ID_OFFSET), str(part)]
        run = child([sys.executable, "-c", _PIECE, *args], kill_above=None)
        print(f"  piece {seed}: {run.wall:.1f} s, peak RSS {run.peak_gib:.2f} GiB", flush=True)
        notes.append(f"piece {seed}: {run.wall:.0f} s, peak RSS {run.peak_gib:.2f} GiB")
    sink = textwrap.dedent(
        f"""
        import polars as pl
        pl.scan_parquet({[str(p) for p in parts]!r}).sink_parquet({str(path) + ".tmp"!r})
        """
    )
    run = child([sys.executable, "-c", sink], kill_above=None)
    Path(str(path) + ".tmp").rename(path)
    for part in parts:
        part.unlink()
    notes.append(
        f"one file by sink_parquet: {run.wall:.0f} s, peak RSS {run.peak_gib:.2f} GiB; "
        f"generation total {(time.perf_counter() - started) / 60:.1f} min"
    )
    print(f"  {notes[-1]}", flush=True)
    return path, notes


# ---------------------------------------------------------------------------
# subprocess runs: wall, CPU, peak RSS, with a memory guard


@dataclass(frozen=True, slots=True)
class Run:
    wall: float
    cpu: float
    peak_gib: float
    killed_at: float | None  # GiB, when stopped by the guard
    exit_code: int


def rss_gib(pid: int) -> float:
    """Current RSS of a process, from /proc (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def child(argv: list[str], *, kill_above: float | None) -> Run:
    """Run ``argv``; stop it (SIGKILL, by its pid) when its RSS exceeds ``kill_above`` GiB."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv)
    killed_at = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if kill_above is not None and killed_at is None:
            now = rss_gib(proc.pid)
            if now > kill_above:
                killed_at = now
                os.kill(proc.pid, signal.SIGKILL)
        time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and killed_at is None:
        msg = f"{argv[:3]} exited with {proc.returncode}"
        raise RuntimeError(msg)
    return Run(
        time.perf_counter() - started,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 2**20,
        killed_at,
        proc.returncode,
    )


# ---------------------------------------------------------------------------
# the two ways


def latest(path: Path) -> datetime:
    """The newest ``ordered_at`` of the file (a metadata-cheap streaming max)."""
    value = pl.scan_parquet(path).select(pl.col("ordered_at").max()).collect().item()
    assert isinstance(value, datetime)
    return value


def single_pass(path: Path) -> pl.DataFrame:
    """``cohort_retention`` of the whole file, lazy in, streaming engine."""
    return cm.cohort_retention(pl.scan_parquet(path)).collect(engine="streaming")


def bucket_filter(k: int, i: int) -> pl.Expr:
    return pl.col("customer_id").hash() % k == i


def merge(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Add up per-bucket cohort tables and recompute the rates (the cohort_retention columns)."""
    cell = ["cohort", "period_index"]
    summed = (
        pl.concat(parts)
        .group_by(cell)
        .agg(
            pl.col("cohort_size").sum(),
            pl.col("active_customers").sum(),
            pl.col("revenue").sum(),
            pl.col("is_complete").all(),
        )
        .sort(cell)
    )
    revenue_0 = pl.col("revenue").sort_by("period_index").first().over("cohort")
    return summed.select(
        *cell,
        "cohort_size",
        "active_customers",
        (pl.col("active_customers") / pl.col("cohort_size")).alias("retention_rate"),
        "revenue",
        pl.when(revenue_0 > 0).then(pl.col("revenue") / revenue_0).alias("revenue_retention"),
        (
            pl.col("revenue").cum_sum().over("cohort", order_by="period_index")
            / pl.col("cohort_size")
        ).alias("cumulative_revenue_per_customer"),
        "is_complete",
    )


def bucketed(path: Path, k: int) -> pl.DataFrame:
    """``cohort_retention`` bucket by bucket (customers by hash), then merged."""
    as_of = latest(path)  # every bucket must end where the whole file ends
    parts = [
        cm.cohort_retention(pl.scan_parquet(path).filter(bucket_filter(k, i)), as_of=as_of).collect(
            engine="streaming"
        )
        for i in range(k)
    ]
    return merge(parts)


def run_one(mode: str, path: Path, k: int, out: Path | None) -> None:
    """Subprocess body: one way on one file; the result written to ``out``."""
    result = single_pass(path) if mode == "single" else bucketed(path, k)
    if out is not None:
        result.write_parquet(out)


def check_merge(path: Path, k: int) -> str:
    """The merged buckets equal the single pass on ``path`` (float sums up to 1e-9 relative)."""
    one = single_pass(path)
    merged = bucketed(path, k)
    assert_frame_equal(one, merged, check_exact=False, rel_tol=1e-9, abs_tol=1e-6)
    exact = ["cohort", "period_index", "cohort_size", "active_customers", "is_complete"]
    assert one.select(exact).equals(merged.select(exact))
    worst = max((one[c] - merged[c]).abs().max() or 0.0 for c in ["revenue", *RATE_COLUMNS])
    return (
        f"bucket merge (k = {k}) vs single pass on {path.parent.name}/{path.name}: "
        f"{one.height} rows; counts identical, floats within {worst:.1e} "
        "(summation order)"
    )


# ---------------------------------------------------------------------------
# main


def describe(path: Path) -> tuple[int, int, float]:
    """Orders, customers and size on disk (GB) of the file."""
    scan = pl.scan_parquet(path)
    n = scan.select(pl.len()).collect().item()
    customers = scan.select(pl.col("customer_id").n_unique()).collect().item()
    return n, customers, path.stat().st_size / 1e9


def measured(mode: str, path: Path, k: int, kill_above: float, out: Path) -> Run:
    argv = [sys.executable, __file__, "--one", mode, "--path", str(path), "--k", str(k)]
    run = child([*argv, "--out", str(out)], kill_above=kill_above)
    state = f"killed at {run.killed_at:.1f} GiB" if run.killed_at else f"exit {run.exit_code}"
    print(
        f"  {mode:<8} k={k}: {run.wall:7.1f} s wall, {run.cpu:7.1f} s CPU, "
        f"peak RSS {run.peak_gib:5.2f} GiB ({state})",
        flush=True,
    )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", type=int, default=10, help="synthetic(1M) tables to join")
    parser.add_argument("--target", type=float, default=8.0, help="GiB the single pass may use")
    parser.add_argument("--kill-above", type=float, default=16.0, help="GiB: stop a child above")
    parser.add_argument("--buckets", type=int, default=0, help="also run with k hash buckets")
    parser.add_argument("--check-k", type=int, default=4, help="buckets of the 10M merge check")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--one", choices=["single", "buckets"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.path, args.k, args.out)
        return

    load_before, commit, started = load_average(), measured_code(), time.perf_counter()
    disk = shutil.disk_usage(DATA_DIR)
    print(f"disk under {DATA_DIR}: {disk.free / 1e9:.0f} GB free of {disk.total / 1e9:.0f} GB")
    path, notes = ensure_100m(args.pieces)
    n, customers, gb = describe(path)
    print(f"{path}: {n:_} orders, {customers:_} customers, {gb:.2f} GB", flush=True)

    check = check_merge(ensure_data("10m") / "orders.parquet", args.check_k)
    print(f"  {check}", flush=True)

    runs: list[tuple[str, int, Run]] = []
    single = measured("single", path, 1, args.kill_above, FOLDER / "cohorts_single.parquet")
    runs.append(("single pass", 1, single))
    fits = single.killed_at is None and single.peak_gib <= args.target
    k = args.buckets or (0 if fits else 4)
    while k:
        run = measured("buckets", path, k, args.kill_above, FOLDER / f"cohorts_k{k}.parquet")
        runs.append((f"{k} hash buckets, merged", k, run))
        if args.buckets or (run.killed_at is None and run.peak_gib <= args.target):
            break
        k *= 2
    same = ""
    bucket_out = FOLDER / f"cohorts_k{k}.parquet"
    if k and single.killed_at is None and bucket_out.exists():
        a = pl.read_parquet(FOLDER / "cohorts_single.parquet")
        b = pl.read_parquet(bucket_out)
        assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9, abs_tol=1e-6)
        same = f"At 100M too, the {k}-bucket merge equals the single pass ({a.height} rows)."
    cohorts = pl.read_parquet(
        FOLDER / ("cohorts_single.parquet" if single.killed_at is None else f"cohorts_k{k}.parquet")
    )
    minutes = (time.perf_counter() - started) / 60

    met = fits
    lines = header(
        "cohort_retention on 100M orders, streaming",
        "streaming_100m.py",
        started_load=load_before,
        ended_load=load_average(),
        minutes=minutes,
        commit=commit,
    )
    lines += [
        f"Data: {path.relative_to(DATA_DIR.parent)}, {n:_} orders, {customers:_} customers, "
        f"{gb:.2f} GB Parquet ({args.pieces} × synthetic(1_000_000, seed=k), ids offset). "
        f"Output: {cohorts.height} (cohort, period) rows. Each run is one fresh subprocess "
        "(`os.wait4`: wall, user + system CPU, peak RSS).",
        "",
        "| run | wall s | CPU s | peak RSS GiB | outcome |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, _, run in runs:
        outcome = f"stopped at {run.killed_at:.1f} GiB" if run.killed_at else "completed"
        lines.append(
            f"| {name} | {run.wall:.1f} | {run.cpu:.1f} | {run.peak_gib:.2f} | {outcome} |"
        )
    lines += [
        "",
        f"Target: the single pass in at most {args.target:g} GiB: "
        + ("**met**" if met else "**not met**")
        + f" (peak {single.peak_gib:.2f} GiB).",
        "",
        f"- {check}.",
        *([f"- {same}"] if same else []),
        *[f"- generation: {note}" for note in notes],
        "",
    ]
    print("\n" + "\n".join(lines))
    if not args.no_write:
        append_results(lines, args.results)
        print(f"appended to {args.results}")


if __name__ == "__main__":
    main()
