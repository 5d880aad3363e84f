"""QoS 1 MQTT ingest from common clients: aiot at its default settings beside a plain Mosquitto.

Each cell of the matrix (client × in-flight window × devices × points per message) sends the
same load twice in one run: to Mosquitto (anonymous, no persistence, no subscribers: it
acknowledges and drops) and to ``aiot up`` (default settings; a PUBACK means the points are
in its embedded DuckDB). One connection per device, topic ``v1/devices/me/telemetry``, the
access token as user name, one message ``{"ts": T, "values": {"k0": v, ...}}`` with its own
timestamp each, so every point is distinct. After each aiot run the REST API counts what was
stored. The clients (mosquitto_pub, paho, and the pre-encoded generator of earlier versions)
are in ``mqtt_clients.py``; Mosquitto and ``aiot up`` start through ``harness.py``.

The number of messages is chosen per run so that it lasts about ``--seconds`` (a run stuck
in reconnects is cut at ``2 x seconds + 2``). Also printed: the disk's fdatasync time and the
bound it sets one connection, and the generator's line (1,000 in flight, never parses),
which no real client resembles. Nothing here fails for being slow; it only prints.

    .venv/bin/python benchmarks/mqtt_ingest.py            # the whole matrix, about 3 minutes
    .venv/bin/python benchmarks/mqtt_ingest.py --quick    # mosquitto_pub, window 100, 1 point
    .venv/bin/python benchmarks/mqtt_ingest.py --client paho --devices 8 --points 1 100
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count, product
from pathlib import Path

import harness
from mqtt_clients import CLIENTS, MOST, Cell, Run, generator

TS0 = 1_600_000_000_000
SPAN = 10_000_000  # timestamps (ms) reserved per run: the most messages one device sends
TABLE = (
    "| client | in flight | devices | points/msg | aiot msg/s | Mosquitto msg/s | aiot points/s "
    "| aiot/Mosquitto | stored | notes |"
)
HEADER = (
    "columns: client | in-flight window | devices (one connection each) | points per message"
    " | aiot msg/s (PUBACK = durable) | Mosquitto msg/s (same load, acked and dropped)"
    " | aiot points/s | aiot/Mosquitto | stored (counted through the REST API) | notes"
)


@dataclass
class Bench:
    """The servers of one run, the device pool, and the rates seen so far (to size runs)."""

    ports: dict[str, int]
    admin: harness.Admin
    pool: list[tuple[str, str]]  # (device id, access token)
    seconds: float
    next_ts: Iterator[int] = field(default_factory=lambda: (TS0 + i * SPAN for i in count()))
    rates: dict[tuple[str, str, int, int], float] = field(default_factory=dict)

    @property
    def cut(self) -> float:
        """Seconds after which a run is stopped: a client stuck in reconnects."""
        return 2 * self.seconds + 2

    def guess(self, broker: str, cell: Cell) -> float:
        """Messages a second this load probably reaches: the last rate of a similar load."""
        near = [v for k, v in self.rates.items() if k[:3] == (broker, cell.client, cell.points)]
        exact = self.rates.get((broker, cell.client, cell.points, cell.devices))
        return exact or (near[-1] if near else 2000.0)

    def sized(self, broker: str, cell: Cell, attempt: Callable[[int, int], Run]) -> Run:
        """Run ``attempt(n, ts)`` with ``n`` chosen so that the run lasts about ``seconds``."""
        most = MOST[cell.client]
        n = int(self.guess(broker, cell) * self.seconds / cell.devices)
        for tries in range(4):  # a short try costs little: it is short
            run = attempt(max(20, min(n, most, SPAN)), next(self.next_ts))
            long_enough = run.cut or run.seconds >= 0.6 * self.seconds or run.per_device == most
            if long_enough or tries == 3:
                break
            n = int(run.per_device * min(50.0, self.seconds / max(run.seconds, 0.02)))
        self.rates[(broker, cell.client, cell.points, cell.devices)] = run.rate
        return run

    def mosquitto_run(self, cell: Cell) -> Run:
        """The load against Mosquitto; there the tokens are only user names."""
        tokens = [token for _, token in self.pool[: cell.devices]]
        send, port = CLIENTS[cell.client], self.ports["mosquitto"]
        return self.sized(
            "mosquitto", cell, lambda n, ts: send(port, tokens, cell, n, ts, self.cut)
        )

    def aiot_run(self, cell: Cell) -> Run:
        """The load against aiot, with what it refused meanwhile and the points it stored."""
        ids = [i for i, _ in self.pool[: cell.devices]]
        tokens = [token for _, token in self.pool[: cell.devices]]
        send, port = CLIENTS[cell.client], self.ports["aiot"]

        def attempt(n: int, ts: int) -> Run:
            before = self.admin.stats()["rejected_by_reason"]
            run = send(port, tokens, cell, n, ts, self.cut)
            run.refused = _grown(before, self.admin.stats()["rejected_by_reason"])
            run.stored = self.admin.stored(ids, ts, ts + n, n * cell.devices * cell.points, 2.0)
            if run.acked is None:  # a cut mosquitto_pub: what aiot stored, it acknowledged
                run.acked = run.stored // cell.points
            return run

        return self.sized("aiot", cell, attempt)


def _grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Counters that grew from ``before`` to ``after``, by how much."""
    return {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}


@dataclass
class Row:
    """One cell's figures and what the reader should know about them."""

    cell: Cell
    mosquitto: Run
    aiot: Run
    notes: list[str]

    def figures(self) -> list[str]:
        """aiot msg/s, Mosquitto msg/s, aiot points/s, and aiot/Mosquitto, formatted."""
        ours, base = self.aiot.rate, self.mosquitto.rate
        ratio = f"{ours / base:.2f}" if base else "n/a"
        return [f"{ours:,.0f}", f"{base:,.0f}", f"{ours * self.cell.points:,.0f}", ratio]

    def line(self) -> str:
        """The cell as one aligned line, with the size of both runs."""
        c, (ours, base, points, ratio) = self.cell, self.figures()
        sizes = "; ".join(
            f"{name} {r.per_device:,}/device in {r.seconds:.1f} s"
            for name, r in (("mosquitto", self.mosquitto), ("aiot", self.aiot))
        )
        return (
            f"{c.client:13} {c.window:4d} {c.devices:4d} {c.points:4d} | {ours:>9} | {base:>9} | "
            f"{points:>11} | {ratio:>5} | {stored(self.aiot, c)} | "
            + "; ".join([*self.notes, sizes])
        )

    def markdown(self) -> str:
        """The cell as a row of the markdown table."""
        c = self.cell
        cells = [c.client, str(c.window), str(c.devices), str(c.points), *self.figures()]
        return "| " + " | ".join([*cells, stored(self.aiot, c), "; ".join(self.notes)]) + " |"


def stored(run: Run, cell: Cell) -> str:
    """Whether aiot stored every point sent; of a cut run, every point it acknowledged."""
    sent = run.per_device * cell.devices * cell.points
    if run.stored == sent:
        return "stored: all"
    if not run.cut:
        return f"stored: {run.stored:,} of {sent:,} points ({sent - run.stored:,} short)"
    acked = (run.acked or 0) * cell.points
    if run.stored >= acked:
        return f"stored: every acknowledged point ({run.stored:,} of {sent:,} meant)"
    return f"stored: {acked - run.stored:,} acknowledged points missing"


def notes(cell: Cell, runs: dict[str, Run], reference: dict[Cell, float]) -> list[str]:
    """Refusals, reconnects, cut runs, and whether paho is the limit of this cell."""
    found = [f"closed by aiot: {r} x{n}" for r, n in sorted(runs["aiot"].refused.items())]
    what = "exits other than 0" if cell.client == "mosquitto_pub" else "reconnects"
    found += [f"{b}: {run.failures} {what}" for b, run in runs.items() if run.failures]
    found += [f"{b} run cut at {run.seconds:.0f} s" for b, run in runs.items() if run.cut]
    fast = reference.get(Cell("mosquitto_pub", cell.window, cell.devices, cell.points))
    slow = runs["mosquitto"].rate
    if cell.client == "paho" and fast and slow < 0.5 * fast:
        found.append(f"paho→Mosquitto is {slow / fast:.2f}x mosquitto_pub→Mosquitto")
        if runs["aiot"].rate >= 0.7 * slow:  # aiot keeps up with what paho can send
            found[-1] += ": this line is bounded by the Python client"
    return found


def measure(bench: Bench, cell: Cell, reference: dict[Cell, float]) -> Row:
    """Both runs of one cell: Mosquitto first, then aiot."""
    runs = {"mosquitto": bench.mosquitto_run(cell), "aiot": bench.aiot_run(cell)}
    reference[cell] = runs["mosquitto"].rate
    return Row(cell, runs["mosquitto"], runs["aiot"], notes(cell, runs, reference))


def disk(folder: Path, windows: list[int]) -> str:
    """fdatasync p50/p99 in ``folder`` and the bound it sets one connection at each window."""
    p50, p99 = harness.fdatasync_ms(folder)
    bounds = ", ".join(f"window {w}: {w / (2 * p50 / 1000):,.0f} msg/s" for w in windows)
    return (
        f"disk: fdatasync of a 4 KiB append in {folder}: p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
        f"bound for one connection, window / (2 x fsync p50): {bounds}"
    )


def generator_line(bench: Bench, connections: int) -> str:
    """The pre-encoded generator against both servers, labelled as the odd load it is."""
    tokens = [token for _, token in bench.pool[:connections]]
    before = bench.admin.stats()["rejected_by_reason"]
    base, _, _ = generator(bench.ports["mosquitto"], tokens, bench.seconds)
    ours, acked, closed = generator(bench.ports["aiot"], tokens, bench.seconds)
    head = f"pre-encoded generator, 1,000 in flight, not a common client: {connections} connections"
    if not closed:
        rates = f"aiot {ours:,.0f} msg/s | Mosquitto {base:,.0f} msg/s | ratio {ours / base:.2f}"
        return f"{head}, 1 point: {rates}"
    refused = _grown(before, bench.admin.stats()["rejected_by_reason"])
    why = ", ".join(f"{k} x{v}" for k, v in refused.items())
    return (
        f"{head}, 1 point: Mosquitto {base:,.0f} msg/s | aiot closed {closed} of {connections} "
        f"connections ({why}) after {acked:,} acknowledged messages: no steady rate"
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: which cells, how long each run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.5, help="aimed length of each run")
    parser.add_argument("--client", nargs="+", choices=list(CLIENTS), default=list(CLIENTS))
    parser.add_argument("--window", nargs="+", type=int, default=[20, 100])
    parser.add_argument("--devices", nargs="+", type=int, default=[1, 8, 64])
    parser.add_argument("--points", nargs="+", type=int, default=[1, 100])
    parser.add_argument("--generator-connections", type=int, default=8)
    parser.add_argument("--no-generator", action="store_true")
    quick = "only mosquitto_pub, window 100, 1 and 8 devices, 1 point"
    parser.add_argument("--quick", action="store_true", help=quick)
    args = parser.parse_args(argv)
    if args.quick:
        args.client, args.window, args.devices, args.points = ["mosquitto_pub"], [100], [1, 8], [1]
    return args


def matrix(args: argparse.Namespace) -> list[Cell]:
    """The cells asked for, ordered so that each run is sized from a similar one before it."""
    loads = product(args.client, args.points, args.devices, args.window)
    return [Cell(client, window, devices, points) for client, points, devices, window in loads]


def report(bench: Bench, args: argparse.Namespace) -> None:
    """Every line, as each is measured, then the markdown table."""
    print(disk(bench.admin.data_dir, args.window), flush=True)
    print(HEADER, flush=True)
    reference: dict[Cell, float] = {}
    rows = []
    for cell in matrix(args):
        rows.append(measure(bench, cell, reference))
        print(rows[-1].line(), flush=True)
    if not args.no_generator:
        print(generator_line(bench, args.generator_connections), flush=True)
    print(f"\n{TABLE}\n|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for row in rows:
        print(row.markdown())


def main() -> None:
    """Start Mosquitto and aiot in a fresh folder, measure, stop them."""
    args = parse()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ports = {name: harness.free_port() for name in ("http", "aiot", "mosquitto")}
        mosquitto = harness.start_mosquitto(folder, ports["mosquitto"])
        aiot = harness.start_aiot(folder / "aiot", ports["http"], ports["aiot"])
        try:
            admin = harness.Admin(ports["http"], folder / "aiot")
            pool = admin.devices(max([*args.devices, args.generator_connections]), "mqtt")
            report(Bench(ports, admin, pool, args.seconds), args)
        finally:
            harness.stop(aiot, mosquitto)


if __name__ == "__main__":
    main()
