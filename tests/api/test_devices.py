"""Devices, the device HTTP API and telemetry queries through the full app."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.app import Platform
from tests.conftest import ADMIN_KEY


def _device(client: TestClient, name: str = "pump-1") -> dict[str, str]:
    made = client.post("/api/devices", json={"name": name, "type": "pump", "labels": {"site": "n"}})
    assert made.status_code == 201, made.text
    return dict(made.json())


def _send(client: TestClient, token: str, payload: object) -> int:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(f"/api/v1/{token}/telemetry", content=body).status_code


def test_device_lifecycle(api_client: TestClient) -> None:
    dev = _device(api_client)
    assert api_client.get(f"/api/devices/{dev['id']}").json()["labels"] == {"site": "n"}
    assert api_client.get("/api/devices/pump-1").json()["id"] == dev["id"]
    assert api_client.post("/api/devices", json={"name": "pump-1"}).status_code == 409
    assert _send(api_client, dev["access_token"], {"t": 1}) == 200
    assert api_client.delete(f"/api/devices/{dev['id']}").status_code == 204
    assert api_client.get(f"/api/devices/{dev['id']}").status_code == 404
    assert _send(api_client, dev["access_token"], {"t": 1}) == 401


def test_posted_telemetry_reads_back_raw_and_aggregated(api_client: TestClient) -> None:
    dev = _device(api_client)
    rows = [{"ts": 1_000 * i, "values": {"temp": float(i), "state": "ok"}} for i in range(120)]
    assert _send(api_client, dev["access_token"], rows) == 200
    url = f"/api/devices/{dev['id']}/telemetry"
    raw = api_client.get(url, params={"keys": "temp", "start": 0, "end": 10_000}).json()
    assert [p["value"] for p in raw["temp"]] == [float(i) for i in range(10)]
    agg = api_client.get(
        url,
        params={
            "keys": "temp",
            "start": "1970-01-01T00:00:00Z",
            "end": 120_000,
            "interval": "1m",
            "agg": "max",
        },
    ).json()
    assert agg["temp"] == [{"ts": 0, "value": 59.0}, {"ts": 60_000, "value": 119.0}]
    latest = api_client.get(f"/api/devices/{dev['id']}/latest").json()
    assert latest["state"] == {"ts": 119_000, "value": "ok"}
    assert api_client.get(f"/api/devices/{dev['id']}/keys").json() == ["state", "temp"]


def test_bad_payloads_are_refused_counted_and_listed(api_client: TestClient) -> None:
    dev = _device(api_client)
    token = dev["access_token"]
    assert _send(api_client, token, {"ts": 5, "values": {"temp": 1.0}}) == 200
    refused = api_client.post(f"/api/v1/{token}/telemetry", content=b'{"temp": ')
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_json"
    assert _send(api_client, token, [{"ts": 6, "values": {"temp": 2.0}}, {"x": None}]) == 400
    assert _send(api_client, "not-a-token", {"temp": 3.0}) == 401
    stats = api_client.get("/api/ingest/stats").json()
    assert stats["accepted_points"] == 1
    assert stats["rejected_by_reason"] == {"invalid_json": 1, "invalid_value": 1}
    assert stats["unknown_token_messages"] == 1
    listed = api_client.get("/api/ingest/rejections").json()
    assert [r["reason"] for r in listed] == ["invalid_value", "invalid_json"]
    assert listed[1]["excerpt"] == '{"temp": ' and listed[0]["device"] == dev["id"]
    kept = api_client.get(f"/api/devices/{dev['id']}/telemetry", params={"start": 0}).json()
    assert kept["temp"] == [{"ts": 5, "value": 1.0}]  # nothing of the refused messages


def test_oversize_payload_is_413_and_counted(platform_factory: Callable[..., Platform]) -> None:
    platform = platform_factory(ingest={"max_payload_bytes": 100})
    with TestClient(create_app(platform), headers={"Authorization": "Bearer test-admin-key"}) as c:
        token = _device(c)["access_token"]
        big = json.dumps({f"key{i}": i for i in range(50)}).encode()
        answer = c.post(f"/api/v1/{token}/telemetry", content=big)
        assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
        assert c.get("/api/ingest/stats").json()["rejected_by_reason"] == {"payload_too_large": 1}


def test_attributes_from_device_and_user(api_client: TestClient) -> None:
    dev = _device(api_client)
    token = dev["access_token"]
    assert (
        api_client.post(f"/api/v1/{token}/attributes", content=b'{"fw": "1.2"}').status_code == 200
    )
    shared = api_client.post(f"/api/devices/{dev['id']}/attributes/shared", json={"period": 10})
    assert shared.status_code == 200
    got = api_client.get(f"/api/v1/{token}/attributes", params={"sharedKeys": "period"}).json()
    assert got == {"client": {"fw": "1.2"}, "shared": {"period": 10}}
    assert api_client.get(f"/api/devices/{dev['id']}/attributes").json()["client"] == {"fw": "1.2"}


def test_query_parameters_are_checked(api_client: TestClient) -> None:
    dev = _device(api_client)
    url = f"/api/devices/{dev['id']}/telemetry"
    for params in ({"start": "yesterday"}, {"interval": "fortnight"}, {"agg": "median"}):
        answer = api_client.get(url, params=params)
        assert answer.status_code == 400, params
        assert answer.json()["code"] == "invalid_input"


def test_retention_deletes_old_points(api_client: TestClient) -> None:
    dev = _device(api_client)
    _send(api_client, dev["access_token"], [{"ts": t, "values": {"v": 1}} for t in (1, 2, 3)])
    assert api_client.post("/api/telemetry/retention", json={"before": "3"}).json() == {
        "deleted": 2
    }
    kept = api_client.get(f"/api/devices/{dev['id']}/telemetry", params={"start": 0}).json()
    assert [p["ts"] for p in kept["v"]] == [3]


def test_a_gateway_is_made_by_rest_and_lists_its_devices(
    platform_factory: Callable[..., Platform],
) -> None:
    platform = platform_factory()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(platform), headers=admin) as client:
        made = client.post("/api/devices", json={"name": "gw-1", "gateway": True})
        assert made.status_code == 201 and made.json()["gateway"] is True
        assert _device(client, "plain")["gateway"] is False
        gateway = platform.catalog.device("default", "gw-1")
        platform.catalog.sub_device(gateway, "pump-7", "pump")  # as its first message makes it
        for ref in (gateway.id, "gw-1"):
            behind = client.get("/api/devices", params={"gateway": ref}).json()
            assert [(d["name"], d["gateway_id"]) for d in behind] == [("pump-7", gateway.id)]
        assert client.get("/api/devices", params={"gateway": "nope"}).status_code == 404
        assert len(client.get("/api/devices").json()) == 3
