"""``aiot users``: the people who sign in to the dashboard, per tenant (tenant admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from aiot.cli.common import JsonOpt, client_from, command, console, print_json, print_table

__all__ = ["users"]

users = typer.Typer(help="Dashboard users of a tenant (admin key).", no_args_is_help=True)


@users.command("add")
@command
def users_add(
    ctx: typer.Context,
    name: str,
    tenant: Annotated[str, typer.Option(help="the user's tenant")] = "default",
    role: Annotated[str, typer.Option(help="admin, operator or viewer")] = "viewer",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a dashboard user; they sign in as ``tenant/name`` (or ``name`` in default)."""
    made = client_from(ctx).create_user(tenant, name, password, role)
    login = made["name"] if made["tenant"] == "default" else f"{made['tenant']}/{made['name']}"
    console.print(f"{made['role']} user [bold]{login}[/] created; sign in at the dashboard")


@users.command("list")
@command
def users_list(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="the tenant")] = "default",
    as_json: JsonOpt = False,
) -> None:
    """List a tenant's dashboard users."""
    found = client_from(ctx).users(tenant)
    if as_json:
        return print_json(found)
    rows = [[u["name"], u["role"], u["created_at"]] for u in found]
    print_table("users", ["name", "role", "created"], rows)


@users.command("remove")
@command
def users_remove(
    ctx: typer.Context,
    name: str,
    tenant: Annotated[str, typer.Option(help="the user's tenant")] = "default",
) -> None:
    """Delete a dashboard user."""
    client_from(ctx).delete_user(tenant, name)
    console.print(f"user {name} removed")
