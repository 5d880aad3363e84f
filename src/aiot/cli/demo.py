"""``aiot demo``: the platform with a live simulated fleet of the three verticals feeding it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aiot.app import Platform
from aiot.cli.common import console, reporting
from aiot.cli.server import (
    DirOpt,
    HostOpt,
    LogOpt,
    MqttOpt,
    PortOpt,
    configure_logging,
    serve,
    settings_from,
    try_hint,
)
from aiot.domain import Selector
from aiot.operations import DeploymentSpec
from aiot.sim.fleet import Fleet, mixed_fleet
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
    mqtt_port: MqttOpt = None,
    log_level: LogOpt = "info",
) -> None:
    """Run aiot with live simulated traffic, oil-well and reactor fleets feeding it."""
    configure_logging(log_level)
    with reporting():
        settings = settings_from(http_port, data_dir or Path("aiot-data"), host, mqtt_port)
        platform = Platform.build(settings)
        tenant = platform.settings.default_tenant
        # Faults are rare in the field; the demo shows a few per device and day.
        fleet = mixed_fleet(devices_per_vertical=devices, seed=seed, tenant=tenant, fault_rate=2.0)
        ids = {
            d.name: platform.ensure_device(tenant, d.name, d.type, d.labels).id
            for d in fleet.devices
        }
        deployed = deploy_demo(platform, tenant, fleet)
    platform.simulated = fleet
    platform.feed(arealtime(fleet, backfill_ms=history * HOUR_MS), ids)
    names = ", ".join(ids)
    console.print(f"Feeding {len(ids)} simulated devices in real time: {names}")
    console.print(f"Models scoring them: {', '.join(deployed)}")
    first = next(iter(ids))
    console.print(
        f"Try: {try_hint(platform.settings)}.venv/bin/aiot alarms list;"
        f" .venv/bin/aiot telemetry latest {first}",
        soft_wrap=True,
    )
    settings, key = platform.settings, platform.admin_key.path or "AIOT_ADMIN_KEY"
    console.print(
        f"Or open http://{settings.http_host}:{settings.http_port}/ and sign in with the admin"
        f" key ({key})",
        soft_wrap=True,
    )
    serve(platform)


# Quiet on normal data: over a simulated week of one device per vertical (241,920 points
# scored, tests/stream/test_demo_policies.py) they raised no alarm; with the demo's fault
# rate, 31 alarms for 28 injected faults. Measured with the simulator's seed 11.
_QUIET = {"calibrate": {"false_alarm_rate": 0.001, "warmup": 1000}, "margin": 3.0, "hits": 3}


def demo_deployments(fleet: Fleet) -> list[DeploymentSpec]:
    """PCA over every key of each well and reactor, a robust z-score of every traffic series."""
    keys = {d.type: d.keys for d in fleet.devices}
    specs = [
        DeploymentSpec(
            f"{name}-pca",
            "pca",
            keys[device_type],
            Selector(type=device_type),
            {"warmup": 720, "refit_every": 720},
            {**_QUIET, "window": 5, "clear_after": 30, "type": alarm},
            multivariate=True,
        )
        for name, device_type, alarm in (
            ("reactor", "cstr", "process_upset"),
            ("well", "subsea_well", "well_anomaly"),
        )
        if device_type in keys
    ]
    counts = tuple(keys.get("intersection", ()))
    if counts:
        policy = {**_QUIET, "margin": 1.5, "window": 5, "clear_after": 30}
        specs.append(
            DeploymentSpec(
                "traffic-z",
                "zscore",
                counts,
                Selector(type="intersection"),
                {},
                {**policy, "type": "traffic_anomaly"},
            )
        )
    return specs


def deploy_demo(platform: Platform, tenant: str, fleet: Fleet) -> list[str]:
    """Deploy the demo's detectors on the simulated fleets, unless they are there already."""
    have = {d.name for d in platform.ops.deployments(tenant)}
    specs = demo_deployments(fleet)
    for spec in specs:
        if spec.name not in have:
            platform.ops.deploy(tenant, spec)
    return [spec.name for spec in specs]
