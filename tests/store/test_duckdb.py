"""DuckDB specifics beyond the conformance suite: last row wins, position, older files."""

from __future__ import annotations

from pathlib import Path

import duckdb

from aiot.domain import Batch
from aiot.store.duckdb import DuckDBStore
from aiot.store.wal import Record


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


def test_the_position_and_points_survive_reopening(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "t.duckdb")
    store.apply([Record(0, Batch.numeric("t1", "d1", "x", [1, 2], [1.0, 2.0]))])
    store.close()
    again = DuckDBStore(tmp_path / "t.duckdb")
    try:
        assert again.position() == 2
        again.write(Batch.numeric("t1", "d1", "x", [2], [5.0]))  # the newest ts is remembered
        assert again.query("t1", "d1", ["x"], 0, 10).column("value").to_pylist() == [1.0, 5.0]
    finally:
        again.close()


def test_a_store_made_with_keyed_rows_is_opened_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE telemetry (tenant VARCHAR NOT NULL, device VARCHAR NOT NULL, "
        "key VARCHAR NOT NULL, ts BIGINT NOT NULL, value DOUBLE, text VARCHAR, "
        "kind TINYINT NOT NULL, PRIMARY KEY (tenant, device, key, ts))"
    )
    con.execute("INSERT INTO telemetry VALUES ('t1', 'd1', 'x', 1, 1.0, NULL, 0)")
    con.close()
    store = DuckDBStore(path)
    try:
        store.write(Batch.numeric("t1", "d1", "x", [1, 2], [10.0, 2.0]))
        assert store.query("t1", "d1", ["x"], 0, 10).column("value").to_pylist() == [10.0, 2.0]
        assert store.position() == 0
    finally:
        store.close()


def test_keys_holding_the_series_separator_stay_apart(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "t.duckdb")
    try:
        store.write(Batch.numeric("t1", "d1", ["a\x1fb", "a"], [1, 1], [1.0, 2.0]))
        store.close()
        store = DuckDBStore(tmp_path / "t.duckdb")
        assert store.keys("t1", "d1") == ["a", "a\x1fb"]
        assert store.query("t1", "d1", ["a\x1fb"], 0, 10).column("value").to_pylist() == [1.0]
    finally:
        store.close()
