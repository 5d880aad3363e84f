"""The web dashboard: NiceGUI pages on the API's own FastAPI app, ECharts for the plots.

One module per page (``signin``, ``fleet``, ``device``, ``alarms``, ``models``), what they
share in ``shell``. Pages are thin: they call the platform, as the REST API does, and show
only what the signed-in principal's tenant holds; a viewer's pages have no write controls.

NiceGUI is one app per process, so :func:`mount` is called once, by ``aiot up``.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from nicegui import ui
from nicegui.storage import Storage
from starlette.routing import Match, Mount
from starlette.types import Scope

from aiot.app import Platform
from aiot.ui import alarms, device, fleet, models, shell, signin
from aiot.ui.sessions import Sessions

__all__ = ["mount"]

_PAGES = (signin, fleet, device, alarms, models)  # imported for their @ui.page routes
_API = ("/api", "/docs", "/redoc", "/openapi.json")


class _Dashboard(Mount):
    """The dashboard at ``/``, except for the API's paths: those stay the API's (its 404, 405)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match for an API path, else as a mount at ``/``."""
        path: str = scope.get("path", "")
        if any(path == p or path.startswith(p + "/") for p in _API):
            return Match.NONE, {}
        return super().matches(scope)


def mount(app: FastAPI, platform: Platform, sessions: Sessions | None = None) -> None:
    """Serve the dashboard at ``/`` of ``app``, outside its OpenAPI schema."""
    shell.install(platform, sessions or Sessions())
    Storage.path = platform.settings.data_dir / "dashboard"  # not ./.nicegui
    ui.run_with(
        app,
        title="aiot",
        favicon="📡",
        # Only the browser's id lives in the cookie; sessions are in memory, so a secret made
        # at each start loses nothing a restart would keep.
        storage_secret=secrets.token_urlsafe(32),
        show_welcome_message=False,
    )
    mounted = app.router.routes.pop()
    assert isinstance(mounted, Mount)
    app.router.routes.append(_Dashboard("/", app=mounted.app))
