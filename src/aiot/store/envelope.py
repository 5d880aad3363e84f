"""A series downsampled to a chart's width: the minimum and maximum of each pixel's bucket.

A line drawn through each bucket's min and max looks like the line through every point (the
spikes stay), at two points a pixel, so that a year of one-second data charts as fast as an hour.
Ranges with few points come back raw.

>>> from aiot.store.memory import MemoryStore
>>> envelope(MemoryStore(), "default", "pump-1", None, 0, 1000, 100)
{}
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from aiot.domain import Aggregation
from aiot.store.base import TelemetryStore

__all__ = ["Points", "envelope"]

Points = dict[str, list[list[float]]]
"""key → ``[[ts, value], ...]`` by ts, the shape ECharts and ThingsBoard use."""


def envelope(
    store: TelemetryStore,
    tenant: str,
    device: str,
    keys: Sequence[str] | None,
    start: int,
    end: int,
    width: int,
) -> Points:
    """Numeric points of ``[start, end)``: raw when at most ``2 * width`` a key, else min/max."""
    raw = store.query(tenant, device, keys, start, end, limit=2 * width + 1)
    raw = raw.filter(pc.is_valid(raw["value"]))
    counts = raw.group_by("key").aggregate([("ts", "count")]).to_pydict()
    crowded = [k for k, n in zip(counts["key"], counts["ts_count"], strict=True) if n > 2 * width]
    points = {k: v for k, v in _rows(raw).items() if k not in crowded}
    if crowded:
        step = max(1, -(-(end - start) // width))
        low = _rows(store.aggregate(tenant, device, crowded, start, end, step, Aggregation.MIN))
        high = _rows(store.aggregate(tenant, device, crowded, start, end, step, Aggregation.MAX))
        for key in crowded:
            # the max half a bucket later, so that the line goes down to the min and up again
            pairs = zip(low.get(key, []), high.get(key, []), strict=True)
            points[key] = [p for lo, hi in pairs for p in (lo, [hi[0] + step / 2, hi[1]])]
    return dict(sorted(points.items()))


def _rows(table: pa.Table) -> Points:
    out: Points = {}
    columns = (table[c].to_pylist() for c in ("key", "ts", "value"))
    for key, ts, value in zip(*columns, strict=True):
        if value is not None:
            out.setdefault(key, []).append([ts, value])
    return out
