"""POST /api/auth/token: contract §2, every row of its error table."""

from __future__ import annotations

import base64
import datetime as dt

import httpx
import pytest
from sqlalchemy import select, update

from redcloud.auth import provisioning
from redcloud.auth.models import AccessToken
from redcloud.db import Database
from tests.conftest import AppWith
from tests.factories import make_client

TOKEN = "/api/auth/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GRANT = "grant_type=client_credentials"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def assert_oauth_error(
    response: httpx.Response, status: int, error: str, description: str | None = None
) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    assert body["error_description"]
    if description is not None:
        assert body["error_description"] == description
    assert response.headers["cache-control"] == "no-store"


async def test_basic_auth_issues_a_bearer_token(api: httpx.AsyncClient, demo: None) -> None:
    response = await api.post(
        TOKEN, content=GRANT, headers={**FORM, **basic("rc_test_client_123", "rc_secret_abc123")}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("rc_token_")
    assert len(body["access_token"]) > 40
    assert response.headers["cache-control"] == "no-store"
    whoami = await api.get(
        "/api/core/whoami", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert whoami.status_code == 200
    assert whoami.json()["apiClientId"] == "rc_test_client_123"


async def test_form_body_credentials(api: httpx.AsyncClient, demo: None) -> None:
    response = await api.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": "rc_test_client_123",
            "client_secret": "rc_secret_abc123",
        },
    )
    assert response.status_code == 200, response.text


async def test_json_body_credentials(api: httpx.AsyncClient, demo: None) -> None:
    response = await api.post(
        TOKEN,
        json={
            "grant_type": "client_credentials",
            "client_id": "rc_test_client_123",
            "client_secret": "rc_secret_abc123",
        },
    )
    assert response.status_code == 200, response.text


async def test_basic_with_matching_body_client_id_is_accepted(
    api: httpx.AsyncClient, demo: None
) -> None:
    response = await api.post(
        TOKEN,
        content=GRANT + "&client_id=rc_test_client_123",
        headers={**FORM, **basic("rc_test_client_123", "rc_secret_abc123")},
    )
    assert response.status_code == 200, response.text


async def test_wrong_secret_with_basic_is_401_with_challenge(
    api: httpx.AsyncClient, demo: None
) -> None:
    response = await api.post(
        TOKEN, content=GRANT, headers={**FORM, **basic("rc_test_client_123", "nope")}
    )
    assert_oauth_error(response, 401, "invalid_client", "Client authentication failed")
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_unknown_client_in_body_is_401_without_challenge(
    api: httpx.AsyncClient, demo: None
) -> None:
    response = await api.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    )
    assert_oauth_error(response, 401, "invalid_client", "Client authentication failed")
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("target", ["client", "account"])
async def test_inactive_client_or_account_cannot_get_a_token(
    api: httpx.AsyncClient, db: Database, target: str
) -> None:
    info = await make_client(db)
    async with db.session(write=True) as session:
        if target == "client":
            await provisioning.set_client_status(session, info.client_id, "INACTIVE")
        else:
            await provisioning.set_account_status(session, info.account_id, "INACTIVE")
    response = await api.post(
        TOKEN, content=GRANT, headers={**FORM, **basic(info.client_id, info.secret)}
    )
    assert_oauth_error(response, 401, "invalid_client", "Client authentication failed")


async def test_unsupported_grant_type(api: httpx.AsyncClient, demo: None) -> None:
    response = await api.post(
        TOKEN,
        content="grant_type=password",
        headers={**FORM, **basic("rc_test_client_123", "rc_secret_abc123")},
    )
    assert_oauth_error(
        response, 400, "unsupported_grant_type", "Only client_credentials is supported"
    )


async def test_no_credentials_at_all(api: httpx.AsyncClient) -> None:
    response = await api.post(TOKEN, content=GRANT, headers=FORM)
    assert_oauth_error(response, 400, "invalid_request", "client_id and client_secret are required")


async def test_only_a_client_id_is_not_enough(api: httpx.AsyncClient) -> None:
    response = await api.post(TOKEN, data={"grant_type": "client_credentials", "client_id": "a"})
    assert_oauth_error(response, 400, "invalid_request", "client_id and client_secret are required")


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        # grant_type missing
        ({**FORM}, "client_id=a&client_secret=b"),
        # credentials in both the header and the body
        ({**FORM, **basic("a", "b")}, GRANT + "&client_id=a&client_secret=b"),
        # a different client_id in the body than in Basic
        ({**FORM, **basic("a", "b")}, GRANT + "&client_id=z"),
        # malformed Basic header
        ({**FORM, "Authorization": "Basic !!!not-base64"}, GRANT),
        ({**FORM, "Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, GRANT),
        ({**FORM, "Authorization": "Bearer something"}, GRANT),
        # unreadable bodies
        ({"Content-Type": "application/json"}, "{not json"),
        ({"Content-Type": "application/json"}, "[1, 2]"),
        ({"Content-Type": "application/json"}, '{"grant_type": 5}'),
        ({**FORM}, "grant_type=client_credentials&grant_type=client_credentials"),
        ({**FORM}, "%%%=&&="),
        ({"Content-Type": "text/plain"}, GRANT),
    ],
)
async def test_malformed_requests_are_invalid_request(
    api: httpx.AsyncClient, headers: dict[str, str], content: str
) -> None:
    response = await api.post(TOKEN, content=content, headers=headers)
    assert_oauth_error(response, 400, "invalid_request")


async def test_token_is_stored_only_as_a_hash(
    api: httpx.AsyncClient, db: Database, demo: None
) -> None:
    response = await api.post(
        TOKEN, content=GRANT, headers={**FORM, **basic("rc_test_client_123", "rc_secret_abc123")}
    )
    token = response.json()["access_token"]
    async with db.session() as session:
        hashes = list(await session.scalars(select(AccessToken.token_hash)))
    assert token not in hashes
    assert all(len(h) == 64 for h in hashes)


async def test_configured_ttl(app_with: AppWith, db: Database, demo: None) -> None:
    api = app_with(token_ttl_seconds=120)
    response = await api.post(
        TOKEN, content=GRANT, headers={**FORM, **basic("rc_test_client_123", "rc_secret_abc123")}
    )
    assert response.json()["expires_in"] == 120
    async with db.session() as session:
        row = await session.scalar(select(AccessToken).where(AccessToken.is_static.is_(False)))
    assert row is not None
    assert row.expires_at is not None
    lifetime = (row.expires_at - row.created_at).total_seconds()
    assert 119 <= lifetime <= 121


async def test_expired_token_is_401(api: httpx.AsyncClient, db: Database) -> None:
    info = await make_client(db)
    assert (await api.get("/api/core/whoami", headers=info.headers)).status_code == 200
    async with db.session(write=True) as session:
        await session.execute(
            update(AccessToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    response = await api.get("/api/core/whoami", headers=info.headers)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or missing bearer token"
