"""An in-memory ingest log, for unit tests and the demo: the contract without the disk."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from typing import Any

from aiot.domain import Batch
from aiot.store.wal.base import Record

__all__ = ["MemoryLog"]


class MemoryLog:
    """Records in a list; released ones are dropped."""

    def __init__(self) -> None:
        self._records: list[Record] = []
        self._start = self._end = 0
        self._positions: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def start(self) -> int:
        """The first offset still held."""
        with self._lock:
            return self._records[0].offset if self._records else self._end

    @property
    def end(self) -> int:
        """The offset of the next record."""
        with self._lock:
            return self._end

    def append(self, batches: Sequence[Batch]) -> list[int]:
        """Keep the non-empty batches as records."""
        with self._lock:
            offsets = []
            for batch in batches:
                if len(batch):
                    offsets.append(self._end)
                    self._records.append(Record(self._end, batch))
                    self._end += len(batch)
            return offsets

    def read(self, position: int, max_points: int) -> list[Record]:
        """Records from ``position`` on, up to about ``max_points`` points."""
        with self._lock:
            i = bisect.bisect_left([r.offset for r in self._records], position)
            out: list[Record] = []
            for record in self._records[i:]:
                if out and sum(len(r.batch) for r in out) >= max_points:
                    break
                out.append(record)
            return out

    def register(self, consumer: str, position: int) -> int:
        """A consumer reads from ``position``, or from the oldest record still held."""
        with self._lock:
            self._end = max(self._end, position)
            first = self._records[0].offset if self._records else self._end
            self._positions[consumer] = max(position, first)
            return self._positions[consumer]

    def release(self, consumer: str, position: int) -> None:
        """Drop records every consumer has passed."""
        with self._lock:
            self._positions[consumer] = max(position, self._positions.get(consumer, 0))
            passed = min(self._positions.values())
            self._records = [r for r in self._records if r.end > passed]

    def stats(self) -> dict[str, Any]:
        """Offsets and consumers' positions."""
        with self._lock:
            start = self._records[0].offset if self._records else self._end
            return {"start": start, "end": self._end, "consumers": dict(self._positions)}

    def close(self) -> None:
        """Nothing to release."""
