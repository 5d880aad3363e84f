"""One device's MQTT connection: authenticate, parse, hand bursts on, acknowledge in order.

A session belongs to exactly one device (its access token is the CONNECT user name), and
``me`` in every topic is that device: there is no topic through which it could write another
device's data. A device that breaks the protocol or its limits is counted and disconnected;
the endpoint and every other connection carry on. A device above its message rate (when one
is set) is slowed: its socket is not read until the rate allows, so its client waits on its
own in-flight window, as TCP back-pressure, and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import socket
import time
import typing
from collections import deque
from typing import TYPE_CHECKING, Any

from aiot.connect import topics
from aiot.connect.limits import Bucket
from aiot.connect.mqtt import codec, v5
from aiot.connect.mqtt.burst import TRANSPORT, Burst, Gathered, complete
from aiot.connect.mqtt.dialect import LEVELS, Dialect
from aiot.connect.mqtt.handlers import HANDLERS
from aiot.connect.mqtt.provisioning import USER_NAME, Provisioning
from aiot.domain import Command, Device
from aiot.errors import (
    AiotError,
    CommandTimeout,
    DeviceOffline,
    Forbidden,
    InvalidInput,
    PayloadTooLarge,
)
from aiot.ingest.pipeline import Submission

if TYPE_CHECKING:
    from aiot.connect.mqtt.endpoint import MqttEndpoint

__all__ = ["DeviceSession"]

log = logging.getLogger("aiot.mqtt")

_CONNECT_MAX = 65_536
_OVERHEAD = 1024  # bytes of a packet beside its payload: topic, properties
# Clients keep Nagle on (libmosquitto, paho): after one small PUBLISH they hold the next ones
# until the server's TCP ACK, which Linux delays until the PUBACK, that is until the log's
# fsync: a window of 20 then arrives as 1 + 19, two group commits. Acknowledging each read at
# once lets the whole window into one commit. (Linux only; the option resets after a read.)
_QUICKACK: int = getattr(socket, "TCP_QUICKACK", 0)
_MAX_INFLIGHT = 8  # bursts per connection awaiting durability before reading pauses
_INBOUND = {"telemetry", "attributes", "attribute_request", "rpc_request", "rpc_response"}
_GATEWAY_KINDS = frozenset(k for k in typing.get_args(topics.Kind) if k.startswith("gateway_"))


class DeviceSession(asyncio.Protocol):
    """The MQTT protocol state of one connection."""

    def __init__(self, endpoint: MqttEndpoint) -> None:
        self.endpoint = endpoint
        self.ingest = endpoint.ingest
        self.limit = endpoint.settings.max_payload_bytes
        self.device: Device | None = None
        self.transport: asyncio.Transport | None = None
        self.state = "new"  # new → auth → open → closed, or new → provision → closed
        self.keepalive = 0
        self.dialect = Dialect()  # replaced by the CONNECT's: 3.1, 3.1.1 or 5
        self.last_seen = time.monotonic()
        self.subscriptions: set[str] = set()
        self._buffer = bytearray()
        self._backlog: deque[codec.Packet] = deque()
        self._bucket: Bucket | None = None  # the device's own rate, set once it is known
        self.limits = endpoint.limits  # what getSessionLimits reports, the device's own once known
        self._published = 0  # PUBLISH packets of this read, for the rate limit
        self._burst = Burst()
        self._tail: asyncio.Future[Any] | None = None
        self._open: Submission | None = None  # the submission this connection gathers into
        self._gathered: Gathered | None = None
        self._inflight = 0
        self._held: set[str] = set()  # why reading is paused
        self._sock: socket.socket | None = None
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._next_call = 0
        self._auth: asyncio.Task[None] | None = None
        self._provisioning: Provisioning | None = None  # user name ``provision``

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport; uvloop's (uvicorn picks uvloop when installed) is no subclass
        self.transport = typing.cast(asyncio.Transport, transport)
        self._sock = transport.get_extra_info("socket") if _QUICKACK else None
        self.endpoint.sessions.add(self)
        self.endpoint.gate.admit(self)  # CONNACK due within the deadline, bytes or not

    def data_received(self, data: bytes) -> None:
        self.last_seen = time.monotonic()
        if self._sock is not None:  # see _QUICKACK
            self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        self._buffer += data
        if self.state == "new" and self._buffer[0] != 0x10:  # not CONNECT: refuse at once
            return self._violation(codec.ProtocolViolation("the first packet must be CONNECT"))
        try:
            size = _CONNECT_MAX if self.device is None else self.limit + _OVERHEAD
            packets, used = codec.split(self._buffer, size)
        except codec.ProtocolViolation as err:
            return self._violation(err)
        del self._buffer[:used]
        self._backlog.extend(packets)
        self._drain()

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = "closed"
        self.endpoint.detach(self)
        for future in self._calls.values():
            if not future.done():
                future.set_exception(DeviceOffline("the device disconnected"))

    # packets

    def _drain(self) -> None:
        try:
            while self._backlog and self.state in ("new", "open", "provision"):
                self._handle(self._backlog.popleft())
        except codec.ProtocolViolation as err:
            self._violation(err)
        if self._published and self.device is not None:
            rates, count = self.endpoint.rates, self._published
            self._slow_down(rates.wait(self.device, count, self._bucket, self.last_seen))
        self._published = 0
        if self._burst and self.device is not None and self.state == "open":
            burst, self._burst = self._burst, Burst()
            tail = self._tail
            if burst.only_telemetry and (tail is None or tail.done() or tail is self._open_done()):
                return self._gather(burst)
            self._inflight += 1
            if self._inflight >= _MAX_INFLIGHT:
                self._hold("inflight")
            self._tail = asyncio.create_task(self._complete(burst, tail))

    def _open_done(self) -> asyncio.Future[int] | None:
        return self._open.done if self._open is not None else None

    def _gather(self, burst: Burst) -> None:
        """Add a telemetry burst to the open submission, or open one; ack once it is durable."""
        assert self.device is not None
        gathered, submission = self._gathered, self._open
        if gathered is None or submission is None or submission.taken:
            gathered = Gathered(self.device, self.ingest.settings.max_points_per_message)
            submission = self.ingest.open(self.device.tenant, gathered, [self.device.id])
            submission.done.add_done_callback(functools.partial(self._stored, gathered))
            self._gathered, self._open, self._tail = gathered, submission, submission.done
        submission.messages += gathered.add(self.ingest, burst)
        if len(gathered) >= self.ingest.settings.max_group_points:  # a QoS 0 flood: wait
            self._hold("gathered")

    def _stored(self, gathered: Gathered, done: asyncio.Future[int]) -> None:
        self._let_go("gathered")
        if done.cancelled() or done.exception() is not None:
            err = None if done.cancelled() else done.exception()
            message = err.message if isinstance(err, AiotError) else repr(err)
            assert self.device is not None
            log.warning("MQTT telemetry of %s not stored: %s", self.device.id, message)
            return self.close()  # nothing acknowledged: the device sends it again
        if gathered.acks:
            self._write(codec.pubacks(gathered.acks))

    def _hold(self, reason: str) -> None:
        if not self._held and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self._held.add(reason)

    def _let_go(self, reason: str) -> None:
        self._held.discard(reason)
        if not self._held and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _slow_down(self, wait: float) -> None:
        if wait > 0 and "rate" not in self._held:
            self._hold("rate")
            asyncio.get_running_loop().call_later(wait, self._let_go, "rate")

    def _handle(self, packet: codec.Packet) -> None:
        kind = packet.type
        if self._provisioning is not None:
            return self._provisioning.handle(packet)
        if self.state == "new":
            if kind != codec.CONNECT:
                raise codec.ProtocolViolation("the first packet must be CONNECT")
            self._connect(v5.parse_connect(packet.body))
        elif kind == codec.PUBLISH:
            self._publish(self.dialect.parse_publish(packet))
        elif kind == codec.PINGREQ:
            self._write(codec.PINGRESP)
        elif kind == codec.SUBSCRIBE:
            self._subscribe(*self.dialect.parse_subscribe(packet.body))
        elif kind == codec.UNSUBSCRIBE:
            pid, filters = self.dialect.parse_unsubscribe(packet.body)
            removed = [f in self.subscriptions for f in filters]
            self.subscriptions.difference_update(filters)
            self._write(self.dialect.unsuback(pid, removed))
        elif kind == codec.DISCONNECT:
            self.close()
        elif kind != codec.PUBACK:  # PUBACK: aiot sends QoS 0 only, nothing to settle
            raise codec.ProtocolViolation(f"unexpected packet type {kind}")

    def _connect(self, connect: codec.Connect) -> None:
        if connect.level not in LEVELS:
            self.endpoint.refuse_level(self, connect.level)
            self._write(
                codec.connack(codec.CONNACK_BAD_PROTOCOL)
            )  # the 3.1.1 form: any client reads it
            return self.close()
        self.dialect = Dialect(connect)
        certificate = self._certificate()
        if certificate is not None:  # X.509 credentials: the certificate names the device
            self.state, self.keepalive = "auth", connect.keepalive
            self._auth = asyncio.create_task(self._authenticate(connect, certificate))
            return None
        if connect.username == USER_NAME:  # no credentials yet: asks for some, then goes
            self.state, self._provisioning = "provision", Provisioning(self, self._write)
            return self._write(self._connack(accepted=True))
        self.state, self.keepalive = "auth", connect.keepalive
        self._auth = asyncio.create_task(self._authenticate(connect))

    def _certificate(self) -> bytes | None:
        """The client certificate of a TLS connection (DER), if the device presented one."""
        tls = self.transport.get_extra_info("ssl_object") if self.transport else None
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        return der or None

    def _look_up(
        self, catalog: Any, connect: codec.Connect, certificate: bytes | None
    ) -> tuple[Device | None, Bucket | None]:
        """The device and its own rate's bucket, in one trip off the event loop."""
        device = _device_of(catalog, connect, certificate)
        return device, self.endpoint.rates.bucket(device) if device is not None else None

    async def _authenticate(self, connect: codec.Connect, certificate: bytes | None = None) -> None:
        catalog = self.ingest.catalog
        device, self._bucket = await asyncio.to_thread(self._look_up, catalog, connect, certificate)
        if device is not None:
            rate = self._bucket.rate if self._bucket is not None else None
            self.limits = dataclasses.replace(self.limits, messages_per_second=rate)
        if self.state != "auth":
            return
        if device is None or self.endpoint.ended(device):  # deleted while we looked it up
            self.ingest.stats.unknown_token()
            what = "certificate" if certificate is not None else "access token"
            self.endpoint.limited.warning(
                "unknown_token", "MQTT connection from %s refused: unknown %s", self.peer(), what
            )
            self._write(self._connack(accepted=False))
            return self.close()
        self.device, self.state = device, "open"
        self.endpoint.attach(self)
        self._write(self._connack(accepted=True))
        self._drain()

    def _connack(self, accepted: bool) -> bytes:
        receive = self.endpoint.settings.receive_maximum
        return self.dialect.connack(accepted, receive, self.limit + _OVERHEAD)

    def _publish(self, msg: codec.Publish) -> None:
        if len(msg.payload) > self.limit:
            err: AiotError = PayloadTooLarge(f"the payload is larger than {self.limit} bytes")
            return self._misbehave(err, msg.payload)
        self._published += 1
        burst = self._burst
        if msg.topic == topics.TELEMETRY:  # the hot path, before any parsing
            burst.telemetry.append(msg.payload)
        else:
            topic = topics.parse_device_topic(msg.topic)
            if topic is None or not self._serves(topic):
                return self._refuse_topic(msg)
            self._route(topic, msg.payload)
        if msg.qos:
            burst.acks.append(msg.packet_id)

    def _serves(self, topic: topics.DeviceTopic) -> bool:
        if topic.kind in _INBOUND:
            return True
        if topic.kind in _GATEWAY_KINDS and not (self.device is not None and self.device.gateway):
            return False  # only a device marked as a gateway speaks for others
        return topic.kind in HANDLERS

    def _refuse_topic(self, msg: codec.Publish) -> None:
        """Refuse one message on a topic aiot does not serve; the connection stays."""
        assert self.device is not None
        shown = msg.topic if len(msg.topic) <= 80 else msg.topic[:80] + "..."
        err = Forbidden(f"{shown!r} is not a topic a device publishes to", code="topic_not_allowed")
        self.ingest.reject(self.device.tenant, TRANSPORT, self.device.id, err, msg.payload)
        self.endpoint.limited.warning(
            "topic_not_allowed", "MQTT device %s published on %r: refused", self.device.id, shown
        )
        if msg.qos:  # 3.1.1 has no negative PUBACK; MQTT 5 says why
            self._burst.acks.append(codec.refused(msg.packet_id, self.dialect.level))

    def _route(self, topic: topics.DeviceTopic, payload: bytes) -> None:
        if topic.kind == "attributes":
            self._burst.attributes.append(payload)
        elif topic.kind == "attribute_request":
            self._burst.requests.append((topic.request_id or 0, payload))
        elif topic.kind == "rpc_request":
            self._burst.calls.append((topic.request_id or 0, payload))
        elif topic.kind == "rpc_response":
            future = self._calls.get(topic.request_id or 0)
            if future is not None and not future.done():
                future.set_result(_json_or_text(payload))
        elif topic.kind == "telemetry":
            self._burst.telemetry.append(payload)
        else:
            self._burst.others.append((topic, payload))

    def _subscribe(self, packet_id: int, wanted: list[tuple[str, int]]) -> None:
        codes = []
        for topic_filter, _qos in wanted:
            granted = topic_filter in self._grantable()  # a few fixed ones, whatever is asked
            if granted:
                self.subscriptions.add(topic_filter)
            codes.append(0 if granted else 0x80)  # delivered at QoS 0
        if 0x80 in codes:
            refused = next(f for (f, _), c in zip(wanted, codes, strict=True) if c)
            self.endpoint.refuse_subscriptions(self, codes.count(0x80), refused)
        self._write(self.dialect.suback(packet_id, codes))

    def _grantable(self) -> frozenset[str]:
        if self.device is not None and self.device.gateway:
            return topics.DEVICE_FILTERS | topics.OTA_FILTERS | topics.GATEWAY_FILTERS
        return topics.DEVICE_FILTERS | topics.OTA_FILTERS

    async def _complete(self, burst: Burst, before: asyncio.Future[Any] | None) -> None:
        assert self.device is not None
        try:
            limits, publish = self.limits, self.dialect.publish
            out = await complete(self.ingest, self.device, burst, limits, publish, self)
        except Exception as err:  # a failed write: close, so nothing of it is acknowledged
            message = err.message if isinstance(err, AiotError) else repr(err)
            log.warning("MQTT burst of %s not stored: %s", self.device.id, message)
            self.close()  # nothing acknowledged: the device sends it again after reconnecting
            return
        finally:
            self._inflight -= 1
            if self._inflight < _MAX_INFLIGHT:
                self._let_go("inflight")
        if before is not None:
            try:
                await asyncio.shield(before)
            except Exception:  # what came before was not stored: the connection is closing
                return
        self._write(out)

    # delivery to the device

    def listens(self, topic: str) -> bool:
        """Whether the device subscribed to a filter matching ``topic``."""
        return any(topics.filter_matches(f, topic) for f in self.subscriptions)

    def send(self, topic: str, message: Any) -> None:
        """Publish JSON to the device at QoS 0."""
        self._write(
            self.dialect.publish(topic, json.dumps(message, separators=(",", ":")).encode())
        )

    async def call(self, command: Command) -> Any:
        """Send a command on the RPC topic; wait for the answer unless it is one-way."""
        self._next_call = self._next_call % 999_999_999 + 1
        request_id = self._next_call
        if command.oneway:
            return self.send(topics.rpc_request(request_id), command.message())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[request_id] = future
        try:
            self.send(topics.rpc_request(request_id), command.message())
            return await asyncio.wait_for(future, command.timeout)
        except TimeoutError as err:
            raise CommandTimeout(f"no answer within {command.timeout:g} s") from err
        finally:
            self._calls.pop(request_id, None)

    # ending

    def _write(self, data: bytes) -> None:
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _misbehave(self, err: AiotError, body: bytes, code: str | None = None) -> None:
        if code is not None:
            err.code = code  # type: ignore[misc]
        assert self.device is not None
        self.ingest.reject(self.device.tenant, TRANSPORT, self.device.id, err, body)
        self.close()

    def _violation(self, err: codec.ProtocolViolation) -> None:
        self.endpoint.protocol_errors += 1
        who = f"device {self.device.id}" if self.device is not None else self.peer()
        self.endpoint.limited.warning(
            "protocol_violation", "MQTT connection of %s closed: %s", who, err
        )
        if self.device is None:
            return self.close()
        size = "above the limit" in str(err)
        self._write(self.dialect.goodbye(err, size))
        refusal = PayloadTooLarge(str(err)) if size else InvalidInput(str(err))
        self._misbehave(refusal, b"", code=None if size else "protocol_violation")

    def peer(self) -> str:
        """The remote address, for the log."""
        name = self.transport.get_extra_info("peername") if self.transport else None
        return f"{name[0]}:{name[1]}" if isinstance(name, tuple) else "?"

    async def end(self) -> None:
        """Close now, then wait until what was read before is durable or refused."""
        self.close()
        if self._tail is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._tail)

    def close(self) -> None:
        """Drop the connection now; nothing further is read from it."""
        self.state = "closed"
        self._backlog.clear()
        if self.transport is not None:
            self.transport.close()


def _device_of(catalog: Any, connect: codec.Connect, certificate: bytes | None) -> Device | None:
    """The device a CONNECT names, as ThingsBoard looks: its certificate (X.509), else its user
    name as an access token, else its client id, user name and password (MQTT basic)."""
    if certificate is not None:
        found: Device | None = catalog.device_by_certificate(certificate)
        return found
    token, client_id = connect.username, connect.client_id
    device = catalog.device_by_token(token) if token else None
    if device is None and (client_id or token):
        device = catalog.device_by_basic(client_id, token, connect.password)
    return device


def _json_or_text(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return payload.decode("utf-8", errors="replace")
