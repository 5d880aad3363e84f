"""The MQTT clients the ingest benchmark drives: mosquitto_pub, paho, a pre-encoded generator.

Each client function sends ``n`` QoS 1 telemetry messages per device (one connection per
access token, the token as user name) to a broker on loopback and returns a :class:`Run`:
how long it took and how many messages were acknowledged. None of them knows which broker
it talks to.

* ``run_mosquitto_pub``: one ``mosquitto_pub -q 1 -M WINDOW -l`` per device reading a
  prepared file, timed from the first start to the last exit (``-l`` exits only once every
  message is acknowledged, up to 65,535 lines: see ``MOST``);
* ``run_paho``: paho-mqtt clients (defaults, MQTT 3.1.1, ``max_inflight_messages_set``) in
  two processes, timed from the first publish to the last acknowledgement;
* ``generator``: the never-parsing load of earlier versions, 1,000 messages in flight per
  connection, pre-encoded PUBLISH packets; no real client sends like that.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from aiot.connect.mqtt import codec

__all__ = ["CLIENTS", "MOST", "Cell", "Run", "generator", "messages"]

TOPIC = "v1/devices/me/telemetry"
# mosquitto_pub -l stops once the message id of its last line is acknowledged; ids wrap at
# 65,535, so beyond that it exits early (2.0.11: 100,000 lines, 34,465 acknowledged, exit 0)
MOST = {"mosquitto_pub": 65_535, "paho": 10_000_000}  # messages per device and run
PAHO_PROCESSES = 2
BLOCK = 500  # generator: messages per pre-encoded block; two blocks in flight per connection


@dataclass(frozen=True)
class Cell:
    """One load: which client, how many messages in flight, devices, points per message."""

    client: str
    window: int
    devices: int
    points: int


@dataclass
class Run:
    """One timed send: ``acked`` is None where the client cannot tell (a cut mosquitto_pub)."""

    per_device: int
    ts: int
    seconds: float
    acked: int | None
    cut: bool = False
    failures: int = 0  # mosquitto_pub exits other than 0; paho disconnects
    refused: dict[str, int] = field(default_factory=dict)  # aiot's refusals, by reason
    stored: int = 0  # points aiot stored, counted through its REST API

    @property
    def rate(self) -> float:
        """Acknowledged messages a second."""
        return (self.acked or 0) / self.seconds


# the load


def values(points: int) -> list[str]:
    """97 variants of the ``values`` object, so that values change from message to message."""
    return [
        "{" + ", ".join(f'"k{j}": {20 + j + v / 100:.2f}' for j in range(points)) + "}"
        for v in range(97)
    ]


def messages(n: int, points: int, ts: int) -> list[bytes]:
    """``n`` telemetry messages with timestamps ``ts, ts + 1, ...``."""
    objs = values(points)
    return [f'{{"ts": {ts + i}, "values": {objs[i % 97]}}}'.encode() for i in range(n)]


# mosquitto_pub


def run_mosquitto_pub(port: int, tokens: list[str], cell: Cell, n: int, ts: int, cut: float) -> Run:
    """One ``mosquitto_pub -l`` per device, all fed the same file of ``n`` lines."""
    folder = Path(tempfile.mkdtemp(prefix="mqtt-lines-"))
    path = folder / "lines.txt"
    path.write_bytes(b"\n".join(messages(n, cell.points, ts)) + b"\n")
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1"]
    cmd += ["-M", str(cell.window), "-t", TOPIC, "-l", "-u"]
    procs = []
    start = time.monotonic()
    for token in tokens:
        with path.open("rb") as lines:
            procs.append(subprocess.Popen([*cmd, token], stdin=lines, stderr=subprocess.DEVNULL))
    codes = [_wait(proc, start + cut) for proc in procs]
    seconds = time.monotonic() - start
    path.unlink()
    folder.rmdir()
    failed = sum(code not in (0, None) for code in codes)
    if None in codes:  # cut: how many were acknowledged, only the broker knows
        return Run(n, ts, seconds, None, cut=True, failures=failed)
    return Run(n, ts, seconds, n * len(tokens), failures=failed)


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> int | None:
    try:
        return proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


# paho


class _Counted:
    """One paho client and the acknowledgements it has seen."""

    def __init__(self, port: int, token: str, window: int, want: int) -> None:
        self.want, self.acked, self.drops = want, 0, 0
        self.up, self.done = threading.Event(), threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        client.username_pw_set(token)
        client.max_inflight_messages_set(window)
        client.on_connect = self._connected
        client.on_disconnect = lambda *a: self._dropped()
        client.on_publish = lambda *a: self._acked()
        client.connect("127.0.0.1", port)
        client.loop_start()
        self.client = client

    def _connected(
        self,
        client: mqtt.Client,
        data: object,
        flags: object,
        reason: ReasonCode,
        props: object,
    ) -> None:
        if not reason.is_failure:
            self.up.set()

    def _acked(self) -> None:
        self.acked += 1
        if self.acked >= self.want:
            self.done.set()

    def _dropped(self) -> None:
        self.drops += 1


def _paho_process(
    args: tuple[int, list[str], Cell, int, int, float],
    barrier: threading.Barrier,
    results: multiprocessing.Queue[tuple[float, float, int, int, bool]],
) -> None:
    port, tokens, cell, n, ts, cut = args
    payloads = messages(n, cell.points, ts)
    clients = [_Counted(port, token, cell.window, n) for token in tokens]
    for c in clients:
        if not c.up.wait(10):
            raise SystemExit("a paho client did not connect within 10 s")
    barrier.wait()
    start = time.monotonic()
    for payload in payloads:
        for c in clients:
            c.client.publish(TOPIC, payload, qos=1)
    finished = all(c.done.wait(max(0.0, start + cut - time.monotonic())) for c in clients)
    end = time.monotonic()
    acked = sum(min(c.acked, n) for c in clients)
    drops = sum(c.drops for c in clients)
    for c in clients:
        c.client.disconnect()
        c.client.loop_stop()
    results.put((start, end, acked, drops, not finished))


def run_paho(port: int, tokens: list[str], cell: Cell, n: int, ts: int, cut: float) -> Run:
    """paho clients in PAHO_PROCESSES processes, each client publishing ``n`` messages."""
    shares = [s for s in (tokens[i::PAHO_PROCESSES] for i in range(PAHO_PROCESSES)) if s]
    barrier = multiprocessing.Barrier(len(shares))
    results: multiprocessing.Queue[tuple[float, float, int, int, bool]] = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_paho_process, args=((port, s, cell, n, ts, cut), barrier, results)
        )
        for s in shares
    ]
    for proc in procs:
        proc.start()
    found = [results.get(timeout=cut + 120) for _ in procs]
    for proc in procs:
        proc.join()
    seconds = max(f[1] for f in found) - min(f[0] for f in found)
    acked, drops = sum(f[2] for f in found), sum(f[3] for f in found)
    return Run(n, ts, seconds, acked, cut=any(f[4] for f in found), failures=drops)


CLIENTS: dict[str, Callable[[int, list[str], Cell, int, int, float], Run]] = {
    "mosquitto_pub": run_mosquitto_pub,
    "paho": run_paho,
}


# the pre-encoded generator


def block(points: int, first_ts: int) -> bytes:
    """BLOCK PUBLISH packets of ``points`` points each, packet ids 1..BLOCK."""
    out = []
    for i, body in enumerate(messages(BLOCK, points, first_ts)):
        out.append(codec.publish(TOPIC, body, qos=1, packet_id=i + 1))
    return b"".join(out)


async def _connection(
    port: int, token: str, blob: bytes, seconds: float, n: int
) -> tuple[int, bool]:
    """Acknowledged messages, and whether the server closed the connection first."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(codec.connect(f"bench-{os.getpid()}-{n}", token))
    if (await asyncio.wait_for(reader.readexactly(4), 10))[3] != 0:
        raise RuntimeError("CONNECT refused")
    acked, owed, deadline = 0, 2 * BLOCK * 4, time.monotonic() + seconds
    writer.write(blob + blob)
    while time.monotonic() < deadline:
        try:
            data = await asyncio.wait_for(reader.read(65536), 10)
        except ConnectionResetError:  # closed with our packets unread
            data = b""
        if not data:
            return acked // 4, True
        owed -= len(data)
        acked += len(data)
        if owed <= BLOCK * 4:
            writer.write(blob)
            owed += BLOCK * 4
    writer.close()
    return acked // 4, False


def _generator_worker(port: int, tokens: list[str], seconds: float) -> list[tuple[int, bool]]:
    async def run() -> list[tuple[int, bool]]:
        blob = block(1, 1_000_000)
        jobs = [_connection(port, token, blob, seconds, n) for n, token in enumerate(tokens)]
        return await asyncio.gather(*jobs)

    return asyncio.run(run())


def generator(port: int, tokens: list[str], seconds: float) -> tuple[float, int, int]:
    """Acknowledged 1-point messages a second and in all, and the connections the server closed."""
    shares = [tokens[i::PAHO_PROCESSES] for i in range(PAHO_PROCESSES)]
    with multiprocessing.Pool(PAHO_PROCESSES) as pool:
        started = time.monotonic()
        done = pool.starmap(_generator_worker, [(port, s, seconds) for s in shares if s])
        elapsed = time.monotonic() - started
    ends = [end for share in done for end in share]
    acked = sum(acked for acked, _ in ends)
    return acked / elapsed, acked, sum(closed for _, closed in ends)
