"""The bridges of every tenant: kept in the catalog, running while the platform runs.

A bridge is checked before it is saved (URL, templates, CA bundle); one that still cannot start
(saved by an older version, a client that raises) is marked failed with its reason and the
others, and the platform, start anyway.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiot.connect.bridge import BridgeRunner, check
from aiot.domain import Bridge
from aiot.errors import AiotError
from aiot.ingest import Ingestor

__all__ = ["BridgeSpec", "Bridges"]

log = logging.getLogger("aiot.bridge")


@dataclass(frozen=True)
class BridgeSpec:
    """What a user gives to add a bridge."""

    name: str
    url: str
    topics: list[str] = field(default_factory=list)
    username: str | None = None
    password: str | None = None
    create_devices: bool = False
    device_type: str = "default"
    ca_pem: str | None = None


class Bridges:
    """Adds, lists, removes and runs bridges; one paho client thread per bridge."""

    def __init__(self, ingest: Ingestor) -> None:
        self.ingest = ingest
        self.catalog = ingest.catalog
        self._runners: dict[str, BridgeRunner] = {}
        self._failed: dict[str, str] = {}  # bridge id -> why it could not start
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start every stored bridge (they survive restarts)."""
        self._loop = asyncio.get_running_loop()
        try:
            stored = await asyncio.to_thread(self.catalog.bridges)
        except AiotError as err:  # the platform serves on; the API shows the catalog's error
            log.error("bridges not started: %s", err.message)
            return
        for bridge in stored:
            self._run(bridge)

    async def stop(self) -> None:
        """Disconnect every bridge; brokers keep their sessions for the next start."""
        runners, self._runners = list(self._runners.values()), {}
        self._failed.clear()
        for runner in runners:
            await asyncio.to_thread(runner.stop)
        self._loop = None

    def add(self, tenant: str, spec: BridgeSpec) -> Bridge:
        """Check, store and start a bridge; InvalidInput (nothing saved) if it could not start."""
        bridge = Bridge(
            id=str(uuid.uuid4()),
            tenant=tenant,
            name=spec.name,
            url=spec.url,
            topics=tuple(spec.topics),
            created_at=datetime.now(UTC),
            username=spec.username,
            password=spec.password,
            create_devices=spec.create_devices,
            device_type=spec.device_type,
            ca_pem=spec.ca_pem,
        )
        check(bridge)
        self.catalog.create_bridge(bridge)
        self._run(bridge)
        return bridge

    def remove(self, tenant: str, bridge_id: str) -> Bridge:
        """Stop and forget a bridge of the tenant (by id or name)."""
        bridge = self.catalog.delete_bridge(tenant, bridge_id)
        self._failed.pop(bridge.id, None)
        runner = self._runners.pop(bridge.id, None)
        if runner is not None:
            runner.stop()
        return bridge

    def stop_tenant(self, tenant: str) -> None:
        """Stop the bridges of a deleted tenant (the catalog has dropped them already)."""
        for bridge_id, runner in list(self._runners.items()):
            if runner.bridge.tenant == tenant:
                self._runners.pop(bridge_id, None)
                runner.stop()

    def forget(self, tenant: str, device_id: str) -> None:
        """Forget a deleted device: its name, seen again, is looked up (or created) anew."""
        for runner in list(self._runners.values()):
            if runner.bridge.tenant == tenant:
                runner.forget(device_id)

    def list(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's bridges with their connection state and counters."""
        return [self._shown(b) for b in self.catalog.bridges(tenant)]

    def get(self, tenant: str, bridge_id: str) -> dict[str, Any]:
        """One bridge of the tenant (by id or name) with its state and counters."""
        return self._shown(self.catalog.bridge(tenant, bridge_id))

    def _shown(self, bridge: Bridge) -> dict[str, Any]:
        runner = self._runners.get(bridge.id)
        if runner is not None:
            return {**bridge.public(), **runner.status()}
        failed = self._failed.get(bridge.id)
        state = "stopped" if failed is None else "failed"
        return {**bridge.public(), "state": state, "connected": False, "last_error": failed}

    def _run(self, bridge: Bridge) -> None:
        if self._loop is None:  # not started: the bridge runs from the next start
            return
        try:
            runner = BridgeRunner(bridge, self.ingest, self._loop)
            runner.start()
        except Exception as err:  # one bridge that cannot start never stops the platform
            reason = err.message if isinstance(err, AiotError) else f"{type(err).__name__}: {err}"
            self._failed[bridge.id] = reason
            log.warning("bridge %s of %s failed to start: %s", bridge.name, bridge.tenant, reason)
            return
        self._runners[bridge.id] = runner
