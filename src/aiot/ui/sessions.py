"""Dashboard sessions: who signed in on which browser, until they sign out or stay idle too long.

A session lives in the server's memory only, keyed by the browser's id (NiceGUI's signed
session cookie): nothing of it, the API key least of all, is written to disk or sent to the
browser. Each page asks :meth:`Sessions.get`, which ends a session idle for longer than
``idle_seconds`` and otherwise renews it. A restart signs everyone out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from aiot.domain import Principal

__all__ = ["IDLE_SECONDS", "Session", "Sessions"]

IDLE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the principal, how to check it again, and when it last acted."""

    principal: Principal
    who: str  # shown in the header: the user's login or the key's prefix
    secret: str | None  # the API key it signed in with, checked again at each page
    last_seen: float


class Sessions:
    """Sessions by browser id, with idle expiry; ``clock`` is injected for tests."""

    def __init__(
        self, idle_seconds: float = IDLE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._by_browser: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, browser: str, principal: Principal, who: str, secret: str | None) -> Session:
        """Sign a browser in (replacing any earlier session of it)."""
        session = Session(principal, who, secret, self._clock())
        with self._lock:
            self._by_browser[browser] = session
        return session

    def get(self, browser: str) -> Session | None:
        """The browser's live session, renewed; None (and forgotten) once idle too long."""
        now = self._clock()
        with self._lock:
            session = self._by_browser.get(browser)
            if session is None:
                return None
            if now - session.last_seen > self.idle_seconds:
                del self._by_browser[browser]
                return None
            renewed = replace(session, last_seen=now)
            self._by_browser[browser] = renewed
            return renewed

    def close(self, browser: str) -> None:
        """Sign the browser out."""
        with self._lock:
            self._by_browser.pop(browser, None)
