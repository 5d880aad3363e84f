"""The stream stage scores acknowledged points, raises and clears alarms, and resumes exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiot.domain import AlarmStatus, Batch, Selector
from aiot.store.catalog import Catalog
from aiot.store.duckdb import DuckDBStore
from aiot.store.memory import MemoryStore
from aiot.store.wal import FileLog, MemoryLog
from aiot.stream import StreamRunner

POLICY = {"threshold": 6.0, "hits": 1, "window": 1, "clear_after": 3}


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    made = Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")
    made.create_tenant("t1")
    return made


def _signal(n: int, spike_at: int | None = None, seed: int = 1) -> np.ndarray:
    values = 20.0 + np.random.default_rng(seed).normal(0, 0.5, n)
    if spike_at is not None:
        values[spike_at : spike_at + 5] += 40.0
    return values


def _deploy(catalog: Catalog, device: str, policy: dict[str, Any] | None = None) -> str:
    dep = catalog.create_deployment(
        "t1", "temp-z", "zscore", {}, ["temp"], Selector(device=device), policy or POLICY
    )
    return dep.id


def _feed(wal: Any, runner: StreamRunner, device: str, values: np.ndarray, first: int) -> None:
    ts = np.arange(first, first + len(values)) * 1000
    for part in range(0, len(values), 50):
        wal.append(
            [Batch.numeric("t1", device, "temp", ts[part : part + 50], values[part : part + 50])]
        )
    while runner._step():
        pass


def test_points_are_scored_and_a_spike_raises_then_clears_an_alarm(catalog: Catalog) -> None:
    pump = catalog.create_device("t1", "pump-1", "pump")
    _deploy(catalog, pump.id)
    wal, store = MemoryLog(), MemoryStore()
    runner = StreamRunner(wal, store, catalog, None)
    runner._sync()
    _feed(wal, runner, pump.id, _signal(400, spike_at=300), 0)
    scores = store.query("t1", pump.id, ["score/temp-z"], 0, 10**9)
    assert scores.num_rows == 400  # every point scored once
    alarms = catalog.alarms("t1", device=pump.id)
    assert len(alarms) == 1
    alarm = alarms[0]
    assert alarm.start_ms == 300_000
    assert alarm.status is AlarmStatus.CLEARED_UNACK  # the spike ended, the alarm cleared
    assert alarm.details["values"]["temp"] > 50


def test_late_points_are_counted_not_scored(catalog: Catalog) -> None:
    pump = catalog.create_device("t1", "pump-1", "pump")
    dep_id = _deploy(catalog, pump.id)
    wal, store = MemoryLog(), MemoryStore()
    runner = StreamRunner(wal, store, catalog, None)
    runner._sync()
    _feed(wal, runner, pump.id, _signal(100), 100)
    _feed(wal, runner, pump.id, _signal(10), 0)  # older than what was scored
    assert runner.stats()[dep_id]["late"] == 10
    assert store.query("t1", pump.id, ["score/temp-z"], 0, 10**9).num_rows == 100


def test_a_device_that_joins_the_selector_later_is_scored(catalog: Catalog) -> None:
    catalog.create_deployment("t1", "pumps", "zscore", {}, ["temp"], Selector(type="pump"), POLICY)
    wal, store = MemoryLog(), MemoryStore()
    runner = StreamRunner(wal, store, catalog, None)
    runner._sync()
    new = catalog.create_device("t1", "pump-9", "pump")
    runner._devices_at = -10.0  # as if two seconds had passed
    _feed(wal, runner, new.id, _signal(60), 0)
    assert store.query("t1", new.id, ["score/pumps"], 0, 10**9).num_rows == 60


def test_a_restart_from_the_checkpoint_scores_as_an_uninterrupted_run(tmp_path: Path) -> None:
    values = _signal(600, spike_at=450)

    def run(folder: Path, cut: int | None) -> tuple[list[float], list[int], list[int]]:
        catalog = Catalog(f"sqlite:///{folder / 'c.sqlite'}")
        catalog.create_tenant("t1")
        pump = catalog.create_device("t1", "pump-1", "pump")
        _deploy(catalog, pump.id)
        wal, store = FileLog(folder / "wal"), DuckDBStore(folder / "t.duckdb")
        runner = StreamRunner(wal, store, catalog, folder / "stream")
        runner._sync()
        _feed(wal, runner, pump.id, values if cut is None else values[:cut], 0)
        if cut is not None:
            runner._save()
            _feed(wal, runner, pump.id, values[cut : cut + 200], cut)  # scored, not saved
            runner = StreamRunner(wal, store, catalog, folder / "stream")  # a crash, a restart
            runner._sync()
            assert runner.position == cut  # resumes at the checkpoint
            while runner._step():
                pass
            _feed(wal, runner, pump.id, values[cut + 200 :], cut + 200)
        got = store.query("t1", pump.id, ["score/temp-z"], 0, 10**9)
        starts = sorted(a.start_ms for a in catalog.alarms("t1", device=pump.id))
        store.close()
        return got.column("value").to_pylist(), got.column("ts").to_pylist(), starts

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole, whole_ts, whole_alarms = run(tmp_path / "a", None)
    split, split_ts, split_alarms = run(tmp_path / "b", 300)
    assert split_ts == whole_ts
    assert np.allclose(split, whole)
    assert whole_alarms == split_alarms == [450_000]  # scored again after the crash: no twin


def test_a_multivariate_alarm_names_the_keys_that_moved(catalog: Catalog) -> None:
    reactor = catalog.create_device("t1", "reactor-1", "cstr")
    catalog.create_deployment(
        "t1",
        "r-pca",
        "pca",
        {"warmup": 200},
        ["a", "b", "c"],
        Selector(type="cstr"),
        {"threshold": 20.0},
        multivariate=True,
    )
    wal, store = MemoryLog(), MemoryStore()
    runner = StreamRunner(wal, store, catalog, None)
    runner._sync()
    rng = np.random.default_rng(3)
    base = rng.normal(size=400)
    noise = rng.normal(0, 0.05, (3, 400))
    values = {"a": base + noise[0], "b": 2 * base + noise[1], "c": noise[2] - base}
    values["b"][350:] += 6.0  # b leaves its bond with a and c
    ts = np.arange(400) * 1000
    keys = np.array(list(values))
    for part in range(0, 400, 50):  # a device sends all its keys in one message
        rows = slice(part, part + 50)
        stamp = np.repeat(ts[rows], 3)
        named = np.tile(keys, 50)
        value = np.stack([values[k][rows] for k in keys], axis=1).reshape(-1)
        wal.append([Batch.numeric("t1", reactor.id, named, stamp, value)])
    while runner._step():
        pass
    alarm = catalog.alarms("t1", device=reactor.id)[0]
    assert next(iter(alarm.details["contributions"])) == "b"


def test_a_device_silent_past_the_policy_limit_raises_no_data_until_it_speaks(
    catalog: Catalog,
) -> None:
    pump = catalog.create_device("t1", "pump-1", "pump")
    _deploy(catalog, pump.id, {**POLICY, "no_data_ms": 60_000})
    wal, store = MemoryLog(), MemoryStore()
    runner = StreamRunner(wal, store, catalog, None)
    runner._sync()
    _feed(wal, runner, pump.id, _signal(10), 0)
    heard = next(iter(runner._running.values())).heard[pump.id]
    runner._silence(heard + 30)
    assert catalog.alarms("t1", type="no_data") == []
    runner._silence(heard + 61)
    (alarm,) = catalog.alarms("t1", type="no_data")
    assert alarm.status is AlarmStatus.ACTIVE_UNACK and alarm.device == pump.id
    runner._silence(heard + 62)
    assert len(catalog.alarms("t1", type="no_data")) == 1  # raised once
    _feed(wal, runner, pump.id, _signal(5), 100)
    runner._silence(next(iter(runner._running.values())).heard[pump.id] + 1)
    assert catalog.alarm("t1", alarm.id).status is AlarmStatus.CLEARED_UNACK


def test_a_backfill_scores_stored_history_before_live_points(catalog: Catalog) -> None:
    pump = catalog.create_device("t1", "pump-1", "pump")
    wal, store = MemoryLog(), MemoryStore()
    history = _signal(300, spike_at=200)
    store.write(Batch.numeric("t1", pump.id, "temp", np.arange(300) * 1000, history))
    runner = StreamRunner(wal, store, catalog, None)
    dep_id = _deploy(catalog, pump.id)
    runner.backfill(dep_id, 0, 400_000)
    runner._sync()
    runner._history()
    assert runner.stats()[dep_id]["backfill"] == {"state": "done", "done": 1, "total": 1}
    assert store.query("t1", pump.id, ["score/temp-z"], 0, 10**9).num_rows == 300
    assert [a.start_ms for a in catalog.alarms("t1", device=pump.id)] == [200_000]
    _feed(wal, runner, pump.id, _signal(50), 300)  # live points go on from the history
    assert store.query("t1", pump.id, ["score/temp-z"], 0, 10**9).num_rows == 350


def test_the_threshold_in_force_is_stored_beside_the_scores(catalog: Catalog) -> None:
    pump = catalog.create_device("t1", "pump-1", "pump")
    policy = {"calibrate": {"false_alarm_rate": 0.01, "warmup": 100}}
    _deploy(catalog, pump.id, policy)
    wal, store = MemoryLog(), MemoryStore()
    runner = StreamRunner(wal, store, catalog, None)
    runner._sync()
    _feed(wal, runner, pump.id, _signal(50), 0)
    assert store.query("t1", pump.id, ["threshold/temp-z"], 0, 10**9).num_rows == 0  # calibrating
    _feed(wal, runner, pump.id, _signal(200), 50)
    stored = store.query("t1", pump.id, ["threshold/temp-z"], 0, 10**9)
    assert stored.num_rows >= 1 and stored.column("value")[0].as_py() > 0
