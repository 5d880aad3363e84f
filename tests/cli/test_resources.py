"""``aiot telemetry``: queries say when they were cut, latest values, and a live tail."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from aiot.cli import resources
from aiot.cli.main import app
from aiot.client import Client

Send = Callable[[list[dict[str, Any]]], None]


@pytest.fixture
def send(api_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Send:
    """Post telemetry as device pump-1; the CLI talks to the same app."""
    token = api_client.post("/api/devices", json={"name": "pump-1"}).json()["access_token"]

    def post(rows: list[dict[str, Any]]) -> None:
        assert api_client.post(f"/api/v1/{token}/telemetry", json=rows).status_code == 200

    def client(_: object) -> Client:
        made = Client("http://testserver")
        made._http = api_client
        return made

    monkeypatch.setattr(resources, "client_from", client)
    return post


def _aiot(*args: str) -> Result:
    result = CliRunner().invoke(app, ["telemetry", *args])
    assert result.exit_code == 0, result.output
    return result


def _history(send: Send) -> None:
    send([{"ts": t, "values": {"a": t, "b": -t}} for t in range(6)])
    send([{"ts": 0, "values": {"c": "idle"}}])


def test_query_says_which_keys_were_cut_and_how_to_see_more(send: Send) -> None:
    _history(send)
    result = _aiot("query", "pump-1", "--start", "0", "--end", "100", "--limit", "4", "--json")
    shown = json.loads(result.stdout)
    assert [len(shown[k]) for k in ("a", "b", "c")] == [4, 4, 1]
    assert result.stderr.strip() == (
        "note: only the oldest 4 points of a,b are shown; see later ones with a higher --limit, "
        "or with --keys a,b --start 4 --end 100"
    )


def test_newest_first_and_nothing_cut_means_no_note(send: Send) -> None:
    _history(send)
    result = _aiot("query", "pump-1", "--keys", "a", "--start", "0", "--order", "DESC", "--json")
    assert [p["ts"] for p in json.loads(result.stdout)["a"]] == [5, 4, 3, 2, 1, 0]
    assert result.stderr == ""
    cut = _aiot("query", "pump-1", "--keys", "a", "--start", "0", "--limit", "2", "--order", "desc")
    assert "only the newest 2 points of a" in cut.stderr and "--end 4 --order desc" in cut.stderr


def test_latest_prints_the_newest_value_of_each_key(send: Send) -> None:
    _history(send)
    table = _aiot("latest", "pump-1").stdout
    assert "1970-01-01T00:00:00.005+00:00" in table and "idle" in table
    assert json.loads(_aiot("latest", "pump-1", "--keys", "a,c", "--json").stdout) == {
        "a": {"ts": 5, "value": 5.0},
        "c": {"ts": 0, "value": "idle"},
    }


def test_tail_prints_the_points_sent_while_it_runs(
    send: Send, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(send)  # already stored: not printed
    arrivals = [[], [{"ts": 10, "values": {"a": 7}}], [{"ts": 11, "values": {"a": 8, "d": True}}]]
    polls = Client.latest

    def poll(self: Client, device: str, keys: list[str] | None = None) -> Any:
        rows = arrivals.pop(0) if arrivals else []
        if rows:  # the device sends a message between two polls
            send(rows)
        return polls(self, device, keys)

    monkeypatch.setattr(Client, "latest", poll)
    lines = _aiot("tail", "pump-1", "--interval", "0", "--count", "3").stdout.splitlines()
    assert lines == [
        "1970-01-01T00:00:00.010+00:00  a  7.0",
        "1970-01-01T00:00:00.011+00:00  a  8.0",
        "1970-01-01T00:00:00.011+00:00  d  True",
    ]


def test_devices_add_gateway_and_list_what_is_behind_it(send: Send) -> None:
    def devices(*args: str) -> Result:
        result = CliRunner().invoke(app, ["devices", *args])
        assert result.exit_code == 0, result.output
        return result

    made = devices("add", "gw-1", "--gateway")
    assert "publishes for other devices on v1/gateway/" in made.stdout
    assert json.loads(devices("add", "gw-2", "--gateway", "--json").stdout)["gateway"] is True
    assert json.loads(devices("list", "--gateway", "gw-1", "--json").stdout) == []
    listed = {d["name"]: d["gateway"] for d in json.loads(devices("list", "--json").stdout)}
    assert listed == {"gw-1": True, "gw-2": True, "pump-1": False}
