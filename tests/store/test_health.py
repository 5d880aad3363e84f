"""Opening the embedded store: a damaged file or an unusable folder is refused, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from aiot.domain import Batch
from aiot.errors import StoreDamaged, StoreError
from aiot.store.duckdb import DuckDBStore
from aiot.store.wal.base import Record

_HEADERS = 3 * 4096  # DuckDB's file header and two database headers come before block 0
_BLOCK = 256 * 1024


def written_store(path: Path, devices: int = 40, points: int = 5_000) -> None:
    """A store file as aiot leaves it: many series, checkpointed, closed."""
    store = DuckDBStore(path)
    rng = np.random.default_rng(0)
    for d in range(devices):
        batch = Batch.numeric("default", f"dev{d}", "k", np.arange(points), rng.normal(size=points))
        store.apply([Record(d * points, batch)])
    store.checkpoint()
    store.close()


def corrupt_a_points_block(path: Path) -> int:
    """Overwrite bytes inside a block of the points table (the middle one); return its id."""
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute(
        "SELECT DISTINCT block_id FROM pragma_storage_info('points') WHERE block_id >= 0 "
        "ORDER BY block_id"
    ).fetchall()
    con.close()
    block = int(rows[len(rows) // 2][0])
    with path.open("r+b") as handle:
        handle.seek(_HEADERS + block * _BLOCK + 4096)
        handle.write(os.urandom(512))
    return block


def test_a_store_with_a_corrupt_block_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.duckdb"
    written_store(path)
    DuckDBStore(path).close()  # intact: opens
    corrupt_a_points_block(path)
    with pytest.raises(StoreDamaged) as caught:
        DuckDBStore(path)
    message = caught.value.message
    assert message.startswith(f"the telemetry store at {path} is damaged: Corrupt database file")
    assert "\n" not in message and "another" not in message  # not mistaken for a held lock
    assert caught.value.code == "store_damaged"


def test_a_file_that_is_no_database_is_refused_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.duckdb"
    written_store(path, devices=2)
    with path.open("r+b") as handle:
        handle.write(b"\0" * 64)
    with pytest.raises(StoreDamaged, match=r"is damaged: .*not a valid DuckDB database"):
        DuckDBStore(path)


def test_a_store_held_by_another_process_says_so(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.duckdb"
    holder = DuckDBStore(path)
    try:
        code = (
            "import sys\nfrom aiot.store.duckdb import DuckDBStore\n"
            "try:\n    DuckDBStore(sys.argv[1])\n"
            "except Exception as err:\n    print(type(err).__name__, err)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    finally:
        holder.close()
    assert out.startswith("StoreError cannot open the telemetry store at")
    assert out.endswith("another process (another aiot?) has it open")


def test_a_failed_open_releases_the_file(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.duckdb"
    written_store(path, devices=4)
    backup = path.read_bytes()
    corrupt_a_points_block(path)
    with pytest.raises(StoreError):
        DuckDBStore(path)
    path.write_bytes(backup)  # the operator restores the file: the same process opens it
    store = DuckDBStore(path)
    assert store.count("default") == 20_000
    store.close()
