"""aiot's MQTT endpoint for devices: the listening socket, the connected devices, the channel.

The endpoint is the :class:`~aiot.domain.DeviceChannel` that ``aiot.app`` wires in: commands
and shared-attribute updates reach a device through the session it is connected with, or
through its gateway's session (:mod:`aiot.connect.mqtt.gateway`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections import OrderedDict
from typing import Any

from aiot.connect import topics
from aiot.connect.client_rpc import SessionLimits
from aiot.connect.limits import RateLimits
from aiot.connect.lograte import RateLimitedLog
from aiot.connect.mqtt import gateway
from aiot.connect.mqtt.gate import Gate, raise_file_limit
from aiot.connect.mqtt.handlers import HANDLERS
from aiot.connect.mqtt.session import DeviceSession
from aiot.connect.sockets import listening_socket
from aiot.domain import Command, Device
from aiot.errors import DeviceOffline, ServiceError
from aiot.ingest import Ingestor
from aiot.settings import MqttSettings

__all__ = ["MqttEndpoint"]

HANDLERS.update(gateway.HANDLERS)

log = logging.getLogger("aiot.mqtt")
_ENDED_KEPT = 10_000  # deleted devices remembered, against a CONNECT racing the deletion
_END_WAIT = 5.0  # seconds to wait for an ended session's last reads to be durable


class MqttEndpoint:
    """Serves MQTT 3.1, 3.1.1 and 5 to devices on ``settings.host:settings.port``."""

    def __init__(
        self, ingest: Ingestor, settings: MqttSettings, rates: RateLimits | None = None
    ) -> None:
        self.ingest = ingest
        self.settings = settings
        self.rates = rates or RateLimits(ingest.catalog, settings.messages_per_second)
        self.sessions: set[DeviceSession] = set()
        self.protocol_errors = 0
        self.refused_subscriptions = 0
        self.refused_levels = 0  # CONNECTs of a protocol level aiot does not speak
        self.limited = RateLimitedLog(log, every=10.0)  # an attacker repeats these at will
        self.gate = Gate(
            settings.connect_timeout_seconds, settings.max_pending_connections, self.limited
        )
        self.port: int | None = None
        self.limits = SessionLimits(  # what getSessionLimits reports to every device
            settings.max_payload_bytes, settings.receive_maximum, settings.messages_per_second
        )
        self._devices: dict[str, list[DeviceSession]] = {}  # a device's sessions, oldest first
        self.gateways = gateway.Gateways()  # the devices connected behind gateway sessions
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # (tenant, device id) of a deleted device, or (tenant, device id, token) of a replaced token
        self._ended: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self._ended_lock = threading.Lock()
        self._bound: socket.socket | None = None
        self._tls = _tls(settings)

    def bind(self) -> None:
        """Take the port now, before anything is announced; :meth:`start` listens on it."""
        host, port = self.settings.host, self.settings.port
        try:
            self._bound = listening_socket(host, port)
        except OSError as err:
            raise ServiceError(f"cannot listen for MQTT on {host}:{port}: {err.strerror}") from err

    async def start(self) -> None:
        """Listen for devices; the bound port is in :attr:`port`."""
        self._loop = asyncio.get_running_loop()
        raise_file_limit()  # every connection is a descriptor: take all the system allows
        if self._bound is None:
            self.bind()
        sock, self._bound = self._bound, None
        assert sock is not None
        if self._tls is not None:  # self-signed device certificates: each trusted by itself
            for pem in await asyncio.to_thread(self.ingest.catalog.certificates):
                self.trust(pem)
        self._server = await self._loop.create_server(
            lambda: DeviceSession(self), sock=sock, ssl=self._tls, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep(), name="aiot-mqtt-keepalive")

    async def stop(self) -> None:
        """Stop listening and drop every connection (unacknowledged messages are resent)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._server is not None:
            self._server.close()
            for session in list(self.sessions):
                session.close()
            await self._server.wait_closed()
        self._server = None

    # the sessions of devices

    def attach(self, session: DeviceSession) -> None:
        """Register an authenticated session; beyond the device's sessions allowed (ThingsBoard's
        default: one), its oldest session is dropped."""
        assert session.device is not None
        self.gate.passed(session)
        held = self._devices.setdefault(session.device.id, [])
        held.append(session)
        while len(held) > self.settings.max_sessions_per_device:
            held.pop(0).close()

    def detach(self, session: DeviceSession) -> None:
        """Forget a closed session."""
        self.gate.passed(session)
        self.sessions.discard(session)
        self.gateways.drop(session)
        held = self._devices.get(session.device.id, []) if session.device is not None else []
        if session in held:
            held.remove(session)
            if not held:
                del self._devices[session.device.id]  # type: ignore[union-attr]

    def end(self, tenant: str, device_id: str | None = None, token: str | None = None) -> None:
        """End the sessions of a deleted device (``None``: of every device of the tenant).

        With ``token``, only that credential has ended (the device was given a new one): its
        sessions close, and a CONNECT that raced the change with the old token is refused.
        Safe from any thread. From another thread it returns once what those sessions had read
        is durable or refused, so that deleting the device's data afterwards deletes all of it.
        """
        if device_id is not None:  # ids are never reused; a tenant's name may be, later
            ended = (tenant, device_id) if token is None else (tenant, device_id, token)
            with self._ended_lock:
                self._ended[ended] = None
                while len(self._ended) > _ENDED_KEPT:
                    self._ended.popitem(last=False)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if _running_loop() is loop:
            self._forget(tenant, device_id, token)
            for session in self._of(tenant, device_id):
                session.close()
            return
        ending = asyncio.run_coroutine_threadsafe(self._end(tenant, device_id, token), loop)
        with contextlib.suppress(TimeoutError):
            ending.result(_END_WAIT)

    def _forget(self, tenant: str, device_id: str | None, token: str | None) -> None:
        if device_id is not None and token is None:  # a deleted device behind a gateway
            self.gateways.forget(tenant, device_id)

    async def _end(self, tenant: str, device_id: str | None, token: str | None) -> None:
        self._forget(tenant, device_id, token)
        await asyncio.gather(*(session.end() for session in self._of(tenant, device_id)))

    def _of(self, tenant: str, device_id: str | None) -> list[DeviceSession]:
        return [
            s
            for s in self.sessions
            if s.device is not None
            and s.device.tenant == tenant
            and device_id in (None, s.device.id)
        ]

    def ended(self, device: Device) -> bool:
        """Whether the device was deleted, or its token replaced, while this process runs."""
        with self._ended_lock:
            return (device.tenant, device.id) in self._ended or (
                device.tenant,
                device.id,
                device.access_token,
            ) in self._ended

    def drop(self, tenant: str, device_id: str) -> None:
        """Close the device's sessions (its credentials changed); it may connect again."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._close_all, tenant, device_id)

    def _close_all(self, tenant: str, device_id: str) -> None:
        for session in self._of(tenant, device_id):
            session.close()

    def trust(self, pem: str) -> None:
        """Accept a device's certificate in TLS handshakes (the catalog says whose it is)."""
        if self._tls is not None:
            self._tls.load_verify_locations(cadata=pem)

    def connected(self) -> int:
        """How many devices are connected."""
        return len(self._devices)

    async def _sweep(self) -> None:
        grace = self.settings.keepalive_grace
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for session in list(self.sessions):
                # before CONNACK the gate's deadline applies, which no byte extends
                limit = session.keepalive * grace if session.device else 0
                if limit and now - session.last_seen > limit:
                    session.close()

    def refuse_level(self, session: DeviceSession, level: int) -> None:
        """Count a CONNECT of a protocol level aiot does not speak; log at a bounded rate."""
        self.refused_levels += 1
        self.limited.warning(
            "protocol_level", "MQTT connection from %s refused: protocol level %d (aiot speaks "
            "3.1, 3.1.1 and 5)", session.peer(), level,
        )  # fmt: skip

    def refuse_subscriptions(self, session: DeviceSession, count: int, first: str) -> None:
        """Count subscriptions refused to a device (SUBACK 0x80); log at a bounded rate."""
        self.refused_subscriptions += count
        device = session.device.id if session.device is not None else "?"
        shown = first if len(first) <= 80 else first[:80] + "..."
        self.limited.warning(
            "subscribe_refused",
            "MQTT device %s refused %d subscription(s), such as %r: only %s",
            device, count, shown, ", ".join(sorted(topics.DEVICE_FILTERS)),
        )  # fmt: skip

    # DeviceChannel

    def _session(self, tenant: str, device_id: str, topic: str) -> DeviceSession | None:
        """The device's newest session subscribed to ``topic``, or None."""
        listening = self._listening(tenant, device_id, topic)
        return listening[-1] if listening else None

    def _listening(self, tenant: str, device_id: str, topic: str) -> list[DeviceSession]:
        return [
            s
            for s in self._devices.get(device_id, [])
            if s.device is not None and s.device.tenant == tenant and s.listens(topic)
        ]

    def online(self, tenant: str, device_id: str) -> bool:
        """Whether the device is connected and subscribed to its RPC topic (or its gateway)."""
        return self._session(tenant, device_id, topics.rpc_request(1)) is not None or (
            self.gateways.route(tenant, device_id, topics.GATEWAY_RPC) is not None
        )

    async def call(self, tenant: str, device_id: str, command: Command) -> Any:
        """Send a command to a connected device; its answer, or None when one-way."""
        session = self._session(tenant, device_id, topics.rpc_request(1))
        if session is not None:
            return await session.call(command)
        behind = self.gateways.route(tenant, device_id, topics.GATEWAY_RPC)
        if behind is not None:
            return await self.gateways.call(*behind, command)
        raise DeviceOffline(
            f"the device is not connected over MQTT, or not subscribed to {topics.RPC_REQUESTS}"
        )

    def push_attributes(self, tenant: str, device_id: str, values: dict[str, Any]) -> None:
        """Publish changed shared attributes on ``v1/devices/me/attributes`` (any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._push, tenant, device_id, dict(values))

    def _push(self, tenant: str, device_id: str, values: dict[str, Any]) -> None:
        for session in self._listening(tenant, device_id, topics.ATTRIBUTES):
            session.send(topics.ATTRIBUTES, values)
        self.gateways.push(tenant, device_id, values)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _tls(settings: MqttSettings) -> ssl.SSLContext | None:
    if settings.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    context.verify_mode = ssl.CERT_OPTIONAL  # a device may present a certificate (X.509)
    if settings.tls_client_ca is not None:
        context.load_verify_locations(cafile=settings.tls_client_ca)
    return context
