"""Fleets: several simulators, of one vertical or mixed, stepped together as one stream.

>>> fleet = mixed_fleet(devices_per_vertical=1, seed=7)
>>> [d.name for d in fleet.devices]
['traffic-001', 'oilwell-001', 'reactor-001']
>>> sum(len(b) for b in fleet.generate(0, 60_000)) > 0
True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiot.domain import Batch
from aiot.sim.base import DAY_MS, GridSimulator
from aiot.sim.faults import Fault
from aiot.sim.oilwell import OilWellSimulator
from aiot.sim.reactor import ReactorSimulator
from aiot.sim.traffic import TrafficSimulator

__all__ = ["VERTICALS", "Fleet", "SimDevice", "mixed_fleet", "simulator"]

VERTICALS: dict[str, type[GridSimulator]] = {
    "traffic": TrafficSimulator,
    "oilwell": OilWellSimulator,
    "reactor": ReactorSimulator,
}


@dataclass(frozen=True)
class SimDevice:
    """A simulated device as the catalog should know it."""

    name: str
    type: str
    vertical: str
    keys: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)


def simulator(vertical: str, devices: int | Sequence[str] = 3, **options: Any) -> GridSimulator:
    """A simulator of ``vertical`` (traffic, oilwell, reactor); options as the class takes."""
    try:
        cls = VERTICALS[vertical]
    except KeyError:
        raise ValueError(f"unknown vertical {vertical!r}; known: {sorted(VERTICALS)}") from None
    return cls(devices, **options)


class Fleet:
    """Simulators stepped together: one chunked stream of batches, one list of labels."""

    def __init__(self, simulators: Sequence[GridSimulator]) -> None:
        if not simulators:
            raise ValueError("a fleet needs at least one simulator")
        self.simulators = list(simulators)

    @property
    def interval_ms(self) -> int:
        """The finest grid step among the simulators."""
        return min(s.interval_ms for s in self.simulators)

    @property
    def devices(self) -> list[SimDevice]:
        """Every device of the fleet, with its type, vertical and keys."""
        return [
            SimDevice(name, s.device_type, s.vertical, s.keys, {"vertical": s.vertical})
            for s in self.simulators
            for name in s.devices
        ]

    @property
    def labels(self) -> list[Fault]:
        """Fault windows so far across the fleet, by start time."""
        return sorted(f for s in self.simulators for f in s.labels)

    def generate(self, start_ms: int, end_ms: int, chunk_ms: int = DAY_MS) -> Iterator[Batch]:
        """Readings of every simulator with ``start_ms <= ts < end_ms``, chunk by chunk."""
        t = start_ms
        while t < end_ms:
            stop = min(t + chunk_ms, end_ms)
            for sim in self.simulators:
                yield from sim.generate(t, stop, chunk_ms)
            t = stop


def mixed_fleet(
    devices_per_vertical: int = 2,
    *,
    seed: int = 0,
    fault_rate: float = 0.2,
    tenant: str = "default",
    interval_ms: int | None = None,
) -> Fleet:
    """A fleet with ``devices_per_vertical`` devices of each vertical (the demo's fleet)."""
    return Fleet(
        [
            cls(
                devices_per_vertical,
                seed=seed,
                fault_rate=fault_rate,
                tenant=tenant,
                interval_ms=interval_ms,
            )
            for cls in VERTICALS.values()
        ]
    )
