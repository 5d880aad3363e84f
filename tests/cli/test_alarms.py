"""``aiot alarms``: list with filters, show, ack, clear, comment, verdict and stats."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from aiot.app import Platform
from aiot.cli import alarms as alarms_cli
from aiot.cli.main import app
from aiot.client import Client
from aiot.domain import Severity


@pytest.fixture
def raised(api_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Two alarms of deployment pump-z (pump-1 MAJOR, then pump-2 CRITICAL); the CLI is wired."""
    pumps = [api_client.post("/api/devices", json={"name": f"pump-{i}"}).json() for i in (1, 2)]
    spec = {"name": "pump-z", "detector": "zscore", "keys": ["t"], "selector": {"type": "default"}}
    api_client.post("/api/deployments", json=spec)
    platform: Platform = api_client.app.state.platform  # type: ignore[attr-defined]
    made = [
        platform.catalog.raise_alarm("default", "anomaly", pump["id"], severity, ts, "pump-z")[0]
        for pump, severity, ts in zip(
            pumps, (Severity.MAJOR, Severity.CRITICAL), (1_000, 2_000), strict=True
        )
    ]

    def client(_: object) -> Client:
        made = Client("http://testserver")
        made._http = api_client
        return made

    monkeypatch.setattr(alarms_cli, "client_from", client)
    return [alarm.public() for alarm in made]


def _aiot(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, ["alarms", *args], env={"COLUMNS": "200"})  # tables unfolded
    assert result.exit_code == code, result.output
    return result


def _listed(*args: str) -> list[str]:
    return [a["id"] for a in json.loads(_aiot("list", "--json", *args).stdout)]


def test_list_filters_and_shows_names(raised: list[dict[str, Any]]) -> None:
    first, second = (a["id"] for a in raised)
    assert _listed() == [second, first]
    assert _listed("--device", "pump-1") == [first]
    assert _listed("--severity", "critical") == [second]  # any case
    assert _listed("--status", "active_unack", "--limit", "1") == [second]
    assert _listed("--deployment", "pump-z", "--type", "anomaly") == [second, first]
    table = _aiot("list").stdout
    assert "pump-1" in table and "pump-z" in table and "CRITICAL" in table
    assert raised[0]["device"] not in table  # names, not ids


def test_ack_comment_clear_verdict_and_show(raised: list[dict[str, Any]]) -> None:
    alarm = raised[0]["id"]
    assert _aiot("ack", alarm).stdout.strip() == f"alarm {alarm} acknowledged (ACTIVE_ACK)"
    assert "commented" in _aiot("comment", alarm, "bearing noise").stdout
    assert _aiot("clear", alarm).stdout.strip() == f"alarm {alarm} cleared (CLEARED_ACK)"
    judged = _aiot("verdict", alarm, "--true", "--fault-type", "bearing", "--lesson", "grease")
    assert "judged a real fault" in judged.stdout
    shown = json.loads(_aiot("show", alarm).stdout)
    assert shown["status"] == "CLEARED_ACK" and shown["comments"][0]["text"] == "bearing noise"
    assert shown["verdict"]["true_alarm"] is True and shown["verdict"]["fault_type"] == "bearing"
    assert shown["verdict"]["lesson"] == "grease" and shown["verdict"]["by"] == "admin"
    assert "judged a false alarm" in _aiot("verdict", alarm, "--false").stdout
    assert json.loads(_aiot("show", alarm).stdout)["verdict"]["fault_type"] is None


def test_stats_show_precision(raised: list[dict[str, Any]]) -> None:
    _aiot("verdict", raised[0]["id"], "--true")
    _aiot("verdict", raised[1]["id"], "--false")
    stats = json.loads(_aiot("stats", "--json").stdout)
    assert [(s["name"], s["raised"], s["precision"]) for s in stats] == [("pump-z", 2, 0.5)]
    table = _aiot("stats").stdout
    assert "pump-z" in table and "0.50" in table


def test_mistakes_are_one_line_on_stderr(raised: list[dict[str, Any]]) -> None:
    undecided = _aiot("verdict", raised[0]["id"], code=1)
    assert undecided.stderr.strip() == "error: say --true (a real fault) or --false (a false alarm)"
    missing = _aiot("ack", "no-such-alarm", code=1)
    assert missing.stderr.strip() == "error: no alarm 'no-such-alarm' [not_found]"
    assert "no device 'ghost'" in _aiot("list", "--device", "ghost", code=1).stderr
