"""Pacing: a simulator or fleet played against the wall clock, at real time or any factor.

The simulated clock reads ``start_ms`` (default: now) when the stream begins and then runs
``speed`` times as fast as the wall clock. Each step yields everything the simulated clock has
passed since the last step, at least one grid step at a time. ``backfill_ms`` of history
before ``start_ms`` comes at once, so a dashboard has something to show from the first second.
The wall clock and the sleep are injected, so tests run without waiting.

>>> from aiot.sim.fleet import mixed_fleet
>>> clock = iter(range(0, 1000, 10)).__next__
>>> batches = realtime(mixed_fleet(1), start_ms=0, until_ms=120_000, speed=60,
...                    clock=lambda: float(clock()), sleep=lambda s: None)
>>> sum(len(b) for b in batches) > 0
True
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Protocol

from aiot.domain import Batch

__all__ = ["Pacer", "Source", "arealtime", "realtime"]


class Source(Protocol):
    """Anything that streams batches on a grid: a simulator or a fleet."""

    @property
    def interval_ms(self) -> int:
        """The grid step."""
        ...

    def generate(self, start_ms: int, end_ms: int, chunk_ms: int = ...) -> Iterator[Batch]:
        """Readings with ``start_ms <= ts < end_ms``."""
        ...


class Pacer:
    """Which simulated window is due now, and how long to wait for the next one."""

    def __init__(
        self,
        start_ms: int,
        speed: float,
        step_ms: int,
        clock: Callable[[], float],
        backfill_ms: int = 0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.t = start_ms - backfill_ms
        self.speed = speed
        self.step_ms = step_ms
        self.clock = clock
        self._wall0 = clock()
        self._sim0 = start_ms

    def now_ms(self) -> int:
        """The simulated time now."""
        return self._sim0 + int((self.clock() - self._wall0) * 1000.0 * self.speed)

    def due(self, until_ms: int | None) -> tuple[int, int] | float:
        """The window ``(t0, t1)`` to produce now, or the seconds to wait before one is due."""
        target = self.now_ms()
        if until_ms is not None:
            target = min(target, until_ms)
        if target - self.t < self.step_ms and (until_ms is None or target < until_ms):
            return (self.t + self.step_ms - self.now_ms()) / 1000.0 / self.speed
        window = (self.t, target)
        self.t = target
        return window


def realtime(
    source: Source,
    *,
    start_ms: int | None = None,
    until_ms: int | None = None,
    speed: float = 1.0,
    backfill_ms: int = 0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Batch]:
    """Batches of ``source`` as the simulated clock passes them; endless without ``until_ms``."""
    pacer = Pacer(_start(start_ms, clock), speed, source.interval_ms, clock, backfill_ms)
    while until_ms is None or pacer.t < until_ms:
        due = pacer.due(until_ms)
        if isinstance(due, float):
            sleep(max(due, 0.0))
        else:
            yield from source.generate(*due)


async def arealtime(
    source: Source,
    *,
    start_ms: int | None = None,
    until_ms: int | None = None,
    speed: float = 1.0,
    backfill_ms: int = 0,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[Batch]:
    """:func:`realtime` for an event loop: waits with ``asyncio.sleep``."""
    pacer = Pacer(_start(start_ms, clock), speed, source.interval_ms, clock, backfill_ms)
    while until_ms is None or pacer.t < until_ms:
        due = pacer.due(until_ms)
        if isinstance(due, float):
            await asyncio.sleep(max(due, 0.0))
        else:
            for batch in source.generate(*due):
                yield batch


def _start(start_ms: int | None, clock: Callable[[], float]) -> int:
    return int(clock() * 1000) if start_ms is None else start_ms
