"""Live subscriptions over a real WebSocket: points once durable, their scores, their alarms."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.services

T0 = 1_767_225_600_000


async def _until(ws: Any, wanted: Any, seconds: float = 10.0) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        while not wanted(seen):
            seen.append(json.loads(await ws.recv()))
    return seen


def test_a_subscriber_sees_points_scores_and_alarms_of_its_device(server: AiotProcess) -> None:
    api = server.admin()
    pump = api.post("/api/devices", json={"name": "pump-1", "type": "pump"}).json()
    policy = {"threshold": 50.0, "hits": 1, "window": 1, "clear_after": 2, "type": "hot"}
    api.post(
        "/api/deployments",
        json={
            "name": "hot",
            "detector": "value",
            "params": {"side": "above"},
            "keys": ["temp"],
            "selector": {"device": "pump-1"},
            "policy": policy,
        },
    ).raise_for_status()
    key = (server.data_dir / "admin.key").read_text().strip()
    url = server.url.replace("http://", "ws://") + f"/api/ws?key={key}"

    async def follow() -> list[dict[str, Any]]:
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"subscribe": {"device": "pump-1", "keys": ["temp"]}}))
            first = json.loads(await ws.recv())
            assert first == {"type": "subscribed", "device": pump["id"]}
            rows = [{"ts": T0 + i * 1000, "values": {"temp": v}} for i, v in enumerate([20, 60])]
            await asyncio.to_thread(
                httpx.post, f"{server.url}/api/v1/{pump['access_token']}/telemetry", json=rows
            )

            def done(seen: list[dict[str, Any]]) -> bool:
                return any(m["type"] == "alarm" for m in seen) and _keys(seen) >= {
                    "temp",
                    "score/hot",
                }

            return await _until(ws, done)

    seen = asyncio.run(follow())
    points = [p for m in seen if m["type"] == "telemetry" for p in m["data"].get("temp", [])]
    assert [p[1] for p in points] == [20.0, 60.0]
    alarm = next(m for m in seen if m["type"] == "alarm")
    assert (alarm["event"], alarm["alarm"]["type"]) == ("raise", "hot")
    api.close()


def _keys(seen: list[dict[str, Any]]) -> set[str]:
    return {k for m in seen if m["type"] == "telemetry" for k in m["data"]}


def test_another_tenants_device_cannot_be_followed(server: AiotProcess) -> None:
    api = server.admin()
    api.post("/api/devices", json={"name": "pump-1"})
    api.post("/api/tenants", json={"id": "acme"})
    other = api.post("/api/tenants/acme/keys", json={"name": "ops", "role": "viewer"}).json()
    url = server.url.replace("http://", "ws://") + f"/api/ws?key={other['key']}"

    async def attempt() -> dict[str, Any]:
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"subscribe": {"device": "pump-1"}}))
            answer: dict[str, Any] = json.loads(await ws.recv())
            return answer

    answer = asyncio.run(attempt())
    assert (answer["type"], answer["code"]) == ("error", "not_found")

    handshake = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    with httpx.Client() as plain:  # a handshake without a key is refused before it upgrades
        refused = plain.get(f"{server.url}/api/ws", headers=handshake)
    assert refused.status_code == 403
    api.close()
