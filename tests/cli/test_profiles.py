"""``aiot profiles``: add one with provisioning and limits, list, show, remove."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from aiot.cli import profiles
from aiot.cli.main import app
from aiot.client import Client


@pytest.fixture(autouse=True)
def cli_client(api_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI talks to the test app."""

    def client(_: object) -> Client:
        made = Client("http://testserver")
        made._http = api_client
        return made

    monkeypatch.setattr(profiles, "client_from", client)


def _aiot(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, ["profiles", *args])
    assert result.exit_code == code, result.output
    return result


def test_add_list_show_remove() -> None:
    added = _aiot(
        "add", "meter", "--provision", "allow_create", "--key", "k1",
        "--limit", "messages_per_second=2.5",
    )  # fmt: skip
    assert "provision key     k1" in added.stdout
    shown = json.loads(_aiot("show", "meter").stdout)
    assert shown["limits"] == {"messages_per_second": 2.5}
    assert shown["provision_secret"] in added.stdout
    listed = json.loads(_aiot("list", "--json").stdout)
    assert [p["name"] for p in listed] == ["meter"]
    assert "meter" in _aiot("list").stdout
    _aiot("remove", "meter")
    assert json.loads(_aiot("list", "--json").stdout) == []


def test_a_bad_limit_is_one_line() -> None:
    result = _aiot("add", "meter", "--limit", "rate=fast", code=1)
    assert "a limit is name=number" in result.output
