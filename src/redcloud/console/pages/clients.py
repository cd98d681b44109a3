"""Accounts and API clients: create (the secret shown once), rotate, deactivate,
capabilities, webhook URLs and signing secret, rate limits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcloud.auth import provisioning
from redcloud.auth.models import ApiClient
from redcloud.auth.security import SecretBox
from redcloud.auth.service import CAPABILITIES
from redcloud.console.operators import SignedIn
from redcloud.console.web import Viewer, admin_form, back, record, render, text
from redcloud.deps import database_of, settings_of
from redcloud.numbers.provisioning import list_numbers

router = APIRouter()


def state(client: ApiClient) -> dict[str, Any]:
    """What the audit log keeps of a client: never a secret, only whether one is set."""
    return {
        "name": client.name,
        "account": client.account_id,
        "status": client.status,
        "capabilities": list(client.capabilities),
        "inboundWebhookUrl": client.inbound_webhook_url,
        "deliveryWebhookUrl": client.delivery_webhook_url,
        "signingSecret": "set" if client.webhook_secret_encrypted else "not set",
        "requestsPerMinute": client.requests_per_minute,
    }


@router.get("/clients")
async def clients_page(request: Request, viewer: Viewer) -> HTMLResponse:
    async with database_of(request).session() as session:
        accounts = await provisioning.list_accounts(session)
        clients = await provisioning.list_clients(session)
    return render(
        request,
        viewer,
        "clients.html",
        section="clients",
        title="Accounts & clients",
        accounts=accounts,
        clients=clients,
        capabilities=CAPABILITIES,
        default_limit=settings_of(request).client_requests_per_minute,
    )


@router.post("/accounts", response_model=None)
async def create_account(request: Request, viewer: Viewer) -> Response:
    form = await admin_form(request, viewer)
    async with database_of(request).session(write=True) as session:
        account = await provisioning.create_account(session, text(form, "name"))
        record(
            session,
            viewer,
            "account.create",
            account.id,
            None,
            {"name": account.name, "status": account.status},
        )
    return back("/console/clients", notice=f"Account {account.name} ({account.id}) created.")


@router.post("/accounts/{account_id}/status", response_model=None)
async def account_status(request: Request, viewer: Viewer, account_id: str) -> Response:
    form = await admin_form(request, viewer)
    async with database_of(request).session(write=True) as session:
        account = await provisioning.get_account(session, account_id[:64])
        before = {"status": account.status}
        await provisioning.set_account_status(session, account.id, text(form, "status"))
        record(
            session,
            viewer,
            "account.status",
            account.id,
            before,
            {"status": account.status},
        )
    return back("/console/clients", notice=f"Account {account.id} is {account.status}.")


def _secret_page(
    request: Request, viewer: SignedIn, client: ApiClient, label: str, secret: str
) -> HTMLResponse:
    """The one time a secret is shown: in this response, never in a URL or a log."""
    return render(
        request,
        viewer,
        "secret.html",
        section="clients",
        title="Copy the secret now",
        client=client,
        label=label,
        secret=secret,
    )


@router.post("/clients", response_model=None)
async def create_client(request: Request, viewer: Viewer) -> Response:
    form = await admin_form(request, viewer)
    chosen = [c for c in CAPABILITIES if form.get(f"cap:{c}")]
    async with database_of(request).session(write=True) as session:
        client, secret = await provisioning.create_client(
            session,
            account_id=text(form, "account"),
            name=text(form, "name"),
            capabilities=chosen or CAPABILITIES,
        )
        record(session, viewer, "client.create", client.id, None, state(client))
    return _secret_page(request, viewer, client, "client secret", secret)


@router.get("/clients/{client_id}")
async def client_page(request: Request, viewer: Viewer, client_id: str) -> HTMLResponse:
    async with database_of(request).session() as session:
        client = await provisioning.get_client(session, client_id[:64])
        numbers = await list_numbers(session, client.id)
    return render(
        request,
        viewer,
        "client.html",
        section="clients",
        title=client.name,
        client=client,
        numbers=numbers,
        capabilities=CAPABILITIES,
        default_limit=settings_of(request).client_requests_per_minute,
    )


@router.post("/clients/{client_id}", response_model=None)
async def update_client(request: Request, viewer: Viewer, client_id: str) -> Response:
    """Status, capabilities, webhook URLs and rate limit, from one form."""
    form = await admin_form(request, viewer)
    settings = settings_of(request)
    raw_limit = text(form, "limit")
    if raw_limit and not raw_limit.isdigit():
        return back(f"/console/clients/{client_id}", error="The rate limit is a whole number.")
    async with database_of(request).session(write=True) as session:
        client = await provisioning.get_client(session, client_id[:64])
        before = state(client)
        await provisioning.set_client_status(session, client.id, text(form, "status"))
        await provisioning.set_capabilities(
            session, client.id, [c for c in CAPABILITIES if form.get(f"cap:{c}")]
        )
        inbound, delivery = text(form, "inbound"), text(form, "delivery")
        await provisioning.set_webhook_urls(
            session,
            client.id,
            inbound=inbound or None,
            delivery=delivery or None,
            clear_inbound=not inbound,
            clear_delivery=not delivery,
            allow_http=settings.webhooks_allow_http,
            allow_private=settings.webhooks_allow_private,
        )
        await provisioning.set_rate_limit(session, client.id, int(raw_limit) if raw_limit else None)
        record(session, viewer, "client.update", client.id, before, state(client))
    return back(f"/console/clients/{client.id}", notice="Saved.")


@router.post("/clients/{client_id}/rotate-secret", response_model=None)
async def rotate_secret(request: Request, viewer: Viewer, client_id: str) -> Response:
    await admin_form(request, viewer)
    async with database_of(request).session(write=True) as session:
        secret = await provisioning.rotate_client_secret(session, client_id[:64])
        client = await provisioning.get_client(session, client_id[:64])
        record(
            session,
            viewer,
            "client.rotate-secret",
            client.id,
            None,
            {"clientSecret": "rotated; every token revoked"},
        )
    return _secret_page(request, viewer, client, "client secret", secret)


@router.post("/clients/{client_id}/signing-secret", response_model=None)
async def signing_secret(request: Request, viewer: Viewer, client_id: str) -> Response:
    await admin_form(request, viewer)
    settings = settings_of(request)
    box = SecretBox.from_settings(settings.secret_key, settings.data_dir)
    async with database_of(request).session(write=True) as session:
        secret = await provisioning.set_webhook_secret(session, client_id[:64], box)
        client = await provisioning.get_client(session, client_id[:64])
        record(
            session,
            viewer,
            "client.signing-secret",
            client.id,
            None,
            {"signingSecret": "rotated"},
        )
    return _secret_page(request, viewer, client, "webhook signing secret", secret)
