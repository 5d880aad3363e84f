"""The catalog's bridges: subscriptions to external brokers, per tenant, passwords sealed."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aiot.domain import Bridge
from aiot.errors import Conflict, NotFound
from aiot.store.catalog import records
from aiot.store.catalog.tables import BridgeRow
from aiot.store.secrets import SecretBox

__all__ = ["BridgesMixin"]


class BridgesMixin:
    """Bridge methods of the catalog; the catalog supplies ``_session`` and ``_box``."""

    if TYPE_CHECKING:
        _box: SecretBox

        def _session(self) -> AbstractContextManager[Session]:
            raise NotImplementedError

    def create_bridge(self, bridge: Bridge) -> Bridge:
        """Store a new bridge; names are unique per tenant."""
        password = None if bridge.password is None else self._box.encrypt(bridge.password)
        with self._session() as s:
            if s.scalar(select(BridgeRow.id).filter_by(tenant_id=bridge.tenant, name=bridge.name)):
                raise Conflict(f"a bridge named {bridge.name!r} already exists")
            s.add(
                BridgeRow(
                    id=bridge.id,
                    tenant_id=bridge.tenant,
                    name=bridge.name,
                    url=bridge.url,
                    topics=list(bridge.topics),
                    username=bridge.username,
                    password_secret=password,
                    create_devices=bridge.create_devices,
                    device_type=bridge.device_type,
                    ca_pem=bridge.ca_pem,
                    ca_file=bridge.ca_file,
                    created_at=bridge.created_at,
                )
            )
        return bridge

    def bridges(self, tenant: str | None = None) -> list[Bridge]:
        """The tenant's bridges by name; every tenant's when ``tenant`` is None (at start)."""
        query = select(BridgeRow).order_by(BridgeRow.tenant_id, BridgeRow.name)
        if tenant is not None:
            query = query.filter_by(tenant_id=tenant)
        with self._session() as s:
            return [records.bridge(r, self._box) for r in s.scalars(query)]

    def bridge(self, tenant: str, bridge_id: str) -> Bridge:
        """One bridge of the tenant, by id or name; NotFound for any other tenant's."""
        found = next((b for b in self.bridges(tenant) if bridge_id in (b.id, b.name)), None)
        if found is None:
            raise NotFound(f"no bridge {bridge_id!r}")
        return found

    def delete_bridge(self, tenant: str, bridge_id: str) -> Bridge:
        """Remove a bridge of the tenant, by id or name."""
        found = self.bridge(tenant, bridge_id)
        with self._session() as s:
            s.execute(delete(BridgeRow).filter_by(tenant_id=tenant, id=found.id))
        return found
