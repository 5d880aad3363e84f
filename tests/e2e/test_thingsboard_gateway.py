"""ThingsBoard's own gateway SDK (``TBGatewayMqttClient`` of ``tb-mqtt-client``), unchanged,
against ``aiot up``: a gateway made with ``aiot devices add --gateway`` speaks for a device
that aiot creates behind it; the test reads the device's data back over REST and sends it a
shared attribute and a command.

The SDK brings a fork of paho, so it runs in its own process (``thingsboard_sdk_gateway.py``).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import THINGSBOARD_SDK as SDK
from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow

GATEWAY = Path(__file__).with_name("thingsboard_sdk_gateway.py")


def _sdk_gateway(server: AiotProcess, token: str, device: str) -> subprocess.Popen[str]:
    assert (SDK / "tb_gateway_mqtt.py").exists(), f"ThingsBoard's SDK is not in {SDK}: make install"
    env = {**os.environ, "PYTHONPATH": str(SDK)}
    args = [sys.executable, str(GATEWAY), "127.0.0.1", str(server.mqtt_port), token, device]
    pipe = subprocess.PIPE
    return subprocess.Popen(args, env=env, stdin=pipe, stdout=pipe, stderr=pipe, text=True)


def _lines(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The process's stdout lines as they come ("" once it ends), read by a thread."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def _end(proc: subprocess.Popen[str], reader: threading.Thread) -> str:
    """Close its stdin (it disconnects and ends), wait, and return what it logged."""
    assert proc.stdin is not None and proc.stderr is not None and proc.stdout is not None
    proc.stdin.close()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(5)
    logged = proc.stderr.read()
    proc.stderr.close()
    proc.stdout.close()
    return logged


def _line(lines: queue.Queue[str], timeout: float = 30.0) -> dict[str, Any]:
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"the SDK gateway printed nothing within {timeout:g} s")
    assert line, "the SDK gateway ended early"
    found: dict[str, Any] = json.loads(line)
    return found


def _command(api: httpx.Client, device: str) -> httpx.Response:
    command = {"method": "ping", "params": {"n": 7}, "timeout": 5}
    return api.post(f"/api/devices/{device}/rpc", json=command)


def test_thingsboards_gateway_sdk_speaks_for_its_devices(server: AiotProcess) -> None:
    made = server.cli("devices", "add", "tb-gw", "--gateway", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["gateway"] is True
    gateway = _sdk_gateway(server, json.loads(made.stdout)["access_token"], "tb-pump")
    lines, reader = _lines(gateway)
    try:
        assert _line(lines) == {"ready": True}
        with server.admin() as api:
            pump = api.get("/api/devices/tb-pump").json()
            shared = api.post("/api/devices/tb-pump/attributes/shared", json={"interval": 5})
            assert shared.status_code == 200, shared.text
            answer = _command(api, "tb-pump")
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"pong": {"n": 7}}
            seen = _line(lines)
            offline = _command(api, "tb-pump")  # after gw_disconnect_device, before it quits
            assert offline.status_code == 409 and offline.json()["code"] == "device_offline"
            behind = api.get("/api/devices", params={"gateway": "tb-gw"}).json()
            stored = api.get("/api/devices/tb-pump/telemetry", params={"start": 0}).json()
            attributes = api.get("/api/devices/tb-pump/attributes").json()
            rejected = api.get("/api/ingest/rejections").json()
        assert seen["connected"] and seen["stayed_connected"]
        assert seen["connect"] == seen["telemetry"] == seen["telemetry_ts"] == 0
        assert seen["attributes"] == seen["disconnect"] == 0
        assert seen["client_attributes"] == {"id": 1, "device": "tb-pump", "value": "2.0"}
        assert seen["shared_attributes"] == {"id": 2, "device": "tb-pump", "value": 5}
        assert seen["updates"] == [{"device": "tb-pump", "data": {"interval": 5}}]
        (command,) = seen["commands"]
        assert command["device"] == "tb-pump"
        assert {k: command["data"][k] for k in ("method", "params")} == {
            "method": "ping",
            "params": {"n": 7},
        }
        assert [(d["name"], d["type"]) for d in behind] == [("tb-pump", "pump")]
        assert behind[0]["id"] == pump["id"]
        assert sorted(p["value"] for p in stored["temperature"]) == [20.0, 21.5]
        assert stored["temperature"][0]["ts"] == 1767225600000  # its own ts, kept
        assert attributes == {"client": {"firmware": "2.0"}, "shared": {"interval": 5}}
        assert rejected == []
    finally:
        logged = _end(gateway, reader)
    assert "Traceback" not in logged, logged[-2000:]
