"""The profiles API: per tenant, the secret shown to operators only, inputs checked."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _key(api: TestClient, tenant: str, role: str) -> dict[str, str]:
    made = api.post(f"/api/tenants/{tenant}/keys", json={"name": role, "role": role})
    return {"Authorization": f"Bearer {made.json()['key']}"}


def test_create_list_patch_delete(api_client: TestClient) -> None:
    made = api_client.post(
        "/api/profiles",
        json={"name": "meter", "provision": "allow_create", "limits": {"messages_per_second": 10}},
    )
    assert made.status_code == 201
    body = made.json()
    assert body["provision_key"] and body["provision_secret"]
    assert body["limits"] == {"messages_per_second": 10}
    assert api_client.post("/api/profiles", json={"name": "meter"}).status_code == 409
    assert [p["name"] for p in api_client.get("/api/profiles").json()] == ["meter"]
    patched = api_client.patch(
        "/api/profiles/meter", json={"provision": "check_pre_provisioned", "limits": None}
    )
    assert patched.status_code == 200
    assert patched.json()["provision"] == "check_pre_provisioned"
    assert patched.json()["limits"] == {}
    assert patched.json()["provision_key"] == body["provision_key"]  # unchanged when absent
    assert api_client.delete("/api/profiles/meter").status_code == 204
    assert api_client.get("/api/profiles/meter").status_code == 404


def test_bad_input_is_400(api_client: TestClient) -> None:
    for bad in (
        {"name": "m", "provision": "always"},
        {"name": "m", "limits": {"messages_per_second": -1}},
        {"name": "m", "limits": {"Bad Name": 1}},
        {"name": "m", "firmware_id": "x"},  # set by the packages API, not here
        {"name": " "},
    ):
        answer = api_client.post("/api/profiles", json=bad)
        assert answer.status_code == 400, bad
    assert api_client.patch("/api/profiles/nope", json={}).status_code == 404


def test_the_secret_is_for_operators_and_keys_unique(api_client: TestClient) -> None:
    made = api_client.post(
        "/api/profiles", json={"name": "meter", "provision": "allow_create", "provision_key": "k"}
    ).json()
    viewer, operator = (
        _key(api_client, "default", "viewer"),
        _key(api_client, "default", "operator"),
    )
    assert api_client.get("/api/profiles/meter", headers=viewer).json()["provision_secret"] is None
    shown = api_client.get("/api/profiles/meter", headers=operator).json()
    assert shown["provision_secret"] == made["provision_secret"]
    assert api_client.post("/api/profiles", json={"name": "x"}, headers=viewer).status_code == 403
    api_client.post("/api/tenants", json={"id": "b"})
    other = {"X-Aiot-Tenant": "b"}
    assert api_client.get("/api/profiles", headers=other).json() == []
    assert api_client.get("/api/profiles/meter", headers=other).status_code == 404
    assert api_client.get(f"/api/profiles/{made['id']}", headers=other).status_code == 404
    clash = {"name": "meter", "provision": "allow_create", "provision_key": "k"}
    assert api_client.post("/api/profiles", json=clash, headers=other).status_code == 409
    assert api_client.delete("/api/profiles/meter", headers=other).status_code == 404
