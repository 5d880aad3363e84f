"""Provisioning and claiming with ThingsBoard's own Python SDK, unchanged, as its README shows.

Run in its own process with the SDK on ``PYTHONPATH`` (its paho fork must not replace the one
aiot's tests use)::

    python thingsboard_sdk_provision.py mqtt HOST PORT KEY SECRET NAME CLAIM_SECRET
    python thingsboard_sdk_provision.py http URL KEY SECRET NAME CLAIM_SECRET
    python thingsboard_sdk_provision.py basic HOST PORT KEY SECRET NAME PASSWORD

It provisions the device, connects with the credentials it got, sends telemetry, offers itself
for claiming, and prints one JSON line of what it saw, for the test to check.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from tb_device_http import TBHTTPDevice  # type: ignore[import-not-found]
from tb_device_mqtt import TBDeviceMqttClient  # type: ignore[import-not-found]


def over_mqtt(host: str, port: int, key: str, secret: str, name: str, claim: str) -> Any:
    """``TBDeviceMqttClient.provision``, then connect with the token, send and claim."""
    credentials = TBDeviceMqttClient.provision(host, key, secret, port=port, device_name=name)
    seen: dict[str, Any] = {"credentials": credentials}
    if not credentials:
        return seen
    client = TBDeviceMqttClient(host, port=port, username=credentials["credentialsValue"])
    client.connect()
    deadline = time.monotonic() + 10
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    seen["connected"] = client.is_connected()
    seen["telemetry"] = client.send_telemetry({"temperature": 19.5}).get()
    seen["claim"] = client.claim(secret_key=claim, duration=60_000).get()
    client.disconnect()
    return seen


def basic(host: str, port: int, key: str, secret: str, name: str, password: str) -> Any:
    """``provision`` asking for MQTT basic credentials, then connect with them and send."""
    credentials = TBDeviceMqttClient.provision(
        host, key, secret, port=port, device_name=name,
        username=f"{name}-user", password=password, client_id=f"{name}-id",
    )  # fmt: skip
    seen: dict[str, Any] = {"credentials": credentials}
    if not credentials:
        return seen
    value = credentials["credentialsValue"]
    client = TBDeviceMqttClient(
        host, port=port, username=value["userName"], password=value["password"],
        client_id=value["clientId"],
    )  # fmt: skip
    client.connect()
    deadline = time.monotonic() + 10
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    seen["connected"] = client.is_connected()
    if seen["connected"]:
        seen["telemetry"] = client.send_telemetry({"flow": 4.5}).get()
    client.disconnect()
    return seen


def over_http(url: str, key: str, secret: str, name: str, claim: str) -> Any:
    """``TBHTTPDevice.provision``, then send telemetry and claim over HTTP."""
    device = TBHTTPDevice.provision(url, name, key, secret)
    seen: dict[str, Any] = {"token": device.token}
    device.send_telemetry({"temperature": 18.5}, queued=False)
    # the SDK has no claim method over HTTP: its own POST to {host}/api/v1/{token}/claim
    seen["claim"] = device._publish_data({"secretKey": claim, "durationMs": 60_000}, "claim")
    return seen


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    run = {
        "mqtt": lambda: over_mqtt(args[0], int(args[1]), *args[2:6]),
        "http": lambda: over_http(*args[:5]),
        "basic": lambda: basic(args[0], int(args[1]), *args[2:6]),
    }
    print(json.dumps(run[mode]()), flush=True)
