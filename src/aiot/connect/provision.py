"""Device provisioning as ThingsBoard's: a device without credentials asks for some.

The device sends ``{"deviceName"?, "provisionDeviceKey", "provisionDeviceSecret",
"credentialsType"?, "token"?}`` (MQTT: user name ``provision``, topic ``/provision/request``;
HTTP: ``POST /api/v1/provision``) and gets ThingsBoard's answer::

    {"status": "SUCCESS", "credentialsType": "ACCESS_TOKEN", "credentialsValue": "<token>"}
    {"status": "NOT_FOUND", "errorMsg": "Provision data was not found!"}
    {"status": "FAILURE", "errorMsg": "Failed to provision device!"}

``NOT_FOUND``: no key, no secret, a key of no profile, a wrong secret, or a profile that does
not provision. ``FAILURE``: ``allow_create`` and a device of that name exists already (a device
is provisioned once), ``check_pre_provisioned`` and no device of that name and type, a token
that is not valid or in use, or credentials other than an access token (not supported).
A ``check_pre_provisioned`` device may ask again: it gets its credentials again.

Every refusal is counted and listed as a rejection of the profile's tenant; a key of no
profile has no tenant: it is counted installation-wide (``refused_provision_requests``)
and logged at a bounded rate. Secrets never reach the rejection log.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import string
from dataclasses import dataclass
from typing import Any

from aiot.connect.lograte import RateLimitedLog
from aiot.connect.payloads import decode_json
from aiot.domain import Device, Profile
from aiot.errors import AiotError, Conflict, InvalidInput, NotFound, PayloadRejected
from aiot.ingest import Ingestor
from aiot.store.catalog import Catalog

__all__ = ["FAILURE", "NOT_FOUND", "USER_NAME", "Outcome", "decide", "provision"]

log = logging.getLogger("aiot.provision")
_limited = RateLimitedLog(log, every=10.0)  # anyone may send requests with made-up keys

USER_NAME = "provision"  # the MQTT user name of a device being provisioned
NOT_FOUND: dict[str, Any] = {"status": "NOT_FOUND", "errorMsg": "Provision data was not found!"}
FAILURE: dict[str, Any] = {"status": "FAILURE", "errorMsg": "Failed to provision device!"}
_SECRET_FIELDS = frozenset({"provisionDeviceSecret", "token", "password", "hash"})
_NAME_CHARS = string.ascii_letters + string.digits
_FIELDS = (
    "deviceName",
    "provisionDeviceKey",
    "provisionDeviceSecret",
    "credentialsType",
    "token",
    "clientId",
    "username",
    "password",
)
_TYPES = ("ACCESS_TOKEN", "MQTT_BASIC")


@dataclass(frozen=True)
class _Request:
    device_name: str | None
    key: str
    secret: str
    credentials_type: str
    token: str | None
    client_id: str | None = None
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The answer to one request and, when it was refused, why and whose it was."""

    answer: dict[str, Any]
    tenant: str | None = None
    device: str | None = None
    refusal: AiotError | None = None


async def provision(ingest: Ingestor, transport: str, body: bytes) -> dict[str, Any]:
    """Answer one provisioning request; a refusal is counted and recorded first.

    Raises StoreError when the catalog fails (nothing was decided).
    """
    outcome = await asyncio.to_thread(decide, ingest.catalog, body)
    if outcome.refusal is not None:
        _record(ingest, transport, outcome, body)
    return outcome.answer


def decide(catalog: Catalog, body: bytes) -> Outcome:
    """The outcome of one request, as ThingsBoard's DeviceProvisionService decides it."""
    try:
        request = _parse(body)
    except PayloadRejected as err:
        return Outcome({**FAILURE, "errorMsg": err.message}, refusal=err)
    if request.device_name == "":
        return Outcome(FAILURE, refusal=_refused("the device name is empty", "provision_failed"))
    profile = catalog.profile_by_provision_key(request.key) if request.key else None
    if profile is None or not request.secret:
        why = "no provision key" if not request.key else "the provision key names no profile"
        return Outcome(NOT_FOUND, refusal=_refused(why, "provision_not_found"))
    if not _opens(profile, request.secret):
        why = "wrong provision secret, or the profile does not provision"
        return Outcome(NOT_FOUND, profile.tenant, refusal=_refused(why, "provision_not_found"))
    basic_refused = request.credentials_type == "MQTT_BASIC" and profile.provision != "allow_create"
    if request.credentials_type not in _TYPES or basic_refused:
        why = f"{request.credentials_type} credentials are not supported here: ask for ACCESS_TOKEN"
        refusal = _refused(why, "provision_unsupported")
        return Outcome({**FAILURE, "errorMsg": why}, profile.tenant, refusal=refusal)
    if profile.provision == "allow_create":
        return _create(catalog, profile, request)
    return _pre_provisioned(catalog, profile, request)


def _opens(profile: Profile, secret: str) -> bool:
    kept = profile.provision_secret
    if profile.provision == "disabled" or kept is None:
        return False
    return hmac.compare_digest(kept.encode(), secret.encode())


def _create(catalog: Catalog, profile: Profile, request: _Request) -> Outcome:
    name = request.device_name or "".join(secrets.choice(_NAME_CHARS) for _ in range(20))
    try:
        device = catalog.create_device(profile.tenant, name, profile.name, token=request.token)
        if request.credentials_type == "MQTT_BASIC":
            return _basic(catalog, device, request)
    except (Conflict, InvalidInput) as err:
        code = err.code if err.code == "token_in_use" else "provision_failed"
        shown = err.message if isinstance(err, InvalidInput) else FAILURE["errorMsg"]
        refusal = _refused(f"device {name!r} not created: {err.message}", code)
        return Outcome({**FAILURE, "errorMsg": shown}, profile.tenant, refusal=refusal)
    return _success(device)


def _basic(catalog: Catalog, device: Device, request: _Request) -> Outcome:
    """Give the new device the MQTT basic credentials it asked for; undo it if they are taken."""
    try:
        catalog.set_basic_credentials(
            device.tenant, device.id, request.client_id, request.username, request.password
        )
    except (Conflict, InvalidInput):
        catalog.delete_device(device.tenant, device.id)  # nothing half made stays
        raise
    value = {"clientId": request.client_id, "userName": request.username}
    answer = {"status": "SUCCESS", "credentialsType": "MQTT_BASIC"}
    value["password"] = request.password
    return Outcome({**answer, "credentialsValue": value}, device.tenant, device.id)


def _pre_provisioned(catalog: Catalog, profile: Profile, request: _Request) -> Outcome:
    name = request.device_name or ""
    try:
        device = catalog.device(profile.tenant, name) if name else None
    except NotFound:
        device = None
    if device is None or device.name != name or device.type != profile.name:
        why = f"no pre-provisioned device {name!r} of type {profile.name!r}"
        return Outcome(FAILURE, profile.tenant, refusal=_refused(why, "provision_failed"))
    return _success(device)


def _success(device: Device) -> Outcome:
    answer = {"status": "SUCCESS", "credentialsType": "ACCESS_TOKEN"}
    return Outcome({**answer, "credentialsValue": device.access_token}, device.tenant, device.id)


def _parse(body: bytes) -> _Request:
    found = decode_json(body)
    if not isinstance(found, dict):
        raise PayloadRejected("a provision request is a JSON object", code="invalid_payload")
    for field in _FIELDS:
        if found.get(field) is not None and not isinstance(found[field], str):
            raise PayloadRejected(f"{field} must be a string", code="invalid_payload")
    name = found.get("deviceName")
    return _Request(
        device_name=name.strip() if name else None,
        key=found.get("provisionDeviceKey") or "",
        secret=found.get("provisionDeviceSecret") or "",
        credentials_type=found.get("credentialsType") or "ACCESS_TOKEN",
        token=found.get("token") or None,
        client_id=found.get("clientId") or None,
        username=found.get("username") or None,
        password=found.get("password") or None,
    )


def _refused(message: str, code: str) -> AiotError:
    return InvalidInput(message, code=code)


def _record(ingest: Ingestor, transport: str, outcome: Outcome, body: bytes) -> None:
    err = outcome.refusal
    assert err is not None
    if outcome.tenant is None:
        ingest.stats.provision_refused()
        _limited.warning(err.code, "provisioning request over %s refused: %s", transport, err)
        return
    ingest.reject(outcome.tenant, transport, outcome.device, err, _redacted(body))


def _redacted(body: bytes) -> bytes:
    """The request without its secrets, for the rejection log."""
    try:
        found = json.loads(body)
    except ValueError:
        return b""
    if not isinstance(found, dict):
        return b""
    shown = {k: "***" if k in _SECRET_FIELDS else v for k, v in found.items()}
    return json.dumps(shown).encode()
