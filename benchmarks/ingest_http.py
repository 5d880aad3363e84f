"""Points per second over the device HTTP API, beside DuckDB's own append rate.

Starts ``aiot up`` as a real process on a free port with a fresh data folder, provisions
devices, and sends pre-encoded ThingsBoard payloads (``[{"ts": ..., "values": {...}}]``)
over several keep-alive connections from one asyncio load generator that only writes bytes
and reads status lines. Then it decodes the very same payloads into batches and appends
them straight into a fresh DuckDB store in this process: the reference. Every point has a
distinct timestamp, so nothing is deduplicated away.

    .venv/bin/python benchmarks/ingest_http.py [--requests 1000] [--points 1000] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from aiot.connect.payloads import decode_telemetry
from aiot.domain import Batch
from aiot.store.duckdb import DuckDBStore

KEYS = 10
AIOT = str(Path(sys.executable).with_name("aiot"))


def payloads(requests: int, points: int) -> list[bytes]:
    """One distinct JSON body per request, ``points`` points each (KEYS keys per row)."""
    rows = points // KEYS
    bodies = []
    for r in range(requests):
        base = 1_700_000_000_000 + r * rows * 1000
        doc = [
            {"ts": base + i * 1000, "values": {f"k{k}": (r + i + k) % 97 / 7 for k in range(KEYS)}}
            for i in range(rows)
        ]
        bodies.append(json.dumps(doc).encode())
    return bodies


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AIOT_ADMIN_KEY": "bench-admin"}
    args = [AIOT, "up", "--http-port", str(port), "--data-dir", str(data_dir)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("aiot up did not start")


async def _connection(port: int, requests: list[bytes]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ok = 0
    for request in requests:
        writer.write(request)
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        ok += status.split(b" ")[1] == b"200"
    writer.close()
    return ok


def http_requests(tokens: list[str], bodies: list[bytes]) -> list[bytes]:
    built = []
    for i, body in enumerate(bodies):
        head = (
            f"POST /api/v1/{tokens[i % len(tokens)]}/telemetry HTTP/1.1\r\nHost: bench\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        built.append(head.encode() + body)
    return built


def run_http(port: int, requests: list[bytes], connections: int) -> tuple[float, int]:
    shares = [requests[i::connections] for i in range(connections)]

    async def drive() -> int:
        done = await asyncio.gather(*(_connection(port, share) for share in shares))
        return sum(done)

    start = time.perf_counter()
    ok = asyncio.run(drive())
    return time.perf_counter() - start, ok


def run_duckdb(bodies: list[bytes], tokens: list[str], path: Path, group: int) -> float:
    """Seconds to append the decoded payloads, ``group`` payloads per transaction."""
    batches = [
        decode_telemetry(body, "default", tokens[i % len(tokens)], 0, 10**9)
        for i, body in enumerate(bodies)
    ]
    grouped = [
        Batch.concat("default", batches[i : i + group]) for i in range(0, len(batches), group)
    ]
    store = DuckDBStore(path)
    start = time.perf_counter()
    for batch in grouped:
        store.write(batch)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000, help="points per request")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--devices", type=int, default=10)
    args = parser.parse_args()
    bodies = payloads(args.requests, args.points)
    total = args.requests * (args.points // KEYS) * KEYS
    with tempfile.TemporaryDirectory() as tmp:
        folder, port = Path(tmp), free_port()
        server = start_server(folder / "data", port)
        try:
            api = httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": "Bearer bench-admin"}
            )
            tokens = [
                api.post("/api/devices", json={"name": f"bench-{d}"}).json()["access_token"]
                for d in range(args.devices)
            ]
            warm = http_requests(tokens, payloads(20, args.points))
            run_http(port, warm, args.connections)
            elapsed, ok = run_http(port, http_requests(tokens, bodies), args.connections)
        finally:
            server.terminate()
            server.wait()
        one = run_duckdb(bodies, tokens, folder / "one.duckdb", 1)
        grouped = run_duckdb(bodies, tokens, folder / "grouped.duckdb", 50)
    http_rate, duck_rate, group_rate = total / elapsed, total / one, total / grouped
    print(
        f"payload: {args.requests} requests x {args.points} points, "
        f"{args.connections} connections, {args.devices} devices; {ok} answered 200"
    )
    print(f"http_points_per_s {http_rate:,.0f}")
    print(f"http_requests_per_s {args.requests / elapsed:,.0f}")
    print(f"duckdb_append_points_per_s {duck_rate:,.0f}  (one transaction per request's batch)")
    print(f"duckdb_grouped_points_per_s {group_rate:,.0f}  (50 requests' batches per transaction)")
    print(f"ratio_http_to_duckdb {http_rate / duck_rate:.2f}")
    print(f"ratio_http_to_duckdb_grouped {http_rate / group_rate:.2f}")


if __name__ == "__main__":
    main()
