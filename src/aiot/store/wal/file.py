"""The write-ahead log in files: segments named by their first offset, fsynced per append.

``wal/00000000000000000000.wal`` holds records from offset 0 until it passes
``segment_bytes``; the next segment is named by the offset it starts at. Opening the log scans
every segment's records and cuts a torn tail (a crash during a write) back to the last
record whose checksum holds. Only the newest segment is ever written; a segment is deleted
once every registered consumer has released a position at or past its end.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from aiot.domain import Batch
from aiot.errors import StoreError
from aiot.store.wal import frames
from aiot.store.wal.base import Record

__all__ = ["FileLog"]

log = logging.getLogger("aiot.wal")

_SUFFIX = ".wal"
_HINTS = 256  # read positions remembered, so that a consumer's next read needs no scan
_READ_RECORDS = 100_000  # records in one read at most, whatever their size


@dataclass
class _Segment:
    first: int  # offset its name gives: the first record's offset
    path: Path
    size: int  # bytes of whole, checked records
    end: int  # offset after its last record


class FileLog:
    """An :class:`~aiot.store.wal.IngestLog` in a folder of segment files."""

    def __init__(
        self,
        folder: Path,
        segment_bytes: int = 64 << 20,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.folder = folder
        self.segment_bytes = segment_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._positions: dict[str, int] = {}
        self._hints: OrderedDict[int, tuple[int, int]] = OrderedDict()
        self._fsync_s: deque[float] = deque(maxlen=1024)
        self._appends = 0
        self.torn_bytes = 0
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._segments = [self._recover(p) for p in _segment_paths(folder)]
            if not self._segments:
                self._segments.append(self._create(0))
            self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_APPEND)
        except OSError as err:
            raise StoreError(f"cannot open the ingest log in {folder}", str(err)) from err

    # opening

    def _recover(self, path: Path) -> _Segment:
        first = int(path.stem)
        size, end = 0, first
        with path.open("rb") as handle:
            for position, frame, batch in _scan(handle, decode=True):
                assert batch is not None
                size, end = position + frame.size, frame.offset + len(batch)
        cut = path.stat().st_size - size
        if cut:
            log.warning("ingest log %s: dropped a torn tail of %d bytes", path.name, cut)
            self.torn_bytes += cut
            os.truncate(path, size)
        return _Segment(first, path, size, end)

    def _create(self, first: int) -> _Segment:
        path = self.folder / f"{first:020d}{_SUFFIX}"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _fsync_dir(self.folder)  # the new file's name survives a crash too
        return _Segment(first, path, 0, first)

    # IngestLog

    @property
    def start(self) -> int:
        """The first offset still held."""
        with self._lock:
            return self._segments[0].first

    @property
    def end(self) -> int:
        """The offset of the next record."""
        with self._lock:
            return self._segments[-1].end

    def append(self, batches: Sequence[Batch]) -> list[int]:
        """Write the records and fdatasync once; raise StoreError (nothing kept) on failure."""
        with self._lock:
            active = self._segments[-1]
            if active.size >= self.segment_bytes:
                active = self._roll()
            offsets, chunks, at = [], [], active.end
            for batch in batches:
                if len(batch):
                    offsets.append(at)
                    chunks.append(frames.encode(at, batch))
                    at += len(batch)
            if chunks:
                data = b"".join(chunks)
                self._write(active, data)
                active.size += len(data)
                active.end = at
                self._appends += 1
            return offsets

    def _write(self, active: _Segment, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            started = self._clock()
            os.fdatasync(self._fd)
            self._fsync_s.append(self._clock() - started)
        except OSError as err:  # a full disk: cut what got written, acknowledge nothing
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, active.size)
            raise StoreError("cannot write the ingest log", err.strerror) from err

    def _roll(self) -> _Segment:
        segment = self._create(self._segments[-1].end)
        os.close(self._fd)
        self._segments.append(segment)
        self._fd = os.open(segment.path, os.O_WRONLY | os.O_APPEND)
        return segment

    def read(self, position: int, max_points: int) -> list[Record]:
        """Whole records from ``position`` on, up to about ``max_points`` points."""
        with self._lock:
            segments = [_Segment(s.first, s.path, s.size, s.end) for s in self._segments]
            hint = self._hints.get(position)
        index = max(bisect.bisect_right([s.first for s in segments], position) - 1, 0)
        records: list[Record] = []
        while index < len(segments) and len(records) < _READ_RECORDS:
            segment = segments[index]
            index += 1
            if segment.end <= position:
                continue  # past this segment (or a gap after it): the next one
            start = hint[1] if hint is not None and hint[0] == segment.first else 0
            found, next_at = self._read_segment(segment, start, position, max_points)
            if not found:
                continue
            self._remember(found[-1].end, segment.first, next_at)
            records += found
            position, hint = found[-1].end, None
            max_points -= sum(len(r.batch) for r in found)
            if max_points <= 0:
                break
        return records

    def _read_segment(
        self, segment: _Segment, start: int, position: int, max_points: int
    ) -> tuple[list[Record], int]:
        records: list[Record] = []
        points, next_at = 0, start
        with segment.path.open("rb") as handle:
            handle.seek(start)
            for at, frame, _ in _scan(handle, decode=False, limit=segment.size, origin=start):
                next_at = at + frame.size
                if frame.offset < position:  # a record before the position (a scan)
                    continue
                handle.seek(at + frames.HEADER.size)
                batch = frames.decode(frame, handle.read(frame.length))
                if batch is None:
                    log.error("ingest log %s: a damaged record at byte %d", segment.path.name, at)
                    break
                records.append(Record(frame.offset, batch))
                points += len(batch)
                if points >= max_points:
                    break
                handle.seek(next_at)
        return records, next_at

    def _remember(self, end: int, segment: int, at: int) -> None:
        with self._lock:
            self._hints[end] = (segment, at)
            while len(self._hints) > _HINTS:
                self._hints.popitem(last=False)

    def register(self, consumer: str, position: int) -> int:
        """A consumer reads from ``position``, or from the oldest record still held."""
        with self._lock:
            if position > self._segments[-1].end:
                log.warning(
                    "ingest log behind its consumer %s: continuing at %d", consumer, position
                )
                self._advance(position)
            position = max(position, self._segments[0].first)
            self._positions[consumer] = position
            return position

    def _advance(self, position: int) -> None:
        os.close(self._fd)
        self._segments.append(self._create(position))
        self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_APPEND)

    def release(self, consumer: str, position: int) -> None:
        """Record the consumer's position; delete segments every consumer has passed."""
        with self._lock:
            self._positions[consumer] = max(position, self._positions.get(consumer, 0))
            passed = min(self._positions.values())
            while len(self._segments) > 1 and self._segments[0].end <= passed:
                old = self._segments.pop(0)
                with contextlib.suppress(OSError):
                    old.path.unlink()

    def stats(self) -> dict[str, Any]:
        """Offsets, bytes held, consumers and fsync times (ms) of the last 1,024 appends."""
        with self._lock:
            times = np.asarray(self._fsync_s, dtype=np.float64) * 1000.0
            fsync = {
                "last": float(times[-1]) if len(times) else None,
                "p50": float(np.percentile(times, 50)) if len(times) else None,
                "p99": float(np.percentile(times, 99)) if len(times) else None,
            }
            return {
                "start": self._segments[0].first,
                "end": self._segments[-1].end,
                "segments": len(self._segments),
                "bytes": sum(s.size for s in self._segments),
                "appends": self._appends,
                "torn_bytes_dropped": self.torn_bytes,
                "consumers": dict(self._positions),
                "fsync_ms": fsync,
            }

    def close(self) -> None:
        """Close the active segment."""
        with self._lock, contextlib.suppress(OSError):
            os.close(self._fd)


def _segment_paths(folder: Path) -> list[Path]:
    found = [p for p in folder.glob(f"*{_SUFFIX}") if p.stem.isdigit()]
    return sorted(found, key=lambda p: int(p.stem))


def _scan(
    handle: BinaryIO, decode: bool, limit: int | None = None, origin: int = 0
) -> Iterator[tuple[int, frames.Frame, Batch | None]]:
    """(position, frame, batch or None) of each whole record; stops at the first bad one."""
    at = origin
    while limit is None or at + frames.HEADER.size <= limit:
        handle.seek(at)
        frame = frames.parse_header(handle.read(frames.HEADER.size))
        if frame is None or (limit is not None and at + frame.size > limit):
            return
        batch = None
        if decode:
            batch = frames.decode(frame, handle.read(frame.length))
            if batch is None:
                return
        yield at, frame, batch
        at += frame.size


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
