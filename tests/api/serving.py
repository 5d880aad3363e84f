"""The app served by real uvicorn (aiot's own server config) in a thread, on a free port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from aiot.cli.server import server_config
from aiot.settings import Settings
from tests.conftest import free_port


@contextmanager
def serving(app: FastAPI, settings: Settings) -> Iterator[str]:
    """Serve ``app`` as ``aiot up`` would, yield its base URL, stop it after."""
    port = free_port()
    config = server_config(app, settings)
    config.host, config.port = "127.0.0.1", port
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=20)
