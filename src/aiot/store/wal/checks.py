"""The conformance suite every :class:`~aiot.store.wal.IngestLog` must pass.

Each ``check_*`` takes a fresh, empty log and raises ``AssertionError`` when it breaks the
contract in :mod:`aiot.store.wal`; ``tests/store/test_wal.py`` runs them on every
implementation.
"""

from __future__ import annotations

from collections.abc import Callable

from aiot.domain import Batch
from aiot.store.wal.base import IngestLog

__all__ = ["ALL_CHECKS"]

Check = Callable[[IngestLog], None]


def _batch(tenant: str, n: int, first_ts: int = 0) -> Batch:
    return Batch.numeric(tenant, "d1", "x", range(first_ts, first_ts + n), [1.0] * n)


def check_offsets_count_points(log: IngestLog) -> None:
    """Offsets start at 0 and grow by each record's points; empty batches take none."""
    assert (log.start, log.end) == (0, 0)
    assert log.append([_batch("t1", 3), Batch.empty("t1"), _batch("t2", 2)]) == [0, 3]
    assert log.append([_batch("t1", 1)]) == [5]
    assert log.end == 6


def check_read_from_a_boundary(log: IngestLog) -> None:
    """Reads return whole records in order, tenants and points as appended."""
    log.append([_batch("t1", 3), _batch("t2", 2, 10)])
    log.append([_batch("t1", 4, 20)])
    records = log.read(0, 10**6)
    assert [(r.offset, r.end, r.batch.tenant) for r in records] == [
        (0, 3, "t1"),
        (3, 5, "t2"),
        (5, 9, "t1"),
    ]
    assert records[1].batch.table.column("ts").to_pylist() == [10, 11]
    assert [r.offset for r in log.read(3, 10**6)] == [3, 5]
    assert log.read(9, 10**6) == []


def check_read_at_least_one_record(log: IngestLog) -> None:
    """A small ``max_points`` still returns one record; about that many points otherwise."""
    log.append([_batch("t1", 5), _batch("t1", 5), _batch("t1", 5)])
    assert [r.offset for r in log.read(0, 1)] == [0]
    assert [r.offset for r in log.read(5, 10)] == [5, 10]


def check_release_keeps_what_a_consumer_needs(log: IngestLog) -> None:
    """Released records may go, but never past the slowest registered consumer."""
    assert log.register("store", 0) == 0
    assert log.register("stream", 0) == 0
    for i in range(50):
        log.append([_batch("t1", 100, i * 100)])
    log.release("store", 5000)
    assert [r.offset for r in log.read(0, 150)][:1] == [0]  # stream still needs offset 0
    log.release("stream", 2000)
    assert log.start <= 2000
    assert log.read(2000, 100)[0].offset == 2000
    assert log.register("late", 0) == log.start  # a newcomer starts at the oldest record held


ALL_CHECKS: list[Check] = [
    check_offsets_count_points,
    check_read_from_a_boundary,
    check_read_at_least_one_record,
    check_release_keeps_what_a_consumer_needs,
]
