"""Shared fixtures: run every case on eager and on lazy frames."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from strategies import FrameKind, as_kind

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl


@pytest.fixture(params=["eager", "lazy"], scope="session")
def frame_kind(request: pytest.FixtureRequest) -> FrameKind:
    """``"eager"`` or ``"lazy"``: every test using it runs once with each.

    Session-scoped so that hypothesis tests may use it (no function-scoped
    fixture health check).
    """
    kind: FrameKind = request.param
    return kind


@pytest.fixture(scope="session")
def to_kind(frame_kind: FrameKind) -> Callable[[pl.DataFrame], pl.DataFrame | pl.LazyFrame]:
    """Turn an eager frame into the kind under test (see :func:`strategies.as_kind`)."""

    def convert(frame: pl.DataFrame) -> pl.DataFrame | pl.LazyFrame:
        return as_kind(frame, frame_kind)

    return convert
