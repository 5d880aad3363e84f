"""Signalised four-way intersections: counts, speed and occupancy per approach per interval.

Demand on each approach is a Poisson arrival process whose rate (veh/h) is the approach's
peak-hour volume times a time-of-day profile: on weekdays an AM peak (08:00, sd 1.1 h), a PM
peak (17:30, sd 1.4 h) and a midday plateau; at weekends one broad midday hump, as in the
typical urban profiles of the FHWA *Traffic Monitoring Guide*. Tidal flow shifts 15 % of the
major-road volume inbound (north) in the morning and outbound (south) in the evening. The
north-south road is the major one (two lanes, 50 % green), east-west the minor one (one lane,
38 % green), so capacity is saturation flow (1800 veh/h/lane, *Highway Capacity Manual*)
times lanes times the green ratio. Rainy days (20 % of days, city-wide) cut demand by 8 %,
capacity by 12 % and speeds by 15 %; event days (4 %, per intersection) add 60 % to the
evening demand from 19:00 to 23:00.

Vehicles that cannot be served wait: the queue follows Lindley's recursion
``Q[k] = max(0, Q[k-1] + A[k] - C[k])``, solved for a whole chunk at once as
``Q[k] = S[k] - min(-Q0, min_{j<=k} S[j])`` with ``S`` the running sum of arrivals minus
capacity. The stop-line count is the vehicles served; the advance detector reports speed
``v_free (1 - 0.3 x²)`` for degree of saturation ``x`` and occupancy ``q L / v`` (6.5 m
effective vehicle length), both overridden when the queue spills back over it.

Faults, each on one approach (``detail``): ``accident`` (capacity -75 %: queue and spill-back),
``detector_stuck`` (the loop reports occupied: occupancy 100 %, count and speed 0),
``detector_dead`` (everything 0) and ``signal_timing_failure`` (the approach gets a fifth of
its green time).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aiot.sim.base import DAY_MS, GridSimulator
from aiot.sim.faults import FaultType, Floats

__all__ = ["APPROACHES", "TrafficSimulator"]

APPROACHES = ("north", "east", "south", "west")
MEASURES = ("count", "speed", "occupancy")
LANES = np.array([2.0, 1.0, 2.0, 1.0])
GREEN = np.array([0.50, 0.38, 0.50, 0.38])
SATURATION, VEHICLE_M, HOUR = 1800.0, 6.5, 3600.0


def weekday_profile(hour: Floats) -> Floats:
    """Share of the peak-hour volume on a weekday, by local hour."""
    am = np.exp(-0.5 * ((hour - 8.0) / 1.1) ** 2)
    pm = 0.95 * np.exp(-0.5 * ((hour - 17.5) / 1.4) ** 2)
    day = 0.45 / (1 + np.exp(-(hour - 6.5) * 2)) / (1 + np.exp((hour - 20.0) * 1.5))
    return np.asarray(0.06 + np.maximum(am + pm, day), dtype=np.float64)


def weekend_profile(hour: Floats) -> Floats:
    """Share of the peak-hour volume on a weekend day, by local hour."""
    return np.asarray(0.06 + 0.65 * np.exp(-0.5 * ((hour - 13.5) / 3.5) ** 2), dtype=np.float64)


class TrafficSimulator(GridSimulator):
    """Four-way signalised intersections; keys ``{approach}_{count|speed|occupancy}``."""

    vertical: ClassVar[str] = "traffic"
    device_type: ClassVar[str] = "intersection"
    default_interval_ms: ClassVar[int] = 60_000
    key_names: ClassVar[tuple[str, ...]] = tuple(f"{a}_{m}" for a in APPROACHES for m in MEASURES)
    fault_types: ClassVar[tuple[FaultType, ...]] = (
        FaultType("accident", 1200, 5400, APPROACHES),
        FaultType("detector_stuck", HOUR, 6 * HOUR, APPROACHES),
        FaultType("detector_dead", HOUR, 12 * HOUR, APPROACHES),
        FaultType("signal_timing_failure", 1800, 4 * HOUR, APPROACHES),
    )
    utc_offset_h: float = 0.0

    def _setup(self, rng: np.random.Generator) -> None:
        n = len(self.devices)
        major = rng.uniform(1000.0, 1350.0, n)
        minor = rng.uniform(300.0, 480.0, n)
        self.peak = np.stack([major, minor, major, minor], axis=1)  # (device, approach) veh/h
        self.v_free = rng.uniform(45.0, 60.0, n)[:, None] * np.ones(4)
        self.storage = np.array([16.0, 8.0, 16.0, 8.0])  # vehicles between stop line and loop

    def _init_state(self, seq: np.random.SeedSequence) -> None:
        self._arrivals, self._rounding, self._meas = (
            np.random.default_rng(s) for s in seq.spawn(3)
        )
        self.queue = np.zeros((len(self.devices), 4))

    def _days(self, ts: np.ndarray) -> tuple[Floats, Floats]:
        """Rain (per time) and event (per time, device) flags, drawn once per calendar day."""
        day = ts // DAY_MS
        rain, event = np.zeros(len(ts)), np.zeros((len(ts), len(self.devices)))
        for d in np.unique(day):
            rng = np.random.default_rng([self.seed, int(d) % (1 << 63), 17])
            rows = day == d
            rain[rows] = rng.random() < 0.2
            event[rows] = rng.random(len(self.devices)) < 0.04
        return rain, event

    def _demand(self, ts: np.ndarray, rain: Floats, event: Floats) -> Floats:
        hour = ((ts / 3.6e6) + self.utc_offset_h) % 24.0
        weekday = ((ts // DAY_MS) + 3) % 7  # 1970-01-01 was a Thursday
        profile = np.where(weekday < 5, weekday_profile(hour), weekend_profile(hour))
        tidal = np.exp(-0.5 * ((hour - 8) / 2) ** 2) - np.exp(-0.5 * ((hour - 17.5) / 2) ** 2)
        tidal = np.where(weekday < 5, 0.15 * tidal, 0.0)
        shift = np.stack([1 + tidal, np.ones_like(tidal), 1 - tidal, np.ones_like(tidal)], axis=1)
        evening = 1.0 + 0.6 * event * ((hour >= 19) & (hour < 23))[:, None]
        scale = (profile * (1.0 - 0.08 * rain))[:, None, None] * evening[:, :, None]
        return np.asarray(self.peak[None] * scale * shift[:, None, :], dtype=np.float64)

    def _approach_mask(self, fault: str, ts: np.ndarray) -> np.ndarray:
        mask = np.zeros((len(ts), len(self.devices), 4), dtype=bool)
        for j, f in self.schedule.windows(fault, int(ts[0]), int(ts[-1]) + 1):
            a = APPROACHES.index(f.detail) if f.detail in APPROACHES else 0
            mask[(ts >= f.start_ms) & (ts < f.end_ms), j, a] = True
        return mask

    def _step(self, ts: np.ndarray) -> list[Floats]:
        rain, event = self._days(ts)
        dt_h = self.dt_s / HOUR
        demand = self._demand(ts, rain, event)
        green = GREEN * np.where(self._approach_mask("signal_timing_failure", ts), 0.2, 1.0)
        capacity = SATURATION * LANES * green * (1.0 - 0.12 * rain)[:, None, None]
        capacity = capacity * np.where(self._approach_mask("accident", ts), 0.25, 1.0)
        arrivals = self._arrivals.poisson(demand * dt_h).astype(np.float64)
        served_max = np.floor(capacity * dt_h + self._rounding.random(capacity.shape))
        queue, served = lindley(self.queue, arrivals, served_max)
        self.queue = queue[-1].copy()
        speed, occupancy = self._detector(served / dt_h, capacity, queue, rain)
        return self._readings(ts, served, speed, occupancy)

    def _detector(
        self, flow: Floats, capacity: Floats, queue: Floats, rain: Floats
    ) -> tuple[Floats, Floats]:
        x = np.minimum(flow / np.maximum(capacity, 1.0), 1.2)
        spill = np.clip(queue / self.storage - 1.0, 0.0, 1.0)
        v = self.v_free * (1.0 - 0.15 * rain)[:, None, None] * (1.0 - 0.3 * x**2)
        v = v * (1.0 - 0.85 * spill) + 1.5 * self.noise * self._meas.standard_normal(v.shape)
        v = np.maximum(v, 3.0)
        occ = 100.0 * flow / LANES * VEHICLE_M / (1000.0 * v) + 80.0 * spill
        return v, np.clip(occ, 0.0, 100.0)

    def _readings(
        self, ts: np.ndarray, count: Floats, speed: Floats, occupancy: Floats
    ) -> list[Floats]:
        stuck = self._approach_mask("detector_stuck", ts)
        dead = self._approach_mask("detector_dead", ts)
        blind = stuck | dead
        count = np.where(blind, 0.0, count)
        speed = np.where(blind, 0.0, np.round(speed, 1))
        occupancy = np.where(stuck, 100.0, np.where(dead, 0.0, np.round(occupancy, 1)))
        out: list[Floats] = []
        for a in range(4):
            out += [count[:, :, a], speed[:, :, a], occupancy[:, :, a]]
        return out


def lindley(q0: Floats, arrivals: Floats, capacity: Floats) -> tuple[Floats, Floats]:
    """Queues at the end of each step and vehicles served, for a whole chunk at once."""
    s = np.cumsum(arrivals - capacity, axis=0)
    queue = s - np.minimum(-q0, np.minimum.accumulate(s, axis=0))
    before = np.concatenate([q0[None], queue[:-1]], axis=0)
    return queue, before + arrivals - queue
