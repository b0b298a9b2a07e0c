"""Every public KPI timed against the plain Polars pass it cannot avoid (its *floor*).

For each size the tables of ``cm.datasets.synthetic`` are generated once (in a
subprocess) and cached as Parquet under ``benchmarks/_data/``; later runs reuse
them. The tables are read into memory (eager ``DataFrame``s; the read is not
part of a KPI's time) and each KPI is timed on the eager frame: one warm-up
call, then the median of ``--repeat`` calls. ``customer_movements`` and
``revenue_growth_rate`` are also timed on a lazy input (``orders.lazy()``, then
``.collect()``). Each KPI's runs alternate with runs of its floor, and its ratio
uses that adjacent floor time: on a shared, noisy machine two separately timed
medians can differ by 2x for the same query.

Floors, each one ``group_by`` over the same in-memory frame, collected lazily
(on Polars 2.x that is the streaming engine, as for the KPIs' own plans):

* ``pairs``: the unique (customer, month) pairs of ``orders``, the floor of
  ``customer_movements``, ``churn_rate``, ``retention_rate`` and
  ``customer_lifetime_value`` (whose lifespan comes from the churn rate);
* ``monthly_revenue``: ``orders`` by month, with ``sum(amount)``, ``len()`` and
  ``n_unique(customer_id)``, the floor of the revenue KPIs;
* ``monthly_leads``, ``monthly_nps``: ``leads`` by ``created_at`` month,
  ``survey_responses`` by ``responded_at`` month, with their counts;
* ``monthly_acquisitions``: ``spend`` by (month, channel) summed and
  ``customers`` by (``acquired_at`` month, ``acquisition_channel``) counted.

A "read + floor" time adds ``pl.read_parquet`` of the floor's table(s) to the
floor ("read + one group_by"), so each KPI gets two ratios.

Usage::

    uv run python benchmarks/kpis_vs_floor.py --sizes 1m,10m --repeat 5

The result table is printed and appended, under a dated heading with the
machine, the Polars version, the commit and the load average, to
``benchmarks/RESULTS.md``. The acceptance
target: ``customer_movements`` at 10M orders within 2x of the ``pairs`` floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import resource
import statistics
import subprocess
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

import crm_metrics as cm

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "_data"
RESULTS = HERE / "RESULTS.md"

SIZES: dict[str, int] = {"100k": 10_000, "1m": 100_000, "10m": 1_000_000}
"""Size label (about that many orders) → ``n_customers`` of ``synthetic``."""
SEED = 0
TABLES = ("orders", "customers", "spend", "leads", "survey_responses")
TARGET_KPI, TARGET_SIZE, TARGET_RATIO = "customer_movements", "10m", 2.0
FLAG_RATIO = 3.0

Tables = dict[str, pl.DataFrame]

# ---------------------------------------------------------------------------
# data: generated once per size, in a subprocess, then read from Parquet

_GENERATE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import crm_metrics as cm

    n, seed, folder, tables = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
    data = cm.datasets.synthetic(n, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in tables:
        data[name].write_parquet(folder / f"{name}.parquet.tmp")
    for name in tables:  # only complete sets of files appear
        (folder / f"{name}.parquet.tmp").rename(folder / f"{name}.parquet")
    """
)


def data_folder(size: str) -> Path:
    """Where the Parquet files of ``size`` live."""
    return DATA_DIR / f"synthetic_{SIZES[size]}_seed{SEED}"


def ensure_data(size: str) -> Path:
    """The folder of ``size``'s Parquet files, generating them first if missing.

    Generation runs in a subprocess so that its memory is not counted in the
    caller's peak RSS.
    """
    folder = data_folder(size)
    if not all((folder / f"{name}.parquet").exists() for name in TABLES):
        started = time.perf_counter()
        print(f"generating synthetic({SIZES[size]:_}, seed={SEED}) into {folder} ...", flush=True)
        subprocess.run(
            [sys.executable, "-c", _GENERATE, str(SIZES[size]), str(SEED), str(folder), *TABLES],
            check=True,
        )
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return folder


def load_tables(size: str) -> Tables:
    """The tables of ``size`` as eager frames (generated first if missing)."""
    folder = ensure_data(size)
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in TABLES}


# ---------------------------------------------------------------------------
# floors: one plain group_by each


def _month(column: str) -> pl.Expr:
    return pl.col(column).dt.truncate("1mo")


def floor_pairs(t: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The unique (customer, month) pairs of the orders."""
    return t["orders"].lazy().select("customer_id", _month("ordered_at")).unique().collect()


def floor_monthly_revenue(t: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Revenue, order count and distinct customers per month."""
    return (
        t["orders"]
        .lazy()
        .group_by(_month("ordered_at"))
        .agg(pl.col("amount").sum(), pl.len(), pl.col("customer_id").n_unique())
        .collect()
    )


def floor_monthly_leads(t: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Leads and converted leads per creation month."""
    return (
        t["leads"]
        .lazy()
        .group_by(_month("created_at"))
        .agg(pl.len(), pl.col("converted_at").is_not_null().sum())
        .collect()
    )


def floor_monthly_nps(t: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Responses, promoters and detractors per month."""
    return (
        t["survey_responses"]
        .lazy()
        .group_by(_month("responded_at"))
        .agg(
            pl.len(),
            (pl.col("score") >= 9).sum().alias("promoters"),
            (pl.col("score") <= 6).sum().alias("detractors"),
        )
        .collect()
    )


def floor_monthly_acquisitions(t: Mapping[str, pl.DataFrame]) -> list[pl.DataFrame]:
    """Spend per (month, channel) and acquisitions per (month, acquisition channel)."""
    return pl.collect_all(
        [
            t["spend"].lazy().group_by(_month("spent_at"), "channel").agg(pl.col("amount").sum()),
            t["customers"]
            .lazy()
            .group_by(_month("acquired_at"), pl.col("acquisition_channel").alias("channel"))
            .len(),
        ]
    )


@dataclass(frozen=True, slots=True)
class Floor:
    name: str
    tables: tuple[str, ...]  # what "read + floor" reads
    run: Callable[[Mapping[str, pl.DataFrame]], object]


FLOORS: dict[str, Floor] = {
    f.name: f
    for f in (
        Floor("pairs", ("orders",), floor_pairs),
        Floor("monthly_revenue", ("orders",), floor_monthly_revenue),
        Floor("monthly_acquisitions", ("spend", "customers"), floor_monthly_acquisitions),
        Floor("monthly_leads", ("leads",), floor_monthly_leads),
        Floor("monthly_nps", ("survey_responses",), floor_monthly_nps),
    )
}


def read_then(floor: Floor, folder: Path) -> Callable[[], object]:
    """``floor`` including ``pl.read_parquet`` of its table(s)."""

    def run() -> object:
        return floor.run(
            {name: pl.read_parquet(folder / f"{name}.parquet") for name in floor.tables}
        )

    return run


# ---------------------------------------------------------------------------
# the KPIs, as called by a user


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    floor: str
    run: Callable[[Mapping[str, pl.DataFrame]], pl.DataFrame]


def _quiet(fn: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """Run ``fn`` without its UserWarnings (small NPS samples, CLV without churn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn()


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "customer_movements",
        "pairs",
        lambda t: cm.customer_movements(t["orders"], every="1mo", inactive_after="90d"),
    ),
    Kpi(
        "customer_movements (lazy)",
        "pairs",
        lambda t: cm.customer_movements(
            t["orders"].lazy(), every="1mo", inactive_after="90d"
        ).collect(),
    ),
    Kpi("churn_rate", "pairs", lambda t: cm.churn_rate(t["orders"])),
    Kpi("retention_rate", "pairs", lambda t: cm.retention_rate(t["orders"])),
    Kpi(
        "customer_lifetime_value",
        "pairs",
        lambda t: _quiet(lambda: cm.customer_lifetime_value(t["orders"])),
    ),
    Kpi("revenue_growth_rate", "monthly_revenue", lambda t: cm.revenue_growth_rate(t["orders"])),
    Kpi(
        "revenue_growth_rate (lazy)",
        "monthly_revenue",
        lambda t: cm.revenue_growth_rate(t["orders"].lazy()).collect(),
    ),
    Kpi(
        "revenue_growth_rate (year_ago)",
        "monthly_revenue",
        lambda t: cm.revenue_growth_rate(t["orders"], compare="year_ago"),
    ),
    Kpi("average_order_value", "monthly_revenue", lambda t: cm.average_order_value(t["orders"])),
    Kpi(
        "average_revenue_per_customer",
        "monthly_revenue",
        lambda t: cm.average_revenue_per_customer(t["orders"]),
    ),
    Kpi("purchase_frequency", "monthly_revenue", lambda t: cm.purchase_frequency(t["orders"])),
    Kpi(
        "customer_acquisition_cost",
        "monthly_acquisitions",
        lambda t: cm.customer_acquisition_cost(t["spend"], t["customers"], group_by="channel"),
    ),
    Kpi("lead_conversion_rate", "monthly_leads", lambda t: cm.lead_conversion_rate(t["leads"])),
    Kpi(
        "net_promoter_score",
        "monthly_nps",
        lambda t: _quiet(lambda: cm.net_promoter_score(t["survey_responses"], every="1mo")),
    ),
)


# ---------------------------------------------------------------------------
# timing and reporting


def median_seconds(fns: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    """Median wall time of each of ``fns``, run in turn ``repeat`` times after a warm-up.

    Interleaving (A B A B ...) lets a KPI and its floor see the same machine
    state, so their ratio survives the noise of a shared machine better than
    two separate runs would.
    """
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times, strict=True):
            gc.collect()
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


@dataclass(frozen=True, slots=True)
class FloorTimes:
    alone: float  # timed interleaved with read + floor
    read: float  # read + floor
    adjacent: list[float]  # timed interleaved with each of its KPIs


@dataclass(frozen=True, slots=True)
class Row:
    kpi: str
    size: str
    seconds: float
    floor: str
    floor_seconds: float
    read_floor_seconds: float

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_seconds

    @property
    def read_ratio(self) -> float:
        return self.seconds / self.read_floor_seconds


def run_size(size: str, repeat: int) -> tuple[list[Row], dict[str, FloorTimes], int, float]:
    """Time every floor and KPI at ``size``.

    Returns the KPI rows, the floors' own times, the order count and the peak
    RSS so far. Each floor is first timed interleaved with its read + floor
    variant; then each KPI interleaved with its floor, and that adjacent floor
    time is the one the KPI's ratio uses.
    """
    folder = ensure_data(size)
    tables = load_tables(size)
    n_orders = tables["orders"].height
    print(f"\n{size}: {n_orders:_} orders, {tables['customers'].height:_} customers", flush=True)
    floors: dict[str, FloorTimes] = {}
    for floor in FLOORS.values():
        alone, read = median_seconds(
            [lambda f=floor: f.run(tables), read_then(floor, folder)], repeat
        )
        floors[floor.name] = FloorTimes(alone, read, [])
        print(f"  floor {floor.name:<26}{alone:8.3f} s   read + floor {read:8.3f} s", flush=True)
    rows = []
    for kpi in KPIS:
        floor = FLOORS[kpi.floor]
        seconds, adjacent = median_seconds(
            [lambda k=kpi: k.run(tables), lambda f=floor: f.run(tables)], repeat
        )
        floors[floor.name].adjacent.append(adjacent)
        row = Row(kpi.name, size, seconds, floor.name, adjacent, floors[floor.name].read)
        rows.append(row)
        print(
            f"  {kpi.name:<32}{seconds:8.3f} s   floor {adjacent:8.3f} s"
            f"   {row.ratio:5.2f}x {floor.name}",
            flush=True,
        )
    return rows, floors, n_orders, peak_rss_gib()


def machine() -> str:
    """``nproc``, RAM and CPU model, from the OS."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{len(os.sched_getaffinity(0))} cores (nproc), {ram:.1f} GiB RAM, {cpu}"


def git_commit() -> str:
    """The commit measured, with ``+ changes`` when ``src/`` differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, check=False
        ).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", str(HERE.parent / "src"))
    return f"{sha} + uncommitted changes in src/" if dirty else sha


@dataclass(slots=True)
class Report:
    repeat: int
    commit: str
    load_before: str
    rows: list[Row] = field(default_factory=list)
    floors: dict[str, dict[str, FloorTimes]] = field(default_factory=dict)  # size → name →
    orders: dict[str, int] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)
    load_after: str = ""
    minutes: float = 0.0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (other processes make timings noisy)."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def markdown(report: Report) -> list[str]:
    """The dated results section, as Markdown lines."""
    today = dt.date.today().isoformat()
    rows = report.rows
    lines = [
        f"## {today} — KPIs vs floor (`benchmarks/kpis_vs_floor.py`)",
        "",
        f"Machine: {machine()}. Python {platform.python_version()}, polars {pl.__version__}, "
        f"crm_metrics {cm.__version__} at commit {report.commit}. Load average "
        f"{report.load_before} before, {report.load_after} after; {report.minutes:.1f} min.",
        "Sizes: "
        + ", ".join(
            f"{s} = synthetic({SIZES[s]:_}, seed={SEED}), {n:_} orders"
            for s, n in report.orders.items()
        )
        + ".",
        f"Median of {report.repeat} runs after one warm-up, eager input unless marked lazy; "
        "each KPI is timed interleaved with its floor (floor s is that adjacent floor).",
        "",
        "| KPI | size | median s | floor s | ratio to floor | ratio to read + floor | floor |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [
        f"| {r.kpi} | {r.size} | {r.seconds:.3f} | {r.floor_seconds:.3f} | {r.ratio:.2f}× "
        f"| {r.read_ratio:.2f}× | {r.floor} |"
        for r in rows
    ]
    lines += [
        "",
        "Floors: one `group_by` over the in-memory frame (`.lazy()...collect()`); "
        "read + floor adds `pl.read_parquet` of the floor's table(s). Timed interleaved "
        "with each other; the last column is the range of the floor's medians when timed "
        "next to each of its KPIs (a measure of the noise).",
        "",
        "| floor | size | floor s | read + floor s | floor s next to its KPIs |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for size, floors in report.floors.items():
        for name, f in floors.items():
            spread = f"{min(f.adjacent):.3f}–{max(f.adjacent):.3f}" if f.adjacent else ""
            lines.append(f"| {name} | {size} | {f.alone:.3f} | {f.read:.3f} | {spread} |")
    lines += ["", verdict(rows)]
    slow = [r for r in rows if r.ratio > FLAG_RATIO]
    if slow:
        lines.append(
            f"More than {FLAG_RATIO:g}× their floor: "
            + ", ".join(f"{r.kpi} at {r.size} ({r.ratio:.1f}×)" for r in slow)
            + "."
        )
    lines.append(
        "Peak RSS of the timing process (cumulative, data generation excluded): "
        + ", ".join(f"{gib:.2f} GiB after {size}" for size, gib in report.rss.items())
        + "."
    )
    return [*lines, ""]


def verdict(rows: list[Row]) -> str:
    """Whether the acceptance target is met (or not measured)."""
    target = [r for r in rows if r.kpi == TARGET_KPI and r.size == TARGET_SIZE]
    if not target:
        return f"Target ({TARGET_KPI} at {TARGET_SIZE} orders): not measured."
    r = target[0]
    met = "**MET**" if r.ratio <= TARGET_RATIO else "**NOT MET**"
    return (
        f"Target: {TARGET_KPI} at {TARGET_SIZE} orders within {TARGET_RATIO:g}× of the unique "
        f"(customer, month) floor: {met} ({r.seconds:.3f} s vs {r.floor_seconds:.3f} s, "
        f"{r.ratio:.2f}×)."
    )


def append_results(lines: list[str], path: Path) -> None:
    """Append a section to ``path``, creating it with a title when absent."""
    head = "" if path.exists() else "# Benchmark results\n\nNewest sections at the bottom.\n\n"
    with path.open("a", encoding="utf-8") as out:
        out.write(head + "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1m,10m", help=f"comma-separated, of {', '.join(SIZES)} (orders)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown file to append to")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or args.repeat < 1:
        parser.error(f"unknown sizes {unknown} (known: {', '.join(SIZES)}) or --repeat < 1")

    for size in sizes:  # generate everything first, outside the timed process's peak
        ensure_data(size)
    started = time.perf_counter()
    report = Report(args.repeat, git_commit(), load_average())
    for size in sizes:
        rows, report.floors[size], report.orders[size], report.rss[size] = run_size(
            size, args.repeat
        )
        report.rows += rows
    report.load_after = load_average()
    report.minutes = (time.perf_counter() - started) / 60

    lines = markdown(report)
    print("\n" + "\n".join(lines))
    if not args.no_write:
        append_results(lines, args.results)
        print(f"appended to {args.results}")


if __name__ == "__main__":
    main()
