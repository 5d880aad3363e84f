"""The OpenAPI document says what the server answers: its error statuses and their one shape.

Every router is included with the errors any of its routes can answer (``REST``, ``DEVICE``);
a REST route that names a record in its path also answers ``404``, one with a body ``413``
(``api/bodies.py``); a route adds the errors only
it can answer (``errors(404, 409)``). A request that does not validate is a ``400`` with code
``invalid_input``, like every other bad input, so FastAPI's ``422`` (which the server never
sends) is replaced by it in the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

__all__ = ["DEVICE", "REST", "ErrorOut", "errors", "install_openapi"]


class ErrorOut(BaseModel):
    """Every error answer: a stable code, a message for people, and details when there are."""

    code: str = Field(description="stable, e.g. invalid_input, not_found, store_error")
    message: str
    detail: Any = Field(default=None, description="what was wrong; {id} for a server failure")


_WHY = {
    400: "invalid_input (or a payload's reason code): the request cannot be accepted as given",
    401: "unauthorized: no API key (or device token), or one that matches nothing",
    403: "forbidden: the key's role does not allow this, or the key is another tenant's",
    404: "not_found: no such record in the caller's tenant (another tenant's is the same)",
    409: "conflict: the record exists already, or its state forbids this (device_offline)",
    413: "payload_too_large: the body is larger than the configured limit",
    502: "service_error: an external service failed",
    503: "store_error: the store failed; nothing was stored or acknowledged, try again",
    504: "command_timeout: the device did not answer in time",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the error shape."""
    return {status: {"model": ErrorOut, "description": _WHY[status]} for status in statuses}


REST = errors(400, 401, 403, 503)
"""What any route of the REST API may answer: bad input, no key, the wrong key, no store."""

DEVICE = errors(400, 401, 413, 503)
"""What the device API may answer: a refused payload, an unknown token, too large, no store."""


def install_openapi(app: FastAPI) -> None:
    """Generate ``app``'s OpenAPI document once, with ``400`` in place of FastAPI's ``422``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _honest(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _documented(status: int) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/ErrorOut"}
    return {"description": _WHY[status], "content": {"application/json": {"schema": error}}}


def _honest(schema: dict[str, Any]) -> None:
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", _documented(400))
            named = any(p.get("in") == "path" for p in operation.get("parameters", []))
            if named and "403" in responses:  # a REST route naming a record: it may not exist
                responses.setdefault("404", _documented(404))
            if "requestBody" in operation:
                responses.setdefault("413", _documented(413))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components.setdefault("ErrorOut", ErrorOut.model_json_schema())
