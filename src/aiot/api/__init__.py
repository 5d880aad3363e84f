"""The REST API (OpenAPI at ``/docs``) and the HTTP device API, on one FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response

from aiot import __version__
from aiot.api import (
    alarms,
    bridges,
    claims,
    deployments,
    devices,
    ingest,
    live,
    models,
    notifications,
    packages,
    profiles,
    rpc,
    sim,
    tenants,
    users,
)
from aiot.api.bodies import CheckedBodies
from aiot.api.errors import install_error_handlers
from aiot.api.openapi import DEVICE, REST, install_openapi
from aiot.app import Platform
from aiot.connect.http import device_router, provision_router

__all__ = ["create_app"]


def create_app(platform: Platform) -> FastAPI:
    """The ASGI app serving ``platform``; its lifespan starts and stops the platform."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await platform.start()
        try:
            yield
        finally:
            await platform.stop()

    app = FastAPI(
        title="aiot",
        version=__version__,
        description="Connect devices, store telemetry, run AI on live streams.",
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.live_sessions = live.LiveSessions()
    app.add_middleware(CheckedBodies)
    install_error_handlers(app)
    install_openapi(app)
    for router in (
        tenants.router,
        users.router,
        devices.router,
        claims.router,
        profiles.router,
        ingest.router,
        rpc.router,
        bridges.router,
        models.router,
        deployments.router,
        alarms.router,
        notifications.router,
        sim.router,
        packages.router,
        packages.assignments,
    ):
        app.include_router(router, responses=REST)
    app.include_router(
        device_router(platform.ingest, platform.http_polls, platform.rates), responses=DEVICE
    )
    app.include_router(provision_router(platform.ingest), responses=DEVICE)
    app.include_router(live.router)

    @app.get("/api/health", tags=["health"])
    def health(response: Response) -> dict[str, Any]:
        """The server answers; 503 while the store fails (then writes are refused)."""
        report = platform.health()
        if report["status"] != "ok":
            response.status_code = 503
        return {**report, "version": __version__}

    return app
