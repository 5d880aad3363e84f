"""``aiot deploy`` and ``aiot deployments``: detectors scoring live telemetry."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from aiot.api.params import parse_interval
from aiot.cli.common import JsonOpt, client_from, command, console, fail, print_json, print_table
from aiot.domain import now_ms
from aiot.errors import InvalidInput

__all__ = ["deploy", "deployments"]

deployments = typer.Typer(help="Detectors deployed on live telemetry.", no_args_is_help=True)

PolicyOpt = Annotated[
    str | None, typer.Option(help="alarm policy as JSON, or @file.json (default: calibrated)")
]


@command
def deploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="scores are stored under score/NAME")],
    detector: Annotated[str, typer.Option(help="a registered detector, e.g. zscore")],
    keys: Annotated[str, typer.Option(help="comma-separated telemetry keys to score")],
    device: Annotated[str | None, typer.Option(help="one device, by id or name")] = None,
    type: Annotated[str | None, typer.Option(help="every device of this type")] = None,
    label: Annotated[list[str] | None, typer.Option(help="k=v on the devices, repeatable")] = None,
    param: Annotated[list[str] | None, typer.Option(help="detector's k=v, repeatable")] = None,
    policy: PolicyOpt = None,
    multivariate: Annotated[
        bool, typer.Option("--multivariate", help="one model per device over all keys")
    ] = False,
    backfill: Annotated[
        str | None, typer.Option(help="first score stored history: 7d, 12h, or a start time")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy a detector on the keys of a device, a device type or labelled devices."""
    if device is None and type is None and not label:
        raise fail("say which devices to read: --device, --type or --label k=v")
    wanted = [k.strip() for k in keys.split(",") if k.strip()]
    if not wanted:
        raise fail("--keys names at least one telemetry key")
    created = client_from(ctx).deploy(
        name,
        detector,
        wanted,
        device=device,
        type=type,
        labels=_pairs(label, "--label", parse=False),
        params=_pairs(param, "--param"),
        policy=_policy(policy) if policy is not None else None,
        multivariate=multivariate,
        backfill_start=_since(backfill) if backfill else None,
    )
    if backfill:
        _follow_backfill(ctx, created["id"])
    if as_json:
        return print_json(created)
    reads = f"{','.join(created['keys'])} of {_selected(created['selector'])}"
    typer.echo(f"deployment {created['name']} deployed: {created['detector']} on {reads}")
    typer.echo(f"  scores go to {created['score_key']} from the next points on")


def _pairs(texts: list[str] | None, option: str, parse: bool = True) -> dict[str, Any]:
    """``k=v`` options as a dict; values as JSON when they parse (``3`` is a number), else text."""
    found: dict[str, Any] = {}
    for text in texts or []:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise fail(f"{option} is key=value, got {text!r}")
        found[key] = _value(value) if parse else value
    return found


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _policy(text: str) -> dict[str, Any]:
    """``--policy``: a JSON object, inline or from ``@file.json``."""
    source = "--policy"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text()
        except OSError as err:
            raise fail(f"cannot read the policy file {source}: {err.strerror}") from None
    try:
        policy = json.loads(text)
    except ValueError as err:
        raise fail(f"{source} is not JSON: {err}") from None
    if not isinstance(policy, dict):
        raise fail(f"{source} must hold a JSON object")
    return policy


def _selected(selector: dict[str, Any]) -> str:
    """``device=pump-1 type=pump site=north``: what a selector reads."""
    parts = [f"{k}={selector[k]}" for k in ("device", "type") if selector.get(k)]
    parts += [f"{k}={v}" for k, v in (selector.get("labels") or {}).items()]
    return " ".join(parts)


def _keys_shown(keys: list[str]) -> str:
    """The keys, or the first two and how many there are (``deployments show`` lists all)."""
    return ",".join(keys) if len(keys) <= 3 else f"{keys[0]},{keys[1]},… ({len(keys)} keys)"


@deployments.command("list")
@command
def deployments_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List deployments."""
    found = client_from(ctx).deployments()
    if as_json:
        return print_json(found)
    rows = [
        [
            d["name"],
            d["detector"],
            _keys_shown(d["keys"]),
            _selected(d["selector"]),
            "paused" if d["paused"] else "running",
            d["id"],
        ]
        for d in found
    ]
    print_table("deployments", ["name", "detector", "keys", "selector", "state", "id"], rows)


@deployments.command("show")
@command
def deployments_show(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="deployment id or name")]
) -> None:
    """Print a deployment and its live stats as JSON."""
    print_json(client_from(ctx).deployment(ref))


@deployments.command("pause")
@command
def deployments_pause(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="deployment id or name")]
) -> None:
    """Stop scoring until resumed."""
    paused = client_from(ctx).pause_deployment(ref)
    console.print(f"deployment {paused['name']} paused")


@deployments.command("resume")
@command
def deployments_resume(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="deployment id or name")]
) -> None:
    """Score again from the next points."""
    resumed = client_from(ctx).resume_deployment(ref)
    console.print(f"deployment {resumed['name']} resumed")


@deployments.command("policy")
@command
def deployments_policy(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="deployment id or name")],
    policy: Annotated[str, typer.Argument(help="alarm policy as JSON, or @file.json")],
) -> None:
    """Replace a deployment's alarm policy."""
    changed = client_from(ctx).set_policy(ref, _policy(policy))
    console.print(f"deployment {changed['name']} has a new alarm policy")


@deployments.command("remove")
@command
def deployments_remove(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="deployment id or name")]
) -> None:
    """Stop and delete a deployment; its alarms and stored scores stay."""
    client_from(ctx).remove_deployment(ref)
    console.print(f"deployment {ref} removed")


def _since(text: str) -> str:
    """A start time: ``7d`` / ``12h`` / ``30m`` back from now, or a time as given."""
    try:
        return str(now_ms() - parse_interval(text))
    except InvalidInput:
        return text


def _follow_backfill(ctx: typer.Context, ref: str, poll: float = 0.2) -> None:
    """A progress bar until the server has scored the history (devices × days)."""
    client = client_from(ctx)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("scoring stored history", total=None)
        while True:
            progress = client.deployment(ref)["stats"].get("backfill") or {}
            bar.update(task, completed=progress.get("done", 0), total=progress.get("total") or None)
            if progress.get("state") == "done":
                break
            time.sleep(poll)
    typer.echo(f"  history scored: {progress.get('done', 0)} device-days")
