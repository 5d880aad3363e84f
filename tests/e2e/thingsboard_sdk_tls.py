"""ThingsBoard's SDK README example "MQTT using TLS", unchanged: no token, a client certificate.

Run in its own process with the SDK on ``PYTHONPATH``: ``python thingsboard_sdk_tls.py HOST
PORT CA_FILE CERT_FILE``. It prints one JSON line: connected, and the telemetry's result.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from tb_device_mqtt import TBDeviceMqttClient  # type: ignore[import-not-found]


def main(host: str, port: int, ca_certs: str, cert_file: str) -> dict[str, Any]:
    """As the README: ``TBDeviceMqttClient(host)``, ``connect(tls=True, ca_certs, cert_file)``."""
    client = TBDeviceMqttClient(host, port=port)
    try:
        client.connect(tls=True, ca_certs=ca_certs, cert_file=cert_file)
    except OSError as err:  # a certificate the server does not accept: the handshake fails
        return {"connected": False, "refused": type(err).__name__}
    deadline = time.monotonic() + 10
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    seen: dict[str, Any] = {"connected": client.is_connected()}
    if seen["connected"]:
        seen["telemetry"] = client.send_telemetry({"temperature": 36.6}).get()
    client.disconnect()
    return seen


if __name__ == "__main__":
    host, port, ca, cert = sys.argv[1:5]
    print(json.dumps(main(host, int(port), ca, cert)))
