"""Packages over MQTT: chunks on v2/fw and v2/sw with paho (3.1.1 and 5), refusals, pushes."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as _Properties

from aiot.app import Platform
from aiot.connect.ota import chunk_of
from aiot.domain import Device
from aiot.domain.packages import Package
from tests.conftest import free_port
from tests.connect.mqtt_helpers import Running

Properties: Any = _Properties  # paho's Properties is untyped
FIRMWARE = bytes(range(256)) * 40 + b"end"  # 10 243 bytes
SPEC = {"kind": "firmware", "title": "pump-fw", "version": "2.0", "checksum_algorithm": "SHA256"}


@pytest.fixture
def running(platform_factory: Callable[..., Platform]) -> Iterator[Running]:
    """A platform with its MQTT endpoint, the memory store."""
    running = Running(platform_factory(store={"backend": "memory"}, mqtt={"port": free_port()}))
    yield running
    running.stop()


@pytest.fixture
def pump(running: Running) -> Device:
    """A device in the catalog."""
    return running.platform.catalog.create_device("default", "pump-1", "pump")


class Client:
    """A paho device of one protocol version; every message it gets lands in a queue."""

    def __init__(self, port: int, token: str, protocol: int, props: Any = None) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
        self.client.username_pw_set(token)
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        ready = threading.Event()
        self.client.on_connect = lambda *_: ready.set()
        self.client.on_message = lambda _c, _u, msg: self.messages.put((msg.topic, msg.payload))
        self.client.connect("127.0.0.1", port, keepalive=30, properties=props)
        self.client.loop_start()
        assert ready.wait(5)

    def request(self, topic: str, payload: bytes | str = b"") -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def next(self, timeout: float = 5.0) -> tuple[str, bytes]:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _assigned(running: Running, device: Device, data: bytes = FIRMWARE, **spec: str) -> Package:
    ota = running.platform.ota
    package = ota.upload("default", {**SPEC, **spec}, data)
    ota.assign_device("default", device.id, package.kind, package.id)
    return package


def _reasons(running: Running) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [r.reason for r in running.platform.ingest.rejections("default")]
        if found:
            return found
        time.sleep(0.05)
    return []


@pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5])
def test_chunks_of_the_assigned_firmware(running: Running, pump: Device, protocol: int) -> None:
    _assigned(running, pump)
    device = Client(running.port, pump.access_token, protocol)
    try:
        device.client.subscribe("v2/fw/response/+")  # what ThingsBoard's SDK subscribes to
        got = b""
        for n in range(11):
            device.request(f"v2/fw/request/7/chunk/{n}", b"1000")
            topic, payload = device.next()
            assert topic == f"v2/fw/response/7/chunk/{n}"
            got += payload
        assert got == FIRMWARE
        device.request("v2/fw/request/7/chunk/11", b"1000")
        assert device.next() == ("v2/fw/response/7/chunk/11", b"")  # past the end: empty
        device.request("v2/fw/request/8/chunk/0")  # no size: the whole package
        assert device.next() == ("v2/fw/response/8/chunk/0", FIRMWARE)
    finally:
        device.close()


def test_software_comes_on_its_own_topics_to_a_device_that_subscribed_to_nothing(
    running: Running, pump: Device
) -> None:
    _assigned(running, pump, b"app-bytes", kind="software", title="app")
    device = Client(running.port, pump.access_token, mqtt.MQTTv311)
    try:
        device.request("v2/sw/request/1/chunk/1", b"4")
        assert device.next() == ("v2/sw/response/1/chunk/1", b"byte")
        device.request("v2/fw/request/2/chunk/0")  # no firmware assigned: refused, not closed
        assert _reasons(running) == ["no_package"]
        device.request("v2/sw/request/3/chunk/0")
        assert device.next() == ("v2/sw/response/3/chunk/0", b"app-bytes")
    finally:
        device.close()


def test_a_bad_chunk_size_is_refused_and_the_connection_stays(
    running: Running, pump: Device
) -> None:
    _assigned(running, pump)
    device = Client(running.port, pump.access_token, mqtt.MQTTv311)
    try:
        device.request("v2/fw/request/1/chunk/0", b"-5")
        assert _reasons(running) == ["invalid_input"]
        device.request("v2/fw/request/1/chunk/0", b"3")
        assert device.next() == ("v2/fw/response/1/chunk/0", FIRMWARE[:3])
    finally:
        device.close()


def test_a_chunk_above_the_clients_maximum_packet_size_is_refused_clearly(
    running: Running, pump: Device
) -> None:
    _assigned(running, pump)
    props = Properties(PacketTypes.CONNECT)
    props.MaximumPacketSize = 4096
    device = Client(running.port, pump.access_token, mqtt.MQTTv5, props)
    try:
        device.request("v2/fw/request/1/chunk/0")  # 10 KiB in one packet: too large
        assert _reasons(running) == ["chunk_too_large"]
        message = running.platform.ingest.rejections("default")[0].message
        assert "maximum packet size (4096 bytes)" in message and "at most" in message
        device.request("v2/fw/request/2/chunk/1", b"4000")
        assert device.next() == ("v2/fw/response/2/chunk/1", FIRMWARE[4000:8000])
    finally:
        device.close()


def test_assignment_pushes_shared_attributes_to_a_connected_device(
    running: Running, pump: Device
) -> None:
    device = Client(running.port, pump.access_token, mqtt.MQTTv5)
    try:
        device.client.subscribe("v1/devices/me/attributes")
        time.sleep(0.3)  # the SUBACK
        package = _assigned(running, pump)
        topic, payload = device.next()
        pushed = json.loads(payload)
        assert topic == "v1/devices/me/attributes"
        assert pushed["fw_title"] == "pump-fw" and pushed["fw_version"] == "2.0"
        assert pushed["fw_size"] == len(FIRMWARE) and pushed["fw_checksum"] == package.checksum
        running.platform.ota.assign_device("default", pump.id, "firmware", None)
        assert "fw_title" in json.loads(device.next()[1])["deleted"]
    finally:
        device.close()


def test_a_profile_assignment_reaches_its_connected_devices(running: Running, pump: Device) -> None:
    catalog = running.platform.catalog
    catalog.create_profile("default", "pump")
    package = running.platform.ota.upload("default", SPEC, FIRMWARE)
    device = Client(running.port, pump.access_token, mqtt.MQTTv311)
    try:
        device.client.subscribe("v1/devices/me/attributes")
        time.sleep(0.3)  # the SUBACK
        running.platform.ota.assign_profile("default", "pump", "firmware", package.id)
        assert json.loads(device.next()[1])["fw_version"] == "2.0"
        device.request("v2/fw/request/1/chunk/0")
        assert device.next() == ("v2/fw/response/1/chunk/0", FIRMWARE)
    finally:
        device.close()


def test_chunk_of() -> None:
    assert chunk_of(b"abcdefg", 3, 2) == b"g"
    assert chunk_of(b"abcdefg", 3, 3) == b""
    assert chunk_of(b"abcdefg", 0, 5) == b"abcdefg"


def test_a_download_goes_on_with_the_package_it_began_with(running: Running, pump: Device) -> None:
    _assigned(running, pump, b"old-OLD!")
    device = Client(running.port, pump.access_token, mqtt.MQTTv311)
    try:
        device.request("v2/fw/request/1/chunk/0", b"4")
        assert device.next()[1] == b"old-"
        _assigned(running, pump, b"new-NEW!", version="3.0")  # reassigned meanwhile
        device.request("v2/fw/request/1/chunk/1", b"4")
        assert device.next()[1] == b"OLD!"  # still the old package's
        device.request("v2/fw/request/2/chunk/0", b"4")
        assert device.next()[1] == b"new-"  # a new download: the new one
    finally:
        device.close()
