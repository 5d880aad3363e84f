"""Crashes of ``aiot up`` around its ingest log: each acknowledged point is stored exactly once.

A kill in the middle of MQTT and HTTP load, a torn last record in the log, and a store file
that lost its last batches: after each restart every point whose PUBACK or HTTP 200 came back
is queryable once, and nothing the log tore away is reported as stored.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from aiot.domain import Batch
from aiot.store.wal import frames
from tests.e2e.server import AiotProcess

pytestmark = [pytest.mark.services, pytest.mark.slow]

KEY = "n"
DAY_MS = 86_400_000  # every ts below lies in the first day, so one count bucket holds them all
STORE = "telemetry.duckdb"
SEGMENT = "AIOT_INGEST__LOG_SEGMENT_BYTES"
SMALL = "4096"  # about five records of five points: the log rolls through many segments


@pytest.fixture
def aiot(tmp_path: Path) -> Iterator[Callable[..., AiotProcess]]:
    """``aiot up`` over ``tmp_path/aiot-data`` with extra ``AIOT_*`` settings; stopped after."""
    made: list[AiotProcess] = []

    def make(**env: str) -> AiotProcess:
        made.append(AiotProcess(tmp_path / "aiot-data", env=env))
        made[-1].start()
        return made[-1]

    yield make
    for server in made:
        server.stop(signal.SIGKILL)


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _devices(server: AiotProcess, *names: str) -> dict[str, str]:
    """Create the devices; their access tokens by name."""
    tokens = {}
    with server.admin() as api:
        for name in names:
            made = api.post("/api/devices", json={"name": name})
            assert made.status_code == 201, made.text
            tokens[name] = made.json()["access_token"]
    return tokens


def _point(ts: int) -> dict[str, Any]:
    return {"ts": ts, "values": {KEY: ts}}


def _post_all(server: AiotProcess, token: str, stamps: range, per_message: int = 5) -> set[int]:
    """POST the points ``per_message`` at a time, one request after the other; all must be 200."""
    url = f"{server.url}/api/v1/{token}/telemetry"
    with httpx.Client(timeout=10) as http:
        for at in range(stamps.start, stamps.stop, per_message):
            body = [_point(ts) for ts in range(at, min(at + per_message, stamps.stop))]
            answer = http.post(url, json=body)
            assert answer.status_code == 200, answer.text
    return set(stamps)


def _query(server: AiotProcess, device: str, **params: Any) -> list[dict[str, Any]]:
    with server.admin() as api:
        answer = api.get(
            f"/api/devices/{device}/telemetry",
            params={"keys": KEY, "start": 0, "end": DAY_MS, **params},
        )
    assert answer.status_code == 200, answer.text
    points: list[dict[str, Any]] = answer.json().get(KEY, [])
    return points


def _stamps(server: AiotProcess, device: str) -> list[int]:
    return [p["ts"] for p in _query(server, device, limit=1_000_000)]


def _count(server: AiotProcess, device: str) -> float:
    return sum(b["value"] for b in _query(server, device, interval="1d", agg="count"))


def _stored_once(server: AiotProcess, device: str) -> set[int]:
    """The ts a query returns the device's points at; none may come twice, by either count."""
    stamps = _stamps(server, device)
    assert len(stamps) == len(set(stamps)), f"{device}: points stored twice"
    assert _count(server, device) == len(stamps)
    return set(stamps)


def _assert_stored(server: AiotProcess, device: str, expected: set[int]) -> None:
    """A query returns exactly the ``expected`` points of the device, each once."""
    stamps = _stamps(server, device)
    missing, extra = sorted(expected - set(stamps)), sorted(set(stamps) - expected)
    assert not missing, f"{device}: {len(missing)} acknowledged points missing, ts {missing[:10]}"
    assert not extra, f"{device}: {len(extra)} points stored that must not be, ts {extra[:10]}"
    assert len(stamps) == len(expected), f"{device}: points stored twice"
    assert _count(server, device) == len(expected)


def _log_stats(server: AiotProcess) -> dict[str, Any]:
    with server.admin() as api:
        log: dict[str, Any] = api.get("/api/ingest/stats").json()["log"]
    return log


# 1. a kill under load from MQTT devices and HTTP clients at once


class _MqttDevice:
    """A device publishing QoS 1 points with as many unacknowledged as its window allows."""

    def __init__(self, port: int, token: str, window: int = 20) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"crash-{token}")
        self.client.username_pw_set(token)
        self.client.max_inflight_messages_set(window)
        self.client.max_queued_messages_set(0)
        self.window = threading.Semaphore(window)
        self.acked_mids: list[int] = []  # only paho's network thread appends
        self.sent: dict[int, int] = {}  # ts by message id (fewer than 65,535: ids never repeat)
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port, 10)
        self.client.loop_start()

    def _on_publish(self, _c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        self.acked_mids.append(mid)
        self.window.release()

    def run(self, stop: threading.Event, most: int) -> None:
        """Publish ts 1, 2, ... until ``stop`` (or ``most`` messages)."""
        for ts in range(1, most + 1):
            while not self.window.acquire(timeout=0.2):
                if stop.is_set():
                    return
            if stop.is_set():
                return
            topic, payload = "v1/devices/me/telemetry", json.dumps(_point(ts))
            self.sent[self.client.publish(topic, payload, qos=1).mid] = ts

    def close(self) -> None:
        """Disconnect, so that nothing is resent to the restarted server."""
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def acked(self) -> set[int]:
        """The ts of the messages whose PUBACK came back."""
        return {self.sent[mid] for mid in self.acked_mids}


@dataclass
class _HttpDevice:
    """A device POSTing one point per request; remembers which got their 200."""

    url: str
    sent: list[int]
    acked: list[int]

    def run(self, stop: threading.Event, most: int) -> None:
        """POST ts 1, 2, ... until ``stop``, ``most`` requests or the server is gone."""
        with httpx.Client(timeout=5) as http:
            for ts in range(1, most + 1):
                if stop.is_set():
                    return
                self.sent.append(ts)
                try:
                    answer = http.post(self.url, json=_point(ts))
                except httpx.HTTPError:
                    return  # killed: this request's point may or may not be in the log
                if answer.status_code == 200:
                    self.acked.append(ts)


def test_kill_under_mqtt_and_http_load_keeps_every_acknowledged_point_once(
    aiot: Callable[..., AiotProcess],
) -> None:
    server = aiot(**{SEGMENT: "65536"})  # segments roll under the load too
    tokens = _devices(server, "mqtt-0", "mqtt-1", "mqtt-2", "mqtt-3", "http-0", "http-1")
    mqtt_devices = {n: _MqttDevice(server.mqtt_port, t) for n, t in tokens.items() if "mqtt" in n}
    http_devices = {
        n: _HttpDevice(f"{server.url}/api/v1/{t}/telemetry", [], [])
        for n, t in tokens.items()
        if "http" in n
    }
    stop = threading.Event()
    runners = [*mqtt_devices.values(), *http_devices.values()]
    threads = [threading.Thread(target=d.run, args=(stop, 30_000), daemon=True) for d in runners]
    for thread in threads:
        thread.start()
    try:
        busy = _wait_for(
            lambda: (
                all(len(d.acked_mids) >= 300 for d in mqtt_devices.values())
                and all(len(d.acked) >= 30 for d in http_devices.values())
            ),
            timeout=20,
        )
        server.stop(signal.SIGKILL)  # both transports in flight
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        for device in mqtt_devices.values():
            device.close()
    assert busy, "the load never got going"
    assert any(len(d.sent) > len(d.acked) for d in mqtt_devices.values())  # some unacknowledged
    assert len(list((server.data_dir / "wal").glob("*.wal"))) > 1

    server.start()
    everything: dict[str, tuple[set[int], set[int]]] = {
        **{n: (d.acked, set(d.sent.values())) for n, d in mqtt_devices.items()},
        **{n: (set(d.acked), set(d.sent)) for n, d in http_devices.items()},
    }
    stored_points = 0
    for name, (acked, sent) in everything.items():
        stored = _stored_once(server, name)
        assert acked <= stored, f"{name}: {len(acked - stored)} acknowledged points lost"
        assert stored <= sent, f"{name}: points stored that were never sent"
        stored_points += len(stored)
    log = _log_stats(server)
    assert log["store"]["applied"] == log["end"] == stored_points  # the whole log, applied once


# 2. a torn last record in the log


@dataclass(frozen=True)
class _OnDisk:
    at: int  # the byte it starts at
    size: int
    offset: int
    batch: Batch


def _records(segment: Path) -> list[_OnDisk]:
    """The whole records of a log segment, read as the format describes them."""
    data, at, found = segment.read_bytes(), 0, []
    while (frame := frames.parse_header(data[at:])) is not None:
        batch = frames.decode(frame, data[at + frames.HEADER.size : at + frame.size])
        if batch is None:
            break
        found.append(_OnDisk(at, frame.size, frame.offset, batch))
        at += frame.size
    assert at == len(data), "the segment ends in bytes that are not a whole record"
    return found


def _last_segment(data_dir: Path) -> Path:
    return sorted((data_dir / "wal").glob("*.wal"))[-1]


def _cut_last_record(server: AiotProcess) -> tuple[set[int], int, int]:
    """Kill, cut three bytes off the last (acknowledged) record: its ts, offset, bytes left."""
    log = _log_stats(server)
    server.stop(signal.SIGKILL)
    segment = _last_segment(server.data_dir)
    last = _records(segment)[-1]
    # The applier waits its interval before taking more: the store must not hold this record
    # yet, or cutting it from the log could not take its points away.
    assert log["store"]["applied"] <= last.offset < log["end"]
    left = last.size - 3
    with segment.open("r+b") as handle:
        handle.truncate(last.at + left)
    return set(last.batch.table["ts"].to_pylist()), last.offset, left


def _append_half_a_record(server: AiotProcess) -> tuple[set[int], int, int]:
    """Stop, then append half of a valid record of never-sent points: its ts, offset, bytes."""
    server.stop()
    segment = _last_segment(server.data_dir)
    last = _records(segment)[-1]
    end = last.offset + len(last.batch)
    device = last.batch.table["device"][0].as_py()
    stamps = list(range(900_001, 900_011))
    torn = Batch.numeric(last.batch.tenant, device, KEY, stamps, [float(t) for t in stamps])
    data = frames.encode(end, torn)
    with segment.open("ab") as handle:
        handle.write(data[: len(data) // 2])
    return set(stamps), end, len(data) // 2


@pytest.mark.parametrize("segment", ["67108864", SMALL], ids=["one-segment", "many-segments"])
@pytest.mark.parametrize("tear", [_cut_last_record, _append_half_a_record], ids=["cut", "half"])
def test_a_torn_last_record_is_dropped_and_the_log_goes_on(
    aiot: Callable[..., AiotProcess],
    tear: Callable[[AiotProcess], tuple[set[int], int, int]],
    segment: str,
) -> None:
    # The store takes the log only when a query waits for it (or at a start), so that a kill
    # leaves the last records in the log alone.
    server = aiot(AIOT_INGEST__APPLY_INTERVAL_SECONDS="600", **{SEGMENT: segment})
    token = _devices(server, "meter")["meter"]
    acked = _post_all(server, token, range(1, 101))
    torn, end, torn_bytes = tear(server)

    server.start()
    _assert_stored(server, "meter", acked - torn)
    log = _log_stats(server)
    assert log["torn_bytes_dropped"] == torn_bytes > 0
    assert log["end"] == end  # the next record takes the torn one's place

    after = _post_all(server, token, range(1_001, 1_051))
    _assert_stored(server, "meter", (acked - torn) | after)
    assert _log_stats(server)["end"] == end + len(after)

    server.stop()
    server.start()  # the records written after the cut lie whole on disk
    _assert_stored(server, "meter", (acked - torn) | after)
    assert _log_stats(server)["torn_bytes_dropped"] == 0


# 3. a store file that lost its last batches


def test_an_older_store_file_is_replayed_up_to_the_log(
    aiot: Callable[..., AiotProcess], tmp_path: Path
) -> None:
    server = aiot(**{SEGMENT: SMALL})
    data, aside = server.data_dir, tmp_path / "store-aside"
    token = _devices(server, "meter")["meter"]
    first = _post_all(server, token, range(1, 201))
    server.stop()
    aside.mkdir()
    kept = [p.name for p in (data / STORE, data / f"{STORE}.wal") if p.exists()]
    for name in kept:
        shutil.copy2(data / name, aside / name)

    server.start()
    assert _log_stats(server)["start"] > 0  # the clean stop dropped the segments it had applied
    second = _post_all(server, token, range(201, 401))
    # This test is about the older file, not about queries: let the store take the whole log.
    assert _wait_for(lambda: _log_stats(server)["store"]["lag_points"] == 0, timeout=10)
    _assert_stored(server, "meter", first | second)  # the newer store holds both
    server.stop(signal.SIGKILL)
    (data / f"{STORE}.wal").unlink(missing_ok=True)
    for name in kept:
        shutil.copy2(aside / name, data / name)

    server.start()
    _assert_stored(server, "meter", first | second)
    log = _log_stats(server)
    assert log["store"]["applied"] == log["end"] == len(first | second)
