"""The demo's deployments on a simulated week: quiet on normal data, alarms on injected faults."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from aiot.cli.demo import demo_deployments
from aiot.domain import Batch
from aiot.operations import Operations
from aiot.sim.fleet import mixed_fleet
from aiot.store.catalog import Catalog
from aiot.store.memory import MemoryStore
from aiot.store.wal import MemoryLog
from aiot.stream import StreamRunner

DAY_MS = 86_400_000

pytestmark = pytest.mark.slow


def _run_week(tmp_path: Path, fault_rate: float) -> tuple[Catalog, int, int]:
    """Alarms raised, faults injected and points scored over a week of one device a vertical."""
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")
    catalog.create_tenant("t1")
    fleet = mixed_fleet(devices_per_vertical=1, seed=11, fault_rate=fault_rate, tenant="t1")
    ids = {d.name: catalog.create_device("t1", d.name, d.type, d.labels).id for d in fleet.devices}
    wal, store = MemoryLog(), MemoryStore()
    runner = StreamRunner(wal, store, catalog, None)
    ops = Operations(catalog, runner, lambda: store)
    for spec in demo_deployments(fleet):
        ops.deploy("t1", spec)
    runner._sync()
    for batch in fleet.generate(0, 7 * DAY_MS, chunk_ms=DAY_MS // 4):
        named = [ids[n] for n in batch.table["device"].to_pylist()]
        table = batch.table.set_column(0, "device", pa.array(named, pa.string()))
        wal.append([Batch("t1", table)])
        while runner._step():
            pass
    scored = sum(s["scored"] for s in runner.stats().values())
    return catalog, len(fleet.labels), scored


def test_a_normal_week_raises_no_more_alarms_than_the_policies_allow(tmp_path: Path) -> None:
    catalog, faults, scored = _run_week(tmp_path, fault_rate=0.0)
    assert faults == 0 and scored > 100_000
    alarms = catalog.alarms("t1", limit=10_000)
    # Each policy asks for a 0.1 % false-alarm rate per scored point before its 3-of-5 rule
    # and margin; the week's scored points set the ceiling that rate allows.
    assert len(alarms) <= 0.001 * scored
    assert len(alarms) <= 7  # about one a day across the fleet, at the very most


def test_injected_faults_raise_alarms(tmp_path: Path) -> None:
    catalog, faults, _ = _run_week(tmp_path, fault_rate=2.0)
    assert faults >= 10
    assert catalog.alarms("t1", limit=10_000)
