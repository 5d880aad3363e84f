"""The catalog's deployments: detectors bound to the keys of selected devices, per tenant."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from aiot.domain import Deployment, Selector, now_ms
from aiot.errors import Conflict, InvalidInput, NotFound
from aiot.store.catalog import records
from aiot.store.catalog.sealed import seal_policy
from aiot.store.catalog.tables import DeploymentRow, TenantRow
from aiot.store.secrets import SecretBox

__all__ = ["DeploymentsMixin"]

# The name becomes the telemetry key ``score/<name>``: nothing a key or topic would split on.
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


class DeploymentsMixin:
    """Deployment methods of the catalog; the catalog supplies ``_session`` and ``_box``."""

    if TYPE_CHECKING:
        _box: SecretBox

        def _session(self) -> AbstractContextManager[Session]:
            raise NotImplementedError

    def create_deployment(
        self,
        tenant: str,
        name: str,
        detector: str,
        params: dict[str, Any],
        keys: Sequence[str],
        selector: Selector,
        policy: dict[str, Any],
        multivariate: bool = False,
    ) -> Deployment:
        """A new deployment; names are unique per tenant and become ``score/<name>``."""
        row = DeploymentRow(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            name=_checked_name(name),
            detector=_checked_detector(detector),
            params=_object(params, "params"),
            keys=_keys(keys),
            selector=records.plain_json(selector.to_dict(), "the selector"),
            policy=seal_policy(_object(policy, "the policy"), self._box),
            multivariate=bool(multivariate),
            paused=False,
            created_ms=now_ms(),
        )
        with self._session() as s:
            if s.get(TenantRow, tenant) is None:
                raise NotFound(f"no tenant {tenant!r}")
            if s.scalar(select(DeploymentRow.id).filter_by(tenant_id=tenant, name=name)):
                raise Conflict(f"a deployment named {name!r} already exists")
            s.add(row)
        return records.deployment(row, self._box)

    def deployments(self, tenant: str) -> list[Deployment]:
        """The tenant's deployments, by name."""
        query = select(DeploymentRow).filter_by(tenant_id=tenant).order_by(DeploymentRow.name)
        with self._session() as s:
            return [records.deployment(r, self._box) for r in s.scalars(query)]

    def all_deployments(self) -> list[Deployment]:
        """Every tenant's deployments, by tenant then name (for the stream stage at start)."""
        query = select(DeploymentRow).order_by(DeploymentRow.tenant_id, DeploymentRow.name)
        with self._session() as s:
            return [records.deployment(r, self._box) for r in s.scalars(query)]

    def deployment(self, tenant: str, id_or_name: str) -> Deployment:
        """One deployment of the tenant, by id or name; NotFound for any other tenant's."""
        with self._session() as s:
            return records.deployment(_row(s, tenant, id_or_name), self._box)

    def update_deployment(
        self,
        tenant: str,
        id_or_name: str,
        paused: bool | None = None,
        policy: dict[str, Any] | None = None,
    ) -> Deployment:
        """Pause or resume a deployment, or replace its alarm policy."""
        new_policy = (
            None if policy is None else seal_policy(_object(policy, "the policy"), self._box)
        )
        with self._session() as s:
            row = _row(s, tenant, id_or_name)
            if paused is not None:
                row.paused = bool(paused)
            if new_policy is not None:
                row.policy = new_policy
            return records.deployment(row, self._box)

    def delete_deployment(self, tenant: str, id_or_name: str) -> Deployment:
        """Remove a deployment; its alarms stay, as history, naming its id."""
        with self._session() as s:
            found = records.deployment(_row(s, tenant, id_or_name), self._box)
            s.execute(delete(DeploymentRow).filter_by(tenant_id=tenant, id=found.id))
        return found


def _row(s: Session, tenant: str, id_or_name: str) -> DeploymentRow:
    match = or_(DeploymentRow.id == id_or_name, DeploymentRow.name == id_or_name)
    # A name may look like another deployment's id: the id wins, as for devices.
    query = select(DeploymentRow).filter_by(tenant_id=tenant).where(match)
    row = s.scalars(query.order_by(DeploymentRow.id != id_or_name).limit(1)).first()
    if row is None:
        raise NotFound(f"no deployment {id_or_name!r}")
    return row


def _checked_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput("a deployment name is 1-100 letters, digits, '-', '_' or '.'", name)
    return name


def _checked_detector(detector: str) -> str:
    if not isinstance(detector, str) or not detector.strip() or len(detector) > 100:
        raise InvalidInput("a deployment needs a detector name of 1-100 characters", detector)
    return detector


def _object(value: dict[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    found: dict[str, Any] = records.plain_json(value, what)
    return found


def _keys(keys: Sequence[str]) -> list[str]:
    if isinstance(keys, str) or not all(isinstance(k, str) and k for k in keys):
        raise InvalidInput("keys must be a list of non-empty strings", keys)
    return list(keys)
