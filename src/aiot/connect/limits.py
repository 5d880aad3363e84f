"""Message rates per device (by its type's profile) and per tenant, shared by MQTT and HTTP.

As in ThingsBoard, limits are off unless configured: ``AIOT_MQTT__MESSAGES_PER_SECOND`` for
every device, a device profile's ``limits.messages_per_second`` for the devices of its type (it
wins over the setting), and a tenant's ``limits.messages_per_second`` for all its devices
together. Above a rate nothing is refused or disconnected: MQTT stops reading the device's
socket until the rate allows (its client waits on its own in-flight window) and HTTP answers
later, so a healthy device is slowed, never cut. Limits are read from the catalog again after
:data:`REFRESH_SECONDS`, so a change applies to connected devices within that time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiot.domain import Device
from aiot.errors import NotFound

__all__ = ["LIMIT_NAMES", "Bucket", "RateLimits"]

LIMIT_NAMES = ("messages_per_second",)
REFRESH_SECONDS = 5.0
_KEPT = 100_000  # device buckets of HTTP devices, least recently used dropped


class Bucket:
    """A token bucket that may go into debt: ``rate`` messages a second, bursts of one second."""

    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.at = rate, rate, time.monotonic()

    def spend(self, now: float, count: int) -> float:
        """Take ``count`` tokens; the seconds to wait before taking more (0: none)."""
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate) - count
        self.at = now
        return -self.tokens / self.rate if self.tokens < 0 else 0.0


class RateLimits:
    """The rates that apply to a device and its tenant, with their shared buckets."""

    def __init__(self, catalog: Any, per_device: float | None = None) -> None:
        self.catalog = catalog
        self.per_device = per_device
        self._read: dict[tuple[str, ...], tuple[float, float | None]] = {}  # rate, read at
        self._tenants: dict[str, Bucket] = {}
        self._devices: OrderedDict[tuple[str, str], Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def device_rate(self, device: Device) -> float | None:
        """Messages a second for this device: its profile's, else the installation's setting."""
        rate = self._cached(("profile", device.tenant, device.type), self._profile_rate)
        return rate if rate is not None else self.per_device

    def tenant_rate(self, tenant: str) -> float | None:
        """Messages a second for all the tenant's devices together, or None."""
        return self._cached(("tenant", tenant), self._tenant_rate)

    def bucket(self, device: Device) -> Bucket | None:
        """A fresh bucket for one connection of the device (None: no device rate)."""
        rate = self.device_rate(device)
        return Bucket(rate) if rate else None

    def wait(self, device: Device, count: int, own: Bucket | None, now: float) -> float:
        """Spend ``count`` messages of ``device``; the seconds its transport should wait."""
        wait = own.spend(now, count) if own is not None else 0.0
        rate = self.tenant_rate(device.tenant)
        if rate:
            with self._lock:
                shared = self._tenants.get(device.tenant)
                if shared is None or shared.rate != rate:
                    shared = self._tenants[device.tenant] = Bucket(rate)
                wait = max(wait, shared.spend(now, count))
        return wait

    def http_wait(self, device: Device, count: int = 1) -> float:
        """As :meth:`wait`, for an HTTP device: its bucket lives here, between requests."""
        rate, key = self.device_rate(device), (device.tenant, device.id)
        with self._lock:
            own = self._devices.get(key)
            if rate and (own is None or own.rate != rate):
                own = self._devices[key] = Bucket(rate)
            elif not rate:
                own = self._devices.pop(key, None) and None
            if own is not None:
                self._devices.move_to_end(key)
                while len(self._devices) > _KEPT:
                    self._devices.popitem(last=False)
        return self.wait(device, count, own, time.monotonic())

    def _cached(self, key: tuple[str, ...], read: Callable[..., float | None]) -> float | None:
        now = time.monotonic()
        found = self._read.get(key)
        if found is not None and now - found[0] < REFRESH_SECONDS:
            return found[1]
        rate = read(*key[1:])
        if len(self._read) > _KEPT:
            self._read.clear()
        self._read[key] = (now, rate)
        return rate

    def _profile_rate(self, tenant: str, name: str) -> float | None:
        try:
            limits = self.catalog.profile(tenant, name).limits
        except NotFound:
            return None
        return _rate(limits)

    def _tenant_rate(self, tenant: str) -> float | None:
        found = self.catalog.find_tenant(tenant)
        return _rate(found.limits) if found is not None else None


def _rate(limits: dict[str, Any]) -> float | None:
    rate = limits.get("messages_per_second")
    return float(rate) if isinstance(rate, int | float) and rate > 0 else None
