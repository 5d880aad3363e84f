"""Downsampling to a chart's width keeps each bucket's extremes and few points."""

from __future__ import annotations

from aiot.domain import Batch
from aiot.store.envelope import envelope
from aiot.store.memory import MemoryStore


def _store(n: int) -> MemoryStore:
    store = MemoryStore()
    values = [float(i % 100) for i in range(n)]
    values[4321] = 1e6  # a spike a chart must not lose
    store.write(Batch.numeric("t", "d", "x", list(range(n)), values))
    return store


def test_a_long_series_comes_back_as_min_max_per_pixel() -> None:
    store = _store(100_000)
    found = envelope(store, "t", "d", None, 0, 100_000, 500)
    points = found["x"]
    assert len(points) <= 1000
    values = [v for _, v in points]
    assert max(values) == 1e6 and min(values) == 0.0
    assert [ts for ts, _ in points] == sorted(ts for ts, _ in points)


def test_a_short_series_comes_back_raw() -> None:
    store = _store(5000)
    found = envelope(store, "t", "d", ["x"], 0, 1000, 500)
    assert found["x"][:3] == [[0, 0.0], [1, 1.0], [2, 2.0]]
    assert len(found["x"]) == 1000
    assert envelope(store, "t", "d", ["nope"], 0, 1000, 500) == {}
