"""redcloud connectors: the carrier links messages go out through."""

from __future__ import annotations

from typing import Any

import typer

from redcloud.cli.common import JsonOption, emit, emit_one, out, run_in_session
from redcloud.providers import connectors
from redcloud.providers.models import Connector

app = typer.Typer(
    help="Connectors: the carrier links (the built-in sandbox; SMPP to come).",
    no_args_is_help=True,
)


def row(connector: Connector, numbers: int | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": connector.name,
        "kind": connector.kind,
        "status": connector.status,
        "default": connector.is_default,
    }
    if numbers is not None:
        fields["numbers"] = numbers
    return fields


@app.command("list")
def list_(as_json: bool = JsonOption) -> None:
    """List connectors: kind, status, and which one is the default."""
    found = run_in_session(connectors.list_connectors)
    emit([row(c) for c in found], as_json)


@app.command()
def show(name: str, as_json: bool = JsonOption) -> None:
    """Show one connector and how many numbers send through it."""

    async def _show(session: Any) -> dict[str, Any]:
        connector = await connectors.get_connector(session, name)
        return row(connector, await connectors.numbers_using(session, name))

    emit_one(run_in_session(_show), as_json)


@app.command("set-status")
def set_status(
    name: str,
    status: str = typer.Argument(..., help="enabled or disabled"),
    as_json: bool = JsonOption,
) -> None:
    """Enable or disable a connector; running workers follow within seconds.

    Messages for a disabled connector wait in the queue until it is enabled again or their
    validity (REDCLOUD_MESSAGE_VALIDITY_SECONDS) ends.
    """
    connector = run_in_session(lambda s: connectors.set_status(s, name, status.lower()))
    emit_one(row(connector), as_json)


@app.command("set-default")
def set_default(name: str, as_json: bool = JsonOption) -> None:
    """Make NAME carry the messages of numbers that have no connector of their own."""
    connector = run_in_session(lambda s: connectors.set_default(s, name))
    emit_one(row(connector), as_json)


@app.command()
def remove(name: str) -> None:
    """Remove a connector no number uses and that is not the default."""
    run_in_session(lambda s: connectors.remove(s, name))
    out.print(f"removed connector {name}")
