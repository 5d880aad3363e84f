"""The catalog's firmware and software packages, their bytes, and which device gets which.

A package's bytes never change once stored (a new version is a new package), so the bytes
read for one chunk are kept for the next ones: :class:`_Blobs` holds the most recently used
packages up to a total size, and forgets a package when it is deleted.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from aiot.domain.packages import Package, PackageKind, shared_attributes
from aiot.errors import Conflict, InvalidInput, NotFound
from aiot.store.catalog.tables import AttributeRow, DeviceRow, PackageRow, ProfileRow

__all__ = ["CACHE_BYTES", "PackagesMixin", "Source"]

CACHE_BYTES = 256 << 20  # package bytes kept in memory between chunks, in all
Source = Literal["device", "profile"]


class _Blobs:
    """The bytes of recently used packages, least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.size = capacity, 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.capacity:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = data
            self.size += len(data)
            while self.size > self.capacity:
                self.size -= len(self._items.popitem(last=False)[1])

    def drop(self, key: str) -> None:
        with self._lock:
            gone = self._items.pop(key, None)
            self.size -= len(gone) if gone is not None else 0


def _column(kind: PackageKind) -> str:
    return "firmware_id" if kind == "firmware" else "software_id"


def _record(row: PackageRow) -> Package:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Package(
        id=row.id,
        tenant=row.tenant_id,
        kind="firmware" if row.kind == "firmware" else "software",
        title=row.title,
        version=row.version,
        checksum_algorithm=row.checksum_algorithm,
        checksum=row.checksum,
        size=row.size,
        content_type=row.content_type,
        file_name=row.file_name,
        created_ms=int(created.timestamp() * 1000),
    )


def _described(s: Session, tenant: str, **where: str) -> list[Package]:
    """Packages of the tenant without their bytes, by kind, title and age."""
    columns = [c for c in PackageRow.__table__.columns if c.name != "data"]
    query = select(*columns).filter_by(tenant_id=tenant, **where)
    query = query.order_by(PackageRow.kind, PackageRow.title, PackageRow.created_at)
    return [_record(PackageRow(**row._mapping)) for row in s.execute(query)]


class PackagesMixin:
    """Package methods of the catalog; the catalog supplies ``_session``."""

    if TYPE_CHECKING:

        def _session(self) -> AbstractContextManager[Session]:
            raise NotImplementedError

    _blobs_made = threading.Lock()

    @property
    def _blobs(self) -> _Blobs:
        with self._blobs_made:
            found: _Blobs | None = self.__dict__.get("_package_blobs")
            if found is None:
                found = self.__dict__["_package_blobs"] = _Blobs(CACHE_BYTES)
            return found

    def create_package(self, package: Package, data: bytes) -> Package:
        """Store a package; title and version are unique per tenant and kind."""
        with self._session() as s:
            taken = s.scalar(
                select(PackageRow.id).filter_by(
                    tenant_id=package.tenant,
                    kind=package.kind,
                    title=package.title,
                    version=package.version,
                )
            )
            if taken:
                raise Conflict(f"{package.kind} {package.title} {package.version} already exists")
            created = datetime.fromtimestamp(package.created_ms / 1000, UTC)
            values: dict[str, Any] = package.public()
            values.pop("tenant"), values.pop("created_ms")
            s.add(PackageRow(**values, tenant_id=package.tenant, data=data, created_at=created))
        return package

    def _packages(self, tenant: str, **where: str) -> list[Package]:
        with self._session() as s:
            return _described(s, tenant, **where)

    def packages(self, tenant: str, kind: PackageKind | None = None) -> list[Package]:
        """The tenant's packages by kind, title and age (without their bytes)."""
        return self._packages(tenant) if kind is None else self._packages(tenant, kind=kind)

    def package(self, tenant: str, package_id: str) -> Package:
        """One package of the tenant; NotFound for any other tenant's."""
        found = self._packages(tenant, id=package_id)
        if not found:
            raise NotFound(f"no package {package_id!r}")
        return found[0]

    def package_data(self, tenant: str, package_id: str) -> bytes:
        """The bytes of a package of the tenant (kept in memory for the next chunks)."""
        key = f"{tenant}/{package_id}"
        cached = self._blobs.get(key)
        if cached is not None:
            return cached
        with self._session() as s:
            data = s.scalar(select(PackageRow.data).filter_by(tenant_id=tenant, id=package_id))
        if data is None:
            raise NotFound(f"no package {package_id!r}")
        self._blobs.put(key, bytes(data))
        return bytes(data)

    def delete_package(self, tenant: str, package_id: str) -> Package:
        """Remove a package that no device and no profile is assigned."""
        found = self.package(tenant, package_id)
        column = _column(found.kind)
        with self._session() as s:
            for table in (DeviceRow, ProfileRow):
                users = s.scalars(
                    select(table.name).filter_by(tenant_id=tenant, **{column: package_id}).limit(5)
                ).all()
                if users:
                    what = "devices" if table is DeviceRow else "profiles"
                    raise Conflict(
                        f"the package is assigned to {what}; unassign it first",
                        detail={what: list(users)},
                    )
            s.execute(delete(PackageRow).filter_by(tenant_id=tenant, id=package_id))
        self._blobs.drop(f"{tenant}/{package_id}")
        return found

    # assignments

    def _checked(self, tenant: str, kind: PackageKind, package_id: str | None) -> None:
        if package_id is not None and self.package(tenant, package_id).kind != kind:
            raise InvalidInput(f"package {package_id!r} is not {kind}")

    def assign_device(
        self, tenant: str, device_id: str, kind: PackageKind, package_id: str | None
    ) -> None:
        """Give a device its own package of ``kind`` (None: it follows its profile again)."""
        self._checked(tenant, kind, package_id)
        with self._session() as s:
            done = s.execute(
                update(DeviceRow)
                .filter_by(tenant_id=tenant, id=device_id)
                .values({_column(kind): package_id})
            )
            if not getattr(done, "rowcount", 0):
                raise NotFound(f"no device {device_id!r}")

    def assign_profile(
        self, tenant: str, profile: str, kind: PackageKind, package_id: str | None
    ) -> list[str]:
        """Give the profile (a device type) a package; the ids of its devices that follow it."""
        self._checked(tenant, kind, package_id)
        column = getattr(DeviceRow, _column(kind))
        with self._session() as s:
            done = s.execute(
                update(ProfileRow)
                .filter_by(tenant_id=tenant, name=profile)
                .values({_column(kind): package_id})
            )
            if not getattr(done, "rowcount", 0):
                raise NotFound(f"no profile {profile!r}")
            query = select(DeviceRow.id).filter_by(tenant_id=tenant, type=profile)
            return list(s.scalars(query.where(column.is_(None))))

    def assigned_package(
        self, tenant: str, device_id: str, kind: PackageKind
    ) -> tuple[Package | None, Source | None]:
        """The package a device is to run: its own, else its profile's; and where it came from."""
        column = _column(kind)
        with self._session() as s:
            device = s.scalar(select(DeviceRow).filter_by(tenant_id=tenant, id=device_id))
            if device is None:
                raise NotFound(f"no device {device_id!r}")
            own: str | None = getattr(device, column)
            profile = s.scalar(
                select(getattr(ProfileRow, column)).filter_by(tenant_id=tenant, name=device.type)
            )
        if own:
            return self.package(tenant, own), "device"
        if profile:
            return self.package(tenant, profile), "profile"
        return None, None

    def devices_following(self, tenant: str, package: Package) -> list[str]:
        """The ids of the devices whose package of its kind is ``package``, by name."""
        own = getattr(DeviceRow, _column(package.kind))
        with self._session() as s:
            types = list(
                s.scalars(
                    select(ProfileRow.name).filter_by(
                        tenant_id=tenant, **{_column(package.kind): package.id}
                    )
                )
            )
            query = select(DeviceRow.id).filter_by(tenant_id=tenant)
            query = query.where(
                or_(own == package.id, own.is_(None) & DeviceRow.type.in_(types))
            ).order_by(DeviceRow.name)
            return list(s.scalars(query))

    def _inherit_packages(self, s: Session, tenant: str, device_id: str, type: str) -> None:
        """A new device of a profile with packages is told of them, as ThingsBoard does."""
        profile = s.scalar(select(ProfileRow).filter_by(tenant_id=tenant, name=type))
        wanted = [] if profile is None else [profile.firmware_id, profile.software_id]
        for package_id in filter(None, wanted):
            found = _described(s, tenant, id=package_id)
            now = datetime.now(UTC)
            for key, value in shared_attributes(found[0]).items() if found else ():
                s.add(
                    AttributeRow(
                        tenant_id=tenant,
                        device_id=device_id,
                        scope="shared",
                        key=key,
                        value=value,
                        updated_at=now,
                    )
                )

    def delete_attributes(self, tenant: str, device_id: str, scope: str, keys: list[str]) -> int:
        """Remove attributes of one scope by key; how many there were."""
        with self._session() as s:
            done = s.execute(
                delete(AttributeRow)
                .filter_by(tenant_id=tenant, device_id=device_id, scope=scope)
                .where(AttributeRow.key.in_(keys))
            )
            return int(getattr(done, "rowcount", 0))
