"""Client-side RPC: methods a device calls on aiot, as ThingsBoard answers them.

A device publishes ``{"method": ..., "params": ...}`` (MQTT ``v1/devices/me/rpc/request/{id}``,
HTTP ``POST /api/v1/{token}/rpc``) and gets the answer back (MQTT on
``v1/devices/me/rpc/response/{id}``). aiot answers ThingsBoard's built-in methods itself:

``getSessionLimits``
    ``{"maxPayloadSize", "maxInflightMessages", "rateLimits": {"messages",
    "telemetryMessages", "telemetryDataPoints"}}``, rates as ThingsBoard writes them
    (``"<count>:<seconds>,..."``; a missing rate is no limit). ThingsBoard's SDKs ask for it
    on connect and pace themselves by it.
``getCurrentTime``
    ``{"currentTime": <ms since the epoch>}``.

Any other method is counted and recorded as a rejection of the tenant (reason
``rpc_method_unknown``) and answered ``{"error": ..., "code": ...}``; the caller stays connected.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiot.domain import Device
from aiot.errors import InvalidInput
from aiot.ingest import Ingestor

__all__ = ["METHODS", "SessionLimits", "answer", "call"]

UNKNOWN = "rpc_method_unknown"
INVALID = "rpc_request_invalid"


@dataclass(frozen=True)
class SessionLimits:
    """The limits of one device session, as ``getSessionLimits`` reports them."""

    max_payload_size: int
    max_inflight_messages: int
    messages_per_second: float | None = None

    def as_thingsboard(self) -> dict[str, Any]:
        """ThingsBoard's ``getSessionLimits`` answer."""
        rates: dict[str, str] = {}
        if self.messages_per_second:
            rate = f"{max(1, int(self.messages_per_second))}:1"
            rates = {"messages": rate, "telemetryMessages": rate}  # one bucket for both
        return {
            "maxPayloadSize": self.max_payload_size,
            "maxInflightMessages": self.max_inflight_messages,
            "rateLimits": rates,
        }


Method = Callable[[Any, SessionLimits], dict[str, Any]]

METHODS: dict[str, Method] = {
    "getSessionLimits": lambda _params, limits: limits.as_thingsboard(),
    "getCurrentTime": lambda _params, _limits: {"currentTime": int(time.time() * 1000)},
}


def answer(method: str, params: Any, limits: SessionLimits) -> dict[str, Any] | None:
    """The answer of a built-in method, or None when aiot has no such method."""
    handler = METHODS.get(method)
    return None if handler is None else handler(params, limits)


def call(
    ingest: Ingestor, device: Device, transport: str, body: bytes, limits: SessionLimits
) -> bytes:
    """Answer one client-side RPC request body; unknown or malformed ones are recorded."""
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        request = None
    method = request.get("method") if isinstance(request, dict) else None
    if not isinstance(method, str):
        err = InvalidInput('a client-side RPC is {"method": "...", "params": ...}', code=INVALID)
        return _refuse(ingest, device, transport, err, body)
    result = answer(method, request.get("params"), limits)
    if result is None:
        known = ", ".join(sorted(METHODS))
        err = InvalidInput(
            f"unknown client-side RPC method {method[:80]!r}; aiot answers {known}", code=UNKNOWN
        )
        return _refuse(ingest, device, transport, err, body)
    return _dump(result)


def _refuse(
    ingest: Ingestor, device: Device, transport: str, err: InvalidInput, body: bytes
) -> bytes:
    ingest.reject(device.tenant, transport, device.id, err, body)
    return _dump({"error": err.message, "code": err.code})


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
