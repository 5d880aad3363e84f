"""Storage: the telemetry store (embedded DuckDB or in memory) and the catalog.

The :class:`~aiot.store.base.TelemetryStore` protocol and its contract are in ``base.py``;
``checks.py`` is the conformance suite every backend passes.
"""

from __future__ import annotations

from aiot.store.base import AGG_SCHEMA, RAW_SCHEMA, TelemetryStore

__all__ = ["AGG_SCHEMA", "RAW_SCHEMA", "TelemetryStore"]
