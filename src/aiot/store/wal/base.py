"""The :class:`IngestLog` protocol and its :class:`Record`; the contract is in the package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aiot.domain import Batch

__all__ = ["IngestLog", "Record"]


@dataclass(frozen=True)
class Record:
    """One appended batch and the offset of its first point."""

    offset: int
    batch: Batch

    @property
    def end(self) -> int:
        """The offset just past this record's last point: where the next record starts."""
        return self.offset + len(self.batch)


@runtime_checkable
class IngestLog(Protocol):
    """An append-only, checksummed, segmented log of batches, read by offset."""

    @property
    def start(self) -> int:
        """The offset of the oldest record still held (``end`` when the log is empty)."""
        ...

    @property
    def end(self) -> int:
        """The offset the next appended record will get."""
        ...

    def append(self, batches: Sequence[Batch]) -> list[int]:
        """Append the non-empty batches durably (one fsync); their first offsets."""
        ...

    def read(self, position: int, max_points: int) -> list[Record]:
        """Records from ``position`` on, about ``max_points`` points (at least one record)."""
        ...

    def register(self, consumer: str, position: int) -> int:
        """Declare a consumer at ``position``; the position it can read from (never < start)."""
        ...

    def release(self, consumer: str, position: int) -> None:
        """The consumer has durably taken every point before ``position``."""
        ...

    def stats(self) -> dict[str, Any]:
        """Offsets, size, consumers' positions and fsync times, as JSON."""
        ...

    def close(self) -> None:
        """Release the files."""
        ...
