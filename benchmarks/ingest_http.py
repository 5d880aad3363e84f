"""Points per second over the device HTTP API, beside a bare uvicorn app and DuckDB's appends.

Starts ``aiot up`` as a real process on a free port with a fresh data folder and its default
settings, provisions devices, and sends pre-encoded ThingsBoard payloads
(``[{"ts": ..., "values": {...}}]``) over several keep-alive connections from one asyncio load
generator that only writes bytes and reads status lines. The same generator, with the same
requests and connections, then drives a bare app: FastAPI under uvicorn with the settings
``aiot up`` uses, answering 200 to ``POST /api/v1/{token}/telemetry`` once it has read the
body; that is what HTTP alone costs. Last, the very same payloads are decoded into batches
and appended straight into a fresh DuckDB store in this process. Every point has a distinct
timestamp, so nothing is deduplicated away.

    .venv/bin/python benchmarks/ingest_http.py [--requests 1000] [--points 1000] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response

import harness
from aiot.connect.payloads import decode_telemetry
from aiot.domain import Batch
from aiot.store.duckdb import DuckDBStore

KEYS = 10


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


def bare_app() -> FastAPI:
    """The device API's telemetry route doing nothing but reading the body."""
    app = FastAPI()

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/{token}/telemetry")
    async def telemetry(token: str, request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    return app


def serve_bare(port: int) -> None:
    """Serve :func:`bare_app` as ``aiot up`` serves aiot (see ``aiot.cli.server.serve``)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(bare_app(), log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def start_bare(port: int) -> subprocess.Popen[bytes]:
    """This script as a subprocess serving the bare app on ``port``."""
    proc = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(port)])
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the bare app did not start")


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


def drive(port: int, tokens: list[str], bodies: list[bytes], args: argparse.Namespace) -> float:
    """Seconds for the requests after a 20-request warm-up; says so if any was not a 200."""
    run_http(port, http_requests(tokens, payloads(20, args.points)), args.connections)
    elapsed, ok = run_http(port, http_requests(tokens, bodies), args.connections)
    if ok != len(bodies):
        print(f"warning: {len(bodies) - ok} of {len(bodies)} requests on port {port} not 200")
    return elapsed


def measure_servers(
    folder: Path, bodies: list[bytes], args: argparse.Namespace
) -> tuple[float, float, list[str]]:
    """Seconds for aiot and for the bare app, each alone on the machine, and aiot's tokens."""
    port = harness.free_port()
    server = harness.start_aiot(folder / "data", port)
    try:
        tokens = [t for _, t in harness.Admin(port, folder / "data").devices(args.devices, "bench")]
        ours = drive(port, tokens, bodies, args)
    finally:
        harness.stop(server)
    port = harness.free_port()
    server = start_bare(port)
    try:
        bare = drive(port, tokens, bodies, args)
    finally:
        harness.stop(server)
    return ours, bare, tokens


def main() -> None:
    """Print aiot's points/s beside the bare app's and DuckDB's, and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000, help="points per request")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        return serve_bare(args.serve_bare)
    bodies = payloads(args.requests, args.points)
    total = args.requests * (args.points // KEYS) * KEYS
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        elapsed, bare, tokens = measure_servers(folder, bodies, args)
        one = run_duckdb(bodies, tokens, folder / "one.duckdb", 1)
        grouped = run_duckdb(bodies, tokens, folder / "grouped.duckdb", 50)
    http_rate, bare_rate = total / elapsed, total / bare
    duck_rate, group_rate = total / one, total / grouped
    print(
        f"payload: {args.requests} requests x {args.points} points, "
        f"{args.connections} connections, {args.devices} devices"
    )
    print(f"http_points_per_s {http_rate:,.0f}  (aiot up, default settings)")
    print(f"http_requests_per_s {args.requests / elapsed:,.0f}")
    print(
        f"bare_uvicorn_points_per_s {bare_rate:,.0f}  (same requests; reads the body, answers 200)"
    )
    print(f"duckdb_append_points_per_s {duck_rate:,.0f}  (one transaction per request's batch)")
    print(f"duckdb_grouped_points_per_s {group_rate:,.0f}  (50 requests' batches per transaction)")
    print(f"ratio_http_to_bare {http_rate / bare_rate:.2f}")
    print(f"ratio_http_to_duckdb {http_rate / duck_rate:.2f}")
    print(f"ratio_http_to_duckdb_grouped {http_rate / group_rate:.2f}")


if __name__ == "__main__":
    main()
