"""Server-side commands and shared-attribute updates for HTTP devices, by long-poll.

A device waits on ``GET /api/v1/{token}/rpc?timeout=`` (ms); a command sent while it waits is
its answer, ``{"id", "method", "params"}``, and the device replies with
``POST /api/v1/{token}/rpc/{id}``. It waits on ``GET /api/v1/{token}/attributes/updates`` for
its shared attributes to change: the answer is the changed ``{key: value}``, as ThingsBoard
sends it. An update made while the device is between two polls is kept for its next poll
(up to :data:`UPDATE_KEPT_SECONDS`, merged), where ThingsBoard drops it.
:class:`HttpPolls` is that mailbox, a ``DeviceChannel``; :class:`Channels` puts it beside
the MQTT endpoint so a command reaches a device either way.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from typing import Any

from aiot.domain import Command, DeviceChannel
from aiot.errors import CommandTimeout, DeviceOffline

__all__ = ["Channels", "HttpPolls"]

_Key = tuple[str, str]
UPDATE_KEPT_SECONDS = 10.0
_UPDATES_KEPT = 10_000  # devices with an update waiting for their next poll


class HttpPolls:
    """Devices waiting in a long-poll, and the two-way commands awaiting their reply."""

    def __init__(self) -> None:
        self._waiting: dict[_Key, list[asyncio.Future[dict[str, Any]]]] = {}
        self._replies: dict[tuple[str, str, int], asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._watching: dict[_Key, list[asyncio.Future[dict[str, Any]]]] = {}
        self._unread: dict[_Key, tuple[float, dict[str, Any]]] = {}  # updates between polls
        self._loop: asyncio.AbstractEventLoop | None = None

    def online(self, tenant: str, device_id: str) -> bool:
        """Whether the device is waiting for a command right now."""
        return any(not f.done() for f in self._waiting.get((tenant, device_id), []))

    async def poll(self, tenant: str, device_id: str, timeout: float) -> dict[str, Any] | None:
        """The next command for the device, or None when none came within ``timeout`` s."""
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiters = self._waiting.setdefault((tenant, device_id), [])
        waiters.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:  # a command handed over as the clock ran out is still delivered
            return waiter.result() if waiter.done() else None
        finally:
            waiter.cancel()  # no command is handed to a poll that has ended
            waiters.remove(waiter)
            if not waiters:
                self._waiting.pop((tenant, device_id), None)

    async def call(self, tenant: str, device_id: str, command: Command) -> Any:
        """Hand ``command`` to a waiting poll; wait for the reply unless it is one-way."""
        waiter = self._free_waiter(tenant, device_id)
        request_id = next(self._ids)
        message = {"id": request_id, **command.message()}
        if command.oneway:
            waiter.set_result(message)
            return None
        key = (tenant, device_id, request_id)
        reply = self._replies[key] = asyncio.get_running_loop().create_future()
        waiter.set_result(message)
        try:
            return await asyncio.wait_for(reply, command.timeout)
        except TimeoutError:
            raise CommandTimeout(
                f"the device did not answer {command.method!r} in {command.timeout:g} s"
            ) from None
        finally:
            self._replies.pop(key, None)

    def reply(self, tenant: str, device_id: str, request_id: int, answer: Any) -> bool:
        """Deliver the device's answer; False when no command of that id awaits one."""
        reply = self._replies.get((tenant, device_id, request_id))
        if reply is None or reply.done():
            return False
        reply.set_result(answer)
        return True

    async def updates(self, tenant: str, device_id: str, timeout: float) -> dict[str, Any] | None:
        """The device's next shared-attribute change, or None when none came in ``timeout`` s."""
        self._loop = asyncio.get_running_loop()
        key = (tenant, device_id)
        unread = self._unread.pop(key, None)
        if unread is not None and time.monotonic() - unread[0] <= UPDATE_KEPT_SECONDS:
            return unread[1]
        waiter: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        waiters = self._watching.setdefault(key, [])
        waiters.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return waiter.result() if waiter.done() else None
        finally:
            waiter.cancel()
            waiters.remove(waiter)
            if not waiters:
                self._watching.pop(key, None)

    def push_attributes(self, tenant: str, device_id: str, values: dict[str, Any]) -> None:
        """Hand changed shared attributes to the device's polls, or keep them (any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._deliver, (tenant, device_id), dict(values))

    def _deliver(self, key: _Key, values: dict[str, Any]) -> None:
        waiting = [w for w in self._watching.get(key, []) if not w.done()]
        for waiter in waiting:
            waiter.set_result(values)
        if waiting:
            return
        now = time.monotonic()
        at, before = self._unread.pop(key, (now, {}))
        fresh = now - at <= UPDATE_KEPT_SECONDS
        self._unread[key] = (at if fresh else now, {**before, **values} if fresh else values)
        while len(self._unread) > _UPDATES_KEPT:
            del self._unread[next(iter(self._unread))]

    def _free_waiter(self, tenant: str, device_id: str) -> asyncio.Future[dict[str, Any]]:
        for waiter in self._waiting.get((tenant, device_id), []):
            if not waiter.done():
                return waiter
        raise DeviceOffline(
            "the device is not waiting for commands (GET /api/v1/{token}/rpc over HTTP)"
        )


class Channels:
    """Several device transports as one channel: a command goes where the device listens."""

    def __init__(self, channels: Sequence[DeviceChannel]) -> None:
        self._channels = list(channels)

    def online(self, tenant: str, device_id: str) -> bool:
        """Whether any transport can reach the device."""
        return any(c.online(tenant, device_id) for c in self._channels)

    async def call(self, tenant: str, device_id: str, command: Command) -> Any:
        """Send through the first transport the device listens on."""
        for channel in self._channels:
            if channel.online(tenant, device_id):
                return await channel.call(tenant, device_id, command)
        raise DeviceOffline(
            "the device is not listening for commands: neither subscribed to"
            " v1/devices/me/rpc/request/+ over MQTT nor polling GET /api/v1/{token}/rpc"
        )

    def push_attributes(self, tenant: str, device_id: str, values: dict[str, Any]) -> None:
        """Tell every transport (any thread)."""
        for channel in self._channels:
            channel.push_attributes(tenant, device_id, values)
