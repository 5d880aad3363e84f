"""Bridges against a real Mosquitto: templates, devices made on sight, broker and aiot restarts."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import free_port
from tests.e2e.mosquitto import Mosquitto
from tests.e2e.server import AiotProcess

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _publish(broker: Mosquitto, messages: list[tuple[str, str]]) -> None:
    """Publish with QoS 1 as a plant's own software would, waiting for the broker's acks."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="plant-plc")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def _site(first: int, count: int) -> list[tuple[str, str]]:
    return [
        ("site/well-7/json", json.dumps({"ts": ts, "values": {"whp": float(ts)}}))
        for ts in range(first, first + count)
    ]


def _wait_points(api: httpx.Client, device: str, key: str, want: int) -> list[Any]:
    deadline = time.monotonic() + 20
    points: list[Any] = []
    while time.monotonic() < deadline:
        response = api.get(f"/api/devices/{device}/telemetry", params={"keys": key, "start": 0})
        if response.status_code == 200:
            points = response.json().get(key, [])
            if len(points) >= want:
                return points
        time.sleep(0.2)
    return points


def test_bridge_survives_broker_and_aiot_restarts(tmp_path: Path, broker: Mosquitto) -> None:
    server = AiotProcess(tmp_path / "aiot-data")
    server.start()
    try:
        with server.admin() as api:
            _scenario(server, broker, api)
    finally:
        server.stop()


def _scenario(server: AiotProcess, broker: Mosquitto, api: httpx.Client) -> None:
    added = server.cli(
        "bridges", "add", "plant", broker.url, "--topic", "plant/{device}/{key}",
        "--topic", "site/{device}/json", "--create-devices", "--device-type", "oilwell",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert _wait_connected(api)
    _publish(broker, [("plant/pump-1/temp", "21.5"), ("plant/pump-1/state", "running")])
    _publish(broker, _site(1_000, 100))
    assert len(_wait_points(api, "well-7", "whp", 100)) == 100

    broker.stop()  # mid-stream: the bridge reconnects with backoff
    broker.start()
    _publish(broker, _site(2_000, 100))
    assert len(_wait_points(api, "well-7", "whp", 200)) == 200

    server.stop()  # the broker keeps these for the bridge's persistent session
    _publish(broker, _site(3_000, 100))
    server.start()
    points = _wait_points(api, "well-7", "whp", 300)
    assert sorted(p["ts"] for p in points) == [
        *range(1_000, 1_100), *range(2_000, 2_100), *range(3_000, 3_100)
    ]  # fmt: skip
    latest = api.get("/api/devices/pump-1/latest").json()
    assert latest["temp"]["value"] == 21.5 and latest["state"]["value"] == "running"
    assert api.get("/api/devices/well-7").json()["type"] == "oilwell"
    assert [b["name"] for b in api.get("/api/bridges").json()] == ["plant"]
    assert server.cli("bridges", "remove", "plant").returncode == 0
    assert api.get("/api/bridges").json() == []


def _wait_connected(api: httpx.Client) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(b["connected"] for b in api.get("/api/bridges").json()):
            return True
        time.sleep(0.1)
    return False


def test_a_poison_message_is_refused_and_the_bridge_goes_on(
    tmp_path: Path, broker: Mosquitto
) -> None:
    server = AiotProcess(tmp_path / "aiot-data")
    server.start()
    try:
        with server.admin() as api:
            _poison_scenario(broker, api)
    finally:
        output = server.stop()
    assert "bridge plant" not in output  # refused messages are counted, not a warning loop


def _poison_scenario(broker: Mosquitto, api: httpx.Client) -> None:
    topics = ["plant/{device}/{key}", "site/{device}/json"]
    body = {"name": "plant", "url": broker.url, "topics": topics, "create_devices": True}
    assert api.post("/api/bridges", json=body).status_code == 201
    assert _wait_connected(api)
    deep, digits = "[" * 100_000, "1" * 5_000
    nested = "[" * 1_000 + "]" * 1_000  # valid JSON, deeper than Python's recursion limit
    poison = [
        ("plant/pump-1/temp", deep),
        ("plant/pump-1/temp", digits),
        ("site/pump-1/json", json.dumps({"ts": 5, "values": {"v": 1}})[:-2] + deep),
        ("site/pump-1/json", '{"ts": 6, "values": {"v": ' + nested + "}}"),
    ]
    _publish(broker, [*poison, ("plant/pump-1/temp", "21.5")])
    assert [p["value"] for p in _wait_points(api, "pump-1", "temp", 1)] == [21.5]
    time.sleep(2)  # a redelivery loop would show by now
    (bridge,) = api.get("/api/bridges").json()
    assert bridge["connected"] and bridge["received"] == 5 and bridge["rejected"] == 4
    refused = api.get("/api/ingest/rejections", params={"limit": 10}).json()
    reasons = [r["reason"] for r in refused]
    assert len(reasons) == 4 and set(reasons) <= {"invalid_json", "invalid_value"}


def test_a_bridge_that_cannot_start_never_stops_aiot(tmp_path: Path) -> None:
    server = AiotProcess(tmp_path / "aiot-data")
    server.start()
    server.stop()
    # rows an older aiot accepted over the API: mqtts with a server path as the CA bundle
    bad = {"dir": "/etc", "device": "/dev/zero", "missing": str(tmp_path / "nope.pem")}
    with sqlite3.connect(server.data_dir / "catalog.sqlite") as db:
        for name, path in bad.items():
            db.execute(
                "INSERT INTO bridges (id, tenant_id, name, url, topics, create_devices,"
                " device_type, ca_file, created_at) VALUES (?, 'default', ?, ?, ?, 0, 'default',"
                " ?, '2026-01-01 00:00:00')",
                (str(uuid.uuid4()), name, "mqtts://127.0.0.1:8883", '["p/{device}/json"]', path),
            )
    server.start()
    try:
        with server.admin() as api:
            shown = {b["name"]: b for b in api.get("/api/bridges").json()}
            assert {n: b["state"] for n, b in shown.items()} == dict.fromkeys(bad, "failed")
            assert all("CA" in b["last_error"] for b in shown.values())
            one = api.get("/api/bridges/device").json()
            assert one["state"] == "failed" and not one["connected"]
            for name in bad:
                assert api.delete(f"/api/bridges/{name}").status_code == 204
            assert api.get("/api/bridges").json() == []
    finally:
        server.stop()


def test_a_deleted_device_seen_again_by_a_bridge_is_a_new_device(
    tmp_path: Path, broker: Mosquitto
) -> None:
    server = AiotProcess(tmp_path / "aiot-data")
    server.start()
    try:
        with server.admin() as api:
            body = {"name": "plant", "url": broker.url, "topics": ["plant/{device}/{key}"]}
            body |= {"create_devices": True}
            assert api.post("/api/bridges", json=body).status_code == 201
            assert _wait_connected(api)
            _publish(broker, [("plant/pump-1/temp", "20.0")])
            assert len(_wait_points(api, "pump-1", "temp", 1)) == 1
            first = api.get("/api/devices/pump-1").json()["id"]
            assert api.delete("/api/devices/pump-1").status_code == 204
            _publish(broker, [("plant/pump-1/temp", "22.0")])
            # stored for a device the API can see, never under the deleted one's id
            assert [p["value"] for p in _wait_points(api, "pump-1", "temp", 1)] == [22.0]
            assert api.get("/api/devices/pump-1").json()["id"] != first
    finally:
        server.stop()


def test_a_bridge_that_cannot_reach_its_broker_says_why(server: AiotProcess) -> None:
    closed = free_port()  # nothing listens there
    urls = {"nowhere": "mqtt://no-such-host.invalid:1883", "closed": f"mqtt://127.0.0.1:{closed}"}
    with server.admin() as api:
        for name, url in urls.items():
            body = {"name": name, "url": url, "topics": ["p/{device}/json"]}
            assert api.post("/api/bridges", json=body).status_code == 201
        deadline = time.monotonic() + 20
        shown: dict[str, Any] = {}
        while time.monotonic() < deadline:
            shown = {b["name"]: b for b in api.get("/api/bridges").json()}
            if all(b["last_error"] for b in shown.values()):
                break
            time.sleep(0.2)
    assert (
        "no-such-host.invalid:1883: the host name does not resolve"
        in shown["nowhere"]["last_error"]
    )
    assert (
        shown["closed"]["last_error"] == f"cannot connect to 127.0.0.1:{closed}: Connection refused"
    )
    assert not any(b["connected"] for b in shown.values())
    logged = server.stop()
    assert "WARNING aiot.bridge: bridge nowhere: cannot connect to no-such-host.invalid" in logged
