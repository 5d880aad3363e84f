"""A device updating its firmware with ThingsBoard's own Python SDK, unchanged.

Run in its own process with the SDK on ``PYTHONPATH`` and a scratch folder as its working
directory (the SDK writes the firmware there, in a file named after its title)::

    python thingsboard_sdk_ota.py mqtt HOST PORT TOKEN CHUNK_SIZE
    python thingsboard_sdk_ota.py http URL TOKEN CHUNK_SIZE

It prints one JSON line: the firmware state the SDK reached and the bytes it wrote (hashed).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any


def _written() -> dict[str, Any]:
    """The files the SDK wrote in the working directory: name → sha256 of the bytes."""
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in Path().iterdir()}
    return {"files": files}


def over_mqtt(host: str, port: int, token: str, chunk_size: int) -> dict[str, Any]:
    """Connect, ask for the firmware, wait until the SDK says UPDATED (or FAILED)."""
    from tb_device_mqtt import TBDeviceMqttClient  # type: ignore[import-not-found]

    client = TBDeviceMqttClient(host, port=port, username=token, chunk_size=chunk_size)
    client.connect()
    deadline = time.monotonic() + 10
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    client.get_firmware_update()
    deadline = time.monotonic() + 40
    info = client.current_firmware_info
    while info["fw_state"] not in ("UPDATED", "FAILED") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # its last telemetry is on its way
    seen = {"connected": client.is_connected(), **info, **_written()}
    client.stop()
    client.disconnect()
    return seen


def over_http(url: str, token: str, chunk_size: int) -> dict[str, Any]:
    """Check for a firmware update once, as the SDK's HTTP client does, and report."""
    from tb_device_http import TBHTTPDevice  # type: ignore[import-not-found]

    client = TBHTTPDevice(url, token, chunk_size=chunk_size)
    # a device knows what it runs now; the SDK's default (None) is no telemetry value
    client.current_firmware_info = {"current_fw_title": "Initial", "current_fw_version": "v0"}
    client.connect()
    client.get_firmware_update()
    time.sleep(1.5)  # the queued telemetry (UPDATED last) is sent by its worker
    client.stop_publish_worker()
    return _written()


if __name__ == "__main__":
    if sys.argv[1] == "mqtt":
        seen = over_mqtt(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    else:
        seen = over_http(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    print(json.dumps(seen), flush=True)
