"""Deployments (a model bound to series), alarms with ThingsBoard's lifecycle, and verdicts.

Every record carries its tenant. Times are epoch milliseconds, as in telemetry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Alarm", "AlarmStatus", "Deployment", "Selector", "Severity", "Verdict"]


class Severity(enum.StrEnum):
    """How bad an alarm is, as ThingsBoard names it (most severe first)."""

    CRITICAL = "CRITICAL"
    MAJOR = "MAJOR"
    MINOR = "MINOR"
    WARNING = "WARNING"
    INDETERMINATE = "INDETERMINATE"


class AlarmStatus(enum.StrEnum):
    """ThingsBoard's alarm lifecycle: active or cleared, acknowledged or not."""

    ACTIVE_UNACK = "ACTIVE_UNACK"
    ACTIVE_ACK = "ACTIVE_ACK"
    CLEARED_UNACK = "CLEARED_UNACK"
    CLEARED_ACK = "CLEARED_ACK"

    @property
    def active(self) -> bool:
        """Whether the condition still holds (not cleared)."""
        return self in (AlarmStatus.ACTIVE_UNACK, AlarmStatus.ACTIVE_ACK)

    @property
    def acknowledged(self) -> bool:
        """Whether an operator has acknowledged it."""
        return self in (AlarmStatus.ACTIVE_ACK, AlarmStatus.CLEARED_ACK)


@dataclass(frozen=True)
class Selector:
    """Which devices a deployment reads: one device, a device type, labels (all must match)."""

    device: str | None = None
    type: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"device": self.device, "type": self.type, "labels": dict(self.labels)}


@dataclass(frozen=True)
class Deployment:
    """A detector bound to the keys of selected devices, with its alarm policy (JSON)."""

    id: str
    tenant: str
    name: str
    detector: str  # a registered detector name
    params: dict[str, Any]
    keys: tuple[str, ...]
    selector: Selector
    policy: dict[str, Any]
    multivariate: bool = False  # one model per device over all keys, else one per series
    paused: bool = False
    created_ms: int = 0

    @property
    def score_key(self) -> str:
        """The telemetry key its scores are stored under: ``score/<name>``."""
        return f"score/{self.name}"

    def public(self) -> dict[str, Any]:
        """As JSON: the selector as a dict, the score key included."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "detector": self.detector,
            "params": dict(self.params),
            "keys": list(self.keys),
            "selector": self.selector.to_dict(),
            "policy": _masked(self.policy),
            "multivariate": self.multivariate,
            "paused": self.paused,
            "created_ms": self.created_ms,
            "score_key": self.score_key,
        }


def _masked(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy with webhook secrets hidden: whoever may read a deployment may not sign."""
    actions = []
    for action in policy.get("notify") or []:
        hook = action.get("webhook") if isinstance(action, dict) else None
        if isinstance(hook, dict) and hook.get("secret"):
            action = {**action, "webhook": {**hook, "secret": "***"}}
        actions.append(action)
    return {**policy, "notify": actions} if "notify" in policy else dict(policy)


@dataclass(frozen=True)
class Verdict:
    """An operator's judgement of an alarm: a real fault or a false alarm, and what was learnt."""

    true_alarm: bool
    fault_type: str | None = None
    root_cause: str | None = None
    lesson: str | None = None
    by: str | None = None
    at_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "true_alarm": self.true_alarm,
            "fault_type": self.fault_type,
            "root_cause": self.root_cause,
            "lesson": self.lesson,
            "by": self.by,
            "at_ms": self.at_ms,
        }


@dataclass(frozen=True)
class Alarm:
    """One alarm: raised by a deployment's policy on a device, open until cleared."""

    id: str
    tenant: str
    type: str
    device: str
    severity: Severity
    status: AlarmStatus
    start_ms: int
    end_ms: int | None = None
    deployment: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # scores, values, threshold, keys
    comments: tuple[dict[str, Any], ...] = ()
    verdict: Verdict | None = None
    assignee: str | None = None

    def public(self) -> dict[str, Any]:
        """As JSON: enums as strings, the verdict as a dict or None."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "type": self.type,
            "device": self.device,
            "severity": self.severity.value,
            "status": self.status.value,
            "active": self.status.active,
            "acknowledged": self.status.acknowledged,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "deployment": self.deployment,
            "details": dict(self.details),
            "comments": [dict(c) for c in self.comments],
            "verdict": self.verdict.to_dict() if self.verdict is not None else None,
            "assignee": self.assignee,
        }
