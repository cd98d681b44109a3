"""redcloud optouts: who said STOP, and what the platform answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.cli.common import JsonOption, emit, out, run_in_session
from redcloud.compliance import consent, operators
from redcloud.compliance.models import IMPORT

app = typer.Typer(
    help="Opt-outs: recipients who replied STOP, and the automatic replies (docs/compliance.md).",
    no_args_is_help=True,
)
NumberOption = typer.Option(None, "--number", help="A number's entries (scope number)")
ClientOption = typer.Option(None, "--client", help="A client's entries (scope client)")


@app.command("list")
def list_(
    number: str | None = NumberOption,
    client: str | None = typer.Option(None, "--client", help="Entries of this API client"),
    recipient: str | None = typer.Option(None, help="One recipient's entries"),
    as_json: bool = JsonOption,
) -> None:
    """List opt-outs with their source (keyword, operator, import) and time."""

    async def _list(session: AsyncSession) -> list[dict[str, Any]]:
        found = await operators.entries(session, number, client, recipient)
        return consent.as_rows(found)

    emit(run_in_session(_list, write=False), as_json)


@app.command()
def add(
    recipient: str,
    number: str | None = NumberOption,
    client: str | None = ClientOption,
) -> None:
    """Opt a recipient out of one number (--number) or of a whole client (--client)."""
    run_in_session(lambda s: operators.add(s, [recipient], number, client))
    out.print(f"{recipient} opted out")


@app.command()
def remove(
    recipient: str,
    number: str | None = NumberOption,
    client: str | None = ClientOption,
) -> None:
    """Lift an opt-out (only with the recipient's consent: they can also text START)."""
    removed = run_in_session(lambda s: operators.remove(s, recipient, number, client))
    out.print(f"removed {removed} opt-out(s) for {recipient}")


@app.command("import")
def import_(
    file: Path = typer.Option(..., "--file", exists=True, dir_okay=False, help="CSV file"),
    number: str | None = NumberOption,
    client: str | None = ClientOption,
) -> None:
    """Import opt-outs from a CSV whose first column is the recipient (E.164)."""
    recipients = operators.recipients_from_csv(file.read_text(encoding="utf-8"))
    count = run_in_session(lambda s: operators.add(s, recipients, number, client, IMPORT))
    out.print(f"imported {count} opt-out(s)")


@app.command()
def export(
    number: str | None = NumberOption,
    client: str | None = typer.Option(None, "--client", help="Entries of this API client"),
    file: Path | None = typer.Option(None, "--file", help="Write here instead of stdout"),
) -> None:
    """Export opt-outs as CSV (scope, scopeId, recipient, apiClientId, source, keyword,
    createdAt)."""
    found = run_in_session(lambda s: operators.entries(s, number, client), write=False)
    text = operators.to_csv(found)
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        out.print(f"wrote {len(found)} opt-out(s) to {file}")


@app.command("set-scope")
def set_scope(
    client: str,
    scope: str = typer.Argument(..., help="number (the default) or client"),
) -> None:
    """What a STOP to one of the client's numbers suppresses: that number, or the client."""
    run_in_session(lambda s: operators.set_scope(s, client, scope.lower()))
    out.print(f"{client}: STOP now suppresses the {scope.lower()}")


@app.command("set-reply")
def set_reply(
    kind: str = typer.Argument(..., help="opt-out, opt-in or help"),
    text: str | None = typer.Argument(None, help="The reply; leave out to go back to the default"),
    number: str | None = NumberOption,
    client: str | None = ClientOption,
) -> None:
    """Set the automatic reply for a number or for every number of a client."""
    now = run_in_session(lambda s: operators.set_reply(s, kind.lower(), text, number, client))
    out.print(f"{kind} reply: {now}")


@app.command()
def reviews(as_json: bool = JsonOption) -> None:
    """Inbound messages that mention revocation without being a keyword, newest first."""

    async def _reviews(session: AsyncSession) -> list[dict[str, Any]]:
        return [
            {
                "messageId": r.message_id,
                "clientId": r.api_client_id,
                "numberId": r.number_id,
                "sender": r.sender,
                "text": r.text,
                "treatedAsOptOut": r.treated_as_opt_out,
                "at": r.created_at.isoformat(),
            }
            for r in await operators.reviews(session)
        ]

    emit(run_in_session(_reviews, write=False), as_json)
