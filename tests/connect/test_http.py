"""The device HTTP API as ThingsBoard documents it: empty documents, RPC both ways."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient


def _device(client: TestClient, name: str = "pump-1") -> dict[str, str]:
    made = client.post("/api/devices", json={"name": name, "type": "pump"})
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_empty_documents_are_accepted_and_store_nothing(api_client: TestClient) -> None:
    dev = _device(api_client)
    base = f"/api/v1/{dev['access_token']}"
    for path in ("telemetry", "attributes"):
        for body in (b"{}", b"[]", b" { } "):
            answer = api_client.post(f"{base}/{path}", content=body)
            assert answer.status_code == 200, (path, body, answer.text)
    stats = api_client.get("/api/ingest/stats").json()
    assert stats["accepted_messages"] == 6 and stats["accepted_points"] == 0
    assert stats["rejected_messages"] == 0
    assert api_client.get(f"/api/devices/{dev['id']}/keys").json() == []
    assert api_client.get(f"{base}/attributes").json() == {"client": {}, "shared": {}}
    assert api_client.post(f"{base}/telemetry", content=b"").status_code == 400  # still refused


def test_client_side_rpc_answers_built_in_methods(api_client: TestClient) -> None:
    base = f"/api/v1/{_device(api_client)['access_token']}"
    now = api_client.post(f"{base}/rpc", json={"method": "getCurrentTime", "params": {}})
    assert now.status_code == 200
    assert abs(now.json()["currentTime"] - time.time() * 1000) < 60_000
    limits = api_client.post(f"{base}/rpc", json={"method": "getSessionLimits"}).json()
    assert limits["maxPayloadSize"] == 1_048_576


def test_client_side_rpc_nobody_answers_is_408_and_recorded(api_client: TestClient) -> None:
    base = f"/api/v1/{_device(api_client)['access_token']}"
    unknown = api_client.post(f"{base}/rpc", json={"method": "reboot", "params": {"in": 1}})
    assert unknown.status_code == 408 and unknown.json()["code"] == "rpc_method_unknown"
    malformed = api_client.post(f"{base}/rpc", content=b'{"params": 1}')
    assert malformed.status_code == 400 and malformed.json()["code"] == "rpc_request_invalid"
    stranger = api_client.post("/api/v1/nobody/rpc", json={"method": "getCurrentTime"})
    assert stranger.status_code == 401
    stats = api_client.get("/api/ingest/stats").json()
    assert stats["rejected_by_reason"] == {"rpc_method_unknown": 1, "rpc_request_invalid": 1}


def test_long_poll_without_command_is_408_after_its_timeout(api_client: TestClient) -> None:
    base = f"/api/v1/{_device(api_client)['access_token']}"
    started = time.monotonic()
    assert api_client.get(f"{base}/rpc", params={"timeout": 300}).status_code == 408
    assert 0.25 < time.monotonic() - started < 5


def test_command_reaches_a_polling_device_and_returns_its_answer(api_client: TestClient) -> None:
    dev = _device(api_client)
    base = f"/api/v1/{dev['access_token']}"
    seen: list[dict[str, Any]] = []

    def device() -> None:
        command = api_client.get(f"{base}/rpc", params={"timeout": 10_000}).json()
        seen.append(command)
        api_client.post(f"{base}/rpc/{command['id']}", json={"done": command["params"]["n"]})

    poller = threading.Thread(target=device)
    poller.start()
    answer = _send_when_polling(api_client, dev["id"], {"method": "count", "params": {"n": 3}})
    poller.join(10)
    assert answer.status_code == 200 and answer.json() == {"done": 3}
    assert seen[0]["method"] == "count" and isinstance(seen[0]["id"], int)
    late = api_client.post(f"{base}/rpc/{seen[0]['id']}", json={"done": 4})
    assert late.status_code == 404 and late.json()["code"] == "not_found"


def test_command_for_a_device_not_polling_is_device_offline(api_client: TestClient) -> None:
    dev = _device(api_client)
    sent = api_client.post(f"/api/devices/{dev['id']}/rpc", json={"method": "x", "timeout": 1})
    assert sent.status_code == 409 and sent.json()["code"] == "device_offline"
    assert "GET /api/v1/{token}/rpc" in sent.json()["message"]


def _send_when_polling(client: TestClient, device_id: str, command: dict[str, Any]) -> Any:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sent = client.post(f"/api/devices/{device_id}/rpc", json=command)
        if sent.status_code != 409:
            return sent
        time.sleep(0.05)
    raise AssertionError("the device never polled")


def test_shared_attribute_updates_reach_a_long_poll_of_that_device_only(
    api_client: TestClient,
) -> None:
    mine, other = _device(api_client, "pump-1"), _device(api_client, "pump-2")
    base, other_base = (f"/api/v1/{d['access_token']}/attributes/updates" for d in (mine, other))
    assert api_client.get(base, params={"timeout": 200}).status_code == 408  # nothing changed
    seen: list[Any] = []
    poller = threading.Thread(
        target=lambda: seen.append(api_client.get(base, params={"timeout": 10_000}))
    )
    poller.start()
    time.sleep(0.3)  # the poll is waiting
    done = api_client.post(f"/api/devices/{mine['id']}/attributes/shared", json={"mode": "eco"})
    assert done.status_code == 200, done.text
    poller.join(10)
    assert seen[0].status_code == 200 and seen[0].json() == {"mode": "eco"}
    assert api_client.get(other_base, params={"timeout": 200}).status_code == 408
    # changed between two polls: kept, merged, for the next poll
    for values in ({"mode": "max"}, {"limit": 7}):
        api_client.post(f"/api/devices/{mine['id']}/attributes/shared", json=values)
    time.sleep(0.1)
    kept = api_client.get(base, params={"timeout": 200})
    assert kept.status_code == 200 and kept.json() == {"mode": "max", "limit": 7}
