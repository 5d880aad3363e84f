"""The Python SDK reads what a telemetry answer left out, and follows a device's new points."""

from __future__ import annotations

import itertools
import json
from typing import Any

from fastapi.testclient import TestClient

from aiot.client import Client


def _sdk(api_client: TestClient) -> Client:
    client = Client("http://testserver")
    client._http = api_client
    return client


def _device(api_client: TestClient) -> tuple[str, str]:
    made = api_client.post("/api/devices", json={"name": "pump-1"}).json()
    return made["id"], made["access_token"]


def _send(api_client: TestClient, token: str, rows: list[dict[str, Any]]) -> None:
    assert api_client.post(f"/api/v1/{token}/telemetry", json=rows).status_code == 200


def test_telemetry_is_still_a_dict_and_names_the_cut_keys(api_client: TestClient) -> None:
    device, token = _device(api_client)
    _send(api_client, token, [{"ts": t, "values": {"a": t, "b": t}} for t in range(5)])
    _send(api_client, token, [{"ts": 0, "values": {"c": 1}}])
    sdk = _sdk(api_client)
    page = sdk.telemetry(device, start=0, end=100, limit=2, order="desc")
    newest = [{"ts": 4, "value": 4.0}, {"ts": 3, "value": 3.0}]
    assert page == {"a": newest, "b": newest, "c": [{"ts": 0, "value": 1.0}]}
    assert json.loads(json.dumps(page)) == page
    assert page.truncated == ("a", "b")
    assert page.next_params is not None
    assert (page.next_params["start"], page.next_params["end"]) == ("0", "3")
    whole = sdk.telemetry(device, start=0, end=100)
    assert whole.truncated == () and whole.next_params is None


def test_tail_yields_points_sent_after_it_started_in_order(api_client: TestClient) -> None:
    device, token = _device(api_client)
    _send(api_client, token, [{"ts": 1, "values": {"temp": 20}}])  # before: not shown
    sent = [
        [{"ts": 2, "values": {"temp": 21}}],
        [{"ts": t, "values": {"temp": t}} for t in range(3, 2503)],  # more than one page
        [{"ts": 2503, "values": {"vib": 0.5}}],  # a key that had no points
    ]
    pauses: list[float] = []

    def pause(seconds: float) -> None:  # a device sends while the tail waits
        pauses.append(seconds)
        _send(api_client, token, sent[len(pauses) - 1])

    arriving = _sdk(api_client).tail(device, interval=2.5, sleep=pause)
    got = list(itertools.islice(arriving, 2502))
    assert [p["ts"] for _, p in got] == list(range(2, 2504))
    assert got[0] == ("temp", {"ts": 2, "value": 21.0}) and got[-1][0] == "vib"
    assert pauses == [2.5, 2.5, 2.5]  # the long burst was read on without a pause
