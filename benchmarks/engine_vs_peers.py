"""The cohort, movement and survival engines against what users write without the library.

At about 10M orders (``synthetic(1_000_000, seed=0)``, the Parquet cache of
``kpis_vs_floor.py``) three public functions are timed against their peers
and floors:

* ``cm.cohort_retention(orders)`` (monthly, classic) against the common pandas
  tutorial (``to_period("M")``, ``transform("min")`` for the cohort,
  ``.apply(attrgetter("n"))`` for the period number, ``nunique`` per cell,
  pivot, divide by the cohort size), against the ``pairs`` floor (one Polars
  pass that only finds the unique (customer, month) pairs) and against the
  same tutorial written by hand in Polars;
* ``cm.customer_movements(orders, every="1mo", inactive_after="90d")`` against
  the ``pairs`` floor;
* ``cm.survival_curve(orders)`` against durations built in pandas (first and
  last purchase per customer, churned when the last purchase + 90 days is
  before ``as_of``) and lifelines' ``KaplanMeierFitter``.

Each comparison interleaves its two functions (A B A B ...), after one
warm-up of the Polars side, and takes the median of the wall times and the
median of the process CPU times (``getrusage``: user + system, all threads).
The machine is shared, so both are reported; CPU time is the steadier one.
pandas gets its input as a pandas ``DataFrame`` converted beforehand
(``customer_id``, ``ordered_at``, ``amount``); the conversion is not timed.

Peak memory: each function also runs once in a fresh subprocess that reads
its input (Polars: ``pl.read_parquet``, pandas: ``pd.read_parquet``) and runs
it once; ``os.wait4`` gives the child's peak RSS. A subprocess that only reads
is the baseline.

Usage::

    uv run python benchmarks/engine_vs_peers.py                    # 10m, about 10-20 min
    uv run python benchmarks/engine_vs_peers.py --size 100k --repeat 2 --peer-repeat 1 --no-write

Targets (the issue's): ``cohort_retention`` at least 8x faster than the
pandas tutorial and within 1.2x of the ``pairs`` floor; ``customer_movements``
within 2x of the ``pairs`` floor; ``survival_curve`` faster than pandas +
lifelines. A dated section is appended to ``benchmarks/RESULTS.md``.
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
import time
import warnings
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
from kpis_vs_floor import (
    RESULTS,
    SEED,
    SIZES,
    append_results,
    ensure_data,
    floor_pairs,
    git_commit,
    load_average,
    machine,
)

import crm_metrics as cm

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pandas as pd

HERE = Path(__file__).resolve().parent
ORDER_COLUMNS = ["customer_id", "ordered_at", "amount"]
INACTIVE_DAYS = 90


def quiet_imports() -> None:
    """lifetimes and lifelines warn on import (pkg_resources, autograd): not our concern."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=SyntaxWarning)


# ---------------------------------------------------------------------------
# timing: wall and process CPU, interleaved


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall and CPU seconds of each timed run of one function."""

    walls: tuple[float, ...]
    cpus: tuple[float, ...]

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    @property
    def runs(self) -> int:
        return len(self.walls)


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall seconds, CPU seconds and result of one call."""
    gc.collect()
    cpu, wall = cpu_seconds(), time.perf_counter()
    out = fn()
    return time.perf_counter() - wall, cpu_seconds() - cpu, out


def measure(
    fns: Sequence[Callable[[], object]],
    repeats: Sequence[int],
    *,
    warmup: Sequence[bool],
    once_after: float | None = None,
) -> list[Timing]:
    """Time ``fns`` interleaved: round ``i`` runs each function whose ``repeats`` exceeds ``i``.

    A function with ``warmup`` runs once untimed first (Polars plans, caches).
    A slow peer can take fewer runs than the function it is compared with; its
    runs then sit among the first rounds of the other's. A function whose
    first timed run takes longer than ``once_after`` seconds is not run again.
    """
    for fn, warm in zip(fns, warmup, strict=True):
        if warm:
            fn()
    repeats = list(repeats)
    walls: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    for i in range(max(repeats)):
        for j, (fn, w, c) in enumerate(zip(fns, walls, cpus, strict=True)):
            if i < repeats[j]:
                wall, cpu, _ = timed(fn)
                w.append(wall)
                c.append(cpu)
                if i == 0 and once_after is not None and wall > once_after:
                    repeats[j] = 1
    return [Timing(tuple(w), tuple(c)) for w, c in zip(walls, cpus, strict=True)]


def peak_rss_of(argv: Sequence[str]) -> tuple[float, float]:
    """Peak RSS (GiB) and wall seconds of a subprocess, from ``os.wait4``."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv))
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        msg = f"{' '.join(argv)} exited with {proc.returncode}"
        raise RuntimeError(msg)
    return usage.ru_maxrss / 2**20, time.perf_counter() - started


# ---------------------------------------------------------------------------
# comparisons and their report

Kind = Literal["peer", "floor", "reference"]


@dataclass(frozen=True, slots=True)
class Compared:
    """One interleaved comparison of a crm_metrics function with another function.

    For a ``peer`` the ratio is the speed-up (peer time / crm_metrics time) and
    the target a minimum; for a ``floor`` or ``reference`` it is the overhead
    (crm_metrics time / other time) and the target a maximum.
    """

    subject: str
    other: str
    kind: Kind
    size: str
    mine: Timing
    theirs: Timing
    target: float | None = None
    target_text: str = ""

    def ratio(self, attr: str) -> float:
        mine, theirs = getattr(self.mine, attr), getattr(self.theirs, attr)
        return theirs / mine if self.kind == "peer" else mine / theirs

    def met(self, attr: str) -> bool | None:
        if self.target is None:
            return None
        r = self.ratio(attr)
        return r >= self.target if self.kind == "peer" else r <= self.target

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "—"
        wall, cpu = self.met("wall"), self.met("cpu")
        if wall and cpu:
            return "**met**"
        if not wall and not cpu:
            return "**not met**"
        return f"wall {'met' if wall else 'not met'}, CPU {'met' if cpu else 'not met'}"


def ratio_text(kind: Kind) -> str:
    return "× faster" if kind == "peer" else "× of it"


def comparison_table(rows: Sequence[Compared]) -> list[str]:
    """Markdown: one row per comparison, wall and CPU medians and ratios."""
    lines = [
        "| crm_metrics | compared with | size | cm wall s | other wall s | cm CPU s "
        "| other CPU s | wall ratio | CPU ratio | runs | target | verdict |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in rows:
        unit = ratio_text(r.kind)
        lines.append(
            f"| {r.subject} | {r.other} | {r.size} | {r.mine.wall:.3f} | {r.theirs.wall:.3f} "
            f"| {r.mine.cpu:.3f} | {r.theirs.cpu:.3f} | {r.ratio('wall'):.2f}{unit} "
            f"| {r.ratio('cpu'):.2f}{unit} | {r.mine.runs}/{r.theirs.runs} "
            f"| {r.target_text or '—'} | {r.verdict} |"
        )
    return lines


def header(
    title: str,
    script: str,
    *,
    started_load: str,
    ended_load: str,
    minutes: float,
    commit: str,
) -> list[str]:
    """The dated heading and the machine line of a results section.

    ``commit`` is :func:`measured_code` at the start of the run; when it
    differs at the end (others commit to the branch meanwhile), both are given.
    """
    now = measured_code()
    at = commit if now == commit else f"{commit} at the start, {now} at the end"
    return [
        f"## {dt.date.today().isoformat()} — {title} (`benchmarks/{script}`)",
        "",
        f"Machine: {machine()}. Python {platform.python_version()}, polars {pl.__version__}, "
        f"{peer_versions()}, crm_metrics {cm.__version__} {at}. "
        f"Load average {started_load} before, {ended_load} after; {minutes:.1f} min.",
    ]


def measured_code() -> str:
    """Which crm_metrics is measured: the repository's ``src/`` at a commit, or a snapshot.

    Others may edit ``src/`` while a long run goes on; to measure a fixed
    commit, put a ``git archive`` of it first on ``PYTHONPATH`` and name it in
    ``CRM_METRICS_SNAPSHOT`` (see the README).
    """
    src = Path(cm.__file__).resolve().parent.parent
    if src == HERE.parent / "src":
        return f"at commit {git_commit()}"
    label = os.environ.get("CRM_METRICS_SNAPSHOT", "an unnamed commit")
    where = src.relative_to(HERE.parent) if src.is_relative_to(HERE.parent) else src
    return f"as of commit {label} (a `git archive` snapshot in `{where}`)"


def peer_versions() -> str:
    """Versions of the peers (imported quietly)."""
    quiet_imports()
    import lifelines  # noqa: PLC0415
    import lifetimes  # noqa: PLC0415
    import numpy  # noqa: PLC0415
    import pandas  # noqa: PLC0415
    import scipy  # noqa: PLC0415

    return (
        f"pandas {pandas.__version__}, numpy {numpy.__version__}, scipy {scipy.__version__}, "
        f"lifelines {lifelines.__version__}, lifetimes {lifetimes.__version__}"
    )


# ---------------------------------------------------------------------------
# the peers: what users write without the library


def pandas_tutorial_cohorts(df: pd.DataFrame) -> pd.DataFrame:
    """The common pandas tutorial's cohort retention matrix, as it is usually written."""
    df = df.copy()  # the tutorial adds columns to the user's frame
    df["order_month"] = df.ordered_at.dt.to_period("M")
    df["cohort"] = df.groupby("customer_id").order_month.transform("min")
    df["period_number"] = (df.order_month - df.cohort).apply(attrgetter("n"))
    counts = df.groupby(["cohort", "period_number"]).customer_id.nunique().reset_index()
    matrix = counts.pivot_table(index="cohort", columns="period_number", values="customer_id")
    size = matrix.iloc[:, 0]
    return matrix.divide(size, axis=0)


def pandas_vectorised_cohorts(df: pd.DataFrame) -> pd.DataFrame:
    """The tutorial with its slow step vectorised: integer month numbers, no ``apply``.

    A reference for what careful pandas code gets (the tutorial's per-row
    ``.apply(attrgetter("n"))`` over Period offsets is most of its time).
    """
    import pandas as pd  # noqa: PLC0415

    month = df.ordered_at.dt.year * 12 + df.ordered_at.dt.month
    cohort = month.groupby(df.customer_id).transform("min")
    cells = pd.DataFrame({"customer_id": df.customer_id, "cohort": cohort, "k": month - cohort})
    counts = cells.groupby(["cohort", "k"]).customer_id.nunique().reset_index()
    matrix = counts.pivot_table(index="cohort", columns="k", values="customer_id")
    return matrix.divide(matrix.iloc[:, 0], axis=0)


def polars_tutorial_cohorts(orders: pl.DataFrame) -> pl.DataFrame:
    """The same tutorial written by hand in Polars (window min, n_unique per cell, pivot)."""
    month = pl.col("ordered_at").dt.truncate("1mo")
    cohort, order_month = pl.col("cohort"), pl.col("order_month")
    counts = (
        orders.lazy()
        .select("customer_id", month.alias("order_month"))
        .with_columns(order_month.min().over("customer_id").alias("cohort"))
        .with_columns(
            (
                (order_month.dt.year() - cohort.dt.year()) * 12
                + order_month.dt.month().cast(pl.Int32)
                - cohort.dt.month().cast(pl.Int32)
            ).alias("period_number")
        )
        .group_by("cohort", "period_number")
        .agg(pl.col("customer_id").n_unique().alias("customers"))
        .sort("period_number", "cohort")
        .collect()
    )
    matrix = counts.pivot(on="period_number", index="cohort", values="customers").sort("cohort")
    return matrix.with_columns(pl.exclude("cohort") / pl.col("0"))


def pandas_durations(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Days from first purchase to churn (or to ``as_of``) and whether churned, in pandas.

    As ``cm.survival_curve``: ``as_of`` is the latest order; refunds (negative
    amounts) are not purchases; a customer is active while their last purchase
    + 90 days is on or after ``as_of``, churned (at last purchase + 90 days)
    otherwise.
    """
    import pandas as pd  # noqa: PLC0415

    as_of = df["ordered_at"].max()
    bought = df[df["amount"] >= 0]
    span = bought.groupby("customer_id")["ordered_at"].agg(["min", "max"])
    churned_at = span["max"] + pd.Timedelta(days=INACTIVE_DAYS)
    churned = churned_at < as_of
    until = churned_at.where(churned, as_of)
    return (until - span["min"]) / pd.Timedelta(days=1), churned


def pandas_lifelines_survival(df: pd.DataFrame) -> object:
    """Durations in pandas, then lifelines' Kaplan–Meier fit."""
    quiet_imports()
    from lifelines import KaplanMeierFitter  # noqa: PLC0415

    durations, churned = pandas_durations(df)
    return KaplanMeierFitter().fit(durations, event_observed=churned)


# ---------------------------------------------------------------------------
# the cases: each reads either the Polars frame or the pandas one


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    reads: Literal["polars", "pandas"]
    run: Callable[[Any], object]
    peer: bool = False  # slow: fewer runs, no warm-up


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case("cohort_retention", "polars", cm.cohort_retention),
        Case("pairs floor", "polars", lambda o: floor_pairs({"orders": o})),
        Case("Polars tutorial cohorts", "polars", polars_tutorial_cohorts),
        Case("pandas tutorial cohorts", "pandas", pandas_tutorial_cohorts, peer=True),
        Case("pandas cohorts, vectorised", "pandas", pandas_vectorised_cohorts, peer=True),
        Case(
            "customer_movements",
            "polars",
            lambda o: cm.customer_movements(o, every="1mo", inactive_after="90d"),
        ),
        Case("survival_curve", "polars", cm.survival_curve),
        Case("pandas + lifelines KM", "pandas", pandas_lifelines_survival, peer=True),
    )
}


@dataclass(frozen=True, slots=True)
class Plan:
    subject: str
    other: str
    kind: Kind
    target: float | None
    target_text: str


PLANS = (
    Plan("cohort_retention", "pandas tutorial cohorts", "peer", 8.0, "≥ 8× faster"),
    Plan("cohort_retention", "pairs floor", "floor", 1.2, "≤ 1.2× floor"),
    Plan("cohort_retention", "Polars tutorial cohorts", "reference", None, ""),
    Plan("cohort_retention", "pandas cohorts, vectorised", "peer", None, ""),
    Plan("customer_movements", "pairs floor", "floor", 2.0, "≤ 2× floor"),
    Plan("survival_curve", "pandas + lifelines KM", "peer", 1.0, "faster (> 1×)"),
)


def orders_path(size: str) -> Path:
    return ensure_data(size) / "orders.parquet"


def read_input(size: str, reads: str) -> Any:
    """The orders as the case reads them: Polars (every column) or pandas (three columns)."""
    path = orders_path(size)
    if reads == "polars":
        return pl.read_parquet(path)
    import pandas as pd  # noqa: PLC0415

    return pd.read_parquet(path, columns=ORDER_COLUMNS)


def run_one(name: str, size: str) -> None:
    """Subprocess body: read the input of case ``name`` and run it once (or only read)."""
    quiet_imports()
    if name.startswith("read "):
        read_input(size, name.removeprefix("read "))
        return
    case = CASES[name]
    case.run(read_input(size, case.reads))


# ---------------------------------------------------------------------------
# checks: the peers compute the same thing (on a small size, untimed)


def check_agreement(size: str) -> list[str]:
    """Compare outputs with the peers' on ``size``; returns one line per check."""
    quiet_imports()
    orders = pl.read_parquet(orders_path(size))
    purchases = orders.filter(pl.col("amount") >= 0)  # the tutorial has no notion of refunds
    pdf = purchases.select(ORDER_COLUMNS).to_pandas()
    mine = cm.cohort_retention(purchases).select(
        "cohort", "period_index", "active_customers", "retention_rate"
    )
    tutorial = pandas_tutorial_cohorts(pdf)
    theirs = pl.DataFrame(
        {
            "cohort": [p.start_time.date() for p in tutorial.index for _ in tutorial.columns],
            "period_index": [int(k) for _ in tutorial.index for k in tutorial.columns],
            "tutorial": tutorial.to_numpy().ravel(),
        }
    ).drop_nans()
    joined = mine.join(theirs, on=["cohort", "period_index"], how="inner")
    cohort_diff = (joined["retention_rate"] - joined["tutorial"]).abs().max()
    hand = polars_tutorial_cohorts(purchases).unpivot(index="cohort", variable_name="k")
    hand = hand.select(
        pl.col("cohort").dt.date(), pl.col("k").cast(pl.Int64).alias("period_index"), "value"
    ).drop_nulls()
    hand_diff = (
        mine.join(hand, on=["cohort", "period_index"])
        .select((pl.col("retention_rate") - pl.col("value")).abs().max())
        .item()
    )
    lines = [
        f"cohort_retention vs pandas tutorial on {size} purchases: {joined.height} cells "
        f"(of {mine.height} and {theirs.height}), max |Δ retention| = {cohort_diff:.2e}; "
        f"vs the Polars tutorial: {hand_diff:.2e}"
    ]
    kmf = pandas_lifelines_survival(orders.select(ORDER_COLUMNS).to_pandas())
    curve = cm.survival_curve(orders)
    km = kmf.survival_function_  # type: ignore[attr-defined]
    same_rows = curve.height == len(km)
    time_diff = surv_diff = float("nan")
    if same_rows:  # both have a row at 0 and one per distinct duration
        time_diff = float(abs(curve["timeline"].to_numpy() - km.index.to_numpy()).max())
        surv_diff = float(abs(curve["survival"].to_numpy() - km.iloc[:, 0].to_numpy()).max())
    lines.append(
        f"survival_curve vs lifelines on {size}: {curve.height} and {len(km)} timeline rows, "
        f"max |Δ timeline| = {time_diff:.2e} days, max |Δ survival| = {surv_diff:.2e}; median "
        f"{cm.median_lifetime(orders).item()} vs {kmf.median_survival_time_}"  # type: ignore[attr-defined]
    )
    return lines


# ---------------------------------------------------------------------------
# sub-steps: where the time goes when a target is missed


def breakdown(orders: pl.DataFrame, repeat: int) -> tuple[list[tuple[str, Timing]], list[str]]:
    """Targeted timings of the pieces of the three functions, and facts about their plans.

    Uses the library's internal stage functions (read-only) to time stage 1
    and stage 2 of ``cohort_retention`` on their own; all steps interleaved.
    """
    quiet_imports()
    from lifelines import KaplanMeierFitter  # noqa: PLC0415

    from crm_metrics import _api  # noqa: PLC0415
    from crm_metrics._engine.cohorts import cohort_counts, customer_periods  # noqa: PLC0415
    from crm_metrics._engine.order import entity_order, id_range  # noqa: PLC0415
    from crm_metrics._engine.periods import parse_every  # noqa: PLC0415

    month = parse_every("1mo")
    observed = orders.lazy().select(ORDER_COLUMNS)
    number = month.number(pl.col("ordered_at"))
    ids = id_range(observed, "customer_id")
    order = entity_order(observed.collect_schema(), ["customer_id"], id_range=ids)
    rows = customer_periods(observed, order=order, ts="ordered_at", every=month)
    rows_df = rows.collect()
    stage2 = cohort_counts(
        rows_df.lazy(),
        keys=[],
        last_period=observed.select(number.max().alias("_last")),
        unbounded=False,
    )
    key = order.group_keys(number, "p")
    pdf = orders.select(ORDER_COLUMNS).to_pandas()
    durations, churned = pandas_durations(pdf)

    steps: list[tuple[str, Callable[[], object]]] = [
        ("pairs floor (unique customer, truncated month)", lambda: floor_pairs({"orders": orders})),
        (
            f"stage-1 group_by one packed {order.packed} key (customer, month): sum, any",
            lambda: (
                observed.group_by(key)
                .agg(pl.col("amount").sum(), (pl.col("amount") >= 0).any().alias("bought"))
                .collect()
            ),
        ),
        (
            "  the same, then sorted by the key",
            lambda: (
                observed.group_by(key)
                .agg(pl.col("amount").sum(), (pl.col("amount") >= 0).any().alias("bought"))
                .sort(order.sort_keys("p"))
                .collect()
            ),
        ),
        ("stage 1 (per (customer, month): cohort and flags)", rows.collect),
        ("stage 2 alone, from stage 1 materialised", stage2.collect),
        ("cohort_retention, eager", lambda: cm.cohort_retention(orders)),
        ("cohort_retention, lazy in", lambda: cm.cohort_retention(orders.lazy()).collect()),
        (
            "data validation of the eager orders (_api.prepare)",
            lambda: _api.prepare(orders, "orders", needs=tuple(ORDER_COLUMNS)),
        ),
        (
            "customer_movements, lazy in",
            lambda: cm.customer_movements(orders.lazy(), inactive_after="90d").collect(),
        ),
        ("customer_summary (survival_curve's durations)", lambda: cm.customer_summary(orders)),
        ("survival_curve", lambda: cm.survival_curve(orders)),
        ("pandas durations alone", lambda: pandas_durations(pdf)),
        (
            "lifelines KaplanMeierFitter().fit alone",
            lambda: KaplanMeierFitter().fit(durations, event_observed=churned),
        ),
    ]
    timings = measure([fn for _, fn in steps], [repeat] * len(steps), warmup=[True] * len(steps))
    plan = cm.cohort_retention(orders.lazy()).explain()
    lines = plan.splitlines()
    of_orders = sum(
        1
        for i, line in enumerate(lines)
        if "AGGREGATE" in line and i + 1 < len(lines) and 'BY [((col("customer_id")' in lines[i + 1]
    )
    facts = [
        f"stage 1: {orders.height:_} orders → {rows_df.height:_} (customer, month) rows, "
        f"{int(rows_df['first'].sum()):_} customers; {durations.nunique():_} distinct "
        "durations for Kaplan–Meier",
        f"cohort_retention's optimised plan aggregates the orders {of_orders} time(s) by "
        f"customer (the packed key), has {plan.count('AGGREGATE')} aggregations in all "
        "(the others over stage 1's cells), and reads the orders "
        f"{plan.count('DF [')} times (the second only its ordered_at column, for the "
        "last period) (`LazyFrame.explain()`)",
    ]
    return [(name, t) for (name, _), t in zip(steps, timings, strict=True)], facts


# ---------------------------------------------------------------------------
# main


@dataclass(slots=True)
class Report:
    size: str
    n_orders: int
    repeat: int
    peer_repeat: int
    load_before: str
    commit: str
    rows: list[Compared] = field(default_factory=list)
    memory: list[tuple[str, float, float]] = field(default_factory=list)  # name, GiB, s
    checks: list[str] = field(default_factory=list)
    steps: list[tuple[str, Timing]] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    load_after: str = ""
    minutes: float = 0.0


def markdown(report: Report) -> list[str]:
    lines = header(
        "engines vs peers",
        "engine_vs_peers.py",
        started_load=report.load_before,
        ended_load=report.load_after,
        minutes=report.minutes,
        commit=report.commit,
    )
    lines += [
        f"Size: {report.size} = synthetic({SIZES[report.size]:_}, seed={SEED}), "
        f"{report.n_orders:_} orders, eager input. Each comparison interleaves its two "
        f"functions; medians of {report.repeat} runs for Polars (after one warm-up) and "
        f"{report.peer_repeat} for pandas / lifelines (no warm-up). CPU = process user + "
        "system time (all threads). Ratio: speed-up (other ÷ cm) against a peer, overhead "
        "(cm ÷ other) against a floor or a reference.",
        "",
        *comparison_table(report.rows),
        "",
    ]
    if report.memory:
        base = dict((n, g) for n, g, _ in report.memory)
        lines += [
            "Peak RSS, each function run once in a fresh process that first reads its input "
            "(Polars: `pl.read_parquet`, every column; pandas: `pd.read_parquet`, three "
            "columns):",
            "",
            "| process | peak RSS GiB | above its read GiB | wall s |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, gib, secs in report.memory:
            reads = "read " + CASES[name].reads if name in CASES else name
            extra = f"{gib - base[reads]:.2f}" if name in CASES else "—"
            lines.append(f"| {name} | {gib:.2f} | {extra} | {secs:.1f} |")
        lines.append("")
    if report.steps:
        lines += [
            f"Sub-steps (interleaved, median of {report.repeat}):",
            "",
            "| step | wall s | CPU s |",
            "| --- | ---: | ---: |",
            *(f"| {name} | {t.wall:.3f} | {t.cpu:.3f} |" for name, t in report.steps),
            "",
            *(f"- {fact}" for fact in report.facts),
            "",
        ]
    if report.checks:
        lines += ["Agreement (untimed):", "", *(f"- {c}" for c in report.checks), ""]
    return lines


def run_plans(report: Report, orders: pl.DataFrame, repeat: int, peer_repeat: int) -> None:
    """Time every comparison of ``PLANS`` (pandas gets a converted copy of the orders)."""
    inputs = {"polars": orders, "pandas": orders.select(ORDER_COLUMNS).to_pandas()}
    for plan in PLANS:
        a, b = CASES[plan.subject], CASES[plan.other]
        mine, theirs = measure(
            [lambda c=a: c.run(inputs[c.reads]), lambda c=b: c.run(inputs[c.reads])],
            [repeat, peer_repeat if b.peer else repeat],
            warmup=[True, not b.peer],
        )
        row = Compared(
            plan.subject, plan.other, plan.kind, report.size, mine, theirs, plan.target,
            plan.target_text,
        )  # fmt: skip
        report.rows.append(row)
        print(
            f"  {plan.subject:<20} {mine.wall:8.3f} s ({mine.cpu:7.3f} CPU)   "
            f"{plan.other:<26}{theirs.wall:8.3f} s ({theirs.cpu:7.3f} CPU)   "
            f"{row.ratio('wall'):6.2f}{ratio_text(plan.kind)} wall, "
            f"{row.ratio('cpu'):6.2f}{ratio_text(plan.kind)} CPU   {row.verdict}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10m", choices=list(SIZES), help="about that many orders")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of Polars functions")
    parser.add_argument("--peer-repeat", type=int, default=3, help="timed runs of pandas peers")
    parser.add_argument("--check-size", default="100k", choices=list(SIZES))
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the sub-step timings")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # subprocess mode: run one case
    args = parser.parse_args()
    quiet_imports()
    if args.one:
        run_one(args.one, args.size)
        return
    if args.repeat < 1 or args.peer_repeat < 1:
        parser.error("--repeat and --peer-repeat must be >= 1")

    ensure_data(args.check_size)
    path = orders_path(args.size)
    report = Report(args.size, 0, args.repeat, args.peer_repeat, load_average(), measured_code())
    started = time.perf_counter()
    report.checks = check_agreement(args.check_size)
    print("\n".join(report.checks), flush=True)

    if not args.no_memory:
        names = ["read polars", "read pandas", *CASES]
        for name in names:
            gib, secs = peak_rss_of([sys.executable, __file__, "--one", name, "--size", args.size])
            report.memory.append((name, gib, secs))
            print(f"  peak RSS {name:<32}{gib:6.2f} GiB  ({secs:.1f} s)", flush=True)

    orders = pl.read_parquet(path)
    report.n_orders = orders.height
    print(f"\n{args.size}: {orders.height:_} orders", flush=True)
    run_plans(report, orders, args.repeat, args.peer_repeat)
    if not args.no_breakdown:
        report.steps, report.facts = breakdown(orders, args.repeat)
        for name, t in report.steps:
            print(f"  {name:<55}{t.wall:8.3f} s  {t.cpu:8.3f} CPU s", flush=True)
    report.load_after = load_average()
    report.minutes = (time.perf_counter() - started) / 60

    lines = markdown(report)
    print("\n" + "\n".join(lines))
    if not args.no_write:
        append_results(lines, args.results)
        print(f"appended to {args.results}")


if __name__ == "__main__":
    main()
