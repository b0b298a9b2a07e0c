"""Predictive CLV against lifetimes: RFM summary, BG/NBD and Gamma-Gamma fits, the whole chain.

Data: the orders of ``synthetic(1_000_000, seed=0)`` (about 10M orders, the
Parquet cache of ``kpis_vs_floor.py``) and, for the model fits, the orders of
``synthetic(200_000, seed=0)`` (about 2M orders, 200k customers, generated once
into ``benchmarks/_data/synthetic_200000_seed0/orders.parquet``).

Timed, each against lifetimes 0.11.3 (interleaved runs; wall and process CPU
medians, as in ``engine_vs_peers.py``):

* ``cm.rfm_summary(orders)`` (daily) against lifetimes'
  ``summary_data_from_transaction_data(..., monetary_value_col="amount")``, and
  against the one-pass floor ``group_by(customer_id).agg(min, max,
  n_unique(date), mean(amount))``;
* ``cm.clv.fit_beta_geo`` against ``BetaGeoFitter().fit`` and
  ``cm.clv.fit_gamma_gamma`` against ``GammaGammaFitter().fit`` on the same
  summary (200k customers), then ``cm.clv.customer_lifetime_value`` against
  ``GammaGammaFitter.customer_lifetime_value`` (12 months, 1 % a month);
* the whole chain, orders → summary → BG/NBD + Gamma-Gamma → CLV of every
  customer, at 2M and at 10M orders, each step timed.

lifetimes gets its transactions as a pandas ``DataFrame`` of the purchases
(``amount >= 0``, which is what ``rfm_summary`` keeps; converted beforehand,
not timed); crm_metrics gets the whole Polars orders frame. lifetimes' fitters
are tried with their default ``penalizer_coef=0.0`` first and with 0.001 when
that does not converge; which one was used is reported. A lifetimes call that
takes longer than ``--once-after`` seconds on its first run is not repeated.

Usage::

    uv run python benchmarks/clv_vs_peers.py                  # about 10-20 min
    uv run python benchmarks/clv_vs_peers.py --size 100k --fit-customers 10000 --no-write

Targets: ``rfm_summary`` at least 10x faster than lifetimes and within 1.0x
of the floor; ``fit_beta_geo`` at least 5x faster than ``BetaGeoFitter``. A
dated section is appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from engine_vs_peers import (
    ORDER_COLUMNS,
    Compared,
    Timing,
    comparison_table,
    cpu_seconds,
    header,
    measure,
    measured_code,
    peak_rss_of,
    quiet_imports,
    ratio_text,
)
from kpis_vs_floor import (
    DATA_DIR,
    RESULTS,
    SEED,
    SIZES,
    append_results,
    ensure_data,
    load_average,
)

import crm_metrics as cm

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

PENALIZERS = (0.0, 0.001)
HORIZON_MONTHS, DISCOUNT = 12, 0.01

# ---------------------------------------------------------------------------
# data


_GENERATE_ORDERS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import crm_metrics as cm

    n, seed, path = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    path.parent.mkdir(parents=True, exist_ok=True)
    cm.datasets.synthetic(n, seed=seed)["orders"].write_parquet(path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    """
)


def orders_path(size: str | None = None, customers: int | None = None) -> Path:
    """The orders Parquet of a ``kpis_vs_floor`` size, or of ``synthetic(customers)``."""
    if size is not None:
        return ensure_data(size) / "orders.parquet"
    assert customers is not None
    known = {n: s for s, n in SIZES.items()}
    if customers in known:
        return ensure_data(known[customers]) / "orders.parquet"
    path = DATA_DIR / f"synthetic_{customers}_seed{SEED}" / "orders.parquet"
    if not path.exists():
        print(f"generating synthetic({customers:_}, seed={SEED}) orders into {path} ...")
        subprocess.run(
            [sys.executable, "-c", _GENERATE_ORDERS, str(customers), str(SEED), str(path)],
            check=True,
        )
    return path


def purchases_pandas(orders: pl.DataFrame) -> pd.DataFrame:
    """lifetimes' input: the purchases (no refunds), three columns, as pandas."""
    return orders.filter(pl.col("amount") >= 0).select(ORDER_COLUMNS).to_pandas()


# ---------------------------------------------------------------------------
# the two sides


def lifetimes_summary(transactions: pd.DataFrame) -> pd.DataFrame:
    from lifetimes.utils import summary_data_from_transaction_data  # noqa: PLC0415

    return summary_data_from_transaction_data(
        transactions, "customer_id", "ordered_at", monetary_value_col="amount"
    )


def floor_summary(orders: pl.DataFrame) -> pl.DataFrame:
    """One pass per customer: first, last, distinct days, mean amount."""
    ts = pl.col("ordered_at")
    return (
        orders.lazy()
        .group_by("customer_id")
        .agg(
            ts.min().alias("first"),
            ts.max().alias("last"),
            ts.dt.date().n_unique().alias("days"),
            pl.col("amount").mean(),
        )
        .collect()
    )


@dataclass(slots=True)
class Fallbacks:
    """The penalizer each lifetimes fit ended with, and the failures before it."""

    used: dict[str, set[float | None]] = field(default_factory=dict)  # None: no convergence
    failures: dict[str, int] = field(default_factory=dict)

    def fit(self, name: str, make: Callable[[float], Any], *args: Any) -> Any:
        from lifetimes.utils import ConvergenceError  # noqa: PLC0415

        for penalizer in PENALIZERS:
            model = make(penalizer)
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # it prints scipy's output
                    model.fit(*args)
            except ConvergenceError:
                self.failures[name] = self.failures.get(name, 0) + 1
                continue
            self.used.setdefault(name, set()).add(penalizer)
            return model
        self.used.setdefault(name, set()).add(None)
        return None

    def text(self) -> str:
        parts = []
        for name, used in self.used.items():
            pens = ", ".join(
                "did not converge" if p is None else f"penalizer_coef={p:g}"
                for p in sorted(used, key=lambda p: -1.0 if p is None else p)
            )
            fails = self.failures.get(name, 0)
            parts.append(f"{name}: {pens}" + (f" ({fails} failed fits before)" if fails else ""))
        return "; ".join(parts) or "no lifetimes fit ran"


FALLBACKS = Fallbacks()


def lifetimes_beta_geo(summary: pd.DataFrame) -> Any:
    from lifetimes import BetaGeoFitter  # noqa: PLC0415

    return FALLBACKS.fit(
        "BetaGeoFitter",
        lambda p: BetaGeoFitter(penalizer_coef=p),
        summary["frequency"],
        summary["recency"],
        summary["T"],
    )


def lifetimes_gamma_gamma(summary: pd.DataFrame) -> Any:
    from lifetimes import GammaGammaFitter  # noqa: PLC0415

    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    return FALLBACKS.fit(
        "GammaGammaFitter",
        lambda p: GammaGammaFitter(penalizer_coef=p),
        repeat["frequency"],
        repeat["monetary_value"],
    )


def lifetimes_clv(bgf: Any, ggf: Any, summary: pd.DataFrame) -> pd.Series:
    return ggf.customer_lifetime_value(
        bgf,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        time=HORIZON_MONTHS,
        freq="D",
        discount_rate=DISCOUNT,
    )


def cm_clv(bg: Any, gg: Any, summary: pl.DataFrame) -> pl.DataFrame:
    return cm.clv.customer_lifetime_value(
        bg,
        gg,
        summary,
        horizon=HORIZON_MONTHS,
        horizon_unit="1mo",
        time_unit="1d",
        discount_rate=DISCOUNT,
    )


class Laps:
    """Wall and CPU seconds of each step of a chain, run after run."""

    def __init__(self) -> None:
        self.runs: list[dict[str, tuple[float, float]]] = []

    def start(self) -> None:
        self.runs.append({})
        self._wall, self._cpu = time.perf_counter(), cpu_seconds()

    def lap(self, step: str) -> None:
        wall, cpu = time.perf_counter(), cpu_seconds()
        self.runs[-1][step] = (wall - self._wall, cpu - self._cpu)
        self._wall, self._cpu = wall, cpu

    def medians(self, last: int) -> dict[str, Timing]:
        runs = self.runs[-last:]
        return {
            step: Timing(tuple(r[step][0] for r in runs), tuple(r[step][1] for r in runs))
            for step in runs[0]
        }


def cm_chain(orders: pl.DataFrame, laps: Laps) -> pl.DataFrame:
    laps.start()
    summary = cm.rfm_summary(orders)
    laps.lap("summary")
    bg = cm.clv.fit_beta_geo(summary)
    laps.lap("BG/NBD fit")
    gg = cm.clv.fit_gamma_gamma(summary)
    laps.lap("Gamma-Gamma fit")
    out = cm_clv(bg, gg, summary)
    laps.lap("CLV")
    return out


def lifetimes_chain(transactions: pd.DataFrame, laps: Laps) -> Any:
    laps.start()
    summary = lifetimes_summary(transactions)
    laps.lap("summary")
    bgf = lifetimes_beta_geo(summary)
    laps.lap("BG/NBD fit")
    ggf = lifetimes_gamma_gamma(summary)
    laps.lap("Gamma-Gamma fit")
    out = lifetimes_clv(bgf, ggf, summary) if bgf is not None and ggf is not None else None
    laps.lap("CLV")
    return out


# ---------------------------------------------------------------------------
# agreement (untimed)


def agreement(orders: pl.DataFrame, transactions: pd.DataFrame, label: str) -> list[str]:
    """Compare summaries, fitted parameters and CLVs of the two libraries."""
    mine = cm.rfm_summary(orders)
    theirs = lifetimes_summary(transactions)
    ours = mine.to_pandas().set_index("customer_id")
    cols = ["frequency", "recency", "T", "monetary_value"]
    diff = (ours[cols] - theirs.loc[ours.index, cols]).abs().max()
    lines = [
        f"{label}: rfm_summary vs lifetimes summary: {len(ours)} and {len(theirs)} customers, "
        "max |Δ| " + ", ".join(f"{c} {diff[c]:.1e}" for c in cols)
    ]
    bg, gg = cm.clv.fit_beta_geo(mine), cm.clv.fit_gamma_gamma(mine)
    bgf, ggf = lifetimes_beta_geo(theirs), lifetimes_gamma_gamma(theirs)
    if bgf is not None:
        rel = {k: abs(getattr(bg, k) / bgf.params_[k] - 1) for k in ("r", "alpha", "a", "b")}
        lines.append(
            f"{label}: BG/NBD r, α, a, b = {bg.r:.4g}, {bg.alpha:.4g}, {bg.a:.4g}, {bg.b:.4g} "
            f"(converged {bg.converged}); lifetimes {bgf.params_['r']:.4g}, "
            f"{bgf.params_['alpha']:.4g}, {bgf.params_['a']:.4g}, {bgf.params_['b']:.4g}; "
            f"max relative Δ {max(rel.values()):.1e}"
        )
    if ggf is not None:
        lines.append(
            f"{label}: Gamma-Gamma p, q, γ = {gg.p:.4g}, {gg.q:.4g}, {gg.gamma:.4g}; lifetimes "
            f"{ggf.params_['p']:.4g}, {ggf.params_['q']:.4g}, {ggf.params_['v']:.4g}"
        )
    if bgf is not None and ggf is not None:
        a = cm_clv(bg, gg, mine)["clv"].to_numpy()
        b = lifetimes_clv(bgf, ggf, theirs).loc[ours.index].to_numpy()
        rel = np.abs(a / np.where(b == 0, np.nan, b) - 1)
        lines.append(
            f"{label}: CLV totals {a.sum():,.0f} vs lifetimes {b.sum():,.0f}; median relative Δ "
            f"per customer {np.nanmedian(rel):.1e} (lifetimes' month is 30 days, cm's "
            "365.2425 / 12)"
        )
    lines.append(f"lifetimes fits: {FALLBACKS.text()}")
    return lines


# ---------------------------------------------------------------------------
# fit sub-steps


def fit_breakdown(summary: pl.DataFrame, repeat: int) -> list[tuple[str, Timing]]:
    """Where ``fit_beta_geo``'s and ``customer_lifetime_value``'s time goes (internal pieces)."""
    from crm_metrics.clv import _models  # noqa: PLC0415
    from crm_metrics.clv._fit import weighted_rows  # noqa: PLC0415

    calls = [0]
    original = _models.BetaGeoObjective.__call__

    def counting(self: Any, params: Any) -> Any:
        calls[0] += 1
        return original(self, params)

    data = weighted_rows(summary)
    bg = cm.clv.fit_beta_geo(summary)
    gg = cm.clv.fit_gamma_gamma(summary)
    _models.BetaGeoObjective.__call__ = counting  # type: ignore[method-assign]
    try:
        _models._fit_beta_geo(data)
        evaluations = calls[0]
    finally:
        _models.BetaGeoObjective.__call__ = original  # type: ignore[method-assign]
    x, t_x, big_t = data.x, data.t_x, data.T
    params = bg.params
    objective = _models.BetaGeoObjective(x, t_x, big_t, data.weight)

    steps: list[tuple[str, Callable[[], object]]] = [
        ("fit_beta_geo, whole", lambda: cm.clv.fit_beta_geo(summary)),
        (
            "  weighted_rows (dedupe + checks; also run by every expected_purchases)",
            lambda: weighted_rows(summary),
        ),
        ("  optimise + standard errors (_fit_beta_geo)", lambda: _models._fit_beta_geo(data)),
        (
            f"  one weighted log-likelihood + gradient ({len(x):_} distinct rows)",
            lambda: objective(params),
        ),
        (
            "  the same from the per-row likelihood and a matrix product (before)",
            lambda: _models.beta_geo_log_likelihood(params, x, t_x, big_t)[1] @ data.weight,
        ),
        ("fit_gamma_gamma, whole", lambda: cm.clv.fit_gamma_gamma(summary)),
        ("customer_lifetime_value, whole", lambda: cm_clv(bg, gg, summary)),
        ("  one expected_purchases(summary, t)", lambda: bg.expected_purchases(summary, 30.0)),
    ]
    timings = measure([fn for _, fn in steps], [repeat] * len(steps), warmup=[True] * len(steps))
    out = [(name, t) for (name, _), t in zip(steps, timings, strict=True)]
    out.append(
        (f"(BG/NBD log-likelihood evaluations per fit, with the Hessian's: {evaluations})",
         Timing((0,), (0,)))
    )  # fmt: skip
    return out


def summary_breakdown(orders: pl.DataFrame, repeat: int) -> list[tuple[str, Timing]]:
    """Where ``rfm_summary``'s time goes: its group_by piece by piece, and its cached input."""
    ts, amount = pl.col("ordered_at"), pl.col("amount")
    purchases = orders.lazy().select("customer_id", "ordered_at", "amount").filter(amount >= 0)
    by_day = purchases.with_columns(ts.dt.date().alias("_p")).group_by("customer_id")
    day_number = ts.dt.date().cast(pl.Int32).cast(pl.Int64)
    packed = pl.col("customer_id") * 2**32 + (day_number + 2**31)
    day = pl.col("_p")
    basic = [day.min(), day.max().alias("_last"), day.n_unique().alias("_n"), amount.sum()]
    steps: list[tuple[str, Callable[[], object]]] = [
        ("one-pass floor", lambda: floor_summary(orders)),
        ("rfm_summary, eager", lambda: cm.rfm_summary(orders)),
        (
            "purchases sorted by one packed Int64 key (customer, day)",
            lambda: purchases.select(packed.alias("_key"), "amount").sort("_key").collect(),
        ),
        (
            "  + aggregated per customer (rfm_summary's plan, without checks)",
            lambda: (
                purchases.select(packed.alias("_key"), "amount")
                .sort("_key")
                .group_by((pl.col("_key") // 2**32).alias("_customer"))
                .agg(
                    pl.col("_key").min().alias("_first"),
                    pl.col("_key").max().alias("_last"),
                    pl.len(),
                    amount.sum(),
                )
                .collect()
            ),
        ),
        (
            "rfm_summary, lazy in (schema check only)",
            lambda: cm.rfm_summary(orders.lazy()).collect(),
        ),
        (
            "purchases by customer: min, max, n_unique(day), sum",
            lambda: by_day.agg(basic).collect(),
        ),
        (
            "  + first-day value as amount.filter(day == day.min()).sum()",
            lambda: by_day.agg(
                *basic, amount.filter(day == day.min()).sum().alias("_first_value")
            ).collect(),
        ),
        (
            "  + first-day value as when(day == day.min()).then(amount).sum()",
            lambda: by_day.agg(
                *basic, pl.when(day == day.min()).then(amount).sum().alias("_first_value")
            ).collect(),
        ),
        (
            "the orders with observation end broadcast, materialised (the plan's CACHE)",
            lambda: (
                orders.lazy()
                .select("customer_id", "ordered_at", "amount")
                .with_columns(ts.max().dt.date().alias("_end"))
                .collect()
            ),
        ),
    ]
    timings = measure([fn for _, fn in steps], [repeat] * len(steps), warmup=[True] * len(steps))
    return [(name, t) for (name, _), t in zip(steps, timings, strict=True)]


# ---------------------------------------------------------------------------
# main


@dataclass(slots=True)
class Report:
    size: str
    fit_customers: int
    repeat: int
    peer_repeat: int
    load_before: str
    commit: str
    n_orders: dict[str, int] = field(default_factory=dict)
    rows: list[Compared] = field(default_factory=list)
    chains: list[tuple[str, dict[str, Timing], dict[str, Timing]]] = field(default_factory=list)
    memory: list[tuple[str, float, float]] = field(default_factory=list)
    steps: list[tuple[str, Timing]] = field(default_factory=list)
    summary_steps: list[tuple[str, Timing]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    load_after: str = ""
    minutes: float = 0.0


def total(steps: dict[str, Timing]) -> Timing:
    """The chain's time: step times added run by run."""
    runs = len(next(iter(steps.values())).walls)
    return Timing(
        tuple(sum(t.walls[i] for t in steps.values()) for i in range(runs)),
        tuple(sum(t.cpus[i] for t in steps.values()) for i in range(runs)),
    )


def markdown(report: Report) -> list[str]:
    lines = header(
        "CLV vs lifetimes",
        "clv_vs_peers.py",
        started_load=report.load_before,
        ended_load=report.load_after,
        minutes=report.minutes,
        commit=report.commit,
    )
    sizes = ", ".join(f"{label} = {n:_} orders" for label, n in report.n_orders.items())
    lines += [
        f"Data: {sizes} (synthetic(…, seed={SEED})). Medians of {report.repeat} runs for "
        f"crm_metrics (after one warm-up) and up to {report.peer_repeat} for lifetimes (no "
        "warm-up; one when its first run is long), interleaved. lifetimes reads the purchases "
        "(amount ≥ 0) as pandas, converted beforehand. Ratio: speed-up (lifetimes ÷ cm) or "
        "overhead (cm ÷ floor).",
        "",
        *comparison_table(report.rows),
        "",
    ]
    for label, mine, theirs in report.chains:
        a, b = total(mine), total(theirs)
        lines += [
            f"Whole chain at {label} (summary → BG/NBD + Gamma-Gamma → 12-month CLV of every "
            f"customer), medians of {a.runs} (cm) and {b.runs} (lifetimes) runs:",
            "",
            "| step | cm wall s | lifetimes wall s | cm CPU s | lifetimes CPU s | wall speed-up "
            "| CPU speed-up |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for step in [*mine, "whole chain"]:
            x = mine[step] if step in mine else a
            y = theirs[step] if step in theirs else b
            lines.append(
                f"| {step} | {x.wall:.3f} | {y.wall:.3f} | {x.cpu:.3f} | {y.cpu:.3f} "
                f"| {y.wall / x.wall:.2f}× | {y.cpu / x.cpu:.2f}× |"
            )
        lines.append("")
    if report.memory:
        base = {n: g for n, g, _ in report.memory}
        lines += [
            f"Peak RSS at {report.size}, one run in a fresh process after reading its input "
            "(Polars: every column; pandas: the purchases' three columns):",
            "",
            "| process | peak RSS GiB | above its read GiB | wall s |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, gib, secs in report.memory:
            reads = {"rfm_summary": "read polars", "lifetimes summary": "read pandas"}.get(name)
            extra = f"{gib - base[reads]:.2f}" if reads else "—"
            lines.append(f"| {name} | {gib:.2f} | {extra} | {secs:.1f} |")
        lines.append("")
    if report.steps:
        lines += [
            f"Sub-steps at {report.fit_customers:_} customers (median of {report.repeat}):",
            "",
            "| step | wall s | CPU s |",
            "| --- | ---: | ---: |",
        ]
        for name, t in report.steps:
            lines.append(
                f"| {name} | — | — |"
                if name.startswith("(")
                else f"| {name} | {t.wall:.3f} | {t.cpu:.3f} |"
            )
        lines.append("")
    if report.summary_steps:
        lines += [
            f"rfm_summary sub-steps at {report.size} (median of {report.repeat}):",
            "",
            "| step | wall s | CPU s |",
            "| --- | ---: | ---: |",
            *(f"| {name} | {t.wall:.3f} | {t.cpu:.3f} |" for name, t in report.summary_steps),
            "",
        ]
    lines += ["Agreement and convergence (untimed unless said):", ""]
    lines += [f"- {c}" for c in report.checks]
    lines += [f"- lifetimes fits over the whole run: {FALLBACKS.text()}", ""]
    return lines


def run_one(name: str, size: str) -> None:
    """Subprocess body: read the input and run one summary (or only read)."""
    quiet_imports()
    path = orders_path(size)
    if name in ("read polars", "rfm_summary"):
        orders = pl.read_parquet(path)
        if name == "rfm_summary":
            cm.rfm_summary(orders)
        return
    import pandas as pd  # noqa: PLC0415

    transactions = pd.read_parquet(path, columns=ORDER_COLUMNS)
    transactions = transactions[transactions["amount"] >= 0]
    if name == "lifetimes summary":
        lifetimes_summary(transactions)


def compare(
    report: Report,
    *,
    subject: str,
    other: str,
    kind: str,
    label: str,
    fns: tuple[Callable[[], object], Callable[[], object]],
    peer: bool,
    target: float | None = None,
    target_text: str = "",
    once_after: float | None = None,
) -> None:
    mine, theirs = measure(
        list(fns),
        [report.repeat, report.peer_repeat if peer else report.repeat],
        warmup=[True, not peer],
        once_after=once_after,
    )
    row = Compared(subject, other, kind, label, mine, theirs, target, target_text)  # type: ignore[arg-type]
    report.rows.append(row)
    unit = ratio_text(row.kind)
    print(
        f"  {subject:<24}{mine.wall:8.3f} s ({mine.cpu:7.3f} CPU)  {other:<30}"
        f"{theirs.wall:8.3f} s ({theirs.cpu:7.3f} CPU) x{theirs.runs}  "
        f"{row.ratio('wall'):6.2f}{unit} wall, {row.ratio('cpu'):6.2f}{unit} CPU  {row.verdict}",
        flush=True,
    )


def run_chain(
    report: Report,
    label: str,
    orders: pl.DataFrame,
    transactions: pd.DataFrame,
    *,
    repeat: int,
    peer_repeat: int,
    once_after: float,
) -> None:
    mine_laps, their_laps = Laps(), Laps()
    mine, theirs = measure(
        [lambda: cm_chain(orders, mine_laps), lambda: lifetimes_chain(transactions, their_laps)],
        [repeat, peer_repeat],
        warmup=[True, False],
        once_after=once_after,
    )
    steps_mine, steps_theirs = mine_laps.medians(mine.runs), their_laps.medians(theirs.runs)
    report.chains.append((label, steps_mine, steps_theirs))
    a, b = total(steps_mine), total(steps_theirs)
    print(
        f"  chain at {label}: cm {a.wall:.2f} s ({a.cpu:.2f} CPU), lifetimes {b.wall:.2f} s "
        f"({b.cpu:.2f} CPU) x{b.runs}",
        flush=True,
    )
    for step in steps_mine:
        x, y = steps_mine[step], steps_theirs[step]
        print(f"    {step:<18}{x.wall:8.3f} {x.cpu:8.3f}   {y.wall:8.3f} {y.cpu:8.3f}", flush=True)


def fit_phase(report: Report, path: Path, args: argparse.Namespace) -> None:
    """At the fit size: agreement, the two fits, CLV, the chain, sub-steps."""
    small = pl.read_parquet(path)
    small_tx = purchases_pandas(small)
    label = f"synthetic({args.fit_customers:_})"
    report.n_orders[label] = small.height
    report.checks += agreement(small, small_tx, label)
    print("\n".join(report.checks), flush=True)
    summary = cm.rfm_summary(small)
    theirs = lifetimes_summary(small_tx)
    n = f"{summary.height // 1000}k customers"
    compare(
        report, subject="fit_beta_geo", other="BetaGeoFitter().fit", kind="peer", label=n,
        fns=(lambda: cm.clv.fit_beta_geo(summary), lambda: lifetimes_beta_geo(theirs)),
        peer=True, target=5.0, target_text="≥ 5× faster",
    )  # fmt: skip
    compare(
        report, subject="fit_gamma_gamma", other="GammaGammaFitter().fit", kind="peer", label=n,
        fns=(lambda: cm.clv.fit_gamma_gamma(summary), lambda: lifetimes_gamma_gamma(theirs)),
        peer=True,
    )  # fmt: skip
    bg, gg = cm.clv.fit_beta_geo(summary), cm.clv.fit_gamma_gamma(summary)
    bgf, ggf = lifetimes_beta_geo(theirs), lifetimes_gamma_gamma(theirs)
    if bgf is not None and ggf is not None:
        compare(
            report, subject="customer_lifetime_value",
            other="GammaGammaFitter.customer_lifetime_value", kind="peer", label=n,
            fns=(lambda: cm_clv(bg, gg, summary), lambda: lifetimes_clv(bgf, ggf, theirs)),
            peer=True,
        )  # fmt: skip
    run_chain(
        report, f"{small.height / 1e6:.1f}M orders", small, small_tx,
        repeat=args.repeat, peer_repeat=args.peer_repeat, once_after=args.once_after,
    )  # fmt: skip
    if not args.no_breakdown:
        report.steps = fit_breakdown(summary, args.repeat)
        for name, t in report.steps:
            print(f"  {name:<60}{t.wall:8.3f} s {t.cpu:8.3f} CPU s", flush=True)


def summary_phase(report: Report, path: Path, args: argparse.Namespace) -> None:
    """At the full size: peak memory, the summary against lifetimes and the floor, the chain."""
    if not args.no_memory:
        for name in ("read polars", "rfm_summary", "read pandas", "lifetimes summary"):
            gib, secs = peak_rss_of([sys.executable, __file__, "--one", name, "--size", args.size])
            report.memory.append((name, gib, secs))
            print(f"  peak RSS {name:<24}{gib:6.2f} GiB ({secs:.1f} s)", flush=True)
    orders = pl.read_parquet(path)
    transactions = purchases_pandas(orders)
    report.n_orders[args.size] = orders.height
    compare(
        report, subject="rfm_summary", other="lifetimes summary_data_from_…", kind="peer",
        label=args.size,
        fns=(lambda: cm.rfm_summary(orders), lambda: lifetimes_summary(transactions)),
        peer=True, target=10.0, target_text="≥ 10× faster", once_after=args.once_after,
    )  # fmt: skip
    compare(
        report, subject="rfm_summary", other="one-pass floor", kind="floor", label=args.size,
        fns=(lambda: cm.rfm_summary(orders), lambda: floor_summary(orders)),
        peer=False, target=1.0, target_text="≤ 1.0× floor",
    )  # fmt: skip
    if not args.no_breakdown:
        report.summary_steps = summary_breakdown(orders, args.repeat)
        for name, t in report.summary_steps:
            print(f"  {name:<72}{t.wall:8.3f} s {t.cpu:8.3f} CPU s", flush=True)
    run_chain(
        report, f"{args.size} ({orders.height / 1e6:.1f}M orders)", orders, transactions,
        repeat=args.chain_repeat, peer_repeat=args.peer_repeat, once_after=args.once_after,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10m", choices=list(SIZES), help="orders for summaries")
    parser.add_argument("--fit-customers", type=int, default=200_000, help="synthetic(n) to fit")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of crm_metrics")
    parser.add_argument("--peer-repeat", type=int, default=3, help="timed runs of lifetimes")
    parser.add_argument("--chain-repeat", type=int, default=3, help="runs of cm's 10M chain")
    parser.add_argument("--once-after", type=float, default=60.0, help="s: run lifetimes once")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the sub-step timings")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_imports()
    if args.one:
        run_one(args.one, args.size)
        return
    started = time.perf_counter()
    report = Report(
        args.size,
        args.fit_customers,
        args.repeat,
        args.peer_repeat,
        load_average(),
        measured_code(),
    )
    fit_phase(report, orders_path(customers=args.fit_customers), args)
    summary_phase(report, orders_path(args.size), args)
    report.load_after = load_average()
    report.minutes = (time.perf_counter() - started) / 60

    lines = markdown(report)
    print("\n" + "\n".join(lines))
    if not args.no_write:
        append_results(lines, args.results)
        print(f"appended to {args.results}")


if __name__ == "__main__":
    main()
