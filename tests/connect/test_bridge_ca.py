"""A bridge's CA bundle is uploaded PEM, checked before saving; no server path is accepted."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from aiot.app import Platform
from aiot.cli import bridges
from aiot.cli.main import app
from aiot.client import Client
from aiot.domain import Bridge


def _ca() -> tuple[str, str]:
    """A self-signed CA certificate and its key, as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plant CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key.decode()


def _bridge(**extra: Any) -> dict[str, Any]:
    return {"name": "plant", "url": "mqtts://127.0.0.1:1", "topics": ["p/{device}/json"], **extra}


@pytest.mark.parametrize(
    "ca_pem",
    [
        "/etc/ssl/certs/ca-certificates.crt",  # a path is not a bundle: nothing is read
        "/no/such/file.pem",
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        "x" * 100,
    ],
)
def test_a_bad_ca_bundle_is_refused_and_nothing_is_saved(
    api_client: TestClient, ca_pem: str
) -> None:
    refused = api_client.post("/api/bridges", json=_bridge(ca_pem=ca_pem))
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "invalid_input"
    assert "CA bundle" in refused.json()["message"]
    assert api_client.get("/api/bridges").json() == []


def test_the_answer_does_not_tell_whether_a_server_path_holds_a_bundle(
    api_client: TestClient,
) -> None:
    real = api_client.post(
        "/api/bridges", json=_bridge(ca_pem="/etc/ssl/certs/ca-certificates.crt")
    )
    missing = api_client.post("/api/bridges", json=_bridge(ca_pem="/etc/ssl/certs/nope.crt"))
    assert (real.status_code, real.json()["message"]) == (
        missing.status_code,
        missing.json()["message"],
    )


@pytest.mark.parametrize("path", ["/etc", "/dev/zero", "/etc/ssl/certs/ca-certificates.crt"])
def test_a_server_path_is_refused(api_client: TestClient, path: str) -> None:
    refused = api_client.post("/api/bridges", json=_bridge(ca_file=path))
    assert refused.status_code == 400
    assert [d["loc"][-1] for d in refused.json()["detail"]] == ["ca_file"]
    assert api_client.get("/api/bridges").json() == []


def test_a_private_key_is_never_kept(api_client: TestClient) -> None:
    cert, key = _ca()
    refused = api_client.post("/api/bridges", json=_bridge(ca_pem=cert + key))
    assert refused.status_code == 400 and "private key" in refused.json()["message"]
    assert api_client.get("/api/bridges").json() == []


def test_a_ca_bundle_is_only_for_mqtts(api_client: TestClient) -> None:
    cert, _ = _ca()
    body = _bridge(url="mqtt://127.0.0.1:1", ca_pem=cert)
    assert api_client.post("/api/bridges", json=body).status_code == 400


def test_a_valid_ca_bundle_is_kept_and_the_bridge_runs(api_client: TestClient) -> None:
    cert, _ = _ca()
    made = api_client.post("/api/bridges", json=_bridge(ca_pem=cert))
    assert made.status_code == 201, made.text
    assert made.json()["ca_pem_set"] is True and "ca_pem" not in made.json()
    shown = api_client.get("/api/bridges/plant").json()
    assert shown["state"] in ("connecting", "connected") and shown["ca_pem_set"]
    assert api_client.delete("/api/bridges/plant").status_code == 204


def test_the_cli_uploads_the_ca_file_it_reads(
    api_client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def client(_: object) -> Client:
        made = Client("http://testserver")
        made._http = api_client
        return made

    monkeypatch.setattr(bridges, "client_from", client)
    cert, _ = _ca()
    (tmp_path / "ca.pem").write_text(cert)
    args = ["bridges", "add", "plant", "mqtts://127.0.0.1:1", "--topic", "p/{device}/json"]
    done = CliRunner().invoke(app, [*args, "--ca-file", str(tmp_path / "ca.pem")])
    assert done.exit_code == 0, done.output
    assert api_client.get("/api/bridges/plant").json()["ca_pem_set"] is True
    missing = CliRunner().invoke(app, [*args, "--ca-file", str(tmp_path / "nope.pem")])
    assert missing.exit_code == 1 and "cannot read the CA bundle" in missing.output


def test_an_older_bridge_naming_a_ca_file_runs_or_fails_alone(
    platform_factory: Callable[..., Platform], tmp_path: Path
) -> None:
    platform = platform_factory()
    cert, _ = _ca()
    (tmp_path / "ca.pem").write_text(cert)
    old = Bridge(
        id="b1",
        tenant="default",
        name="old",
        url="mqtts://127.0.0.1:1",
        topics=("p/{device}/json",),
        created_at=dt.datetime.now(dt.UTC),
        ca_file=str(tmp_path / "ca.pem"),
    )
    platform.catalog.create_bridge(old)
    platform.catalog.create_bridge(replace(old, id="b2", name="bad", ca_file=str(tmp_path)))

    async def started() -> dict[str, Any]:
        await platform.bridges.start()
        shown = {b["name"]: b["state"] for b in platform.bridges.list("default")}
        await platform.bridges.stop()
        return shown

    assert asyncio.run(started()) == {"old": "connecting", "bad": "failed"}
