"""Deployments through the REST API: deploy, read, pause, change the policy, remove."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _device(client: TestClient, name: str = "pump-1") -> dict[str, Any]:
    made = client.post("/api/devices", json={"name": name, "type": "pump", "labels": {"site": "n"}})
    assert made.status_code == 201, made.text
    return dict(made.json())


def _spec(**changes: Any) -> dict[str, Any]:
    spec = {
        "name": "pump-z",
        "detector": "zscore",
        "keys": ["temperature", "pressure"],
        "selector": {"type": "pump"},
        "params": {"window": 64},
        "policy": {"threshold": 4.0, "hits": 2, "window": 3},
    }
    return spec | changes


def _key(client: TestClient, tenant: str, role: str) -> dict[str, str]:
    made = client.post(f"/api/tenants/{tenant}/keys", json={"name": role, "role": role})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


def test_deploy_read_pause_resume_remove(api_client: TestClient) -> None:
    made = api_client.post("/api/deployments", json=_spec())
    assert made.status_code == 201, made.text
    dep = made.json()
    assert dep["selector"] == {"device": None, "type": "pump", "labels": {}}
    assert (dep["score_key"], dep["paused"]) == ("score/pump-z", False)
    assert dep["params"] == {"window": 64}
    assert [d["id"] for d in api_client.get("/api/deployments").json()] == [dep["id"]]
    shown = api_client.get("/api/deployments/pump-z").json()
    assert shown["id"] == dep["id"] and shown["stats"] == {
        "series": 0,
        "scored": 0,
        "late": 0,
        "backfill": None,
    }
    assert api_client.get(f"/api/deployments/{dep['id']}").json()["name"] == "pump-z"
    paused = api_client.patch("/api/deployments/pump-z", json={"paused": True})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert api_client.get("/api/deployments/pump-z").json()["paused"] is True
    resumed = api_client.patch("/api/deployments/pump-z", json={"paused": False}).json()
    assert resumed["paused"] is False and resumed["policy"] == dep["policy"]
    assert api_client.delete("/api/deployments/pump-z").status_code == 204
    assert api_client.get("/api/deployments/pump-z").status_code == 404
    assert api_client.get("/api/deployments").json() == []


def test_a_new_policy_replaces_the_old_and_a_bad_one_changes_nothing(
    api_client: TestClient,
) -> None:
    api_client.post("/api/deployments", json=_spec())
    changed = api_client.patch("/api/deployments/pump-z", json={"policy": {"threshold": 6.0}})
    assert changed.json()["policy"] == {"threshold": 6.0}
    bad = api_client.patch("/api/deployments/pump-z", json={"policy": {"clear_after": 0}})
    assert bad.status_code == 400 and "clear_after" in bad.json()["message"]
    assert api_client.get("/api/deployments/pump-z").json()["policy"] == {"threshold": 6.0}
    typo = api_client.patch("/api/deployments/pump-z", json={"pause": True})
    assert typo.status_code == 400 and typo.json()["detail"][0]["loc"] == ["body", "pause"]


def test_an_unknown_detector_is_404_naming_the_known_ones(api_client: TestClient) -> None:
    missing = api_client.post("/api/deployments", json=_spec(detector="nope"))
    assert missing.status_code == 404
    assert missing.json()["message"] == "no detector 'nope'"
    assert "zscore" in missing.json()["detail"]["known"]


def test_bad_params_policy_or_selector_is_400_with_the_reason(api_client: TestClient) -> None:
    def refused(**changes: Any) -> str:
        answer = api_client.post("/api/deployments", json=_spec(**changes))
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_input"
        return str(answer.json()["message"])

    assert refused(params={"bogus": 1}).startswith("bad parameters for zscore:")
    assert "hits (5) must not exceed window (2)" in refused(policy={"hits": 5, "window": 2})
    assert refused(policy={"threshold": 3.0, "thresold": 4}).endswith("thresold: unknown field")
    assert refused(selector={}) == "a selector names a device, a device type or labels"
    assert refused(keys=[]) == "the request is not valid"
    assert refused(selector={"devices": "pump-1"}) == "the request is not valid"
    assert "deployment name" in refused(name="pump z")
    assert api_client.get("/api/deployments").json() == []


def test_a_selected_device_must_exist_and_names_are_unique(api_client: TestClient) -> None:
    ghost = api_client.post("/api/deployments", json=_spec(selector={"device": "ghost"}))
    assert ghost.status_code == 404 and "ghost" in ghost.json()["message"]
    _device(api_client)
    one = api_client.post("/api/deployments", json=_spec(selector={"device": "pump-1"}))
    assert one.status_code == 201, one.text
    again = api_client.post("/api/deployments", json=_spec())
    assert again.status_code == 409 and again.json()["code"] == "conflict"


def test_a_viewer_reads_deployments_but_cannot_change_them(api_client: TestClient) -> None:
    api_client.post("/api/deployments", json=_spec())
    viewer = _key(api_client, "default", "viewer")
    assert api_client.get("/api/deployments", headers=viewer).status_code == 200
    assert api_client.get("/api/deployments/pump-z", headers=viewer).status_code == 200
    for answer in (
        api_client.post("/api/deployments", json=_spec(name="other"), headers=viewer),
        api_client.patch("/api/deployments/pump-z", json={"paused": True}, headers=viewer),
        api_client.delete("/api/deployments/pump-z", headers=viewer),
    ):
        assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    operator = _key(api_client, "default", "operator")
    made = api_client.post("/api/deployments", json=_spec(name="other"), headers=operator)
    assert made.status_code == 201


def test_another_tenants_deployment_is_404(api_client: TestClient) -> None:
    theirs = api_client.post("/api/deployments", json=_spec()).json()  # the default tenant's
    api_client.post("/api/tenants", json={"id": "acme"})
    acme = _key(api_client, "acme", "admin")
    assert api_client.get("/api/deployments", headers=acme).json() == []
    for ref in (theirs["id"], "pump-z"):
        path = f"/api/deployments/{ref}"
        assert api_client.get(path, headers=acme).status_code == 404
        assert api_client.patch(path, json={"paused": True}, headers=acme).status_code == 404
        assert api_client.delete(path, headers=acme).status_code == 404
    assert api_client.get("/api/deployments/pump-z").json()["paused"] is False


def test_deployments_are_in_the_openapi_document(api_client: TestClient) -> None:
    paths = api_client.get("/openapi.json").json()["paths"]
    assert set(paths["/api/deployments"]) == {"get", "post"}
    assert set(paths["/api/deployments/{ref}"]) == {"get", "patch", "delete"}


def test_webhook_secrets_are_never_shown(api_client: TestClient) -> None:
    _device(api_client)
    hook = {"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "s3cret"}}
    made = api_client.post(
        "/api/deployments", json=_spec(policy={"threshold": 5, "notify": [hook]})
    )
    assert made.status_code == 201, made.text
    for shown in (made.json(), api_client.get("/api/deployments/pump-z").json()):
        assert shown["policy"]["notify"][0]["webhook"]["secret"] == "***"
    assert "s3cret" not in api_client.get("/api/deployments").text
