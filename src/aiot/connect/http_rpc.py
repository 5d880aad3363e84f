"""Server-side commands for HTTP devices, delivered by long-poll as ThingsBoard does.

A device waits on ``GET /api/v1/{token}/rpc?timeout=`` (ms); a command sent while it waits is
its answer, ``{"id", "method", "params"}``, and the device replies with
``POST /api/v1/{token}/rpc/{id}``. :class:`HttpPolls` is that mailbox, a ``DeviceChannel``;
:class:`Channels` puts it beside the MQTT endpoint so a command reaches a device either way.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Any

from aiot.domain import Command, DeviceChannel
from aiot.errors import CommandTimeout, DeviceOffline

__all__ = ["Channels", "HttpPolls"]

_Key = tuple[str, str]


class HttpPolls:
    """Devices waiting in a long-poll, and the two-way commands awaiting their reply."""

    def __init__(self) -> None:
        self._waiting: dict[_Key, list[asyncio.Future[dict[str, Any]]]] = {}
        self._replies: dict[tuple[str, str, int], asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)

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

    def push_attributes(self, tenant: str, device_id: str, values: dict[str, Any]) -> None:
        """Shared attributes reach HTTP devices when they read them (no updates long-poll)."""

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
