"""Raw telemetry queries share the limit between keys and say when they cut a key short."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.api.paging import TRUNCATED_KEYS
from aiot.app import Platform
from tests.conftest import ADMIN_KEY


def _device_with(client: TestClient, rows: list[dict[str, Any]]) -> str:
    made = client.post("/api/devices", json={"name": "pump-1"}).json()
    assert client.post(f"/api/v1/{made['access_token']}/telemetry", json=rows).status_code == 200
    return f"/api/devices/{made['id']}/telemetry"


def _history(client: TestClient, n: int = 10) -> str:
    """Keys ``a`` and ``b`` at ts 0..n-1, and ``c`` at ts 0 only."""
    rows = [{"ts": t, "values": {"a": t, "b": 100 + t}} for t in range(n)]
    return _device_with(client, [*rows, {"ts": 0, "values": {"c": "x"}}])


def _ts(body: dict[str, list[dict[str, Any]]]) -> dict[str, list[int]]:
    return {key: [p["ts"] for p in points] for key, points in body.items()}


def _next(answer: Any) -> dict[str, str]:
    link = answer.headers["link"]
    assert link.endswith('>; rel="next"'), link
    query = parse_qs(urlsplit(link[1 : link.index(">")]).query)
    return {name: values[0] for name, values in query.items()}


def test_every_key_gets_its_share_of_the_limit(api_client: TestClient) -> None:
    url = _history(api_client)
    answer = api_client.get(url, params={"keys": "a,b", "start": 0, "end": 100, "limit": 3})
    assert _ts(answer.json()) == {"a": [0, 1, 2], "b": [0, 1, 2]}


def test_desc_gives_the_newest_points_first_in_any_case(api_client: TestClient) -> None:
    url = _history(api_client)
    for order in ("DESC", "desc", "Desc"):
        params = {"keys": "a,b", "start": 0, "end": 100, "limit": 2, "orderBy": order}
        assert _ts(api_client.get(url, params=params).json()) == {"a": [9, 8], "b": [9, 8]}
    agg = api_client.get(url, params={"keys": "a", "start": 0, "interval": 5, "orderBy": "DESC"})
    assert _ts(agg.json()) == {"a": [5, 0]}
    refused = api_client.get(url, params={"orderBy": "newest"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_input"


def test_a_cut_answer_names_the_keys_and_links_the_rest(api_client: TestClient) -> None:
    url = _history(api_client)
    answer = api_client.get(url, params={"start": 0, "end": 100, "limit": 4})
    assert _ts(answer.json()) == {"a": [0, 1, 2, 3], "b": [0, 1, 2, 3], "c": [0]}
    assert answer.headers["aiot-truncated-keys"] == "a,b"
    following = _next(answer)
    assert following == {"start": "4", "end": "100", "keys": "a,b", "limit": "4"}
    rest = api_client.get(url, params=following)
    assert _ts(rest.json()) == {"a": [4, 5, 6, 7], "b": [4, 5, 6, 7]}
    last = api_client.get(url, params={**following, "start": 8})
    assert _ts(last.json()) == {"a": [8, 9], "b": [8, 9]}
    assert "aiot-truncated-keys" not in last.headers and "link" not in last.headers


def test_descending_pages_walk_back_in_time(api_client: TestClient) -> None:
    url = _history(api_client)
    params = {"keys": "a", "start": 0, "end": 100, "limit": 3, "orderBy": "DESC"}
    answer = api_client.get(url, params=params)
    assert _ts(answer.json()) == {"a": [9, 8, 7]}
    following = _next(answer)
    assert (following["start"], following["end"], following["orderBy"]) == ("0", "7", "DESC")
    assert _ts(api_client.get(url, params=following).json()) == {"a": [6, 5, 4]}


def test_exactly_the_limit_is_not_a_cut(api_client: TestClient) -> None:
    url = _history(api_client)
    answer = api_client.get(url, params={"keys": "a,b", "start": 0, "end": 100, "limit": 10})
    assert _ts(answer.json())["a"] == list(range(10))
    assert "aiot-truncated-keys" not in answer.headers and "link" not in answer.headers


def test_keys_outside_ascii_are_percent_encoded_in_the_header(api_client: TestClient) -> None:
    url = _device_with(api_client, [{"ts": t, "values": {"température °C": t}} for t in range(3)])
    answer = api_client.get(url, params={"start": 0, "limit": 2})
    assert answer.status_code == 200
    assert answer.headers["aiot-truncated-keys"] == "temp%C3%A9rature%20%C2%B0C"


@pytest.mark.parametrize("backend", ["duckdb", "memory"])
def test_aggregates_honour_the_limit_and_link_the_next_buckets(
    platform_factory: Callable[..., Platform], backend: str
) -> None:
    app = create_app(platform_factory(store={"backend": backend}))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        url = _history(client, n=30)  # a and b at ts 0..29: buckets of 5 ms at 0, 5, ... 25
        params = {"keys": "a,b", "start": 0, "end": 100, "interval": 5, "limit": 2}
        first = client.get(url, params=params)
        assert _ts(first.json()) == {"a": [0, 5], "b": [0, 5]}
        assert first.headers[TRUNCATED_KEYS] == "a,b"
        rest = client.get(url, params={**params, **_next(first), "limit": 10})
        assert _ts(rest.json()) == {"a": [10, 15, 20, 25], "b": [10, 15, 20, 25]}
        assert [p["value"] for p in rest.json()["a"]] == [12.0, 17.0, 22.0, 27.0]  # same grid
        newest = client.get(url, params={**params, "orderBy": "DESC"})
        assert _ts(newest.json()) == {"a": [25, 20], "b": [25, 20]}
        older = client.get(url, params={**params, **_next(newest), "orderBy": "DESC"})
        assert _ts(older.json()) == {"a": [15, 10], "b": [15, 10]}
        whole = client.get(url, params={**params, "limit": 6})
        assert TRUNCATED_KEYS not in whole.headers and len(whole.json()["a"]) == 6
