"""ThingsBoard's gateway MQTT API against real paho-mqtt gateways, MQTT 3.1.1 and 5."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from aiot.app import Platform
from aiot.domain import Command
from aiot.domain import Device as DeviceRecord
from aiot.errors import DeviceOffline, StoreError
from tests.conftest import free_port
from tests.connect.mqtt_helpers import Device, Running

CONNECT = "v1/gateway/connect"
DISCONNECT = "v1/gateway/disconnect"
TELEMETRY = "v1/gateway/telemetry"
ATTRIBUTES = "v1/gateway/attributes"
REQUEST = "v1/gateway/attributes/request"
RESPONSE = "v1/gateway/attributes/response"
RPC = "v1/gateway/rpc"
PROTOCOLS = pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5], ids=["3.1.1", "5"])


@pytest.fixture
def running(platform_factory: Callable[..., Platform]) -> Iterator[Running]:
    """A platform with the memory store and an MQTT endpoint."""
    running = Running(platform_factory(store={"backend": "memory"}, mqtt={"port": free_port()}))
    yield running
    running.stop()


@pytest.fixture
def gw(running: Running) -> DeviceRecord:
    """A gateway device of the default tenant."""
    return running.platform.catalog.create_device("default", "gw-1", "gateway", gateway=True)


def _gateway(running: Running, record: DeviceRecord, protocol: int = mqtt.MQTTv311) -> Device:
    device = Device(running.port, record.access_token, protocol=protocol)
    assert device.wait_connack() == "Success"
    return device


def _named(running: Running, name: str, tenant: str = "default") -> DeviceRecord:
    return running.platform.catalog.device(tenant, name)


def _points(running: Running, device_id: str, tenant: str = "default") -> list[tuple[Any, ...]]:
    table = running.platform.reader().query(tenant, device_id, None, 0, 2**62, 10_000)
    return list(zip(*(table.column(k).to_pylist() for k in ("key", "ts", "value")), strict=True))


def _reasons(running: Running) -> list[str]:
    return [r.reason for r in running.platform.ingest.rejections("default")]


def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@PROTOCOLS
def test_a_gateway_creates_its_devices_and_writes_for_them(
    running: Running, gw: DeviceRecord, protocol: int
) -> None:
    gateway = _gateway(running, gw, protocol)
    gateway.publish(CONNECT, '{"device": "pump-7", "type": "pump"}')
    body = {
        "pump-7": [{"ts": 1700000000000, "values": {"temp": 20.5}}, {"temp": 21}],
        "meter-1": {"kwh": 3},  # first sight: created with the default type
    }
    gateway.publish(TELEMETRY, json.dumps(body))
    gateway.publish(ATTRIBUTES, '{"pump-7": {"firmware": "1.2"}, "valve-2": {"open": true}}')
    gateway.close()
    pump, meter, valve = (_named(running, n) for n in ("pump-7", "meter-1", "valve-2"))
    assert (pump.type, meter.type, valve.type) == ("pump", "default", "default")
    assert pump.gateway_id == meter.gateway_id == valve.gateway_id == gw.id
    assert not pump.gateway and pump.access_token != gw.access_token
    stored = _points(running, pump.id)
    assert ("temp", 1700000000000, 20.5) in stored and len(stored) == 2
    assert [(k, v) for k, _, v in _points(running, meter.id)] == [("kwh", 3.0)]
    assert _points(running, gw.id) == []  # nothing lands on the gateway itself
    attributes = running.platform.catalog.attributes
    assert attributes("default", pump.id) == {"client": {"firmware": "1.2"}}
    assert attributes("default", valve.id) == {"client": {"open": True}}
    listed = running.platform.catalog.devices("default", gateway=gw.id)
    assert [d.name for d in listed] == ["meter-1", "pump-7", "valve-2"]
    assert _reasons(running) == []


@PROTOCOLS
def test_attribute_requests_are_answered_as_thingsboard_answers(
    running: Running, gw: DeviceRecord, protocol: int
) -> None:
    gateway = _gateway(running, gw, protocol)
    gateway.subscribe(RESPONSE)
    gateway.publish(ATTRIBUTES, '{"pump-7": {"firmware": "1.2", "model": "X"}}')
    pump = _named(running, "pump-7")
    running.platform.set_attributes("default", pump.id, "shared", {"interval": 5, "mode": "eco"})
    asks = [
        {"id": 1, "device": "pump-7", "client": False, "key": "interval"},
        {"id": 2, "device": "pump-7", "client": False, "keys": ["interval", "mode"]},
        {"id": 3, "device": "pump-7", "client": True, "keys": ["firmware"]},
        {"id": 4, "device": "pump-7", "client": True, "keys": ["firmware", "model", "nope"]},
        {"id": 5, "device": "pump-7", "client": False, "keys": ["nope"]},
    ]
    for ask in asks:
        gateway.publish(REQUEST, json.dumps(ask))
    answers = [json.loads(gateway.next_message()[1]) for _ in asks]
    gateway.close()
    assert answers == [
        {"id": 1, "device": "pump-7", "value": 5},
        {"id": 2, "device": "pump-7", "values": {"interval": 5, "mode": "eco"}},
        {"id": 3, "device": "pump-7", "value": "1.2"},
        {"id": 4, "device": "pump-7", "values": {"firmware": "1.2", "model": "X"}},
        {"id": 5, "device": "pump-7"},
    ]


def _answering(gateway: Device) -> list[Any]:
    """Make the gateway answer every command with its params; the requests it saw."""
    seen: list[Any] = []

    def answer(_c: Any, _u: Any, msg: Any) -> None:
        request = json.loads(msg.payload)
        if msg.topic != RPC:
            return gateway.messages.put((msg.topic, msg.payload))
        seen.append(request)
        data = request["data"]
        if data["method"] != "oneway":
            reply = {"device": request["device"], "id": data["id"], "data": {"ok": data["params"]}}
            gateway.client.publish(RPC, json.dumps(reply), qos=1)

    gateway.client.on_message = answer
    return seen


@PROTOCOLS
def test_commands_and_shared_attributes_reach_a_device_through_its_gateway(
    running: Running, gw: DeviceRecord, protocol: int
) -> None:
    platform = running.platform
    gateway = _gateway(running, gw, protocol)
    seen = _answering(gateway)
    gateway.publish(CONNECT, '{"device": "pump-7"}')
    pump = _named(running, "pump-7")
    assert platform.channel is not None
    assert not platform.channel.online("default", pump.id)  # the gateway does not listen yet
    gateway.subscribe(RPC)
    gateway.subscribe(ATTRIBUTES)
    assert platform.channel.online("default", pump.id)

    def call(command: Command) -> Any:
        return running.run(platform.command("default", pump.id, command))

    assert call(Command("setValve", {"open": 1})) == {"ok": {"open": 1}}
    assert call(Command("oneway", oneway=True)) is None
    _until(lambda: len(seen) == 2)
    assert seen[0] == {
        "device": "pump-7",
        "data": {"id": seen[0]["data"]["id"], "method": "setValve", "params": {"open": 1}},
    }
    platform.set_attributes("default", pump.id, "shared", {"interval": 5})
    topic, payload = gateway.next_message()
    assert topic == ATTRIBUTES
    assert json.loads(payload) == {"device": "pump-7", "data": {"interval": 5}}
    gateway.publish(DISCONNECT, '{"device": "pump-7"}')
    assert not platform.channel.online("default", pump.id)
    with pytest.raises(DeviceOffline):
        call(Command("ping"))
    gateway.publish(TELEMETRY, '{"pump-7": {"temp": 1}}')  # a message connects it again
    assert platform.channel.online("default", pump.id)
    gateway.close()
    _until(lambda: not platform.channel.online("default", pump.id))  # with its gateway gone


def test_a_command_pending_when_the_gateway_goes_fails_at_once(
    running: Running, gw: DeviceRecord
) -> None:
    gateway = _gateway(running, gw)
    gateway.subscribe(RPC)
    gateway.publish(CONNECT, '{"device": "pump-7"}')
    pump = _named(running, "pump-7")
    got = threading.Event()
    gateway.client.on_message = lambda *_: got.set()  # it never answers
    pending = running.platform.command("default", pump.id, Command("slow", timeout=30))
    future = asyncio.run_coroutine_threadsafe(pending, running.loop)
    assert got.wait(5)
    started = time.monotonic()
    gateway.close()
    with pytest.raises(DeviceOffline):
        future.result(10)
    assert time.monotonic() - started < 5


def test_bad_gateway_payloads_are_refused_one_at_a_time(running: Running, gw: DeviceRecord) -> None:
    gateway = _gateway(running, gw)
    bad = [  # topic, payload, the reason it is refused with
        (TELEMETRY, b"{not json", "invalid_json"),
        (TELEMETRY, b"[1, 2]", "invalid_payload"),
        (TELEMETRY, b'{"pump-7": 5}', "invalid_payload"),
        (TELEMETRY, b'{"pump-7": {"temp": null}}', "invalid_value"),
        (TELEMETRY, json.dumps({"x" * 201: {"t": 1}}).encode(), "invalid_device"),
        (ATTRIBUTES, b'{"pump-7": []}', "invalid_payload"),
        (CONNECT, b'{"type": "pump"}', "invalid_device"),
        (CONNECT, b'{"device": 7}', "invalid_device"),
        (DISCONNECT, b"{}", "invalid_payload"),
        (REQUEST, b'{"device": "pump-7", "keys": ["a"]}', "invalid_payload"),
        (REQUEST, b'{"id": 1, "device": "pump-7"}', "invalid_payload"),
        (RPC, b'{"device": "pump-7", "data": {}}', "invalid_payload"),
    ]
    for topic, body, _ in bad:
        gateway.publish(topic, body)
    gateway.publish(TELEMETRY, '{"pump-7": {"temp": 1}}')  # the connection stayed
    assert not gateway.gone.is_set()
    gateway.close()
    assert sorted(_reasons(running)) == sorted(reason for _, _, reason in bad)
    pump = _named(running, "pump-7")
    assert [k for k, _, _ in _points(running, pump.id)] == ["temp"]


def test_a_device_that_is_no_gateway_cannot_speak_for_others(running: Running) -> None:
    plain = running.platform.catalog.create_device("default", "plain")
    device = Device(running.port, plain.access_token)
    assert device.wait_connack() == "Success"
    granted: list[Any] = []
    done = threading.Event()

    def subscribed(_c: Any, _u: Any, _mid: Any, codes: Any, _p: Any) -> None:
        granted.extend(codes)
        done.set()

    device.client.on_subscribe = subscribed
    device.client.subscribe(RPC, qos=1)
    assert done.wait(5)
    device.publish(TELEMETRY, '{"victim": {"temp": 1}}')
    device.publish(CONNECT, '{"device": "victim"}')
    device.close()
    assert [c.is_failure for c in granted] == [True]
    assert _reasons(running) == ["topic_not_allowed", "topic_not_allowed"]
    assert [d.name for d in running.platform.catalog.devices("default")] == ["plain"]


def test_a_gateway_reaches_no_other_tenant_and_no_other_gateway(
    running: Running, gw: DeviceRecord
) -> None:
    catalog = running.platform.catalog
    catalog.create_tenant("other")
    theirs = catalog.create_device("other", "pump-7")
    their_gateway = catalog.create_device("other", "gw-x", gateway=True)
    sibling = catalog.create_device("default", "gw-2", gateway=True)
    gateway = _gateway(running, gw)
    gateway.publish(TELEMETRY, '{"pump-7": {"temp": 1}}')  # its tenant's pump-7, a new one
    for name in ("gw-2", "gw-1"):  # another gateway of its tenant, and itself
        gateway.publish(TELEMETRY, json.dumps({name: {"temp": 2}}))
        gateway.publish(CONNECT, json.dumps({"device": name}))
    gateway.close()
    mine = _named(running, "pump-7")
    assert mine.id != theirs.id and mine.tenant == "default" and mine.gateway_id == gw.id
    assert catalog.device("other", "pump-7").gateway_id is None
    assert _points(running, theirs.id, "other") == []
    assert _points(running, sibling.id) == _points(running, gw.id) == []
    assert catalog.device("default", "gw-2").gateway_id is None
    assert catalog.device("other", "gw-x") == their_gateway
    assert _reasons(running) == ["device_not_allowed"] * 4
    assert running.platform.channel is not None
    assert not running.platform.channel.online("other", mine.id)  # ids carry their tenant


def test_a_device_named_by_another_gateway_is_relinked_to_it(
    running: Running, gw: DeviceRecord
) -> None:
    catalog = running.platform.catalog
    direct = catalog.create_device("default", "pump-7", "pump")  # once connected on its own
    other_gw = catalog.create_device("default", "gw-2", gateway=True)
    first, second = _gateway(running, gw), _gateway(running, other_gw)
    for gateway in (first, second):
        gateway.subscribe(RPC)
    first.publish(CONNECT, '{"device": "pump-7"}')
    assert catalog.device("default", "pump-7").gateway_id == gw.id
    seen = _answering(second)
    second.publish(CONNECT, '{"device": "pump-7"}')
    relinked = catalog.device("default", "pump-7")
    assert (relinked.id, relinked.gateway_id, relinked.type) == (direct.id, other_gw.id, "pump")
    command = Command("ping", {"n": 1})
    assert running.run(running.platform.command("default", direct.id, command)) == {"ok": {"n": 1}}
    assert [s["device"] for s in seen] == ["pump-7"]
    first.close()
    second.close()


def test_a_deleted_device_is_made_again_by_its_gateway(running: Running, gw: DeviceRecord) -> None:
    gateway = _gateway(running, gw)
    gateway.publish(TELEMETRY, '{"pump-7": {"temp": 1}}')
    old = _named(running, "pump-7")
    running.platform.delete_device("default", old.id)
    gateway.publish(TELEMETRY, '{"pump-7": {"temp": 2}}')
    gateway.close()
    new = _named(running, "pump-7")
    assert new.id != old.id and new.gateway_id == gw.id
    assert [v for _, _, v in _points(running, new.id)] == [2.0]


def test_a_stream_of_messages_makes_each_device_once_and_keeps_their_order(
    running: Running, gw: DeviceRecord
) -> None:
    gateway = _gateway(running, gw)
    gateway.subscribe(RPC)
    infos = []
    for i in range(30):  # not waiting for PUBACKs: many reads, bursts completing together
        name = f"pump-{i}"
        infos.append(gateway.client.publish(CONNECT, json.dumps({"device": name}), qos=1))
        infos.append(gateway.client.publish(TELEMETRY, json.dumps({name: {"n": i}}), qos=1))
        if i % 2:
            infos.append(gateway.client.publish(DISCONNECT, json.dumps({"device": name}), qos=1))
    for info in infos:
        info.wait_for_publish(10)
    channel = running.platform.channel
    assert channel is not None
    behind = running.platform.catalog.devices("default", gateway=gw.id)
    assert len(behind) == 30 and _reasons(running) == []
    online = {d.name for d in behind if channel.online("default", d.id)}
    assert online == {f"pump-{i}" for i in range(0, 30, 2)}  # each disconnect after its connect
    assert all(len(_points(running, d.id)) == 1 for d in behind)
    gateway.close()


def test_telemetry_that_cannot_be_stored_is_not_acknowledged(
    running: Running, gw: DeviceRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = _gateway(running, gw)
    gateway.publish(CONNECT, '{"device": "pump-7"}')

    def full(_batches: Any) -> Any:
        raise StoreError("cannot write the ingest log", "No space left on device")

    monkeypatch.setattr(running.platform.ingest.wal, "append", full)
    info = gateway.client.publish(TELEMETRY, '{"pump-7": {"temp": 1}}', qos=1)
    assert gateway.gone.wait(5), "the gateway is disconnected, so that it sends it again"
    assert not info.is_published()  # no PUBACK
    gateway.close()
    assert _points(running, _named(running, "pump-7").id) == []
