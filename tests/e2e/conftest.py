"""Fixtures of the end-to-end tests: ``aiot up`` as a real process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.mosquitto import Mosquitto
from tests.e2e.server import AiotProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AiotProcess]:
    """``aiot up`` on free ports over a fresh data folder, stopped after the test."""
    proc = AiotProcess(tmp_path / "aiot-data")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A plant's Mosquitto on a free port, stopped after the test."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()
