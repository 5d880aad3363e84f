"""A rate-limited logger for events an attacker can repeat at will (refused connections).

A flood of slow or bad connections must not turn into a flood of log lines: each would cost a
write, and 150 MB of log in 30 s fills a disk as surely as the flood fills descriptors. Here a
reason logs at most one line per ``every`` seconds; the lines it held back are counted and
named in the next line it writes ("… and 41 more in the last 10 s"), so nothing is hidden,
only summarised.

    limited = RateLimitedLog(logging.getLogger("aiot.mqtt"), every=10.0)
    limited.warning("connect_timeout", "MQTT connection from %s closed: no CONNECT", peer)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimitedLog"]

_MAX_REASONS = 256  # reasons are a small fixed set in code; the cap only bounds a misuse


@dataclass
class _Reason:
    last: float  # when a line of this reason was last written
    held: int = 0  # lines held back since


class RateLimitedLog:
    """At most one line per reason per ``every`` seconds, with a count of the lines held back."""

    def __init__(
        self,
        logger: logging.Logger,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.every, self._clock = logger, every, clock
        self._reasons: dict[str, _Reason] = {}

    def warning(self, reason: str, message: str, *args: object) -> bool:
        """Log ``message % args`` at WARNING unless ``reason`` logged recently; True if written."""
        return self.log(logging.WARNING, reason, message, *args)

    def log(self, level: int, reason: str, message: str, *args: object) -> bool:
        """Log at ``level`` unless ``reason`` logged within ``every`` seconds; True if written."""
        now = self._clock()
        entry = self._reasons.get(reason)
        if entry is not None and now - entry.last < self.every:
            entry.held += 1
            return False
        held = entry.held if entry is not None else 0
        if entry is None and len(self._reasons) >= _MAX_REASONS:
            self._reasons.pop(next(iter(self._reasons)))
        self._reasons[reason] = _Reason(now)
        if held:  # the count is an argument, never formatted into a user-controlled message
            message += " (… and %d more in the last %g s)"
            args = (*args, held, self.every)
        self.logger.log(level, message, *args)
        return True

    def held(self, reason: str) -> int:
        """How many lines of ``reason`` are held back since its last line."""
        entry = self._reasons.get(reason)
        return entry.held if entry is not None else 0
