"""Arrow query results to JSON in ThingsBoard's shape: ``{key: [{"ts": ms, "value": v}]}``."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from aiot.domain import Kind

__all__ = ["Series", "latest_json", "series_json"]

Series = dict[str, list[dict[str, Any]]]
"""Points by key, ThingsBoard's telemetry body."""


def _value(value: float | None, text: str | None, kind: int) -> Any:
    if kind == Kind.BOOL:
        return bool(value)
    if kind == Kind.TEXT:
        return text
    if kind == Kind.JSON:
        return json.loads(text) if text is not None else None
    return value


def _points(table: pa.Table) -> list[tuple[str, dict[str, Any]]]:
    cols = table.to_pydict()
    if "kind" not in cols:  # aggregates are numbers
        return [
            (k, {"ts": t, "value": v})
            for k, t, v in zip(cols["key"], cols["ts"], cols["value"], strict=True)
        ]
    rows = zip(cols["key"], cols["ts"], cols["value"], cols["text"], cols["kind"], strict=True)
    return [(k, {"ts": t, "value": _value(v, x, kind)}) for k, t, v, x, kind in rows]


def series_json(table: pa.Table, keys: list[str] | None = None) -> Series:
    """Points by key in the table's order; asked-for keys without points: []."""
    found: Series = {k: [] for k in keys or []}
    for key, point in _points(table):
        found.setdefault(key, []).append(point)
    return found


def latest_json(table: pa.Table) -> dict[str, dict[str, Any]]:
    """The newest point per key."""
    return dict(_points(table))
