"""Rendering of errors as ``{code, message, detail}`` with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from aiot.errors import AiotError

__all__ = ["install_error_handlers"]

log = logging.getLogger("aiot.api")


def install_error_handlers(app: FastAPI) -> None:
    """Render aiot errors, validation errors and unexpected ones the same way."""

    @app.exception_handler(AiotError)
    async def aiot_error(_: Request, err: AiotError) -> JSONResponse:
        return JSONResponse(err.to_dict(), status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in err.errors()]
        body = {"code": "invalid_input", "message": "the request is not valid", "detail": detail}
        return JSONResponse(body, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        body = {
            "code": code.get(err.status_code, "http_error"),
            "message": err.detail,
            "detail": None,
        }
        return JSONResponse(body, status_code=err.status_code, headers=err.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=err)
        body = {"code": "internal", "message": "an unexpected error occurred", "detail": None}
        return JSONResponse(body, status_code=500)
