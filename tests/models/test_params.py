"""Hyperparameters outside a model's declared ranges are refused before anything is allocated."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from aiot.errors import InvalidInput
from aiot.models import registry


def _device_with_history(client: TestClient, n: int = 200) -> None:
    dev = client.post("/api/devices", json={"name": "pump-1", "type": "pump"}).json()
    values = np.random.default_rng(0).normal(size=n)
    rows = [{"ts": 1000 * i, "values": {"flow": float(v)}} for i, v in enumerate(values)]
    assert client.post(f"/api/v1/{dev['access_token']}/telemetry", json=rows).status_code == 200


@pytest.mark.parametrize(
    ("detector", "params", "named"),
    [
        ("zscore", {"window": 200_000_000}, "window"),
        ("zscore", {"window": 2e8}, "window"),
        ("zscore", {"window": 0}, "window"),
        ("zscore", {"window": -3}, "window"),
        ("iforest", {"n_trees": 0}, "n_trees"),
        ("hst", {"n_trees": 0}, "n_trees"),
        ("zscore", {"window": True}, "window"),
        ("pca", {"statistic": "nope"}, "statistic"),
        ("ensemble", {"windows": [0]}, "windows"),
    ],
)
def test_train_refuses_parameters_out_of_range_naming_the_range(
    api_client: TestClient, detector: str, params: dict[str, Any], named: str
) -> None:
    _device_with_history(api_client)
    body = {"detector": detector, "device": "pump-1", "keys": ["flow"], "params": params}
    answer = api_client.post("/api/models/train", json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["code"] == "invalid_input"
    assert named in error["message"]
    assert error["detail"]["parameter"] == named
    assert "range" in error["detail"] or "choices" in error["detail"]
    assert api_client.get("/api/models").json() == []  # nothing was written


def test_train_accepts_parameters_at_the_edges_of_their_range(api_client: TestClient) -> None:
    _device_with_history(api_client)
    low = registry.load_class("zscore").ranges["window"].low
    body = {"detector": "zscore", "device": "pump-1", "keys": ["flow"], "params": {"window": low}}
    assert api_client.post("/api/models/train", json=body).status_code == 201


def test_deploy_refuses_parameters_out_of_range(api_client: TestClient) -> None:
    _device_with_history(api_client)
    body = {
        "name": "z",
        "detector": "zscore",
        "keys": ["flow"],
        "selector": {"device": "pump-1"},
        "params": {"window": 0},
    }
    answer = api_client.post("/api/deployments", json=body)
    assert answer.status_code == 400, answer.text
    assert "window" in answer.json()["message"]


def test_unknown_parameters_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="wndow"):
        registry.create("zscore", wndow=3)


def test_train_refuses_a_model_whose_state_would_exceed_the_limit(api_client: TestClient) -> None:
    keys = [f"k{i}" for i in range(20)]
    dev = api_client.post("/api/devices", json={"name": "wide", "type": "pump"}).json()
    rng = np.random.default_rng(1)
    rows = [
        {"ts": 1000 * i, "values": dict(zip(keys, rng.normal(size=20), strict=True))}
        for i in range(50)
    ]
    assert api_client.post(f"/api/v1/{dev['access_token']}/telemetry", json=rows).status_code == 200
    params = {"window": 128, "buffer": 4096}  # each in range; 4096 × 128 × 20 floats is not
    body = {"detector": "iforest", "device": "wide", "keys": keys, "params": params}
    answer = api_client.post("/api/models/train", json=body)
    assert answer.status_code == 400, answer.text
    assert "learned state" in answer.json()["message"]
    assert answer.json()["detail"]["bytes"] > answer.json()["detail"]["limit"]
    assert api_client.get("/api/models").json() == []
