"""Parsing of query parameters: times (ISO-8601 or epoch ms), intervals (``15m``), orders."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiot.domain import now_ms
from aiot.errors import InvalidInput
from aiot.store.base import Order

__all__ = ["now_ms", "parse_interval", "parse_keys", "parse_order", "parse_time"]

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_INTERVAL = re.compile(r"^(\d+)(ms|s|m|h|d|w)?$")


def parse_time(text: str | None, default: int, name: str = "time") -> int:
    """Epoch ms from ``1700000000000``, ISO-8601 (``2026-01-02T03:04:05Z``) or ``now``."""
    if text is None or text == "":
        return default
    if text == "now":
        return now_ms()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise InvalidInput(f"{name} must be ISO-8601 or epoch milliseconds", text) from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def parse_interval(text: str, name: str = "interval") -> int:
    """Milliseconds from ``500ms``, ``30s``, ``15m``, ``1h``, ``1d``, ``1w`` or a bare ms count."""
    match = _INTERVAL.match(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise InvalidInput(f"{name} must look like 30s, 15m, 1h, 1d or a number of ms", text)
    return int(match.group(1)) * _UNITS[match.group(2) or "ms"]


def parse_keys(text: str | None) -> list[str] | None:
    """A comma-separated key list; None (every key) when absent."""
    if not text:
        return None
    return [k.strip() for k in text.split(",") if k.strip()]


def parse_order(text: str, name: str = "orderBy") -> Order:
    """ThingsBoard's ``orderBy``: ``ASC`` (oldest first) or ``DESC``, in any case."""
    lowered = text.strip().lower()
    if lowered == "asc":
        return "asc"
    if lowered == "desc":
        return "desc"
    raise InvalidInput(f"{name} must be ASC or DESC", text)
