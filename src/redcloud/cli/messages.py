"""redcloud messages: look a message up with its events and webhook attempts."""

from __future__ import annotations

import json

import typer

from redcloud.cli.common import JsonOption, emit, emit_one, fail, out, run_in_session
from redcloud.errors import NotFound
from redcloud.messages import queries

app = typer.Typer(help="Messages and their lifecycle.", no_args_is_help=True)


@app.command()
def show(message_id: str, as_json: bool = JsonOption) -> None:
    """A message, its events in order, and where each event's webhook stands."""
    try:
        detail = run_in_session(lambda s: queries.detail(s, None, message_id), write=False)
    except NotFound:
        fail(f"No message {message_id!r}.")
    if as_json:
        typer.echo(json.dumps(detail, indent=2))
        return
    events = detail.pop("events")
    detail.pop("media")
    emit_one(detail, False)
    out.print()
    emit(
        [
            {
                "seq": e["sequence"],
                "event": e["eventType"],
                "eventId": e["eventId"],
                "webhook": e["webhook"]["status"],
                "attempts": e["webhook"]["attempts"],
                "last": (e["webhook"]["lastAttempt"] or {}).get("statusCode")
                or (e["webhook"]["lastAttempt"] or {}).get("error"),
            }
            for e in events
        ],
        False,
    )
