"""The dashboard in a real browser against ``aiot up``: sign in, a live chart, an alarm worked
to a verdict in two clicks, a viewer without write controls, a tenant that sees only its own.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
import pytest
from selenium.webdriver.common.by import By

from tests.e2e.server import AiotProcess
from tests.ui.conftest import Browser, wait

pytestmark = [pytest.mark.services, pytest.mark.slow]

POLICY = {"threshold": 8.0, "hits": 2, "window": 3, "clear_after": 5, "type": "overheat"}


def _key(api: httpx.Client, role: str, tenant: str = "default") -> str:
    made = api.post(f"/api/tenants/{tenant}/keys", json={"name": role, "role": role})
    assert made.status_code == 201, made.text
    secret: str = made.json()["key"]
    return secret


def _send(server: AiotProcess, token: str, values: Any, last_ms: int) -> None:
    """One point a second of ``temp``, the last at ``last_ms``."""
    first = last_ms - (len(values) - 1) * 1000
    rows = [{"ts": first + i * 1000, "values": {"temp": float(v)}} for i, v in enumerate(values)]
    for part in range(0, len(rows), 200):
        sent = httpx.post(f"{server.url}/api/v1/{token}/telemetry", json=rows[part : part + 200])
        assert sent.status_code == 200, sent.text


def _now() -> int:
    return int(time.time() * 1000)


def test_sign_in_and_watch_a_device_chart_move(
    server: AiotProcess, browser: Browser, api: httpx.Client
) -> None:
    pump = api.post("/api/devices", json={"name": "pump-live", "type": "pump"}).json()
    _send(server, pump["access_token"], 60 + np.sin(np.arange(300) / 10), _now() - 5000)
    browser.sign_in_with_key(_key(api, "operator"))
    browser.shot("fleet")
    assert "pump-live" in browser.find(".aiot-fleet").text
    browser.open(f"/devices/{pump['id']}")
    assert browser.find(".aiot-device-name").text == "pump-live"
    drawn = wait(browser.chart_points)
    assert drawn == [300]
    browser.shot("device")
    _send(server, pump["access_token"], [61.0, 62.0, 63.0], _now())
    moved = wait(lambda: browser.chart_points() == [303])
    assert moved  # without a reload
    assert "3 points received" in browser.find(".aiot-live").text


def test_an_operator_sets_a_shared_attribute_and_sends_a_command(
    server: AiotProcess, browser: Browser, api: httpx.Client
) -> None:
    pump = api.post("/api/devices", json={"name": "pump-attr"}).json()
    sent = httpx.post(f"{server.url}/api/v1/{pump['access_token']}/attributes", json={"fw": "1.2"})
    assert sent.status_code == 200, sent.text
    browser.sign_in_with_key(_key(api, "operator"))
    browser.open(f"/devices/{pump['id']}")
    assert 'fw = "1.2"' in browser.find(".aiot-attributes").text  # the device's own
    browser.type(".aiot-attr-key", "setpoint")
    browser.type(".aiot-attr-value", "42")
    browser.click(".aiot-attr-set")
    wait(lambda: "setpoint = 42" in browser.find(".aiot-attributes").text)
    shared = api.get(f"/api/devices/{pump['id']}/attributes", params={"scope": "shared"}).json()
    assert shared == {"shared": {"setpoint": 42}}
    browser.type(".aiot-method", "reboot")
    browser.click(".aiot-send")
    answer = wait(lambda: browser.find(".aiot-answer").text)
    assert answer.startswith("device_offline")  # not connected: said, not hung
    browser.shot("device-attributes")


def test_an_alarm_is_acknowledged_and_labelled_in_two_clicks(
    server: AiotProcess, browser: Browser, api: httpx.Client
) -> None:
    pump = api.post("/api/devices", json={"name": "pump-hot", "type": "hot"}).json()
    made = api.post(
        "/api/deployments",
        json={
            "name": "hot-temp",
            "detector": "zscore",
            "keys": ["temp"],
            "selector": {"type": "hot"},
            "policy": POLICY,
        },
    )
    assert made.status_code == 201, made.text
    values = 60 + np.random.default_rng(4).normal(0, 0.3, 420)
    values[400:406] += 25.0
    _send(server, pump["access_token"], values, _now() - 1000)
    wait(lambda: api.get("/api/alarms", params={"device": "pump-hot"}).json())
    browser.sign_in_with_key(_key(api, "operator"))
    browser.open(f"/devices/{pump['id']}")
    wait(browser.chart_points)
    browser.shot("device-alarm")
    browser.open(f"/alarms?device={pump['id']}")
    browser.find(".aiot-alarm")
    browser.click(".aiot-plot")  # the alarm's data beside it
    browser.find(".aiot-alarm-chart")
    plotted = wait(lambda: browser.chart_points(".aiot-alarm-chart"))
    assert sum(plotted) > 100  # temp, its score and threshold around the spike
    browser.shot("alarms")
    browser.click(".aiot-ack")
    wait(lambda: "_ACK" in browser.find(".aiot-alarm .aiot-status").text)
    browser.click(".aiot-false")
    assert browser.find(".aiot-verdict-dialog").text.startswith("False alarm")
    browser.click(".aiot-verdict-dialog .aiot-cancel")
    wait(lambda: not browser.all(".aiot-verdict-dialog"))
    browser.click(".aiot-true")  # one click opens the verdict…
    browser.type(".aiot-fault-type", "bearing_wear")
    browser.shot("verdict")
    browser.click(".aiot-save-verdict")  # …and the second saves it
    verdict = wait(lambda: browser.find(".aiot-verdict").text)
    assert "real fault" in verdict and "bearing_wear" in verdict
    alarm = api.get("/api/alarms", params={"device": "pump-hot"}).json()[0]
    assert alarm["acknowledged"] and alarm["verdict"]["true_alarm"]
    assert alarm["verdict"]["fault_type"] == "bearing_wear"
    browser.shot("alarms-labelled")


def test_an_alarm_appears_on_the_open_alarms_page(
    server: AiotProcess, browser: Browser, api: httpx.Client
) -> None:
    pump = api.post("/api/devices", json={"name": "pump-watch", "type": "watch"}).json()
    spec = {"name": "watch", "detector": "zscore", "keys": ["temp"], "policy": POLICY}
    made = api.post("/api/deployments", json={**spec, "selector": {"type": "watch"}})
    assert made.status_code == 201, made.text
    values = 60 + np.random.default_rng(6).normal(0, 0.3, 420)
    _send(server, pump["access_token"], values[:400], _now() - 21_000)
    browser.sign_in_with_key(_key(api, "viewer"))
    browser.open(f"/alarms?device={pump['id']}")
    browser.find(".aiot-no-alarms")
    _send(server, pump["access_token"], values[400:] + 25.0, _now())
    assert "overheat" in browser.find(".aiot-alarm", 40).text  # without a reload


def test_a_viewer_sees_no_write_controls(
    server: AiotProcess, browser: Browser, api: httpx.Client
) -> None:
    pump = api.post("/api/devices", json={"name": "pump-view", "type": "view"}).json()
    spec = {"name": "view", "detector": "zscore", "keys": ["temp"], "policy": POLICY}
    made = api.post("/api/deployments", json={**spec, "selector": {"type": "view"}})
    assert made.status_code == 201, made.text
    values = 60 + np.random.default_rng(5).normal(0, 0.3, 420)
    values[400:406] += 25.0
    _send(server, pump["access_token"], values, _now() - 1000)
    made = api.post(
        "/api/tenants/default/users",
        json={"name": "vera", "password": "viewer-pass", "role": "viewer"},
    )
    assert made.status_code == 201, made.text
    browser.sign_in_as("vera", "viewer-pass")
    assert "vera · default · viewer" in browser.find(".aiot-who").text
    assert not browser.all(".aiot-add-device")
    browser.shot("fleet-viewer")
    browser.open(f"/devices/{pump['id']}")
    wait(browser.chart_points)
    assert not browser.all(".aiot-shared-form") and not browser.all(".aiot-command")
    browser.shot("device-viewer")
    browser.open("/alarms")
    browser.find(".aiot-alarm")
    buttons = ".aiot-ack, .aiot-clear, .aiot-true, .aiot-false, .aiot-comment"
    assert not browser.all(buttons)
    browser.shot("alarms-viewer")
    browser.sign_out()
    browser.open("/")
    browser.find(".aiot-key")  # signed out: back to sign-in


def test_a_wrong_password_or_a_revoked_key_signs_nobody_in(
    server: AiotProcess, browser: Browser, api: httpx.Client
) -> None:
    browser.open("/login")
    browser.type(".aiot-login", "nobody")
    browser.type(".aiot-password", "not-the-password")
    browser.click(".aiot-signin-user")
    wait(lambda: "wrong" in browser.find(".q-notification").text)
    assert browser.driver.current_url.endswith("/login")
    made = api.post("/api/tenants/default/keys", json={"name": "brief", "role": "operator"})
    key = made.json()
    browser.sign_in_with_key(key["key"])
    assert api.delete(f"/api/tenants/default/keys/{key['id']}").status_code == 204
    browser.type(".aiot-new-name", "made-after-revoke")  # the page is still open…
    browser.click(".aiot-add")
    wait(lambda: "sign in again" in browser.find(".q-notification").text)  # …its controls not
    assert api.get("/api/devices/made-after-revoke").status_code == 404
    browser.open("/alarms")
    browser.find(".aiot-key")  # the session ended with its key
    assert browser.driver.current_url.endswith("/login")


def test_another_tenants_device_shows_nothing_of_it(
    server: AiotProcess, browser: Browser, api: httpx.Client
) -> None:
    secret = api.post("/api/devices", json={"name": "pump-secret"}).json()
    assert api.post("/api/tenants", json={"id": "acme"}).status_code == 201
    browser.sign_in_with_key(_key(api, "admin", "acme"))
    assert "pump-secret" not in browser.find(".aiot-fleet").text
    browser.open(f"/devices/{secret['id']}")
    assert browser.find(".aiot-missing").text == "No such device."
    page = browser.driver.page_source
    assert "pump-secret" not in page and secret["access_token"] not in page
    browser.shot("device-other-tenant")


def test_models_page_pauses_and_resumes_a_deployment(
    server: AiotProcess, browser: Browser, api: httpx.Client
) -> None:
    made = api.post(
        "/api/deployments",
        json={
            "name": "paused-one",
            "detector": "zscore",
            "keys": ["x"],
            "selector": {"type": "none"},
        },
    )
    assert made.status_code == 201, made.text
    browser.sign_in_with_key(_key(api, "operator"))
    browser.open("/models")
    card = wait(
        lambda: next((c for c in browser.all(".aiot-deployment") if "paused-one" in c.text), None)
    )
    card.find_element(By.CSS_SELECTOR, ".aiot-toggle").click()
    wait(lambda: api.get("/api/deployments/paused-one").json()["paused"])
    browser.shot("models")
    wait(lambda: any("RESUME" in c.text.upper() for c in browser.all(".aiot-deployment")))


def test_an_operator_adds_a_device_and_gets_its_snippets(
    server: AiotProcess, browser: Browser, api: httpx.Client
) -> None:
    browser.sign_in_with_key(_key(api, "operator"))
    browser.type(".aiot-new-name", "meter-new")
    browser.click(".aiot-add")
    dialog = browser.find(".aiot-token-dialog")
    token = api.get("/api/devices/meter-new").json()["access_token"]
    for text in (token, "curl -X POST", "mosquitto_pub", "TBDeviceMqttClient"):
        assert text in dialog.text
    browser.shot("add-device")
