"""The write-ahead log of acknowledged telemetry: append, fsync, acknowledge, apply later.

A point is acknowledged to its device once it is in the log and the log is fsynced; every
connection, HTTP request and bridge shares one group commit. Consumers (the telemetry store's
applier today, the stream stage's deployments next) read the log by offset, each with its own
checkpointed position, and release what they have durably taken; a segment every consumer
has passed is deleted.

The contract, checked for every implementation by :mod:`aiot.store.wal.checks`:

- Offsets count points: a record of ``n`` points holds offsets ``[offset, offset + n)``; the
  first record of a new log starts at 0 and offsets only grow, across restarts too.
- ``append`` returns only once its records are durable, with the first offset of each.
- ``read(position)`` returns whole records starting at ``position``, which is a record
  boundary (the ``end`` of a record read before, or ``start`` / ``end`` of the log), in order;
  it returns at least one record when any lies at or past ``position``, and none otherwise.
- A torn or corrupt record (a crash in the middle of a write) is detected by its checksum and
  dropped when the log opens, never half-read; nothing of it was acknowledged.

The file format is one Arrow IPC stream per record (the tenant in its schema metadata), framed
by a fixed header with the record's length, first offset and CRC-32: see ``frames.py``.
"""

from __future__ import annotations

from aiot.store.wal.base import IngestLog, Record
from aiot.store.wal.file import FileLog
from aiot.store.wal.memory import MemoryLog

__all__ = ["FileLog", "IngestLog", "MemoryLog", "Record"]
