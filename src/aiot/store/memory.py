"""An in-memory telemetry store for unit tests and throwaway demos (nothing survives exit)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from aiot.domain import Aggregation, Batch, Kind
from aiot.store.base import AGG_SCHEMA, RAW_SCHEMA
from aiot.store.wal.base import Record

__all__ = ["MemoryStore"]

Array = np.ndarray[Any, Any]


@dataclass
class _Series:
    ts: Array
    value: Array
    text: Array
    kind: Array

    def merge(self, other: _Series) -> _Series:
        """Both series, sorted by ts, the later write winning on equal ts."""
        cols = [
            np.concatenate([a, b]) for a, b in zip(self.columns(), other.columns(), strict=True)
        ]
        # Reverse so that np.unique's first occurrence is the last write.
        rev = [c[::-1] for c in cols]
        _, first = np.unique(rev[0], return_index=True)
        return _Series(*(c[first] for c in rev))

    def columns(self) -> tuple[Array, Array, Array, Array]:
        return self.ts, self.value, self.text, self.kind

    def select(self, rows: Array) -> _Series:
        return _Series(self.ts[rows], self.value[rows], self.text[rows], self.kind[rows])


class MemoryStore:
    """Keeps every series as sorted NumPy columns in a dict keyed by (tenant, device, key)."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str, str], _Series] = {}
        self._position = 0
        self._lock = threading.Lock()

    def apply(self, records: Sequence[Record]) -> int:
        """Write the records in order; their end becomes the position."""
        written = sum(self.write(record.batch) for record in records)
        if records:
            with self._lock:
                self._position = records[-1].end
        return written

    def position(self) -> int:
        """The ingest-log offset applied so far (0 after every start: nothing is kept)."""
        with self._lock:
            return self._position

    def checkpoint(self) -> None:
        """Nothing to make durable."""

    def write(self, batch: Batch) -> int:
        """Merge the batch into the series it touches."""
        t = batch.table
        device, key = (
            t.column("device").to_numpy(zero_copy_only=False),
            t.column("key").to_numpy(zero_copy_only=False),
        )
        cols = _Series(
            t.column("ts").to_numpy(),
            t.column("value").to_numpy(zero_copy_only=False).astype(np.float64),
            np.asarray(t.column("text").to_pylist(), dtype=object),
            t.column("kind").to_numpy(),
        )
        pairs = np.char.add(np.char.add(device.astype(str), "\x1f"), key.astype(str))
        with self._lock:
            for pair in np.unique(pairs):
                d, k = str(pair).split("\x1f", 1)
                part = cols.select(pairs == pair)
                old = self._series.get((batch.tenant, d, k))
                empty = _Series(*(c[:0] for c in part.columns()))
                self._series[(batch.tenant, d, k)] = (old or empty).merge(part)
        return len(batch)

    def _matching(
        self, tenant: str, device: str, keys: Sequence[str] | None
    ) -> list[tuple[str, _Series]]:
        with self._lock:
            found = [
                (k, s)
                for (t, d, k), s in self._series.items()
                if t == tenant and d == device and (keys is None or k in keys)
            ]
        return sorted(found, key=lambda pair: pair[0])

    def query(
        self,
        tenant: str,
        device: str,
        keys: Sequence[str] | None,
        start: int,
        end: int,
        limit: int | None = None,
        order: str = "asc",
    ) -> pa.Table:
        """Raw points in ``[start, end)``, by key then ts in ``order``, ``limit`` per key."""
        if order not in ("asc", "desc"):
            raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
        parts = []
        for k, s in self._matching(tenant, device, keys):
            rows = np.flatnonzero((s.ts >= start) & (s.ts < end))
            rows = rows[::-1] if order == "desc" else rows
            parts.append(_raw_table(k, s.select(rows[:limit])))  # every key gets its share
        return pa.concat_tables(parts) if parts else RAW_SCHEMA.empty_table()

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
        order: str = "asc",
    ) -> pa.Table:
        """Bucketed aggregates, one row per key and non-empty bucket, ``limit`` per key."""
        rows: dict[str, list[Any]] = {"key": [], "ts": [], "value": []}
        for k, s in self._matching(tenant, device, keys):
            part = s.select((s.ts >= start) & (s.ts < end))
            buckets = (part.ts - start) // interval
            found = 0
            for b in np.unique(buckets)[:: -1 if order == "desc" else 1]:
                value = _aggregate(part.select(buckets == b), agg)
                if value is None:
                    continue
                if limit is not None and found == limit:
                    break
                found += 1
                rows["key"].append(k)
                rows["ts"].append(int(start + b * interval))
                rows["value"].append(value)
        return pa.table(rows, schema=AGG_SCHEMA)

    def latest(self, tenant: str, device: str, keys: Sequence[str] | None = None) -> pa.Table:
        """The last point of each key."""
        parts = [
            _raw_table(k, s.select(np.array([len(s.ts) - 1])))
            for k, s in self._matching(tenant, device, keys)
            if len(s.ts)
        ]
        return pa.concat_tables(parts) if parts else RAW_SCHEMA.empty_table()

    def keys(self, tenant: str, device: str) -> list[str]:
        """Keys with at least one point."""
        return [k for k, s in self._matching(tenant, device, None) if len(s.ts)]

    def delete_before(self, tenant: str, ts: int, device: str | None = None) -> int:
        """Drop points older than ``ts``."""
        return self._delete(tenant, device, lambda s: s.ts < ts)

    def delete_device(self, tenant: str, device: str) -> int:
        """Drop every point of ``device``."""
        return self._delete(tenant, device, lambda s: np.ones(len(s.ts), dtype=bool))

    def delete_tenant(self, tenant: str) -> int:
        """Drop every point of the tenant."""
        with self._lock:
            doomed = [name for name in self._series if name[0] == tenant]
            return sum(len(self._series.pop(name).ts) for name in doomed)

    def _delete(self, tenant: str, device: str | None, doomed: Callable[[_Series], Array]) -> int:
        removed = 0
        with self._lock:
            for (t, d, k), s in list(self._series.items()):
                if t == tenant and (device is None or d == device):
                    mask = doomed(s)
                    removed += int(mask.sum())
                    self._series[(t, d, k)] = s.select(~mask)
        return removed

    def count(self, tenant: str) -> int:
        """Points held for the tenant."""
        with self._lock:
            return sum(len(s.ts) for (t, _, _), s in self._series.items() if t == tenant)

    def close(self) -> None:
        """Nothing to release."""


def _raw_table(key: str, s: _Series) -> pa.Table:
    n = len(s.ts)
    value = pa.array(s.value, pa.float64(), mask=np.isnan(s.value))
    return pa.table(
        {
            "key": pa.repeat(pa.scalar(key, pa.string()), n),
            "ts": pa.array(s.ts, pa.int64()),
            "value": value,
            "text": pa.array(list(s.text), pa.string()),
            "kind": pa.array(s.kind, pa.int8()),
        },
        schema=RAW_SCHEMA,
    )


def _aggregate(s: _Series, agg: Aggregation) -> float | None:
    if agg is Aggregation.COUNT:
        return float(len(s.ts))
    numeric = s.select(np.isin(s.kind, [Kind.NUMBER, Kind.BOOL]) & ~np.isnan(s.value))
    if not len(numeric.ts):
        return None
    reducers: dict[Aggregation, Callable[[Array], Any]] = {
        Aggregation.AVG: np.mean,
        Aggregation.MIN: np.min,
        Aggregation.MAX: np.max,
        Aggregation.SUM: np.sum,
        Aggregation.LAST: lambda v: v[-1],
    }
    return float(reducers[agg](numeric.value))
