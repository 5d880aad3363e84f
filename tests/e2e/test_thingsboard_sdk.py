"""ThingsBoard's own Python device SDK (``tb-mqtt-client``), unchanged, against ``aiot up``.

The SDK speaks MQTT 5 and asks ``getSessionLimits`` on connect; it brings a fork of paho, so it
is installed apart (``make install`` puts it in ``.venv/thingsboard``) and runs in its own
process (``thingsboard_sdk_device.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.server import THINGSBOARD_SDK as SDK
from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow

DEVICE = Path(__file__).with_name("thingsboard_sdk_device.py")


def _sdk_device(server: AiotProcess, token: str, seconds: float) -> subprocess.Popen[str]:
    assert (SDK / "tb_device_mqtt.py").exists(), f"ThingsBoard's SDK is not in {SDK}: make install"
    env = {**os.environ, "PYTHONPATH": str(SDK)}
    args = [sys.executable, str(DEVICE), "127.0.0.1", str(server.mqtt_port), token, str(seconds)]
    pipe = subprocess.PIPE
    return subprocess.Popen(args, env=env, stdout=pipe, stderr=pipe, text=True)


def test_thingsboards_sdk_connects_sends_and_answers_commands(server: AiotProcess) -> None:
    made = server.cli("devices", "add", "tb-sdk", "--json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["access_token"]
    device = _sdk_device(server, token, seconds=5.0)
    try:
        with server.admin() as api:
            answer = None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:  # once it has subscribed to its RPC topic
                command = {"method": "ping", "params": {"n": 7}, "timeout": 5}
                answer = api.post("/api/devices/tb-sdk/rpc", json=command)
                if answer.status_code != 409:
                    break
                time.sleep(0.2)
            assert answer is not None and answer.status_code == 200, answer and answer.text
            assert answer.json() == {"pong": {"n": 7}}
            out, err = device.communicate(timeout=30)
            seen = json.loads(out.strip().splitlines()[-1])
            assert seen["connected"] and seen["stayed_connected"], err[-2000:]
            assert seen["telemetry"] == seen["telemetry_ts"] == seen["attributes"] == 0
            assert seen["commands"] == [{"method": "ping", "params": {"n": 7}}]
            (now,) = seen["client_rpc"]  # a client-side RPC, answered by aiot itself
            assert abs(now["currentTime"] - time.time() * 1000) < 60_000
            stored = api.get("/api/devices/tb-sdk/telemetry", params={"start": 0}).json()
            assert sorted(p["value"] for p in stored["temperature"]) == [20.0, 21.5]
            assert stored["temperature"][0]["ts"] == 1767225600000  # its own ts, kept
            attributes = api.get("/api/devices/tb-sdk/attributes", params={"scope": "client"})
            assert attributes.json() == {"client": {"firmware": "1.0.3"}}
    finally:
        if device.poll() is None:
            device.kill()
            device.communicate()
