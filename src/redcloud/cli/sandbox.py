"""redcloud sandbox: simulate a customer's message, see what the sandbox carrier received."""

from __future__ import annotations

import typer

from redcloud.cli.common import JsonOption, emit, emit_one, fail, run_in_session, settings
from redcloud.messages import lifecycle
from redcloud.messages.models import Message
from redcloud.phone import Rejection, normalize
from redcloud.providers.routes import captured_json
from redcloud.providers.sandbox import captured

app = typer.Typer(help="The sandbox carrier.", no_args_is_help=True)


@app.command()
def inbound(
    from_: str = typer.Option(..., "--from", help="The customer's number, E.164."),
    to: str = typer.Option(..., "--to", help="Your number, E.164."),
    text: str | None = typer.Option(None, "--text"),
    media_url: str | None = typer.Option(None, "--media-url"),
    as_json: bool = JsonOption,
) -> None:
    """Deliver a message from a customer to one of your numbers (→ message.inbound)."""
    sender = normalize(from_)
    if isinstance(sender, Rejection):
        fail(f"--from {from_!r} is not an E.164 number such as +15005550006")
    if text is None and media_url is None:
        fail("Give --text, --media-url, or both.")
    media = [{"sourceUrl": media_url}] if media_url else None
    result = run_in_session(
        lambda s: lifecycle.receive_inbound(
            s,
            from_e164=sender,
            to_e164=to,
            text=text,
            media=media,
            revocation_opts_out=settings().optout_on_revocation_words,
        )
    )
    if isinstance(result, Message):
        emit_one({"messageId": result.id, "routedTo": result.api_client_id}, as_json)
    else:
        emit_one({"unroutedId": result.id, "reason": result.reason}, as_json)


@app.command()
def messages(
    to: str | None = typer.Option(None, "--to", help="Only messages to this number."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    as_json: bool = JsonOption,
) -> None:
    """What the sandbox carrier received, newest first."""
    rows = run_in_session(lambda s: captured(s, to=to, limit=limit), write=False)
    emit([captured_json(r) for r in rows], as_json)
