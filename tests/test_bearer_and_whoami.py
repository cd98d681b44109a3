"""GET /api/core/whoami and the bearer rules every /api/core route shares (contract §1, §3)."""

from __future__ import annotations

import httpx
import pytest

from redcloud.auth import provisioning
from redcloud.db import Database
from tests.conftest import AppWith
from tests.factories import assert_core_error, make_client, make_number

UNAUTHORIZED = "Invalid or missing bearer token"


async def test_whoami_matches_the_reference_example(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    response = await api.get("/api/core/whoami", headers=auth)
    assert response.status_code == 200
    assert response.json() == {
        "apiClientId": "rc_test_client_123",
        "apiClientName": "Red Cloud Test Client",
        "apiClientStatus": "ACTIVE",
        "capabilities": ["numbers:read", "numbers:search", "numbers:update"],
        "assignedNumbers": {"total": 1, "smsEnabledCount": 1, "mmsEnabledCount": 1},
        "inboundWebhookConfigured": True,
        "deliveryWebhookConfigured": True,
    }


async def test_whoami_counts_only_active_numbers_and_flags_webhooks(
    api: httpx.AsyncClient, db: Database
) -> None:
    info = await make_client(db)
    await make_number(db, info.client_id, mms_enabled=False)
    await make_number(db, info.client_id, sms_enabled=False)
    await make_number(db, info.client_id, status="INACTIVE")
    body = (await api.get("/api/core/whoami", headers=info.headers)).json()
    assert body["assignedNumbers"] == {"total": 2, "smsEnabledCount": 1, "mmsEnabledCount": 1}
    assert body["inboundWebhookConfigured"] is False
    assert body["deliveryWebhookConfigured"] is False

    async with db.session(write=True) as session:
        await provisioning.set_webhook_urls(
            session, info.client_id, inbound="https://hooks.example.com/in"
        )
    body = (await api.get("/api/core/whoami", headers=info.headers)).json()
    assert body["inboundWebhookConfigured"] is True
    assert body["deliveryWebhookConfigured"] is False

    await make_number(db, info.client_id, webhook_delivery_override="https://x.example.com/d")
    body = (await api.get("/api/core/whoami", headers=info.headers)).json()
    assert body["deliveryWebhookConfigured"] is True


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic cmNfdGVzdF9jbGllbnRfMTIzOnJjX3NlY3JldF9hYmMxMjM=",
        "Bearer rc_token_unknown",
        "Token rc_token_example",
    ],
)
async def test_missing_malformed_or_unknown_tokens_are_401(
    api: httpx.AsyncClient, demo: None, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await api.get("/api/core/whoami", headers=headers)
    assert_core_error(response, 401, "UNAUTHORIZED", UNAUTHORIZED)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("target", ["client", "account"])
async def test_token_stops_at_once_when_client_or_account_is_deactivated_and_stays_dead(
    api: httpx.AsyncClient, db: Database, target: str
) -> None:
    info = await make_client(db)
    assert (await api.get("/api/core/whoami", headers=info.headers)).status_code == 200
    async with db.session(write=True) as session:
        if target == "client":
            await provisioning.set_client_status(session, info.client_id, "INACTIVE")
        else:
            await provisioning.set_account_status(session, info.account_id, "INACTIVE")
    response = await api.get("/api/core/whoami", headers=info.headers)
    assert_core_error(response, 401, "UNAUTHORIZED", UNAUTHORIZED)
    async with db.session(write=True) as session:
        await provisioning.set_client_status(session, info.client_id, "ACTIVE")
        await provisioning.set_account_status(session, info.account_id, "ACTIVE")
    # Reactivation does not revive a token issued before the suspension; a new one works.
    response = await api.get("/api/core/whoami", headers=info.headers)
    assert_core_error(response, 401, "UNAUTHORIZED", UNAUTHORIZED)
    token = await api.post(
        "/api/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(info.client_id, info.secret),
    )
    assert token.status_code == 200, token.text
    fresh = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await api.get("/api/core/whoami", headers=fresh)).status_code == 200


async def test_static_demo_token_works_only_in_demo_mode(
    app_with: AppWith, demo: None, auth: dict[str, str]
) -> None:
    assert (await app_with(demo=True).get("/api/core/whoami", headers=auth)).status_code == 200
    response = await app_with(demo=False).get("/api/core/whoami", headers=auth)
    assert_core_error(response, 401, "UNAUTHORIZED", UNAUTHORIZED)


async def test_rotating_the_secret_revokes_tokens(api: httpx.AsyncClient, db: Database) -> None:
    info = await make_client(db)
    async with db.session(write=True) as session:
        new_secret = await provisioning.rotate_client_secret(session, info.client_id)
    assert (await api.get("/api/core/whoami", headers=info.headers)).status_code == 401
    old = await api.post(
        "/api/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": info.secret,
        },
    )
    assert old.status_code == 401
    new = await api.post(
        "/api/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": new_secret,
        },
    )
    assert new.status_code == 200
