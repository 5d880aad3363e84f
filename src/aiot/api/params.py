"""Parsing of query parameters: times (ISO-8601 or epoch ms), intervals (``15m``), orders."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiot.domain import now_ms
from aiot.errors import InvalidInput
from aiot.store.base import Order

__all__ = ["now_ms", "parse_interval", "parse_keys", "parse_order", "parse_time"]

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
# ASCII digits only: str.isdigit() and \d also take "²" or "٣", which int() then refuses or reads.
_INTERVAL = re.compile(r"^([0-9]{1,16})(ms|s|m|h|d|w)?$", re.ASCII)
_EPOCH_MS = re.compile(r"^-?[0-9]{1,16}$", re.ASCII)
# Years 1 to 9999, what datetime (and every client library) can show; the store takes int64.
MIN_MS, MAX_MS = -62_135_596_800_000, 253_402_300_799_999


def parse_time(text: str | None, default: int, name: str = "time") -> int:
    """Epoch ms from ``1700000000000``, ISO-8601 (``2026-01-02T03:04:05Z``) or ``now``."""
    if text is None or text == "":
        return default
    if text == "now":
        return now_ms()
    if _EPOCH_MS.match(text):
        return _in_range(int(text), text, name)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise InvalidInput(f"{name} must be ISO-8601 or epoch milliseconds", text) from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _in_range(int(parsed.timestamp() * 1000), text, name)


def _in_range(ms: int, text: str, name: str) -> int:
    if not MIN_MS <= ms <= MAX_MS:
        raise InvalidInput(f"{name} must lie between the years 1 and 9999", text)
    return ms


def parse_interval(text: str, name: str = "interval") -> int:
    """Milliseconds from ``500ms``, ``30s``, ``15m``, ``1h``, ``1d``, ``1w`` or a bare ms count."""
    match = _INTERVAL.match(text.strip())
    step = int(match.group(1)) * _UNITS[match.group(2) or "ms"] if match else 0
    if not 0 < step <= MAX_MS - MIN_MS:
        raise InvalidInput(f"{name} must look like 30s, 15m, 1h, 1d or a number of ms", text)
    return step


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
