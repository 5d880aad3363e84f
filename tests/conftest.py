"""Shared fixtures: settings, platforms and API clients built from dicts, real servers on demand."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.app import Platform
from aiot.settings import Settings

ADMIN_KEY = "test-admin-key"
SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a throwaway installation under ``tmp_path``."""

    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "admin_key": ADMIN_KEY,
            "mqtt": {"port": 0},  # no MQTT endpoint unless a test asks for one on a free port
        }
        return Settings.model_validate({**base, **overrides})

    return make


@pytest.fixture
def platform_factory(
    settings_factory: Callable[..., Settings],
) -> Iterator[Callable[..., Platform]]:
    """Platforms over the embedded defaults, closed after the test."""
    built: list[Platform] = []

    def make(**overrides: Any) -> Platform:
        built.append(Platform.build(settings_factory(**overrides)))
        return built[-1]

    yield make
    for platform in built:
        platform.close()


@pytest.fixture
def api_client(platform_factory: Callable[..., Platform]) -> Iterator[TestClient]:
    """A client of the full app, authenticated with the admin key."""
    app = create_app(platform_factory())
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        yield client


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_binary(name: str) -> str:
    """The path of a server binary; fail in CI (AIOT_REQUIRE_SERVICES=1), else skip."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package; .ci/run installs it)"
        if os.environ.get("AIOT_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def shared_data(name: str) -> Path:
    """A public data set beside the checkout; fail in CI (AIOT_REQUIRE_SERVICES=1), else skip."""
    path = (SHARED_DATA / name).resolve()
    if not path.exists():
        message = f"{path} not found (public benchmark data, kept beside the checkout)"
        if os.environ.get("AIOT_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
