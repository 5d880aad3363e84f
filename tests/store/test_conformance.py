"""Every telemetry store backend passes the same conformance suite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aiot.domain import Batch
from aiot.store.base import TelemetryStore
from aiot.store.checks import ALL_CHECKS
from aiot.store.duckdb import DuckDBStore
from aiot.store.memory import MemoryStore

BACKENDS: dict[str, Callable[[Path], TelemetryStore]] = {
    "memory": lambda _: MemoryStore(),
    "duckdb": lambda tmp: DuckDBStore(tmp / "telemetry.duckdb"),
}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_store_conformance(
    backend: str, check: Callable[[TelemetryStore], None], tmp_path: Path
) -> None:
    store = BACKENDS[backend](tmp_path)
    try:
        check(store)
    finally:
        store.close()


def test_duckdb_points_survive_reopen(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "t.duckdb")
    store.write(Batch.numeric("t1", "d1", "x", [1, 2, 3], [1.0, 2.0, 3.0]))
    store.close()
    reopened = DuckDBStore(tmp_path / "t.duckdb")
    assert reopened.query("t1", "d1", None, 0, 10).column("value").to_pylist() == [1.0, 2.0, 3.0]
    reopened.close()
