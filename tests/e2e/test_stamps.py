"""Messages without ``ts`` acknowledged apart are stored apart: MQTT, HTTP and bridge bursts."""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import require_binary
from tests.e2e.mosquitto import Mosquitto
from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow


def _device(api: httpx.Client, name: str) -> dict[str, Any]:
    made = api.post("/api/devices", json={"name": name})
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


def _stored(api: httpx.Client, device: str, key: str, want: int) -> list[Any]:
    """The device's points of ``key`` once ``want`` are there (or what there is after 10 s)."""
    deadline = time.monotonic() + 10
    points: list[Any] = []
    while time.monotonic() < deadline:
        params = {"keys": key, "start": 0, "limit": 10_000}
        points = api.get(f"/api/devices/{device}/telemetry", params=params).json().get(key, [])
        if len(points) >= want:
            break
        time.sleep(0.2)
    return points


def test_a_burst_of_qos1_messages_without_ts_stores_every_message(server: AiotProcess) -> None:
    binary = require_binary("mosquitto_pub")
    with server.admin() as api:
        token = _device(api, "meter-1")["access_token"]
        lines = "".join(json.dumps({"n": i}) + "\n" for i in range(100))
        # -l: one connection, one message per line, as fast as the socket takes them
        args = [binary, "-p", str(server.mqtt_port), "-u", token, "-q", "1"]
        args += ["-t", "v1/devices/me/telemetry", "-l"]
        sent = subprocess.run(args, input=lines, capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0, sent.stderr
        points = _stored(api, "meter-1", "n", 100)
    assert sorted(p["value"] for p in points) == list(range(100))
    assert len({p["ts"] for p in points}) == 100  # each message its own server time


def test_paho_and_http_at_once_store_every_message(server: AiotProcess) -> None:
    with server.admin() as api:
        token = _device(api, "meter-2")["access_token"]
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.username_pw_set(token)
        client.connect("127.0.0.1", server.mqtt_port)
        client.loop_start()

        def post(i: int) -> int:
            url = f"{server.url}/api/v1/{token}/telemetry"
            return httpx.post(url, json={"n": 1000 + i}, timeout=10).status_code

        with ThreadPoolExecutor(16) as pool:
            answers = pool.map(post, range(100))
            infos = [client.publish("v1/devices/me/telemetry", json.dumps({"n": i}), qos=1)
                     for i in range(100)]  # fmt: skip
            assert list(answers) == [200] * 100
        for info in infos:
            info.wait_for_publish(10)
        client.disconnect()
        client.loop_stop()
        points = _stored(api, "meter-2", "n", 200)
    assert sorted(p["value"] for p in points) == [*range(100), *range(1000, 1100)]


@pytest.mark.services
def test_a_bridge_burst_without_ts_stores_every_message(
    server: AiotProcess, broker: Mosquitto
) -> None:
    with server.admin() as api:
        body = {"name": "plant", "url": broker.url, "topics": ["plant/{device}/{key}"]}
        assert api.post("/api/bridges", json={**body, "create_devices": True}).status_code == 201
        deadline = time.monotonic() + 10
        while not api.get("/api/bridges").json()[0]["connected"]:
            assert time.monotonic() < deadline, "the bridge did not connect"
            time.sleep(0.1)
        plc = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="plant-plc")
        plc.connect("127.0.0.1", broker.port)
        plc.loop_start()
        infos = [plc.publish("plant/pump-1/temp", str(20 + i), qos=1) for i in range(5)]
        for info in infos:
            info.wait_for_publish(10)
        plc.disconnect()
        plc.loop_stop()
        points = _stored(api, "pump-1", "temp", 5)
    assert sorted(p["value"] for p in points) == [20, 21, 22, 23, 24]
