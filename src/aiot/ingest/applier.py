"""The telemetry store's consumer of the ingest log: acknowledged records applied in bulk.

A background thread waits for new records, reads everything the store has not taken (up to
``max_points`` at a time) and applies it in one store transaction that also moves the store's
position. Between two transactions it lets ``interval`` seconds pass unless a query is waiting
or ``max_points`` are due, because a store transaction has a fixed cost (about 4 ms in DuckDB)
that a few hundred points cannot carry. So the store is written in large batches whatever
the size of the messages, and a restart replays exactly what the last transaction did not
take. Every ``checkpoint_every``
seconds the store is checkpointed and the position released to the log, which may then drop
old segments.

A store that fails to apply (or checkpoint) is the applier's :attr:`~Applier.fault` until an
attempt succeeds; the thread retries every second. While there is a fault, :meth:`check`
refuses new appends, so nothing is acknowledged that the store may never return; what the log
already holds stays there and is applied once the store works again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from aiot.errors import AiotError, StoreError
from aiot.store.base import TelemetryStore
from aiot.store.wal import IngestLog

__all__ = ["Applier"]

CONSUMER = "store"
log = logging.getLogger("aiot.ingest")


class Applier:
    """Applies the log to the store in a thread; :meth:`wait` for read-your-writes."""

    def __init__(
        self,
        wal: IngestLog,
        store: TelemetryStore,
        max_points: int = 500_000,
        checkpoint_every: float = 30.0,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.wal, self.store = wal, store
        self.max_points = max_points
        self.interval = interval
        self._applied_at = 0.0
        self._wanted = 0  # the furthest position a query waits for
        self.checkpoint_every = checkpoint_every
        self._clock = clock
        self._applied = wal.register(CONSUMER, store.position())
        self._released_at = clock()
        self._cond = threading.Condition()
        self._appended: deque[tuple[int, float]] = deque()  # (end offset, when acknowledged)
        self._delays: deque[float] = deque(maxlen=1024)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.failures = 0
        self.gaps = 0
        self._fault: str | None = None

    @property
    def applied(self) -> int:
        """The log offset up to which the store has applied records."""
        with self._cond:
            return self._applied

    @property
    def fault(self) -> str | None:
        """Why the store failed its last attempt to take the log (None while it works)."""
        return self._fault

    def check(self) -> None:
        """Raise StoreError while the store is failing, so that nothing new is acknowledged."""
        fault = self._fault
        if fault is not None:
            raise StoreError(
                "the telemetry store is failing; nothing is acknowledged until it recovers", fault
            )

    def appended(self, end: int) -> None:
        """The log grew to ``end`` (acknowledged now): wake the thread."""
        with self._cond:
            self._appended.append((end, self._clock()))
            self._cond.notify_all()

    def start(self) -> None:
        """Start applying in the background."""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="aiot-store-applier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Apply what is left, checkpoint the store, release the log, stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self.catch_up()
            self._release()
        except Exception as err:  # the log keeps the records: the next start replays them
            log.error("the store did not take the whole ingest log before stopping: %r", err)

    def replay(self) -> None:
        """Apply what the store has not taken (at start); a failure becomes the fault, retried."""
        try:
            self.catch_up()
        except Exception as err:  # start anyway: health says why, and writes are refused
            self._failed(err)

    def catch_up(self) -> None:
        """Apply every record in the log now, in this thread (replay at start, tests)."""
        while self._apply_some():
            pass

    def wait(self, position: int, timeout: float) -> bool:
        """Wait until the store has applied everything before ``position``."""
        with self._cond:
            if self._applied < position:  # someone waits: apply now, not at the next interval
                self._wanted = max(self._wanted, position)
                self._cond.notify_all()
            return self._cond.wait_for(lambda: self._applied >= position, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self.wal.end > self._applied, 1.0)
                self._cond.wait_for(
                    self._due, max(0.0, self._applied_at + self.interval - self._clock())
                )
                if self._stopping:
                    return
            try:
                self._apply_some()
                if self._clock() - self._released_at >= self.checkpoint_every:
                    self._release()
            except Exception as err:  # a store failure: retry, the log keeps the records
                self._failed(err)
                time.sleep(1.0)
            else:
                self._recovered()

    def _failed(self, err: Exception) -> None:
        self.failures += 1
        if self._fault is None:  # once per fault, not every second while it lasts
            log.error("the store cannot take the ingest log; writes are refused: %r", err)
        self._fault = _describe(err)

    def _recovered(self) -> None:
        if self._fault is not None:
            log.warning("the store takes the ingest log again; writes are accepted")
        self._fault = None

    def _due(self) -> bool:
        """Whether to apply now rather than let more records gather (called under the lock)."""
        if self._stopping or self._wanted > self._applied:
            return True
        due = self.wal.end - self._applied >= self.max_points
        return due or self._clock() >= self._applied_at + self.interval

    def _apply_some(self) -> bool:
        position = self.applied
        records = self.wal.read(position, self.max_points)
        if not records:
            return False
        if records[0].offset > position:
            self.gaps += 1
            log.error(
                "ingest log: %d points lost before offset %d",
                records[0].offset - position,
                records[0].offset,
            )
        self.store.apply(records)
        with self._cond:
            self._applied = records[-1].end
            self._applied_at = self._clock()
            self._note_delay(self._applied)
            self._cond.notify_all()
        return True

    def _note_delay(self, applied: int) -> None:
        now, latest = self._clock(), None
        while self._appended and self._appended[0][0] <= applied:
            latest = self._appended.popleft()[1]
        if latest is not None:
            self._delays.append(now - latest)

    def _release(self) -> None:
        position = self.applied
        self.store.checkpoint()
        self.wal.release(CONSUMER, position)
        self._released_at = self._clock()

    def stats(self) -> dict[str, Any]:
        """Applied offset, lag in points, and the delay from acknowledgement to query (ms)."""
        with self._cond:
            delays = np.asarray(self._delays, dtype=np.float64) * 1000.0
            applied = self._applied
        lag = self.wal.end - applied
        return {
            "applied": applied,
            "lag_points": lag,
            "apply_delay_ms": {
                "p50": float(np.percentile(delays, 50)) if len(delays) else None,
                "p99": float(np.percentile(delays, 99)) if len(delays) else None,
            },
            "failures": self.failures,
            "fault": self._fault,
        }


def _describe(err: Exception) -> str:
    """A store failure in one line: aiot's message and the driver's first line."""
    if not isinstance(err, AiotError):
        return repr(err)
    reason = str(err.detail).splitlines()[0] if err.detail else ""
    return f"{err.message}: {reason}" if reason else err.message
