"""Series ids for the embedded store: each (tenant, device, key) stored once, points by id.

A point row in DuckDB then holds an integer instead of three strings, which makes appends
about three times cheaper. :class:`SeriesIndex` keeps every id in memory, together with the
newest ts the store holds of each series, so that an append learns without a lookup whether
it may replace stored points (a resent or late point) or only adds new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aiot.store.wal.base import Record

__all__ = ["Incoming", "SeriesIndex"]

_SEP = "\x1f"  # never in tenant or device ids (slugs, UUIDs); a key may hold it: split twice
SERIES_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int32()),
        pa.field("tenant", pa.string()),
        pa.field("device", pa.string()),
        pa.field("key", pa.string()),
    ]
)


@dataclass
class Incoming:
    """Points ready to append: ``points`` (series, ts, value, text, kind, seq) and new series."""

    points: pa.Table
    new_series: pa.Table
    summary: pa.Table  # per series id: ts min/max, count and distinct count
    names: dict[str, int] = field(default_factory=dict)  # new series: joined name → id

    @property
    def repeats(self) -> bool:
        """Whether a point appears twice (then the greatest seq must win)."""
        counts = self.summary["ts_count"], self.summary["ts_count_distinct"]
        return bool(pc.any(pc.less(counts[1], counts[0])).as_py())


class SeriesIndex:
    """Every series id of a store, and the newest ts held of each; not thread-safe."""

    def __init__(self, rows: Sequence[tuple[int, str, str, str]] = (), newest: Any = ()) -> None:
        self._ids: dict[str, int] = {}
        self._devices: dict[tuple[str, str], dict[str, int]] = {}
        self.newest: dict[int, int] = dict(newest)
        self._next = 0
        for sid, tenant, device, key in rows:
            self._add(sid, tenant, device, key)

    def _add(self, sid: int, tenant: str, device: str, key: str) -> None:
        self._ids[_SEP.join((tenant, device, key))] = sid
        self._devices.setdefault((tenant, device), {})[key] = sid
        self._next = max(self._next, sid + 1)

    def of_device(self, tenant: str, device: str, keys: Sequence[str] | None = None) -> list[int]:
        """The ids of a device's series (only of ``keys`` when given)."""
        found = self._devices.get((tenant, device), {})
        if keys is None:
            return sorted(found.values())
        return sorted(found[k] for k in set(keys) if k in found)

    def devices(self, tenant: str) -> list[str]:
        """The devices of a tenant that have series."""
        return sorted(d for t, d in self._devices if t == tenant)

    def forget(self, tenant: str, device: str) -> list[int]:
        """Drop a device's series; their ids."""
        gone = self._devices.pop((tenant, device), {})
        for key, sid in gone.items():
            self._ids.pop(_SEP.join((tenant, device, key)), None)
            self.newest.pop(sid, None)
        return sorted(gone.values())

    def prepare(self, records: Sequence[Record]) -> Incoming:
        """The records' points by series id (new series get the next ids, not yet kept)."""
        joined, parts = [], []
        for record in records:
            table, n = record.batch.table, len(record.batch)
            tenant = pa.scalar(record.batch.tenant)
            name = pc.binary_join_element_wise(tenant, table["device"], table["key"], _SEP)
            joined.extend(name.chunks)
            seq = pa.array(np.arange(record.offset, record.offset + n, dtype=np.int64))
            parts.append(table.select(["ts", "value", "text", "kind"]).append_column("seq", seq))
        names = pc.dictionary_encode(pa.chunked_array(joined, pa.string()).combine_chunks())
        lookup, new = self._lookup(names.dictionary.to_pylist())
        ids = pa.array(lookup, pa.int32()).take(names.indices)
        points = pa.concat_tables(parts).add_column(0, "series", ids)
        summary = points.group_by(["series"], use_threads=False).aggregate(
            [("ts", "min"), ("ts", "max"), ("ts", "count"), ("ts", "count_distinct")]
        )
        return Incoming(points, _series_table(new), summary, new)

    def _lookup(self, names: list[str]) -> tuple[list[int], dict[str, int]]:
        ids, new, at = [], {}, self._next
        for name in names:
            sid = self._ids.get(name)
            if sid is None:
                sid = new[name] = at
                at += 1
            ids.append(sid)
        return ids, new

    def late(self, incoming: Incoming) -> tuple[int, int] | None:
        """The ts range of series that reach back to a point already held, if any do."""
        summary = incoming.summary
        rows = zip(*(summary[c].to_pylist() for c in ("series", "ts_min", "ts_max")), strict=True)
        low = high = None
        for sid, first, last in rows:
            held = self.newest.get(sid)
            if held is not None and first <= held:
                low = first if low is None else min(low, first)
                high = last if high is None else max(high, last)
        return None if low is None or high is None else (low, high)

    def keep(self, incoming: Incoming) -> None:
        """The append committed: keep its new series and newest ts."""
        for name, sid in incoming.names.items():
            tenant, device, key = name.split(_SEP, 2)
            self._add(sid, tenant, device, key)
        rows = zip(*(incoming.summary[c].to_pylist() for c in ("series", "ts_max")), strict=True)
        newest = self.newest
        for sid, last in rows:
            if last > newest.get(sid, last - 1):
                newest[sid] = last


def _series_table(new: dict[str, int]) -> pa.Table:
    parts = [name.split(_SEP, 2) for name in new]
    columns = [list(new.values()), *([p[i] for p in parts] for i in range(3))]
    return pa.Table.from_arrays([pa.array(c) for c in columns], schema=SERIES_SCHEMA)
