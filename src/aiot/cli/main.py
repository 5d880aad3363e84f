"""Entry point of the ``aiot`` command; each group of commands lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from aiot import __version__
from aiot.cli.alarms import alarms
from aiot.cli.bridges import bridges
from aiot.cli.common import Connection
from aiot.cli.demo import demo
from aiot.cli.deployments import deploy, deployments
from aiot.cli.eval import app as eval_app
from aiot.cli.models import app as models_app
from aiot.cli.packages import packages
from aiot.cli.profiles import profiles
from aiot.cli.resources import devices, telemetry, tenants
from aiot.cli.server import up
from aiot.cli.simulate import simulate
from aiot.cli.users import users
from aiot.settings import ClientSettings

__all__ = ["app", "run"]

app = typer.Typer(
    name="aiot",
    help="aiot: connect devices, store telemetry, run AI on live streams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="a running aiot (env AIOT_URL)")] = None,
    key: Annotated[
        str | None, typer.Option(help="API key (env AIOT_API_KEY; else aiot-data/admin.key)")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="tenant to act in (admin key)")] = None,
) -> None:
    """aiot: connect devices, store telemetry, run AI on live streams."""
    defaults = ClientSettings()
    secret = defaults.api_key.get_secret_value() if defaults.api_key else None
    ctx.obj = Connection(url or defaults.url, key or secret, tenant, defaults.data_dir)


@app.command()
def version() -> None:
    """Print aiot's version."""
    typer.echo(__version__)


app.command()(up)
app.command()(demo)
app.add_typer(tenants, name="tenants")
app.add_typer(users, name="users")
app.add_typer(devices, name="devices")
app.add_typer(telemetry, name="telemetry")
app.add_typer(bridges, name="bridges")
app.add_typer(profiles, name="profiles")
app.add_typer(packages, name="packages")
app.command("simulate")(simulate)
app.add_typer(eval_app, name="eval")
app.add_typer(models_app, name="models")
app.command("deploy")(deploy)
app.add_typer(deployments, name="deployments")
app.add_typer(alarms, name="alarms")


def run() -> None:
    """Run the command line (the ``aiot`` console script)."""
    app()
