"""Tenant isolation, generated from the OpenAPI: every route, every role of another tenant.

Each route of ``app.openapi()["paths"]`` is called by each key of the tenant ``rival`` (admin,
operator, viewer, and the installation's admin key acting in ``rival``) with the ids and names
of the tenant ``acme``'s records. A record of ``acme`` named in the path is a 403 or a 404;
no answer carries anything of ``acme``'s that the caller did not send; nothing of ``acme``'s
changes. A new route is covered as soon as it exists: the test fails until :data:`FILL` knows
its path parameters and :data:`BODIES` a body for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.app import Platform
from aiot.domain import Severity
from tests.conftest import ADMIN_KEY

SECRET = "acme-secret"  # in acme's labels, attributes, alarm details and bridge URL
READING = 271828.5  # acme's telemetry value
CLAIM_SECRET = "acme-claim-secret"  # the secret acme's device offered: even knowing it, no claim
PROVISION_SECRET = "acme-provision-secret"
_unique = itertools.count()
ACME_PACKAGES: list[str] = ["", ""]  # acme's firmware and software package ids, once made


@dataclass
class Acme:
    """The ids of acme's records, and what of theirs must never reach another tenant."""

    fill: dict[str, list[str]]
    secrets: list[str] = field(default_factory=list)


def _body(method: str, path: str) -> Any:
    """A valid body for the route, naming acme's records where it names any."""
    n = next(_unique)
    bodies: dict[tuple[str, str], Any] = {
        ("post", "/api/tenants"): {"id": f"made-{n}"},
        ("post", "/api/tenants/{tenant_id}/keys"): {"name": f"sneak-{n}", "role": "admin"},
        ("post", "/api/tenants/{tenant_id}/users"): {"name": f"sneak-{n}", "password": SECRET},
        ("patch", "/api/tenants/{tenant_id}"): {"limits": {"messages_per_second": 0.001}},
        ("post", "/api/devices"): {"name": f"rival-{n}"},
        ("post", "/api/devices/{device_id}/attributes/{scope}"): {"sneak": n},
        ("post", "/api/devices/{device_id}/rpc"): {"method": "reboot", "oneway": True},
        ("post", "/api/telemetry/retention"): {"before": "now", "device": "pump"},
        ("post", "/api/bridges"): {
            "name": f"rival-{n}",
            "url": "mqtt://127.0.0.1:1",
            "topics": ["x/{device}/{key}"],
        },
        ("post", "/api/models/train"): {"detector": "zscore", "device": "pump", "keys": ["t"]},
        ("post", "/api/deployments"): {
            "name": f"rival-{n}",
            "detector": "zscore",
            "keys": ["t"],
            "selector": {"device": "pump"},
        },
        ("patch", "/api/deployments/{ref}"): {"paused": True},
        ("post", "/api/alarms/{alarm_id}/comment"): {"text": "sneak"},
        ("post", "/api/alarms/{alarm_id}/assign"): {"assignee": "rival"},
        ("post", "/api/alarms/{alarm_id}/verdict"): {"true_alarm": False},
        ("post", "/api/profiles"): {"name": f"rival-{n}", "provision": "allow_create"},
        ("patch", "/api/profiles/{name}"): {"provision": "allow_create", "limits": {}},
        ("put", "/api/devices/{device_id}/certificate"): {"certificate": "-----BEGIN CERT"},
        ("put", "/api/devices/{device_id}/mqtt-basic"): {"client_id": f"sneak-{n}"},
        ("post", "/api/devices/{device_id}/claim"): {"secretKey": CLAIM_SECRET, "owner": "rival"},
        ("post", "/api/v1/provision"): {  # acme's key with a guessed secret: nothing to be had
            "provisionDeviceKey": "acme-provision-key",
            "provisionDeviceSecret": "guess",
            "deviceName": "pump",
        },
        ("post", "/api/packages"): {"raw": "bytes"},  # the route takes raw bytes
        ("put", "/api/devices/{device_id}/firmware"): {"package": ACME_PACKAGES[0]},
        ("put", "/api/devices/{device_id}/software"): {"package": ACME_PACKAGES[1]},
        ("put", "/api/profiles/{name}/firmware"): {"package": ACME_PACKAGES[0]},
        ("put", "/api/profiles/{name}/software"): {"package": ACME_PACKAGES[1]},
    }
    if (method, path) not in bodies:
        pytest.fail(f"{method.upper()} {path} takes a body: add one that names acme's records")
    return bodies[(method, path)]


QUERIES: dict[tuple[str, str], list[dict[str, str]]] = {
    ("get", "/api/alarms"): [{}, {"device": "pump"}, {"deployment": "hot"}],
}


def _acme(client: TestClient, platform: Platform) -> Acme:
    acme = {"Authorization": f"Bearer {ADMIN_KEY}", "X-Aiot-Tenant": "acme"}
    client.post("/api/tenants", json={"id": "acme"}).raise_for_status()
    pump = client.post("/api/devices", json={"name": "pump", "labels": {"l": SECRET}}, headers=acme)
    device = pump.json()
    rows = [{"ts": i * 1000, "values": {"t": READING + (i % 7)}} for i in range(60)]
    client.post(f"/api/v1/{device['access_token']}/telemetry", json=rows).raise_for_status()
    client.post("/api/devices/pump/attributes/shared", json={"a": SECRET}, headers=acme)
    spec = {"name": "hot", "detector": "zscore", "keys": ["t"], "selector": {"device": "pump"}}
    deployment = client.post("/api/deployments", json=spec, headers=acme).raise_for_status().json()
    alarm, _ = platform.catalog.raise_alarm(
        "acme", "hot", device["id"], Severity.MAJOR, 1000, deployment["id"], {"note": SECRET}
    )
    bridge = {"name": "plant", "url": f"mqtt://{SECRET}.invalid:1", "topics": ["p/{device}/{key}"]}
    made = client.post("/api/bridges", json=bridge, headers=acme).raise_for_status().json()
    train = {"detector": "zscore", "device": "pump", "keys": ["t"], "name": "acme-model"}
    client.post("/api/models/train", json=train, headers=acme).raise_for_status()
    key = client.post("/api/tenants/acme/keys", json={"name": "ops", "role": "admin"}).json()
    user = {"name": "ana", "password": "ana-password", "role": "admin"}
    ana = client.post("/api/tenants/acme/users", json=user).raise_for_status().json()
    profile = {"name": "acme-profile", "provision": "check_pre_provisioned"}
    profile |= {"provision_key": "acme-provision-key", "provision_secret": PROVISION_SECRET}
    client.post("/api/profiles", json=profile, headers=acme).raise_for_status()
    platform.catalog.offer_claim("acme", device["id"], CLAIM_SECRET, 3_600_000, 1000)
    packages = _packages(client, platform, acme)
    fill = {
        "device_id": [device["id"], "pump"],
        "alarm_id": [alarm.id],
        "ref": [deployment["id"], "hot"],
        "name": ["acme-model", "acme-profile", "default"],
        "bridge_id": [made["id"], "plant"],
        "tenant_id": ["acme"],
        "key_id": [key["id"]],
        "user_id": [ana["id"], "ana"],
        "scope": ["shared", "server"],
        "package_id": packages,
    }
    secrets = [SECRET, str(READING), device["access_token"], key["key"], PROVISION_SECRET]
    return Acme(fill, [*secrets, "acme-provision-key"])


def _packages(client: TestClient, platform: Platform, acme: dict[str, str]) -> list[str]:
    """acme's firmware (for pump and its profile) and software (for pump), titled secretly."""
    client.post("/api/profiles", json={"name": "default"}, headers=acme).raise_for_status()
    made = []
    for kind in ("firmware", "software"):
        query = {"kind": kind, "title": SECRET, "version": "1"}
        package = client.post("/api/packages", params=query, content=b"acme", headers=acme)
        made.append(package.raise_for_status().json()["id"])
        body = {"package": made[-1]}
        client.put(f"/api/devices/pump/{kind}", json=body, headers=acme).raise_for_status()
    client.put("/api/profiles/default/firmware", json={"package": made[0]}, headers=acme)
    ACME_PACKAGES[:] = made
    return made


def _roles(client: TestClient) -> dict[str, dict[str, str]]:
    client.post("/api/tenants", json={"id": "rival"}).raise_for_status()
    roles = {
        "installation admin": {"Authorization": f"Bearer {ADMIN_KEY}", "X-Aiot-Tenant": "rival"}
    }
    for role in ("admin", "operator", "viewer"):
        made = client.post("/api/tenants/rival/keys", json={"name": role, "role": role}).json()
        roles[f"rival {role}"] = {"Authorization": f"Bearer {made['key']}"}
    return roles


@pytest.fixture
def world(platform_factory: Callable[..., Platform]) -> Iterator[tuple[TestClient, Acme, Any]]:
    """acme with one of every record, rival's keys, and the app's OpenAPI paths."""
    platform = platform_factory()
    app = create_app(platform)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        yield client, _acme(client, platform), _roles(client)


def _calls(openapi: dict[str, Any], acme: Acme) -> Iterator[tuple[str, str, str, bool]]:
    """(method, template, concrete path, names acme's record) for every route and fill."""
    for template, operations in openapi["paths"].items():
        if "{token}" in template:
            continue  # the device API: a device's token is its own secret, not a tenant key
        names = [part[1:-1] for part in template.split("/") if part.startswith("{")]
        missing = [name for name in names if name not in acme.fill]
        if missing:
            pytest.fail(f"{template}: add acme's values for {missing} to the fill")
        for values in itertools.product(*(acme.fill[name] for name in names)):
            path = template
            for name, value in zip(names, values, strict=True):
                path = path.replace("{" + name + "}", value)
            for method in operations:
                yield method, template, path, any(n != "scope" for n in names)


def _allowed_by_design(role: str, template: str) -> bool:
    # The installation's admin key manages every tenant and its keys: that is what it is for.
    return role == "installation admin" and template.startswith("/api/tenants")


def _problems(client: TestClient, acme: Acme, roles: dict[str, dict[str, str]]) -> list[str]:
    """Every call of every route by every role of rival; what went wrong."""
    openapi = client.app.openapi()  # type: ignore[attr-defined]
    problems: list[str] = []
    operations: set[tuple[str, str]] = set()
    for method, template, path, named in _calls(openapi, acme):
        operation = openapi["paths"][template][method]
        operations.add((method, template))
        for role, headers in roles.items():
            if _allowed_by_design(role, template):
                continue
            for query in QUERIES.get((method, template), [{}]):
                body = _body(method, template) if "requestBody" in operation else None
                answer = client.request(method, path, headers=headers, params=query, json=body)
                where = f"{role}: {method.upper()} {path} {query}"
                if answer.status_code >= 500 or (named and answer.status_code not in (403, 404)):
                    problems.append(f"{where} -> {answer.status_code} {answer.text[:200]}")
                problems += [f"{where} leaks {s[:12]}" for s in acme.secrets if s in answer.text]
    assert len(operations) >= 40  # every REST route was called
    return problems


def test_another_tenant_sees_and_changes_nothing(world: tuple[TestClient, Acme, Any]) -> None:
    client, acme, roles = world
    before = _state(client)
    problems = _problems(client, acme, roles)
    assert not problems, "\n".join(problems)
    assert _state(client) == before


def test_the_suite_catches_a_lookup_that_forgets_the_tenant(
    world: tuple[TestClient, Acme, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, acme, roles = world
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    real = platform.catalog.device

    def any_tenant(tenant: str, device_id: str) -> Any:
        return real("acme", device_id)  # the bug: the caller's tenant is ignored

    monkeypatch.setattr(platform.catalog, "device", any_tenant)
    problems = _problems(client, acme, roles)
    assert any("GET /api/devices/pump/attributes" in p for p in problems), problems[:5]
    assert any("leaks" in p for p in problems)


def _state(client: TestClient) -> dict[str, Any]:
    """Everything of acme's, as acme's admin sees it."""
    acme = {"X-Aiot-Tenant": "acme"}
    reads = [
        "/api/devices",
        "/api/devices/pump/attributes",
        "/api/devices/pump/telemetry?start=0",
        "/api/deployments",
        "/api/alarms",
        "/api/bridges",
        "/api/models",
        "/api/tenants/acme/keys",
        "/api/tenants/acme/users",
        "/api/packages",
        "/api/devices/pump/firmware",
        "/api/devices/pump/software",
    ]
    state = {path: client.get(path, headers=acme).json() for path in reads}
    # a bridge's connection state and counters, a device's last-seen time move on their own
    state["/api/bridges"] = [{"id": b["id"], "name": b["name"]} for b in state["/api/bridges"]]
    for device in state["/api/devices"]:
        device.pop("last_seen")
    return state
