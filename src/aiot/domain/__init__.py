"""Plain typed records shared by every stage; this package imports nothing of aiot."""

from __future__ import annotations

from aiot.domain.alarms import Alarm, AlarmStatus, Deployment, Selector, Severity, Verdict
from aiot.domain.bridges import Bridge
from aiot.domain.catalog import ApiKey, Device, Principal, Role, Tenant, User
from aiot.domain.commands import Command, DeviceChannel
from aiot.domain.profiles import PROVISION_STRATEGIES, Profile, ProvisionStrategy
from aiot.domain.telemetry import BATCH_SCHEMA, Aggregation, Batch, Kind, SeriesKey, now_ms

__all__ = [
    "BATCH_SCHEMA",
    "PROVISION_STRATEGIES",
    "Aggregation",
    "Alarm",
    "AlarmStatus",
    "ApiKey",
    "Batch",
    "Bridge",
    "Command",
    "Deployment",
    "Device",
    "DeviceChannel",
    "Kind",
    "Principal",
    "Profile",
    "ProvisionStrategy",
    "Role",
    "Selector",
    "SeriesKey",
    "Severity",
    "Tenant",
    "User",
    "Verdict",
    "now_ms",
]
