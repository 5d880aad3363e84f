"""The ingestion pipeline: validated batches in, one fsynced log append per group, refusals counted.

Transports call :meth:`Ingestor.submit` with a decoded batch and acknowledge the device only
when it returns. Submissions that arrive while an append is in progress are grouped into the
next one: one write and one fsync of the ingest log (:mod:`aiot.store.wal`) for many messages
of every connection, HTTP request and bridge. A failed append fails every submission of its
group, so nothing is acknowledged that is not durable. The :class:`~aiot.ingest.applier.Applier`
then applies the log to the telemetry store in large batches in the background; queries wait
for it (:meth:`Ingestor.settle`) so that they see every point acknowledged before them.
When the store falls behind by ``max_log_lag_points``, appends wait: devices are slowed,
never refused. While the store fails to apply the log, appends are refused with StoreError
(HTTP 503, MQTT: no PUBACK and the connection closed) until it recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pyarrow as pa

from aiot.domain import Batch
from aiot.errors import AiotError, StoreError
from aiot.ingest.applier import Applier
from aiot.ingest.seen import LastSeen
from aiot.ingest.stats import IngestStats
from aiot.settings import IngestSettings
from aiot.store.base import TelemetryStore
from aiot.store.catalog import Catalog, Rejection
from aiot.store.wal import IngestLog, MemoryLog

__all__ = ["Ingestor", "Source", "Submission"]

_EXCERPT = 200
_LINGER_TURNS = 20
_LINGER_BELOW = 8


class Source(Protocol):
    """Points that a transport keeps adding to until the writer takes them."""

    def __len__(self) -> int: ...

    def batch(self) -> Batch:
        """The points as one batch (called once, by the writer, after it took them)."""
        ...


@dataclass(frozen=True)
class _Ready:
    points: Batch

    def __len__(self) -> int:
        return len(self.points)

    def batch(self) -> Batch:
        return self.points


class Submission:
    """Points on their way into the log; ``done`` resolves once they are durable.

    Until the writer has ``taken`` it, the transport that opened it may add points to its
    source and count more ``messages``: one connection's messages that arrive while a log
    append is in progress share one submission, one Arrow table and one acknowledgement write.
    """

    __slots__ = ("device_ids", "done", "messages", "source", "taken", "tenant")

    def __init__(
        self, tenant: str, source: Source, device_ids: Sequence[str], done: asyncio.Future[int]
    ) -> None:
        self.tenant, self.source, self.device_ids, self.done = tenant, source, device_ids, done
        self.messages = 0
        self.taken = False


@dataclass
class _Taken:
    submission: Submission
    batch: Batch | None = None


class Ingestor:
    """Groups submitted batches into durable log appends and keeps the rejection log."""

    def __init__(
        self,
        store: TelemetryStore,
        catalog: Catalog,
        settings: IngestSettings,
        wal: IngestLog | None = None,
        checkpoint_every: float = 30.0,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.settings = settings
        self.wal: IngestLog = wal if wal is not None else MemoryLog()
        self.applier = Applier(
            self.wal,
            store,
            settings.max_apply_points,
            checkpoint_every,
            settings.apply_interval_seconds,
        )
        self.stats = IngestStats()
        self.seen = LastSeen(catalog)
        self._queue: asyncio.Queue[Submission] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._rejections: list[Rejection] = []
        self._lock = threading.Lock()
        self._listeners: list[Callable[[int], None]] = []

    async def start(self) -> None:
        """Replay what the store has not taken, then start the group writer and the applier."""
        await asyncio.to_thread(self.applier.replay)  # a failing store: health says so
        self.applier.start()
        self._queue = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="aiot-ingest-writer")

    async def stop(self) -> None:
        """Append what is queued, apply the whole log, then stop."""
        if self._queue is not None:
            await self._queue.join()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        self._queue = self._writer = None
        await asyncio.to_thread(self.applier.stop)
        self.flush_rejections()
        self.seen.flush()

    async def submit(self, batch: Batch, device_ids: Sequence[str] = (), messages: int = 1) -> int:
        """Return once ``batch`` is durable; raise StoreError if it could not be stored.

        ``messages`` is how many device messages (MQTT PUBLISH, HTTP requests) it holds.
        """
        if self._queue is None:
            return self.write(batch, device_ids, messages)
        submission = self.open(batch.tenant, _Ready(batch), device_ids)
        submission.messages = messages
        return await submission.done

    def open(self, tenant: str, source: Source, device_ids: Sequence[str]) -> Submission:
        """Queue a submission that its transport may add to until it is taken (running only)."""
        if self._queue is None:
            raise RuntimeError("the ingest writer is not running")
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        submission = Submission(tenant, source, device_ids, done)
        self._queue.put_nowait(submission)
        return submission

    def write(self, batch: Batch, device_ids: Sequence[str] = (), messages: int = 1) -> int:
        """Append one batch and apply it now, synchronously (in-process producers, tests)."""
        self._append({batch.tenant: [batch]})
        self.stats.accepted(batch.tenant, messages, len(batch))
        self.applier.catch_up()
        if device_ids:  # no writer loop to flush later: write the last-seen times now
            self.seen.mark(batch.tenant, device_ids, datetime.now(UTC))
            self.seen.flush()
        return len(batch)

    def listen(self, appended: Callable[[int], None]) -> None:
        """Call ``appended(end)`` after every durable append (another consumer of the log)."""
        self._listeners.append(appended)

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until the store holds every point acknowledged so far (at most ``timeout`` s)."""
        wait = self.settings.query_wait_seconds if timeout is None else timeout
        return self.applier.wait(self.wal.end, wait)

    def log_stats(self) -> dict[str, Any]:
        """The ingest log and its application to the store, as JSON (installation-wide)."""
        return {**self.wal.stats(), "store": self.applier.stats()}

    async def _write_loop(self) -> None:
        assert self._queue is not None
        while True:
            try:
                first = await asyncio.wait_for(self._queue.get(), timeout=0.5)
            except TimeoutError:
                await asyncio.to_thread(self._idle)
                continue
            # Let the reads that are already waiting in the event loop join this append: a
            # client's window often arrives as several reads, and one fsync should take it all.
            for _ in range(_LINGER_TURNS):
                await asyncio.sleep(0)
                if first.messages >= _LINGER_BELOW or not self._queue.empty():
                    break
            first.taken = True
            group, points = [_Taken(first)], len(first.source)
            while not self._queue.empty() and points < self.settings.max_group_points:
                group.append(_Taken(self._queue.get_nowait()))
                group[-1].submission.taken = True
                points += len(group[-1].submission.source)
            try:
                await asyncio.to_thread(self._write_group, group)
            except AiotError as err:
                _fail(group, err)
            except Exception as err:  # a log bug must not kill the writer
                _fail(group, StoreError("the ingest log failed", repr(err)))
            else:
                for taken in group:
                    if not taken.submission.done.done():
                        taken.submission.done.set_result(len(taken.batch or ()))
            finally:
                for _ in group:
                    self._queue.task_done()

    def _write_group(self, group: list[_Taken]) -> None:
        by_tenant: dict[str, list[Batch]] = {}
        for taken in group:
            taken.batch = taken.submission.source.batch()
            by_tenant.setdefault(taken.submission.tenant, []).append(taken.batch)
        self._append(by_tenant)
        now = datetime.now(UTC)
        for taken in group:
            sub, points = taken.submission, len(taken.batch or ())
            self.stats.accepted(sub.tenant, sub.messages, points)
            if sub.device_ids and points:
                self.seen.mark(sub.tenant, sub.device_ids, now)
        self.flush_rejections()
        self.seen.flush_due()

    def _append(self, by_tenant: dict[str, list[Batch]]) -> None:
        self.applier.check()  # a failing store: refuse, rather than acknowledge what it may lose
        limit = self.settings.max_log_lag_points
        if self.wal.end - self.applier.applied > limit:  # the store is behind: slow down
            self.applier.wait(self.wal.end - limit, self.settings.query_wait_seconds * 30)
        batches = [
            _combined(tenant, [p for p in parts if len(p)]) for tenant, parts in by_tenant.items()
        ]
        self.wal.append(batches)
        self.applier.appended(self.wal.end)
        for appended in self._listeners:
            appended(self.wal.end)

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


def _fail(group: list[_Taken], err: AiotError) -> None:
    for taken in group:
        if not taken.submission.done.done():
            taken.submission.done.set_exception(err)


def _combined(tenant: str, parts: list[Batch]) -> Batch:
    """One batch of one chunk: the log writes one Arrow record batch per record."""
    if len(parts) <= 1:
        return parts[0] if parts else Batch.empty(tenant)
    return Batch(tenant, pa.concat_tables([p.table for p in parts]).combine_chunks())
