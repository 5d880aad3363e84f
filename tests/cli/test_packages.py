"""``aiot packages``: upload, assign, status and rollout through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from aiot.cli import packages
from aiot.cli.main import app
from aiot.client import Client


@pytest.fixture
def cli(api_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The CLI talks to the app of ``api_client``."""

    def client(_: object) -> Client:
        made = Client("http://testserver")
        made._http = api_client
        return made

    monkeypatch.setattr(packages, "client_from", client)
    return api_client


def _aiot(*args: str) -> Result:
    result = CliRunner().invoke(app, ["packages", *args])
    assert result.exit_code == 0, result.output
    return result


def test_upload_assign_and_follow_a_rollout(cli: TestClient, tmp_path: Path) -> None:
    token = cli.post("/api/devices", json={"name": "pump-1"}).json()["access_token"]
    firmware = tmp_path / "pump-fw-2.bin"
    firmware.write_bytes(b"\x00firmware\xff")
    made = json.loads(
        _aiot("upload", str(firmware), "--title", "pump-fw", "--version", "2", "--json").stdout
    )
    assert made["file_name"] == "pump-fw-2.bin" and made["size"] == 10
    assert "pump-fw" in _aiot("list").stdout
    _aiot("assign", made["id"], "--device", "pump-1")
    report = {"fw_state": "UPDATED", "current_fw_title": "pump-fw", "current_fw_version": "2"}
    cli.post(f"/api/v1/{token}/telemetry", json=report).raise_for_status()
    status = json.loads(_aiot("status", "pump-1", "--json").stdout)
    assert status["state"] == "UPDATED" and status["package"]["id"] == made["id"]
    assert "UPDATED" in _aiot("rollout", made["id"]).stdout
    _aiot("unassign", "--device", "pump-1")
    _aiot("remove", made["id"])
    assert json.loads(_aiot("list", "--json").stdout) == []


def test_assign_names_one_target(cli: TestClient) -> None:
    result = CliRunner().invoke(app, ["packages", "assign", "x"])
    assert result.exit_code != 0 and "--device or --profile" in result.output
