"""redcloud webhooks: the attempt log and redelivery."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from redcloud.cli.common import JsonOption, emit, emit_one, fail, run_in_session
from redcloud.webhooks import service

app = typer.Typer(help="Webhook deliveries: attempts and redelivery.", no_args_is_help=True)


@app.command()
def attempts(
    event: str | None = typer.Option(None, "--event", help="Only this event."),
    message: str | None = typer.Option(None, "--message", help="Only this message's events."),
    client: str | None = typer.Option(None, "--client", help="Only this API client's events."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_json: bool = JsonOption,
) -> None:
    """Delivery attempts, newest first: time, URL, status, latency, error, response."""
    rows = run_in_session(
        lambda s: service.attempts(
            s, event_id=event, message_id=message, client_id=client, limit=limit
        ),
        write=False,
    )
    emit([_row(a, e) for a, e in rows], as_json)


def _row(attempt: Any, event: Any) -> dict[str, Any]:
    return {
        "at": attempt.attempted_at.isoformat(timespec="seconds"),
        "eventId": event.id,
        "event": event.event_type,
        "attempt": attempt.attempt,
        "url": attempt.url,
        "status": attempt.status_code,
        "latencyMs": attempt.latency_ms,
        "error": attempt.error,
        "response": attempt.response_excerpt,
    }


@app.command()
def redeliver(event_id: str, as_json: bool = JsonOption) -> None:
    """Deliver one event again (a fresh retry schedule)."""
    try:
        event = run_in_session(lambda s: service.redeliver(s, event_id))
    except service.WebhookError as exc:
        fail(str(exc))
    emit_one({"eventId": event.id, "queued": True}, as_json)


@app.command("redeliver-failed")
def redeliver_failed(
    client: str = typer.Option(..., "--client", help="The API client whose events to redeliver."),
    since: dt.datetime = typer.Option(..., "--since", help="e.g. 2026-11-23T00:00:00"),
    as_json: bool = JsonOption,
) -> None:
    """Redeliver every terminally failed event of a client that occurred since a time."""
    when = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
    count = run_in_session(lambda s: service.redeliver_failed(s, client, when))
    emit_one({"client": client, "since": when.isoformat(), "redelivered": count}, as_json)
