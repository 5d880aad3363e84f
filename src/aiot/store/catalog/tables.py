"""The catalog's tables (SQLAlchemy 2). Every table but ``tenants`` carries ``tenant_id``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ACTIVE_WHERE",
    "AlarmRow",
    "ApiKeyRow",
    "AttributeRow",
    "Base",
    "BridgeRow",
    "DeploymentRow",
    "DeviceRow",
    "PackageRow",
    "ProfileRow",
    "RejectionRow",
    "SecretKeyRow",
    "TenantRow",
    "UserRow",
]


class Base(DeclarativeBase):
    """Metadata root of the catalog (Alembic migrates it)."""


class TenantRow(Base):
    """A tenant."""

    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class DeviceRow(Base):
    """A device; its name is unique within its tenant, its token unique everywhere.

    The token is kept sealed (``token_secret``, for operators who may read it) and found by
    its keyed hash (``token_hash``); never in plain text.
    """

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    gateway: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    gateway_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    # a pending claim: {"secret_hash": keyed hash of the secret, "expires_ms": epoch ms}
    claim: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    firmware_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    software_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # X.509 credentials: the certificate (public) and its SHA-256, by which the device is found
    cert_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    cert_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    # MQTT basic credentials: "<client id>\n<user name>" (either may be empty), password sealed
    mqtt_basic_id: Mapped[str | None] = mapped_column(String(402), nullable=True, unique=True)
    mqtt_password_secret: Mapped[str | None] = mapped_column(Text, nullable=True)


class ApiKeyRow(Base):
    """A user API key; only a keyed hash of the secret is kept (``SecretBox.key_hash``)."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserRow(Base):
    """A dashboard user; the password is kept as an Argon2id hash (``store/catalog/users.py``).

    Names are unique per tenant, so that signing in names the tenant too (``tenant/name``) or
    the default tenant.
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AttributeRow(Base):
    """A device attribute (client, shared or server scope), ThingsBoard's three scopes."""

    __tablename__ = "attributes"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RejectionRow(Base):
    """A refused device message: when, from where, and why."""

    __tablename__ = "rejections"
    __table_args__ = (Index("ix_rejections_tenant_id_id", "tenant_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    transport: Mapped[str] = mapped_column(String(20))
    device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reason: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str] = mapped_column(Text)


class BridgeRow(Base):
    """A subscription to an external MQTT broker; its name is unique within its tenant."""

    __tablename__ = "bridges"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    topics: Mapped[list[str]] = mapped_column(JSON)
    username: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password_secret: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed
    create_devices: Mapped[bool] = mapped_column(Boolean)
    device_type: Mapped[str] = mapped_column(String(100))
    ca_file: Mapped[str | None] = mapped_column(String(500), nullable=True)  # older versions
    ca_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SecretKeyRow(Base):
    """The fingerprint of the secret key that sealed this catalog's secrets."""

    __tablename__ = "secret_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1: one key at a time
    fingerprint: Mapped[str] = mapped_column(String(64))


class DeploymentRow(Base):
    """A detector bound to series; its name is unique within its tenant (``score/<name>``)."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    detector: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    keys: Mapped[list[str]] = mapped_column(JSON)
    selector: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    multivariate: Mapped[bool] = mapped_column(Boolean)
    paused: Mapped[bool] = mapped_column(Boolean)
    created_ms: Mapped[int] = mapped_column(BigInteger)


# The SQL condition of an open alarm; a partial unique index keeps one open per (type, device).
ACTIVE_WHERE = "status IN ('ACTIVE_UNACK', 'ACTIVE_ACK')"


class AlarmRow(Base):
    """An alarm; ``deployment_id`` and ``device_id`` outlive what they name (alarms are history)."""

    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_tenant_id_status", "tenant_id", "status"),
        Index("ix_alarms_tenant_id_device_id", "tenant_id", "device_id"),
        Index("ix_alarms_tenant_id_start_ms", "tenant_id", "start_ms"),
        Index(
            "uq_alarms_active",
            "tenant_id",
            "type",
            "device_id",
            unique=True,
            sqlite_where=text(ACTIVE_WHERE),
            postgresql_where=text(ACTIVE_WHERE),
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[str] = mapped_column(String(200))
    device_id: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    deployment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    comments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    verdict: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The verdict's true_alarm again, so that precision is counted in SQL on any backend.
    confirmed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ProfileRow(Base):
    """A device profile, named after the device type it describes; provisioning is set here."""

    __tablename__ = "profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    provision: Mapped[str] = mapped_column(
        String(30)
    )  # disabled, allow_create, check_pre_provisioned
    provision_key: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    provision_secret: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed
    firmware_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    software_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PackageRow(Base):
    """A firmware or software package; its bytes are kept here, in the catalog."""

    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "title", "version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # firmware or software
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    checksum_algorithm: Mapped[str] = mapped_column(String(20))
    checksum: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(300))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
