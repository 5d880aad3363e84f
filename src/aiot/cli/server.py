"""``aiot up``: the platform in one process, serving the REST and device APIs."""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from starlette.types import ASGIApp

from aiot import __version__
from aiot.api import create_app
from aiot.api.protocol import header_deadline
from aiot.app import Platform
from aiot.cli.common import console, fail, reporting
from aiot.connect.sockets import listening_socket
from aiot.errors import AiotError, StoreError
from aiot.settings import Settings
from aiot.ui import mount as mount_dashboard

__all__ = [
    "EXIT_STORE",
    "build",
    "configure_logging",
    "serve",
    "server_config",
    "try_hint",
    "up",
]

EXIT_STORE = 4
"""``aiot up``'s exit code when the data folder or the telemetry store cannot be used."""

PortOpt = Annotated[int | None, typer.Option("--http-port", help="HTTP port [default: 8080]")]
DirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="data folder [default: ./aiot-data]")
]
MqttOpt = Annotated[
    int | None, typer.Option("--mqtt-port", help="MQTT port for devices, 0: off [default: 1883]")
]
HostOpt = Annotated[
    str | None, typer.Option("--host", help="address to listen on [default: 127.0.0.1]")
]
LogOpt = Annotated[
    str,
    typer.Option(
        "--log-level",
        help="what the server logs on stderr: debug, info (connections refused, bridges,"
        " deployments, alarms), warning or error",
    ),
]
_LEVELS = ("debug", "info", "warning", "error")


def settings_from(
    http_port: int | None, data_dir: Path | None, host: str | None, mqtt_port: int | None = None
) -> Settings:
    """Settings from the environment, with the flags given on the command line on top."""
    flags: dict[str, Any] = {"http_port": http_port, "data_dir": data_dir, "http_host": host}
    mqtt = {k: v for k, v in {"port": mqtt_port, "host": host}.items() if v is not None}
    if mqtt:
        flags["mqtt"] = mqtt
    return Settings(**{k: v for k, v in flags.items() if v is not None})


def configure_logging(level: str) -> None:
    """aiot's log on stderr, one line an event, at ``level`` and above."""
    if level.lower() not in _LEVELS:
        raise fail(f"--log-level is one of {', '.join(_LEVELS)}, not {level!r}", 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("aiot")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def try_hint(settings: Settings) -> str:
    """The environment a user's next ``aiot`` commands need to reach this server."""
    url = f"http://{settings.http_host}:{settings.http_port}"
    env = [] if url == "http://127.0.0.1:8080" else [f"AIOT_URL={url}"]
    if settings.data_dir != Path("aiot-data"):
        env.append(f"AIOT_DATA_DIR={settings.data_dir}")
    return f"export {' '.join(env)}; " if env else ""


def _listen(host: str, port: int) -> socket.socket:
    try:
        return listening_socket(host, port)
    except OSError as err:
        raise fail(f"cannot listen on {host}:{port}: {err.strerror}") from None


def _banner(platform: Platform, sock: socket.socket) -> None:
    host, port = sock.getsockname()[:2]
    base = f"http://{host}:{port}"
    console.print(f"[bold green]aiot {__version__} is up[/]")
    console.print(f"  dashboard     {base}/")
    console.print(f"  REST API      {base}/api")
    console.print(f"  API docs      {base}/docs")
    console.print(f"  device API    {base}/api/v1/<access-token>/telemetry")
    mqtt = platform.settings.mqtt
    if mqtt.port:
        console.print(f"  device MQTT   mqtt://{mqtt.host}:{mqtt.port} (user name: access token)")
    console.print(f"  data folder   {platform.settings.data_dir.resolve()}")
    key = platform.admin_key
    if key.created:
        console.print(f"  admin key     [bold]{key.secret}[/]  (shown once; saved to {key.path})")
    elif key.path is not None:
        console.print(f"  admin key     in {key.path}")
    else:
        console.print("  admin key     from AIOT_ADMIN_KEY")
    console.print("Press Ctrl+C to stop.", style="dim")


_GRACE_SECONDS = 3


def server_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves aiot: h11 with a deadline for request headers, no access log."""
    http = header_deadline(
        settings.http_header_timeout_seconds, settings.http_max_pending_connections
    )
    return uvicorn.Config(
        app,
        http=http,
        log_level="warning",
        access_log=False,
        lifespan="on",
        # the MQTT endpoint's sessions are asyncio protocols over asyncio's transports: uvloop,
        # which "auto" picks wherever it happens to be installed, hands them others
        loop="asyncio",
        # a device long-polling for commands (or a live WebSocket) must not hold a stop for long
        timeout_graceful_shutdown=_GRACE_SECONDS,
    )


def serve(platform: Platform) -> None:
    """Serve ``platform`` until interrupted."""
    settings = platform.settings
    sock = _listen(settings.http_host, settings.http_port)
    if platform.mqtt is not None:  # every port is taken before anything is announced
        try:
            platform.mqtt.bind()
        except AiotError as err:
            sock.close()
            platform.close()
            raise fail(err.message) from None
    app = create_app(platform)
    mount_dashboard(app, platform)
    config = server_config(app, settings)
    _banner(platform, sock)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        platform.close()


def up(
    http_port: PortOpt = None,
    data_dir: DirOpt = None,
    host: HostOpt = None,
    mqtt_port: MqttOpt = None,
    log_level: LogOpt = "info",
) -> None:
    """Run aiot: the REST API, the device APIs (HTTP, MQTT) and the embedded store."""
    configure_logging(log_level)
    with reporting():
        settings = settings_from(http_port, data_dir, host, mqtt_port)
    serve(build(settings))


def build(settings: Settings) -> Platform:
    """The platform, or one line on stderr and exit code 4 when its data cannot be used."""
    try:
        return Platform.build(settings)
    except StoreError as err:  # a damaged store, an unwritable folder, a held lock
        raise fail(f"{_one_line(err)} [{err.code}]", EXIT_STORE) from None
    except OSError as err:  # the data folder or a file in it
        where = err.filename or settings.data_dir
        raise fail(
            f"cannot use the data folder: {where}: {err.strerror or err}", EXIT_STORE
        ) from None
    except AiotError as err:
        raise fail(f"{err.message} [{err.code}]") from None


def _one_line(err: StoreError) -> str:
    """The error's message and, when the message does not say it, the driver's first line."""
    reason = str(err.detail).strip().splitlines()[0] if err.detail else ""
    return f"{err.message} ({reason})" if reason and reason not in err.message else err.message
