"""The catalog over SQLAlchemy: every query is filtered by tenant."""

from __future__ import annotations

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

from aiot.domain import ApiKey, Device, Role, Tenant
from aiot.errors import Conflict, Forbidden, InvalidInput, NotFound, StoreError
from aiot.store.catalog import records
from aiot.store.catalog.alarms import AlarmsMixin
from aiot.store.catalog.bridges import BridgesMixin
from aiot.store.catalog.certificates import BasicCredentialsMixin, CertificatesMixin
from aiot.store.catalog.claims import ClaimsMixin
from aiot.store.catalog.deployments import DeploymentsMixin
from aiot.store.catalog.engine import migrate, open_engine, scrub
from aiot.store.catalog.packages import PackagesMixin
from aiot.store.catalog.profiles import ProfilesMixin
from aiot.store.catalog.records import Rejection
from aiot.store.catalog.tables import (
    AlarmRow,
    ApiKeyRow,
    AttributeRow,
    BridgeRow,
    DeploymentRow,
    DeviceRow,
    PackageRow,
    ProfileRow,
    RejectionRow,
    SecretKeyRow,
    TenantRow,
    UserRow,
)
from aiot.store.catalog.users import UsersMixin
from aiot.store.secrets import SecretBox

__all__ = ["Catalog", "Rejection"]

_OF_TENANT = (
    AlarmRow,
    DeploymentRow,
    AttributeRow,
    RejectionRow,
    BridgeRow,
    ApiKeyRow,
    UserRow,
    DeviceRow,
    ProfileRow,
    PackageRow,
)
_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# A token chosen by a device (provisioning): URL-safe, as it is a path segment of the HTTP API;
# ``provision`` is the MQTT user name of provisioning, never a device's.
_TOKEN = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
RESERVED_TOKENS = frozenset({"provision"})
SCOPES = ("client", "shared", "server")


class Catalog(
    DeploymentsMixin,
    AlarmsMixin,
    BridgesMixin,
    ProfilesMixin,
    ClaimsMixin,
    PackagesMixin,
    CertificatesMixin,
    BasicCredentialsMixin,
    UsersMixin,
):
    """Tenants, devices, keys, users, attributes, rejections, deployments, alarms: one database.

    Secrets are sealed or hashed with ``box`` (see :mod:`aiot.store.secrets`); without one,
    a fresh key is made that lives only as long as this object (tests).
    """

    def __init__(self, url: str, box: SecretBox | None = None) -> None:
        self._box = box or SecretBox.generate()
        try:
            self._engine = open_engine(url)
            if migrate(self._engine, self._box) and url.startswith("sqlite"):
                scrub(self._engine)  # the plain secrets the upgrade replaced leave the file
        except SQLAlchemyError as err:
            raise StoreError(f"cannot open the catalog at {url}", str(err)) from err
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._tokens: dict[str, Device] = {}  # by the token's keyed hash
        self._forgotten = 0  # tokens dropped from the cache: a lookup begun before is not cached
        self._lock = threading.Lock()
        self._check_key()

    @classmethod
    def embedded(cls, data_dir: Path, box: SecretBox | None = None) -> Catalog:
        """The SQLite catalog under ``data_dir``; its key in ``secret.key`` unless given."""
        return cls(
            f"sqlite:///{data_dir / 'catalog.sqlite'}", box or SecretBox.at(data_dir / "secret.key")
        )

    def _check_key(self) -> None:
        """Refuse to run with another key than the one that sealed the stored secrets."""
        with self._session() as s:
            row = s.get(SecretKeyRow, 1)
            if row is None:  # the migration records it; a catalog restored without it
                s.add(SecretKeyRow(id=1, fingerprint=self._box.fingerprint()))
            elif not hmac.compare_digest(row.fingerprint, self._box.fingerprint()):
                raise StoreError(
                    "the catalog's secrets were sealed with another secret key",
                    "restore <data_dir>/secret.key or set AIOT_SECRET_KEY to the key in use",
                )

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

    def update_tenant(
        self, tenant_id: str, name: str | None = None, limits: dict[str, Any] | None = None
    ) -> Tenant:
        """Rename the tenant or replace its limits (``None``: unchanged)."""
        with self._session() as s:
            row = s.get(TenantRow, tenant_id)
            if row is None:
                raise NotFound(f"no tenant {tenant_id!r}")
            if name is not None:
                row.name = name
            if limits is not None:
                row.limits = dict(limits)
            return records.tenant(row)

    def delete_tenant(self, tenant_id: str) -> Tenant:
        """Remove the tenant and every record of it (devices, keys, bridges, deployments…)."""
        found = self.find_tenant(tenant_id)
        if found is None:
            raise NotFound(f"no tenant {tenant_id!r}")
        with self._session() as s:
            for row in _OF_TENANT:  # what refers to devices and deployments goes first
                s.execute(delete(row).filter_by(tenant_id=tenant_id))
            s.execute(delete(TenantRow).filter_by(id=tenant_id))
        with self._lock:  # its devices' tokens stop working at once
            self._tokens = {k: d for k, d in self._tokens.items() if d.tenant != tenant_id}
            self._forgotten += 1
        return found

    # devices

    def create_device(
        self,
        tenant: str,
        name: str,
        type: str = "default",
        labels: dict[str, str] | None = None,
        token: str | None = None,
        *,
        gateway: bool = False,
        gateway_id: str | None = None,
    ) -> Device:
        """A new device with ``token`` or a fresh access token; names are unique per tenant.

        ``gateway``: it may publish for other devices (``v1/gateway/...``); ``gateway_id``:
        the gateway it is connected through.
        """
        if token is not None:
            self._check_token(token)
        row = self._device_row(tenant, name, type, labels, gateway, gateway_id, token)
        with self._session() as s:
            if s.scalar(select(DeviceRow.id).filter_by(tenant_id=tenant, name=name)):
                raise Conflict(f"a device named {name!r} already exists")
            s.add(row)
            self._inherit_packages(s, tenant, row.id, type)
        return records.device(row, self._box)

    def _device_row(
        self,
        tenant: str,
        name: str,
        type: str,
        labels: dict[str, str] | None,
        gateway: bool,
        gateway_id: str | None,
        token: str | None = None,
    ) -> DeviceRow:
        if not name.strip():
            raise InvalidInput("a device needs a name")
        token = token or secrets.token_urlsafe(15)
        return DeviceRow(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            name=name,
            type=type,
            labels=dict(labels or {}),
            token_hash=self._box.digest(token),
            token_secret=self._box.encrypt(token),
            created_at=records.now(),
            gateway=gateway,
            gateway_id=gateway_id,
        )

    def _check_token(self, token: str) -> None:
        if not _TOKEN.match(token) or token in RESERVED_TOKENS:
            raise InvalidInput(
                "an access token is 1-64 letters, digits, '.', '_', '~' or '-' (not 'provision')"
            )
        with self._session() as s:
            if s.scalar(select(DeviceRow.id).filter_by(token_hash=self._box.digest(token))):
                raise Conflict("this access token is in use", code="token_in_use")

    def sub_device(self, gateway: Device, name: str, type: str = "default") -> Device:
        """The device ``name`` of the gateway's tenant, created or re-linked behind ``gateway``.

        As ThingsBoard does, a device of that name that is not yet behind this gateway is
        re-linked to it; only within the gateway's own tenant, and never a gateway itself
        (Forbidden), so that no gateway can take over another gateway's devices wholesale.
        """
        try:
            return self._sub_device(gateway, name, type)
        except Conflict:  # another gateway made it meanwhile: re-link it
            return self._sub_device(gateway, name, type)

    def _sub_device(self, gateway: Device, name: str, type: str) -> Device:
        tenant = gateway.tenant
        with self._session() as s:
            row = s.scalar(select(DeviceRow).filter_by(tenant_id=tenant, name=name))
            if row is None:
                row = self._device_row(tenant, name, type, None, False, gateway.id)
                s.add(row)
                s.flush()
                self._inherit_packages(s, tenant, row.id, type)
            elif row.gateway or row.id == gateway.id:
                raise Forbidden(
                    f"{name!r} is a gateway: it cannot connect through another",
                    code="device_not_allowed",
                )
            elif row.gateway_id != gateway.id:
                row.gateway_id = gateway.id
        return records.device(row, self._box)

    def devices(
        self, tenant: str, type: str | None = None, gateway: str | None = None
    ) -> list[Device]:
        """The tenant's devices, by name; ``gateway``: only those behind that gateway's id."""
        query = select(DeviceRow).filter_by(tenant_id=tenant).order_by(DeviceRow.name)
        if type is not None:
            query = query.filter_by(type=type)
        if gateway is not None:
            query = query.filter_by(gateway_id=gateway)
        with self._session() as s:
            return [records.device(r, self._box) for r in s.scalars(query)]

    def device(self, tenant: str, device_id: str) -> Device:
        """One device of the tenant, by id or name; NotFound for any other tenant's."""
        with self._session() as s:
            row = s.scalar(select(DeviceRow).filter_by(tenant_id=tenant, id=device_id)) or s.scalar(
                select(DeviceRow).filter_by(tenant_id=tenant, name=device_id)
            )
            if row is None:
                raise NotFound(f"no device {device_id!r}")
            return records.device(row, self._box)

    def delete_device(self, tenant: str, device_id: str) -> Device:
        """Remove the device and its attributes; its token stops working at once."""
        found = self.device(tenant, device_id)
        with self._session() as s:
            s.execute(delete(AttributeRow).filter_by(tenant_id=tenant, device_id=found.id))
            s.execute(delete(DeviceRow).filter_by(tenant_id=tenant, id=found.id))
        self._forget(found.access_token)
        return found

    def new_token(self, tenant: str, device_id: str) -> Device:
        """Give the device a fresh access token; the old one stops working at once."""
        found = self.device(tenant, device_id)
        token = secrets.token_urlsafe(15)
        with self._session() as s:
            s.execute(
                update(DeviceRow)
                .filter_by(tenant_id=tenant, id=found.id)
                .values(token_hash=self._box.digest(token), token_secret=self._box.encrypt(token))
            )
        self._forget(found.access_token)
        return self.device(tenant, found.id)

    def _forget(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(self._box.digest(token), None)
            self._forgotten += 1

    def device_by_token(self, token: str) -> Device | None:
        """The device an access token belongs to (cached), or None."""
        if not token.isascii():  # tokens are URL-safe ASCII; anything else names no device
            return None
        digest = self._box.digest(token)  # looked up by keyed hash: timing tells nothing
        with self._lock:
            cached, forgotten = self._tokens.get(digest), self._forgotten
        if cached is not None:
            return cached
        found = self._by_token(digest, token)
        with self._lock:
            if found is None or forgotten == self._forgotten:
                if found is not None:
                    self._tokens[digest] = found
                return found
        # a device was deleted or re-keyed during the read, perhaps this one: read it again
        # (its change is committed by now), and do not cache what may be stale
        return self._by_token(digest, token)

    def _by_token(self, digest: str, token: str) -> Device | None:
        with self._session() as s:
            row = s.scalar(select(DeviceRow).filter_by(token_hash=digest))
        if row is None:
            return None
        found = records.device(row, self._box)
        if not hmac.compare_digest(found.access_token.encode(), token.encode()):
            return None  # a hash collision, were one ever found
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
            secret_hash=self._box.key_hash(secret),
            created_at=records.now(),
        )
        with self._session() as s:
            s.add(row)
        return records.api_key(row), secret

    def authenticate(self, secret: str) -> ApiKey | None:
        """The key whose secret this is, or None."""
        digest = self._box.key_hash(secret)
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
