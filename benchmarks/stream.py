"""The cost of the AI: points/s through ingest → store → deployments → alarms, and point → alarm.

Starts ``aiot up`` as a real process at its default settings (``harness.start_aiot``),
creates devices of type ``bench`` (10 keys each) and sends ThingsBoard payloads
(``[{"ts": ..., "values": {...}}]``, 100 rows of 10 keys a request, every point its own
timestamp) from one asyncio load generator over 8 keep-alive connections; each device's
requests go in order on the connection that owns it, so no point arrives late. In one run:

1. Ingestion alone: a fresh server, no deployments. The load runs for ``--seconds``; the rate
   is points / (time until every point is acknowledged and queryable).
2. The same load on another fresh server with three deployments on those devices: ``zscore``
   per series (1,000 series at 100 devices), ``pca`` per device over the 10 keys
   (``{"warmup": 200}``), and a cheap "value rule" (``zscore`` on one key, fixed threshold),
   each with a fixed-threshold alarm policy. The generator waits while the stream stage trails
   by more than ``BACKLOG`` points, so the rate is one the stage sustains: points / (time until
   every point is acknowledged and scored by all three, read from ``GET /api/deployments/{ref}``
   → ``stats``). Both runs start after an untimed warm-up of 300 rows a device (the PCA models
   are fitted at 200), so they measure steady state.
3. Point → alarm, on the server of 2: a background process sends the same load at half the
   rate 2 sustained while spikes (one point far above normal) go, one at a time, to a few
   devices of type ``spike`` under a dedicated deployment (``zscore``, policy
   ``{"threshold": 20, "hits": 1, "window": 1, "clear_after": 1}``). The latency is the time
   the alarm is first seen minus the time the spike's ``POST`` returned 200: for every other
   spike by polling ``GET /api/alarms`` (every ``POLL_S``, start to start, a fresh connection
   each), for the rest as the ``raise`` message on a WebSocket (``/api/ws``, subscribed to the
   spike devices) with no polling going on.

    .venv/bin/python benchmarks/stream.py [--quick] [--seconds 20] [--devices 100] [--spikes 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets

import harness

KEYS = 10
ROWS = 100  # rows a request: 1,000 points
POINTS = ROWS * KEYS
CONNECTIONS = 8
BASE_TS = 1_700_000_000_000
END_TS = BASE_TS + 10**11  # past any row the load sends
WARMUP_REQUESTS = 3  # a device: 300 rows, past the PCA's warm-up of 200
BACKLOG = 50_000  # points the stream stage may trail by before the generator waits
# The alarm poll, start to start. Not 5 ms: on 2 cores a poll's round trip is ~9 ms, and
# polls that close together took enough of the server's GIL for the stream stage to fall
# behind at half its sustained rate.
POLL_S = 0.010
SEEN_S = 5.0  # a spike whose alarm is not seen by then is missed
SPIKE = "bench-spike"
SPIKE_POLICY = {"threshold": 20.0, "hits": 1, "window": 1, "clear_after": 1}
AIM_RATIO, AIM_P99_MS = 0.67, 50.0
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)  # see harness.Admin

Gate = Callable[[], Awaitable[None]]


def deployments() -> list[dict[str, Any]]:
    """The three deployments of the throughput run, as ``POST /api/deployments`` bodies."""
    keys, bench = [f"k{k}" for k in range(KEYS)], {"type": "bench"}
    sustained = {"threshold": 25.0, "hits": 3, "window": 5}
    return [
        {"name": "bench-zscore", "detector": "zscore", "keys": keys, "selector": bench}
        | {"policy": {"threshold": 8.0, "hits": 3, "window": 5}},
        {"name": "bench-pca", "detector": "pca", "keys": keys, "selector": bench}
        | {"params": {"warmup": 200}, "policy": sustained, "multivariate": True},
        {"name": "bench-rule", "detector": "zscore", "keys": ["k0"], "selector": bench}
        | {"policy": {"threshold": 8.0, "hits": 1, "window": 1}},
    ]


def value_rows(count: int = 4096, seed: int = 7) -> list[bytes]:
    """Encoded ``values`` objects: 10 keys moved by one common factor, plus noise."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=(count, 1)) * np.linspace(1.0, 4.0, KEYS)
    values = 10.0 * np.arange(1, KEYS + 1) + factor + rng.normal(size=(count, KEYS))
    return [
        json.dumps({f"k{k}": round(float(v), 3) for k, v in enumerate(row)}).encode()
        for row in values
    ]


async def _open() -> None:
    return None


async def _answer(reader: asyncio.StreamReader) -> bool:
    """Read one HTTP answer; whether it was a 200."""
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status.split(b" ")[1] == b"200"


@dataclass
class Load:
    """The load generator: 100 rows a request, each device's rows in order on one connection."""

    port: int
    tokens: list[str]
    next_row: list[int] = field(default_factory=list)
    acked: int = 0
    refused: int = 0
    rows: list[bytes] = field(default_factory=value_rows)

    def __post_init__(self) -> None:
        self.next_row = list(self.next_row) or [0] * len(self.tokens)

    def request(self, device: int) -> bytes:
        """The device's next 100 rows as one HTTP request."""
        start, pool = self.next_row[device], self.rows
        self.next_row[device] += ROWS
        rows = (
            b'{"ts":%d,"values":%s}' % (BASE_TS + r * 1000, pool[r % len(pool)])
            for r in range(start, start + ROWS)
        )
        body = b"[" + b",".join(rows) + b"]"
        head = (
            f"POST /api/v1/{self.tokens[device]}/telemetry HTTP/1.1\r\nHost: bench\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def connection(self, devices: list[int], done: Callable[[int], bool], gate: Gate) -> None:
        """Send the devices' requests in turn, each after ``gate``, until ``done(turns)``."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        turn = 0
        while not done(turn):
            await gate()
            writer.write(self.request(devices[turn % len(devices)]))
            turn += 1
            if await _answer(reader):
                self.acked += POINTS
            else:
                self.refused += 1
        writer.close()

    async def _all(self, done: Callable[[list[int]], Callable[[int], bool]], gate: Gate) -> None:
        shares = [list(range(c, len(self.tokens), CONNECTIONS)) for c in range(CONNECTIONS)]
        await asyncio.gather(*(self.connection(s, done(s), gate) for s in shares if s))

    async def run(self, seconds: float, gate: Gate = _open) -> None:
        """Drive every connection for ``seconds``."""
        until = time.perf_counter() + seconds
        await self._all(lambda share: lambda turn: time.perf_counter() >= until, gate)

    async def rounds(self, count: int) -> None:
        """``count`` requests for every device (the warm-up)."""
        await self._all(lambda share: lambda turn: turn >= count * len(share), _open)


def paced(rate: float) -> Gate:
    """A gate that lets requests through at ``rate`` points/s, over all connections together."""
    interval, slot = POINTS / rate, [time.perf_counter()]

    async def gate() -> None:
        now = time.perf_counter()
        at = slot[0] = max(slot[0], now - 1.0)  # a stall is caught up for 1 s at most
        slot[0] += interval
        await asyncio.sleep(max(0.0, at - now))

    return gate


class Server:
    """``aiot up`` at default settings in a fresh folder, and the admin's REST API."""

    def __init__(self, folder: Path) -> None:
        self.port = harness.free_port()
        self.proc = harness.start_aiot(folder, self.port)
        self.admin = harness.Admin(self.port, folder)
        self.api = self.admin.api

    def devices(self, count: int, kind: str) -> list[tuple[str, str]]:
        """Create ``count`` devices of type ``kind``; ``(id, access_token)`` each."""
        made = []
        for i in range(count):
            body = {"name": f"{kind}-{i}", "type": kind}
            found = self.api.post("/api/devices", json=body).raise_for_status().json()
            made.append((found["id"], found["access_token"]))
        return made

    def deploy(self, body: dict[str, Any]) -> None:
        """``POST /api/deployments``."""
        self.api.post("/api/deployments", json=body).raise_for_status()

    def queryable(self, devices: list[str], want: int, wait: float = 120.0) -> float | None:
        """perf_counter when ``want`` points are queryable over ``devices`` (None: never).

        The first query of a sweep waits until the store holds what was acknowledged before
        it, so the sweep that finds everything dates from the return of its first query.
        """
        deadline = time.perf_counter() + wait
        while time.perf_counter() < deadline:
            first = self.admin.points(devices[0], BASE_TS, END_TS)
            at = time.perf_counter()
            if first + sum(self.admin.points(d, BASE_TS, END_TS) for d in devices[1:]) >= want:
                return at
            time.sleep(0.05)
        return None

    def alarms(self, limit: int = 3) -> list[Any]:
        """``GET /api/alarms``: the newest ``limit`` alarms of the tenant."""
        reply = self.api.get("/api/alarms", params={"limit": limit})
        found: list[Any] = reply.raise_for_status().json()
        return found

    def stop(self) -> None:
        """SIGTERM the server and wait for it."""
        harness.stop(self.proc)


@contextmanager
def server(folder: Path) -> Iterator[Server]:
    """A :class:`Server` that is stopped on the way out."""
    made = Server(folder)
    try:
        yield made
    finally:
        made.stop()


@dataclass
class Rate:
    """Points sent in a timed run, how long they took to send and to be done with."""

    points: int
    sent_s: float
    done_s: float | None
    refused: int
    late: int = 0

    @property
    def per_s(self) -> float:
        """Points / (time until all acknowledged and done); 0 when they never were."""
        return self.points / self.done_s if self.done_s else 0.0


def ingest_only(folder: Path, args: argparse.Namespace) -> Rate:
    """The load for ``--seconds`` on a server without deployments, until all is queryable."""
    with server(folder) as srv:
        made = srv.devices(args.devices, "bench")
        ids, load = [d for d, _ in made], Load(srv.port, [t for _, t in made])
        asyncio.run(load.rounds(WARMUP_REQUESTS))
        srv.queryable(ids, load.acked)
        warm, start = load.acked, time.perf_counter()
        asyncio.run(load.run(args.seconds))
        sent = time.perf_counter() - start
        done = srv.queryable(ids, load.acked)
        took = done - start if done is not None else None
        return Rate(load.acked - warm, sent, took, load.refused)


async def _scored(api: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> tuple[int, int]:
    """Points all ``bodies``' deployments have dealt with (scored or late), and the late ones."""
    points, late = [], 0
    for body in bodies:
        reply = await api.get(f"/api/deployments/{body['name']}")
        stats = reply.raise_for_status().json()["stats"]
        per_row = body.get("multivariate") or len(body["keys"]) == 1  # one count a row
        points.append((stats["scored"] + stats["late"]) * (KEYS if per_row else 1))
        late += stats["late"]
    return min(points), late


async def _sustain(srv: Server, load: Load, seconds: float | None) -> tuple[float | None, int]:
    """Run the load (held back while the stream trails by BACKLOG); when all is scored, late."""
    # One read scores every deployment (runner._step), so the first tells the progress of all;
    # each poll of GET /api/deployments/{ref} costs the server a few ms of a core.
    bodies = deployments()
    base = f"http://127.0.0.1:{srv.port}"
    headers = {"Authorization": f"Bearer {harness.ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=NO_KEEPALIVE) as api:
        seen, running = [0], [True]

        async def watch() -> None:
            while running[0]:
                seen[0] = (await _scored(api, bodies[:1]))[0]
                await asyncio.sleep(0.25)

        async def gate() -> None:
            while load.acked - seen[0] > BACKLOG:
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        await (load.run(seconds, gate) if seconds is not None else load.rounds(WARMUP_REQUESTS))
        running[0] = False
        await watcher
        deadline = time.perf_counter() + 300
        while time.perf_counter() < deadline:
            if (await _scored(api, bodies[:1]))[0] >= load.acked:
                at = time.perf_counter()
                scored, late = await _scored(api, bodies)
                if scored >= load.acked:
                    return at, late
            await asyncio.sleep(0.02)
        return None, (await _scored(api, bodies))[1]


def with_deployments(srv: Server, args: argparse.Namespace) -> tuple[Rate, Load]:
    """The same load with the three deployments, until all of it is scored."""
    made = srv.devices(args.devices, "bench")
    for body in deployments():
        srv.deploy(body)
    load = Load(srv.port, [t for _, t in made])
    asyncio.run(_sustain(srv, load, None))
    warm, start = load.acked, time.perf_counter()
    done, late = asyncio.run(_sustain(srv, load, args.seconds))
    took = done - start if done is not None else None
    rate = Rate(load.acked - warm, args.seconds, took, load.refused, late)
    return rate, load


def background(port: int, tokens: list[str], rows: list[int], rate: float, acked: Any) -> None:
    """The load at ``rate`` points/s until terminated; ``acked`` counts what was acknowledged."""
    load = Load(port, tokens, rows)

    async def main() -> None:
        async def publish() -> None:
            while True:
                acked.value = load.acked
                await asyncio.sleep(0.1)

        task = asyncio.create_task(publish())
        await load.run(3600.0, paced(rate))
        task.cancel()

    asyncio.run(main())


@dataclass
class Latency:
    """Point → alarm in ms, polled and on the WebSocket, a spike each (inf: not seen in time)."""

    ms: list[float]
    ws_ms: list[float]
    ws_error: str  # why the WebSocket was not followed, or ""
    background: float  # points/s the background load had acknowledged
    trailing: int  # points the stream stage had yet to score when the spikes ended
    poll_ms: float  # a poll's mean round trip


def _quantile(values: list[float], q: int) -> float:
    """The ``q``-th percentile (nearest rank); a missed spike (inf) is slower than any."""
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, max(0, math.ceil(q / 100 * len(ranked)) - 1))]


def first_seen(srv: Server, device: str, ts: int, polls: list[float]) -> float | None:
    """perf_counter at the return of the first poll that shows the alarm raised at ``ts``.

    Spikes are the newest points (the load's timestamps are years older) and alarms come
    newest first, so the first few alarms hold it. Each round trip, in ms, goes to ``polls``.
    """
    deadline = time.perf_counter() + SEEN_S
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        found = any(a["start_ms"] == ts and a["device"] == device for a in srv.alarms())
        polls.append((time.perf_counter() - began) * 1000)
        if found:
            return time.perf_counter()
        time.sleep(max(0.0, POLL_S - (time.perf_counter() - began)))
    return None


class AlarmFeed:
    """The alarms raised on ``/api/ws`` for some devices: (device, start_ms) → perf_counter."""

    def __init__(self, port: int, devices: list[str]) -> None:
        self.url = f"ws://127.0.0.1:{port}/api/ws?key={harness.ADMIN_KEY}"
        self.devices, self.seen, self.error = devices, dict[tuple[str, int], float](), ""
        self.ready, self._arrived = threading.Event(), threading.Condition()
        threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True).start()
        if not self.ready.wait(10.0):
            self.error = "no answer to the subscriptions within 10 s"

    async def _listen(self) -> None:
        try:
            async with websockets.connect(self.url) as ws:
                for device in self.devices:
                    await ws.send(json.dumps({"subscribe": {"device": device, "keys": ["k0"]}}))
                subscribed = 0
                async for text in ws:  # ends when the server stops
                    message = json.loads(text)
                    subscribed += message.get("type") == "subscribed"
                    if subscribed == len(self.devices):
                        self.ready.set()
                    if message.get("type") == "alarm" and message.get("event") == "raise":
                        alarm, at = message["alarm"], time.perf_counter()
                        with self._arrived:
                            self.seen[(alarm["device"], alarm["start_ms"])] = at
                            self._arrived.notify_all()
        except (OSError, websockets.WebSocketException) as err:
            self.error = f"/api/ws: {err!r}"
        self.ready.set()

    def wait(self, device: str, ts: int) -> float | None:
        """perf_counter when the alarm raised at ``ts`` arrived; None after ``SEEN_S``."""
        with self._arrived:
            self._arrived.wait_for(lambda: (device, ts) in self.seen, SEEN_S)
            return self.seen.get((device, ts))


def spikes(
    srv: Server, devices: list[tuple[str, str]], count: int, feed: AlarmFeed, polls: list[float]
) -> tuple[list[float], list[float]]:
    """Send ``count`` spikes one at a time over ``devices``; ms to each alarm, polled and pushed.

    Every other spike is awaited on the WebSocket alone, so that the polls, which share the
    server's GIL with the stream stage, do not slow the spikes the WebSocket times.
    """
    rng, last = random.Random(11), dict.fromkeys((t for _, t in devices), 0)
    base = f"http://127.0.0.1:{srv.port}"
    polled, pushed = list[float](), list[float]()
    with httpx.Client(base_url=base, limits=NO_KEEPALIVE, timeout=30) as api:

        def send(token: str, rows: list[dict[str, Any]]) -> None:
            api.post(f"/api/v1/{token}/telemetry", json=rows).raise_for_status()
            last[token] = rows[-1]["ts"]

        for i in range(count):
            device, token = devices[i % len(devices)]
            ts = max(last[token] + 1, int(time.time() * 1000) - 100)
            send(token, [{"ts": ts + j, "values": {"k0": 50 + rng.gauss(0, 1)}} for j in range(20)])
            time.sleep(rng.uniform(0.3, 0.5))  # the normal points clear the last alarm
            at = max(last[token] + 1, int(time.time() * 1000))
            send(token, [{"ts": at, "values": {"k0": 1000.0}}])
            returned = time.perf_counter()
            on_ws = i % 2 == 1 and not feed.error
            seen = feed.wait(device, at) if on_ws else first_seen(srv, device, at, polls)
            took = (seen - returned) * 1000 if seen is not None else math.inf
            (pushed if on_ws else polled).append(took)
    return polled, pushed


def point_to_alarm(srv: Server, load: Load, rate: float, args: argparse.Namespace) -> Latency:
    """Spikes under a background load at ``rate`` points/s: :class:`Latency`."""
    spikers = srv.devices(args.spike_devices, "spike")
    srv.deploy(
        {"name": SPIKE, "detector": "zscore", "keys": ["k0"], "selector": {"type": "spike"}}
        | {"policy": SPIKE_POLICY}
    )
    feed = AlarmFeed(srv.port, [d for d, _ in spikers])
    ctx, polls = multiprocessing.get_context("spawn"), list[float]()
    acked = ctx.Value("q", 0)
    proc = ctx.Process(
        target=background, args=(srv.port, load.tokens, load.next_row, rate, acked), daemon=True
    )
    proc.start()
    try:
        time.sleep(2.0)
        before, start = acked.value, time.perf_counter()
        polled, pushed = spikes(srv, spikers, args.spikes, feed, polls)
        rate = (acked.value - before) / (time.perf_counter() - start)
        stats = srv.api.get("/api/deployments/bench-zscore").raise_for_status().json()["stats"]
        trailing = load.acked + acked.value - stats["scored"] - stats["late"]
    finally:
        proc.terminate()
        proc.join()
    poll_ms = statistics.fmean(polls) if polls else math.nan
    return Latency(polled, pushed, feed.error, rate, max(trailing, 0), poll_ms)


def report(args: argparse.Namespace, alone: Rate, deployed: Rate, latency: Latency) -> None:
    """The header, the figures and a markdown table."""
    ratio = deployed.per_s / alone.per_s if alone.per_s else 0.0
    print(
        f"aiot stream: aiot up at default settings, one machine ({os.cpu_count()} cores), "
        f"{args.devices} devices x {KEYS} keys ({args.devices * KEYS} series), "
        f"{POINTS} points a request, {CONNECTIONS} connections, {args.seconds:g} s a run, "
        f"load average {args.load:.2f} before it"
    )
    print(
        f"aim: scoring costs under a third of ingest throughput (ratio >= {AIM_RATIO}), "
        f"p99 point -> alarm <= {AIM_P99_MS:g} ms"
    )
    for name, run in (("ingest_only", alone), ("with_deployments", deployed)):
        done = f"{run.done_s:.2f}" if run.done_s else "never"
        print(
            f"{name}_points_per_s {run.per_s:,.0f}  ({run.points:,} points, sent in "
            f"{run.sent_s:.2f} s, done in {done} s, {run.refused} refused, {run.late} late)"
        )
    print(f"ratio_deployed_to_ingest {ratio:.3f}  (aim >= {AIM_RATIO}: {_met(ratio >= AIM_RATIO)})")
    ws = latency.ws_ms if not latency.ws_error else []
    for name, values in (("polled", latency.ms), ("websocket", ws)):
        if not values:
            print(f"point_to_alarm_{name}_ms not measured: {latency.ws_error}")
            continue
        cut = [_ms(_quantile(values, q)) for q in (50, 90, 99)]
        missed = sum(v == math.inf for v in values)
        print(
            f"point_to_alarm_{name}_ms p50 {cut[0]}  p90 {cut[1]}  p99 {cut[2]}  (aim p99 <= "
            f"{AIM_P99_MS:g}: {_met(_quantile(values, 99) <= AIM_P99_MS)}; {len(values)} spikes, "
            f"{missed} not seen within {SEEN_S:g} s)"
        )
    print(
        f"  from the spike's POST returning 200; GET /api/alarms polled every {POLL_S * 1000:g} ms "
        f"(start to start, a round trip {latency.poll_ms:.1f} ms on average) for every other "
        f"spike, the WebSocket (/api/ws, subscribed to the spike devices) alone for the rest; "
        f"background "
        f"{latency.background:,.0f} points/s (aimed at {deployed.per_s / 2:,.0f}); the stream "
        f"stage trailed by {latency.trailing:,} points when the spikes ended"
    )
    print()
    print(
        "| devices × keys | ingest only points/s | with 3 deployments points/s | ratio "
        "| alarm polled p50 / p99 ms | alarm on WebSocket p50 / p99 ms | spikes "
        "| background points/s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    cells = [
        " / ".join(_ms(_quantile(v, q)) for q in (50, 99)) if v else "-" for v in (latency.ms, ws)
    ]
    print(
        f"| {args.devices} × {KEYS} | {alone.per_s:,.0f} | {deployed.per_s:,.0f} | {ratio:.3f} "
        f"| {cells[0]} | {cells[1]} | {len(latency.ms) + len(ws)} | {latency.background:,.0f} |"
    )


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _ms(ms: float) -> str:
    return f"{ms:.1f}" if ms < math.inf else f"> {SEEN_S * 1000:.0f}"


def main() -> None:
    """Ingest alone, ingest with deployments, then point → alarm; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 devices, 5 s, 12 spikes")
    parser.add_argument("--seconds", type=float, help="each timed run (default 20, quick 5)")
    parser.add_argument("--devices", type=int, help="bench devices (default 100, quick 20)")
    parser.add_argument("--spikes", type=int, help="spikes sent (default 60, quick 12)")
    parser.add_argument("--spike-devices", type=int, default=4)
    args = parser.parse_args()
    quick = args.quick
    args.seconds = args.seconds or (5.0 if quick else 20.0)
    args.devices = args.devices or (20 if quick else 100)
    args.spikes = args.spikes or (12 if quick else 60)
    args.load = os.getloadavg()[0]  # others' work on the machine shows in the figures
    with tempfile.TemporaryDirectory() as tmp:
        alone = ingest_only(Path(tmp) / "alone", args)
        with server(Path(tmp) / "deployed") as srv:
            deployed, load = with_deployments(srv, args)
            latency = point_to_alarm(srv, load, max(deployed.per_s / 2, POINTS), args)
    report(args, alone, deployed, latency)


if __name__ == "__main__":
    main()
