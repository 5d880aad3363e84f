"""Entry point of the ``aiot`` command; each group of commands lives in its own module."""

from __future__ import annotations

import typer

from aiot import __version__

__all__ = ["app", "run"]

app = typer.Typer(
    name="aiot",
    help="aiot: connect devices, store telemetry, run AI on live streams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """aiot: connect devices, store telemetry, run AI on live streams."""


@app.command()
def version() -> None:
    """Print aiot's version."""
    typer.echo(__version__)


def run() -> None:
    """Run the command line (the ``aiot`` console script)."""
    app()
