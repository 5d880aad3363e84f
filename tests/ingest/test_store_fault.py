"""A store that fails to take the ingest log: health says so, and nothing new is acknowledged.

The points the log acknowledged before the failure stay in it and reach the store once it
works again; while it fails, HTTP answers 503 and MQTT sends no PUBACK and closes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.app import Platform
from aiot.errors import StoreError
from tests.conftest import ADMIN_KEY, free_port
from tests.connect.mqtt_helpers import Device

TELEMETRY = "v1/devices/me/telemetry"
DISK_FULL = "IO Error: No space left on device"


class Breakable:
    """Makes the platform's store refuse ``apply`` until mended."""

    def __init__(self, platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
        self.store, self.monkeypatch = platform.store, monkeypatch
        self.real = platform.store.apply

    def break_(self) -> None:
        def refuse(records: Any) -> int:
            raise StoreError("the telemetry store failed", DISK_FULL)

        self.monkeypatch.setattr(self.store, "apply", refuse)

    def mend(self) -> None:
        self.monkeypatch.setattr(self.store, "apply", self.real)


@pytest.fixture
def served(
    platform_factory: Callable[..., Platform], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Platform, Breakable]]:
    """The full app over the embedded DuckDB store and file log, with MQTT on a free port."""
    platform = platform_factory(mqtt={"port": free_port()})
    with TestClient(create_app(platform), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:
        yield c, platform, Breakable(platform, monkeypatch)


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _stored_ts(client: TestClient, device_id: str) -> list[int]:
    got = client.get(
        f"/api/devices/{device_id}/telemetry", params={"keys": "v", "start": 0, "end": 10**6}
    )
    assert got.status_code == 200, got.text
    return sorted(int(p["ts"]) for p in got.json().get("v", []))


def test_a_failing_store_turns_health_and_refuses_writes_until_it_recovers(
    served: tuple[TestClient, Platform, Breakable],
) -> None:
    client, platform, store = served
    dev = client.post("/api/devices", json={"name": "pump-1", "type": "pump"}).json()
    url = f"/api/v1/{dev['access_token']}/telemetry"

    def send(ts: int) -> int:
        return client.post(url, json={"ts": ts, "values": {"v": ts}}).status_code

    assert send(1) == 200
    assert client.get("/api/health").json()["status"] == "ok"

    store.break_()
    assert send(2) == 200  # in the log before the store has failed: acknowledged, kept
    _until(lambda: client.get("/api/health").status_code == 503)
    health = client.get("/api/health").json()
    assert health["status"] == "failed"
    assert health["store"]["status"] == "failed"
    assert DISK_FULL in health["store"]["error"]

    refused = client.post(url, json={"ts": 3, "values": {"v": 3}})
    assert refused.status_code == 503
    assert refused.json()["code"] == "store_error"
    device = Device(platform.mqtt.port if platform.mqtt else 0, dev["access_token"])
    assert device.wait_connack() == "Success"
    info = device.client.publish(TELEMETRY, '{"ts": 4, "values": {"v": 4}}', qos=1)
    info.wait_for_publish(2)
    assert not info.is_published()  # no PUBACK
    assert device.gone.wait(5)  # and the connection closed, so the device sends it again
    device.close()

    store.mend()
    _until(lambda: client.get("/api/health").status_code == 200)
    assert client.get("/api/health").json()["status"] == "ok"
    assert _stored_ts(client, dev["id"]) == [1, 2]  # the acknowledged point waited in the log
    assert send(5) == 200
    assert _stored_ts(client, dev["id"]) == [1, 2, 5]
