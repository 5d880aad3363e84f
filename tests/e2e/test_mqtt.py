"""``aiot up`` as the MQTT endpoint: a ThingsBoard device unchanged, commands, and restarts."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from aiot.connect.mqtt import codec
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


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _raw_device(server: AiotProcess, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.mqtt_port), timeout=10)
    sock.sendall(codec.connect("raw", username=token))
    assert sock.recv(4) == codec.connack(codec.CONNACK_ACCEPTED)
    return sock


def _subscribe(sock: socket.socket, packet_id: int, topic_filter: str) -> None:
    name = topic_filter.encode()
    body = struct.pack("!HH", packet_id, len(name)) + name + b"\x01"
    size, length = len(body), bytearray()
    while True:  # the remaining length, seven bits a byte
        length.append((size & 0x7F) | (0x80 if size > 0x7F else 0))
        size >>= 7
        if not size:
            break
    sock.sendall(b"\x82" + bytes(length) + body)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "aiot closed the connection"
        data += chunk
    return data


def test_a_subscribe_flood_is_refused_in_bounded_memory(server: AiotProcess) -> None:
    token = _device(server, "flooder")["access_token"]
    assert server.proc is not None
    sock = _raw_device(server, token)
    before = _rss_kib(server.proc.pid)
    codes = b""
    for batch in range(15):  # 1,500 filters of 60 KB: 90 MB were kept by the session
        for i in range(100):
            _subscribe(sock, batch * 100 + i + 1, f"#/{batch}/{i}/" + "x" * 60_000)
        codes += _read_exactly(sock, 5 * 100)[4::5]  # SUBACK: 0x90 3 id id code
    grown = _rss_kib(server.proc.pid) - before
    assert set(codes) == {0x80}  # refused, every one
    assert grown < 30_000, f"aiot grew by {grown} KiB"
    _subscribe(sock, 9_999, "v1/devices/me/rpc/request/+")  # the session still works
    assert _read_exactly(sock, 5) == bytes((0x90, 3)) + struct.pack("!H", 9_999) + b"\x00"
    sock.sendall(codec.publish("v1/devices/me/telemetry", b'{"ok": 1}', qos=1, packet_id=7))
    assert _read_exactly(sock, 4) == codec.puback(7)
    sock.close()
    with server.admin() as api:
        assert api.get("/api/devices/flooder/latest").json()["ok"]["value"] == 1


class _Watched:
    """A paho device that notes when aiot drops it, and does not reconnect."""

    def __init__(self, server: AiotProcess, token: str) -> None:
        self.gone = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.username_pw_set(token)
        self.client.on_disconnect = lambda *_: self.gone.set()
        self.client.connect("127.0.0.1", server.mqtt_port, 30)
        self.client.loop_start()

    def publish(self, value: int) -> bool:
        """Publish at QoS 1; whether aiot acknowledged it within 2 s."""
        info = self.client.publish("v1/devices/me/telemetry", json.dumps({"v": value}), qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:  # paho refuses once disconnected
            return False
        info.wait_for_publish(2)
        return info.is_published()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_deleting_a_device_ends_its_session_at_once(server: AiotProcess) -> None:
    doomed = _Watched(server, _device(server, "doomed")["access_token"])
    kept = _Watched(server, _device(server, "kept")["access_token"])
    late = _raw_device(server, _device(server, "doomed-raw")["access_token"])
    try:
        assert doomed.publish(1) and kept.publish(1)
        with server.admin() as api:
            accepted = api.get("/api/ingest/stats").json()["accepted_points"]
            assert api.delete("/api/devices/doomed").status_code == 204
            assert api.delete("/api/devices/doomed-raw").status_code == 204
            assert doomed.gone.wait(1.0), "the deleted device's session stayed open"
            late.settimeout(1.0)
            assert late.recv(16) == b"", "the deleted device's raw session stayed open"
            with contextlib.suppress(OSError):  # what a device sends after: nothing stored
                late.sendall(codec.publish("v1/devices/me/telemetry", b'{"v": 2}', 1, 9))
            assert not doomed.publish(2)
            assert kept.publish(2) and not kept.gone.is_set()  # other devices carry on
            time.sleep(0.5)
            after = api.get("/api/ingest/stats").json()["accepted_points"]
            assert after == accepted + 1  # only the kept device's point
    finally:
        late.close()
        doomed.stop()
        kept.stop()


def test_a_new_token_ends_the_old_ones_sessions_and_only_the_new_one_works(
    server: AiotProcess,
) -> None:
    old = _device(server, "rekeyed")["access_token"]
    device = _Watched(server, old)
    try:
        assert device.publish(1)
        made = server.cli("devices", "token", "rekeyed")
        assert made.returncode == 0, made.stderr
        assert device.gone.wait(1.0), "the session opened with the old token stayed open"
        with server.admin() as api:
            new = api.get("/api/devices/rekeyed").json()["access_token"]
            assert new != old and new in made.stdout
            assert api.post(f"/api/v1/{old}/telemetry", json={"v": 2}).status_code == 401
            assert api.post(f"/api/v1/{new}/telemetry", json={"v": 3}).status_code == 200
        again = _Watched(server, old)  # the old token is refused at CONNECT
        try:
            assert again.gone.wait(2.0) and not again.publish(4)
        finally:
            again.stop()
        fresh = _Watched(server, new)
        try:
            assert fresh.publish(5)
        finally:
            fresh.stop()
        with server.admin() as api:
            assert api.get("/api/devices/rekeyed/latest").json()["v"]["value"] == 5
    finally:
        device.stop()
