"""``aiot up`` as the MQTT endpoint: a ThingsBoard device unchanged, commands, and restarts."""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow


def _device(server: AiotProcess, name: str) -> dict[str, Any]:
    made = server.cli("devices", "add", name, "--json")
    assert made.returncode == 0, made.stderr
    found: dict[str, Any] = json.loads(made.stdout)
    return found


def test_thingsboard_device_and_commands(server: AiotProcess) -> None:
    device = _device(server, "pump-1")
    # ThingsBoard's own example, as a device SDK does it
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(device["access_token"])
    client.on_message = lambda c, _u, msg: c.publish(
        msg.topic.replace("request", "response"),
        json.dumps({"pong": json.loads(msg.payload)["params"]}),
        qos=1,
    )
    client.connect("127.0.0.1", server.mqtt_port, 60)
    client.subscribe("v1/devices/me/rpc/request/+", qos=1)
    client.loop_start()
    client.publish(
        "v1/devices/me/telemetry", json.dumps({"temperature": 25}), qos=1
    ).wait_for_publish(5)
    with server.admin() as api:
        assert api.get("/api/devices/pump-1/latest").json()["temperature"]["value"] == 25
        answer = api.post("/api/devices/pump-1/rpc", json={"method": "ping", "params": {"n": 1}})
        assert answer.status_code == 200 and answer.json() == {"pong": {"n": 1}}
        oneway = api.post("/api/devices/pump-1/rpc", json={"method": "reboot", "oneway": True})
        assert oneway.status_code == 200
        client.on_message = None
        late = api.post("/api/devices/pump-1/rpc", json={"method": "ping", "timeout": 0.3})
        assert (late.status_code, late.json()["code"]) == (504, "command_timeout")
        client.disconnect()
        client.loop_stop()
        time.sleep(0.3)
        gone = api.post("/api/devices/pump-1/rpc", json={"method": "ping"})
        assert (gone.status_code, gone.json()["code"]) == (409, "device_offline")


class _Sender:
    """A device sending QoS 1 points with distinct timestamps; remembers which were acked."""

    def __init__(self, port: int, token: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sender")
        self.client.username_pw_set(token)
        self.client.reconnect_delay_set(0.2, 1)  # type: ignore[arg-type]
        self.client.max_queued_messages_set(0)
        self.sent: dict[int, int] = {}
        self.acked_mids: set[int] = set()
        self.lock = threading.Lock()
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port, 10)
        self.client.loop_start()

    def _on_publish(self, _c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        # paho calls this holding its own lock: take ours only briefly, never around publish().
        with self.lock:
            self.acked_mids.add(mid)

    def send(self, ts: int) -> None:
        payload = json.dumps({"ts": ts, "values": {"n": ts}})
        info = self.client.publish("v1/devices/me/telemetry", payload, qos=1)
        with self.lock:
            self.sent[info.mid] = ts

    @property
    def acked(self) -> set[int]:
        """Timestamps of the points whose PUBACK came back."""
        with self.lock:
            return {self.sent[mid] for mid in self.acked_mids if mid in self.sent}


def test_restart_with_qos1_in_flight_stores_acked_points_once(server: AiotProcess) -> None:
    device = _device(server, "meter-1")
    sender = _Sender(server.mqtt_port, device["access_token"])
    for ts in range(1, 1_001):
        sender.send(ts)
    time.sleep(0.05)
    server.stop(signal.SIGKILL)  # in flight: some sent, some acked, some neither
    acked_before_kill = sender.acked
    server.start()
    for ts in range(1_001, 1_501):
        sender.send(ts)
    deadline = time.monotonic() + 20
    while len(sender.acked) < 1_500 and time.monotonic() < deadline:
        time.sleep(0.1)
    sender.client.disconnect()
    sender.client.loop_stop()
    assert len(sender.acked) == 1_500
    with server.admin() as api:
        points = api.get(
            "/api/devices/meter-1/telemetry", params={"keys": "n", "start": 0, "limit": 10_000}
        ).json()["n"]
    stored = [p["ts"] for p in points]
    assert len(stored) == len(set(stored)) == 1_500  # each point once
    assert acked_before_kill <= set(stored)
