"""Live subscriptions: a device's telemetry, scores and alarms pushed as they happen.

:class:`LiveHub` is fed by the stream stage, which reads every acknowledged record of the
ingest log: points reach subscribers once they are durable, with their scores and alarms.
Subscribers live on the server's event loop; the hub is called from the stream thread and
hands each message over with ``call_soon_threadsafe``. A subscriber that does not keep up
loses its oldest messages (counted in ``dropped``), never slows the stream.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["LiveHub", "Subscription"]

QUEUE = 1_000  # messages a client may fall behind by


@dataclass(eq=False)
class Subscription:
    """One client's interest: a device of a tenant, some keys (all when empty), its alarms."""

    tenant: str
    device: str
    keys: frozenset[str]
    alarms: bool
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE))
    dropped: list[int] = field(default_factory=lambda: [0])  # shared by a client's subscriptions

    def offer(self, message: dict[str, Any]) -> None:
        """Queue a message (on the subscriber's loop); drop the oldest when full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped[0] += 1
        self.queue.put_nowait(message)


class LiveHub:
    """Who listens to which device, and the fan-out of points and alarms to them."""

    def __init__(self) -> None:
        self._subs: dict[tuple[str, str], list[Subscription]] = {}
        self._lock = threading.Lock()

    def subscribe(self, subscription: Subscription) -> None:
        """Start sending the device's messages to the subscription."""
        with self._lock:
            self._subs.setdefault((subscription.tenant, subscription.device), []).append(
                subscription
            )

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop sending to it."""
        with self._lock:
            subs = self._subs.get((subscription.tenant, subscription.device), [])
            if subscription in subs:
                subs.remove(subscription)

    def listening(self, tenant: str) -> bool:
        """Whether anyone listens to a device of the tenant (else publishing costs nothing)."""
        with self._lock:
            return any(t == tenant and subs for (t, _), subs in self._subs.items())

    def publish_points(self, tenant: str, table: pa.Table) -> None:
        """Send each subscriber the points of its device (and keys) in ``table``."""
        with self._lock:
            wanted = [(d, list(s)) for (t, d), s in self._subs.items() if t == tenant and s]
        for device, subs in wanted:
            mine = table.filter(pc.equal(table["device"], device))
            if not mine.num_rows:
                continue
            for sub in subs:
                data = _points(mine, sub.keys)
                if data:
                    message = {"type": "telemetry", "device": device, "data": data}
                    sub.loop.call_soon_threadsafe(sub.offer, message)

    def publish_alarm(self, tenant: str, device: str, event: str, alarm: dict[str, Any]) -> None:
        """Send an alarm raised, updated or cleared to the subscribers of its device."""
        with self._lock:
            subs = [s for s in self._subs.get((tenant, device), []) if s.alarms]
        for sub in subs:
            message = {"type": "alarm", "event": event, "alarm": alarm}
            sub.loop.call_soon_threadsafe(sub.offer, message)


def _points(table: pa.Table, keys: frozenset[str]) -> dict[str, list[list[Any]]]:
    """ThingsBoard's shape: key → [[ts, value], ...]; text values as text."""
    data: dict[str, list[list[Any]]] = {}
    columns = (table[c].to_pylist() for c in ("key", "ts", "value", "text"))
    for key, ts, value, text in zip(*columns, strict=True):
        if keys and key not in keys and not key.startswith("score/"):  # scores always go
            continue
        data.setdefault(key, []).append([ts, value if text is None else text])
    return data
