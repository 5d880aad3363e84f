"""What the benchmarks start and ask: free ports, Mosquitto, ``aiot up``, its REST API, the disk.

Every server runs as its own process on loopback, on a port the kernel picked, with a fresh
folder; nothing here reads aiot's code, only its command line and REST API, so a benchmark
measures what a user runs.
"""

from __future__ import annotations

import getpass
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "ADMIN_KEY",
    "Admin",
    "fdatasync_ms",
    "free_port",
    "start_aiot",
    "start_mosquitto",
    "stop",
    "wait_port",
]

ADMIN_KEY = "bench-admin"
AIOT = str(Path(sys.executable).with_name("aiot"))


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    """Return once something accepts on ``port``; exit if ``proc`` died first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args!r} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"nothing listens on {port} after {seconds:g} s")


def start_mosquitto(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """A plain Mosquitto on loopback: anonymous, no persistence, no logging."""
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"user {getpass.getuser()}\nlog_dest none\n"
    )
    quiet = subprocess.DEVNULL  # also its warning about running as root
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=quiet, stderr=quiet)
    wait_port(port, proc)
    return proc


def start_aiot(data_dir: Path, http: int, mqtt: int = 0) -> subprocess.Popen[bytes]:
    """``aiot up`` with its default settings: only the ports, data folder and admin key set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOT_")}
    env["AIOT_ADMIN_KEY"] = ADMIN_KEY
    args = [AIOT, "up", "--http-port", str(http), "--mqtt-port", str(mqtt)]
    proc = subprocess.Popen(
        [*args, "--data-dir", str(data_dir)], env=env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not _healthy(http):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("aiot up did not start")
        time.sleep(0.1)
    if mqtt:
        wait_port(mqtt, proc)
    return proc


def _healthy(http: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{http}/api/health").status_code == 200
    except httpx.HTTPError:
        return False


def stop(*procs: subprocess.Popen[bytes]) -> None:
    """SIGTERM each process and wait for it; kill one that does not stop within 30 s."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Admin:
    """aiot's REST API with the admin key: devices, ingest counters, stored-point counts."""

    def __init__(self, http: int, data_dir: Path) -> None:
        self.data_dir = data_dir
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        # A fresh connection per request: aiot's listening socket is made with proto 0, so
        # asyncio leaves TCP_NODELAY off, and on a kept-alive connection each answer written
        # as headers then body waits ~40 ms for the client's delayed ACK.
        fresh = httpx.Limits(max_keepalive_connections=0)
        self.api = httpx.Client(
            base_url=f"http://127.0.0.1:{http}", headers=headers, timeout=60, limits=fresh
        )

    def devices(self, count: int, tag: str) -> list[tuple[str, str]]:
        """Create ``count`` devices; return ``(id, access_token)`` for each."""
        made = []
        for i in range(count):
            reply = self.api.post("/api/devices", json={"name": f"{tag}-{i}"})
            reply.raise_for_status()
            made.append((reply.json()["id"], reply.json()["access_token"]))
        return made

    def stats(self) -> dict[str, Any]:
        """``GET /api/ingest/stats``: accepted points, refused messages by reason."""
        found: dict[str, Any] = self.api.get("/api/ingest/stats").raise_for_status().json()
        return found

    def points(self, device: str, start: int, end: int) -> int:
        """Points the device has stored in ``[start, end)``, every key, counted by aiot."""
        query: dict[str, str | int] = {"start": start, "end": end, "interval": "1w", "agg": "count"}
        reply = self.api.get(f"/api/devices/{device}/telemetry", params=query)
        series = reply.raise_for_status().json()
        return int(sum(p["value"] for points in series.values() for p in points))

    def stored(self, devices: list[str], start: int, end: int, want: int, wait: float) -> int:
        """Points stored over ``devices``; polls up to ``wait`` s until ``want`` are visible."""
        deadline = time.monotonic() + wait
        while True:
            found = sum(self.points(d, start, end) for d in devices)
            if found >= want or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def fdatasync_ms(folder: Path, count: int = 200) -> tuple[float, float]:
    """p50 and p99 milliseconds of ``fdatasync`` after a 4 KiB append, in ``folder``."""
    path, block, took = folder / "fdatasync.probe", os.urandom(4096), []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(count):
            os.write(fd, block)
            start = time.perf_counter()
            os.fdatasync(fd)
            took.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    cuts = statistics.quantiles(took, n=100)
    return statistics.median(took), cuts[98]
