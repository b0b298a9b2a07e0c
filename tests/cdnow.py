"""The CDNOW sample (``../shared/data/cdnow/``) as an ``orders`` frame, for the CLV tests.

The file ships outside the repository (in the workspace's shared data); the
tests that need it use :data:`needs_cdnow` (a skip marker) or the
:func:`cdnow_orders` fixture, both of which skip with a clear reason when it
is absent.

Format: whitespace-separated, Windows line endings, no header; the columns
are the customer id in the full data set, the id in the sample (1…2357, used
as ``customer_id``), the purchase date ``YYYYMMDD``, the number of CDs and
the amount in US dollars.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl
import pytest

__all__ = ["CDNOW_PATH", "cdnow_orders", "needs_cdnow", "read_cdnow"]

CDNOW_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow" / "CDNOW_sample.txt"
"""``<repo>/../shared/data/cdnow/CDNOW_sample.txt``."""

needs_cdnow = pytest.mark.skipif(
    not CDNOW_PATH.is_file(),
    reason=f"CDNOW sample not found at {CDNOW_PATH} (the shared data folder is absent)",
)
"""Skip marker for tests that read the CDNOW sample."""


@cache
def read_cdnow() -> pl.DataFrame:
    """The sample as ``orders``: ``order_id, customer_id, ordered_at (Date), amount, quantity``.

    One row per line of the file, in file order; ``order_id`` is the line
    number (from 1). Read once per session (cached; do not mutate).
    """
    lines = CDNOW_PATH.read_text(encoding="ascii").splitlines()  # drops the \r\n too
    fields = [line.split() for line in lines if line.strip()]
    if any(len(row) != 5 for row in fields):
        msg = f"{CDNOW_PATH}: expected 5 whitespace-separated columns on every line"
        raise ValueError(msg)
    columns = list(zip(*fields, strict=True))
    return pl.DataFrame(
        [
            pl.Series("order_id", range(1, len(fields) + 1), dtype=pl.Int64),
            pl.Series("customer_id", [int(v) for v in columns[1]], dtype=pl.Int64),
            pl.Series("ordered_at", columns[2], dtype=pl.String).str.to_date("%Y%m%d"),
            pl.Series("amount", [float(v) for v in columns[4]], dtype=pl.Float64),
            pl.Series("quantity", [int(v) for v in columns[3]], dtype=pl.Int64),
        ]
    )


@pytest.fixture(scope="session")
def cdnow_orders() -> pl.DataFrame:
    """The CDNOW sample as ``orders`` (skips the test when the file is absent)."""
    if not CDNOW_PATH.is_file():
        pytest.skip(f"CDNOW sample not found at {CDNOW_PATH} (the shared data folder is absent)")
    return read_cdnow()
