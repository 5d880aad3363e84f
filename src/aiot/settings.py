"""The one typed configuration of aiot, read from ``AIOT_*`` environment variables.

Only :mod:`aiot.app` and the CLI entry point build a :class:`Settings`; each stage receives
its own section as an argument. Nested sections use ``__``: ``AIOT_INGEST__MAX_PAYLOAD_BYTES``.
Tests build settings from a dict: ``Settings.model_validate({...})``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ClientSettings", "IngestSettings", "MqttSettings", "Settings", "StoreSettings"]


class StoreSettings(BaseModel):
    """Where telemetry and the catalog live."""

    backend: Literal["duckdb", "memory"] = "duckdb"
    catalog_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite under the data folder"
    )


class IngestSettings(BaseModel):
    """Limits and batching of the ingestion pipeline."""

    max_payload_bytes: int = Field(default=1_048_576, gt=0)
    max_points_per_message: int = Field(default=100_000, gt=0)
    max_group_points: int = Field(default=200_000, gt=0, description="points per log append")
    max_apply_points: int = Field(
        default=500_000, gt=0, description="points per store transaction when applying the log"
    )
    max_log_lag_points: int = Field(
        default=5_000_000, gt=0, description="acknowledged points the store may trail by"
    )
    apply_interval_seconds: float = Field(
        default=0.1, ge=0, description="the store takes the log at most this often, in bulk"
    )
    query_wait_seconds: float = Field(
        default=1.0, ge=0, description="a query waits this long for the store to catch up"
    )
    log_segment_bytes: int = Field(default=64 << 20, gt=0, description="ingest log segment size")
    rejection_log_size: int = Field(default=10_000, gt=0, description="kept per tenant")


class MqttSettings(BaseModel):
    """aiot's MQTT endpoint for devices; ``port = 0`` disables it."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=0, le=65535)
    max_payload_bytes: int = Field(default=65_536, gt=0, description="per PUBLISH, per device")
    messages_per_second: float | None = Field(
        default=None, gt=0, description="per device, bursts of 1 s; above it reads are paused"
    )
    max_sessions_per_device: int = Field(
        default=1,
        ge=1,
        le=100,
        description="connections one device may hold at once; one more drops its oldest"
        " (ThingsBoard's default is one too)",
    )
    receive_maximum: int = Field(
        default=1000, ge=1, le=65535, description="QoS 1 messages a device may have unacked (v5)"
    )
    keepalive_grace: float = Field(default=1.5, ge=1.0, description="times the keep-alive")
    connect_timeout_seconds: float = Field(
        default=10.0, gt=0, description="from accept to CONNACK; bytes received do not extend it"
    )
    max_pending_connections: int = Field(
        default=1024, gt=0, description="waiting for their CONNACK; one more closes the oldest"
    )
    tls_cert: Path | None = Field(default=None, description="PEM certificate: serve MQTT over TLS")
    tls_key: Path | None = None
    tls_client_ca: Path | None = Field(
        default=None,
        description="PEM CA bundle that signs device certificates (X.509 credentials); devices"
        " given a self-signed certificate are trusted without it",
    )


class Settings(BaseSettings):
    """Everything ``aiot up`` needs; every field has an embedded default."""

    model_config = SettingsConfigDict(env_prefix="AIOT_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path("aiot-data")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="to send a request's headers, from accept or last answer"
    )
    http_max_pending_connections: int = Field(
        default=512, gt=0, description="waiting for request headers; one more evicts the oldest"
    )
    admin_key: SecretStr | None = None
    secret_key: SecretStr | None = Field(
        default=None, description="Fernet key sealing catalog secrets; default: data_dir/secret.key"
    )
    default_tenant: str = "default"
    max_package_bytes: int = Field(
        default=64 << 20, gt=0, description="a firmware or software package uploaded (413 above)"
    )
    store: StoreSettings = StoreSettings()
    ingest: IngestSettings = IngestSettings()
    mqtt: MqttSettings = MqttSettings()


class ClientSettings(BaseSettings):
    """How the CLI reaches a running aiot: ``AIOT_URL`` and ``AIOT_API_KEY``."""

    model_config = SettingsConfigDict(env_prefix="AIOT_", extra="ignore")

    url: str = "http://127.0.0.1:8080"
    api_key: SecretStr | None = None
    data_dir: Path = Path("aiot-data")
