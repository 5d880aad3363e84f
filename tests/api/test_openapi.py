"""The OpenAPI document says what the server does: schemathesis finds nothing it hides."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from aiot.api import create_app
from aiot.app import Platform
from tests.api.serving import serving
from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 8


@dataclass
class Served:
    """A real server over a platform with a device, and the keys to call it with."""

    url: str
    openapi: dict[str, Any]
    keys: dict[str, str]


@pytest.fixture
def served(platform_factory: Callable[..., Platform]) -> Iterator[Served]:
    """The app on real uvicorn, with a device that has telemetry and a viewer key."""
    platform = platform_factory()
    app = create_app(platform)
    with serving(app, platform.settings) as url:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=url, headers=admin) as api:
            device = api.post("/api/devices", json={"name": "pump"}).json()
            httpx.post(f"{url}/api/v1/{device['access_token']}/telemetry", json={"t": 1})
            viewer = api.post("/api/tenants/default/keys", json={"name": "v", "role": "viewer"})
        yield Served(url, app.openapi(), {"admin": ADMIN_KEY, "viewer": viewer.json()["key"]})


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def test_no_server_error_and_no_undocumented_status(served: Served) -> None:
    schema = schemathesis.openapi.from_dict(served.openapi)
    failures: list[str] = []
    for operation in _operations(schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for role, key in served.keys.items():
                failures += _run(operation, mode, served.url, key, role)
    assert not failures, "\n".join(failures)


def _run(operation: Any, mode: GenerationMode, url: str, key: str, role: str) -> list[str]:
    found: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Case) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        try:
            case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=30)
        except (FailureGroup, Exception) as err:  # every failing operation is reported
            found.append(f"{role} {mode.value} {operation.label}: {str(err)[:600]}")

    try:
        check()
    except Unsatisfiable:  # nothing of this operation can be negated (no parameters)
        assert mode is GenerationMode.NEGATIVE, operation.label
    return found[:1]


def test_every_error_status_is_documented_with_the_error_shape(served: Served) -> None:
    for path, operations in served.openapi["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)  # validation errors are 400
            errors = [status for status in responses if status.startswith(("4", "5"))]
            assert "400" in errors or path == "/api/health", (method, path)
            for status in errors:
                content = responses[status]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)


def test_constraints_are_in_the_document(served: Served) -> None:
    paths = served.openapi["paths"]

    def parameter(path: str, method: str, name: str) -> dict[str, Any]:
        found = [p for p in paths[path][method]["parameters"] if p["name"] == name]
        return dict(found[0]["schema"])

    tenant = parameter("/api/tenants/{tenant_id}/keys", "get", "tenant_id")
    assert tenant["pattern"] == "^[a-z0-9][a-z0-9_-]{0,62}$"
    scope = parameter("/api/devices/{device_id}/attributes/{scope}", "post", "scope")
    assert scope["enum"] == ["shared", "server"]
    read = parameter("/api/devices/{device_id}/attributes", "get", "scope")
    assert read["anyOf"][0]["enum"] == ["client", "shared", "server"]
    body = served.openapi["components"]["schemas"]["TenantIn"]["properties"]["id"]
    assert body["pattern"] == tenant["pattern"]
