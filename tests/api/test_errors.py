"""Errors: bad input is a clear 4xx, a failure is a 5xx without server paths, never a traceback."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.app import Platform
from aiot.errors import StoreError
from tests.api.serving import serving

SECRET_PATH = "/srv/aiot/secret-folder/catalog.sqlite"


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("raw", ["Bearer caf\xe9".encode("latin-1"), "Bearer ключ".encode()])
def test_a_non_ascii_api_key_is_401_without_a_traceback(
    api_client: TestClient, caplog: pytest.LogCaptureFixture, raw: bytes
) -> None:
    for path in ("/api/devices", "/api/tenants"):
        answer = api_client.get(path, headers={"Authorization": raw})  # type: ignore[dict-item]
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "unauthorized"
    assert not _tracebacks(caplog)


@pytest.mark.parametrize(
    "start", ["²", "¹²³", "٣", "1e3", "99999999999999999999999", "-99999999999999999999", "nan"]
)
def test_odd_digits_in_a_time_are_400(
    api_client: TestClient, caplog: pytest.LogCaptureFixture, start: str
) -> None:
    api_client.post("/api/devices", json={"name": "pump"})
    answer = api_client.get("/api/devices/pump/telemetry", params={"start": start})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "invalid_input" and "start" in body["message"]
    assert not _tracebacks(caplog)


@pytest.mark.parametrize("interval", ["²m", "99999999999999999999999d", "0s"])
def test_odd_intervals_are_400(api_client: TestClient, interval: str) -> None:
    api_client.post("/api/devices", json={"name": "pump"})
    answer = api_client.get("/api/devices/pump/telemetry", params={"interval": interval})
    assert answer.status_code == 400, answer.text
    assert "interval" in answer.json()["message"]


def test_a_store_failure_is_503_without_server_paths(
    platform_factory: Callable[..., Platform],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform = platform_factory()

    def broken(*_: Any) -> None:
        raise StoreError(f"cannot open the catalog at sqlite:///{SECRET_PATH}", SECRET_PATH)

    monkeypatch.setattr(platform.catalog, "devices", broken)
    with TestClient(create_app(platform), headers={"Authorization": "Bearer test-admin-key"}) as c:
        answer = c.get("/api/devices")
    assert answer.status_code == 503
    body = answer.json()
    assert "secret-folder" not in answer.text
    assert body["code"] == "store_error" and body["message"]
    logged = [r for r in caplog.records if body["detail"]["id"] in r.getMessage()]
    assert len(logged) == 1 and SECRET_PATH in logged[0].getMessage()


def test_an_unexpected_error_is_500_with_an_id_logged_once(
    platform_factory: Callable[..., Platform], caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(platform_factory())

    def boom() -> None:
        raise RuntimeError(f"bug reading {SECRET_PATH}")

    app.add_api_route("/api/boom", boom)
    with TestClient(app) as client:
        answer = client.get("/api/boom")
    assert answer.status_code == 500
    body = answer.json()
    assert body["code"] == "internal" and "secret-folder" not in answer.text
    error_id = body["detail"]["id"]
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None


def test_an_unexpected_error_keeps_the_connection_alive(
    platform_factory: Callable[..., Platform],
) -> None:
    platform = platform_factory()
    app = create_app(platform)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/boom", boom)
    with serving(app, platform.settings) as url:
        conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
        try:
            conn.request("GET", "/api/boom")
            answer = conn.getresponse()
            assert answer.status == 500 and json.loads(answer.read())["code"] == "internal"
            first = conn.sock
            conn.request("GET", "/api/health")
            assert conn.getresponse().status == 200
            assert conn.sock is first and first is not None, "the connection was closed"
        finally:
            conn.close()


def test_a_lone_surrogate_in_a_body_is_400_and_stores_nothing(api_client: TestClient) -> None:
    for body in (b'{"name": "a", "labels": {"\\udfff": "x"}}', b'{"name": "b\\ud800"}'):
        answer = api_client.post(
            "/api/devices", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_input", answer.text
    listed = api_client.get("/api/devices")
    assert listed.status_code == 200 and listed.json() == []


def test_a_huge_rest_body_is_413(api_client: TestClient) -> None:
    labels = {f"k{i}": "v" * 100 for i in range(20_000)}  # about 2 MiB
    answer = api_client.post("/api/devices", json={"name": "big", "labels": labels})
    assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    assert api_client.get("/api/devices").json() == []


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_a_json_body_is_read_as_json_whatever_its_content_type(
    api_client: TestClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = api_client.post("/api/devices", content=b'{"name": "pump-9"}', headers=headers)
    assert answer.status_code == 201, answer.text  # as curl -d sends it, without -H
    assert api_client.get("/api/devices/pump-9").json()["name"] == "pump-9"
