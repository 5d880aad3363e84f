"""Reading the catalog's alarms: one, the open one, filtered lists, and precision per deployment."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from aiot.domain import Alarm, AlarmStatus, Severity
from aiot.errors import InvalidInput, NotFound
from aiot.store.catalog import records
from aiot.store.catalog.tables import AlarmRow, DeploymentRow

__all__ = ["AlarmQueriesMixin", "checked_enum", "open_alarm"]

ACTIVE = (AlarmStatus.ACTIVE_UNACK.value, AlarmStatus.ACTIVE_ACK.value)
_E = TypeVar("_E", Severity, AlarmStatus)


class AlarmQueriesMixin:
    """Alarm reads of the catalog; the catalog supplies ``_session``."""

    if TYPE_CHECKING:

        def _session(self) -> AbstractContextManager[Session]:
            raise NotImplementedError

    def alarm(self, tenant: str, alarm_id: str) -> Alarm:
        """One alarm of the tenant; NotFound for any other tenant's."""
        with self._session() as s:
            row = s.scalars(select(AlarmRow).filter_by(tenant_id=tenant, id=alarm_id)).first()
            if row is None:
                raise NotFound(f"no alarm {alarm_id!r}")
            return records.alarm(row)

    def active_alarm(self, tenant: str, type: str, device: str) -> Alarm | None:
        """The open alarm of this type on this device, or None."""
        with self._session() as s:
            row = s.scalars(open_alarm(tenant, type, device)).first()
            return records.alarm(row) if row is not None else None

    def alarms(
        self,
        tenant: str,
        status: AlarmStatus | None = None,
        severity: Severity | None = None,
        device: str | None = None,
        type: str | None = None,
        deployment: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        active: bool | None = None,
        limit: int = 100,
    ) -> list[Alarm]:
        """The tenant's alarms, newest start first; times select ``start_ms <= start < end_ms``."""
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be 1-10000", limit)
        equal = [
            (
                AlarmRow.status,
                None if status is None else checked_enum(AlarmStatus, status, "status"),
            ),
            (
                AlarmRow.severity,
                None if severity is None else checked_enum(Severity, severity, "severity"),
            ),
            (AlarmRow.device_id, device),
            (AlarmRow.type, type),
            (AlarmRow.deployment_id, deployment),
        ]
        where: list[ColumnElement[bool]] = [c == v for c, v in equal if v is not None]
        if start_ms is not None:
            where.append(AlarmRow.start_ms >= start_ms)
        if end_ms is not None:
            where.append(AlarmRow.start_ms < end_ms)
        if active is not None:
            where.append(AlarmRow.status.in_(ACTIVE) if active else AlarmRow.status.not_in(ACTIVE))
        query = select(AlarmRow).filter_by(tenant_id=tenant).where(*where)
        with self._session() as s:
            rows = s.scalars(query.order_by(AlarmRow.start_ms.desc(), AlarmRow.id).limit(limit))
            return [records.alarm(r) for r in rows]

    def alarm_stats(self, tenant: str) -> list[dict[str, Any]]:
        """Per deployment (by name, then deleted ones, then none): alarms raised, open, judged."""
        query = (
            select(
                AlarmRow.deployment_id,
                func.count(),
                func.sum(case((AlarmRow.status.in_(ACTIVE), 1), else_=0)),
                func.sum(case((AlarmRow.confirmed.is_(True), 1), else_=0)),
                func.sum(case((AlarmRow.confirmed.is_(False), 1), else_=0)),
            )
            .where(AlarmRow.tenant_id == tenant)
            .group_by(AlarmRow.deployment_id)
        )
        names = select(DeploymentRow.id, DeploymentRow.name).filter_by(tenant_id=tenant)
        with self._session() as s:
            counts = {r[0]: [int(n or 0) for n in r[1:]] for r in s.execute(query)}
            rows = [(r.id, r.name) for r in s.execute(names.order_by(DeploymentRow.name))]
        known = {id for id, _ in rows}
        rows += [(id, None) for id in sorted(counts.keys() - known - {None})]  # deleted since
        rows += [(None, None)] if None in counts else []  # raised by no deployment
        return [_stats(id, name, counts.get(id, [0, 0, 0, 0])) for id, name in rows]


def open_alarm(tenant: str, type: str, device: str) -> Select[AlarmRow]:
    """The query of the open alarm of this type on this device."""
    query = select(AlarmRow).filter_by(tenant_id=tenant, type=type, device_id=device)
    return query.where(AlarmRow.status.in_(ACTIVE))


def _stats(id: str | None, name: str | None, counts: list[int]) -> dict[str, Any]:
    raised, active, confirmed, rejected = counts
    judged = confirmed + rejected
    return {
        "deployment": id,
        "name": name,
        "raised": raised,
        "active": active,
        "labelled": judged,
        "confirmed": confirmed,
        "rejected": rejected,
        "precision": confirmed / judged if judged else None,
    }


def checked_enum(kind: type[_E], value: Any, what: str) -> _E:
    """``value`` as a member of ``kind``, else InvalidInput listing the members."""
    try:
        return kind(value)
    except ValueError as err:
        raise InvalidInput(f"unknown {what} {value!r}", [m.value for m in kind]) from err
