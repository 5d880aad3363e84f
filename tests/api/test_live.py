"""``/api/ws`` sessions end when their API key is revoked, at once, and only theirs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets

from aiot.api import create_app
from aiot.app import Platform
from tests.api.serving import serving
from tests.conftest import ADMIN_KEY


async def _subscribed(ws: Any) -> None:
    await ws.send(json.dumps({"subscribe": {"device": "pump"}}))
    answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert answer["type"] == "subscribed", answer


def test_revoking_a_key_closes_its_live_sessions_at_once(
    platform_factory: Callable[..., Platform],
) -> None:
    platform = platform_factory()
    with serving(create_app(platform), platform.settings) as url:
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        admin.post("/api/devices", json={"name": "pump"}).raise_for_status()
        made = [
            admin.post("/api/tenants/default/keys", json={"name": n, "role": "viewer"}).json()
            for n in ("revoked", "kept")
        ]
        ws_url = url.replace("http://", "ws://") + "/api/ws?key="

        async def follow() -> None:
            async with (
                websockets.connect(ws_url + made[0]["key"]) as doomed,
                websockets.connect(ws_url + made[1]["key"]) as kept,
            ):
                await _subscribed(doomed)
                await _subscribed(kept)
                gone = await asyncio.to_thread(
                    admin.delete, f"/api/tenants/default/keys/{made[0]['id']}"
                )
                assert gone.status_code == 204
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(doomed.recv(), 2)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
                await _subscribed(kept)  # another key's session goes on

        try:
            asyncio.run(follow())
        finally:
            admin.close()
