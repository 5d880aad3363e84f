"""``aiot profiles``: device profiles, one per device type, with provisioning and limits."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aiot.cli.common import JsonOpt, client_from, command, console, fail, print_json, print_table

__all__ = ["profiles"]

profiles = typer.Typer(help="Device profiles: provisioning and limits.", no_args_is_help=True)


@profiles.command("add")
@command
def profiles_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the device type the profile describes")],
    provision: Annotated[
        str, typer.Option(help="disabled, allow_create or check_pre_provisioned")
    ] = "disabled",
    key: Annotated[str | None, typer.Option(help="provision key (generated if absent)")] = None,
    secret: Annotated[
        str | None, typer.Option(help="provision secret (generated if absent)")
    ] = None,
    description: Annotated[str, typer.Option(help="what the devices are")] = "",
    limit: Annotated[
        list[str] | None, typer.Option(help="repeatable: name=value, messages_per_second=10")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a profile; a provisioning one shows its key and secret, for the devices' firmware."""
    made = client_from(ctx).add_profile(
        name,
        provision=provision,
        provision_key=key,
        provision_secret=secret,
        description=description,
        limits=_limits(limit or []),
    )
    if as_json:
        return print_json(made)
    console.print(f"profile [bold]{made['name']}[/] added ({made['provision']})")
    if made["provision_key"]:
        console.print(f"  provision key     {made['provision_key']}")
        console.print(f"  provision secret  {made['provision_secret']}")


def _limits(given: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in given:
        name, _, value = item.partition("=")
        try:
            found[name.strip()] = float(value) if "." in value else int(value)
        except ValueError as err:
            raise fail(f"a limit is name=number, such as messages_per_second=10: {item!r}") from err
    return found


@profiles.command("list")
@command
def profiles_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the tenant's profiles."""
    found = client_from(ctx).profiles()
    if as_json:
        return print_json(found)
    columns = ["name", "provision", "provision key", "limits", "description"]
    rows = [
        [p["name"], p["provision"], p["provision_key"], p["limits"] or None, p["description"]]
        for p in found
    ]
    print_table("profiles", columns, rows)


@profiles.command("show")
@command
def profiles_show(ctx: typer.Context, name: str) -> None:
    """One profile as JSON (the secret for operators and admins)."""
    print_json(client_from(ctx).profile(name))


@profiles.command("remove")
@command
def profiles_remove(ctx: typer.Context, name: str) -> None:
    """Remove a profile; its devices stay, and its key provisions no more."""
    client_from(ctx).remove_profile(name)
    console.print(f"profile [bold]{name}[/] removed")
