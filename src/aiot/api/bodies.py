"""REST request bodies are bounded and valid UTF-8 JSON before any route sees them.

Python's ``json`` reads ``"\\ud800"`` as a lone surrogate, a string that cannot be written back
as UTF-8: a device label holding one was stored, and then every listing of the tenant's devices
failed to render. A body above :data:`MAX_BODY` is refused before it is held in memory. The
device API (``/api/v1/``) has its own limit and decoder, and is left alone, as is a package
upload (``POST /api/packages``: raw bytes up to ``max_package_bytes``, ``api/packages.py``).

Every REST body is JSON, so it is read as JSON whatever its ``Content-Type`` says: ``curl -d``
sends ``application/x-www-form-urlencoded`` unless told otherwise, and a user who forgot the
header should not get a puzzling 400.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiot.errors import AiotError, InvalidInput, PayloadTooLarge

__all__ = ["MAX_BODY", "CheckedBodies"]

MAX_BODY = 1 << 20  # a REST body (a policy, a CA bundle) is far smaller
_DEVICE_API = "/api/v1/"
_PACKAGES = "/api/packages"


class CheckedBodies:
    """ASGI middleware: refuse REST bodies that are too large or not encodable JSON text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read a REST body whole, check it, and hand it on to the app."""
        if scope["type"] != "http" or scope["path"].startswith(_DEVICE_API) or _upload(scope):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read(receive)
            _check(body)
        except AiotError as err:
            await JSONResponse(err.to_dict(), status_code=err.status)(scope, receive, send)
            return
        await self.app(_as_json(scope) if body else scope, _replay(body, receive), send)


def _upload(scope: Scope) -> bool:
    return bool(scope["method"] == "POST" and scope["path"].rstrip("/") == _PACKAGES)


def _as_json(scope: Scope) -> Scope:
    """The request with ``Content-Type: application/json`` in place of any other type."""
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


async def _read(receive: Receive) -> bytes:
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        more = bool(message.get("more_body"))
    return b"".join(chunks)


def _check(body: bytes) -> None:
    if b"\\u" not in body and b"\\U" not in body:
        return  # no escape: whatever the bytes are, the JSON decoder's UTF-8 check covers them
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return  # not JSON: the route's own validation says so
    try:
        json.dumps(parsed, ensure_ascii=False).encode()
    except UnicodeEncodeError as err:
        raise InvalidInput("the body holds a lone surrogate escape (\\ud800-\\udfff)") from err


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # a disconnect, when the client goes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
