"""``aiot demo`` comes up with live simulated fleets of the three verticals."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow


def test_demo_serves_live_fleets(tmp_path: Path) -> None:
    demo = AiotProcess(tmp_path / "aiot-data", command=("demo", "--devices", "1", "--history", "1"))
    started = time.monotonic()
    demo.start()
    key = (demo.data_dir / "admin.key").read_text().strip()
    api = httpx.Client(base_url=demo.url, headers={"Authorization": f"Bearer {key}"})
    try:
        types = {d["name"]: d["type"] for d in api.get("/api/devices").json()}
        assert set(types) == {"traffic-001", "oilwell-001", "reactor-001"}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            counts = {n: api.get(f"/api/devices/{n}/keys").json() for n in types}
            if all(counts.values()):
                break
            time.sleep(0.5)
        assert all(counts.values()), counts
        latest = api.get("/api/devices/reactor-001/latest").json()
        newest = max(p["ts"] for p in latest.values())
        assert time.time() * 1000 - newest < 120_000  # live, not only history
        assert time.monotonic() - started < 120
    finally:
        api.close()
        output = demo.stop()
    assert "Feeding 3 simulated devices" in output
