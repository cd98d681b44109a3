"""redcloud clients: create, show, list, status, capabilities, webhooks, secrets."""

from __future__ import annotations

from typing import Any

import typer

from redcloud.auth import provisioning
from redcloud.auth.models import ApiClient
from redcloud.auth.security import SecretBox
from redcloud.auth.service import CAPABILITIES
from redcloud.cli.common import JsonOption, emit, emit_one, fail, out, run_in_session, settings

_KNOWN = ", ".join(CAPABILITIES)
app = typer.Typer(help="API clients: credentials, capabilities, webhooks.", no_args_is_help=True)


def row(client: ApiClient) -> dict[str, Any]:
    return {
        "clientId": client.id,
        "name": client.name,
        "accountId": client.account_id,
        "status": client.status,
        "capabilities": " ".join(client.capabilities),
        "inboundWebhookUrl": client.inbound_webhook_url,
        "deliveryWebhookUrl": client.delivery_webhook_url,
        "signingSecret": "set" if client.webhook_secret_encrypted else "not set",
        "requestsPerMinute": (
            "default" if client.requests_per_minute is None else client.requests_per_minute
        ),
    }


def _show_secret(label: str, value: str, record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_one({**record, label: value}, True)
        return
    emit_one(record, False)
    out.print(f"\n[bold]{label}:[/bold] {value}")
    out.print("[yellow]Store it now: it is shown only once and cannot be retrieved.[/yellow]")


@app.command()
def create(
    account: str = typer.Option(..., "--account", help="The owning account's id."),
    name: str = typer.Option(..., "--name", help="e.g. 'Acme production'."),
    capability: list[str] = typer.Option(
        list(CAPABILITIES), "--capability", help="Repeat for each; default: all number ones."
    ),
    client_id: str | None = typer.Option(None, "--client-id", help="Default: random."),
    as_json: bool = JsonOption,
) -> None:
    """Create an API client and print its client secret once."""
    client, secret = run_in_session(
        lambda s: provisioning.create_client(
            s, account_id=account, name=name, capabilities=capability, client_id=client_id
        )
    )
    _show_secret("clientSecret", secret, row(client), as_json)


@app.command()
def show(client_id: str, as_json: bool = JsonOption) -> None:
    """Show one API client (never its secrets)."""
    client = run_in_session(lambda s: provisioning.get_client(s, client_id), write=False)
    emit_one(row(client), as_json)


@app.command("list")
def list_(
    account: str | None = typer.Option(None, "--account", help="Only this account's clients."),
    as_json: bool = JsonOption,
) -> None:
    """List API clients."""
    clients = run_in_session(lambda s: provisioning.list_clients(s, account), write=False)
    if as_json:
        emit([row(c) for c in clients], True)
        return
    emit(
        [
            {"clientId": c.id, "name": c.name, "accountId": c.account_id, "status": c.status}
            for c in clients
        ],
        False,
    )


@app.command("set-status")
def set_status(
    client_id: str,
    status: str = typer.Argument(..., help="ACTIVE or INACTIVE."),
    as_json: bool = JsonOption,
) -> None:
    """Activate or deactivate a client; INACTIVE stops its tokens at once."""
    client = run_in_session(lambda s: provisioning.set_client_status(s, client_id, status))
    emit_one(row(client), as_json)


@app.command()
def capabilities(
    client_id: str,
    capability: list[str] = typer.Option(
        ..., "--set", help=f"The full new set; repeat. Known: {_KNOWN}."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Replace the client's capabilities."""
    client = run_in_session(lambda s: provisioning.set_capabilities(s, client_id, capability))
    emit_one(row(client), as_json)


@app.command()
def webhooks(
    client_id: str,
    inbound: str | None = typer.Option(None, "--inbound", help="Inbound message URL."),
    delivery: str | None = typer.Option(None, "--delivery", help="Delivery status URL."),
    clear_inbound: bool = typer.Option(False, "--clear-inbound"),
    clear_delivery: bool = typer.Option(False, "--clear-delivery"),
    as_json: bool = JsonOption,
) -> None:
    """Set or clear the client's inbound and delivery webhook URLs."""
    config = settings()
    client = run_in_session(
        lambda s: provisioning.set_webhook_urls(
            s,
            client_id,
            inbound=inbound,
            delivery=delivery,
            clear_inbound=clear_inbound,
            clear_delivery=clear_delivery,
            allow_http=config.webhooks_allow_http,
            allow_private=config.webhooks_allow_private,
        )
    )
    emit_one(row(client), as_json)


@app.command("set-rate-limit")
def set_rate_limit(
    client_id: str,
    per_minute: str = typer.Argument(
        ..., help="CORE API requests a minute (0: no limit), or 'default' for the platform's."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Give one client its own request rate limit instead of the platform's."""
    if per_minute == "default":
        limit = None
    elif per_minute.isdigit():
        limit = int(per_minute)
    else:
        fail("PER_MINUTE is a whole number of requests, or 'default'.")
    client = run_in_session(lambda s: provisioning.set_rate_limit(s, client_id, limit))
    emit_one(row(client), as_json)


@app.command("rotate-secret")
def rotate_secret(client_id: str, as_json: bool = JsonOption) -> None:
    """Issue a new client secret; the old one and every token issued with it stop working."""

    async def _rotate(session: Any) -> tuple[ApiClient, str]:
        secret = await provisioning.rotate_client_secret(session, client_id)
        return await provisioning.get_client(session, client_id), secret

    client, secret = run_in_session(_rotate)
    _show_secret("clientSecret", secret, row(client), as_json)


@app.command("signing-secret")
def signing_secret(
    client_id: str,
    value: str | None = typer.Option(
        None, "--value", help="Use this secret (16+ characters) instead of a random one."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Set or rotate the webhook signing secret, and print it once."""
    config = settings()
    box = SecretBox.from_settings(config.secret_key, config.data_dir)

    async def _set(session: Any) -> tuple[ApiClient, str]:
        secret = await provisioning.set_webhook_secret(session, client_id, box, value)
        return await provisioning.get_client(session, client_id), secret

    client, secret = run_in_session(_set)
    _show_secret("signingSecret", secret, row(client), as_json)
