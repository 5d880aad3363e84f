"""``aiot up`` serving MQTT over TLS (``mqtts``) to paho and ``mosquitto_pub``, defaults kept."""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("aiot test CA"))
        .issuer_name(_name("aiot test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[AiotProcess, Path]]:
    ca, cert, key = _certificates(tmp_path)
    env = {"AIOT_MQTT__TLS_CERT": str(cert), "AIOT_MQTT__TLS_KEY": str(key)}
    proc = AiotProcess(tmp_path / "aiot-data", env=env)
    proc.start()
    yield proc, ca
    proc.stop()


def _token(server: AiotProcess, name: str) -> str:
    made = server.cli("devices", "add", name, "--json")
    assert made.returncode == 0, made.stderr
    token: str = json.loads(made.stdout)["access_token"]
    return token


def _latest(server: AiotProcess, device: str, key: str) -> Any:
    with server.admin() as api:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = api.get(f"/api/devices/{device}/latest").json().get(key)
            if found:
                return found["value"]
            time.sleep(0.1)
    raise AssertionError(f"{key} of {device} never stored")


def test_paho_over_tls_is_stored_and_plain_mqtt_is_refused(
    tls_server: tuple[AiotProcess, Path],
) -> None:
    server, ca = tls_server
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(_token(server, "tls-1"))
    client.tls_set(ca_certs=str(ca))  # the server's name is checked against its certificate
    client.connect("127.0.0.1", server.mqtt_port)
    client.loop_start()
    try:
        sent = client.publish("v1/devices/me/telemetry", '{"t": 7}', qos=1)
        sent.wait_for_publish(10)
        assert sent.is_published()  # PUBACK: durable
    finally:
        client.loop_stop()
        client.disconnect()
    assert _latest(server, "tls-1", "t") == 7
    # plain MQTT on the TLS port: the handshake fails, aiot carries on
    with socket.create_connection(("127.0.0.1", server.mqtt_port), timeout=5) as plain:
        plain.sendall(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00")
        try:
            answer = plain.recv(16)
        except (ConnectionResetError, TimeoutError):
            answer = b""
        assert not answer.startswith(b"\x20")  # never a CONNACK
    assert server.alive()


@pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto-clients missing")
def test_mosquitto_pub_over_tls(tls_server: tuple[AiotProcess, Path]) -> None:
    server, ca = tls_server
    token = _token(server, "tls-2")
    sent = subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(server.mqtt_port), "--cafile", str(ca),
         "-u", token, "-q", "1", "-t", "v1/devices/me/telemetry", "-m", '{"t": 8}'],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert _latest(server, "tls-2", "t") == 8
