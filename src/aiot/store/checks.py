"""The conformance suite every :class:`~aiot.store.base.TelemetryStore` must pass.

Each ``check_*`` function takes a fresh, empty store and raises ``AssertionError`` when the
store breaks the contract in :mod:`aiot.store.base`. ``tests/store`` runs every check
against every backend; a new backend gets the whole suite by being added there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from aiot.domain import BATCH_SCHEMA, Aggregation, Batch, Kind
from aiot.store.base import TelemetryStore
from aiot.store.wal.base import Record

__all__ = ["ALL_CHECKS"]

Check = Callable[[TelemetryStore], None]


def _mixed(tenant: str = "t1") -> Batch:
    rows = {
        "device": ["d1"] * 4,
        "key": ["state", "on", "doc", "temp"],
        "ts": [10, 10, 10, 10],
        "value": [None, 1.0, None, 21.5],
        "text": ["running", None, '{"a": 1}', None],
        "kind": [Kind.TEXT, Kind.BOOL, Kind.JSON, Kind.NUMBER],
    }
    return Batch(tenant, pa.table(rows, schema=BATCH_SCHEMA))


def check_roundtrip_raw(store: TelemetryStore) -> None:
    """Written points come back in key, ts order within the range."""
    ts = np.arange(0, 100_000, 1000)
    store.write(Batch.numeric("t1", "d1", "temp", ts[::-1], ts[::-1] / 1000))
    got = store.query("t1", "d1", ["temp"], 5000, 10_000)
    assert got.column("ts").to_pylist() == [5000, 6000, 7000, 8000, 9000]
    assert got.column("value").to_pylist() == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert store.query("t1", "d1", None, 0, 10**13, limit=3).num_rows == 3


def check_limit_per_key(store: TelemetryStore) -> None:
    """A limit gives every key asked for its share of points, the oldest ones."""
    ts = np.arange(10)
    store.write(Batch.numeric("t1", "d1", ["b"] * 10 + ["a"] * 10, [*ts, *ts], np.ones(20)))
    got = store.query("t1", "d1", ["a", "b"], 2, 100, limit=3).to_pydict()
    assert got["key"] == ["a"] * 3 + ["b"] * 3
    assert got["ts"] == [2, 3, 4, 2, 3, 4]
    assert store.query("t1", "d1", None, 0, 100, limit=10).num_rows == 20


def check_order_desc(store: TelemetryStore) -> None:
    """Descending order is newest first within each key, keys still sorted; limit keeps newest."""
    store.write(Batch.numeric("t1", "d1", ["b", "a", "a", "a", "b"], [1, 1, 2, 3, 2], np.ones(5)))
    got = store.query("t1", "d1", None, 0, 3, order="desc").to_pydict()
    assert got["key"] == ["a", "a", "b", "b"] and got["ts"] == [2, 1, 2, 1]
    newest = store.query("t1", "d1", ["a", "b"], 0, 10, limit=2, order="desc").to_pydict()
    assert newest["key"] == ["a", "a", "b", "b"] and newest["ts"] == [3, 2, 2, 1]


def check_types_kept(store: TelemetryStore) -> None:
    """Strings, booleans and JSON come back as written, with their kind."""
    store.write(_mixed())
    got = store.query("t1", "d1", None, 0, 100).to_pydict()
    assert got["key"] == ["doc", "on", "state", "temp"]
    assert got["text"] == ['{"a": 1}', None, "running", None]
    assert got["value"] == [None, 1.0, None, 21.5]
    assert got["kind"] == [Kind.JSON, Kind.BOOL, Kind.TEXT, Kind.NUMBER]


def check_last_write_wins(store: TelemetryStore) -> None:
    """A resent point replaces the stored one, across writes and within one batch."""
    store.write(Batch.numeric("t1", "d1", "p", [1, 2], [1.0, 2.0]))
    store.write(Batch.numeric("t1", "d1", "p", [2, 2, 3], [20.0, 21.0, 3.0]))
    got = store.query("t1", "d1", ["p"], 0, 10).to_pydict()
    assert got["ts"] == [1, 2, 3]
    assert got["value"] == [1.0, 21.0, 3.0]
    assert store.count("t1") == 3


def check_aggregates(store: TelemetryStore) -> None:
    """Every aggregate matches NumPy on buckets aligned to the start of the range."""
    rng = np.random.default_rng(7)
    ts = np.sort(rng.choice(np.arange(0, 3_600_000, 500), 2000, replace=False))
    values = rng.normal(50, 10, ts.size)
    store.write(Batch.numeric("t1", "d1", "x", ts, values))
    start, interval = 100_000, 600_000
    inside = (ts >= start) & (ts < 3_600_000)
    buckets = (ts[inside] - start) // interval
    reducers: dict[Aggregation, Callable[[np.ndarray[Any, Any]], Any]] = {
        Aggregation.AVG: np.mean,
        Aggregation.MIN: np.min,
        Aggregation.MAX: np.max,
        Aggregation.SUM: np.sum,
        Aggregation.COUNT: len,
        Aggregation.LAST: lambda v: v[-1],
    }
    for agg, reduce in reducers.items():
        got = store.aggregate("t1", "d1", ["x"], start, 3_600_000, interval, agg).to_pydict()
        want = [float(reduce(values[inside][buckets == b])) for b in np.unique(buckets)]
        assert got["ts"] == [int(start + b * interval) for b in np.unique(buckets)], agg
        assert np.allclose(got["value"], want), agg


def check_aggregates_skip_text(store: TelemetryStore) -> None:
    """Text points count but never enter numeric aggregates."""
    store.write(_mixed())
    avg = store.aggregate("t1", "d1", None, 0, 100, 100, Aggregation.AVG).to_pydict()
    assert avg["key"] == ["on", "temp"]
    count = store.aggregate("t1", "d1", None, 0, 100, 100, Aggregation.COUNT).to_pydict()
    assert count["value"] == [1.0, 1.0, 1.0, 1.0]


def check_latest_and_keys(store: TelemetryStore) -> None:
    """Latest gives the newest point per key; keys lists what a device has."""
    store.write(Batch.numeric("t1", "d1", ["a", "a", "b"], [5, 9, 1], [1.0, 2.0, 3.0]))
    store.write(_mixed())
    latest = store.latest("t1", "d1", ["a", "b", "state"]).to_pydict()
    assert latest["key"] == ["a", "b", "state"]
    assert latest["ts"] == [9, 1, 10]
    assert latest["value"][:2] == [2.0, 3.0]
    assert latest["text"][2] == "running"
    assert store.keys("t1", "d1") == ["a", "b", "doc", "on", "state", "temp"]
    assert store.keys("t1", "nobody") == []


def check_tenants_isolated(store: TelemetryStore) -> None:
    """The same device and key names in two tenants never mix, even on delete."""
    store.write(Batch.numeric("t1", "d1", "x", [1, 2], [1.0, 2.0]))
    store.write(Batch.numeric("t2", "d1", "x", [1, 3], [10.0, 30.0]))
    assert store.query("t1", "d1", None, 0, 10).column("value").to_pylist() == [1.0, 2.0]
    assert store.latest("t2", "d1").column("value").to_pylist() == [30.0]
    assert store.delete_device("t2", "d1") == 2
    assert store.count("t1") == 2 and store.count("t2") == 0


def check_delete_tenant(store: TelemetryStore) -> None:
    """delete_tenant drops every point and key of one tenant and nothing of another."""
    store.write(Batch.numeric("t1", ["d1", "d2"], "x", [1, 2], [1.0, 2.0]))
    store.write(Batch.numeric("t2", "d1", "x", [1], [5.0]))
    assert store.delete_tenant("t1") == 2
    assert store.count("t1") == 0 and store.keys("t1", "d1") == []
    assert store.latest("t2", "d1").column("value").to_pylist() == [5.0]
    store.write(Batch.numeric("t1", "d1", "x", [3], [3.0]))  # the name may be used again
    assert store.query("t1", "d1", None, 0, 10).column("value").to_pylist() == [3.0]


def check_retention(store: TelemetryStore) -> None:
    """delete_before drops older points of one tenant, optionally of one device."""
    store.write(Batch.numeric("t1", ["d1", "d1", "d2", "d2"], "x", [1, 5, 1, 5], [1.0] * 4))
    store.write(Batch.numeric("t2", "d1", "x", [1], [1.0]))
    assert store.delete_before("t1", 5, device="d2") == 1
    assert store.delete_before("t1", 5) == 1
    assert store.query("t1", "d1", None, 0, 10).column("ts").to_pylist() == [5]
    assert store.count("t2") == 1


def check_empty_results(store: TelemetryStore) -> None:
    """Queries on nothing return empty tables with the documented columns."""
    assert store.query("t1", "d1", None, 0, 10).num_rows == 0
    assert store.aggregate("t1", "d1", None, 0, 10, 5, Aggregation.AVG).num_rows == 0
    assert store.latest("t1", "d1").num_rows == 0
    assert store.write(Batch.empty("t1")) == 0


def check_large_batch(store: TelemetryStore) -> None:
    """A batch of many devices and keys lands whole."""
    n = 50_000
    devices = np.array([f"d{i % 50}" for i in range(n)])
    keys = np.array([f"k{i % 7}" for i in range(n)])
    store.write(Batch.numeric("t1", devices, keys, np.arange(n), np.ones(n)))
    assert store.count("t1") == n
    assert store.keys("t1", "d3") == [f"k{i}" for i in range(7)]


def check_apply_moves_the_position(store: TelemetryStore) -> None:
    """Applied records move the position to their end; a later offset wins on equal points."""
    assert store.position() == 0
    first = Record(0, Batch.numeric("t1", "d1", "x", [1, 2], [1.0, 2.0]))
    again = Record(2, Batch.numeric("t1", "d1", "x", [2, 3], [20.0, 3.0]))  # ts 2 resent
    assert store.apply([first]) == 2
    assert store.position() == 2
    store.apply([again, Record(4, Batch.numeric("t2", "d1", "x", [2], [9.0]))])
    assert store.position() == 5
    got = store.query("t1", "d1", ["x"], 0, 10).to_pydict()
    assert got["ts"] == [1, 2, 3]
    assert got["value"] == [1.0, 20.0, 3.0]
    assert store.count("t1") == 3
    store.checkpoint()
    assert store.position() == 5


def check_late_points_replace_only_their_own(store: TelemetryStore) -> None:
    """A late batch replaces equal points of its series, and nothing of other series."""
    store.write(Batch.numeric("t1", ["d1", "d2"], "x", [5, 5], [1.0, 2.0]))
    store.write(Batch.numeric("t1", "d1", "x", [3, 5], [30.0, 50.0]))
    assert store.query("t1", "d1", ["x"], 0, 10).column("value").to_pylist() == [30.0, 50.0]
    assert store.query("t1", "d2", ["x"], 0, 10).column("value").to_pylist() == [2.0]
    assert store.count("t1") == 3


ALL_CHECKS: list[Check] = [
    check_apply_moves_the_position,
    check_late_points_replace_only_their_own,
    check_roundtrip_raw,
    check_limit_per_key,
    check_order_desc,
    check_types_kept,
    check_last_write_wins,
    check_aggregates,
    check_aggregates_skip_text,
    check_latest_and_keys,
    check_tenants_isolated,
    check_delete_tenant,
    check_retention,
    check_empty_results,
    check_large_batch,
]
