"""The composition root: the admin key and the default tenant on first start."""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aiot.app import Platform
from aiot.errors import Unauthorized
from aiot.settings import Settings


def test_first_start_creates_admin_key_file(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(admin_key=None)
    first = Platform.build(settings)
    assert first.admin_key.created
    path = settings.data_dir / "admin.key"
    assert path.read_text().strip() == first.admin_key.secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first.close()
    second = Platform.build(settings)
    assert not second.admin_key.created and second.admin_key.secret == first.admin_key.secret
    assert second.principal(first.admin_key.secret).tenant == "default"
    second.close()


def test_env_admin_key_wins(platform_factory: Callable[..., Platform]) -> None:
    platform = platform_factory(admin_key="from-env")
    assert platform.principal("from-env").platform_admin
    assert not (platform.settings.data_dir / "admin.key").exists()
    with pytest.raises(Unauthorized):
        platform.principal("other")


def test_settings_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOT_HTTP_PORT", "9999")
    monkeypatch.setenv("AIOT_INGEST__MAX_PAYLOAD_BYTES", "123")
    settings = Settings()
    assert settings.http_port == 9999 and settings.ingest.max_payload_bytes == 123


def test_a_device_is_online_stale_or_offline_by_when_it_was_last_heard(
    platform_factory: Callable[..., Platform],
) -> None:
    platform = platform_factory()
    device = platform.catalog.create_device("default", "pump-1")
    assert platform.device_status(device) == "offline"  # never heard from
    now = datetime.now(UTC)
    for silent, status in [(5, "online"), (600, "stale"), (7200, "offline")]:
        heard = replace(device, last_seen=now - timedelta(seconds=silent))
        assert platform.device_status(heard, now) == status, silent
