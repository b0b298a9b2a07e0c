"""The ``crm-metrics`` command, run as a subprocess like a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import crm_metrics as cm


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm_metrics.cli", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def demo_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("cli") / "demo"
    return folder, run("demo", "--customers", "1500", "--seed", "4", "--out", folder)


def test_demo_writes_validates_and_summarises(
    demo_folder: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, result = demo_folder
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{t}.parquet" for t in (*cm.schemas.CUSTOMER_KEYED, "customers", "spend", "campaign_stats")
    )
    out = result.stdout
    assert "Generated 1,500 synthetic customers (seed 4)" in out
    orders = pl.read_parquet(folder / "orders.parquet")
    assert f"| orders           | {orders.height:,}" in out
    for label in ("churn rate", "customer acquisition cost", "net promoter score", "LTV : CAC"):
        assert label in out
    assert "Traceback" not in out + result.stderr
    # the data written is the generator's, byte for byte the same frames
    again = cm.datasets.synthetic(1500, seed=4)
    assert orders.equals(again["orders"])


def test_validate_accepts_the_demo(
    demo_folder: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, _ = demo_folder
    result = run("validate", folder)
    assert result.returncode == 0, result.stderr
    assert "every table is valid" in result.stdout


def test_validate_reports_every_failure_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\n1,1,2024-01-01,5\n1,2,2024-01-02,x\n"
    )
    result = run("validate", tmp_path)
    assert result.returncode == 1
    assert "3 checks failed" in result.stdout  # the unparsed amount is also null
    assert "unique(order_id)" in result.stdout
    assert "parse(a number)" in result.stdout
    assert "Hint:" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (None, "does not exist"),
        ("file", "is a file, not a folder"),
        ("empty", "holds no table file"),
        ("malformed", "Could not read"),
    ],
)
def test_bad_folders_give_one_line_and_exit_2(
    tmp_path: Path, setup: str | None, expected: str
) -> None:
    target = tmp_path / "data"
    if setup == "file":
        target.write_text("x")
    elif setup == "empty":
        target.mkdir()
    elif setup == "malformed":
        target.mkdir()
        (target / "orders.parquet").write_bytes(b"PAR1 broken")
    result = run("validate", target)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("crm-metrics: error:")
    assert expected in lines[0]


def test_bad_arguments_exit_2_without_traceback(tmp_path: Path) -> None:
    result = run("demo", "--customers", "0", "--out", tmp_path / "x")
    assert result.returncode == 2
    assert "expected a number of at least 1" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("demo", "--seed", "-1", "--out", tmp_path / "y")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
