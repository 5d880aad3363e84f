"""A gateway written with ThingsBoard's own Python SDK (``TBGatewayMqttClient``), unchanged.

Run in its own process with the SDK on ``PYTHONPATH`` (its fork of paho must not replace the
one aiot's tests use): ``python thingsboard_sdk_gateway.py HOST PORT TOKEN DEVICE``. It speaks
for ``DEVICE``, prints one JSON line when it is ready for the test's attribute update and
command, one JSON line of what it saw after disconnecting the device, then waits for its stdin
to close before it disconnects itself.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from tb_gateway_mqtt import TBGatewayMqttClient  # type: ignore[import-not-found]


def _until(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(check())


def _ask(request: Any, seconds: float = 10.0) -> Any:
    """Call one of the SDK's attribute requests; the response it hands its callback."""
    answers: list[Any] = []
    done = threading.Event()

    def on_answer(content: Any, error: Any, *_: Any) -> None:
        answers.append(content if error is None else {"error": str(error)})
        done.set()

    request(on_answer)
    done.wait(seconds)
    return answers[0] if answers else None


def main(host: str, port: int, token: str, device: str) -> None:
    """Connect as a gateway, speak for ``device``, answer commands, report."""
    client = TBGatewayMqttClient(host, port=port, username=token)
    seen: dict[str, Any] = {"commands": [], "updates": []}

    def on_command(gateway: Any, content: dict[str, Any]) -> None:
        seen["commands"].append(content)
        data = content["data"]
        gateway.gw_send_rpc_reply(content["device"], data["id"], {"pong": data.get("params")})

    client.gw_set_server_side_rpc_request_handler(on_command)
    client.connect()
    seen["connected"] = _until(client.is_connected, 10)
    _until(lambda: not client.get_subscriptions_in_progress(), 10)
    seen["connect"] = client.gw_connect_device(device, "pump").get()
    seen["telemetry"] = client.gw_send_telemetry(device, {"temperature": 21.5}).get()
    seen["telemetry_ts"] = client.gw_send_telemetry(
        device, {"ts": 1767225600000, "values": {"temperature": 20.0}}
    ).get()
    seen["attributes"] = client.gw_send_attributes(device, {"firmware": "2.0"}).get()
    seen["client_attributes"] = _ask(
        lambda cb: client.gw_request_client_attributes(device, ["firmware"], cb)
    )
    client.gw_subscribe_to_attribute(device, "interval", seen["updates"].append)
    print(json.dumps({"ready": True}), flush=True)
    _until(lambda: seen["commands"] and seen["updates"], 20)
    seen["shared_attributes"] = _ask(
        lambda cb: client.gw_request_shared_attributes(device, ["interval"], cb)
    )
    seen["disconnect"] = client.gw_disconnect_device(device).get()
    seen["stayed_connected"] = client.is_connected()
    print(json.dumps(seen), flush=True)
    sys.stdin.readline()  # the test checks that the device is offline meanwhile
    client.disconnect()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
