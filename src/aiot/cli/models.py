"""``aiot models``: the registered models and the tenant's stored versions."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from aiot.cli.common import client_from, command, print_json
from aiot.cli.report import params_json
from aiot.models import hub, registry

__all__ = ["app"]

app = typer.Typer(
    name="models", help="List, show, train, export and import models.", no_args_is_help=True
)

DataOpt = typer.Option(Path("aiot-data"), "--data", help="The platform's data folder")
TenantOpt = typer.Option("default", "--tenant", help="Tenant that owns the model")


def _list_trained(ctx: typer.Context, as_json: bool) -> None:
    found = client_from(ctx).models()
    if as_json:
        return print_json(found)
    for card in found:
        typer.echo(f"{card['name']}\t{card['version']}\t{card.get('model') or card['name']}")
    return None


@app.command("list")
@command
def list_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
    trained: bool = typer.Option(False, "--trained", help="The tenant's trained models (server)"),
) -> None:
    """Every registered model with its task, or (--trained) the tenant's trained ones."""
    if trained:
        return _list_trained(ctx, as_json)
    cards = [registry.card(name) for name in registry.names()]
    if as_json:
        typer.echo(json.dumps([{"name": c.name, "task": c.task} for c in cards], indent=2))
        return
    for c in cards:
        typer.echo(f"{c.name}\t{c.task}\t{c.summary}")


@app.command("show")
@command
def show_cmd(
    ctx: typer.Context,
    name: str,
    trained: bool = typer.Option(False, "--trained", help="A trained model of the tenant"),
) -> None:
    """The card of a registered model (or, with --trained, a trained one), as JSON."""
    if trained:
        return print_json(client_from(ctx).model(name))
    typer.echo(json.dumps(registry.card(name).to_dict(), indent=2))
    return None


@app.command("train")
@command
def train_cmd(
    ctx: typer.Context,
    detector: str = typer.Argument(..., help="Registered model to fit, e.g. pca"),
    device: str = typer.Option(..., "--device", help="Device id or name"),
    keys: str = typer.Option(..., "--keys", help="Comma-separated telemetry keys"),
    start: str | None = typer.Option(None, "--start", help="ISO-8601 or epoch ms; default all"),
    end: str | None = typer.Option(None, "--end", help="ISO-8601 or epoch ms; default now"),
    params: str = typer.Option("{}", "--params", help="Hyperparameters as JSON"),
    name: str | None = typer.Option(None, "--name", help="Stored name; default the detector"),
    as_json: bool = typer.Option(False, "--json", help="Print the card as JSON"),
) -> None:
    """Fit a detector on a device's stored history on the server; prints name and version."""
    wanted = [k.strip() for k in keys.split(",") if k.strip()]
    card = client_from(ctx).train_model(
        detector, device, wanted, params_json(params), start, end, name
    )
    if as_json:
        return print_json(card)
    typer.echo(f"{card['name']} {card['version']}")
    for key, value in card["metrics"].items():
        typer.echo(f"{key} {int(value)}" if float(value).is_integer() else f"{key} {value:.4g}")
    return None


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
