"""Last-seen times reach the catalog in the background, at most every period."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aiot.ingest.seen import LastSeen
from aiot.store.catalog import Catalog


def test_last_seen_is_written_once_the_period_passed(tmp_path: Path) -> None:
    catalog = Catalog.embedded(tmp_path)
    catalog.create_tenant("t")
    pump = catalog.create_device("t", "pump")
    now = [0.0]
    seen = LastSeen(catalog, period=2.0, clock=lambda: now[0])
    first, later = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    seen.mark("t", [pump.id], first)
    seen.mark("t", [pump.id], later)
    now[0] = 1.0
    seen.flush_due()
    assert catalog.device("t", pump.id).last_seen is None  # not yet: the period has not passed
    now[0] = 2.5
    seen.flush_due()
    assert catalog.device("t", pump.id).last_seen == later
