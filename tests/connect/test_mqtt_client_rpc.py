"""Client-side RPC and unsupported topics over MQTT: each costs a message, never the connection."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aiot.app import Platform
from tests.conftest import free_port
from tests.connect.mqtt_helpers import Device, Running

TELEMETRY = "v1/devices/me/telemetry"
LIMITS = {"port": 0, "max_payload_bytes": 4096, "messages_per_second": 200}


@pytest.fixture
def running(platform_factory: Callable[..., Platform]) -> Iterator[Running]:
    """A platform with the memory store, a small payload limit and a message rate."""
    running = Running(
        platform_factory(store={"backend": "memory"}, mqtt={**LIMITS, "port": free_port()})
    )
    yield running
    running.stop()


@pytest.fixture
def pump(running: Running) -> Any:
    """A device in the catalog."""
    return running.platform.catalog.create_device("default", "pump-1")


def _rejected(running: Running) -> dict[str, int]:
    counts: dict[str, int] = running.platform.ingest.stats.snapshot("default")["rejected_by_reason"]
    return counts


def _ask(device: Device, request_id: int, method: str, params: Any = None) -> Any:
    device.publish(
        f"v1/devices/me/rpc/request/{request_id}", json.dumps({"method": method, "params": params})
    )
    topic, payload = device.next_message()
    assert topic == f"v1/devices/me/rpc/response/{request_id}"
    return json.loads(payload)


def test_an_unsupported_topic_costs_the_message_not_the_connection(
    running: Running, pump: Any
) -> None:
    other = running.platform.catalog.create_device("default", "pump-2")
    device = Device(running.port, pump.access_token)
    assert device.wait_connack() == "Success"
    device.publish(f"v1/devices/{other.id}/telemetry", '{"spoof": 1}')  # PUBACKed (3.1.1)
    device.publish("v1/gateway/telemetry", '{"dev": [{"x": 1}]}', qos=0)
    device.publish(TELEMETRY, '{"after": 1}')
    time.sleep(0.3)
    assert not device.gone.is_set(), "an unsupported topic must not disconnect the device"
    device.close()
    assert _rejected(running) == {"topic_not_allowed": 2}
    listed = running.platform.ingest.rejections("default", reason="topic_not_allowed")
    assert {r.device for r in listed} == {pump.id} and "gateway" in " ".join(
        r.message for r in listed
    )
    table = running.platform.reader().query("default", other.id, None, 0, 2**62, 100)
    assert table.num_rows == 0
    mine = running.platform.reader().query("default", pump.id, None, 0, 2**62, 100)
    assert mine.column("key").to_pylist() == ["after"]


def test_get_session_limits_reports_aiots_real_limits(running: Running, pump: Any) -> None:
    device = Device(running.port, pump.access_token)
    device.wait_connack()
    device.subscribe("v1/devices/me/rpc/response/+")
    limits = _ask(device, 1, "getSessionLimits", {"timeout": 5000})
    assert limits["maxPayloadSize"] == 4096
    assert limits["maxInflightMessages"] > 0
    assert limits["rateLimits"]["messages"] == "200:1"
    before = int(time.time() * 1000)
    now = _ask(device, 2, "getCurrentTime")["currentTime"]
    assert before - 1000 <= now <= int(time.time() * 1000) + 1000
    assert not device.gone.is_set()
    device.close()
    assert _rejected(running) == {}


def test_an_unknown_method_is_answered_with_an_error_and_recorded(
    running: Running, pump: Any
) -> None:
    device = Device(running.port, pump.access_token)
    device.wait_connack()
    device.subscribe("v1/devices/me/rpc/response/+")
    answer = _ask(device, 7, "openTheDoor", {"now": True})
    assert answer["code"] == "rpc_method_unknown" and "openTheDoor" in answer["error"]
    device.publish("v1/devices/me/rpc/request/8", b"{not json")
    assert json.loads(device.next_message()[1])["code"] == "rpc_request_invalid"
    device.publish(TELEMETRY, '{"still": 1}')
    assert not device.gone.is_set()
    device.close()
    assert _rejected(running) == {"rpc_method_unknown": 1, "rpc_request_invalid": 1}
