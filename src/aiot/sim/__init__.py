"""Simulated fleets of the verticals (traffic, oil wells, chemical reactors), with labelled faults.

Each vertical is a documented physical or statistical model stepping a fleet of devices on a
time grid (:mod:`aiot.sim.traffic`, :mod:`aiot.sim.oilwell`, :mod:`aiot.sim.reactor`); faults
strike rarely and are labelled as (vertical, fault, device, start, end) windows. A
:class:`Fleet` mixes verticals; :func:`realtime` and :func:`arealtime` play one against the
wall clock. Everything is deterministic for a seed.

>>> sim = simulator("reactor", 2, seed=1)
>>> batch = next(sim.generate(0, 3_600_000))
>>> batch.devices(), len(batch.keys())
(['reactor-001', 'reactor-002'], 9)
"""

from __future__ import annotations

from aiot.sim.base import DAY_MS, GridSimulator, Simulator, to_batch
from aiot.sim.export import FileSink, labels_path
from aiot.sim.faults import LABEL_SCHEMA, Fault, FaultType, labels_table
from aiot.sim.fleet import VERTICALS, Fleet, SimDevice, mixed_fleet, simulator
from aiot.sim.live import arealtime, realtime
from aiot.sim.oilwell import OilWellSimulator
from aiot.sim.reactor import ReactorSimulator
from aiot.sim.traffic import TrafficSimulator

__all__ = [
    "DAY_MS",
    "LABEL_SCHEMA",
    "VERTICALS",
    "Fault",
    "FaultType",
    "FileSink",
    "Fleet",
    "GridSimulator",
    "OilWellSimulator",
    "ReactorSimulator",
    "SimDevice",
    "Simulator",
    "TrafficSimulator",
    "arealtime",
    "labels_path",
    "labels_table",
    "mixed_fleet",
    "realtime",
    "simulator",
    "to_batch",
]
