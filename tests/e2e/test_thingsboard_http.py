"""ThingsBoard's own HTTP device client (``tb_device_http.TBHTTPDevice``) against ``aiot up``."""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.server import THINGSBOARD_SDK, AiotProcess

pytestmark = pytest.mark.slow


def _until(check: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError("not seen in time")


def _sdk_http() -> Any:
    """ThingsBoard's HTTP client, from the SDK that ``make install`` keeps beside the venv."""
    sdk = THINGSBOARD_SDK
    assert (sdk / "tb_device_http.py").exists(), f"ThingsBoard's SDK is not in {sdk}: make install"
    if str(sdk) not in sys.path:
        sys.path.append(str(sdk))  # last: its fork of paho never shadows the paho of the tests
    return importlib.import_module("tb_device_http")


def _device(server: AiotProcess, name: str) -> Any:
    made = server.cli("devices", "add", name, "--json")
    assert made.returncode == 0, made.stderr
    client = _sdk_http().TBHTTPDevice(server.url, json.loads(made.stdout)["access_token"])
    # the SDK long-polls for 30 s; a shorter poll lets `aiot up` stop promptly after the test
    client._TBHTTPDevice__config["timeout"] = 2
    return client


def test_tb_http_device_connects_and_its_data_is_stored(server: AiotProcess) -> None:
    device = _device(server, "tb-http-1")
    assert device.connect()  # its connection test posts {} to /telemetry
    device.send_telemetry({"temperature": 21.5})  # queued: sent by its worker after the test
    device.send_attributes({"fw": "1.0"})
    with server.admin() as api:
        latest = _until(lambda: api.get("/api/devices/tb-http-1/latest").json().get("temperature"))
        assert latest["value"] == 21.5
        assert api.get("/api/devices/tb-http-1/attributes").json()["client"] == {"fw": "1.0"}
    assert device.request_attributes()["client"] == {"fw": "1.0"}
    assert abs(device.send_rpc("getCurrentTime")["currentTime"] - time.time() * 1000) < 60_000
    device.stop_publish_worker()


def test_tb_http_device_answers_a_command_by_long_poll(server: AiotProcess) -> None:
    device = _device(server, "tb-http-2")

    def on_command(command: dict[str, Any]) -> None:
        device.send_rpc("answer", {"n": command["params"]["n"] + 1}, rpc_id=command["id"])

    device.subscribe("rpc", on_command)
    with server.admin() as api:

        def sent() -> Any:
            answer = api.post(
                "/api/devices/tb-http-2/rpc", json={"method": "add", "params": {"n": 1}}
            )
            return None if answer.status_code == 409 else answer  # not polling yet

        answer = _until(sent)
    device.unsubscribe("rpc")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"method": "answer", "params": {"n": 2}}


def test_tb_http_device_receives_shared_attribute_updates(server: AiotProcess) -> None:
    device = _device(server, "tb-http-3")
    seen: list[dict[str, Any]] = []
    device.subscribe("attributes", seen.append)  # GET /attributes/updates, again and again
    with server.admin() as api:
        for value in (30, 31):  # the second arrives on a later poll, or waits for one
            done = api.post("/api/devices/tb-http-3/attributes/shared", json={"setpoint": value})
            assert done.status_code == 200, done.text
            _until(lambda v=value: {"setpoint": v} in seen)  # type: ignore[misc]
    device.unsubscribe("attributes")
    assert seen == [{"setpoint": 30}, {"setpoint": 31}]
