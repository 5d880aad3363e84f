"""Handlers of the device topics beyond telemetry, attributes and RPC, by topic kind.

Claiming (``v1/devices/me/claim``), packages (``v2/fw/request/...``) and the gateway API
(``v1/gateway/...``) each live in their own module; :func:`aiot.connect.mqtt.burst.complete`
calls the handler of each such message in the order the messages came, after the burst's
telemetry and attributes are stored. A handler returns what to publish back to the device,
as ``(topic, payload)`` pairs; an :class:`~aiot.errors.AiotError` it raises refuses that one
message (counted and listed with its reason), and the connection stays.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiot.connect import claims, ota
from aiot.connect.topics import DeviceTopic

if TYPE_CHECKING:
    from aiot.connect.mqtt.session import DeviceSession

__all__ = ["HANDLERS", "Handler", "Reply", "in_order", "settle", "store_before_ack"]

Reply = list[tuple[str, bytes]]
Handler = Callable[["DeviceSession", DeviceTopic, bytes], Awaitable[Reply]]

HANDLERS: dict[str, Handler] = {  # the gateway's are added by the endpoint (no import cycle)
    "claim": claims.device_claim,
    "gateway_claim": claims.gateway_claim,
    **ota.MQTT_HANDLERS,
}

_ORDER: weakref.WeakKeyDictionary[DeviceSession, asyncio.Lock] = weakref.WeakKeyDictionary()


def in_order(session: DeviceSession) -> asyncio.Lock:
    """Held while one burst with handled messages completes.

    The bursts of a connection complete concurrently; taken before a burst's first await, this
    lock runs their handlers in the order the messages came (asyncio's locks are fair), so that
    a gateway's ``disconnect`` never overtakes the ``connect`` before it.
    """
    lock = _ORDER.get(session)
    if lock is None:
        lock = _ORDER[session] = asyncio.Lock()
    return lock


_PENDING: weakref.WeakKeyDictionary[DeviceSession, list[asyncio.Future[Any]]] = (
    weakref.WeakKeyDictionary()
)


def store_before_ack(session: DeviceSession, stored: Awaitable[Any]) -> None:
    """Let a handler return before its write is durable: the burst's PUBACKs wait for it.

    The writes of one burst's messages so share one log append, as device telemetry does.
    """
    _PENDING.setdefault(session, []).append(asyncio.ensure_future(stored))


async def settle(session: DeviceSession) -> None:
    """Wait for the writes handlers left pending; raise the first failure (StoreError)."""
    pending = _PENDING.pop(session, [])
    if pending:
        results = await asyncio.gather(*pending, return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed
