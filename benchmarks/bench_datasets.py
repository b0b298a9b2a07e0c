"""Benchmarks of :func:`crm_metrics.datasets.synthetic`.

Run with ``uv run pytest benchmarks/ --benchmark-enable`` (the project's pytest
options disable benchmarks by default). The one-million-customer figures come
from ``benchmarks/datasets_scale.py``, which also reports peak memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import crm_metrics as cm

if TYPE_CHECKING:
    from pytest_benchmark.fixture import BenchmarkFixture


@pytest.mark.parametrize("n_customers", [10_000, 100_000])
def test_synthetic(benchmark: BenchmarkFixture, n_customers: int) -> None:
    data = benchmark.pedantic(  # type: ignore[no-untyped-call]
        cm.datasets.synthetic,
        args=(n_customers,),
        kwargs={"seed": 0},
        rounds=3,
        iterations=1,
        warmup_rounds=1,
    )
    orders = data["orders"].height
    benchmark.extra_info["orders"] = orders
    assert data["customers"].height == n_customers
    assert 8 * n_customers <= orders <= 12 * n_customers
