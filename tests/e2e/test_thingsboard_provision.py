"""ThingsBoard's own SDK, unchanged, provisions and offers devices for claiming on ``aiot up``.

``TBDeviceMqttClient.provision`` (MQTT) and ``TBHTTPDevice.provision`` (HTTP) get a token from
a profile's key and secret; the device then sends with it and offers itself; a user claims it
over REST. Another tenant sees neither the profile nor the claim. The SDK runs in its own
process (``thingsboard_sdk_provision.py``): it brings a fork of paho.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.e2e.server import THINGSBOARD_SDK as SDK
from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow


def _sdk(*args: str) -> dict[str, Any]:
    assert (SDK / "tb_device_mqtt.py").exists(), f"ThingsBoard's SDK is not in {SDK}: make install"
    script = os.path.join(os.path.dirname(__file__), "thingsboard_sdk_provision.py")
    env = {**os.environ, "PYTHONPATH": str(SDK)}
    done = subprocess.run(
        [sys.executable, script, *args], env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _profile(api: httpx.Client, name: str, provision: str) -> dict[str, Any]:
    made = api.post("/api/profiles", json={"name": name, "provision": provision})
    assert made.status_code == 201, made.text
    return dict(made.json())


def _claimed(api: httpx.Client, name: str, secret: str, **headers: str) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:  # the offer is stored once the device's message is read
        answer = api.post(f"/api/devices/{name}/claim", json={"secretKey": secret}, headers=headers)
        if answer.status_code != 400 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_sdk_provisions_over_mqtt_sends_and_is_claimed(server: AiotProcess) -> None:
    with server.admin() as api:
        meter = _profile(api, "meter", "allow_create")
        key, secret = meter["provision_key"], meter["provision_secret"]
        port = str(server.mqtt_port)
        seen = _sdk("mqtt", "127.0.0.1", port, key, secret, "tb-meter-1", "claim-me")
        credentials = seen["credentials"]
        assert credentials["status"] == "SUCCESS", seen
        assert credentials["credentialsType"] == "ACCESS_TOKEN"
        assert seen["connected"] and seen["telemetry"] == 0 and seen["claim"] == 0
        device = api.get("/api/devices/tb-meter-1").json()
        assert device["type"] == "meter"
        assert device["access_token"] == credentials["credentialsValue"]
        stored = api.get("/api/devices/tb-meter-1/telemetry", params={"start": 0}).json()
        assert [p["value"] for p in stored["temperature"]] == [19.5]
        again = _sdk("mqtt", "127.0.0.1", port, key, secret, "tb-meter-1", "x")
        assert again["credentials"] is None  # the SDK's answer to FAILURE: provisioned once
        api.post("/api/tenants", json={"id": "other"})
        other = {"X-Aiot-Tenant": "other"}
        assert api.get("/api/profiles", headers=other).json() == []
        assert _claimed(api, "tb-meter-1", "claim-me", **other).status_code == 404
        won = _claimed(api, "tb-meter-1", "claim-me")
        assert won.status_code == 200, won.text
        assert won.json()["response"] == "SUCCESS" and won.json()["device"]["owner"] == "admin"


def test_sdk_provisions_over_http_and_is_claimed(server: AiotProcess) -> None:
    with server.admin() as api:
        pump = _profile(api, "pump", "check_pre_provisioned")
        key, secret = pump["provision_key"], pump["provision_secret"]
        made = api.post("/api/devices", json={"name": "tb-pump-1", "type": "pump"}).json()
        seen = _sdk("http", server.url, key, secret, "tb-pump-1", "h-secret")
        assert seen["token"] == made["access_token"]  # pre-provisioned: its own credentials
        assert seen["claim"] == {}
        stored = api.get("/api/devices/tb-pump-1/telemetry", params={"start": 0}).json()
        assert [p["value"] for p in stored["temperature"]] == [18.5]
        won = _claimed(api, "tb-pump-1", "h-secret")
        assert won.status_code == 200 and won.json()["response"] == "SUCCESS", won.text
        refused = httpx.post(
            f"{server.url}/api/v1/provision",
            json={"deviceName": "tb-pump-2", "provisionDeviceKey": key,
                  "provisionDeviceSecret": secret},
        )  # fmt: skip
        assert refused.json() == {"status": "FAILURE", "errorMsg": "Failed to provision device!"}
        rejected = api.get("/api/ingest/rejections").json()
        assert any(r["reason"] == "provision_failed" for r in rejected), rejected


def test_sdk_provisions_mqtt_basic_credentials_and_connects_with_them(server: AiotProcess) -> None:
    with server.admin() as api:
        meter = _profile(api, "meter", "allow_create")
        key, secret = meter["provision_key"], meter["provision_secret"]
        seen = _sdk("basic", "127.0.0.1", str(server.mqtt_port), key, secret, "tb-m2", "pw-9")
        assert seen["credentials"]["credentialsType"] == "MQTT_BASIC", seen
        assert seen["credentials"]["credentialsValue"] == {
            "clientId": "tb-m2-id", "userName": "tb-m2-user", "password": "pw-9",
        }  # fmt: skip
        assert seen["connected"] and seen["telemetry"] == 0
        device = api.get("/api/devices/tb-m2").json()
        assert device["mqtt_basic"] == {"client_id": "tb-m2-id", "username": "tb-m2-user"}
        stored = api.get("/api/devices/tb-m2/telemetry", params={"start": 0}).json()
        assert [p["value"] for p in stored["flow"]] == [4.5]
