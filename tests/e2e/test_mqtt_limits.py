"""``aiot up``'s MQTT endpoint under slow unauthenticated clients: nobody can hold its door."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.server import AiotProcess
from tests.e2e.trickle import Trickle

pytestmark = pytest.mark.slow

DEADLINE = 3.0  # AIOT_MQTT__CONNECT_TIMEOUT_SECONDS in these tests
PENDING = 200  # AIOT_MQTT__MAX_PENDING_CONNECTIONS


def slow_connects(port: int, count: int) -> Trickle:
    """Connections that start a CONNECT of 127 bytes and then send one byte a second."""
    return Trickle(port, count, first=b"\x10\x7f", then=b"\x00", every=1.0)


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[AiotProcess]:
    """``aiot up`` with a short CONNECT deadline and a small cap on waiting connections."""
    env = {
        "AIOT_MQTT__CONNECT_TIMEOUT_SECONDS": str(DEADLINE),
        "AIOT_MQTT__MAX_PENDING_CONNECTIONS": str(PENDING),
    }
    proc = AiotProcess(tmp_path / "aiot-data", env=env)
    proc.start()
    yield proc
    proc.stop()


def _publish_as_device(server: AiotProcess, token: str) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(token)
    client.connect("127.0.0.1", server.mqtt_port)
    client.loop_start()
    try:
        info = client.publish("v1/devices/me/telemetry", json.dumps({"rpm": 1500}), qos=1)
        info.wait_for_publish(5)
        assert info.is_published(), "the device's message was not acknowledged"
    finally:
        client.disconnect()
        client.loop_stop()


def test_slow_connects_are_closed_and_devices_get_in_meanwhile(guarded: AiotProcess) -> None:
    with guarded.admin() as api:
        token = api.post("/api/devices", json={"name": "pump-1"}).json()["access_token"]
        attack = slow_connects(guarded.mqtt_port, PENDING + 100)
        try:
            time.sleep(1.5)  # they are trickling
            assert attack.open() <= PENDING  # the oldest waiting made room for newer ones
            _publish_as_device(guarded, token)  # a device still connects and is acknowledged
            assert api.get("/api/health").status_code == 200
            assert api.get("/api/devices/pump-1/latest").json()["rpm"]["value"] == 1500
            deadline = time.monotonic() + DEADLINE + 3
            while attack.open() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert attack.open() == 0, "bytes kept slow connections open past the deadline"
        finally:
            attack.close()
    output = guarded.stop()
    closed = [line for line in output.splitlines() if "MQTT connection from" in line]
    assert 1 <= len(closed) <= 4, closed  # 300 closures, a line or two per reason
