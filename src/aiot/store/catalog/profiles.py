"""The catalog's device profiles: one per device type, provision secrets sealed.

A profile whose strategy provisions (``allow_create``, ``check_pre_provisioned``) always has a
key and a secret: those not given are generated, as ThingsBoard's UI does. Keys are unique
across the installation, since a device presents one before it belongs to any tenant.
"""

from __future__ import annotations

import math
import re
import secrets
import uuid
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aiot.domain import PROVISION_STRATEGIES, Profile
from aiot.errors import Conflict, InvalidInput, NotFound
from aiot.store.catalog import records
from aiot.store.catalog.tables import ProfileRow
from aiot.store.secrets import SecretBox

__all__ = ["MAX_LIMITS", "ProfilesMixin", "check_limits"]

MAX_LIMITS = 32
_LIMIT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_EDITABLE = ("description", "provision", "provision_key", "provision_secret", "limits")


def check_limits(limits: dict[str, Any] | None) -> dict[str, Any]:
    """Limits as stored: at most 32 snake_case names, each a finite number >= 0."""
    limits = dict(limits or {})
    if len(limits) > MAX_LIMITS:
        raise InvalidInput(f"a profile has at most {MAX_LIMITS} limits")
    for name, value in limits.items():
        if not isinstance(name, str) or not _LIMIT_NAME.match(name):
            raise InvalidInput("a limit's name is snake_case, such as messages_per_second", name)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value < 0:
            raise InvalidInput(f"limit {name!r} must be a number >= 0", value)
    return limits


class ProfilesMixin:
    """Profile methods of the catalog; the catalog supplies ``_session`` and ``_box``."""

    if TYPE_CHECKING:
        _box: SecretBox

        def _session(self) -> AbstractContextManager[Session]:
            raise NotImplementedError

    def create_profile(
        self,
        tenant: str,
        name: str,
        description: str = "",
        provision: str = "disabled",
        provision_key: str | None = None,
        provision_secret: str | None = None,
        limits: dict[str, Any] | None = None,
    ) -> Profile:
        """A new profile for device type ``name``; names are unique per tenant."""
        if not name.strip():
            raise InvalidInput("a profile needs a name (the device type it describes)")
        row = ProfileRow(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            name=name,
            description=description,
            provision="disabled",
            created_at=records.now(),
        )
        values: dict[str, Any] = {"provision": provision, "provision_key": provision_key}
        values.update(provision_secret=provision_secret, limits=limits)
        with self._session() as s:
            if s.scalar(select(ProfileRow.id).filter_by(tenant_id=tenant, name=name)):
                raise Conflict(f"a profile named {name!r} already exists")
            self._apply(s, row, values)
            s.add(row)
        return records.profile(row, self._box)

    def profiles(self, tenant: str) -> list[Profile]:
        """The tenant's profiles, by name."""
        query = select(ProfileRow).filter_by(tenant_id=tenant).order_by(ProfileRow.name)
        with self._session() as s:
            return [records.profile(r, self._box) for r in s.scalars(query)]

    def profile(self, tenant: str, name: str) -> Profile:
        """One profile of the tenant, by name or id; NotFound for any other tenant's."""
        with self._session() as s:
            return records.profile(self._row(s, tenant, name), self._box)

    def update_profile(self, tenant: str, name: str, changes: dict[str, Any]) -> Profile:
        """Change the description, provisioning or limits of a profile (others are refused)."""
        unknown = set(changes) - set(_EDITABLE)
        if unknown:
            raise InvalidInput("these fields cannot be changed", sorted(unknown))
        with self._session() as s:
            row = self._row(s, tenant, name)
            self._apply(s, row, changes)
            return records.profile(row, self._box)

    def delete_profile(self, tenant: str, name: str) -> Profile:
        """Remove a profile; devices of its type stay, and no longer provision."""
        found = self.profile(tenant, name)
        with self._session() as s:
            s.execute(delete(ProfileRow).filter_by(tenant_id=tenant, id=found.id))
        return found

    def profile_by_provision_key(self, key: str) -> Profile | None:
        """The profile, of any tenant, whose provision key this is (provisioning only)."""
        if not key or len(key) > 100:
            return None
        with self._session() as s:
            row = s.scalar(select(ProfileRow).filter_by(provision_key=key))
            return None if row is None else records.profile(row, self._box)

    # helpers

    @staticmethod
    def _row(s: Session, tenant: str, name: str) -> ProfileRow:
        row = s.scalar(select(ProfileRow).filter_by(tenant_id=tenant, name=name)) or s.scalar(
            select(ProfileRow).filter_by(tenant_id=tenant, id=name)
        )
        if row is None:
            raise NotFound(f"no profile {name!r}")
        return row

    def _apply(self, s: Session, row: ProfileRow, changes: dict[str, Any]) -> None:
        if changes.get("description") is not None:
            row.description = changes["description"]
        if "limits" in changes:
            row.limits = check_limits(changes["limits"])
        if changes.get("provision") is not None:
            if changes["provision"] not in PROVISION_STRATEGIES:
                raise InvalidInput(f"provision is one of {', '.join(PROVISION_STRATEGIES)}")
            row.provision = changes["provision"]
        key = changes.get("provision_key")
        if key is not None or (row.provision != "disabled" and row.provision_key is None):
            row.provision_key = _checked_key(s, key or secrets.token_urlsafe(15), row.id)
        secret = changes.get("provision_secret")
        if secret is not None or (row.provision != "disabled" and row.provision_secret is None):
            row.provision_secret = self._box.encrypt(secret or secrets.token_urlsafe(15))


def _checked_key(s: Session, key: str, profile_id: str) -> str:
    if not key.strip() or len(key) > 100:
        raise InvalidInput("a provision key is 1-100 characters")
    other = s.scalar(select(ProfileRow.id).filter_by(provision_key=key))
    if other is not None and other != profile_id:
        raise Conflict("another profile has this provision key (keys are unique everywhere)")
    return key
