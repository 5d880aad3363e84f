"""``aiot up`` serving MQTT over TLS (``mqtts``) to paho and ``mosquitto_pub``, defaults kept."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
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

from tests.e2e.server import THINGSBOARD_SDK, AiotProcess

pytestmark = pytest.mark.slow


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _device_certificate(folder: Path, name: str) -> tuple[str, Path]:
    """A self-signed device certificate: its PEM, and one file with it and its key (no password)."""
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    both = folder / f"{name}.nopass.pem"  # as ThingsBoard's README names it
    both.write_bytes(pem + private)
    return pem.decode(), both


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


def _sdk(args: list[str]) -> dict[str, Any]:
    assert (THINGSBOARD_SDK / "tb_device_mqtt.py").exists(), "ThingsBoard's SDK: make install"
    env = {**os.environ, "PYTHONPATH": str(THINGSBOARD_SDK)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("thingsboard_sdk_tls.py")), *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_sdk_readme_tls_example_with_an_x509_certificate(
    tls_server: tuple[AiotProcess, Path], tmp_path: Path
) -> None:
    server, ca = tls_server
    _token(server, "tls-x509")
    pem, both = _device_certificate(tmp_path, "tls-x509")
    stranger_pem, stranger = _device_certificate(tmp_path, "stranger")  # never registered
    with server.admin() as api:
        given = api.put("/api/devices/tls-x509/certificate", json={"certificate": pem})
        assert given.status_code == 200, given.text
        assert len(given.json()["certificate_sha256"]) == 64
        bad = api.put("/api/devices/tls-x509/certificate", json={"certificate": "not a cert"})
        assert bad.status_code == 400
    args = ["127.0.0.1", str(server.mqtt_port), str(ca)]
    seen = _sdk([*args, str(both)])
    assert seen == {"connected": True, "telemetry": 0}  # TB_ERR_SUCCESS
    assert _latest(server, "tls-x509", "temperature") == 36.6
    assert not _sdk([*args, str(stranger)])["connected"]  # an unknown certificate
    with server.admin() as api:
        assert api.delete("/api/devices/tls-x509/certificate").status_code == 200
    assert not _sdk([*args, str(both)])["connected"]  # taken away: no longer accepted
    assert stranger_pem not in server.stop()
