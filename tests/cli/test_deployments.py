"""``aiot deploy`` and ``aiot deployments``: the round trip a user makes from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from aiot.cli import deployments
from aiot.cli.main import app
from aiot.client import Client


@pytest.fixture(autouse=True)
def server(api_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The CLI talks to the test app; a device pump-1 of type pump exists."""
    api_client.post("/api/devices", json={"name": "pump-1", "type": "pump"})

    def client(_: object) -> Client:
        made = Client("http://testserver")
        made._http = api_client
        return made

    monkeypatch.setattr(deployments, "client_from", client)
    return api_client


def _aiot(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


def test_deploy_list_show_pause_resume_remove(server: TestClient) -> None:
    made = _aiot(
        "deploy", "pump-z", "--detector", "zscore", "--keys", "temperature,pressure",
        "--type", "pump", "--label", "site=north", "--param", "window=64",
        "--param", "season=0", "--policy", '{"threshold": 4.5}',
    )  # fmt: skip
    assert made.stdout.splitlines() == [
        "deployment pump-z deployed: zscore on temperature,pressure of type=pump site=north",
        "  scores go to score/pump-z from the next points on",
    ]
    stored = server.get("/api/deployments/pump-z").json()
    assert stored["params"] == {"window": 64, "season": 0}  # numbers, not "64"
    assert stored["selector"]["labels"] == {"site": "north"}
    assert stored["policy"] == {"threshold": 4.5}
    listed = json.loads(_aiot("deployments", "list", "--json").stdout)
    assert [d["name"] for d in listed] == ["pump-z"]
    assert "running" in _aiot("deployments", "list").stdout
    assert json.loads(_aiot("deployments", "show", "pump-z").stdout)["stats"]["scored"] == 0
    assert _aiot("deployments", "pause", "pump-z").stdout.strip() == "deployment pump-z paused"
    assert server.get("/api/deployments/pump-z").json()["paused"] is True
    assert "paused" in _aiot("deployments", "list").stdout
    _aiot("deployments", "resume", "pump-z")
    assert server.get("/api/deployments/pump-z").json()["paused"] is False
    _aiot("deployments", "remove", "pump-z")
    assert server.get("/api/deployments").json() == []


def test_policy_from_a_file_and_multivariate(server: TestClient, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"threshold": 3.0, "hits": 2, "window": 4}))
    refused = _aiot(
        "deploy", "one", "--detector", "zscore", "--keys", "a,b", "--device", "pump-1",
        "--policy", f"@{policy}", "--multivariate", code=1,
    )  # fmt: skip
    assert "zscore reads one key at a time" in refused.stderr
    shown = _aiot(
        "deploy", "one", "--detector", "pca", "--keys", "a,b", "--device", "pump-1",
        "--param", "statistic=spe", "--param", "variance=0.95",
        "--policy", f"@{policy}", "--multivariate", "--json",
    )  # fmt: skip
    made = json.loads(shown.stdout)
    assert made["params"] == {"statistic": "spe", "variance": 0.95}  # text stays text
    assert made["policy"] == {"threshold": 3.0, "hits": 2, "window": 4}
    assert (made["selector"]["device"], made["multivariate"]) == ("pump-1", True)
    _aiot("deployments", "policy", "one", '{"threshold": 9}')
    assert server.get("/api/deployments/one").json()["policy"] == {"threshold": 9}


def test_mistakes_are_one_line_on_stderr(tmp_path: Path) -> None:
    base = ["deploy", "x", "--detector", "zscore", "--keys", "t"]
    cases = {
        (): "say which devices to read: --device, --type or --label k=v",
        ("--type", "pump", "--keys", " , "): "--keys names at least one telemetry key",
        ("--type", "pump", "--param", "window"): "--param is key=value, got 'window'",
        ("--type", "pump", "--policy", "{nope"): "--policy is not JSON",
        ("--type", "pump", "--policy", "[1]"): "--policy must hold a JSON object",
        ("--type", "pump", "--policy", f"@{tmp_path}/none.json"): "cannot read the policy file",
        ("--type", "pump", "--param", "bogus=1"): "bad parameters for zscore",
        ("--type", "pump", "--policy", '{"hits": 3}'): "hits (3) must not exceed window (1)",
    }
    for extra, message in cases.items():
        result = _aiot(*base, *extra, code=1)
        assert result.stderr.startswith("error: ") and message in result.stderr, extra
        assert result.stdout == ""
    missing = _aiot("deploy", "x", "--detector", "nope", "--keys", "t", "--type", "p", code=1)
    assert 'no detector \'nope\': {"known": ["zscore"' in missing.stderr
    assert "no deployment 'ghost'" in _aiot("deployments", "show", "ghost", code=1).stderr
