"""A signed-in console visitor for the route tests: an httpx client that has logged in through
the login form, and knows the CSRF token its pages carry."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from redcloud.console import operators
from redcloud.db import Database

ADMIN = ("admin@example.com", "correct horse battery")
VIEWER = ("viewer@example.com", "viewer password 123")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN = re.compile(r'name="login_token" value="([^"]+)"')


async def create_operators(db: Database) -> None:
    async with db.session(write=True) as session:
        await operators.create(session, ADMIN[0], "admin", ADMIN[1], by="test")
        await operators.create(session, VIEWER[0], "viewer", VIEWER[1], by="test")


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    form = await client.get("/console/login")
    token = _LOGIN.search(form.text)
    assert token is not None, form.text
    return await client.post(
        "/console/login",
        data={"login_token": token.group(1), "email": email, "password": password},
    )


@dataclass
class Visitor:
    client: httpx.AsyncClient
    csrf: str = ""

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = await self.client.get(path, **kwargs)  # type: ignore[arg-type]
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        if not self.csrf:
            await self.get("/console/")
        return await self.client.post(path, data={"csrf_token": self.csrf, **(data or {})})


async def visitor(client: httpx.AsyncClient, who: tuple[str, str] = ADMIN) -> Visitor:
    response = await log_in(client, *who)
    assert response.status_code == 303, response.text
    signed = Visitor(client)
    await signed.get("/console/")
    assert signed.csrf
    return signed
