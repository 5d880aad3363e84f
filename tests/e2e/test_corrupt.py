"""``aiot up`` over a store it cannot trust or a folder it cannot write: one line, exit code 4.

The store written by a real ``aiot up`` gets a corrupt block in the middle of its points
(after the checkpoint at stop), as a failing disk would leave it; DuckDB checks a block only
when it reads it, so without the start check it would open, acknowledge writes and fail reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aiot.cli.server import EXIT_STORE
from tests.conftest import free_port
from tests.e2e.server import AIOT, AiotProcess
from tests.store.test_health import corrupt_a_points_block

pytestmark = [pytest.mark.services, pytest.mark.slow]

NOBODY = 65534


def _up(data_dir: Path, user: int | None = None) -> subprocess.CompletedProcess[str]:
    """``aiot up`` that is expected to stop at once (as ``user`` when given, from root)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOT_")}
    env["AIOT_MQTT__PORT"] = str(free_port())
    args = [AIOT, "up", "--http-port", str(free_port()), "--data-dir", str(data_dir)]
    if user is not None:
        args = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *args]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, cwd="/")


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


def _fill(server: AiotProcess, devices: int = 40, points: int = 5_000) -> None:
    with server.admin() as admin:
        for d in range(devices):
            token = admin.post("/api/devices", json={"name": f"dev{d}"}).json()["access_token"]
            rows = [{"ts": 1000 * i, "values": {"v": i * 0.5}} for i in range(points)]
            url = f"{server.url}/api/v1/{token}/telemetry"
            assert httpx.post(url, json=rows, timeout=30).status_code == 200


def test_a_corrupt_block_stops_the_start_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "aiot-data"
    server = AiotProcess(data)
    server.start()
    _fill(server)
    server.stop()  # checkpoints the store and closes it
    corrupt_a_points_block(data / "telemetry.duckdb")

    done = _up(data)
    assert done.returncode == EXIT_STORE == 4
    line = _one_line(done)
    assert line.startswith("error: the telemetry store at ")
    assert "is damaged: Corrupt database file" in line and line.endswith("[store_damaged]")


@pytest.fixture
def read_only_folder() -> Iterator[tuple[Path, int | None]]:
    """An empty data folder its user cannot write (owned by nobody when the tests run as root)."""
    parent = Path(tempfile.mkdtemp(prefix="aiot-ro-"))
    parent.chmod(0o755)
    folder = parent / "aiot-data"
    folder.mkdir()
    user = None
    if os.geteuid() == 0:  # root writes anywhere: run aiot as nobody, owner of a 0555 folder
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: a read-only folder cannot be made")
        os.chown(folder, NOBODY, NOBODY)
        user = NOBODY
    folder.chmod(0o555)
    yield folder, user
    folder.chmod(0o755)
    shutil.rmtree(parent)


def test_a_read_only_data_folder_stops_the_start_in_one_line(
    read_only_folder: tuple[Path, int | None],
) -> None:
    folder, user = read_only_folder
    done = _up(folder, user)
    assert done.returncode == EXIT_STORE
    line = _one_line(done)
    assert line.startswith("error: ")
    assert str(folder) in line
    assert "cannot be written (permission denied)" in line
