"""Firmware updates with ThingsBoard's own Python SDK, unchanged, against ``aiot up``.

A package is uploaded and assigned through the REST API; the SDK (``thingsboard_sdk_ota.py``,
in its own process: it brings a fork of paho) asks for its firmware, downloads and verifies it,
writes it to a file and reports ``UPDATED``; aiot shows that state for the device.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import THINGSBOARD_SDK as SDK
from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow

DEVICE = Path(__file__).with_name("thingsboard_sdk_ota.py")
FIRMWARE = os.urandom(50_000)


def _sdk(cwd: Path, *args: str) -> dict[str, Any]:
    assert (SDK / "tb_device_mqtt.py").exists(), f"ThingsBoard's SDK is not in {SDK}: make install"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(SDK)}
    done = subprocess.run(
        [sys.executable, str(DEVICE), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _assigned(api: httpx.Client, device: str, algorithm: str) -> dict[str, Any]:
    made = api.post("/api/devices", json={"name": device, "type": "pump"})
    assert made.status_code == 201, made.text
    query = {"kind": "firmware", "title": "pump-fw", "version": f"2.0-{device}"}
    package = api.post(
        "/api/packages", params={**query, "checksum_algorithm": algorithm}, content=FIRMWARE
    )
    assert package.status_code == 201, package.text
    done = api.put(f"/api/devices/{device}/firmware", json={"package": package.json()["id"]})
    assert done.status_code == 200, done.text
    return dict(made.json())


def _state(api: httpx.Client, device: str, want: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = api.get(f"/api/devices/{device}/firmware").json()
        if status["state"] == want:
            break
        time.sleep(0.2)
    return status


@pytest.mark.parametrize(("chunk_size", "algorithm"), [(0, "SHA256"), (4096, "MD5")])
def test_thingsboards_mqtt_sdk_downloads_verifies_and_reports_updated(
    server: AiotProcess, tmp_path: Path, chunk_size: int, algorithm: str
) -> None:
    with server.admin() as api:
        device = _assigned(api, "tb-ota", algorithm)
        args = ("mqtt", "127.0.0.1", str(server.mqtt_port), device["access_token"], str(chunk_size))
        seen = _sdk(tmp_path / "device", *args)
        assert seen["fw_state"] == "UPDATED", seen
        assert seen["current_fw_title"] == "pump-fw" and seen["current_fw_version"] == "2.0-tb-ota"
        assert seen["files"] == {"pump-fw": hashlib.sha256(FIRMWARE).hexdigest()}
        status = _state(api, "tb-ota", "UPDATED")
        assert status["state"] == "UPDATED" and status["current_version"] == "2.0-tb-ota", status
        assert status["package"]["title"] == "pump-fw" and status["error"] is None


def test_thingsboards_http_sdk_downloads_in_chunks_and_reports_updated(
    server: AiotProcess, tmp_path: Path
) -> None:
    with server.admin() as api:
        device = _assigned(api, "tb-http-ota", "SHA512")
        seen = _sdk(tmp_path / "device", "http", server.url, device["access_token"], "8192")
        assert seen["files"] == {"pump-fw": hashlib.sha256(FIRMWARE).hexdigest()}
        status = _state(api, "tb-http-ota", "UPDATED")
        assert status["state"] == "UPDATED", status
        assert status["current_version"] == "2.0-tb-http-ota"
