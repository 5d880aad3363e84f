"""The catalog's alarms: at most one open per (tenant, type, device), cleared, acked, judged.

ThingsBoard's lifecycle: a raise while one is open updates it; ack and clear are independent.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiot.domain import Alarm, AlarmStatus, Severity, Verdict, now_ms
from aiot.errors import Conflict, InvalidInput, NotFound
from aiot.store.catalog import records
from aiot.store.catalog.alarm_queries import AlarmQueriesMixin, checked_enum, open_alarm
from aiot.store.catalog.tables import AlarmRow, DeploymentRow, TenantRow

__all__ = ["AlarmsMixin"]

_CLEARED = {
    AlarmStatus.ACTIVE_UNACK: AlarmStatus.CLEARED_UNACK,
    AlarmStatus.ACTIVE_ACK: AlarmStatus.CLEARED_ACK,
}
_ACKED = {
    AlarmStatus.ACTIVE_UNACK: AlarmStatus.ACTIVE_ACK,
    AlarmStatus.CLEARED_UNACK: AlarmStatus.CLEARED_ACK,
}
# Read-modify-writes of this process one at a time: SQLite has one writer anyway, and a
# snapshot that lost the race would fail rather than wait. Other processes: FOR UPDATE.
_WRITES = threading.Lock()


class AlarmsMixin(AlarmQueriesMixin):
    """Alarm changes (and, inherited, reads) of the catalog; the catalog supplies ``_session``."""

    def raise_alarm(
        self,
        tenant: str,
        type: str,
        device: str,
        severity: Severity,
        start_ms: int,
        deployment: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> tuple[Alarm, bool]:
        """Open an alarm, or update the open one of this type on this device; True if new.

        An update keeps the first start, takes the new severity and merges the details.
        """
        values: dict[str, Any] = {
            "tenant_id": tenant,
            "type": _text(type, "an alarm type", 200),
            "device_id": _text(device, "a device", 200),
            "severity": checked_enum(Severity, severity, "severity").value,
            "start_ms": int(start_ms),
            "deployment_id": deployment,
            "details": _merge({}, _object(details)),
        }
        with _WRITES:
            try:
                return self._raise(values)
            except Conflict:  # another process opened it between our read and write
                return self._raise(values)

    def _raise(self, values: dict[str, Any]) -> tuple[Alarm, bool]:
        tenant, deployment = values["tenant_id"], values["deployment_id"]
        with self._session() as s:
            query = open_alarm(tenant, values["type"], values["device_id"]).with_for_update()
            row = s.scalars(query).first()
            if row is not None:
                row.severity = values["severity"]
                row.details = _merge(row.details, values["details"])
                if row.deployment_id is None and deployment is not None:
                    row.deployment_id = _deployment_id(s, tenant, deployment)
                return records.alarm(row), False
            if s.get(TenantRow, tenant) is None:
                raise NotFound(f"no tenant {tenant!r}")
            if deployment is not None:
                deployment = _deployment_id(s, tenant, deployment)
            new = AlarmRow(
                **{**values, "deployment_id": deployment},
                id=str(uuid.uuid4()),
                status=AlarmStatus.ACTIVE_UNACK.value,
                comments=[],
            )
            s.add(new)
        return records.alarm(new), True

    def clear_alarm(
        self, tenant: str, alarm_id: str, end_ms: int, details: dict[str, Any] | None = None
    ) -> Alarm:
        """Clear an open alarm at ``end_ms``; clearing a cleared one changes nothing."""
        more = _object(details)

        def clear(row: AlarmRow) -> None:
            status = AlarmStatus(row.status)
            if status.active:
                row.status, row.end_ms = _CLEARED[status].value, int(end_ms)
                row.details = _merge(row.details, more)

        return self._edit(tenant, alarm_id, clear)

    def ack_alarm(self, tenant: str, alarm_id: str) -> Alarm:
        """Acknowledge an alarm, open or cleared; acking twice changes nothing."""

        def ack(row: AlarmRow) -> None:
            row.status = _ACKED.get(AlarmStatus(row.status), AlarmStatus(row.status)).value

        return self._edit(tenant, alarm_id, ack)

    def comment_alarm(
        self,
        tenant: str,
        alarm_id: str,
        text: str,
        by: str | None = None,
        at_ms: int | None = None,
    ) -> Alarm:
        """Append a comment of 1-4000 characters, by whom and when (now by default)."""
        comment = {"text": _text(text, "a comment", 4000), "by": by, "at_ms": at_ms or now_ms()}

        def add(row: AlarmRow) -> None:
            row.comments = [*row.comments, comment]

        return self._edit(tenant, alarm_id, add)

    def assign_alarm(self, tenant: str, alarm_id: str, assignee: str | None) -> Alarm:
        """Assign the alarm to someone, or to nobody with None."""
        who = None if assignee is None else _text(assignee, "an assignee", 200)

        def assign(row: AlarmRow) -> None:
            row.assignee = who

        return self._edit(tenant, alarm_id, assign)

    def label_alarm(
        self,
        tenant: str,
        alarm_id: str,
        verdict: Verdict,
        window: dict[str, Any] | None = None,
    ) -> Alarm:
        """Judge the alarm (a real fault or not); a later verdict replaces the earlier.

        ``window``, the alarm's data around it, is kept in its details beside the verdict.
        """
        if not isinstance(verdict.true_alarm, bool):
            raise InvalidInput("a verdict says true_alarm: true or false", verdict.true_alarm)
        stamped = verdict if verdict.at_ms else dataclasses.replace(verdict, at_ms=now_ms())
        stored = records.plain_json(stamped.to_dict(), "the verdict")

        kept = _object({"window": window}) if window is not None else {}

        def label(row: AlarmRow) -> None:
            row.verdict, row.confirmed = stored, stamped.true_alarm
            if kept:
                row.details = {**row.details, **kept}

        return self._edit(tenant, alarm_id, label)

    def _edit(self, tenant: str, alarm_id: str, change: Callable[[AlarmRow], None]) -> Alarm:
        query = select(AlarmRow).filter_by(tenant_id=tenant, id=alarm_id).with_for_update()
        with _WRITES, self._session() as s:
            row = s.scalars(query).first()
            if row is None:
                raise NotFound(f"no alarm {alarm_id!r}")
            change(row)
            return records.alarm(row)


def _deployment_id(s: Session, tenant: str, id_or_name: str) -> str:
    query = select(DeploymentRow.id).filter_by(tenant_id=tenant)
    for column in (DeploymentRow.id, DeploymentRow.name):
        found = s.scalar(query.where(column == id_or_name))
        if found is not None:
            return found
    raise NotFound(f"no deployment {id_or_name!r}")


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """New details over old; ``max_*``/``min_*`` keep the extreme, ``score`` feeds ``max_score``."""
    merged = {**old, **new}
    for key, value in new.items():
        prior = old.get(key)
        if _number(value) and _number(prior):
            if key.startswith("max_"):
                merged[key] = max(prior, value)
            elif key.startswith("min_"):
                merged[key] = min(prior, value)
    score: Any = new.get("score")
    if _number(score):
        best = merged.get("max_score")
        merged["max_score"] = max(best, score) if _number(best) else score
    return merged


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _object(details: dict[str, Any] | None) -> dict[str, Any]:
    if details is None:
        return {}
    if not isinstance(details, dict):
        raise InvalidInput("alarm details must be a JSON object")
    found: dict[str, Any] = records.plain_json(details, "alarm details")
    return found


def _text(value: str, what: str, most: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > most:
        raise InvalidInput(f"{what} must be 1-{most} characters")
    return value
