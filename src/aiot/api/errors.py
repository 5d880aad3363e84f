"""Rendering of errors as ``{code, message, detail}`` with the right status.

Bad input is a 4xx that says what is wrong and logs nothing. A failure of the server (a 500,
or a 503 of the store) answers a fixed message and ``detail: {"id": ...}``, never a server
path or a driver's text; that detail is logged once under the same id. An unexpected exception
is caught by :class:`CatchAll` rather than by Starlette's error middleware, which re-raises it
to uvicorn: that logged a traceback a second time and closed the kept-alive connection.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiot.errors import AiotError

__all__ = ["CatchAll", "install_error_handlers"]

log = logging.getLogger("aiot.api")

# What a client is told of a failure on the server's side; the rest is in the log, by id.
_HIDDEN = {
    500: "an unexpected error occurred; the server's log has the details under this id",
    503: "the store is unavailable; nothing was stored or acknowledged, try again later",
}
_HTTP_CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
_HTTP_CODES |= {413: "payload_too_large"}


def error_id() -> str:
    """A short random id that ties an answer to its line in the server's log."""
    return secrets.token_hex(6)


def _internal(ident: str) -> dict[str, Any]:
    return {"code": "internal", "message": _HIDDEN[500], "detail": {"id": ident}}


def render(err: AiotError) -> JSONResponse:
    """An aiot error as its answer; a server-side failure is logged and shown without detail."""
    if err.status not in _HIDDEN:
        return JSONResponse(err.to_dict(), status_code=err.status)
    ident = error_id()
    log.error("%s %s: %s (%s)", err.code, ident, err.message, err.detail)
    body = {"code": err.code, "message": _HIDDEN[err.status], "detail": {"id": ident}}
    return JSONResponse(body, status_code=err.status)


class CatchAll:
    """ASGI middleware: an unexpected exception is one 500 with an id, logged once, kept alive."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; turn what it raises into a 500 instead of letting it reach the server."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as err:
            ident = error_id()
            where = f"{scope.get('method')} {scope.get('path')}"
            log.error("internal %s on %s", ident, where, exc_info=err)
            if not started:  # else the answer is cut short, and the server closes the connection
                await JSONResponse(_internal(ident), status_code=500)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Render aiot errors, validation errors and unexpected ones the same way."""
    app.add_middleware(CatchAll)

    @app.exception_handler(AiotError)
    async def aiot_error(_: Request, err: AiotError) -> JSONResponse:
        return render(err)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in err.errors()]
        body = {"code": "invalid_input", "message": "the request is not valid", "detail": detail}
        return JSONResponse(body, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        body = {
            "code": _HTTP_CODES.get(err.status_code, "http_error"),
            "message": err.detail,
            "detail": None,
        }
        return JSONResponse(body, status_code=err.status_code, headers=err.headers)
