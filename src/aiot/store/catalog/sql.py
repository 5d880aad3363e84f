"""The catalog over SQLAlchemy: every query is filtered by tenant."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aiot.domain import ApiKey, Bridge, Device, Role, Tenant
from aiot.errors import Conflict, InvalidInput, NotFound, StoreError
from aiot.store.catalog import records
from aiot.store.catalog.alarms import AlarmsMixin
from aiot.store.catalog.deployments import DeploymentsMixin
from aiot.store.catalog.engine import migrate, open_engine
from aiot.store.catalog.records import Rejection
from aiot.store.catalog.tables import (
    ApiKeyRow,
    AttributeRow,
    BridgeRow,
    DeviceRow,
    RejectionRow,
    TenantRow,
)

__all__ = ["Catalog", "Rejection"]

_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SCOPES = ("client", "shared", "server")


def hash_secret(secret: str) -> str:
    """SHA-256 of a key: keys are long random strings, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Catalog(DeploymentsMixin, AlarmsMixin):
    """Tenants, devices, keys, attributes, rejections, deployments and alarms in one database."""

    def __init__(self, url: str) -> None:
        try:
            self._engine = open_engine(url)
            migrate(self._engine)
        except SQLAlchemyError as err:
            raise StoreError(f"cannot open the catalog at {url}", str(err)) from err
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._tokens: dict[str, Device] = {}
        self._lock = threading.Lock()

    @classmethod
    def embedded(cls, data_dir: Path) -> Catalog:
        """The SQLite catalog under ``data_dir``."""
        return cls(f"sqlite:///{data_dir / 'catalog.sqlite'}")

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except IntegrityError as err:
            raise Conflict("the record already exists", str(err.orig)) from err
        except SQLAlchemyError as err:
            raise StoreError("the catalog failed", str(err)) from err

    # tenants

    def create_tenant(self, tenant_id: str, name: str | None = None) -> Tenant:
        """A new tenant; ids are lower-case slugs."""
        if not _TENANT_ID.match(tenant_id):
            raise InvalidInput(
                "a tenant id is 1-63 lower-case letters, digits, '-' or '_'", tenant_id
            )
        if self.find_tenant(tenant_id) is not None:
            raise Conflict(f"tenant {tenant_id!r} already exists")
        row = TenantRow(id=tenant_id, name=name or tenant_id, created_at=records.now())
        with self._session() as s:
            s.add(row)
        return records.tenant(row)

    def find_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        with self._session() as s:
            row = s.get(TenantRow, tenant_id)
            return records.tenant(row) if row else None

    def tenants(self) -> list[Tenant]:
        """Every tenant, by id."""
        with self._session() as s:
            return [records.tenant(r) for r in s.scalars(select(TenantRow).order_by(TenantRow.id))]

    # devices

    def create_device(
        self, tenant: str, name: str, type: str = "default", labels: dict[str, str] | None = None
    ) -> Device:
        """A new device with a fresh access token; names are unique per tenant."""
        if not name.strip():
            raise InvalidInput("a device needs a name")
        row = DeviceRow(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            name=name,
            type=type,
            labels=dict(labels or {}),
            access_token=secrets.token_urlsafe(15),
            created_at=records.now(),
        )
        with self._session() as s:
            if s.scalar(select(DeviceRow.id).filter_by(tenant_id=tenant, name=name)):
                raise Conflict(f"a device named {name!r} already exists")
            s.add(row)
        return records.device(row)

    def devices(self, tenant: str, type: str | None = None) -> list[Device]:
        """The tenant's devices, by name."""
        query = select(DeviceRow).filter_by(tenant_id=tenant).order_by(DeviceRow.name)
        if type is not None:
            query = query.filter_by(type=type)
        with self._session() as s:
            return [records.device(r) for r in s.scalars(query)]

    def device(self, tenant: str, device_id: str) -> Device:
        """One device of the tenant, by id or name; NotFound for any other tenant's."""
        with self._session() as s:
            row = s.scalar(select(DeviceRow).filter_by(tenant_id=tenant, id=device_id)) or s.scalar(
                select(DeviceRow).filter_by(tenant_id=tenant, name=device_id)
            )
            if row is None:
                raise NotFound(f"no device {device_id!r}")
            return records.device(row)

    def delete_device(self, tenant: str, device_id: str) -> Device:
        """Remove the device and its attributes; its token stops working at once."""
        found = self.device(tenant, device_id)
        with self._session() as s:
            s.execute(delete(AttributeRow).filter_by(tenant_id=tenant, device_id=found.id))
            s.execute(delete(DeviceRow).filter_by(tenant_id=tenant, id=found.id))
        with self._lock:
            self._tokens.pop(found.access_token, None)
        return found

    def device_by_token(self, token: str) -> Device | None:
        """The device an access token belongs to (cached), or None."""
        with self._lock:
            cached = self._tokens.get(token)
        if cached is not None:
            return cached
        with self._session() as s:
            row = s.scalar(select(DeviceRow).filter_by(access_token=token))
        if row is None:
            return None
        found = records.device(row)
        with self._lock:
            self._tokens[token] = found
        return found

    def touch_devices(self, tenant: str, device_ids: Sequence[str], when: datetime) -> None:
        """Record that the devices sent something at ``when``."""
        with self._session() as s:
            s.execute(
                update(DeviceRow)
                .where(DeviceRow.tenant_id == tenant, DeviceRow.id.in_(list(device_ids)))
                .values(last_seen=when)
            )

    # API keys

    def create_key(self, tenant: str, name: str, role: Role) -> tuple[ApiKey, str]:
        """A new API key; the secret is returned once and only its hash is kept."""
        if self.find_tenant(tenant) is None:
            raise NotFound(f"no tenant {tenant!r}")
        secret = "aiot_" + secrets.token_urlsafe(24)
        row = ApiKeyRow(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            name=name,
            role=role.value,
            prefix=secret[:9],
            secret_hash=hash_secret(secret),
            created_at=records.now(),
        )
        with self._session() as s:
            s.add(row)
        return records.api_key(row), secret

    def authenticate(self, secret: str) -> ApiKey | None:
        """The key whose secret this is, or None."""
        digest = hash_secret(secret)
        with self._session() as s:
            row = s.scalar(select(ApiKeyRow).filter_by(secret_hash=digest))
        if row is None or not hmac.compare_digest(row.secret_hash, digest):
            return None
        return records.api_key(row)

    def keys(self, tenant: str) -> list[ApiKey]:
        """The tenant's keys (never their secrets)."""
        with self._session() as s:
            rows = s.scalars(select(ApiKeyRow).filter_by(tenant_id=tenant).order_by(ApiKeyRow.name))
            return [records.api_key(r) for r in rows]

    def revoke_key(self, tenant: str, key_id: str) -> None:
        """Delete a key of the tenant."""
        with self._session() as s:
            gone = s.execute(delete(ApiKeyRow).filter_by(tenant_id=tenant, id=key_id))
            if not getattr(gone, "rowcount", 0):
                raise NotFound(f"no key {key_id!r}")

    # attributes

    def set_attributes(
        self, tenant: str, device_id: str, scope: str, values: dict[str, Any]
    ) -> None:
        """Insert or update attributes of one scope."""
        if scope not in SCOPES:
            raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}", scope)
        now = records.now()
        with self._session() as s:
            for key, value in values.items():
                s.merge(
                    AttributeRow(
                        tenant_id=tenant,
                        device_id=device_id,
                        scope=scope,
                        key=key,
                        value=value,
                        updated_at=now,
                    )
                )

    def attributes(
        self, tenant: str, device_id: str, scope: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Attributes by scope, then key."""
        query = select(AttributeRow).filter_by(tenant_id=tenant, device_id=device_id)
        if scope is not None:
            query = query.filter_by(scope=scope)
        found: dict[str, dict[str, Any]] = {}
        with self._session() as s:
            for row in s.scalars(query.order_by(AttributeRow.key)):
                found.setdefault(row.scope, {})[row.key] = row.value
        return found

    # rejections

    def record_rejections(self, rejections: Sequence[Rejection], keep: int) -> None:
        """Append refused messages to the log, keeping the newest ``keep`` per tenant."""
        with self._session() as s:
            s.add_all(
                RejectionRow(
                    tenant_id=r.tenant,
                    at=r.at,
                    transport=r.transport,
                    device_id=r.device,
                    reason=r.reason,
                    message=r.message,
                    excerpt=r.excerpt,
                )
                for r in rejections
            )
            s.flush()
            for tenant in {r.tenant for r in rejections}:
                _trim(s, tenant, keep)

    def rejections(
        self, tenant: str, limit: int = 100, reason: str | None = None
    ) -> list[Rejection]:
        """The newest rejected messages of the tenant, newest first."""
        query = select(RejectionRow).filter_by(tenant_id=tenant)
        if reason is not None:
            query = query.filter_by(reason=reason)
        with self._session() as s:
            rows = s.scalars(query.order_by(RejectionRow.id.desc()).limit(limit))
            return [records.rejection(r) for r in rows]

    # bridges

    def create_bridge(self, bridge: Bridge) -> Bridge:
        """Store a new bridge; names are unique per tenant."""
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
                    password=bridge.password,
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
            return [records.bridge(r) for r in s.scalars(query)]

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

    def close(self) -> None:
        """Release the connection pool."""
        self._engine.dispose()


def _trim(s: Session, tenant: str, keep: int) -> None:
    cutoff = s.scalar(
        select(RejectionRow.id)
        .filter_by(tenant_id=tenant)
        .order_by(RejectionRow.id.desc())
        .offset(keep)
        .limit(1)
    )
    if cutoff is not None:
        s.execute(delete(RejectionRow).filter_by(tenant_id=tenant).where(RejectionRow.id <= cutoff))
