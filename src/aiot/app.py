"""The composition root: builds the platform from one :class:`~aiot.settings.Settings`.

>>> from aiot.settings import Settings
>>> platform = Platform.build(Settings.model_validate({"data_dir": "/tmp/aiot-doc",
...                                                   "store": {"backend": "memory"}}))
>>> platform.catalog.find_tenant("default").id
'default'
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aiot.connect.bridges import Bridges
from aiot.connect.http_rpc import Channels, HttpPolls
from aiot.connect.limits import RateLimits
from aiot.connect.mqtt import MqttEndpoint
from aiot.connect.ota import Updates
from aiot.domain import Batch, Command, Device, DeviceChannel, Principal, Role, Tenant
from aiot.errors import AiotError, Conflict, DeviceOffline, Forbidden, NotFound, Unauthorized
from aiot.ingest import Ingestor
from aiot.models import hub
from aiot.models import train as training
from aiot.models.base import BaseDetector, Inputs, ModelCard
from aiot.operations import Operations
from aiot.rules.notify import Notifier, on_loop
from aiot.settings import Settings
from aiot.sim.fleet import Fleet
from aiot.store.base import TelemetryStore
from aiot.store.catalog import Catalog
from aiot.store.duckdb import DuckDBStore
from aiot.store.folder import make_private
from aiot.store.memory import MemoryStore
from aiot.store.secrets import SecretBox
from aiot.store.wal import FileLog, IngestLog, MemoryLog
from aiot.stream import StreamRunner
from aiot.stream.live import LiveHub

__all__ = ["OFFLINE_SECONDS", "ONLINE_SECONDS", "AdminKey", "Platform"]

ONLINE_SECONDS = 60.0  # a device heard from this recently is online, connected or not
OFFLINE_SECONDS = 3600.0  # silent longer than this (and not connected): offline; between: stale
ADMIN_KEY_FILE = "admin.key"
SECRET_KEY_FILE = "secret.key"
log = logging.getLogger("aiot")


@dataclass(frozen=True)
class AdminKey:
    """The installation's admin key and whether this start created it."""

    secret: str
    created: bool
    path: Path | None


class Platform:
    """Every stage of aiot, wired together; the API, UI and CLI talk only to this."""

    def __init__(
        self,
        settings: Settings,
        store: TelemetryStore,
        catalog: Catalog,
        admin_key: AdminKey,
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.admin_key = admin_key
        self.ingest = Ingestor(store, catalog, settings.ingest, *_log(settings))
        # message rates per device type and per tenant, shared by MQTT and HTTP devices
        self.rates = RateLimits(catalog, settings.mqtt.messages_per_second)
        self.mqtt = (
            MqttEndpoint(self.ingest, settings.mqtt, self.rates) if settings.mqtt.port else None
        )
        self.http_polls = HttpPolls()  # HTTP devices long-polling for commands
        self.channel: DeviceChannel | None = Channels([*filter(None, [self.mqtt]), self.http_polls])
        self.bridges = Bridges(self.ingest)
        self.ota = Updates(catalog, lambda: self.channel)  # firmware and software packages
        self.notifier = Notifier()  # started with the command path once the loop runs
        self.live = LiveHub()  # WebSocket subscribers, fed by the stream stage
        self.stream = StreamRunner(
            self.ingest.wal,
            store,
            catalog,
            *_stream_checkpoints(settings),
            notifier=self.notifier,
            live=self.live,
            trained=self._trained,
        )
        self.ingest.listen(self.stream.appended)
        self.ops = Operations(catalog, self.stream, self.reader, self._trained)
        self.simulated: Fleet | None = None  # the demo's fleet, whose faults are known
        self._feeds: list[tuple[AsyncIterator[Batch], dict[str, str]]] = []
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def build(cls, settings: Settings) -> Platform:
        """Open (or create) the data folder, the store and the catalog."""
        make_private(settings.data_dir)
        store = _store(settings)
        url, box = settings.store.catalog_url, _secret_box(settings)
        catalog = Catalog(url, box) if url else Catalog.embedded(settings.data_dir, box)
        if catalog.find_tenant(settings.default_tenant) is None:
            catalog.create_tenant(settings.default_tenant, "Default tenant")
        return cls(settings, store, catalog, _admin_key(settings))

    async def start(self) -> None:
        """Start the background work: the ingest writer, then in-process feeds."""
        await self.ingest.start()
        self.notifier.start(on_loop(self.command, asyncio.get_running_loop()))
        self.stream.start()
        if self.mqtt is not None:
            await self.mqtt.start()
        await self.bridges.start()
        for batches, devices in self._feeds:
            self._tasks.append(asyncio.create_task(self._run_feed(batches, devices)))

    async def stop(self) -> None:
        """Stop feeds, finish queued writes and stop background work."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.bridges.stop()
        if self.mqtt is not None:
            await self.mqtt.stop()
        await self.ingest.stop()
        await asyncio.to_thread(self.stream.stop)  # scores what the log holds, checkpoints
        await asyncio.to_thread(self.notifier.stop)  # the loop runs on for their commands

    def feed(self, batches: AsyncIterator[Batch], devices: Mapping[str, str]) -> None:
        """Ingest an in-process stream (a simulated fleet) once started; ``devices``: name → id."""
        self._feeds.append((batches, dict(devices)))

    async def _run_feed(self, batches: AsyncIterator[Batch], devices: dict[str, str]) -> None:
        names, ids = pa.array(list(devices)), pa.array(list(devices.values()))
        async for batch in batches:
            positions = pc.index_in(batch.table.column("device"), value_set=names)
            table = batch.table.set_column(0, "device", pc.take(ids, positions))
            try:
                await self.ingest.submit(Batch(batch.tenant, table), list(devices.values()))
            except AiotError as err:  # a store hiccup costs this batch, not the feed
                log.warning("feed batch not stored: %s", err.message)

    def ensure_device(
        self, tenant: str, name: str, type: str, labels: dict[str, str] | None = None
    ) -> Device:
        """The tenant's device of that name, created if missing."""
        try:
            return self.catalog.device(tenant, name)
        except NotFound:
            return self.catalog.create_device(tenant, name, type, labels)

    async def command(self, tenant: str, device_id: str, command: Command) -> Any:
        """Send a command to a device; its answer (two-way) or None (one-way)."""
        device = self.catalog.device(tenant, device_id)
        if self.channel is None:
            raise DeviceOffline("no device transport is running (the MQTT endpoint is off)")
        return await self.channel.call(tenant, device.id, command)

    def set_attributes(
        self, tenant: str, device_id: str, scope: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        """Set attributes of a scope; shared ones are pushed to the connected device."""
        device = self.catalog.device(tenant, device_id)
        self.catalog.set_attributes(tenant, device.id, scope, values)
        if scope == "shared" and self.channel is not None:
            self.channel.push_attributes(tenant, device.id, values)
        return self.catalog.attributes(tenant, device.id, scope)

    def device_status(self, device: Device, now: datetime | None = None) -> str:
        """``online`` (connected, or heard from within a minute), ``stale`` or ``offline``."""
        if self.channel is not None and self.channel.online(device.tenant, device.id):
            return "online"
        if device.last_seen is None:
            return "offline"
        silent = ((now or datetime.now(UTC)) - device.last_seen).total_seconds()
        if silent <= ONLINE_SECONDS:
            return "online"
        return "stale" if silent <= OFFLINE_SECONDS else "offline"

    def close(self) -> None:
        """Release the ingest log, the store and the catalog."""
        self.ingest.wal.close()
        self.store.close()
        self.catalog.close()

    def _trained(self, tenant: str, name: str, version: str) -> BaseDetector:
        """A fresh copy of a trained model version of the tenant's hub."""
        return hub.load(self.settings.data_dir, tenant, name, version)

    def health(self) -> dict[str, Any]:
        """``ok``, or ``failed`` naming the store's error while it cannot take the ingest log."""
        fault = self.ingest.applier.fault
        store = {"status": "ok"} if fault is None else {"status": "failed", "error": fault}
        return {"status": store["status"], "store": store}

    def reader(self) -> TelemetryStore:
        """The telemetry store, once it holds every point acknowledged so far (up to 1 s)."""
        if not self.ingest.settle():
            lag = self.ingest.wal.end - self.ingest.applier.applied
            log.warning("a query answered while the store trails the ingest log by %d points", lag)
        return self.store

    # who is calling

    def principal(self, secret: str | None, tenant: str | None = None) -> Principal:
        """The caller behind an API key; the admin key may name any tenant."""
        if not secret:
            raise Unauthorized("an API key is required: Authorization: Bearer <key>")
        if not secret.isascii():  # keys are ASCII; compare_digest raises on anything else
            raise Unauthorized("the API key is not valid")
        if secrets.compare_digest(secret, self.admin_key.secret):
            chosen = tenant or self.settings.default_tenant
            if self.catalog.find_tenant(chosen) is None:
                raise Unauthorized(f"no tenant {chosen!r}")
            return Principal(chosen, Role.ADMIN, platform_admin=True)
        key = self.catalog.authenticate(secret)
        if key is None:
            raise Unauthorized("the API key is not valid")
        if tenant is not None and tenant != key.tenant:
            raise Forbidden("this key belongs to another tenant")
        return Principal(key.tenant, key.role, key_id=key.id)

    def sign_in(self, login: str, password: str) -> Principal:
        """The user behind ``tenant/name`` (or ``name``, in the default tenant) and a password."""
        tenant, _, name = login.rpartition("/")
        tenant = tenant or self.settings.default_tenant
        user = self.catalog.check_password(tenant, name, password)
        if user is None:
            raise Unauthorized("the user name or the password is wrong")
        return Principal(user.tenant, user.role, user_id=user.id)

    # operations that span stages

    def delete_device(self, tenant: str, device_id: str) -> Device:
        """Remove a device from the catalog and its telemetry from the store; end its sessions."""
        device = self.catalog.delete_device(tenant, device_id)
        self.bridges.forget(tenant, device.id)
        if self.mqtt is not None:  # before its data goes, so that nothing of it comes after
            self.mqtt.end(tenant, device.id)
        self.reader().delete_device(tenant, device.id)
        return device

    def delete_tenant(self, tenant: str) -> Tenant:
        """Remove a tenant with everything it has; its keys, tokens and sessions end at once."""
        if tenant == self.settings.default_tenant:
            raise Conflict("the default tenant cannot be deleted (aiot makes it at every start)")
        found = self.catalog.delete_tenant(tenant)  # keys and tokens stop working here
        self.bridges.stop_tenant(tenant)
        self.stream.reload(wait=5.0)  # its deployments score nothing more
        if self.mqtt is not None:
            self.mqtt.end(tenant)
        self.reader().delete_tenant(tenant)  # once the store holds all it was sent
        hub.delete_tenant(self.settings.data_dir, tenant)
        return found

    def new_token(self, tenant: str, device_id: str) -> Device:
        """Give a device a fresh access token; sessions opened with the old one end at once."""
        old = self.catalog.device(tenant, device_id)
        device = self.catalog.new_token(tenant, old.id)
        if self.mqtt is not None:
            self.mqtt.end(tenant, device.id, old.access_token)
        return device

    def set_certificate(self, tenant: str, device_id: str, pem: str | None) -> Device:
        """Give a device X.509 credentials (``None``: take them away, ending its sessions)."""
        device = self.catalog.set_certificate(tenant, device_id, pem)
        if self.mqtt is not None:
            cert = self.catalog.certificate(tenant, device.id) if pem is not None else None
            if cert is not None:
                self.mqtt.trust(cert)  # a self-signed certificate vouches for itself
            else:
                self.mqtt.drop(tenant, device.id)
        return device

    def set_basic_credentials(
        self,
        tenant: str,
        device_id: str,
        client_id: str | None,
        username: str | None,
        password: str | None,
    ) -> Device:
        """Give a device MQTT basic credentials (all None: none); its sessions end."""
        device = self.catalog.set_basic_credentials(
            tenant, device_id, client_id, username, password
        )
        if self.mqtt is not None:
            self.mqtt.drop(tenant, device.id)
        return device

    def train_model(self, tenant: str, device_id: str, spec: training.TrainSpec) -> ModelCard:
        """Fit a detector on a device's stored history; store it as the model's next version."""
        device = self.catalog.device(tenant, device_id)
        table = self.reader().query(tenant, device.id, spec.keys, spec.start, spec.end)
        ts, values = _history(table, spec.keys)
        model, metrics = training.fit(spec.detector, spec.params, values)
        interval = float(np.median(np.diff(ts))) / 1000.0 if len(ts) > 1 else None
        inputs = Inputs(tuple(spec.keys), interval, multivariate=len(spec.keys) > 1)
        metrics |= {"train_start_ms": float(ts[0]), "train_end_ms": float(ts[-1])}
        root, name = self.settings.data_dir, spec.name or spec.detector
        version = hub.next_version(root, tenant, name)
        hub.save(root, tenant, model, version, metrics, name, inputs)
        return hub.latest_card(root, tenant, name)

    def models(self, tenant: str) -> list[ModelCard]:
        """The cards of every trained model version of a tenant."""
        return hub.list_versions(self.settings.data_dir, tenant)

    def model_card(self, tenant: str, name: str) -> ModelCard:
        """The card of the newest version of a tenant's trained model."""
        return hub.latest_card(self.settings.data_dir, tenant, name)


def _history(table: pa.Table, keys: list[str]) -> tuple[Any, Any]:
    """Numeric points of ``keys`` as (ts, rows × keys); rows before every key has a value drop."""
    table = table.filter(pc.invert(pc.is_null(table.column("value"))))
    missing = sorted(set(keys) - set(table.column("key").unique().to_pylist()))
    if missing:
        raise NotFound("no numeric history for some keys", detail={"keys": missing})
    ts, values = training.pivot(
        table.column("key").to_numpy(zero_copy_only=False),
        table.column("ts").to_numpy(),
        table.column("value").to_numpy(zero_copy_only=False),
        keys,
    )
    keep = ~np.isnan(values).any(axis=1)
    return ts[keep], values[keep]


def _store(settings: Settings) -> TelemetryStore:
    if settings.store.backend == "memory":
        return MemoryStore()
    return DuckDBStore(settings.data_dir / "telemetry.duckdb")


def _log(settings: Settings) -> tuple[IngestLog, float]:
    """The ingest log and how often the store checkpoints before the log may drop segments."""
    if settings.store.backend == "memory":
        return MemoryLog(), 0.0  # nothing is durable anyway: release at once
    return FileLog(settings.data_dir / "wal", settings.ingest.log_segment_bytes), 30.0


def _stream_checkpoints(settings: Settings) -> tuple[Path | None, float]:
    """Where the stream stage checkpoints, and how often (the memory store keeps nothing)."""
    if settings.store.backend == "memory":
        return None, 0.0
    return settings.data_dir / "stream", 5.0


def _secret_box(settings: Settings) -> SecretBox:
    """The key that seals the catalog's secrets: the setting, else ``secret.key`` (made once)."""
    if settings.secret_key is not None:
        return SecretBox(settings.secret_key.get_secret_value())
    return SecretBox.at(settings.data_dir / SECRET_KEY_FILE)


def _admin_key(settings: Settings) -> AdminKey:
    if settings.admin_key is not None:
        return AdminKey(settings.admin_key.get_secret_value(), created=False, path=None)
    path = settings.data_dir / ADMIN_KEY_FILE
    if path.exists():
        return AdminKey(path.read_text().strip(), created=False, path=path)
    secret = "aiot_admin_" + secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return AdminKey(secret, created=True, path=path)
