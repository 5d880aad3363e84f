"""``aiot up`` keeps its data folder private: the folder 0700, every file 0600, no plain secret."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow

POLICY = {"notify": [{"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "hook-5ecret-e2e"}}]}


def _modes(folder: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _write_everything(server: AiotProcess) -> str:
    """A device's telemetry, a bridge with a password, a deployment with a webhook secret."""
    with server.admin() as api:
        pump = api.post("/api/devices", json={"name": "pump-1", "type": "pump"}).json()
        rows = [{"ts": 1_000 * i, "values": {"temp": 20.0 + i % 3}} for i in range(1, 200)]
        sent = httpx.post(f"{server.url}/api/v1/{pump['access_token']}/telemetry", json=rows)
        assert sent.status_code == 200
        bridge = {"name": "plant", "url": "mqtt://127.0.0.1:9", "topics": ["p/{device}/json"]}
        made = api.post("/api/bridges", json={**bridge, "password": "bridge-5ecret-e2e"})
        assert made.status_code == 201
        body = {"name": "t", "detector": "zscore", "keys": ["temp"], "policy": POLICY}
        made = api.post("/api/deployments", json={**body, "selector": {"type": "pump"}})
        assert made.status_code == 201, made.text
        stored = api.get("/api/devices/pump-1/telemetry", params={"keys": "temp", "start": 0})
        assert len(stored.json()["temp"]) > 0
    return str(pump["access_token"])


def test_the_data_folder_is_private_and_holds_no_plain_secret(tmp_path: Path) -> None:
    server = AiotProcess(tmp_path / "aiot-data")
    server.start()
    server.stop()
    for path in [server.data_dir, *server.data_dir.rglob("*")]:  # as an older version left it
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    server.start()
    try:
        token = _write_everything(server)
    finally:
        server.stop()
    modes = _modes(server.data_dir)
    assert {"catalog.sqlite", "telemetry.duckdb", "secret.key", "admin.key"} <= set(modes)
    assert any(name.startswith("wal/") for name in modes), modes
    assert any(name.startswith("stream/") for name in modes), modes
    loose = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (server.data_dir / name).is_dir() else 0o600)
    }
    assert loose == {}
    catalog = b"".join(p.read_bytes() for p in server.data_dir.glob("catalog.sqlite*"))
    for secret in (token, "bridge-5ecret-e2e", "hook-5ecret-e2e"):
        assert secret.encode() not in catalog, secret
