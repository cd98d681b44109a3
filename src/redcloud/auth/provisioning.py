"""Operator actions on accounts and API clients (used by the CLI and the demo seed)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud import ids
from redcloud.auth.models import STATUSES, AccessToken, Account, ApiClient
from redcloud.auth.security import SecretBox, hash_secret, new_client_secret, new_webhook_secret
from redcloud.auth.service import CAPABILITIES
from redcloud.urls import WebhookUrlError, check_webhook_url


class ProvisioningError(ValueError):
    """An operator request that cannot be carried out; the message says what to do."""


async def create_account(
    session: AsyncSession, name: str, account_id: str | None = None
) -> Account:
    if not name.strip():
        raise ProvisioningError("Account name must not be empty.")
    account = Account(id=account_id or ids.account_id(), name=name.strip(), status="ACTIVE")
    if await session.get(Account, account.id) is not None:
        raise ProvisioningError(f"Account {account.id} already exists.")
    session.add(account)
    await session.flush()
    return account


async def get_account(session: AsyncSession, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise ProvisioningError(
            f"No account {account_id!r}. List accounts with `redcloud accounts list`."
        )
    return account


async def list_accounts(session: AsyncSession) -> list[Account]:
    return list((await session.scalars(select(Account).order_by(Account.created_at))).all())


async def set_account_status(session: AsyncSession, account_id: str, status: str) -> Account:
    account = await get_account(session, account_id)
    account.status = _status(status)
    if account.status != "ACTIVE":
        clients = select(ApiClient.id).where(ApiClient.account_id == account_id)
        await session.execute(delete(AccessToken).where(AccessToken.api_client_id.in_(clients)))
    await session.flush()
    return account


async def create_client(
    session: AsyncSession,
    *,
    account_id: str,
    name: str,
    capabilities: Iterable[str] = CAPABILITIES,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> tuple[ApiClient, str]:
    """Create an API client; returns it with its secret, which is never retrievable again."""
    await get_account(session, account_id)
    if not name.strip():
        raise ProvisioningError("Client name must not be empty.")
    cid = client_id or ids.client_id()
    if await session.get(ApiClient, cid) is not None:
        raise ProvisioningError(f"API client {cid} already exists.")
    secret = client_secret or new_client_secret()
    client = ApiClient(
        id=cid,
        account_id=account_id,
        name=name.strip(),
        status="ACTIVE",
        secret_hash=hash_secret(secret),
        capabilities=validate_capabilities(capabilities),
    )
    session.add(client)
    await session.flush()
    return client, secret


async def get_client(session: AsyncSession, client_id: str) -> ApiClient:
    client = await session.get(ApiClient, client_id)
    if client is None:
        raise ProvisioningError(
            f"No API client {client_id!r}. List clients with `redcloud clients list`."
        )
    return client


async def list_clients(session: AsyncSession, account_id: str | None = None) -> list[ApiClient]:
    query = select(ApiClient).order_by(ApiClient.created_at)
    if account_id:
        query = query.where(ApiClient.account_id == account_id)
    return list((await session.scalars(query)).all())


async def set_client_status(session: AsyncSession, client_id: str, status: str) -> ApiClient:
    client = await get_client(session, client_id)
    client.status = _status(status)
    if client.status != "ACTIVE":
        # Its tokens die with the suspension: reactivating the client must not revive them.
        await session.execute(delete(AccessToken).where(AccessToken.api_client_id == client_id))
    await session.flush()
    return client


async def set_capabilities(
    session: AsyncSession, client_id: str, capabilities: Iterable[str]
) -> ApiClient:
    client = await get_client(session, client_id)
    client.capabilities = validate_capabilities(capabilities)
    await session.flush()
    return client


async def set_webhook_urls(
    session: AsyncSession,
    client_id: str,
    *,
    inbound: str | None = None,
    delivery: str | None = None,
    clear_inbound: bool = False,
    clear_delivery: bool = False,
    allow_http: bool = False,
    allow_private: bool = False,
) -> ApiClient:
    client = await get_client(session, client_id)
    try:
        if inbound is not None:
            client.inbound_webhook_url = check_webhook_url(inbound, allow_http, allow_private)
        if delivery is not None:
            client.delivery_webhook_url = check_webhook_url(delivery, allow_http, allow_private)
    except WebhookUrlError as exc:
        raise ProvisioningError(str(exc)) from exc
    if clear_inbound:
        client.inbound_webhook_url = None
    if clear_delivery:
        client.delivery_webhook_url = None
    await session.flush()
    return client


async def rotate_client_secret(session: AsyncSession, client_id: str) -> str:
    """Replace the client secret and revoke every token issued under the old one."""
    client = await get_client(session, client_id)
    secret = new_client_secret()
    client.secret_hash = hash_secret(secret)
    await session.execute(delete(AccessToken).where(AccessToken.api_client_id == client.id))
    await session.flush()
    return secret


async def set_webhook_secret(
    session: AsyncSession, client_id: str, box: SecretBox, secret: str | None = None
) -> str:
    """Set (or rotate to a fresh random) webhook signing secret, stored encrypted."""
    client = await get_client(session, client_id)
    value = secret or new_webhook_secret()
    if len(value) < 16:
        raise ProvisioningError("A webhook signing secret must be at least 16 characters.")
    client.webhook_secret_encrypted = box.encrypt(value)
    await session.flush()
    return value


MAX_REQUESTS_PER_MINUTE = 1_000_000


async def set_rate_limit(
    session: AsyncSession, client_id: str, per_minute: int | None
) -> ApiClient:
    """CORE API requests a minute for this client (0: no limit); None: the platform's
    REDCLOUD_CLIENT_REQUESTS_PER_MINUTE. Running API processes apply it to the client's
    next token lookup."""
    client = await get_client(session, client_id)
    if per_minute is not None and not 0 <= per_minute <= MAX_REQUESTS_PER_MINUTE:
        raise ProvisioningError(
            f"A rate limit is 0 (none) to {MAX_REQUESTS_PER_MINUTE:,} requests a minute."
        )
    client.requests_per_minute = per_minute
    await session.flush()
    return client


def validate_capabilities(capabilities: Iterable[str]) -> list[str]:
    chosen = sorted(set(capabilities))
    unknown = [c for c in chosen if c not in CAPABILITIES]
    if unknown:
        raise ProvisioningError(
            f"Unknown capabilities {', '.join(unknown)}; known: {', '.join(CAPABILITIES)}."
        )
    return chosen


def _status(status: str) -> str:
    value = status.upper()
    if value not in STATUSES:
        raise ProvisioningError(f"Status must be one of {', '.join(STATUSES)}.")
    return value
