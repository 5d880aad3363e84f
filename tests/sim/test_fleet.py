from __future__ import annotations

import asyncio

import numpy as np

from aiot.sim import Fleet, arealtime, mixed_fleet, realtime, simulator

from .helpers import HOUR, START


class FakeClock:
    """A wall clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_mixed_fleet_streams_every_vertical_with_labels() -> None:
    fleet = mixed_fleet(2, seed=1, fault_rate=6.0)
    assert [d.name for d in fleet.devices][::2] == ["traffic-001", "oilwell-001", "reactor-001"]
    assert {d.type for d in fleet.devices} == {"intersection", "subsea_well", "cstr"}
    batches = list(fleet.generate(START, START + 12 * HOUR, chunk_ms=HOUR))
    devices = {d for b in batches for d in b.devices()}
    assert devices == {d.name for d in fleet.devices}
    assert fleet.interval_ms == 10_000
    assert {f.vertical for f in fleet.labels} == {"traffic", "oilwell", "reactor"}


def test_realtime_yields_what_the_clock_has_passed_and_waits_for_the_rest() -> None:
    clock = FakeClock()
    sim = simulator("reactor", 1)
    out = list(
        realtime(sim, start_ms=START, until_ms=START + 60_000, clock=clock, sleep=clock.sleep)
    )
    ts = np.concatenate([b.table.column("ts").to_numpy() for b in out])
    assert np.array_equal(np.unique(ts), START + 10_000 * np.arange(6))
    assert sum(clock.slept) >= 50.0 and all(s <= 10.0 for s in clock.slept)


def test_backfill_comes_at_once_then_the_stream_paces() -> None:
    clock = FakeClock()
    fleet = Fleet([simulator("traffic", 1)])
    stream = realtime(fleet, backfill_ms=HOUR, speed=60, clock=clock, sleep=clock.sleep)
    first = next(stream)
    assert len(np.unique(first.table.column("ts").to_numpy())) == 60
    assert clock.slept == []
    next(stream)
    assert clock.slept and sum(clock.slept) <= 1.0


def test_the_async_stream_paces_with_the_event_loop() -> None:
    async def collect() -> int:
        sim = simulator("oilwell", 1)
        start = START
        stream = arealtime(sim, start_ms=start, until_ms=start + 50_000, speed=1000.0)
        return sum([len(b) async for b in stream])

    assert asyncio.run(collect()) == 5 * 9
