"""``aiot up`` as a real process: devices, every payload form, queries, refusals, restarts."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow


def test_device_to_query_end_to_end(server: AiotProcess) -> None:
    made = server.cli("devices", "add", "well-7", "--type", "oilwell", "--json")
    assert made.returncode == 0, made.stderr
    device = json.loads(made.stdout)
    url = f"{server.url}/api/v1/{device['access_token']}/telemetry"
    forms = [
        {"whp": 101.5, "choke": "42"},
        {"ts": 1_000, "values": {"whp": 100.0, "status": "flowing"}},
        [{"ts": 2_000, "values": {"whp": 102.0}}, {"ts": 3_000, "values": {"whp": 104.0}}],
        [{"ts": 61_000, "values": {"whp": 110.0, "esd": False}}],
    ]
    for form in forms:
        assert httpx.post(url, json=form).status_code == 200, form
    with server.admin() as api:
        raw = api.get(f"/api/devices/{device['id']}/telemetry", params={"start": 0, "end": 100_000})
        assert [p["value"] for p in raw.json()["whp"]] == [100.0, 102.0, 104.0, 110.0]
        assert raw.json()["status"] == [{"ts": 1000, "value": "flowing"}]
        assert raw.json()["esd"] == [{"ts": 61000, "value": False}]
        latest = api.get(f"/api/devices/{device['id']}/latest", params={"keys": "whp,choke"}).json()
        assert latest["whp"]["value"] == 101.5 and latest["choke"]["value"] == 42.0
    agg = server.cli(
        "telemetry",
        "query",
        "well-7",
        "--keys",
        "whp",
        "--start",
        "0",
        "--end",
        "120000",
        "--interval",
        "1m",
        "--agg",
        "avg",
        "--json",
    )
    assert agg.returncode == 0, agg.stderr
    assert json.loads(agg.stdout)["whp"] == [
        {"ts": 0, "value": 102.0},
        {"ts": 60_000, "value": 110.0},
    ]
    table = server.cli("telemetry", "query", "well-7", "--start", "0", "--end", "5000")
    assert "flowing" in table.stdout and "1970-01-01T00:00:01.000" in table.stdout


def test_bad_input_is_refused_and_the_server_stays_up(server: AiotProcess) -> None:
    device = json.loads(server.cli("devices", "add", "meter", "--json").stdout)
    url = f"{server.url}/api/v1/{device['access_token']}/telemetry"
    assert (
        httpx.post(f"{server.url}/api/v1/wrong-token/telemetry", json={"a": 1}).status_code == 401
    )
    for body in (b"{", b"\x00\xff garbage", b'{"a": null}', b'{"ts": "x", "values": {"a": 1}}'):
        answer = httpx.post(url, content=body)
        assert answer.status_code == 400 and answer.json()["code"], body
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(b"\x10\x20garbage that is not HTTP\r\n\r\n")
        raw.recv(1024)
    assert httpx.post(url, json={"ok": 1}).status_code == 200
    assert server.alive()
    with server.admin() as api:
        stats = api.get("/api/ingest/stats").json()
        assert stats["rejected_messages"] == 4 and stats["accepted_points"] == 1
        assert stats["unknown_token_messages"] == 1
        reasons = [r["reason"] for r in api.get("/api/ingest/rejections").json()]
        assert sorted(reasons) == ["invalid_json", "invalid_json", "invalid_ts", "invalid_value"]
    missing = server.cli("devices", "remove", "no-such-device")
    assert missing.returncode != 0 and "no device" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_acknowledged_points_survive_a_kill(tmp_path: Path) -> None:
    server = AiotProcess(tmp_path / "aiot-data")
    server.start()
    first_output = ""
    try:
        device = json.loads(server.cli("devices", "add", "reactor-1", "--json").stdout)
        url = f"{server.url}/api/v1/{device['access_token']}/telemetry"
        for i in range(50):
            rows = [{"ts": i * 100 + j, "values": {"T": float(j)}} for j in range(100)]
            assert httpx.post(url, json=rows).status_code == 200
        first_output = server.stop(signal.SIGKILL)
        server.start()
        with server.admin() as api:
            got = api.get(
                f"/api/devices/{device['id']}/telemetry",
                params={"start": 0, "end": 10_000, "interval": "1h", "agg": "count"},
            ).json()
        assert got["T"] == [{"ts": 0, "value": 5000.0}]
    finally:
        second_output = server.stop()
    key = (server.data_dir / "admin.key").read_text().strip()
    assert key in first_output  # printed on the first start
    assert key not in second_output  # and only then


def test_port_in_use_is_one_clear_line(server: AiotProcess, tmp_path: Path) -> None:
    other = AiotProcess(tmp_path / "other")
    other.port = server.port
    with pytest.raises(RuntimeError) as caught:
        other.start(timeout=20)
    assert f"cannot listen on 127.0.0.1:{server.port}" in str(caught.value)


def test_mqtt_port_in_use_is_one_clear_line_before_any_banner(
    server: AiotProcess, tmp_path: Path
) -> None:
    other = AiotProcess(tmp_path / "other", env={"AIOT_MQTT__PORT": str(server.mqtt_port)})
    with pytest.raises(RuntimeError) as caught:
        other.start(timeout=20)
    output = str(caught.value).split("\n", 1)[1].strip()
    assert output == f"error: cannot listen for MQTT on 127.0.0.1:{server.mqtt_port}: " + (
        "Address already in use"
    )
    assert "aiot_admin_" not in output  # nothing announced
    assert server.alive()
