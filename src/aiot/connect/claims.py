"""A device offers itself for claiming, as with ThingsBoard: ``{"secretKey", "durationMs"}``.

Over MQTT on ``v1/devices/me/claim``, over HTTP on ``POST /api/v1/{token}/claim``, and by a
gateway for a device behind it on ``v1/gateway/claim`` as ``{name: {"secretKey",
"durationMs"}}``. An absent secret is the empty one, an absent or zero duration ThingsBoard's
24 hours. A device that has an owner already is refused (``already_claimed``), as a sub-device
that is not the gateway's own is. A user then claims it with the secret
(``POST /api/devices/{name}/claim``; see :mod:`aiot.store.catalog.claims`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiot.connect.payloads import decode_json
from aiot.domain import Device, now_ms
from aiot.errors import AiotError, Forbidden, NotFound, PayloadRejected
from aiot.store.catalog import Catalog

if TYPE_CHECKING:
    from aiot.connect.mqtt.session import DeviceSession
    from aiot.connect.topics import DeviceTopic

__all__ = ["MAX_DURATION_MS", "device_claim", "gateway_claim", "offer", "parse_offer"]

MAX_DURATION_MS = 366 * 86_400_000  # a year: longer is a mistake, not a plan
_MAX_SECRET = 1000


def parse_offer(value: Any) -> tuple[str, int]:
    """The secret and duration of one claim offer (a decoded JSON object)."""
    if not isinstance(value, dict):
        raise PayloadRejected("a claim is a JSON object", code="invalid_payload")
    secret, duration = value.get("secretKey", ""), value.get("durationMs", 0)
    if secret is None:
        secret = ""
    if not isinstance(secret, str) or len(secret) > _MAX_SECRET:
        raise PayloadRejected(f"secretKey is a string of at most {_MAX_SECRET} characters")
    if duration is None:
        duration = 0
    if type(duration) is not int or not 0 <= duration <= MAX_DURATION_MS:
        raise PayloadRejected(f"durationMs is an integer from 0 to {MAX_DURATION_MS}")
    return secret, duration


async def offer(catalog: Catalog, device: Device, value: Any) -> None:
    """Let ``device`` be claimed as the offer ``value`` says."""
    secret, duration = parse_offer(value)
    await asyncio.to_thread(
        catalog.offer_claim, device.tenant, device.id, secret, duration, now_ms()
    )


def _body(body: bytes) -> Any:
    return {} if not body.strip() else decode_json(body)  # ThingsBoard takes an empty claim


async def device_claim(
    session: DeviceSession, topic: DeviceTopic, body: bytes
) -> list[tuple[str, bytes]]:
    """MQTT ``v1/devices/me/claim``: the session's device offers itself; nothing is answered."""
    assert session.device is not None
    await offer(session.ingest.catalog, session.device, _body(body))
    return []


async def gateway_claim(
    session: DeviceSession, topic: DeviceTopic, body: bytes
) -> list[tuple[str, bytes]]:
    """MQTT ``v1/gateway/claim``: offers for devices behind the gateway, each by name.

    Every offer of the message is tried; the first refusal refuses the message (counted once).
    """
    gateway = session.device
    assert gateway is not None
    offers = _body(body)
    if not isinstance(offers, dict) or not offers:
        raise PayloadRejected("a gateway claim is {device name: {secretKey, durationMs}}")
    catalog, refused = session.ingest.catalog, None
    for name, value in offers.items():
        try:
            await offer(catalog, await _own_device(catalog, gateway, name), value)
        except AiotError as err:
            refused = refused or err
    if refused is not None:
        raise refused
    return []


async def _own_device(catalog: Catalog, gateway: Device, name: str) -> Device:
    try:
        device = await asyncio.to_thread(catalog.device, gateway.tenant, name)
    except NotFound:
        device = None
    if device is None or device.name != name or device.gateway_id != gateway.id:
        raise Forbidden(f"{name[:80]!r} is not a device of this gateway", code="not_gateway_device")
    return device
