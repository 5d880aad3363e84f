"""The ingest log: the conformance suite on both logs, and what only files can get wrong."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from aiot.domain import Batch
from aiot.errors import StoreError
from aiot.store.wal import FileLog, IngestLog, MemoryLog
from aiot.store.wal.checks import ALL_CHECKS, Check


def _batch(n: int, first_ts: int = 0, tenant: str = "t1") -> Batch:
    return Batch.numeric(tenant, "d1", "x", range(first_ts, first_ts + n), [float(first_ts)] * n)


@pytest.fixture(params=["memory", "file"])
def make_log(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], IngestLog]:
    def make() -> IngestLog:
        if request.param == "memory":
            return MemoryLog()
        return FileLog(tmp_path / "wal", segment_bytes=4096)

    return make


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_conformance(check: Check, make_log: Callable[[], IngestLog]) -> None:
    log = make_log()
    try:
        check(log)
    finally:
        log.close()


def test_records_survive_reopening_and_offsets_go_on(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "wal", segment_bytes=2048)
    for i in range(30):
        log.append([_batch(10, i * 10)])
    log.close()
    again = FileLog(tmp_path / "wal", segment_bytes=2048)
    assert again.end == 300
    assert again.append([_batch(1, 999)]) == [300]
    records = again.read(0, 10**6)
    while records[-1].end < again.end:
        records += again.read(records[-1].end, 10**6)
    ts = [t for r in records for t in r.batch.table.column("ts").to_pylist()]
    assert ts == [*range(300), 999]


def test_a_torn_last_record_is_dropped_never_half_read(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "wal")
    log.append([_batch(5)])
    log.append([_batch(5, 100)])
    log.close()
    segment = next((tmp_path / "wal").glob("*.wal"))
    size = segment.stat().st_size
    os.truncate(segment, size - 7)  # a crash in the middle of the second write
    again = FileLog(tmp_path / "wal")
    assert again.end == 5
    assert [r.offset for r in again.read(0, 10**6)] == [0]
    assert again.stats()["torn_bytes_dropped"] > 0
    assert again.append([_batch(2, 200)]) == [5]  # the next record starts where the torn one did
    assert [r.offset for r in again.read(0, 10**6)] == [0, 5]


def test_a_record_with_flipped_bytes_fails_its_checksum(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "wal")
    log.append([_batch(5)])
    log.append([_batch(5, 100)])
    log.close()
    segment = next((tmp_path / "wal").glob("*.wal"))
    data = bytearray(segment.read_bytes())
    data[-3] ^= 0xFF  # inside the last record's Arrow stream
    segment.write_bytes(bytes(data))
    again = FileLog(tmp_path / "wal")
    assert again.end == 5
    assert [r.batch.table.column("ts").to_pylist() for r in again.read(0, 10**6)] == [[*range(5)]]


def test_segments_every_consumer_passed_are_deleted(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "wal", segment_bytes=2048)
    log.register("store", 0)
    for i in range(40):
        log.append([_batch(10, i * 10)])
    before = len(list((tmp_path / "wal").glob("*.wal")))
    assert before > 3
    log.release("store", 200)
    after = len(list((tmp_path / "wal").glob("*.wal")))
    assert 1 <= after < before
    assert log.start <= 200
    assert log.read(200, 10)[0].offset == 200


def test_a_consumer_ahead_of_the_log_moves_its_end(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "wal")  # say the log folder was lost, the store kept position 500
    assert log.register("store", 500) == 500
    assert log.append([_batch(3)]) == [500]
    assert [r.offset for r in log.read(500, 10)] == [500]


def test_a_failed_write_keeps_nothing_and_is_an_error(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "wal")
    log.append([_batch(3)])
    os.close(log._fd)  # the disk goes away under the log
    log._fd = os.open(os.devnull, os.O_RDONLY)
    with pytest.raises(StoreError):
        log.append([_batch(3, 10)])
    assert log.end == 3
