"""``aiot up``'s MQTT endpoint under slow unauthenticated clients: nobody can hold its door."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow

DEADLINE = 3.0  # AIOT_MQTT__CONNECT_TIMEOUT_SECONDS in these tests
PENDING = 200  # AIOT_MQTT__MAX_PENDING_CONNECTIONS


class SlowConnect:
    """Connections that start a CONNECT of 127 bytes and then send one byte a second."""

    def __init__(self, port: int, count: int) -> None:
        self.socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        for sock in self.socks:
            sock.sendall(b"\x10\x7f")  # CONNECT, 127 bytes to follow
            sock.setblocking(False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(1.0):
            for sock in self.socks:
                with contextlib.suppress(OSError):  # closed by aiot: what it should do
                    sock.send(b"\x00")

    def open(self) -> int:
        """How many connections aiot has not closed."""
        alive = 0
        for sock in self.socks:
            try:
                alive += sock.recv(1024) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        return alive

    def close(self) -> None:
        """Stop trickling and close every socket."""
        self._stop.set()
        self._thread.join()
        for sock in self.socks:
            sock.close()


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
        attack = SlowConnect(guarded.mqtt_port, PENDING + 100)
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
