"""One bridge to an external MQTT broker: subscribe with topic templates, store, then ack.

The paho-mqtt client runs its own network thread with a persistent session (fixed client id,
``clean_session=False``, QoS 1) and manual acknowledgement: a message is acknowledged to the
broker only once its points are durable, so a broker that keeps QoS 1 messages (persistence
on) redelivers whatever aiot had not stored when either side went down. paho reconnects
with a backoff of 1 s doubling to 30 s.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from aiot.connect.cabundle import legacy_ca_pem, tls_context
from aiot.connect.payloads import SERVER_TIME, decode_json, decode_telemetry
from aiot.connect.topics import TopicTemplate
from aiot.domain import Batch, Bridge
from aiot.errors import Conflict, InvalidInput, NotFound, PayloadRejected
from aiot.ingest import Ingestor

__all__ = ["BridgeRunner", "broker_address", "check", "templates", "tls_of"]

log = logging.getLogger("aiot.bridge")
TRANSPORT = "bridge"
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def broker_address(url: str) -> tuple[str, int, bool]:
    """Host, port and TLS of ``mqtt://host[:port]`` or ``mqtts://host[:port]``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise InvalidInput("a broker URL is mqtt://host[:port] or mqtts://host[:port]", url)
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as err:
        raise InvalidInput("the broker URL has an invalid port", url) from err
    return parts.hostname, port, tls


def templates(topics: tuple[str, ...] | list[str]) -> list[TopicTemplate]:
    """Compiled topic templates; InvalidInput names the first bad one."""
    if not topics:
        raise InvalidInput("a bridge needs at least one topic template")
    try:
        return [TopicTemplate(t) for t in topics]
    except ValueError as err:
        raise InvalidInput(f"bad topic template: {err}", list(topics)) from err


def tls_of(bridge: Bridge) -> ssl.SSLContext | None:
    """The TLS context of an ``mqtts://`` bridge, None for ``mqtt://``; InvalidInput if bad."""
    if not broker_address(bridge.url)[2]:
        if bridge.ca_pem is not None:
            raise InvalidInput("a CA bundle is only for mqtts:// brokers", bridge.url)
        return None
    pem = bridge.ca_pem
    if pem is None and bridge.ca_file is not None:  # saved by an older version
        pem = legacy_ca_pem(bridge.ca_file)
    return tls_context(pem)


def check(bridge: Bridge) -> None:
    """Everything a runner needs to start: InvalidInput says what is wrong, before saving."""
    templates(bridge.topics)
    tls_of(bridge)


@dataclass
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int


def _why_unreachable(host: str, port: int) -> str:
    """Why a TCP connection to ``host:port`` fails now: the name, the port, or the handshake."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        return f"the host name does not resolve ({err.strerror})"
    family, kind, proto, _, address = addresses[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(5)
            sock.connect(address)
    except OSError as err:
        return err.strerror or str(err) or type(err).__name__
    return "the TCP connection opens, the MQTT or TLS handshake fails"


class BridgeRunner:
    """A running bridge: the client thread hands messages to the event loop in bursts."""

    def __init__(self, bridge: Bridge, ingest: Ingestor, loop: asyncio.AbstractEventLoop) -> None:
        self.bridge = bridge
        self.ingest = ingest
        self.loop = loop
        self.templates = templates(bridge.topics)
        self.connected = False
        self.state = "connecting"
        self.counts = {"received": 0, "stored_points": 0, "rejected": 0}
        self.last_error: str | None = None
        self._pending: list[_Message] = []
        self._devices: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lookup = asyncio.Lock()
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"aiot-bridge-{self.bridge.id}",
            clean_session=False,
            manual_ack=True,
        )
        if self.bridge.username is not None:
            client.username_pw_set(self.bridge.username, self.bridge.password)
        context = tls_of(self.bridge)
        if context is not None:
            client.tls_set_context(context)  # verifies the broker's name, as the context says
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect in the background; failures are retried with backoff."""
        host, port, _ = broker_address(self.bridge.url)
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect (the broker keeps the session) and end the client thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def status(self) -> dict[str, Any]:
        """Connection state and counters, for listing."""
        shown = {"state": self.state, "connected": self.connected, **self.counts}
        return {**shown, "last_error": self.last_error}

    # the client thread

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self.last_error = f"the broker refused the connection: {rc}"
            return
        self.connected, self.state = True, "connected"
        client.subscribe([(t.subscription, 1) for t in self.templates])

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        # paho retries without saying why: find out, and say it once per change
        host, port, _ = broker_address(self.bridge.url)
        error = f"cannot connect to {host}:{port}: {_why_unreachable(host, port)}"
        self.connected, self.state = False, "connecting"
        if error != self.last_error:
            log.warning("bridge %s: %s (retrying)", self.bridge.name, error)
        self.last_error = error

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connected, self.state = False, "connecting"
        if rc.is_failure:
            self.last_error = f"disconnected: {rc}"

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        message = _Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos)
        self.loop.call_soon_threadsafe(self._received, message)

    # the event loop

    def _received(self, message: _Message) -> None:
        self._pending.append(message)
        if len(self._pending) == 1:  # the first of a burst: store the burst next turn
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        burst, self._pending = self._pending, []
        task = self.loop.create_task(self._store(burst))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _store(self, burst: list[_Message]) -> None:
        self.counts["received"] += len(burst)
        try:
            await self._write(burst)
        except Exception as err:  # not acknowledged: reconnect, and the broker resends them
            self.last_error = f"not stored: {getattr(err, 'message', repr(err))}"
            log.warning("bridge %s: %s", self.bridge.name, self.last_error)
            await asyncio.to_thread(self.client.reconnect)
            return
        for message in burst:
            if message.qos:
                self.client.ack(message.mid, message.qos)

    async def _write(self, burst: list[_Message]) -> None:
        stamp = SERVER_TIME  # each message its device's next server time: none collapse
        batches = [b for m in burst if (b := await self._decode(m, stamp)) is not None]
        if batches:
            batch = Batch.concat(self.bridge.tenant, batches)
            devices = batch.table.column("device").unique().to_pylist()
            await self.ingest.submit(batch, devices, messages=len(batches))
            self.counts["stored_points"] += len(batch)

    async def _decode(self, message: _Message, stamp: int) -> Batch | None:
        """The message's points; None when refused (counted, logged, and acknowledged)."""
        try:
            device, body = self._map(message)
            device_id = await self._device_id(device)  # a catalog failure is not the message's
            return self._parse(body, device_id, stamp)
        except PayloadRejected as err:
            self.counts["rejected"] += 1
            self.ingest.reject(self.bridge.tenant, TRANSPORT, None, err, message.payload)
            return None

    def _parse(self, body: bytes, device_id: str, stamp: int) -> Batch:
        limit = self.ingest.settings.max_points_per_message
        try:
            return decode_telemetry(body, self.bridge.tenant, device_id, stamp, limit)
        except PayloadRejected:
            raise
        except Exception as err:  # decoding is pure: what breaks it once breaks it on every resend
            reason = f"the payload cannot be decoded ({type(err).__name__})"
            raise PayloadRejected(reason, code="undecodable") from err

    def _map(self, message: _Message) -> tuple[str, bytes]:
        for template in self.templates:
            found = template.parse(message.topic)
            if found is not None:
                return found["device"], _body(found.get("key"), message.payload)
        raise PayloadRejected(f"{message.topic!r} fits no template", code="unmapped_topic")

    async def _device_id(self, name: str) -> str:
        async with self._lookup:  # one lookup (or creation) per name, not one per burst
            if name not in self._devices:
                self._devices[name] = await asyncio.to_thread(self._find_or_create, name)
        return self._devices[name]

    def forget(self, device_id: str) -> None:
        """Drop a deleted device from the names looked up (safe from any thread)."""
        for name, known in list(self._devices.items()):
            if known == device_id:
                self._devices.pop(name, None)

    def _find_or_create(self, name: str) -> str:
        catalog, tenant = self.ingest.catalog, self.bridge.tenant
        try:
            return catalog.device(tenant, name).id
        except NotFound as err:
            if not self.bridge.create_devices:
                raise PayloadRejected(f"no device {name!r}", code="unknown_device") from err
        try:
            return catalog.create_device(tenant, name, self.bridge.device_type).id
        except Conflict:  # created meanwhile (another bridge, the API)
            return catalog.device(tenant, name).id


def _body(key: str | None, payload: bytes) -> bytes:
    """ThingsBoard JSON for the decoder: as is, or ``{key: value}`` for a value payload.

    A value payload that is JSON is taken as JSON (orjson: bounded depth, no numbers beyond a
    double); one that only looks like JSON (an array, an object, a number) is refused; any other
    text is a text value.
    """
    if key is None:
        return payload
    raw = payload.decode("utf-8", errors="replace").strip().encode()
    try:
        decode_json(raw)
    except PayloadRejected:
        if raw.startswith((b"[", b"{")) or _NUMBER.fullmatch(raw):
            raise
        raw = orjson.dumps(raw.decode())
    return b"{" + orjson.dumps(key) + b":" + raw + b"}"
