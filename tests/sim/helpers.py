"""Helpers of the simulator tests: runs as (time, device) arrays per key."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from aiot.domain import Batch
from aiot.sim import GridSimulator

HOUR = 3_600_000
START = 1_704_672_000_000  # Monday 2024-01-08 00:00 UTC


def table(sim: GridSimulator, hours: float, chunk_ms: int = 86_400_000) -> pa.Table:
    """Every reading of ``hours`` from START, sorted by device, key and time."""
    batches = list(sim.generate(START, START + int(hours * HOUR), chunk_ms))
    merged = Batch.concat(sim.tenant, batches).table
    return merged.sort_by([("device", "ascending"), ("key", "ascending"), ("ts", "ascending")])


def arrays(sim: GridSimulator, hours: float) -> dict[str, np.ndarray[Any, Any]]:
    """Each key's readings as a (time, device) array."""
    t = table(sim, hours)
    n_dev = len(sim.devices)
    out = {}
    keys = t.column("key").to_numpy(zero_copy_only=False)
    values = t.column("value").to_numpy()
    for key in sim.keys:
        out[key] = values[keys == key].reshape(n_dev, -1).T
    return out


def window(sim: GridSimulator, start_h: float, end_h: float) -> slice:
    """Rows of an :func:`arrays` result between two hours from START."""
    step = sim.interval_ms
    return slice(int(start_h * HOUR / step), int(end_h * HOUR / step))
