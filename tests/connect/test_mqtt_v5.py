"""MQTT 5 and 3.1 beside 3.1.1: real paho clients, and each v5 packet form byte by byte."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as _Properties

from aiot.app import Platform
from aiot.connect.mqtt import codec, v5
from aiot.connect.mqtt.dialect import TOPIC_ALIASES, Dialect
from aiot.domain import Command
from tests.conftest import free_port
from tests.connect.mqtt_helpers import Running

Properties: Any = _Properties  # paho's Properties is untyped

TELEMETRY = "v1/devices/me/telemetry"


@pytest.fixture
def running(platform_factory: Callable[..., Platform]) -> Iterator[Running]:
    """A platform with the memory store and a 4 KiB payload limit."""
    mqtt_ = {"port": free_port(), "max_payload_bytes": 4096, "receive_maximum": 50}
    running = Running(platform_factory(store={"backend": "memory"}, mqtt=mqtt_))
    yield running
    running.stop()


@pytest.fixture
def pump(running: Running) -> Any:
    """A device in the catalog."""
    return running.platform.catalog.create_device("default", "pump-1")


class Client:
    """A paho device of a given protocol version that answers every command with its params."""

    def __init__(self, port: int, token: str, protocol: int, props: Properties | None = None):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
        self.client.username_pw_set(token)
        self.connack: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.gone = threading.Event()
        self.client.on_connect = lambda _c, _u, _f, rc, p: self.connack.put((str(rc), p))
        self.client.on_disconnect = lambda *_: self.gone.set()
        self.client.on_message = self._answer
        self.client.connect("127.0.0.1", port, keepalive=30, properties=props)
        self.client.loop_start()

    def _answer(self, _c: Any, _u: Any, msg: Any) -> None:
        rid = msg.topic.rsplit("/", 1)[1]
        self.client.publish(f"v1/devices/me/rpc/response/{rid}", msg.payload, qos=1)

    def publish(self, topic: str, payload: str, props: Properties | None = None) -> None:
        info = self.client.publish(topic, payload, qos=1, properties=props)
        info.wait_for_publish(5)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _keys(running: Running, device_id: str) -> list[str]:
    table = running.platform.reader().query("default", device_id, None, 0, 2**62, 100)
    return sorted(table.column("key").to_pylist())


@pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv31])
def test_mqtt5_and_31_publish_qos1_and_answer_commands(
    running: Running, pump: Any, protocol: int
) -> None:
    device = Client(running.port, pump.access_token, protocol)
    code, props = device.connack.get(timeout=5)
    assert code == "Success"
    if protocol == mqtt.MQTTv5:
        assert props.ReceiveMaximum == 50 and props.TopicAliasMaximum == TOPIC_ALIASES
        assert props.MaximumPacketSize == 4096 + 1024 and props.MaximumQoS == 1
    device.publish(TELEMETRY, '{"temperature": 21.5}')
    device.publish("v1/devices/me/attributes", '{"firmware": "2.0"}')
    subscribed = threading.Event()
    device.client.on_subscribe = lambda *_: subscribed.set()
    device.client.subscribe("v1/devices/me/rpc/request/+", qos=1)
    assert subscribed.wait(5)
    command = Command("ping", {"a": 1})
    answer = running.run(running.platform.command("default", pump.id, command))
    assert answer == {"method": "ping", "params": {"a": 1}}
    assert not device.gone.is_set()
    device.close()
    assert _keys(running, pump.id) == ["temperature"]
    assert running.platform.catalog.attributes("default", pump.id)["client"] == {"firmware": "2.0"}


def test_topic_aliases_resolve_and_an_unknown_alias_is_a_protocol_error(
    running: Running, pump: Any
) -> None:
    device = Client(running.port, pump.access_token, mqtt.MQTTv5)
    assert device.connack.get(timeout=5)[0] == "Success"
    alias = Properties(PacketTypes.PUBLISH)
    alias.TopicAlias = 3
    device.publish(TELEMETRY, '{"first": 1}', alias)  # sets alias 3
    device.publish("", '{"second": 2}', alias)  # uses it
    assert _keys(running, pump.id) == ["first", "second"]
    unknown = Properties(PacketTypes.PUBLISH)
    unknown.TopicAlias = 9
    device.client.publish("", '{"third": 3}', qos=1, properties=unknown)
    assert device.gone.wait(5), "an alias never set is a protocol error: disconnected"
    device.close()
    assert running.platform.ingest.stats.snapshot("default")["rejected_by_reason"] == {
        "protocol_violation": 1
    }


def test_a_packet_bigger_than_the_clients_maximum_is_not_sent(running: Running, pump: Any) -> None:
    props = Properties(PacketTypes.CONNECT)
    props.MaximumPacketSize = 200
    props.SessionExpiryInterval = 3600  # accepted (aiot keeps no session state to expire)
    device = Client(running.port, pump.access_token, mqtt.MQTTv5, props)
    assert device.connack.get(timeout=5)[0] == "Success"
    got: queue.Queue[bytes] = queue.Queue()
    device.client.on_message = lambda _c, _u, msg: got.put(msg.payload)
    subscribed = threading.Event()
    device.client.on_subscribe = lambda *_: subscribed.set()
    device.client.subscribe("v1/devices/me/attributes", qos=1)
    assert subscribed.wait(5)
    running.platform.mqtt.push_attributes("default", pump.id, {"big": "x" * 500})  # type: ignore[union-attr]
    running.platform.mqtt.push_attributes("default", pump.id, {"small": 1})  # type: ignore[union-attr]
    assert json.loads(got.get(timeout=5)) == {"small": 1}
    assert got.empty() and not device.gone.is_set()
    device.close()


def test_a_refused_protocol_level_gets_the_right_connack_and_is_counted(running: Running) -> None:
    body = codec._U16.pack(4) + b"MQTT" + bytes((6, 0x02)) + codec._U16.pack(30) + b"\x00\x00"
    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
        sock.sendall(b"\x10" + bytes((len(body),)) + body)
        assert sock.recv(4) == bytes((0x20, 2, 0, codec.CONNACK_BAD_PROTOCOL))
    assert running.platform.mqtt.refused_levels == 1  # type: ignore[union-attr]


# the packet forms, byte by byte (OASIS MQTT 5.0, chapter 3)


def test_v5_connect_reads_properties_will_and_credentials() -> None:
    props = (
        b"\x11\x00\x00\x0e\x10"
        + b"\x21\x00\x0a"
        + b"\x27\x00\x00\x01\x00"
        + b"\x26\x00\x01k\x00\x01v"
    )
    will = b"\x00" + b"\x00\x01w" + b"\x00\x01m"
    body = (
        b"\x00\x04MQTT\x05" + bytes((0x80 | 0x04 | 0x02,)) + b"\x00\x3c"
        + bytes((len(props),)) + props + b"\x00\x02id" + will + b"\x00\x03tok"
    )  # fmt: skip
    connect = v5.parse_connect(body)
    assert (connect.level, connect.client_id, connect.username, connect.keepalive) == (
        5,
        "id",
        "tok",
        60,
    )
    assert connect.properties == {0x11: 3600, 0x21: 10, 0x27: 256}


def test_v5_publish_subscribe_unsubscribe_forms() -> None:
    body = b"\x00\x01t\x00\x07" + b"\x05\x23\x00\x02\x01\x01" + b"{}"
    assert v5.parse_publish(0x02, body) == codec.Publish("t", 1, 7, b"{}", False, 2)
    sub = b"\x00\x05" + b"\x02\x0b\x01" + b"\x00\x01a\x01" + b"\x00\x01b\x00"
    assert v5.parse_subscribe(sub) == (5, [("a", 1), ("b", 0)])
    assert v5.parse_unsubscribe(b"\x00\x06\x00\x00\x01a") == (6, ["a"])
    assert v5.publish("t", b"{}") == b"\x30\x06\x00\x01t\x00{}"
    assert v5.suback(5, [0, 0x80]) == b"\x90\x05\x00\x05\x00\x00\x80"
    assert v5.unsuback(6, [0, 0x11]) == b"\xb0\x05\x00\x06\x00\x00\x11"
    assert v5.disconnect(v5.PROTOCOL_ERROR) == b"\xe0\x02\x82\x00"
    assert v5.connack(0, {v5.RECEIVE_MAXIMUM: 10}) == b"\x20\x06\x00\x00\x03\x21\x00\x0a"
    assert codec.pubacks([codec.refused(7, 5)]) == b"\x40\x03\x00\x07\x90"
    assert codec.pubacks([codec.refused(7, 4)]) == b"\x40\x02\x00\x07"


def test_properties_that_run_past_the_packet_or_are_unknown_are_refused() -> None:
    for bad in (b"\x05\x11\x00", b"\x02\x7f\x00", b"\x03\x26\x00\x05"):
        with pytest.raises(codec.ProtocolViolation):
            v5.properties(bad, 0)
    with pytest.raises(codec.ProtocolViolation):
        Dialect(v5.parse_connect(b"\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x00")).parse_publish(
            codec.Packet(3, 0, b"\x00\x00\x03\x23\x00\x01{}")  # alias 1 never set
        )


_V5 = [
    b"\x00\x04MQTT\x05\x82\x00\x3c\x05\x11\x00\x00\x00\x10\x00\x01i\x00\x01t",
    b"\x00\x01t\x00\x07\x05\x23\x00\x02\x01\x01{}",
    b"\x00\x05\x02\x0b\x01\x00\x01a\x01",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_V5), st.data())
def test_mutated_v5_packets_raise_only_the_protocol_error(body: bytes, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(body)))
    junk = data.draw(st.binary(max_size=8))
    mutated = body[:at] + junk + body[at + data.draw(st.integers(0, 4)) :]
    dialect = Dialect(v5.parse_connect(_V5[0]))
    for parse in (
        v5.parse_connect,
        lambda b: dialect.parse_publish(codec.Packet(3, 2, b)),
        v5.parse_subscribe,
        v5.parse_unsubscribe,
    ):
        with contextlib.suppress(codec.ProtocolViolation):
            parse(mutated)
