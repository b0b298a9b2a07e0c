"""pytest-benchmark of every public KPI and its floor, at about one million orders.

The KPI calls and the floors are the ones of ``benchmarks/kpis_vs_floor.py``
(see its docstring for what each floor is). The data, ``synthetic(100_000,
seed=0)``, is read from the Parquet cache under ``benchmarks/_data/``, and
generated there first if missing. Each benchmark is in the group of its floor,
so a KPI reads next to the plain ``group_by`` it is measured against.

Run with::

    uv run pytest benchmarks/bench_kpis.py --benchmark-enable
    uv run pytest benchmarks/bench_kpis.py --benchmark-enable --benchmark-autosave
    uv run pytest-benchmark compare  # the saved runs, under .benchmarks/
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
import pytest
from kpis_vs_floor import FLOORS, KPIS, Floor, Kpi, Tables, data_folder, load_tables, read_then

if TYPE_CHECKING:
    from pytest_benchmark.fixture import BenchmarkFixture

SIZE = "1m"
ROUNDS = {"rounds": 5, "iterations": 1, "warmup_rounds": 1}


@pytest.fixture(scope="module")
def tables() -> Tables:
    """The tables of ``synthetic(100_000, seed=0)``, in memory."""
    return load_tables(SIZE)


@pytest.mark.parametrize("kpi", KPIS, ids=[k.name.replace(" ", "") for k in KPIS])
def test_kpi(benchmark: BenchmarkFixture, tables: Tables, kpi: Kpi) -> None:
    benchmark.group = f"floor: {kpi.floor}"
    out = benchmark.pedantic(kpi.run, args=(tables,), **ROUNDS)  # type: ignore[no-untyped-call]
    assert isinstance(out, pl.DataFrame)
    assert out.height > 0


@pytest.mark.parametrize("floor", FLOORS.values(), ids=list(FLOORS))
def test_floor(benchmark: BenchmarkFixture, tables: Tables, floor: Floor) -> None:
    benchmark.group = f"floor: {floor.name}"
    benchmark.pedantic(floor.run, args=(tables,), **ROUNDS)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("floor", FLOORS.values(), ids=list(FLOORS))
def test_read_and_floor(benchmark: BenchmarkFixture, tables: Tables, floor: Floor) -> None:
    """The floor with ``pl.read_parquet`` of its table(s) ("read + one group_by")."""
    benchmark.group = f"floor: {floor.name}"
    benchmark.pedantic(read_then(floor, data_folder(SIZE)), **ROUNDS)  # type: ignore[no-untyped-call]
