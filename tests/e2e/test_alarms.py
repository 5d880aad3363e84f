"""A deployed model on a live device: a fault raises an alarm an operator works to a verdict.

Against ``aiot up`` as a real process: a device sends telemetry over HTTP and MQTT (paho), a
z-score detector scores it as it is acknowledged, a spike raises an alarm, the operator
acknowledges, comments and labels it with the CLI, and a SIGKILL loses neither the alarm nor
the model's state (scores after the restart continue where the checkpoint left them).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from typing import Any

import httpx
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.server import AiotProcess

pytestmark = [pytest.mark.services, pytest.mark.slow]

POLICY = {"threshold": 8.0, "hits": 2, "window": 3, "clear_after": 5, "type": "overheat"}
T0 = 1_767_225_600_000


def _rows(values: np.ndarray, first: int) -> list[dict[str, Any]]:
    return [
        {"ts": T0 + (first + i) * 1000, "values": {"temp": float(v)}} for i, v in enumerate(values)
    ]


def _post(token: str, url: str, rows: list[dict[str, Any]]) -> None:
    for part in range(0, len(rows), 100):
        answer = httpx.post(f"{url}/api/v1/{token}/telemetry", json=rows[part : part + 100])
        assert answer.status_code == 200, answer.text


def _wait(what: Any, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("not within the time allowed")


def _publish(port: int, token: str, rows: list[dict[str, Any]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pump-mqtt")
    client.username_pw_set(token)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish("v1/devices/me/telemetry", json.dumps(r), qos=1) for r in rows]
    for info in infos:
        info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def test_a_spike_raises_an_alarm_the_operator_labels(server: AiotProcess) -> None:
    api = server.admin()
    pump = api.post("/api/devices", json={"name": "pump-1", "type": "pump"}).json()
    made = api.post(
        "/api/deployments",
        json={
            "name": "pump-temp",
            "detector": "zscore",
            "keys": ["temp"],
            "selector": {"type": "pump"},
            "policy": POLICY,
        },
    )
    assert made.status_code == 201, made.text
    normal = 60.0 + np.random.default_rng(4).normal(0, 0.3, 600)
    _post(pump["access_token"], server.url, _rows(normal[:300], 0))
    _publish(server.mqtt_port, pump["access_token"], _rows(normal[300:400], 300))
    assert api.get("/api/alarms").json() == []  # normal data: quiet
    spike = normal[400:420] + np.r_[np.full(6, 25.0), np.zeros(14)]
    _post(pump["access_token"], server.url, _rows(spike, 400))
    alarms = _wait(lambda: api.get("/api/alarms", params={"device": "pump-1"}).json())
    alarm = alarms[0]
    assert alarm["type"] == "overheat"
    assert alarm["status"] in ("ACTIVE_UNACK", "CLEARED_UNACK")  # the spike was short
    assert T0 + 400_000 <= alarm["start_ms"] <= T0 + 402_000
    scores = api.get(
        f"/api/devices/{pump['id']}/telemetry",
        params={"keys": "score/pump-temp", "start": T0, "end": T0 + 10**7, "limit": 10_000},
    ).json()["score/pump-temp"]
    assert len(scores) == 420  # every acknowledged point scored once, HTTP and MQTT alike

    assert server.cli("alarms", "ack", alarm["id"]).returncode == 0
    said = server.cli("alarms", "comment", alarm["id"], "bearing noise heard on site")
    assert said.returncode == 0, said.stderr
    labelled = server.cli(
        "alarms",
        "verdict",
        alarm["id"],
        "--true",
        "--fault-type",
        "bearing_wear",
        "--root-cause",
        "worn bearing",
        "--lesson",
        "check lubrication monthly",
    )
    assert labelled.returncode == 0, labelled.stderr
    shown = api.get(f"/api/alarms/{alarm['id']}").json()
    assert shown["status"] in ("ACTIVE_ACK", "CLEARED_ACK")
    assert shown["verdict"]["fault_type"] == "bearing_wear"
    assert shown["comments"][0]["text"] == "bearing noise heard on site"
    window = shown["details"]["window"]["points"]["temp"]  # the data kept with the verdict
    assert max(window["value"]) > 80 and len(window["ts"]) >= 400
    stats = api.get("/api/alarms/stats").json()
    assert [(s["name"], s["confirmed"], s["precision"]) for s in stats] == [("pump-temp", 1, 1.0)]
    refused = subprocess.run(
        ["mosquitto_pub", "-p", str(server.mqtt_port), "-u", "not-a-token", "-t", "x", "-m", "1"],
        capture_output=True, timeout=10,
    )  # fmt: skip
    assert refused.returncode != 0

    time.sleep(6)  # past one checkpoint of the stream stage
    logged = server.stop(signal.SIGKILL)  # the server said what happened, one line each
    assert "INFO aiot: deployment pump-temp of default started: zscore on temp" in logged
    assert f"INFO aiot.stream: alarm raised: overheat on device {pump['id']}" in logged
    assert "refused: unknown access token" in logged
    server.start()
    _post(pump["access_token"], server.url, _rows(normal[420:600], 420))
    after = _wait(
        lambda: (
            len(
                api.get(
                    f"/api/devices/{pump['id']}/telemetry",
                    params={
                        "keys": "score/pump-temp",
                        "start": T0,
                        "end": T0 + 10**7,
                        "limit": 10_000,
                    },
                )
                .json()
                .get("score/pump-temp", [])
            )
            == 600
        )
    )
    assert after
    assert len(api.get("/api/alarms").json()) == 1  # neither lost nor raised twice
    api.close()


def test_another_tenants_deployments_and_alarms_are_invisible(server: AiotProcess) -> None:
    api = server.admin()
    api.post("/api/devices", json={"name": "pump-1", "type": "pump"})
    dep = api.post(
        "/api/deployments",
        json={"name": "d1", "detector": "zscore", "keys": ["temp"], "selector": {"type": "pump"}},
    ).json()
    api.post("/api/tenants", json={"id": "acme"})
    key = api.post("/api/tenants/acme/keys", json={"name": "ops", "role": "operator"}).json()
    other = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key['key']}"})
    assert other.get("/api/deployments").json() == []
    assert other.get(f"/api/deployments/{dep['id']}").status_code == 404
    assert other.delete(f"/api/deployments/{dep['id']}").status_code == 404
    bad = other.post(
        "/api/deployments",
        json={"name": "x", "detector": "nope", "keys": ["t"], "selector": {"type": "pump"}},
    )
    assert bad.status_code == 404
    bad = other.post(
        "/api/deployments",
        json={
            "name": "x",
            "detector": "zscore",
            "keys": ["t"],
            "selector": {"type": "pump"},
            "policy": {"hits": 9},
        },
    )
    assert bad.status_code == 400 and "hits" in bad.json()["message"]
    other.close()
    api.close()


def test_deploy_with_backfill_scores_history_with_a_progress_report(server: AiotProcess) -> None:
    api = server.admin()
    pump = api.post("/api/devices", json={"name": "pump-1", "type": "pump"}).json()
    now = int(time.time() * 1000)
    history = 60.0 + np.random.default_rng(5).normal(0, 0.3, 500)
    rows = [
        {"ts": now - (500 - i) * 60_000, "values": {"temp": float(v)}}
        for i, v in enumerate(history)
    ]
    _post(pump["access_token"], server.url, rows)
    made = server.cli(
        "deploy",
        "hist",
        "--detector",
        "zscore",
        "--keys",
        "temp",
        "--device",
        "pump-1",
        "--backfill",
        "1d",
    )
    assert made.returncode == 0, made.stderr
    assert "history scored:" in made.stdout and "device-days" in made.stdout
    scores = api.get(
        f"/api/devices/{pump['id']}/telemetry",
        params={"keys": "score/hist", "start": now - 2 * 86_400_000, "limit": 10_000},
    ).json()["score/hist"]
    assert len(scores) == 500
    api.close()
