"""One exception tree for aiot; every error has a stable ``code`` and an HTTP ``status``.

::

    AiotError (internal, 500)
    ├── InvalidInput (invalid_input, 400)
    │   └── PayloadRejected (reason code of the rejection, 400)
    ├── Unauthorized (unauthorized, 401)
    ├── Forbidden (forbidden, 403)
    ├── NotFound (not_found, 404)
    ├── Conflict (conflict, 409)
    │   └── DeviceOffline (device_offline, 409)
    ├── PayloadTooLarge (payload_too_large, 413)
    ├── TooManyRequests (rate_limited, 429)
    ├── StoreError (store_error, 503)
    │   └── StoreDamaged (store_damaged, 503)
    └── ServiceError (service_error, 502)
        └── CommandTimeout (command_timeout, 504)

Driver and client exceptions are translated into this tree at one place per adapter
(``raise StoreError(...) from err``); the API renders ``{code, message, detail}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AiotError",
    "CommandTimeout",
    "Conflict",
    "DeviceOffline",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PayloadRejected",
    "PayloadTooLarge",
    "ServiceError",
    "StoreDamaged",
    "StoreError",
    "TooManyRequests",
    "Unauthorized",
]


class AiotError(Exception):
    """Base of every error aiot raises on purpose."""

    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500

    def __init__(self, message: str, detail: Any = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        """The error as the API renders it."""
        return {"code": self.code, "message": self.message, "detail": self.detail}


class InvalidInput(AiotError):
    """A request or argument that cannot be accepted as given."""

    code = "invalid_input"
    status = 400


class PayloadRejected(InvalidInput):
    """A device payload refused at ingestion; ``code`` is the counted reason."""

    code = "invalid_payload"


class Unauthorized(AiotError):
    """No credentials, or credentials that match nothing."""

    code = "unauthorized"
    status = 401


class Forbidden(AiotError):
    """Valid credentials whose role does not allow the action."""

    code = "forbidden"
    status = 403


class NotFound(AiotError):
    """The record does not exist, or belongs to another tenant."""

    code = "not_found"
    status = 404


class Conflict(AiotError):
    """The record already exists or is in a state that forbids the action."""

    code = "conflict"
    status = 409


class PayloadTooLarge(PayloadRejected):
    """A device payload above the configured size limit."""

    code = "payload_too_large"
    status = 413


class TooManyRequests(AiotError):
    """A device or client above its rate limit."""

    code = "rate_limited"
    status = 429


class StoreError(AiotError):
    """The telemetry store or catalog failed; nothing was acknowledged."""

    code = "store_error"
    status = 503


class StoreDamaged(StoreError):
    """The telemetry store's file fails its checks (a corrupt block, not a database file)."""

    code = "store_damaged"


class ServiceError(AiotError):
    """An external service (broker, database, device) failed or timed out."""

    code = "service_error"
    status = 502


class DeviceOffline(Conflict):
    """A command for a device that is not connected (or not listening for commands)."""

    code = "device_offline"


class CommandTimeout(ServiceError):
    """A device did not answer a two-way command in time."""

    code = "command_timeout"
    status = 504
