"""Dashboard users: admins of a tenant manage them; a password signs in, its hash never shows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from aiot.app import Platform
from aiot.cli import users
from aiot.cli.main import app
from aiot.client import Client
from aiot.domain import Role
from aiot.errors import Unauthorized


def test_admin_creates_lists_and_deletes_users(api_client: TestClient) -> None:
    made = api_client.post(
        "/api/tenants/default/users",
        json={"name": "ana", "password": "s3cret-pw", "role": "operator"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "operator" and "password" not in made.text
    listed = api_client.get("/api/tenants/default/users").json()
    assert [u["name"] for u in listed] == ["ana"] and "hash" not in str(listed)
    again = api_client.post("/api/tenants/default/users", json={"name": "ana", "password": "x" * 8})
    assert again.status_code == 409
    short = api_client.post("/api/tenants/default/users", json={"name": "bo", "password": "short"})
    assert short.status_code == 400
    assert api_client.delete("/api/tenants/default/users/ana").status_code == 204
    assert api_client.get("/api/tenants/default/users").json() == []
    assert api_client.delete("/api/tenants/default/users/ana").status_code == 404


def test_only_admins_of_the_tenant_manage_users(api_client: TestClient) -> None:
    made = api_client.post("/api/tenants/default/keys", json={"name": "op", "role": "operator"})
    operator = {"Authorization": f"Bearer {made.json()['key']}"}
    denied = api_client.get("/api/tenants/default/users", headers=operator)
    assert denied.status_code == 403


def test_a_user_signs_in_with_tenant_and_name(platform_factory: Callable[..., Platform]) -> None:
    platform = platform_factory()
    platform.catalog.create_tenant("acme")
    user = platform.catalog.create_user("acme", "ana", "correct horse", Role.VIEWER)
    who = platform.sign_in("acme/ana", "correct horse")
    assert (who.tenant, who.role, who.user_id) == ("acme", Role.VIEWER, user.id)
    for login, password in [("acme/ana", "wrong horse"), ("ana", "correct horse"), ("acme/x", "y")]:
        with pytest.raises(Unauthorized):
            platform.sign_in(login, password)
    platform.catalog.create_user("default", "bo", "password1", Role.ADMIN)
    assert platform.sign_in("bo", "password1").tenant == "default"
    platform.delete_tenant("acme")  # its users go with it
    with pytest.raises(Unauthorized):
        platform.sign_in("acme/ana", "correct horse")


def test_aiot_users_add_list_remove(
    api_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def client(_: object) -> Client:
        made = Client("http://testserver")
        made._http = api_client
        return made

    monkeypatch.setattr(users, "client_from", client)
    runner = CliRunner()
    added = runner.invoke(
        app, ["users", "add", "ana", "--role", "operator"], input="pw-123456\n" * 2
    )
    assert added.exit_code == 0, added.output
    assert "operator user ana created" in added.output
    listed = runner.invoke(app, ["users", "list", "--json"])
    assert '"ana"' in listed.output
    assert runner.invoke(app, ["users", "remove", "ana"]).exit_code == 0
    assert api_client.get("/api/tenants/default/users").json() == []
