"""Claiming as ThingsBoard's: a device offers (MQTT, gateway, HTTP), a user of its tenant claims."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from aiot.api import create_app
from aiot.app import Platform
from aiot.store.catalog.tables import DeviceRow
from tests.conftest import ADMIN_KEY, free_port
from tests.connect.mqtt_helpers import Device, Running

CLAIM = "v1/devices/me/claim"


@pytest.fixture
def running(platform_factory: Callable[..., Platform]) -> Iterator[Running]:
    """A platform with its MQTT endpoint and a second tenant "b"."""
    platform = platform_factory(store={"backend": "memory"}, mqtt={"port": free_port()})
    running = Running(platform)
    platform.catalog.create_tenant("b")
    yield running
    running.stop()


@pytest.fixture
def api(running: Running) -> Iterator[TestClient]:
    """The REST API of the same platform (its lifespan is the running one's)."""
    client = TestClient(create_app(running.platform))
    client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
    yield client


def _claim(api: TestClient, name: str, secret: str, tenant: str = "default", **more: Any) -> Any:
    headers = {"X-Aiot-Tenant": tenant}
    return api.post(
        f"/api/devices/{name}/claim", json={"secretKey": secret, **more}, headers=headers
    )


def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _offered(running: Running, tenant: str, name: str) -> Callable[[], bool]:
    catalog = running.platform.catalog

    def check() -> bool:
        with catalog._session() as s:
            row = s.query(DeviceRow).filter_by(tenant_id=tenant, name=name).one()
            return row.claim is not None

    return check


def test_mqtt_claim_then_rest_claim(running: Running, api: TestClient) -> None:
    pump = running.platform.catalog.create_device("default", "pump")
    device = Device(running.port, pump.access_token)
    assert device.wait_connack() == "Success"
    device.publish(CLAIM, '{"secretKey": "s3", "durationMs": 60000}')
    _until(_offered(running, "default", "pump"))
    assert _claim(api, "pump", "s3", tenant="b").status_code == 404  # another tenant's: none
    wrong = _claim(api, "pump", "nope")
    assert wrong.status_code == 400 and wrong.json()["detail"] == {"response": "FAILURE"}
    device.publish(CLAIM, '{"secretKey": "s3"}')  # offered again: a wrong guess forgot it
    _until(_offered(running, "default", "pump"))
    won = _claim(api, "pump", "s3", owner="acme")
    assert won.status_code == 200
    assert won.json()["response"] == "SUCCESS" and won.json()["device"]["owner"] == "acme"
    again = _claim(api, "pump", "s3")
    assert again.status_code == 409 and again.json()["code"] == "already_claimed"
    device.publish(CLAIM, '{"secretKey": "s4"}')  # claimed: the offer is refused, counted
    _until(lambda: _rejected(running).get("already_claimed") == 1)
    freed = api.delete("/api/devices/pump/claim")
    assert freed.json()["previous_owner"] == "acme" and freed.json()["device"]["owner"] is None
    device.publish(CLAIM, "")  # an empty claim: the empty secret, ThingsBoard's 24 hours
    _until(_offered(running, "default", "pump"))
    assert _claim(api, "pump", "").json()["device"]["owner"] == "admin"
    device.close()


def _rejected(running: Running, tenant: str = "default") -> dict[str, int]:
    counts: dict[str, int] = running.platform.ingest.stats.snapshot(tenant)["rejected_by_reason"]
    return counts


def test_bad_claims_are_refused_and_the_connection_stays(running: Running) -> None:
    pump = running.platform.catalog.create_device("default", "pump")
    device = Device(running.port, pump.access_token)
    assert device.wait_connack() == "Success"
    for bad in ("[1]", '{"durationMs": -1}', '{"secretKey": 5}', "{nope"):
        device.publish(CLAIM, bad)
    device.publish("v1/devices/me/telemetry", '{"t": 1}')
    _until(lambda: sum(_rejected(running).values()) == 4)
    assert not device.gone.is_set()
    device.close()


def test_a_gateway_claims_only_its_own_devices(running: Running, api: TestClient) -> None:
    catalog = running.platform.catalog
    gateway = catalog.create_device("default", "gw")
    mine = catalog.create_device("default", "behind")
    catalog.create_device("default", "stranger")
    catalog.create_device("b", "behind")
    with catalog._session() as s:  # what the gateway's connect does (another module)
        s.execute(update(DeviceRow).filter_by(id=gateway.id).values(gateway=True))
        s.execute(update(DeviceRow).filter_by(id=mine.id).values(gateway_id=gateway.id))
    catalog._tokens.clear()
    device = Device(running.port, gateway.access_token)
    assert device.wait_connack() == "Success"
    device.publish("v1/gateway/claim", '{"behind": {"secretKey": "g1", "durationMs": 60000}}')
    device.publish("v1/gateway/claim", '{"stranger": {"secretKey": "g2"}}')
    _until(_offered(running, "default", "behind"))
    _until(lambda: _rejected(running).get("not_gateway_device") == 1)
    assert not _offered(running, "default", "stranger")()
    assert not _offered(running, "b", "behind")()
    assert _claim(api, "behind", "g1").json()["response"] == "SUCCESS"
    device.close()


def test_http_claim(running: Running, api: TestClient) -> None:
    pump = running.platform.catalog.create_device("default", "pump")
    token = pump.access_token
    assert api.post(f"/api/v1/{token}/claim", json={"secretKey": "h"}).status_code == 200
    assert api.post("/api/v1/nope/claim", json={"secretKey": "h"}).status_code == 401
    bad = api.post(f"/api/v1/{token}/claim", json={"durationMs": "soon"})
    assert bad.status_code == 400
    assert _claim(api, "pump", "h").json()["response"] == "SUCCESS"
    taken = api.post(f"/api/v1/{token}/claim", json={"secretKey": "h"})
    assert taken.status_code == 400 and taken.json()["code"] == "already_claimed"


def test_a_viewer_cannot_claim(running: Running, api: TestClient) -> None:
    running.platform.catalog.create_device("default", "pump")
    viewer = api.post("/api/tenants/default/keys", json={"name": "v", "role": "viewer"})
    headers = {"Authorization": f"Bearer {viewer.json()['key']}"}
    answer = api.post("/api/devices/pump/claim", json={"secretKey": ""}, headers=headers)
    assert answer.status_code == 403
    assert api.delete("/api/devices/pump/claim", headers=headers).status_code == 403
