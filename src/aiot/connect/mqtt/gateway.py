"""ThingsBoard's gateway MQTT API: a gateway device publishes for the devices behind it.

A device created with ``gateway`` true may publish on ``v1/gateway/...``, naming in each
payload the devices it speaks for::

    v1/gateway/connect             {"device": "pump-7", "type": "pump"}
    v1/gateway/disconnect          {"device": "pump-7"}
    v1/gateway/telemetry           {"pump-7": [{"ts": 1, "values": {"t": 1}}, {"t": 2}], ...}
    v1/gateway/attributes          {"pump-7": {"firmware": "1.2"}, ...}        (client scope)
    v1/gateway/attributes/request  {"id": 1, "device": "pump-7", "client": false, "key": "k"}
    v1/gateway/rpc                 {"device": "pump-7", "id": 3, "data": {...}} (a command's answer)

and receives, once subscribed::

    v1/gateway/attributes/response {"id": 1, "device": "pump-7", "value": 5}  (or "values": {...})
    v1/gateway/attributes          {"device": "pump-7", "data": {"k": 5}}  (shared ones changed)
    v1/gateway/rpc                 {"device": "pump-7", "data": {"id": 3, "method": m, "params": p}}

A device named for the first time is created in the gateway's tenant behind it (any message,
as in ThingsBoard: connect, telemetry, attributes, an attribute request); a device of that
tenant and name that is behind another gateway, or behind none, is re-linked to this one, as
ThingsBoard re-links it. Names are looked up in the gateway's own tenant only, so no gateway can
reach another tenant's device; and a gateway is never re-linked (``device_not_allowed``), so no
gateway can speak for another gateway or for itself. A sub-device is connected, and reachable by
commands and attribute pushes, from its first message until ``v1/gateway/disconnect`` or until
its gateway disconnects. A wrong payload is refused whole, with its reason, and the connection
stays; the handlers here are registered in :data:`HANDLERS` by the endpoint.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from aiot.connect import topics
from aiot.connect.columns import Columns, reject
from aiot.connect.mqtt.handlers import Handler, Reply, store_before_ack
from aiot.connect.payloads import add_entries, check_attributes, decode_json
from aiot.domain import Batch, Command, Device
from aiot.errors import CommandTimeout, DeviceOffline
from aiot.ingest.stamps import SERVER_TIMES

if TYPE_CHECKING:
    from aiot.connect.mqtt.session import DeviceSession

__all__ = ["HANDLERS", "Gateways"]

MAX_NAME = 200  # as the catalog stores device names
MAX_TYPE = 100


class Gateways:
    """The devices connected behind each gateway session, and the commands sent to them.

    Used on the endpoint's event loop only.
    """

    def __init__(self) -> None:
        self._behind: dict[DeviceSession, dict[str, Device]] = {}  # by name, per gateway
        self._links: dict[str, tuple[DeviceSession, Device]] = {}  # by sub-device id
        self._calls: dict[tuple[DeviceSession, int], tuple[str, asyncio.Future[Any]]] = {}
        self._next_call = 0

    def known(self, session: DeviceSession, name: str) -> Device | None:
        """The connected device of that name behind the session's gateway, if any."""
        return self._behind.get(session, {}).get(name)

    def link(self, session: DeviceSession, device: Device) -> None:
        """Connect ``device`` behind the session's gateway (and behind no other)."""
        older = self._links.get(device.id)
        if older is not None and older[0] is not session:
            self._behind.get(older[0], {}).pop(older[1].name, None)
        self._links[device.id] = (session, device)
        self._behind.setdefault(session, {})[device.name] = device

    def unlink(self, session: DeviceSession, name: str) -> None:
        """Disconnect the device of that name from the session's gateway."""
        device = self._behind.get(session, {}).pop(name, None)
        if device is not None and self._links.get(device.id, (None,))[0] is session:
            del self._links[device.id]

    def drop(self, session: DeviceSession) -> None:
        """The gateway's session ended: its devices are offline, their commands fail."""
        for name in list(self._behind.get(session, {})):
            self.unlink(session, name)
        self._behind.pop(session, None)
        for key in [k for k in self._calls if k[0] is session]:
            future = self._calls.pop(key)[1]
            if not future.done():
                future.set_exception(DeviceOffline("the device's gateway disconnected"))

    def forget(self, tenant: str, device_id: str) -> None:
        """The device was deleted: a gateway naming it again creates it again."""
        link = self._links.get(device_id)
        if link is not None and link[1].tenant == tenant:
            self.unlink(link[0], link[1].name)

    def route(self, tenant: str, device_id: str, topic: str) -> tuple[DeviceSession, Device] | None:
        """The gateway session a connected sub-device is reached through, if it listens."""
        link = self._links.get(device_id)
        if link is None or link[1].tenant != tenant or not link[0].listens(topic):
            return None
        return link

    def push(self, tenant: str, device_id: str, values: dict[str, Any]) -> None:
        """Tell the sub-device's gateway that shared attributes changed."""
        link = self.route(tenant, device_id, topics.GATEWAY_ATTRIBUTES)
        if link is not None:
            link[0].send(topics.GATEWAY_ATTRIBUTES, {"device": link[1].name, "data": values})

    async def call(self, session: DeviceSession, device: Device, command: Command) -> Any:
        """Send a command to a sub-device through its gateway; its answer unless one-way."""
        self._next_call = self._next_call % 999_999_999 + 1
        request_id = self._next_call
        message = {"device": device.name, "data": {"id": request_id, **command.message()}}
        if command.oneway:
            return session.send(topics.GATEWAY_RPC, message)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[(session, request_id)] = (device.name, future)
        try:
            session.send(topics.GATEWAY_RPC, message)
            return await asyncio.wait_for(future, command.timeout)
        except TimeoutError as err:
            raise CommandTimeout(f"no answer within {command.timeout:g} s") from err
        finally:
            self._calls.pop((session, request_id), None)

    def answer(self, session: DeviceSession, name: str, request_id: int, data: Any) -> None:
        """A gateway's answer to a command; one it was not sent, or too late, is dropped."""
        pending = self._calls.get((session, request_id))
        if pending is not None and pending[0] == name and not pending[1].done():
            pending[1].set_result(data)


# the handlers of the gateway topics


def _gateways(session: DeviceSession) -> Gateways:
    return session.endpoint.gateways


def _gateway(session: DeviceSession) -> Device:
    assert session.device is not None  # handlers run for authenticated sessions only
    return session.device


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise reject("invalid_device", f"a device name is a string of 1-{MAX_NAME} characters")
    return value


def _object(body: bytes) -> dict[str, Any]:
    doc = decode_json(body)
    if not isinstance(doc, dict) or not doc:
        raise reject("invalid_payload", "a gateway message is a non-empty JSON object")
    return doc


async def _device(session: DeviceSession, name: str, type: str = "default") -> Device:
    """The named device behind the gateway: connected already, or created or re-linked now."""
    gateways = _gateways(session)
    known = gateways.known(session, name)
    if known is not None:
        return known
    catalog = session.ingest.catalog  # a gateway's messages are handled one at a time, in order
    device = await asyncio.to_thread(catalog.sub_device, _gateway(session), name, type)
    gateways.link(session, device)
    return device


async def _connect(session: DeviceSession, _topic: topics.DeviceTopic, body: bytes) -> Reply:
    doc = _object(body)
    kind = doc.get("type", "default")
    if not isinstance(kind, str) or not kind.strip() or len(kind) > MAX_TYPE:
        raise reject("invalid_payload", f"type is a string of 1-{MAX_TYPE} characters")
    await _device(session, _name(doc.get("device")), kind)
    return []


async def _disconnect(session: DeviceSession, _topic: topics.DeviceTopic, body: bytes) -> Reply:
    _gateways(session).unlink(session, _name(_object(body).get("device")))
    return []


async def _telemetry(session: DeviceSession, _topic: topics.DeviceTopic, body: bytes) -> Reply:
    """Points of several devices in one message, stored as one batch (or refused whole).

    The burst's PUBACKs wait until it is durable; the messages of one burst share an append.
    """
    doc = _object(body)
    named = {_name(name): entries for name, entries in doc.items()}
    devices = [await _device(session, name) for name in named]
    ingest, gateway = session.ingest, _gateway(session)
    tenant, budget, tables = gateway.tenant, ingest.settings.max_points_per_message, []
    for device, entries in zip(devices, named.values(), strict=True):
        cols = Columns(budget)
        add_entries(cols, entries, SERVER_TIMES.clock(tenant, device.id))
        budget -= len(cols)
        tables.append(cols.table(device.id))
    batch = Batch(tenant, pa.concat_tables(tables))
    seen = [gateway.id, *(d.id for d in devices)]
    store_before_ack(session, ingest.submit(batch, seen, messages=1))  # a burst: one append
    return []


async def _attributes(session: DeviceSession, _topic: topics.DeviceTopic, body: bytes) -> Reply:
    doc = _object(body)
    named = {_name(name): check_attributes(values) for name, values in doc.items()}
    devices = [await _device(session, name) for name in named]
    catalog, tenant = session.ingest.catalog, _gateway(session).tenant

    def store() -> None:
        for device, values in zip(devices, named.values(), strict=True):
            catalog.set_attributes(tenant, device.id, "client", values)

    await asyncio.to_thread(store)
    return []


async def _attribute_request(
    session: DeviceSession, _topic: topics.DeviceTopic, body: bytes
) -> Reply:
    """ThingsBoard's answer: ``value`` when one attribute is found, else ``values``."""
    doc = _object(body)
    request_id, keys = doc.get("id"), _keys(doc)
    if type(request_id) is not int:
        raise reject("invalid_payload", "id is an integer")
    device = await _device(session, _name(doc.get("device")))
    scope = "client" if doc.get("client") is True else "shared"
    catalog, tenant = session.ingest.catalog, _gateway(session).tenant
    found = await asyncio.to_thread(catalog.attributes, tenant, device.id, scope)
    values = {k: v for k, v in found.get(scope, {}).items() if k in keys}
    answer: dict[str, Any] = {"id": request_id, "device": device.name}
    if len(values) == 1:
        answer["value"] = next(iter(values.values()))
    elif values:
        answer["values"] = values
    return [(topics.GATEWAY_ATTRIBUTE_RESPONSES, _json(answer))]


def _keys(doc: dict[str, Any]) -> set[str]:
    keys = [doc["key"]] if "key" in doc else doc.get("keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise reject("invalid_payload", "an attribute request names a key, or a list of keys")
    return set(keys)


async def _rpc(session: DeviceSession, _topic: topics.DeviceTopic, body: bytes) -> Reply:
    """A sub-device's answer to a command: ``{"device", "id", "data"}``."""
    doc = _object(body)
    name, request_id = _name(doc.get("device")), doc.get("id")
    if type(request_id) is not int or "data" not in doc:
        raise reject("invalid_payload", "a command's answer holds device, id and data")
    _gateways(session).answer(session, name, request_id, doc["data"])
    return []


def _json(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


HANDLERS: dict[str, Handler] = {
    "gateway_connect": _connect,
    "gateway_disconnect": _disconnect,
    "gateway_telemetry": _telemetry,
    "gateway_attributes": _attributes,
    "gateway_attribute_request": _attribute_request,
    "gateway_rpc": _rpc,
}
"""The gateway topics' handlers by topic kind (``gateway_claim`` is claiming's)."""
