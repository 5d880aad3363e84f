"""A device written with ThingsBoard's own Python SDK, unchanged, as its README shows it.

Run in its own process with the SDK on ``PYTHONPATH`` (it brings its own fork of paho, which
must not replace the one aiot's tests use): ``python thingsboard_sdk_device.py HOST PORT TOKEN
SECONDS``. It prints one JSON line of what it saw, for the test to check.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from tb_device_mqtt import TBDeviceMqttClient  # type: ignore[import-not-found]


def main(host: str, port: int, token: str, seconds: float) -> dict[str, Any]:
    """Connect with the SDK's defaults, send, answer commands, and report."""
    client = TBDeviceMqttClient(host, port=port, username=token)
    commands: list[Any] = []

    def on_command(request_id: Any, body: dict[str, Any]) -> None:
        commands.append(body)
        client.send_rpc_reply(request_id, {"pong": body.get("params")})

    client.set_server_side_rpc_request_handler(on_command)
    client.connect()
    deadline = time.monotonic() + 10
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    seen: dict[str, Any] = {"connected": client.is_connected()}
    seen["telemetry"] = client.send_telemetry({"temperature": 21.5}).get()
    seen["telemetry_ts"] = client.send_telemetry(
        {"ts": 1767225600000, "values": {"temperature": 20.0}}
    ).get()
    seen["attributes"] = client.send_attributes({"firmware": "1.0.3"}).get()
    answered = threading.Event()
    client_rpc: list[Any] = []

    def on_answer(_request_id: Any, answer: Any, *_: Any) -> None:
        client_rpc.append(answer)
        answered.set()

    client.send_rpc_call("getCurrentTime", {}, on_answer)
    answered.wait(5)
    seen["client_rpc"] = client_rpc
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # ThingsBoard's SDK must not be dropped meanwhile
        samples.append(client.is_connected())
        time.sleep(0.1)
    seen["stayed_connected"] = all(samples)
    seen["commands"] = commands
    client.disconnect()
    return seen


if __name__ == "__main__":
    host, port, token, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    print(json.dumps(main(host, port, token, seconds)), flush=True)
