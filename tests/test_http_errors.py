"""The error contract everywhere: request ids, unknown routes, oversize bodies, 500s (§1)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.numbers.schemas import AvailableNumber, SearchRequest
from tests.conftest import AppWith
from tests.factories import assert_core_error, send_body


async def test_every_response_carries_a_fresh_request_id(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    ok = await api.get("/api/core/whoami", headers={**auth, "X-Request-Id": "caller-chosen"})
    assert ok.status_code == 200
    rid = ok.headers["x-request-id"]
    assert rid.startswith("req_")
    assert rid != "caller-chosen"
    again = await api.get("/api/core/whoami", headers=auth)
    assert again.headers["x-request-id"] != rid


async def test_unknown_route_and_wrong_method_use_the_core_wrapper(api: httpx.AsyncClient) -> None:
    assert_core_error(await api.get("/api/core/nothing"), 404, "NOT_FOUND")
    response = await api.delete("/api/core/whoami")
    assert_core_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET"


async def test_declared_oversize_body_is_400(
    app_with: AppWith, demo: None, auth: dict[str, str]
) -> None:
    api = app_with(max_body_bytes=2048)
    body = send_body("num_abc123", text="x" * 1500, externalReference="y" * 250)
    body["to"] = ["+15551234567"] * 60
    response = await api.post(
        "/api/core/messages/send", json=body, headers={**auth, "Idempotency-Key": "big"}
    )
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert error["details"] == {"field": "body", "reason": "at most 2048 bytes"}


async def test_streamed_oversize_body_is_400(
    app_with: AppWith, demo: None, auth: dict[str, str]
) -> None:
    api = app_with(max_body_bytes=1024)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 512

    response = await api.post(
        "/api/core/messages/send",
        content=chunks(),
        headers={**auth, "Idempotency-Key": "stream", "Content-Type": "application/json"},
    )
    assert_core_error(response, 400, "INVALID_REQUEST")


async def test_oversize_token_request_gets_an_oauth_error(app_with: AppWith) -> None:
    api = app_with(max_body_bytes=1024)
    response = await api.post(
        "/api/auth/token",
        content="grant_type=client_credentials&pad=" + "x" * 2000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


class BrokenInventory:
    """An inventory source with a bug in it (not an upstream outage)."""

    async def search(self, session: AsyncSession, query: SearchRequest) -> list[AvailableNumber]:
        raise ZeroDivisionError("secret internal detail /srv/app.py line 42")


async def test_unexpected_error_is_a_generic_500_with_request_id(
    app_with: AppWith, demo: None, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    api = app_with(inventory=BrokenInventory())
    response = await api.post("/api/core/numbers/search", headers=auth, json={"npa": "512"})
    error = assert_core_error(response, 500, "SERVER_ERROR", "Internal server error")
    assert "secret internal detail" not in response.text
    assert error["details"] == {}
