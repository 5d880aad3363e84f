"""``/api/ws``: a WebSocket on which a client follows devices' telemetry, scores and alarms.

Authenticate with ``?key=<API key>`` (or an ``Authorization: Bearer`` header; the admin key may
add ``&tenant=``), then send ``{"subscribe": {"device": "pump-1", "keys": ["temp"],
"alarms": true}}`` (``keys`` empty or absent: every key; scores always come) and
``{"unsubscribe": {"device": "pump-1"}}``. Messages: ``{"type": "telemetry", "device",
"data": {key: [[ts, value], ...]}}`` once points are durable, ``{"type": "alarm", "event":
"raise" | "clear", "alarm": {...}}``, ``{"type": "subscribed", "device"}`` and
``{"type": "error", "code", "message"}``. Another tenant's device is ``not_found``. Revoking
the key closes its sessions at once (close code 4401).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from aiot.app import Platform
from aiot.errors import AiotError, InvalidInput
from aiot.stream.live import QUEUE, Subscription

__all__ = ["LiveSessions", "router"]

router = APIRouter()
REVOKED = 4401  # the close code of a session whose key is refused or revoked


class LiveSessions:
    """The open sessions by API key id, so that revoking a key ends its sessions at once."""

    def __init__(self) -> None:
        self._open: dict[str, set[tuple[asyncio.AbstractEventLoop, WebSocket]]] = {}
        self._lock = threading.Lock()  # revocations arrive on the routes' worker threads

    def add(self, key_id: str, websocket: WebSocket) -> None:
        """Remember an open session of the key."""
        with self._lock:
            self._open.setdefault(key_id, set()).add((asyncio.get_running_loop(), websocket))

    def discard(self, key_id: str, websocket: WebSocket) -> None:
        """Forget a session that ended."""
        with self._lock:
            sessions = self._open.get(key_id, set())
            sessions.discard((asyncio.get_running_loop(), websocket))
            if not sessions:
                self._open.pop(key_id, None)

    def revoke(self, key_id: str) -> int:
        """Close every session of the key, from any thread; how many there were."""
        with self._lock:
            sessions = self._open.pop(key_id, set())
        for loop, websocket in sessions:
            asyncio.run_coroutine_threadsafe(_close(websocket, "the API key was revoked"), loop)
        return len(sessions)


async def _close(websocket: WebSocket, reason: str) -> None:
    with contextlib.suppress(RuntimeError):  # it was closing already
        await websocket.close(code=REVOKED, reason=reason)


@router.websocket("/api/ws")
async def live(websocket: WebSocket) -> None:
    """Follow devices: subscribe and unsubscribe with JSON commands, receive their messages."""
    platform: Platform = websocket.app.state.platform
    secret = websocket.query_params.get("key") or _bearer(websocket.headers.get("authorization"))
    try:
        principal = platform.principal(secret, websocket.query_params.get("tenant"))
    except AiotError as err:
        await websocket.close(code=REVOKED, reason=err.message[:120])
        return
    await websocket.accept()
    sessions: LiveSessions = websocket.app.state.live_sessions
    if principal.key_id is not None:
        sessions.add(principal.key_id, websocket)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE)
    mine: dict[str, Subscription] = {}
    sender = asyncio.create_task(_send(websocket, queue))
    try:
        while True:
            command = await websocket.receive_json()
            reply = _command(platform, principal.tenant, command, queue, mine)
            await queue.put(reply)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if principal.key_id is not None:
            sessions.discard(principal.key_id, websocket)
        for sub in mine.values():
            platform.live.unsubscribe(sub)
        sender.cancel()
        # a send after a revocation's close raises: the session is over either way
        await asyncio.gather(sender, return_exceptions=True)


def _command(
    platform: Platform,
    tenant: str,
    command: Any,
    queue: asyncio.Queue[dict[str, Any]],
    mine: dict[str, Subscription],
) -> dict[str, Any]:
    try:
        if not isinstance(command, dict) or len(command) != 1:
            raise InvalidInput('send {"subscribe": {...}} or {"unsubscribe": {...}}')
        ((verb, body),) = command.items()
        if not isinstance(body, dict) or not isinstance(body.get("device"), str):
            raise InvalidInput(f'{verb} names a device: {{"device": "pump-1"}}')
        device = platform.catalog.device(tenant, body["device"])
        if verb == "unsubscribe":
            gone = mine.pop(device.id, None)
            if gone is not None:
                platform.live.unsubscribe(gone)
            return {"type": "unsubscribed", "device": device.id}
        if verb != "subscribe":
            raise InvalidInput(f"unknown command {verb!r}")
        keys = body.get("keys") or []
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise InvalidInput("keys is a list of telemetry keys")
        sub = Subscription(
            tenant,
            device.id,
            frozenset(keys),
            bool(body.get("alarms", True)),
            asyncio.get_running_loop(),
            queue,
        )
        if device.id in mine:
            platform.live.unsubscribe(mine[device.id])
        mine[device.id] = sub
        platform.live.subscribe(sub)
        return {"type": "subscribed", "device": device.id}
    except AiotError as err:
        return {"type": "error", "code": err.code, "message": err.message}


async def _send(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await websocket.send_json(await queue.get())


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None
