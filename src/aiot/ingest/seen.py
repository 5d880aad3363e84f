"""When each device last sent data, written to the catalog in the background.

A device's last-seen time is for people (is it alive?), not part of the data's durability, so
it is kept in memory and written at most every ``period`` seconds, one UPDATE per tenant and
time: the catalog's commit is paid every few seconds instead of on every group write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from aiot.store.catalog import Catalog

__all__ = ["LastSeen"]


class LastSeen:
    """Last-seen times waiting to be written; thread-safe."""

    def __init__(
        self, catalog: Catalog, period: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.catalog = catalog
        self.period = period
        self._clock = clock
        self._pending: dict[tuple[str, str], datetime] = {}
        self._flushed = clock()
        self._lock = threading.Lock()

    def mark(self, tenant: str, device_ids: Sequence[str], when: datetime) -> None:
        """Remember that the devices sent data at ``when``."""
        with self._lock:
            for device in device_ids:
                self._pending[(tenant, device)] = when

    def flush_due(self) -> None:
        """Write pending times if ``period`` has passed since the last write."""
        if self._clock() - self._flushed >= self.period:
            self.flush()

    def flush(self) -> None:
        """Write every pending time now."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flushed = self._clock()
        groups: dict[tuple[str, datetime], list[str]] = {}
        for (tenant, device), when in pending.items():
            groups.setdefault((tenant, when), []).append(device)
        for (tenant, when), devices in groups.items():
            self.catalog.touch_devices(tenant, devices, when)
