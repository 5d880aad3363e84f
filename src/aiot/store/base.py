"""The telemetry store contract.

A :class:`TelemetryStore` keeps points of every tenant and answers range, aggregate and
latest-value queries. Its contract, checked for every backend by :mod:`aiot.store.checks`:

- ``write`` returns only once the points are durable; a point is identified by
  (tenant, device, key, ts) and a later write of the same point replaces it (last write wins,
  within a batch too), so a device that resends after a lost acknowledgement stores it once.
- ``apply`` writes records of the ingest log (:mod:`aiot.store.wal`) and, in the same
  transaction, their end as the store's ``position``: after a crash the log is replayed from
  ``position`` and no point is applied twice or skipped. Later offsets win on equal points.
  ``checkpoint`` makes everything applied durable in the store's own files, so that the log
  may drop what the store has taken.
- Time ranges are ``[start, end)`` in epoch milliseconds; results are ordered by key, then ts
  (newest first within each key when a query asks for ``order="desc"``).
- A query's ``limit`` (raw or aggregated) applies per key, as ThingsBoard's timeseries API
  does: every key asked for gets up to ``limit`` points (or buckets), the oldest ones
  (``"asc"``) or the newest (``"desc"``).
- Aggregates bucket time from ``start`` in steps of ``interval`` ms. ``count`` counts every
  point; the other aggregates use numeric points (numbers and booleans) only; ``last`` is the
  value with the greatest ts in the bucket. Buckets without points are absent.
- Every call names its tenant; nothing of another tenant is ever returned or deleted.

Query results are Arrow tables with the columns of :data:`RAW_SCHEMA` or :data:`AGG_SCHEMA`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import pyarrow as pa

from aiot.domain import Aggregation, Batch
from aiot.store.wal.base import Record

__all__ = ["AGG_SCHEMA", "RAW_SCHEMA", "Order", "TelemetryStore"]

Order = Literal["asc", "desc"]
"""The order of a raw query's points within each key: oldest first, or newest first."""

RAW_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string()),
        pa.field("ts", pa.int64()),
        pa.field("value", pa.float64()),
        pa.field("text", pa.string()),
        pa.field("kind", pa.int8()),
    ]
)

AGG_SCHEMA = pa.schema(
    [pa.field("key", pa.string()), pa.field("ts", pa.int64()), pa.field("value", pa.float64())]
)


@runtime_checkable
class TelemetryStore(Protocol):
    """Where telemetry points are kept and queried."""

    def write(self, batch: Batch) -> int:
        """Store the points durably; return how many were written."""
        ...

    def apply(self, records: Sequence[Record]) -> int:
        """Store the log's records and their end as :meth:`position`, atomically; points."""
        ...

    def position(self) -> int:
        """The ingest-log offset up to which this store has applied records (0 when new)."""
        ...

    def checkpoint(self) -> None:
        """Make every applied record durable in the store's own files."""
        ...

    def query(
        self,
        tenant: str,
        device: str,
        keys: Sequence[str] | None,
        start: int,
        end: int,
        limit: int | None = None,
        order: Order = "asc",
    ) -> pa.Table:
        """Raw points of ``device`` in ``[start, end)``, up to ``limit`` of each key.

        All keys when ``keys`` is None. Keys come sorted; within a key, points are by ts in
        ``order``, and ``limit`` keeps the first ones in that order (the newest for ``"desc"``).
        """
        ...

    def aggregate(
        self,
        tenant: str,
        device: str,
        keys: Sequence[str] | None,
        start: int,
        end: int,
        interval: int,
        agg: Aggregation,
        limit: int | None = None,
        order: Order = "asc",
    ) -> pa.Table:
        """One row per key and non-empty bucket of ``interval`` ms from ``start``.

        Buckets by key then ts in ``order``; at most ``limit`` per key, the first in that order.
        """
        ...

    def latest(self, tenant: str, device: str, keys: Sequence[str] | None = None) -> pa.Table:
        """The point with the greatest ts of each key of ``device``."""
        ...

    def keys(self, tenant: str, device: str) -> list[str]:
        """The keys ``device`` has points for, sorted."""
        ...

    def delete_before(self, tenant: str, ts: int, device: str | None = None) -> int:
        """Delete the tenant's points older than ``ts`` (retention); return how many."""
        ...

    def delete_device(self, tenant: str, device: str) -> int:
        """Delete every point of ``device``; return how many."""
        ...

    def delete_tenant(self, tenant: str) -> int:
        """Delete every point of the tenant; return how many."""
        ...

    def count(self, tenant: str) -> int:
        """How many points the tenant has."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...
