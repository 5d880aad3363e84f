"""Training a model on a device's stored history through the REST API and the SDK."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from aiot.client import Client
from aiot.models import hub

KEYS = ["flow", "temp", "power"]


def _history(client: TestClient, name: str = "pump-1", n: int = 600) -> str:
    dev = client.post("/api/devices", json={"name": name, "type": "pump"}).json()
    rng = np.random.default_rng(0)
    base = rng.normal(size=n)
    rows = [
        {"ts": 60_000 * i, "values": {"flow": b, "temp": 2 * b + e, "power": -b + e, "s": "ok"}}
        for i, (b, e) in enumerate(zip(base, 0.1 * rng.normal(size=n), strict=True))
    ]
    assert client.post(f"/api/v1/{dev['access_token']}/telemetry", json=rows).status_code == 200
    return str(dev["id"])


def _key(client: TestClient, tenant: str, role: str) -> dict[str, str]:
    made = client.post(f"/api/tenants/{tenant}/keys", json={"name": role, "role": role})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


def test_train_lists_shows_and_the_artifact_scores(api_client: TestClient) -> None:
    _history(api_client)
    body = {"detector": "pca", "device": "pump-1", "keys": KEYS, "name": "pump-pca"}
    made = api_client.post("/api/models/train", json=body)
    assert made.status_code == 201, made.text
    card = made.json()
    assert (card["name"], card["model"], card["version"]) == ("pump-pca", "pca", "1")
    assert card["inputs"]["keys"] == KEYS
    assert card["inputs"]["sampling_interval_s"] == 60.0
    assert card["metrics"]["train_rows"] == 600.0
    assert api_client.post("/api/models/train", json=body).json()["version"] == "2"
    listed = api_client.get("/api/models").json()
    assert [(c["name"], c["version"]) for c in listed] == [("pump-pca", "1"), ("pump-pca", "2")]
    assert api_client.get("/api/models/pump-pca").json()["version"] == "2"
    root = api_client.app.state.platform.settings.data_dir  # type: ignore[attr-defined]
    model = hub.load(root, "default", "pump-pca", "1")
    scores = model.score_many(np.array([[0.5, 1.0, -0.5], [0.5, -1.0, 0.5]]))
    threshold = card["metrics"]["threshold"]
    assert scores[0] < threshold < scores[1]  # the broken correlation alarms, the normal row not


def test_train_needs_operator_and_known_keys(api_client: TestClient) -> None:
    _history(api_client)
    viewer = _key(api_client, "default", "viewer")
    body = {"detector": "zscore", "device": "pump-1", "keys": ["flow"]}
    assert api_client.post("/api/models/train", json=body, headers=viewer).status_code == 403
    assert api_client.post("/api/models/train", json=body).status_code == 201
    trained = api_client.get("/api/models/zscore", headers=viewer)
    assert trained.status_code == 200 and trained.json()["model"] == "zscore"  # never empty
    missing = api_client.post("/api/models/train", json={**body, "keys": ["flow", "nope"]})
    assert (missing.status_code, missing.json()["detail"]) == (404, {"keys": ["nope"]})
    bad = api_client.post("/api/models/train", json={**body, "params": {"bogus": 1}})
    assert bad.status_code == 400
    text = api_client.post("/api/models/train", json={**body, "keys": ["s"]})
    assert text.status_code == 404  # text telemetry is not a numeric history


def test_another_tenant_cannot_see_the_model(api_client: TestClient) -> None:
    _history(api_client)
    body = {"detector": "pca", "device": "pump-1", "keys": KEYS, "name": "secret"}
    assert api_client.post("/api/models/train", json=body).status_code == 201
    assert api_client.post("/api/tenants", json={"id": "other"}).status_code == 201
    other = _key(api_client, "other", "admin")
    assert api_client.get("/api/models/secret", headers=other).status_code == 404
    assert api_client.get("/api/models", headers=other).json() == []
    refused = api_client.post("/api/models/train", json=body, headers=other)
    assert refused.status_code == 404  # nor train on a device of the first tenant


def test_sdk_trains_and_reads_cards(api_client: TestClient) -> None:
    _history(api_client)
    client = Client("http://testserver")
    client._http = api_client
    card = client.train_model("pca", "pump-1", KEYS, {"variance": 0.8}, start=0, end=300 * 60_000)
    assert card["metrics"]["train_rows"] == 300.0
    assert card["parameters"]["variance"] == 0.8
    assert client.model("pca")["version"] == "1"
    assert [c["name"] for c in client.models()] == ["pca"]
