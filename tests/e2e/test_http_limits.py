"""``aiot up`` under slow and odd HTTP clients: nobody can hold its connections or drop them."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import AiotProcess
from tests.e2e.trickle import Trickle

pytestmark = pytest.mark.slow

DEADLINE = 4.0  # seconds, AIOT_HTTP_HEADER_TIMEOUT_SECONDS in these tests


def slowloris(port: int, count: int, silent: int = 0) -> Trickle:
    """Connections that start a request and then send one header line every half second."""
    request = b"GET /api/health HTTP/1.1\r\nHost: aiot\r\n"
    return Trickle(port, count, first=request, then=b"X-Slow: 1\r\n", every=0.5, silent=silent)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[AiotProcess]:
    """``aiot up`` with a short header deadline."""
    proc = AiotProcess(
        tmp_path / "aiot-data", env={"AIOT_HTTP_HEADER_TIMEOUT_SECONDS": str(DEADLINE)}
    )
    proc.start()
    yield proc
    proc.stop()


def _wait_closed(attack: Trickle, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while attack.open() and time.monotonic() < deadline:
        time.sleep(0.2)
    return attack.open()


def test_slow_header_connections_are_closed_while_others_are_served(
    limited: AiotProcess,
) -> None:
    with limited.admin() as api:
        device = api.post("/api/devices", json={"name": "pump"}).json()
    attack = slowloris(limited.port, count=240, silent=10)
    try:
        began = time.monotonic()
        with limited.admin() as api:
            assert api.get("/api/devices").status_code == 200
        url = f"{limited.url}/api/v1/{device['access_token']}/telemetry"
        assert httpx.post(url, json={"temp": 21.5}).status_code == 200
        if time.monotonic() - began < DEADLINE - 1:  # a loaded machine may be slower than this
            assert attack.open() >= 200
        assert _wait_closed(attack, DEADLINE + 6) == 0
        assert time.monotonic() - began >= DEADLINE - 0.5  # not before the deadline
    finally:
        attack.close()
    assert limited.alive()
    closed_lines = [line for line in limited.stop().splitlines() if "closed" in line]
    assert 1 <= len(closed_lines) <= 5, closed_lines[:10]  # logged at a bounded rate


def test_a_flood_of_waiting_connections_evicts_the_oldest(tmp_path: Path) -> None:
    env = {"AIOT_HTTP_MAX_PENDING_CONNECTIONS": "50", "AIOT_HTTP_HEADER_TIMEOUT_SECONDS": "60"}
    proc = AiotProcess(tmp_path / "aiot-data", env=env)
    proc.start()
    attack = slowloris(proc.port, count=200)
    try:
        with proc.admin() as api:
            assert api.get("/api/devices").status_code == 200
        time.sleep(0.5)
        assert attack.open() <= 50
    finally:
        attack.close()
        output = proc.stop()
    assert 1 <= sum("too many connections waiting" in line for line in output.splitlines()) <= 5


def test_an_error_keeps_the_connection_alive(server: AiotProcess) -> None:
    key = (server.data_dir / "admin.key").read_text().strip()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", "/api/devices", body=b'{"name": "pump"}', headers=_auth(key))
        assert conn.getresponse().read() and conn.sock is not None
        first = conn.sock
        for path, auth in [
            ("/api/devices/pump/telemetry?start=%C2%B2", _auth(key)),
            ("/api/devices", {"Authorization": b"Bearer caf\xc3\xa9"}),
            ("/api/health", {}),
        ]:
            conn.request("GET", path, headers=auth)  # type: ignore[arg-type]
            answer = conn.getresponse()
            answer.read()
            assert answer.status < 500, (path, answer.status)
            assert conn.sock is first, f"the connection was closed after {path}"
    finally:
        conn.close()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def test_kept_alive_answers_with_a_body_do_not_wait_for_delayed_acks(server: AiotProcess) -> None:
    # Without TCP_NODELAY each answer sent as headers then body waits for the client's delayed
    # ACK: about 40 ms an answer on Linux, whatever the server's speed.
    made = server.cli("devices", "add", "quick", "--json")
    assert made.returncode == 0, made.stderr
    with server.admin() as api:
        for _ in range(3):  # warm up: imports, the first query
            api.get("/api/devices/quick")
        times = []
        for _ in range(25):
            started = time.perf_counter()
            assert api.get("/api/devices/quick").status_code == 200
            times.append(time.perf_counter() - started)
    times.sort()
    assert times[len(times) // 2] < 0.03, f"median answer {times[len(times) // 2] * 1e3:.1f} ms"


def test_a_device_waiting_for_commands_does_not_hold_a_stop(server: AiotProcess) -> None:
    made = server.cli("devices", "add", "poller", "--json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["access_token"]

    def wait_for_a_command() -> None:  # for a minute, as ThingsBoard's HTTP client may
        with contextlib.suppress(httpx.HTTPError):  # cut when aiot stops: what it should do
            httpx.get(f"{server.url}/api/v1/{token}/rpc", params={"timeout": 60_000}, timeout=70)

    poll = threading.Thread(target=wait_for_a_command, daemon=True)
    poll.start()
    time.sleep(1.0)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 15, "aiot up waited for the long-poll to end"
