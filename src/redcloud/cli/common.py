"""What every operator command shares: settings, a database session, readable output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.provisioning import ProvisioningError
from redcloud.config import Settings
from redcloud.db import Database

T = TypeVar("T")
out = Console()
err = Console(stderr=True)
JsonOption = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


def settings() -> Settings:
    return Settings()


def run_in_session(action: Callable[[AsyncSession], Awaitable[T]], *, write: bool = True) -> T:
    """Run `action` in one committed transaction on the configured database."""

    async def _main() -> T:
        db = Database(settings().resolved_database_url)
        try:
            async with db.session(write=write) as session:
                return await action(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(_main())
    except ProvisioningError as exc:
        fail(str(exc))
    except DBAPIError as exc:
        if _missing_schema(exc):
            fail(
                "The database has no Red Cloud schema yet, or an old one: run "
                "`redcloud db upgrade` first (`serve` does it by itself on SQLite)."
            )
        raise


def _missing_schema(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return (
        "no such table" in text
        or "no such column" in text
        or ("does not exist" in text and ("relation" in text or "column" in text))
    )


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def emit(rows: Sequence[dict[str, Any]], as_json: bool) -> None:
    """Rows as a table for people, or as a JSON array for scripts."""
    if as_json:
        typer.echo(json.dumps(list(rows), indent=2, default=str))
        return
    if not rows:
        out.print("(none)")
        return
    table = Table()
    for column in rows[0]:
        # Fold rather than truncate: ids must stay whole so people can copy them.
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)


def emit_one(row: dict[str, Any], as_json: bool) -> None:
    """One record as 'field  value' lines for people, or a JSON object for scripts."""
    if as_json:
        typer.echo(json.dumps(row, indent=2, default=str))
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in row.items():
        table.add_row(key, "" if value is None else str(value))
    out.print(table)
