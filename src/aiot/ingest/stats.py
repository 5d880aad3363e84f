"""Counters of what ingestion accepted and refused, per tenant, since the process started."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["IngestStats"]


@dataclass
class _TenantCounts:
    messages: int = 0
    points: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


class IngestStats:
    """Accepted messages and points, rejected messages by reason; thread-safe."""

    def __init__(self) -> None:
        self.since = datetime.now(UTC)
        self._counts: dict[str, _TenantCounts] = {}
        self._unknown_tokens = 0
        self._provision_refused = 0  # provisioning requests refused before a tenant was known
        self._lock = threading.Lock()

    def unknown_token(self) -> None:
        """Count a message refused because its token matches no device (no tenant known)."""
        with self._lock:
            self._unknown_tokens += 1

    def provision_refused(self) -> None:
        """Count a provisioning request refused before any tenant was known (no such key)."""
        with self._lock:
            self._provision_refused += 1

    def accepted(self, tenant: str, messages: int, points: int) -> None:
        """Count messages whose points are durable."""
        with self._lock:
            counts = self._counts.setdefault(tenant, _TenantCounts())
            counts.messages += messages
            counts.points += points

    def rejected(self, tenant: str, reason: str) -> None:
        """Count one refused message."""
        with self._lock:
            self._counts.setdefault(tenant, _TenantCounts()).rejected[reason] += 1

    def snapshot(self, tenant: str, installation: bool = False) -> dict[str, Any]:
        """The tenant's counters as JSON; ``installation`` adds unknown-token refusals."""
        with self._lock:
            counts = self._counts.get(tenant, _TenantCounts())
            extra = (
                {
                    "unknown_token_messages": self._unknown_tokens,
                    "refused_provision_requests": self._provision_refused,
                }
                if installation
                else {}
            )
            return {
                **extra,
                "since": self.since.isoformat(),
                "accepted_messages": counts.messages,
                "accepted_points": counts.points,
                "rejected_messages": sum(counts.rejected.values()),
                "rejected_by_reason": dict(sorted(counts.rejected.items())),
            }
