"""The door of the MQTT endpoint: connections that have not authenticated yet.

Each connection must be accepted (CONNACK) within ``connect_timeout`` seconds of its accept,
a total deadline that bytes received never extend: before, every byte reset it, so clients
sending a byte a second held a file descriptor each for ever, and 1,100 of them locked out
every device and the REST API. At most ``max_pending`` connections may wait at once; one more
closes the oldest waiting, so that a device which sends CONNECT promptly always gets in while
someone floods. Closures are counted by reason and logged at a bounded rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Protocol

from aiot.connect.lograte import RateLimitedLog

__all__ = ["Gate", "Waiting", "raise_file_limit"]

log = logging.getLogger("aiot.mqtt")


class Waiting(Protocol):
    """A connection the gate can close: a session before its CONNACK."""

    def peer(self) -> str:
        """The remote address, for the log."""
        ...

    def close(self) -> None:
        """Drop the connection now."""
        ...


class Gate:
    """Connections waiting for their CONNACK, oldest first, each with its deadline."""

    def __init__(self, connect_timeout: float, max_pending: int, limited: RateLimitedLog) -> None:
        self.connect_timeout, self.max_pending, self.limited = connect_timeout, max_pending, limited
        self.closed: Counter[str] = Counter()  # why waiting connections were closed
        self._waiting: dict[Waiting, asyncio.TimerHandle] = {}  # dicts keep insertion order

    def __len__(self) -> int:
        return len(self._waiting)

    def admit(self, conn: Waiting) -> None:
        """Start the connection's deadline; close the oldest waiting when too many wait."""
        while len(self._waiting) >= self.max_pending:
            self._close(next(iter(self._waiting)), "evicted", "too many connections waiting")
        loop = asyncio.get_running_loop()
        self._waiting[conn] = loop.call_later(self.connect_timeout, self._expire, conn)

    def passed(self, conn: Waiting) -> None:
        """The connection was accepted or is gone: no deadline any more."""
        timer = self._waiting.pop(conn, None)
        if timer is not None:
            timer.cancel()

    def _expire(self, conn: Waiting) -> None:
        if conn in self._waiting:
            self._close(conn, "connect_timeout", f"no CONNACK within {self.connect_timeout:g} s")

    def _close(self, conn: Waiting, reason: str, why: str) -> None:
        self.passed(conn)
        self.closed[reason] += 1
        self.limited.warning(reason, "MQTT connection from %s closed: %s", conn.peer(), why)
        conn.close()


def raise_file_limit() -> tuple[int, int] | None:
    """Raise this process's soft limit of open files to its hard limit; the limits after."""
    try:
        import resource  # Unix only
    except ImportError:  # pragma: no cover - Windows has no such limit to raise
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as err:  # some systems cap it below RLIM_INFINITY
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, hard, err)
            return soft, hard
        return hard, hard
    return soft, hard
