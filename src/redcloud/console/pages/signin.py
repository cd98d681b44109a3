"""Signing in and out. Failed sign-ins are counted per email and per address, like the token
endpoint's, and past the limit the form answers 429 before checking any password."""

from __future__ import annotations

import hmac
import secrets

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from redcloud.console import operators
from redcloud.console.web import (
    COOKIE,
    LOGIN_COOKIE,
    Viewer,
    checked_form,
    form_of,
    render,
    same_origin,
    text,
)
from redcloud.deps import database_of, settings_of
from redcloud.ratelimit import FailureCounter, retry_after

router = APIRouter()
log = structlog.get_logger("redcloud.console")
PATH = "/console"


def _next(raw: str | None) -> str:
    """Only a console path: never an open redirect to another site."""
    if raw and raw.startswith("/console") and not raw.startswith("//"):
        return raw
    return "/console/"


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _form(
    request: Request,
    status: int = 200,
    error: str | None = None,
    *,
    next_path: str | None = None,
    email: str = "",
) -> HTMLResponse:
    """The sign-in form, with a fresh login token (cookie and hidden field)."""
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        None,
        "login.html",
        status,
        login_token=token,
        next=_next(next_path if next_path is not None else request.query_params.get("next")),
        error=error,
        email=email,
    )
    _set_cookie(request, response, LOGIN_COOKIE, token, 3600)
    return response


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    return _form(request)


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    form = await form_of(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    given = text(form, "login_token")
    if (
        not expected
        or not same_origin(request)
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        return _form(request, 403, "The sign-in form expired. Please sign in again.")
    email, password = text(form, "email").lower(), str(form.get("password") or "")
    again = {"next_path": text(form, "next"), "email": email[:254]}
    settings = settings_of(request)
    failures: FailureCounter = request.app.state.failures
    source = request.client.host if request.client else "unknown"
    buckets = {
        f"console:email:{email[:254]}": settings.auth_failures_per_client,
        f"console:address:{source}": settings.auth_failures_per_address,
    }
    wait = await failures.blocked(buckets)
    if wait is not None:
        log.warning("console sign-in refused: too many failed attempts", source=source)
        message = f"Too many failed sign-ins. Try again in {retry_after(wait)} seconds."
        return _form(request, 429, message, **again)
    async with database_of(request).session() as session:  # the hash holds no write lock
        operator = await operators.authenticate(session, email, password)
    token = None
    if operator is not None:
        async with database_of(request).session(write=True) as session:
            token = await operators.open_session(session, operator)
    if operator is None or token is None:
        await failures.record(list(buckets))
        log.info("console sign-in failed", source=source)
        message = "That email and password do not match an active operator."
        return _form(request, 401, message, **again)
    log.info("console sign-in", operator=operator.email)
    response = RedirectResponse(_next(text(form, "next")), 303)
    _set_cookie(request, response, COOKIE, token, settings.console_session_hours * 3600)
    response.delete_cookie(LOGIN_COOKIE, path=PATH)
    return response


@router.post("/logout")
async def logout(request: Request, viewer: Viewer) -> RedirectResponse:
    await checked_form(request, viewer)
    async with database_of(request).session(write=True) as session:
        await operators.close_session(session, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/console/login", 303)
    response.delete_cookie(COOKIE, path=PATH)
    return response
