"""aiot's MQTT endpoint against real paho-mqtt devices: topics, payloads, tokens, limits."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aiot.app import Platform
from aiot.connect.mqtt import codec
from aiot.domain import Command
from aiot.errors import CommandTimeout, DeviceOffline
from tests.conftest import free_port
from tests.connect.mqtt_helpers import Device, Running, raw_socket

TELEMETRY = "v1/devices/me/telemetry"


@pytest.fixture
def running(platform_factory: Callable[..., Platform]) -> Iterator[Running]:
    """A platform with the memory store and a small MQTT payload limit."""
    mqtt = {"port": free_port(), "max_payload_bytes": 4096, "messages_per_second": 200}
    running = Running(platform_factory(store={"backend": "memory"}, mqtt=mqtt))
    yield running
    running.stop()


@pytest.fixture
def pump(running: Running) -> Any:
    """A device in the catalog."""
    return running.platform.catalog.create_device("default", "pump-1")


def _points(running: Running, device_id: str) -> dict[str, list[Any]]:
    table = running.platform.reader().query("default", device_id, None, 0, 2**62, 10_000)
    return {k: table.column(k).to_pylist() for k in ("key", "ts", "value", "text")}


def _rejected(running: Running) -> dict[str, int]:
    snapshot = running.platform.ingest.stats.snapshot("default")
    counts: dict[str, int] = snapshot["rejected_by_reason"]
    return counts


def _wait_closed(device: Device) -> None:
    assert device.gone.wait(5), "the endpoint should have disconnected the device"


def test_every_telemetry_form_is_stored(running: Running, pump: Any) -> None:
    device = Device(running.port, pump.access_token)
    assert device.wait_connack() == "Success"
    device.publish(TELEMETRY, '{"temperature": 42, "on": true}')
    device.publish(TELEMETRY, '{"ts": 1451649600512, "values": {"pressure": 1.5}}')
    device.publish(TELEMETRY, '[{"ts": 1451649600513, "values": {"pressure": 1.6}}, {"x": "7"}]')
    device.publish(TELEMETRY, '{"state": "open"}', qos=0)
    device.publish(TELEMETRY, '{"flush": 1}')  # acks follow in order: the QoS 0 one is stored
    device.close()
    points = _points(running, pump.id)
    keys = ["flush", "on", "pressure", "pressure", "state", "temperature", "x"]
    assert sorted(points["key"]) == keys
    stored = dict(zip(points["ts"], points["value"], strict=True))
    assert stored[1451649600512] == 1.5 and stored[1451649600513] == 1.6
    assert "open" in points["text"]


def test_wrong_or_missing_token_is_not_authorized(running: Running) -> None:
    for token in ("no-such-token", None):
        device = Device(running.port, token)
        assert device.wait_connack() == "Not authorized"
        device.close()
    assert running.platform.ingest.stats.snapshot("default", True)["unknown_token_messages"] == 2


def test_invalid_json_is_counted_and_acknowledged(running: Running, pump: Any) -> None:
    device = Device(running.port, pump.access_token)
    device.wait_connack()
    device.publish(TELEMETRY, b"{not json")
    device.publish(TELEMETRY, b'{"ok": 1}')
    device.close()
    assert _rejected(running) == {"invalid_json": 1}
    assert _points(running, pump.id)["key"] == ["ok"]


def test_another_devices_topic_writes_nothing(running: Running, pump: Any) -> None:
    other = running.platform.catalog.create_device("default", "pump-2")
    device = Device(running.port, pump.access_token)
    device.wait_connack()
    device.publish(f"v1/devices/{other.id}/telemetry", '{"spoof": 1}')
    device.close()
    assert _rejected(running) == {"topic_not_allowed": 1}
    assert _points(running, other.id)["key"] == []


def test_oversize_payload_disconnects_only_that_device(running: Running, pump: Any) -> None:
    good = Device(running.port, pump.access_token, client_id="good")
    other = running.platform.catalog.create_device("default", "pump-2")
    bad = Device(running.port, other.access_token, client_id="bad")
    assert good.wait_connack() == bad.wait_connack() == "Success"
    bad.client.publish(TELEMETRY, json.dumps({"blob": "x" * 10_000}), qos=1)
    _wait_closed(bad)
    bad.close()
    good.publish(TELEMETRY, '{"still": 1}')
    good.close()
    assert _rejected(running) == {"payload_too_large": 1}


def test_above_its_rate_a_device_is_slowed_not_cut(running: Running, pump: Any) -> None:
    device = Device(running.port, pump.access_token)
    device.wait_connack()
    started = time.monotonic()
    infos = [
        device.client.publish(TELEMETRY, json.dumps({"ts": i + 1, "values": {"n": i}}), qos=1)
        for i in range(400)
    ]
    for info in infos:
        info.wait_for_publish(10)
    elapsed = time.monotonic() - started
    assert all(info.is_published() for info in infos)
    assert not device.gone.is_set()  # still connected
    device.close()
    assert elapsed >= 0.8  # 200 at once, then 200 a second
    assert _points(running, pump.id)["ts"] == list(range(1, 401))
    assert _rejected(running) == {}


def test_garbage_bytes_close_that_connection_only(running: Running, pump: Any) -> None:
    device = Device(running.port, pump.access_token)
    device.wait_connack()
    for garbage in (b"\xff\xff\xff\xff\xff\x00", b"GET / HTTP/1.1\r\n\r\n", b"\x10\x04\x00\x02XX"):
        with raw_socket(running.port) as sock:
            sock.sendall(garbage)
            sock.settimeout(2)
            assert sock.recv(16) == b""  # closed by the endpoint, nothing answered
    device.publish(TELEMETRY, '{"alive": 1}')
    device.close()
    assert running.platform.mqtt is not None and running.platform.mqtt.protocol_errors >= 2


def test_garbage_after_connect_is_counted(running: Running, pump: Any) -> None:
    with raw_socket(running.port) as sock:
        sock.sendall(codec.connect("raw", pump.access_token))
        assert sock.recv(4) == codec.connack(0)
        sock.sendall(b"\x00\x00")
        assert sock.recv(16) == b""
    assert _rejected(running) == {"protocol_violation": 1}


def test_client_attributes_request_and_shared_push(running: Running, pump: Any) -> None:
    device = Device(running.port, pump.access_token)
    device.wait_connack()
    device.subscribe("v1/devices/me/attributes/response/+")
    device.subscribe("v1/devices/me/attributes")
    device.publish("v1/devices/me/attributes", '{"firmware": "1.2", "model": "X"}')
    running.platform.set_attributes("default", pump.id, "shared", {"interval": 5})
    assert device.next_message() == ("v1/devices/me/attributes", b'{"interval":5}')
    device.publish("v1/devices/me/attributes/request/7", '{"clientKeys": "firmware"}')
    topic, payload = device.next_message()
    assert topic == "v1/devices/me/attributes/response/7"
    assert json.loads(payload) == {"client": {"firmware": "1.2"}}
    device.close()


def test_two_way_and_one_way_commands(running: Running, pump: Any) -> None:
    device = Device(running.port, pump.access_token)
    device.wait_connack()
    device.subscribe("v1/devices/me/rpc/request/+")

    def answer(_c: Any, _u: Any, msg: Any) -> None:
        request = json.loads(msg.payload)
        reply = {"echo": request["params"], "method": request["method"]}
        if request["method"] != "silent":
            rid = msg.topic.rsplit("/", 1)[1]
            device.client.publish(f"v1/devices/me/rpc/response/{rid}", json.dumps(reply))

    device.client.on_message = answer

    def call(command: Command) -> Any:
        return running.run(running.platform.command("default", pump.id, command))

    assert call(Command("ping", {"a": 1})) == {"echo": {"a": 1}, "method": "ping"}
    assert call(Command("go", oneway=True)) is None
    with pytest.raises(CommandTimeout):
        call(Command("silent", timeout=0.2))
    device.close()
    time.sleep(0.2)
    with pytest.raises(DeviceOffline):
        call(Command("ping"))


def test_the_endpoint_raises_the_open_file_limit_to_the_hard_limit(
    platform_factory: Callable[..., Platform],
) -> None:
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no finite hard limit to raise the soft limit to")
    low = min(soft, hard, 512)
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))  # as systemd and shells start us
    try:
        running = Running(platform_factory(store={"backend": "memory"}, mqtt={"port": free_port()}))
        try:
            assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
        finally:
            running.stop()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_ending_a_tenant_closes_its_devices_only(running: Running, pump: Any) -> None:
    catalog = running.platform.catalog
    catalog.create_tenant("other")
    stranger = catalog.create_device("other", "pump-1")
    mine, theirs = (
        Device(running.port, pump.access_token),
        Device(running.port, stranger.access_token),
    )
    assert mine.wait_connack() == theirs.wait_connack() == "Success"
    assert running.platform.mqtt is not None
    running.platform.mqtt.end("other")  # as deleting a tenant will
    _wait_closed(theirs)
    mine.publish(TELEMETRY, '{"still": 1}')  # the default tenant's device carries on
    assert not mine.gone.is_set()
    mine.close()
    theirs.close()


def test_a_deleted_device_cannot_come_back_through_a_racing_connect(
    running: Running, pump: Any
) -> None:
    assert running.platform.mqtt is not None
    running.platform.mqtt.end("default", pump.id)  # deleted, but the token still resolves
    device = Device(running.port, pump.access_token)
    assert device.wait_connack() == "Not authorized"
