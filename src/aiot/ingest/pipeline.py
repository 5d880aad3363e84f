"""The ingestion pipeline: validated batches in, durable group writes out, refusals counted.

Transports call :meth:`Ingestor.submit` with a decoded batch and acknowledge the device only
when it returns. Submissions that arrive while a write is in progress are grouped into the
next write, one transaction for many messages: the store's commit cost is paid per group,
not per message. A failed write fails every submission of its group, so nothing is
acknowledged that is not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiot.domain import Batch
from aiot.errors import AiotError, StoreError
from aiot.ingest.seen import LastSeen
from aiot.ingest.stats import IngestStats
from aiot.settings import IngestSettings
from aiot.store.base import TelemetryStore
from aiot.store.catalog import Catalog, Rejection

__all__ = ["Ingestor"]

_EXCERPT = 200


@dataclass
class _Pending:
    batch: Batch
    device_ids: Sequence[str]
    done: asyncio.Future[int]


class Ingestor:
    """Groups submitted batches into durable writes and keeps the rejection log."""

    def __init__(self, store: TelemetryStore, catalog: Catalog, settings: IngestSettings) -> None:
        self.store = store
        self.catalog = catalog
        self.settings = settings
        self.stats = IngestStats()
        self.seen = LastSeen(catalog)
        self._queue: asyncio.Queue[_Pending] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._rejections: list[Rejection] = []
        self._lock = threading.Lock()

    async def start(self) -> None:
        """Start the group writer on the running event loop."""
        self._queue = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="aiot-ingest-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._queue is not None:
            await self._queue.join()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        self.flush_rejections()
        self.seen.flush()

    async def submit(self, batch: Batch, device_ids: Sequence[str] = ()) -> int:
        """Return once ``batch`` is durable; raise StoreError if it could not be stored."""
        if self._queue is None:
            return self.write(batch, device_ids)
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(batch, device_ids, done))
        return await done

    def write(self, batch: Batch, device_ids: Sequence[str] = ()) -> int:
        """Write one batch now, synchronously (for in-process producers and tests)."""
        written = self.store.write(batch)
        self.stats.accepted(batch.tenant, 1, written)
        if device_ids:  # no writer loop to flush later: write the last-seen times now
            self.seen.mark(batch.tenant, device_ids, datetime.now(UTC))
            self.seen.flush()
        return written

    async def _write_loop(self) -> None:
        assert self._queue is not None
        while True:
            try:
                first = await asyncio.wait_for(self._queue.get(), timeout=0.5)
            except TimeoutError:
                await asyncio.to_thread(self._idle)
                continue
            group = [first]
            points = len(group[0].batch)
            while not self._queue.empty() and points < self.settings.max_group_points:
                group.append(self._queue.get_nowait())
                points += len(group[-1].batch)
            try:
                await asyncio.to_thread(self._write_group, group)
            except AiotError as err:
                _fail(group, err)
            except Exception as err:  # a store bug must not kill the writer
                _fail(group, StoreError("the telemetry store failed", repr(err)))
            else:
                for pending in group:
                    if not pending.done.done():
                        pending.done.set_result(len(pending.batch))
            finally:
                for _ in group:
                    self._queue.task_done()

    def _write_group(self, group: list[_Pending]) -> None:
        by_tenant: dict[str, list[_Pending]] = {}
        for pending in group:
            by_tenant.setdefault(pending.batch.tenant, []).append(pending)
        now = datetime.now(UTC)
        for tenant, items in by_tenant.items():
            written = self.store.write(Batch.concat(tenant, [p.batch for p in items]))
            self.stats.accepted(tenant, len(items), written)
            devices = sorted({d for p in items for d in p.device_ids})
            if devices:
                self.seen.mark(tenant, devices, now)
        self.flush_rejections()
        self.seen.flush_due()

    def _idle(self) -> None:
        self.flush_rejections()
        self.seen.flush()

    def reject(
        self,
        tenant: str,
        transport: str,
        device: str | None,
        err: AiotError,
        body: bytes = b"",
    ) -> None:
        """Count a refused message and queue it for the rejection log."""
        self.stats.rejected(tenant, err.code)
        excerpt = body[:_EXCERPT].decode("utf-8", errors="replace")
        rejection = Rejection(
            tenant, datetime.now(UTC), transport, device, err.code, err.message, excerpt
        )
        with self._lock:
            self._rejections.append(rejection)
        if self._queue is None:  # no writer loop: log it now
            self.flush_rejections()

    def flush_rejections(self) -> None:
        """Write queued rejections to the catalog's log."""
        with self._lock:
            pending, self._rejections = self._rejections, []
        if pending:
            self.catalog.record_rejections(pending, keep=self.settings.rejection_log_size)

    def rejections(
        self, tenant: str, limit: int = 100, reason: str | None = None
    ) -> list[Rejection]:
        """The tenant's newest refused messages."""
        self.flush_rejections()
        return self.catalog.rejections(tenant, limit=limit, reason=reason)


def _fail(group: list[_Pending], err: AiotError) -> None:
    for pending in group:
        if not pending.done.done():
            pending.done.set_exception(err)
