"""Number routes: list, PATCH settings, capabilities (contract §4)."""

from __future__ import annotations

import httpx
import pytest

from redcloud.db import Database
from redcloud.numbers import provisioning
from tests.conftest import AppWith
from tests.factories import assert_core_error, make_client, make_number

CANONICAL_NUMBER = {
    "numberId": "num_abc123",
    "e164": "+15551234567",
    "status": "ACTIVE",
    "campaignRegId": "A1B2C3",
    "smsEnabled": True,
    "mmsEnabled": True,
    "webhookInboundOverride": "https://example.com/webhooks/inbound",
    "webhookDeliveryOverride": "https://example.com/webhooks/delivery",
}


async def test_list_matches_the_reference_example(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    response = await api.get("/api/core/numbers", headers=auth)
    assert response.status_code == 200
    assert response.json() == {"numbers": [CANONICAL_NUMBER]}


async def test_list_shows_only_the_clients_active_numbers_with_nulls(
    api: httpx.AsyncClient, db: Database
) -> None:
    mine = await make_client(db)
    other = await make_client(db)
    active = await make_number(db, mine.client_id, campaign=None)
    await make_number(db, mine.client_id, status="INACTIVE")
    await make_number(db, other.client_id)
    released = await make_number(db, mine.client_id)
    async with db.session(write=True) as session:
        await provisioning.release(session, released)
    numbers = (await api.get("/api/core/numbers", headers=mine.headers)).json()["numbers"]
    assert [n["numberId"] for n in numbers] == [active]
    assert numbers[0]["campaignRegId"] is None
    assert numbers[0]["webhookInboundOverride"] is None
    assert numbers[0]["webhookDeliveryOverride"] is None


@pytest.mark.parametrize(
    ("method", "path", "capability"),
    [
        ("GET", "/api/core/numbers", "numbers:read"),
        ("POST", "/api/core/numbers/search", "numbers:search"),
        ("PATCH", "/api/core/numbers/num_x", "numbers:update"),
    ],
)
async def test_missing_capability_is_403_naming_it(
    api: httpx.AsyncClient, db: Database, method: str, path: str, capability: str
) -> None:
    from redcloud.auth.service import CAPABILITIES

    info = await make_client(db, capabilities=tuple(c for c in CAPABILITIES if c != capability))
    response = await api.request(method, path, headers=info.headers, json={"npa": "512"})
    error = assert_core_error(response, 403, "FORBIDDEN")
    assert capability in error["message"]
    assert error["details"] == {"capability": capability}


async def test_patch_updates_given_fields_only_and_null_clears(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    response = await api.patch(
        "/api/core/numbers/num_abc123", headers=auth, json={"campaignregId": "NEW123"}
    )
    assert response.status_code == 200
    assert response.json() == {**CANONICAL_NUMBER, "campaignRegId": "NEW123"}

    response = await api.patch(
        "/api/core/numbers/num_abc123",
        headers=auth,
        json={"smsEnabled": False, "webhookInboundOverride": None, "campaignregId": None},
    )
    assert response.json() == {
        **CANONICAL_NUMBER,
        "campaignRegId": None,
        "smsEnabled": False,
        "webhookInboundOverride": None,
    }
    listed = (await api.get("/api/core/numbers", headers=auth)).json()["numbers"][0]
    assert listed["smsEnabled"] is False
    assert listed["campaignRegId"] is None


async def test_patch_response_spelling_is_refused_with_a_pointer(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    response = await api.patch(
        "/api/core/numbers/num_abc123", headers=auth, json={"campaignRegId": "X"}
    )
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert "campaignregId" in error["message"]
    assert error["details"]["field"] == "campaignRegId"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"unknown": 1}, "unknown"),
        ({"smsEnabled": "yes"}, "smsEnabled"),
        ({"smsEnabled": None}, "smsEnabled"),
        ({"mmsEnabled": 1}, "mmsEnabled"),
        ({"campaignregId": ""}, "campaignregId"),
        ({"campaignregId": "has space"}, "campaignregId"),
        ({"campaignregId": 5}, "campaignregId"),
        ({"webhookInboundOverride": "ftp://example.com/x"}, "webhookInboundOverride"),
        ({"webhookDeliveryOverride": "/relative"}, "webhookDeliveryOverride"),
        ({"webhookDeliveryOverride": "https://" + "a" * 2100}, "webhookDeliveryOverride"),
    ],
)
async def test_patch_rejects_bad_bodies(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str], body: dict[str, object], field: str
) -> None:
    response = await api.patch("/api/core/numbers/num_abc123", headers=auth, json=body)
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert error["details"]["field"] == field


async def test_patch_url_rules_follow_the_operator_setting(
    app_with: AppWith, demo: None, auth: dict[str, str]
) -> None:
    production = app_with(demo=False, allow_http_webhooks=False, allow_private_webhooks=False)
    # Outside demo mode the static token is refused, so use a real one.
    token = (
        await production.post(
            "/api/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "rc_test_client_123",
                "client_secret": "rc_secret_abc123",
            },
        )
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for url in (
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest",
    ):
        response = await production.patch(
            "/api/core/numbers/num_abc123", headers=headers, json={"webhookDeliveryOverride": url}
        )
        assert_core_error(response, 400, "INVALID_REQUEST")
    demo_app = app_with(demo=True)
    response = await demo_app.patch(
        "/api/core/numbers/num_abc123",
        headers=auth,
        json={"webhookDeliveryOverride": "http://127.0.0.1:9000/hook"},
    )
    assert response.status_code == 200
    assert response.json()["webhookDeliveryOverride"] == "http://127.0.0.1:9000/hook"


async def test_patch_unknown_number_is_404_and_anothers_is_403(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    response = await api.patch(
        "/api/core/numbers/num_missing", headers=auth, json={"smsEnabled": True}
    )
    assert_core_error(response, 404, "NOT_FOUND")
    other = await make_client(db)
    theirs = await make_number(db, other.client_id)
    response = await api.patch(
        f"/api/core/numbers/{theirs}", headers=auth, json={"smsEnabled": False}
    )
    assert_core_error(response, 403, "FORBIDDEN")
    # ... and it was not changed.
    listed = (await api.get("/api/core/numbers", headers=other.headers)).json()["numbers"]
    assert listed[0]["smsEnabled"] is True
