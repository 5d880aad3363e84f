"""What one read of a device's socket asks for: store, then acknowledge, in order.

A burst gathers the PUBLISH packets of one ``data_received`` call. The common burst holds only
telemetry: its points are decoded at once into the connection's :class:`Gathered` columns,
which gather every such burst until the ingest writer takes them for the next log append
(a group commit with every other connection), and its PUBACKs are written when that append
is durable. Any other burst (client attributes, attribute requests, client-side RPC) is
completed as one unit by :func:`complete`, after the bursts before it: telemetry, then one
catalog write, then answers and PUBACKs, in the order the packets came.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiot.connect import client_rpc, topics
from aiot.connect.columns import Columns
from aiot.connect.mqtt import codec
from aiot.connect.mqtt.handlers import HANDLERS, Reply, in_order, settle
from aiot.connect.payloads import (
    SERVER_TIME,
    decode_attributes,
    decode_into,
    decode_json,
    decode_telemetry_many,
)
from aiot.domain import Batch, Device
from aiot.errors import AiotError, Forbidden, PayloadRejected, StoreError
from aiot.ingest import Ingestor
from aiot.ingest.stamps import SERVER_TIMES

if TYPE_CHECKING:
    from aiot.connect.mqtt.session import DeviceSession

__all__ = ["TRANSPORT", "Burst", "Gathered", "complete"]

TRANSPORT = "mqtt"


@dataclass
class Burst:
    """PUBLISH packets of one read, by what they ask for."""

    telemetry: list[bytes] = field(default_factory=list)
    attributes: list[bytes] = field(default_factory=list)
    requests: list[tuple[int, bytes]] = field(default_factory=list)
    calls: list[tuple[int, bytes]] = field(default_factory=list)  # client-side RPC requests
    others: list[tuple[topics.DeviceTopic, bytes]] = field(default_factory=list)  # see handlers
    acks: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.telemetry or self.attributes or self.requests or self.calls or self.others
        ) or bool(self.acks)

    @property
    def only_telemetry(self) -> bool:
        """Whether the burst asks for nothing but storing telemetry."""
        return not (self.attributes or self.requests or self.calls or self.others)


class Gathered:
    """One connection's telemetry gathering until the writer takes it, and its PUBACKs."""

    __slots__ = ("acks", "clock", "cols", "device", "limit")

    def __init__(self, device: Device, limit: int) -> None:
        self.device, self.limit = device, limit
        self.cols = Columns(limit)
        self.acks: list[int] = []
        self.clock = SERVER_TIMES.clock(device.tenant, device.id)  # a time per message

    def __len__(self) -> int:
        return len(self.cols)

    def add(self, ingest: Ingestor, burst: Burst) -> int:
        """Decode the burst's messages into the columns; how many were accepted."""
        device = self.device
        refused = decode_into(self.cols, burst.telemetry, self.clock, self.limit)
        for body, err in zip(burst.telemetry, refused, strict=True):
            if err is not None:
                ingest.reject(device.tenant, TRANSPORT, device.id, err, body)
        self.acks.extend(burst.acks)
        return len(refused) - sum(err is not None for err in refused)

    def batch(self) -> Batch:
        """The gathered points as one batch."""
        return Batch(self.device.tenant, self.cols.table(self.device.id))


Publisher = Callable[[str, bytes], bytes]  # the PUBLISH packet of the session's MQTT version


async def complete(
    ingest: Ingestor,
    device: Device,
    burst: Burst,
    limits: client_rpc.SessionLimits,
    publish: Publisher = codec.publish,
    session: DeviceSession | None = None,
) -> bytes:
    """Make the burst durable; return the bytes to write back (answers, then PUBACKs).

    Raises StoreError when the store fails: then nothing of the burst is acknowledged.
    ``session`` is handed to the handlers of the burst's other topics (``handlers``), which
    run in the order the messages came across the session's bursts (``in_order``).
    """
    if burst.others and session is not None:
        async with in_order(session):  # taken before any await: bursts queue in their order
            return await _complete(ingest, device, burst, limits, publish, session)
    return await _complete(ingest, device, burst, limits, publish, session)


async def _complete(
    ingest: Ingestor,
    device: Device,
    burst: Burst,
    limits: client_rpc.SessionLimits,
    publish: Publisher,
    session: DeviceSession | None,
) -> bytes:
    if burst.telemetry:
        await _telemetry(ingest, device, burst.telemetry)
    if burst.attributes:
        await _attributes(ingest, device, burst.attributes)
    out = [publish(*await _answer(ingest, device, rid, body)) for rid, body in burst.requests]
    for rid, body in burst.calls:
        answer = client_rpc.call(ingest, device, TRANSPORT, body, limits)
        out.append(publish(topics.rpc_response(rid), answer))
    for topic, body in burst.others:
        out.extend(publish(*reply) for reply in await _other(ingest, device, session, topic, body))
    if burst.others and session is not None:
        await settle(session)  # the handlers' writes, in one log append: durable before acks
    out.append(codec.pubacks(burst.acks))
    return b"".join(out)


async def _other(
    ingest: Ingestor,
    device: Device,
    session: DeviceSession | None,
    topic: topics.DeviceTopic,
    body: bytes,
) -> Reply:
    handler = HANDLERS.get(topic.kind)
    try:
        if handler is None or session is None:
            raise Forbidden(f"{topic.build()!r} is not served", code="topic_not_allowed")
        return await handler(session, topic, body)
    except StoreError:
        raise  # nothing of the burst is acknowledged
    except AiotError as err:
        ingest.reject(device.tenant, TRANSPORT, device.id, err, body)
        return []


async def _telemetry(ingest: Ingestor, device: Device, bodies: list[bytes]) -> None:
    limit = ingest.settings.max_points_per_message
    batch, refused = decode_telemetry_many(bodies, device.tenant, device.id, SERVER_TIME, limit)
    for body, err in zip(bodies, refused, strict=True):
        if err is not None:
            ingest.reject(device.tenant, TRANSPORT, device.id, err, body)
    if batch is not None:
        accepted = sum(err is None for err in refused)
        await ingest.submit(batch, [device.id], messages=accepted)


async def _attributes(ingest: Ingestor, device: Device, bodies: list[bytes]) -> None:
    merged: dict[str, Any] = {}
    for body in bodies:
        try:
            merged.update(decode_attributes(body))
        except PayloadRejected as err:
            ingest.reject(device.tenant, TRANSPORT, device.id, err, body)
    if merged:
        catalog = ingest.catalog
        await asyncio.to_thread(catalog.set_attributes, device.tenant, device.id, "client", merged)


async def _answer(
    ingest: Ingestor, device: Device, request_id: int, body: bytes
) -> tuple[str, bytes]:
    """ThingsBoard's attribute response: ``{"client": {...}, "shared": {...}}``."""
    try:
        wanted = decode_json(body) if body.strip() else {}
    except PayloadRejected as err:
        ingest.reject(device.tenant, TRANSPORT, device.id, err, body)
        wanted = {}
    found = await asyncio.to_thread(ingest.catalog.attributes, device.tenant, device.id)
    answer = select_attributes(found, wanted if isinstance(wanted, dict) else {})
    payload = json.dumps(answer, separators=(",", ":")).encode()
    return topics.attribute_response(request_id), payload


def select_attributes(
    found: dict[str, dict[str, Any]], wanted: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The scopes and keys an attribute request names (``clientKeys``, ``sharedKeys``)."""
    answer: dict[str, dict[str, Any]] = {}
    asked = {s: wanted.get(f"{s}Keys") for s in ("client", "shared")}
    for scope, keys in asked.items():
        values = found.get(scope, {})
        if isinstance(keys, str) and keys:
            names = set(keys.split(","))
            answer[scope] = {k: v for k, v in values.items() if k in names}
        elif not any(asked.values()):
            answer[scope] = values
    return answer
