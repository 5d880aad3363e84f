"""uvicorn's h11 protocol with a deadline for request headers and a cap on waiting connections.

uvicorn cancels its keep-alive timer on every byte received and arms no timer at all before a
connection's first request, so a client sending a header line a second held a connection (and a
file descriptor) for ever; a few thousand of them locked everyone out. Here each connection must
finish a request's headers within ``header_timeout`` seconds, counted from the accept or from the
end of the previous response and never reset by bytes received; a connection that does not is
closed. At most ``max_pending`` connections may wait for headers at once: one more evicts the
oldest waiting, so a client that sends its request promptly always gets in while one floods.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

from aiot.connect.lograte import RateLimitedLog

__all__ = ["HeaderDeadline", "header_deadline"]


class HeaderDeadline(H11Protocol):
    """A connection that must send each request's headers within the class's deadline."""

    header_timeout: ClassVar[float] = 10.0
    max_pending: ClassVar[int] = 512
    # Connections waiting for headers, oldest first (dicts keep insertion order); per class,
    # since uvicorn gives a protocol no other state shared by every connection of a server.
    pending: ClassVar[dict[HeaderDeadline, None]]
    # A flood of slow clients is a few lines a minute in the log, not one line per connection.
    limited_log: ClassVar[RateLimitedLog]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._armed_scope: object = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept, evicting the oldest waiting connection when too many wait, and arm."""
        super().connection_made(transport)
        while len(self.pending) >= self.max_pending:
            oldest = next(iter(self.pending))
            oldest._close("evicted", "too many connections waiting for request headers")
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Parse as uvicorn does; a request whose headers are complete disarms the deadline."""
        super().data_received(data)
        self._settle()

    def on_response_complete(self) -> None:
        """The next request's headers are due within the deadline, from now."""
        self._arm()
        super().on_response_complete()
        self._settle()  # a pipelined request already read

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        # uvicorn assigns a fresh scope for every request it parses (upgrades included), so a
        # scope other than this one means that a request's headers arrived.
        self._armed_scope = self.scope
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)
        self.pending[self] = None

    def _settle(self) -> None:
        if self._deadline is not None and self.scope is not self._armed_scope:
            self._disarm()

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.pending.pop(self, None)

    def _expired(self) -> None:
        self._deadline = None
        if self.scope is self._armed_scope:
            self._close("header_timeout", f"no request headers within {self.header_timeout:g} s")

    def _close(self, reason: str, why: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            peer = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
            self.limited_log.warning(reason, "HTTP connection from %s closed: %s", peer, why)
            self.transport.close()


def header_deadline(header_timeout: float, max_pending: int) -> type[HeaderDeadline]:
    """A protocol class for ``uvicorn.Config(http=...)`` with these limits."""
    attrs = {
        "header_timeout": header_timeout,
        "max_pending": max_pending,
        "pending": {},
        "limited_log": RateLimitedLog(logging.getLogger("aiot.api.http"), every=10.0),
    }
    return type("HeaderDeadlineProtocol", (HeaderDeadline,), attrs)
