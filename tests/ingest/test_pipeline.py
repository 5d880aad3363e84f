"""The ingest pipeline: grouped log appends, acknowledgement at the log, the store in bulk."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from aiot.domain import Batch
from aiot.errors import PayloadRejected, StoreError
from aiot.ingest import Ingestor
from aiot.ingest.applier import Applier
from aiot.settings import IngestSettings
from aiot.store.catalog import Catalog
from aiot.store.duckdb import DuckDBStore
from aiot.store.memory import MemoryStore
from aiot.store.wal import FileLog, MemoryLog, Record


class CountingStore(MemoryStore):
    """A memory store that counts transactions and can be told to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.applies = 0
        self.failing = False

    def apply(self, records: Sequence[Record]) -> int:
        self.applies += 1
        if self.failing:
            raise StoreError("disk full")
        return super().apply(records)


class CountingLog(MemoryLog):
    """A memory log that counts appends and can be told to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.appends = 0
        self.failing = False

    def append(self, batches: Sequence[Batch]) -> list[int]:
        self.appends += 1
        if self.failing:
            raise StoreError("cannot write the ingest log", "No space left on device")
        return super().append(batches)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")


def _message(i: int) -> Batch:
    return Batch.numeric("t1", f"d{i % 10}", "x", [i], [float(i)])


async def _submit_all(ingest: Ingestor, count: int) -> list[object]:
    await ingest.start()
    try:
        jobs = (ingest.submit(_message(i)) for i in range(count))
        return await asyncio.gather(*jobs, return_exceptions=True)
    finally:
        await ingest.stop()


def test_concurrent_messages_share_appends_and_store_transactions(catalog: Catalog) -> None:
    store, wal = CountingStore(), CountingLog()
    ingest = Ingestor(store, catalog, IngestSettings(), wal)
    assert asyncio.run(_submit_all(ingest, 500)) == [1] * 500
    assert store.count("t1") == 500
    assert wal.appends < 50  # grouped: far fewer fsyncs than messages
    assert store.applies <= wal.appends
    assert ingest.stats.snapshot("t1")["accepted_messages"] == 500
    assert store.position() == wal.end == 500


def test_a_failed_append_fails_every_message_of_its_group(catalog: Catalog) -> None:
    wal = CountingLog()
    wal.failing = True
    ingest = Ingestor(MemoryStore(), catalog, IngestSettings(), wal)
    results = asyncio.run(_submit_all(ingest, 20))
    assert all(isinstance(r, StoreError) for r in results)
    assert ingest.stats.snapshot("t1")["accepted_messages"] == 0
    wal.failing = False
    assert asyncio.run(_submit_all(ingest, 1)) == [1]  # the writer survived the failure


def test_a_failing_store_loses_nothing_acknowledged(catalog: Catalog) -> None:
    store = CountingStore()
    store.failing = True
    ingest = Ingestor(store, catalog, IngestSettings(), MemoryLog())

    async def run() -> list[int]:
        await ingest.start()
        acked = await asyncio.gather(*(ingest.submit(_message(i)) for i in range(30)))
        await asyncio.sleep(0.05)
        assert store.count("t1") == 0  # acknowledged at the log while the store refuses
        store.failing = False
        await ingest.stop()
        return acked

    assert asyncio.run(run()) == [1] * 30
    assert store.count("t1") == 30
    assert ingest.applier.failures >= 1


def test_a_restart_replays_exactly_what_the_store_did_not_take(
    catalog: Catalog, tmp_path: Path
) -> None:
    wal = FileLog(tmp_path / "wal")
    store = DuckDBStore(tmp_path / "t.duckdb")
    store.apply(wal_append(wal, [_message(0), _message(1)]))
    wal_append(wal, [_message(2), _message(3)])  # acknowledged, then a crash before applying
    wal.close()
    store.close()
    wal, store = FileLog(tmp_path / "wal"), DuckDBStore(tmp_path / "t.duckdb")
    ingest = Ingestor(store, catalog, IngestSettings(), wal)
    asyncio.run(_submit_all(ingest, 0))
    assert store.count("t1") == 4
    assert store.position() == 4
    assert ingest.stats.snapshot("t1")["accepted_points"] == 0  # replayed, not newly accepted
    store.close()


def wal_append(wal: FileLog, batches: list[Batch]) -> list[Record]:
    offsets = wal.append(batches)
    return [Record(o, b) for o, b in zip(offsets, batches, strict=True)]


def test_queries_see_acknowledged_points_once_settled(catalog: Catalog) -> None:
    store = CountingStore()
    ingest = Ingestor(store, catalog, IngestSettings(), MemoryLog())

    async def run() -> tuple[bool, int]:
        await ingest.start()
        try:
            await asyncio.gather(*(ingest.submit(_message(i)) for i in range(100)))
            settled = await asyncio.to_thread(ingest.settle, 5.0)
            return settled, store.count("t1")
        finally:
            await ingest.stop()

    assert asyncio.run(run()) == (True, 100)


class SlowStore(MemoryStore):
    """A store that takes 50 ms a transaction."""

    def apply(self, records: Sequence[Record]) -> int:
        time.sleep(0.05)
        return super().apply(records)


def test_a_store_that_falls_behind_slows_appends_down(catalog: Catalog) -> None:
    settings = IngestSettings(max_log_lag_points=10, max_group_points=5, max_apply_points=5)
    store = SlowStore()
    ingest = Ingestor(store, catalog, settings, MemoryLog())
    lags: list[int] = []

    async def run() -> None:
        await ingest.start()
        try:
            for i in range(10):
                await asyncio.gather(*(ingest.submit(_message(i * 5 + j)) for j in range(5)))
                lags.append(ingest.wal.end - ingest.applier.applied)
        finally:
            await ingest.stop()

    asyncio.run(run())
    assert max(lags) <= 10 + 5  # never more than the limit and one group behind
    assert store.count("t1") == 50


def test_rejections_are_logged_and_trimmed(catalog: Catalog) -> None:
    ingest = Ingestor(MemoryStore(), catalog, IngestSettings(rejection_log_size=3))
    for i in range(5):
        err = PayloadRejected(f"bad {i}", code="invalid_json")
        ingest.reject("t1", "http", "d1", err, b"{" * 500)
    ingest.reject("t2", "http", None, PayloadRejected("x", code="invalid_key"))
    listed = ingest.rejections("t1")
    assert [r.message for r in listed] == ["bad 4", "bad 3", "bad 2"]
    assert len(listed[0].excerpt) == 200
    assert ingest.stats.snapshot("t1")["rejected_by_reason"] == {"invalid_json": 5}
    assert [r.reason for r in ingest.rejections("t2")] == ["invalid_key"]


def test_a_waiting_query_gets_every_segment_applied_not_one_an_interval(tmp_path: Path) -> None:
    wal = FileLog(tmp_path / "wal", segment_bytes=4096)
    store = MemoryStore()
    applier = Applier(wal, store, interval=600.0)  # left alone, it would apply every 10 min
    applier.start()
    try:
        for i in range(20):
            wal.append([Batch.numeric("t1", "d1", "x", range(i * 5, i * 5 + 5), [1.0] * 5)])
            applier.appended(wal.end)
        started = time.monotonic()
        assert applier.wait(wal.end, 5.0)
        assert time.monotonic() - started < 1.0
        assert store.count("t1") == 100
        assert wal.stats()["segments"] > 2
    finally:
        applier.stop()
