"""What every client command shares: reaching the server, printing, failing in one line."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aiot.client import Client
from aiot.errors import AiotError

__all__ = ["Connection", "client_from", "console", "fail", "note", "print_json", "reporting"]

console = Console()
errors = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


@dataclass(frozen=True)
class Connection:
    """Where the running aiot is and which key to use."""

    url: str
    api_key: str | None
    tenant: str | None
    data_dir: Path

    def key(self) -> str | None:
        """The key given, else the local admin key under the data folder."""
        if self.api_key:
            return self.api_key
        local = self.data_dir / "admin.key"
        return local.read_text().strip() if local.exists() else None


def client_from(ctx: typer.Context) -> Client:
    """A client for the connection set by the global options."""
    conn: Connection = ctx.obj
    return Client(conn.url, conn.key(), tenant=conn.tenant)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line on stderr; return the exit to raise."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def note(message: str) -> None:
    """Print one line on stderr that is worth knowing but no error (stdout stays the data)."""
    errors.print(f"[bold yellow]note:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextmanager
def reporting() -> Iterator[None]:
    """Turn aiot errors into one line on stderr and a non-zero exit."""
    try:
        yield
    except AiotError as err:
        raise fail(f"{err.message}{_detail(err.detail)} [{err.code}]") from None


def _detail(detail: Any) -> str:
    """The error's detail (which key is missing, how many rows were found), on the same line."""
    if detail in (None, "", [], {}):
        return ""
    shown = detail if isinstance(detail, str) else json.dumps(detail, default=str)
    return f": {shown if len(shown) <= 300 else shown[:300] + '...'}"


def print_table(
    title: str, columns: list[str], rows: list[list[Any]], whole: tuple[str, ...] = ()
) -> None:
    """A Rich table on stdout; None shows as an empty cell, long values wrap, ``whole`` never."""
    table = Table(title=title)
    for column in columns:
        if column in whole:  # a value to copy and paste: on one line, whatever the width
            table.add_column(column, no_wrap=True, min_width=1)
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def print_json(data: Any) -> None:
    """JSON on stdout, for scripts."""
    typer.echo(json.dumps(data, indent=2, default=str))


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Run ``fn`` inside :func:`reporting` (keeps Typer's signature)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with reporting():
            fn(*args, **kwargs)

    return wrapper


__all__ += ["command"]
