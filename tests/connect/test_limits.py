"""Message rates per device type (its profile) and per tenant: devices slowed, never cut."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.app import Platform
from tests.conftest import ADMIN_KEY, free_port
from tests.connect.mqtt_helpers import Device, Running

TELEMETRY = "v1/devices/me/telemetry"


@pytest.fixture
def running(platform_factory: Callable[..., Platform]) -> Iterator[Running]:
    """A platform with no rate of its own: limits come from profiles and tenants."""
    running = Running(platform_factory(store={"backend": "memory"}, mqtt={"port": free_port()}))
    yield running
    running.stop()


def _send(device: Device, count: int, start: int = 0) -> list[Any]:
    return [
        device.client.publish(TELEMETRY, json.dumps({"ts": start + i + 1, "values": {"n": i}}), 1)
        for i in range(count)
    ]


def _all_published(infos: list[Any]) -> bool:
    for info in infos:
        info.wait_for_publish(15)
    return all(info.is_published() for info in infos)


def test_a_profile_rate_slows_devices_of_its_type_only(running: Running) -> None:
    catalog = running.platform.catalog
    catalog.create_profile("default", "meter", limits={"messages_per_second": 50})
    slow = catalog.create_device("default", "meter-1", type="meter")
    fast = catalog.create_device("default", "pump-1", type="pump")
    # 250 messages at 50 a second: 50 at once, and the last window (paho's 20) is read before
    # its pause, so at least (250 - 50 - 20) / 50 = 3.6 s; unlimited, a fraction of a second
    # (on a loaded machine a few tenths more: the line between them is drawn at 3 s)
    for device, floor, ceiling in ((slow, 3.0, 30.0), (fast, 0.0, 3.0)):
        client = Device(running.port, device.access_token)
        assert client.wait_connack() == "Success"
        client.subscribe("v1/devices/me/rpc/response/+")
        client.publish("v1/devices/me/rpc/request/1", '{"method": "getSessionLimits"}')
        limits = json.loads(client.next_message()[1])
        started = time.monotonic()
        infos = _send(client, 250)
        assert _all_published(infos) and not client.gone.is_set()  # slowed, never cut
        assert floor <= time.monotonic() - started < ceiling
        client.close()
        rates = limits["rateLimits"]
        assert rates == (
            {"messages": "50:1", "telemetryMessages": "50:1"} if device is slow else {}
        )
    assert running.platform.ingest.stats.snapshot("default")["rejected_by_reason"] == {}


def test_a_tenant_rate_is_shared_by_all_its_devices(running: Running) -> None:
    catalog = running.platform.catalog
    catalog.update_tenant("default", limits={"messages_per_second": 50})
    devices = [catalog.create_device("default", f"pump-{i}") for i in range(2)]
    clients = [Device(running.port, d.access_token) for d in devices]
    assert all(c.wait_connack() == "Success" for c in clients)
    started = time.monotonic()
    sent = [_send(c, 100) for c in clients]  # 200 of the tenant at 50 a second, windows of 20
    assert all(_all_published(infos) for infos in sent)
    assert time.monotonic() - started >= 1.5  # (200 - 50 - 2 * 20) / 50 = 2.2 s at least
    assert not any(c.gone.is_set() for c in clients)
    for c in clients:
        c.close()


def test_http_devices_are_answered_later_above_their_tenants_rate(
    platform_factory: Callable[..., Platform],
) -> None:
    platform = platform_factory(store={"backend": "memory"})
    with TestClient(create_app(platform)) as client:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        patched = client.patch(
            "/api/tenants/default", json={"limits": {"messages_per_second": 5}}, headers=admin
        )
        assert patched.status_code == 200 and patched.json()["limits"] == {"messages_per_second": 5}
        bad = client.patch("/api/tenants/default", json={"limits": {"nope": 1}}, headers=admin)
        assert bad.status_code == 400
        meter = platform.catalog.create_device("default", "meter-1")
        token = meter.access_token
        started = time.monotonic()
        codes = [
            client.post(f"/api/v1/{token}/telemetry", json={"ts": i + 1, "values": {"n": i}})
            for i in range(10)
        ]
        assert [c.status_code for c in codes] == [200] * 10  # every one stored, none refused
        assert time.monotonic() - started >= 0.8  # 5 at once, then 5 a second
        assert len(platform.reader().query("default", meter.id, None, 0, 100, 100)) == 10


def test_only_the_installation_admin_sets_a_tenants_limits(api_client: TestClient) -> None:
    made = api_client.post("/api/tenants/default/keys", json={"name": "a", "role": "admin"})
    own_admin = {"Authorization": f"Bearer {made.json()['key']}"}
    body = {"limits": {"messages_per_second": 1000}}
    assert api_client.patch("/api/tenants/default", json=body, headers=own_admin).status_code == 403
    assert api_client.patch("/api/tenants/nobody", json=body).status_code == 404
