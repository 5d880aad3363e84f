"""``aiot demo``: the platform with a live simulated fleet of the three verticals feeding it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aiot.app import Platform
from aiot.cli.common import console, reporting
from aiot.cli.server import DirOpt, HostOpt, PortOpt, serve, settings_from
from aiot.sim.fleet import mixed_fleet
from aiot.sim.live import arealtime

__all__ = ["demo"]

HOUR_MS = 3_600_000


def demo(
    http_port: PortOpt = None,
    data_dir: DirOpt = None,
    host: HostOpt = None,
    devices: Annotated[int, typer.Option(help="simulated devices per vertical")] = 2,
    history: Annotated[int, typer.Option(help="hours of history sent at start")] = 6,
    seed: Annotated[int, typer.Option(help="simulation seed")] = 1,
) -> None:
    """Run aiot with live simulated traffic, oil-well and reactor fleets feeding it."""
    with reporting():
        platform = Platform.build(settings_from(http_port, data_dir or Path("aiot-data"), host))
        tenant = platform.settings.default_tenant
        # Faults are rare in the field; the demo shows a few per device and day.
        fleet = mixed_fleet(devices_per_vertical=devices, seed=seed, tenant=tenant, fault_rate=2.0)
        ids = {
            d.name: platform.ensure_device(tenant, d.name, d.type, d.labels).id
            for d in fleet.devices
        }
    platform.feed(arealtime(fleet, backfill_ms=history * HOUR_MS), ids)
    names = ", ".join(ids)
    console.print(f"Feeding {len(ids)} simulated devices in real time: {names}")
    console.print("Try: .venv/bin/aiot devices list; .venv/bin/aiot telemetry query reactor-001")
    serve(platform)
