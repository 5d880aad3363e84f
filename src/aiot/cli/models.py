"""``aiot models``: the registered models and the tenant's stored versions."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from aiot.models import hub, registry

__all__ = ["app"]

app = typer.Typer(
    name="models", help="List, describe, export and import models.", no_args_is_help=True
)

DataOpt = typer.Option(Path("data"), "--data", help="The platform's data folder")
TenantOpt = typer.Option(..., "--tenant", help="Tenant that owns the model")


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print as JSON")) -> None:
    """Every registered model with its task."""
    cards = [registry.card(name) for name in registry.names()]
    if as_json:
        typer.echo(json.dumps([{"name": c.name, "task": c.task} for c in cards], indent=2))
        return
    for c in cards:
        typer.echo(f"{c.name}\t{c.task}\t{c.summary}")


@app.command("show")
def show_cmd(name: str) -> None:
    """The card of a registered model, as JSON."""
    typer.echo(json.dumps(registry.card(name).to_dict(), indent=2))


@app.command("export")
def export_cmd(
    name: str,
    out: Path = typer.Option(..., "--out", help="File to write"),
    version: str = typer.Option("1", "--version"),
    data: Path = DataOpt,
    tenant: str = TenantOpt,
) -> None:
    """Write a stored model version as one shareable file."""
    typer.echo(hub.export(data, tenant, name, version, out))


@app.command("import")
def import_cmd(path: Path, data: Path = DataOpt, tenant: str = TenantOpt) -> None:
    """Verify a model file and store it for a tenant (no code from it runs)."""
    card = hub.import_file(path, data, tenant)
    typer.echo(f"{card.name} {card.version}")
