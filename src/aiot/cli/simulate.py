"""``aiot simulate VERTICAL``: a simulated fleet written to files or sent to a running aiot."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aiot.cli.common import Connection, command, console, fail
from aiot.client import Client
from aiot.domain import Batch
from aiot.errors import Conflict
from aiot.sim import VERTICALS, Fault, FileSink, Fleet, SimDevice, realtime

__all__ = ["parse_duration_ms", "simulate", "thingsboard_payloads"]

UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
DEFAULT_RATE = 0.2
POINTS_PER_POST = 500


def parse_duration_ms(text: str) -> int:
    """``"7d"``, ``"12h"``, ``"10s"``, ``"1m"``, ``"250ms"`` (or plain seconds) in ms."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (try 10s, 5m, 12h, 7d)")
    return int(float(match[1]) * UNITS_MS[match[2] or "s"])


def parse_start_ms(text: str | None, duration_ms: int, live: bool) -> int:
    """ISO 8601 time, epoch ms, or ``now``; by default the run ends now (or starts now, live)."""
    now = int(time.time()) // 60 * 60_000
    if text is None:
        return now if live else now - duration_ms
    if text == "now":
        return now
    if text.isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_faults(text: str) -> tuple[float, list[str] | None]:
    """A rate per device-day (``0.5``), ``none``, or fault types (``fouling,cooling_failure:2``)."""
    names, _, rate = text.partition(":")
    if names.strip().lower() in ("none", "off"):
        return 0.0, None
    try:
        return float(names), None
    except ValueError:
        types = [n.strip() for n in names.split(",") if n.strip()]
        return (float(rate) if rate else DEFAULT_RATE), types


def build_fleet(
    vertical: str, devices: int, seed: int, interval_ms: int | None, faults: str
) -> Fleet:
    """One vertical, or ``mixed`` (``devices`` of each), with the faults asked for."""
    names = list(VERTICALS) if vertical == "mixed" else [vertical]
    if any(n not in VERTICALS for n in names):
        raise ValueError(f"unknown vertical {vertical!r}: choose {', '.join(VERTICALS)} or mixed")
    rate, types = parse_faults(faults)
    known = {t.name for n in names for t in VERTICALS[n].fault_types}
    if types and set(types) - known:
        raise ValueError(f"unknown fault types {sorted(set(types) - known)}; known {sorted(known)}")
    sims = []
    for name in names:
        cls = VERTICALS[name]
        own = (
            None if types is None else [t for t in types if t in {f.name for f in cls.fault_types}]
        )
        sim_rate = rate if own is None or own else 0.0
        sims.append(
            cls(
                devices,
                seed=seed,
                interval_ms=interval_ms,
                fault_rate=sim_rate,
                fault_types=own or None,
            )
        )
    return Fleet(sims)


def thingsboard_payloads(batch: Batch) -> dict[str, list[dict[str, Any]]]:
    """ThingsBoard telemetry JSON per device: ``[{"ts": ms, "values": {key: value}}, ...]``."""
    cols = batch.table.select(["device", "key", "ts", "value"]).to_pydict()
    rows: dict[str, dict[int, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for device, key, ts, value in zip(*cols.values(), strict=True):
        rows[device][ts][key] = value
    return {d: [{"ts": t, "values": v} for t, v in sorted(m.items())] for d, m in rows.items()}


class Sink(Protocol):
    """Where the batches of a run go."""

    def write(self, batch: Batch) -> None:
        """Deliver one batch."""

    def close(self, labels: list[Fault]) -> Path | None:
        """Finish; returns the labels file, if any."""


class HttpSink:
    """Provisions the devices in a running aiot, then posts their telemetry over HTTP."""

    def __init__(self, client: Client, devices: list[SimDevice]) -> None:
        self.client = client
        self.tokens = {d.name: self._provision(d) for d in devices}

    def _provision(self, device: SimDevice) -> str:
        try:
            created = self.client.create_device(device.name, device.type, device.labels)
        except Conflict:
            created = self.client.device(device.name)
        return str(created["access_token"])

    def write(self, batch: Batch) -> None:
        """Post each device's points, a few hundred timestamps per request."""
        for device, points in thingsboard_payloads(batch).items():
            for i in range(0, len(points), POINTS_PER_POST):
                self.client.post_telemetry(self.tokens[device], points[i : i + POINTS_PER_POST])

    def close(self, labels: list[Fault]) -> Path | None:
        """Release the connection; labels stay with the run's summary."""
        self.client.close()
        return None


def _batches(fleet: Fleet, start: int, end: int, speed: str) -> Iterator[Batch]:
    if speed == "max":
        return fleet.generate(start, end, chunk_ms=6 * 3_600_000)
    factor = 1.0 if speed == "realtime" else float(speed)
    return realtime(fleet, start_ms=start, until_ms=end, speed=factor)


def _run(fleet: Fleet, sink: Sink, start: int, end: int, speed: str) -> None:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
    )
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("simulating", total=end - start)
        for batch in _batches(fleet, start, end, speed):
            sink.write(batch)
            reached = int(batch.table.column("ts").to_numpy().max()) + fleet.interval_ms
            bar.update(task, completed=min(reached, end) - start)


@command
def simulate(
    ctx: typer.Context,
    vertical: Annotated[str, typer.Argument(help="traffic, oilwell, reactor, or mixed")],
    devices: Annotated[int, typer.Option(help="devices (of each vertical, if mixed)")] = 3,
    seed: Annotated[int, typer.Option(help="same seed, same data")] = 0,
    start: Annotated[str | None, typer.Option(help="ISO time, epoch ms or now")] = None,
    duration: Annotated[str, typer.Option(help="simulated time, e.g. 12h, 7d")] = "1d",
    interval: Annotated[str | None, typer.Option(help="grid step, e.g. 10s, 1m")] = None,
    speed: Annotated[str, typer.Option(help="realtime, a factor (60), or max")] = "max",
    faults: Annotated[str, typer.Option(help="rate per device-day, none, or types[:rate]")] = "0.2",
    out: Annotated[Path | None, typer.Option(help="write FILE.parquet or FILE.csv")] = None,
    url: Annotated[str | None, typer.Option(help="send to a running aiot")] = None,
    key: Annotated[str | None, typer.Option(help="API key for --url")] = None,
) -> None:
    """Simulate a fleet with labelled faults; write it to a file or send it to aiot."""
    if (out is None) == (url is None):
        raise fail("give one destination: --out FILE or --url URL")
    try:
        span = parse_duration_ms(duration)
        step = parse_duration_ms(interval) if interval else None
        fleet = build_fleet(vertical, devices, seed, step, faults)
        t0 = parse_start_ms(start, span, speed != "max")
        sink: Sink = FileSink(out) if out else _http(ctx, url, key, fleet)
    except ValueError as err:
        raise fail(str(err)) from None
    began = time.perf_counter()
    _run(fleet, sink, t0, t0 + span, speed)
    written = sink.close(fleet.labels)
    _summary(fleet, sink, written, time.perf_counter() - began)


def _http(ctx: typer.Context, url: str | None, key: str | None, fleet: Fleet) -> HttpSink:
    conn: Connection | None = ctx.obj
    api_key = key or (conn.key() if conn else None)
    client = Client(url or "", api_key, tenant=conn.tenant if conn else None)
    return HttpSink(client, fleet.devices)


def _summary(fleet: Fleet, sink: Sink, labels: Path | None, seconds: float) -> None:
    rows = getattr(sink, "rows", None)
    faults = fleet.labels
    where = f"{sink.path} and {labels}" if isinstance(sink, FileSink) else "aiot"
    count = f"{rows:,} points" if rows is not None else "points"
    console.print(
        f"{count} of {len(fleet.devices)} devices, {len(faults)} labelled faults "
        f"-> {where} in {seconds:.1f} s"
    )
