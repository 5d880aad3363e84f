"""The bridges of every tenant: kept in the catalog, running while the platform runs."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiot.connect.bridge import BridgeRunner, broker_address, templates
from aiot.domain import Bridge
from aiot.ingest import Ingestor

__all__ = ["BridgeSpec", "Bridges"]


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
    ca_file: str | None = None


class Bridges:
    """Adds, lists, removes and runs bridges; one paho client thread per bridge."""

    def __init__(self, ingest: Ingestor) -> None:
        self.ingest = ingest
        self.catalog = ingest.catalog
        self._runners: dict[str, BridgeRunner] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start every stored bridge (they survive restarts)."""
        self._loop = asyncio.get_running_loop()
        for bridge in await asyncio.to_thread(self.catalog.bridges):
            self._run(bridge)

    async def stop(self) -> None:
        """Disconnect every bridge; brokers keep their sessions for the next start."""
        runners, self._runners = list(self._runners.values()), {}
        for runner in runners:
            await asyncio.to_thread(runner.stop)
        self._loop = None

    def add(self, tenant: str, spec: BridgeSpec) -> Bridge:
        """Validate, store and start a bridge."""
        broker_address(spec.url)
        templates(spec.topics)
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
            ca_file=spec.ca_file,
        )
        self.catalog.create_bridge(bridge)
        self._run(bridge)
        return bridge

    def remove(self, tenant: str, bridge_id: str) -> Bridge:
        """Stop and forget a bridge of the tenant (by id or name)."""
        bridge = self.catalog.delete_bridge(tenant, bridge_id)
        runner = self._runners.pop(bridge.id, None)
        if runner is not None:
            runner.stop()
        return bridge

    def list(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's bridges with their connection state and counters."""
        shown = []
        for bridge in self.catalog.bridges(tenant):
            runner = self._runners.get(bridge.id)
            state = runner.status() if runner else {"connected": False}
            shown.append({**bridge.public(), **state})
        return shown

    def _run(self, bridge: Bridge) -> None:
        if self._loop is None:  # not started: the bridge runs from the next start
            return
        runner = BridgeRunner(bridge, self.ingest, self._loop)
        self._runners[bridge.id] = runner
        runner.start()
