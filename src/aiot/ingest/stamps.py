"""Server times for messages without ``ts``: distinct and strictly increasing per device.

A point is identified by (tenant, device, key, ts), so two messages stamped with the same
millisecond would store as one: an acknowledged message lost. ThingsBoard stamps each message;
here each message of a device gets ``max(now_ms, last + 1)``, whichever transport it came by
(MQTT, HTTP, a bridge), so that no two collapse even within one millisecond. A device that
sends faster than one message a millisecond runs slightly ahead of the clock, and catches up
when it slows down.

Memory is bounded: a device whose last stamp is behind the clock needs no entry (the clock
alone gives it a later time), so such entries are dropped when the table fills; if it is still
full, the oldest entries are folded into one floor that every device without an entry starts
above, which keeps every stamp distinct at the price of a few milliseconds' drift.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from aiot.domain import now_ms

__all__ = ["SERVER_TIMES", "ServerTimes"]


class ServerTimes:
    """Per-device strictly increasing epoch-ms stamps; safe from any thread."""

    def __init__(self, capacity: int = 65_536, clock: Callable[[], int] = now_ms) -> None:
        self.capacity, self._clock = capacity, clock
        self._last: dict[tuple[str, str], int] = {}
        self._floor = -1  # at least every stamp of a device whose entry was dropped
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._last)

    def next(self, tenant: str, device: str) -> int:
        """The device's next server time: after its previous one, never before the clock."""
        now = self._clock()
        key = (tenant, device)
        with self._lock:
            last = self._last.get(key, self._floor)
            stamp = now if now > last else last + 1
            if key not in self._last and len(self._last) >= self.capacity:
                self._shrink(now)
            self._last[key] = stamp
            return stamp

    def clock(self, tenant: str, device: str) -> Callable[[], int]:
        """A function giving the device's next server time at each call."""
        return lambda: self.next(tenant, device)

    def _shrink(self, now: int) -> None:
        self._last = {k: v for k, v in self._last.items() if v >= now}
        if len(self._last) >= self.capacity:  # all ahead of the clock: fold the older half in
            keys = list(self._last)[: len(self._last) // 2 + 1]
            self._floor = max(self._floor, *(self._last.pop(k) for k in keys))


# One per process, as the clock is: every transport of every platform stamps through it.
SERVER_TIMES = ServerTimes()
