"""Typed dependencies the routes declare: settings, sessions, the authenticated client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.service import AuthenticatedClient, resolve_bearer
from redcloud.config import Settings
from redcloud.db import Database
from redcloud.errors import Forbidden, RateLimited, Unauthorized
from redcloud.metrics.families import RATE_LIMITED
from redcloud.ratelimit import RequestLimiter, retry_after

# Every dependency is `async def`: FastAPI runs a plain `def` one in a worker thread, and
# waking a thread costs more than the whole of these functions (see bench/NOTES.md).


def database_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _database(request: Request) -> Database:
    return database_of(request)


async def _settings(request: Request) -> Settings:
    return settings_of(request)


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database_of(request).session() as session:
        yield session


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database_of(request).session(write=True) as session:
        yield session


AppSettings = Annotated[Settings, Depends(_settings)]
AppDatabase = Annotated[Database, Depends(_database)]
# scope="function": the transaction commits before the response is sent, so a 2xx is durable.
ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]
WriteSession = Annotated[AsyncSession, Depends(_write_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BearerAuth",
    description="An access token from POST /api/auth/token: `Authorization: Bearer <token>`.",
)


async def _current_client(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthenticatedClient:
    if credentials is None or not credentials.credentials:
        raise Unauthorized()
    async with database_of(request).lone_read() as conn:
        client = await resolve_bearer(
            conn, credentials.credentials, allow_static=settings_of(request).demo
        )
    if client is None:
        raise Unauthorized()
    limiter: RequestLimiter = request.app.state.limiter
    wait = await limiter.admit(client.id, client.requests_per_minute)
    if wait is not None:
        seconds = retry_after(wait)
        RATE_LIMITED.labels(client.id, "requests").inc()
        limit = client.requests_per_minute or limiter.limit
        raise RateLimited(
            f"This API client has made more than {limit} requests this minute; "
            f"retry after {seconds} s",
            seconds,
        )
    return client


CurrentClient = Annotated[AuthenticatedClient, Depends(_current_client)]


def require(capability: str) -> Callable[[AuthenticatedClient], Awaitable[AuthenticatedClient]]:
    """A dependency that lets the request through only if the client holds `capability`."""

    async def check(client: CurrentClient) -> AuthenticatedClient:
        if capability not in client.capabilities:
            raise Forbidden(
                f"This API client lacks the {capability} capability",
                {"capability": capability},
            )
        return client

    return check
