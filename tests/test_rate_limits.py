"""Rate limits shared by every API process: failed token attempts and per-client requests."""

from __future__ import annotations

import asyncio

import httpx

from redcloud.db import Database
from redcloud.ratelimit import FailureCounter, RequestLimiter
from tests.conftest import AppWith
from tests.factories import ClientInfo, assert_core_error, make_client

TOKEN = "/api/auth/token"


async def token(api: httpx.AsyncClient, info: ClientInfo) -> int:
    """The status of a token request with the client's right credentials."""
    response = await api.post(
        TOKEN, data={"grant_type": "client_credentials"}, auth=(info.client_id, info.secret)
    )
    return response.status_code


def wrong(client_id: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"}


async def test_failed_token_attempts_per_client_id_end_in_429_with_retry_after(
    app_with: AppWith, db: Database
) -> None:
    api = app_with(auth_failures_per_client=5, auth_failures_per_address=0)
    info = await make_client(db)
    answers = [(await api.post(TOKEN, data=wrong(info.client_id))).status_code for _ in range(7)]
    assert answers == [401] * 5 + [429] * 2
    limited = await api.post(TOKEN, data=wrong(info.client_id))
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "temporarily_unavailable"
    assert "retry after" in limited.json()["error_description"]
    # Locked for this client_id: even the right secret waits out the window ...
    assert await token(api, info) == 429
    # ... while another client is not affected.
    assert await token(api, await make_client(db)) == 200


async def test_failed_attempts_from_one_address_are_limited_across_client_ids(
    app_with: AppWith, db: Database
) -> None:
    api = app_with(auth_failures_per_client=0, auth_failures_per_address=4)
    answers = [(await api.post(TOKEN, data=wrong(f"guess-{n}"))).status_code for n in range(6)]
    assert answers == [401] * 4 + [429] * 2


async def test_failure_counts_are_shared_by_every_process(app_with: AppWith, db: Database) -> None:
    """Two apps on one database stand for two API processes: the limit is one limit."""
    first = app_with(auth_failures_per_client=4, auth_failures_per_address=0)
    second = app_with(auth_failures_per_client=4, auth_failures_per_address=0)
    info = await make_client(db)
    codes = []
    for n in range(6):
        api = first if n % 2 == 0 else second
        codes.append((await api.post(TOKEN, data=wrong(info.client_id))).status_code)
    assert codes == [401] * 4 + [429] * 2


async def test_successful_attempts_do_not_count(app_with: AppWith, db: Database) -> None:
    api = app_with(auth_failures_per_client=2, auth_failures_per_address=2)
    info = await make_client(db)
    assert [await token(api, info) for _ in range(5)] == [200] * 5


async def test_requests_over_a_clients_limit_get_429_rate_limited(
    app_with: AppWith, db: Database
) -> None:
    api = app_with(client_requests_per_minute=5)
    busy, calm = await make_client(db), await make_client(db)
    codes = [
        (await api.get("/api/core/whoami", headers=busy.headers)).status_code for _ in range(7)
    ]
    assert codes == [200] * 5 + [429] * 2
    limited = await api.get("/api/core/whoami", headers=busy.headers)
    error = assert_core_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["retry-after"]) >= 1
    assert error["details"]["retryAfterSeconds"] == int(limited.headers["retry-after"])
    assert (await api.get("/api/core/whoami", headers=calm.headers)).status_code == 200


async def test_request_counts_are_shared_through_the_database(db: Database) -> None:
    """Two limiters (two processes) sharing one limit of 20: together they admit about 20,
    not 40; the overshoot is bounded by what one admits between syncs."""
    first = RequestLimiter(db, limit=20, window_seconds=60, sync_seconds=0)
    second = RequestLimiter(db, limit=20, window_seconds=60, sync_seconds=0)
    admitted = 0
    for n in range(40):
        limiter = first if n % 2 == 0 else second
        if await limiter.admit("client-x") is None:
            admitted += 1
    assert 20 <= admitted <= 21, admitted


async def test_a_limit_of_zero_is_no_limit(db: Database) -> None:
    limiter = RequestLimiter(db, limit=0, window_seconds=60)
    assert all([await limiter.admit("c") is None for _ in range(100)])
    failures = FailureCounter(db, window_seconds=60)
    await failures.record(["b"] * 3)
    assert await failures.blocked({"b": 0}) is None
    assert await failures.blocked({"b": 3}) is not None


async def test_concurrent_failures_are_all_counted(db: Database) -> None:
    failures = FailureCounter(db, window_seconds=60)
    await asyncio.gather(*(failures.record(["conc"]) for _ in range(20)))
    assert await failures.blocked({"conc": 20}) is not None
    assert await failures.blocked({"conc": 21}) is None


async def test_rate_limited_responses_are_documented(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/openapi.json")).json()
    assert "429" in doc["paths"]["/api/core/whoami"]["get"]["responses"]
