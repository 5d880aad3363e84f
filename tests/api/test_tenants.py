"""Tenants, API keys and roles: a key never sees another tenant's records."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _key(client: TestClient, tenant: str, role: str) -> dict[str, str]:
    made = client.post(f"/api/tenants/{tenant}/keys", json={"name": role, "role": role})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


def test_admin_creates_tenants_and_lists_them(api_client: TestClient) -> None:
    assert api_client.post("/api/tenants", json={"id": "acme", "name": "Acme"}).status_code == 201
    ids = [t["id"] for t in api_client.get("/api/tenants").json()]
    assert ids == ["acme", "default"]
    again = api_client.post("/api/tenants", json={"id": "acme"})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    bad = api_client.post("/api/tenants", json={"id": "Not A Slug"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"


def test_missing_or_wrong_key_is_401(api_client: TestClient) -> None:
    assert api_client.get("/api/devices", headers={"Authorization": ""}).status_code == 401
    wrong = api_client.get("/api/devices", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"


def test_tenant_key_sees_only_its_tenant(api_client: TestClient) -> None:
    api_client.post("/api/tenants", json={"id": "acme"})
    acme = _key(api_client, "acme", "admin")
    mine = api_client.post("/api/devices", json={"name": "pump"}, headers=acme).json()
    theirs = api_client.post("/api/devices", json={"name": "pump"}).json()  # default tenant
    assert [d["id"] for d in api_client.get("/api/devices", headers=acme).json()] == [mine["id"]]
    for path in ("", "/telemetry", "/latest", "/keys", "/attributes"):
        hidden = api_client.get(f"/api/devices/{theirs['id']}{path}", headers=acme)
        assert hidden.status_code == 404, path
    assert api_client.delete(f"/api/devices/{theirs['id']}", headers=acme).status_code == 404
    assert api_client.get("/api/tenants", headers=acme).status_code == 403
    assert (
        api_client.post("/api/tenants/default/keys", json={"name": "x"}, headers=acme).status_code
        == 403
    )


def test_admin_key_acts_in_a_named_tenant(api_client: TestClient) -> None:
    api_client.post("/api/tenants", json={"id": "acme"})
    made = api_client.post("/api/devices", json={"name": "m1"}, headers={"X-Aiot-Tenant": "acme"})
    assert made.json()["tenant"] == "acme"
    assert api_client.get("/api/devices").json() == []
    missing = api_client.get("/api/devices", headers={"X-Aiot-Tenant": "ghost"})
    assert missing.status_code == 401


def test_roles_limit_what_a_key_does(api_client: TestClient) -> None:
    viewer = _key(api_client, "default", "viewer")
    operator = _key(api_client, "default", "operator")
    refused = api_client.post("/api/devices", json={"name": "x"}, headers=viewer)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    made = api_client.post("/api/devices", json={"name": "x"}, headers=operator)
    assert made.status_code == 201 and made.json()["access_token"]
    listed = api_client.get("/api/devices", headers=viewer).json()
    assert listed[0]["name"] == "x" and listed[0]["access_token"] is None
    assert (
        api_client.post(
            "/api/tenants/default/keys", json={"name": "k"}, headers=operator
        ).status_code
        == 403
    )


def test_keys_are_shown_once_and_can_be_revoked(api_client: TestClient) -> None:
    made = api_client.post(
        "/api/tenants/default/keys", json={"name": "ci", "role": "viewer"}
    ).json()
    listed = api_client.get("/api/tenants/default/keys").json()
    assert [k["name"] for k in listed] == ["ci"] and "key" not in listed[0]
    headers = {"Authorization": f"Bearer {made['key']}"}
    assert api_client.get("/api/devices", headers=headers).status_code == 200
    assert api_client.delete(f"/api/tenants/default/keys/{made['id']}").status_code == 204
    assert api_client.get("/api/devices", headers=headers).status_code == 401
