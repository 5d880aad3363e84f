"""DuckDB specifics beyond the conformance suite: last row wins across a grouped batch."""

from __future__ import annotations

from pathlib import Path

from aiot.domain import Batch
from aiot.store.duckdb import DuckDBStore


def test_a_point_repeated_across_grouped_batches_keeps_the_last(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "t.duckdb")
    try:
        first = Batch.numeric("t1", ["d1", "d2"], "p", [1, 1], [1.0, 2.0])
        second = Batch.numeric("t1", ["d2", "d1"], ["p", "q"], [1, 1], [20.0, 3.0])
        assert store.write(Batch.concat("t1", [first, second])) == 4
        got = store.query("t1", "d2", ["p"], 0, 10).to_pydict()
        assert got["value"] == [20.0]
        assert store.count("t1") == 3
    finally:
        store.close()
