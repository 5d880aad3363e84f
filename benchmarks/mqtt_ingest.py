"""QoS 1 MQTT ingest: aiot's endpoint beside a plain Mosquitto, with one load generator.

The generator never parses: every connection writes a pre-encoded block of PUBLISH packets
(QoS 1, distinct packet ids and timestamps), counts PUBACKs as 4-byte units, and keeps two
blocks in flight. Several processes share the connections, so the generator is not the
limit. Mosquitto has no subscribers (it acknowledges and drops); aiot stores every point in
its embedded DuckDB before acknowledging.

    .venv/bin/python benchmarks/mqtt_ingest.py --seconds 5 --connections 8 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from aiot.connect.mqtt import codec

BLOCK = 500  # messages per pre-encoded block; two blocks in flight per connection


def block(points: int, first_ts: int) -> bytes:
    """BLOCK PUBLISH packets of ``points`` points each, packet ids 1..BLOCK."""
    out = []
    for i in range(BLOCK):
        values = {f"k{j}": 20.0 + j + i / 100 for j in range(points)}
        body = json.dumps({"ts": first_ts + i, "values": values}).encode()
        out.append(codec.publish("v1/devices/me/telemetry", body, qos=1, packet_id=i + 1))
    return b"".join(out)


async def _connection(port: int, token: str | None, blob: bytes, seconds: float, n: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(codec.connect(f"bench-{os.getpid()}-{n}", token))
    if (await asyncio.wait_for(reader.readexactly(4), 10))[3] != 0:
        raise RuntimeError("CONNECT refused")
    acked, owed, deadline = 0, 0, time.monotonic() + seconds
    writer.write(blob + blob)
    owed += 2 * BLOCK * 4
    while time.monotonic() < deadline:
        data = await asyncio.wait_for(reader.read(65536), 10)
        if not data:
            raise RuntimeError("the server closed the connection")
        owed -= len(data)
        acked += len(data)
        if owed <= BLOCK * 4:
            writer.write(blob)
            owed += BLOCK * 4
    writer.close()
    return acked // 4


def _worker(port: int, tokens: list[str | None], points: int, seconds: float) -> int:
    async def run() -> list[int]:
        blob = block(points, 1_000_000)
        jobs = [_connection(port, token, blob, seconds, n) for n, token in enumerate(tokens)]
        return await asyncio.gather(*jobs)

    return sum(asyncio.run(run()))


def measure(port: int, tokens: list[str | None], points: int, args: argparse.Namespace) -> float:
    """Acknowledged messages per second over all connections."""
    shares = [tokens[i :: args.processes] for i in range(args.processes)]
    with multiprocessing.Pool(args.processes) as pool:
        started = time.monotonic()
        counts = pool.starmap(_worker, [(port, s, points, args.seconds) for s in shares if s])
        elapsed = time.monotonic() - started
    return sum(counts) / elapsed


def _wait_port(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def start_mosquitto(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """A plain Mosquitto on loopback, anonymous, no persistence."""
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
        "log_dest none\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL)
    _wait_port(port)
    return proc


def start_aiot(folder: Path, http: int, mqtt: int) -> tuple[subprocess.Popen[bytes], list[str]]:
    """``aiot up`` with its embedded store, and device tokens for the connections."""
    aiot = str(Path(sys.executable).with_name("aiot"))
    env = {**os.environ, "AIOT_MQTT__MESSAGES_PER_SECOND": "1e9", "AIOT_ADMIN_KEY": "bench"}
    env["AIOT_MQTT__MAX_PAYLOAD_BYTES"] = "1048576"
    args = [aiot, "up", "--http-port", str(http), "--mqtt-port", str(mqtt), "--data-dir"]
    proc = subprocess.Popen([*args, str(folder)], env=env, stdout=subprocess.DEVNULL)
    _wait_port(mqtt)
    return proc, []


def tokens_for(http: int, count: int, tag: str) -> list[str]:
    """Create ``count`` devices; return their access tokens."""
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{http}", headers={"Authorization": "Bearer bench"}
    )
    made = [api.post("/api/devices", json={"name": f"{tag}-{i}"}).json() for i in range(count)]
    return [d["access_token"] for d in made]


def main() -> None:
    """Print messages/s (1 point) and points/s (100 points) for both, and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--ports", type=int, nargs=3, default=[28080, 21883, 21884])
    args = parser.parse_args()
    http, aiot_port, mosq_port = args.ports
    with tempfile.TemporaryDirectory() as tmp:
        mosq = start_mosquitto(Path(tmp), mosq_port)
        aiot, _ = start_aiot(Path(tmp) / "aiot", http, aiot_port)
        try:
            for points in (1, 100):
                anon: list[str | None] = [None] * args.connections
                base = measure(mosq_port, anon, points, args)
                tokens: list[str | None] = list(tokens_for(http, args.connections, f"p{points}"))
                ours = measure(aiot_port, tokens, points, args)
                print(
                    f"{points:3d} point(s)/message: mosquitto {base:9.0f} msg/s "
                    f"({base * points:11.0f} points/s) | aiot {ours:9.0f} msg/s "
                    f"({ours * points:11.0f} points/s) | aiot/mosquitto {ours / base:.2f}",
                    flush=True,
                )
        finally:
            for proc in (aiot, mosq):
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)


if __name__ == "__main__":
    main()
