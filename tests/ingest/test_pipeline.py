"""The ingest pipeline groups concurrent messages into durable writes and never acks a failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aiot.domain import Batch
from aiot.errors import PayloadRejected, StoreError
from aiot.ingest import Ingestor
from aiot.settings import IngestSettings
from aiot.store.catalog import Catalog
from aiot.store.memory import MemoryStore


class CountingStore(MemoryStore):
    """A memory store that counts writes and can be told to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.failing = False

    def write(self, batch: Batch) -> int:
        self.writes += 1
        if self.failing:
            raise StoreError("disk full")
        return super().write(batch)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")


def _message(i: int) -> Batch:
    return Batch.numeric("t1", f"d{i % 10}", "x", [i], [float(i)])


def test_concurrent_messages_share_writes(catalog: Catalog) -> None:
    store = CountingStore()
    ingest = Ingestor(store, catalog, IngestSettings())

    async def run() -> list[int]:
        await ingest.start()
        try:
            return await asyncio.gather(*(ingest.submit(_message(i)) for i in range(500)))
        finally:
            await ingest.stop()

    assert asyncio.run(run()) == [1] * 500
    assert store.count("t1") == 500
    assert store.writes < 50  # grouped: far fewer transactions than messages
    assert ingest.stats.snapshot("t1")["accepted_messages"] == 500


def test_a_failed_write_fails_every_message_of_its_group(catalog: Catalog) -> None:
    store = CountingStore()
    store.failing = True
    ingest = Ingestor(store, catalog, IngestSettings())

    async def run() -> list[object]:
        await ingest.start()
        try:
            return await asyncio.gather(
                *(ingest.submit(_message(i)) for i in range(20)), return_exceptions=True
            )
        finally:
            await ingest.stop()

    results = asyncio.run(run())
    assert all(isinstance(r, StoreError) for r in results)
    assert ingest.stats.snapshot("t1")["accepted_messages"] == 0
    store.failing = False
    assert asyncio.run(_one(ingest)) == 1  # the writer survived the failure


async def _one(ingest: Ingestor) -> int:
    await ingest.start()
    try:
        return await ingest.submit(_message(1))
    finally:
        await ingest.stop()


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
