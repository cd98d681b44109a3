"""The operator console: a sub-application mounted at /console, rendered on the server with
Jinja2 and htmx (vendored in static/). Its pages call the same operator services as the
CLI. It has its own error pages and strict security headers; the CORE API's JSON error
handlers stay the API's."""

from __future__ import annotations

from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from redcloud.auth.provisioning import ProvisioningError
from redcloud.config import Settings
from redcloud.console.pages import (
    audit,
    clients,
    connectors,
    messages,
    numbers,
    optouts,
    overview,
    signin,
    webhooks,
)
from redcloud.console.web import HERE, NotSignedIn, Refused, render
from redcloud.db import Database
from redcloud.errors import CoreError
from redcloud.logs import safe_error
from redcloud.ratelimit import FailureCounter

log = structlog.get_logger("redcloud.console")
# No inline script or style anywhere: htmx is configured by a <meta> tag (no eval, no
# injected indicator styles), charts are SVG with presentation attributes.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cache-control", b"no-store"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


class ConsoleShell:
    """Security headers on every console response, and the console's own page when a page
    fails (the failure stops here: the API's JSON error handling never sees it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in HEADERS if h[0] not in present]
                if https:
                    extra.append(HSTS)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"").lower():
            bad = error_page(
                Request(scope), 400, "Bad request", "The address contains a NUL character."
            )
            await bad(scope, receive, with_headers)
            return
        try:
            await self.app(scope, receive, with_headers)
        except Exception as exc:
            log.exception("console page failed", path=scope.get("path"), error=safe_error(exc))
            if not started:
                page = error_page(
                    Request(scope),
                    500,
                    "Something went wrong",
                    "The page failed; the server log has why (look for its request id).",
                )
                await page(scope, receive, with_headers)


def create_console(settings: Settings, db: Database) -> FastAPI:
    console = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    console.state.settings = settings
    console.state.db = db
    console.state.failures = FailureCounter(db, settings.auth_failure_window_seconds)
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    pages = (signin, overview, messages, webhooks, numbers, clients, connectors, optouts, audit)
    for page in pages:
        console.include_router(page.router)
    _install_error_pages(console)
    console.add_middleware(ConsoleShell)
    return console


def _install_error_pages(console: FastAPI) -> None:
    @console.exception_handler(NotSignedIn)
    async def _sign_in_first(request: Request, _exc: NotSignedIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/console/login?next={quote(target, safe='')}"
        if request.method != "GET":
            location = "/console/login"
        if request.headers.get("hx-request"):  # htmx follows this header, not a redirect
            return Response(status_code=204, headers={"HX-Redirect": location})
        return RedirectResponse(location, 303)

    @console.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> HTMLResponse:
        return error_page(request, exc.status, exc.title, exc.message)

    @console.exception_handler(ProvisioningError)
    async def _invalid(request: Request, exc: ProvisioningError) -> HTMLResponse:
        return error_page(request, 400, "That cannot be done", str(exc))

    @console.exception_handler(RequestValidationError)
    async def _malformed(request: Request, _exc: RequestValidationError) -> HTMLResponse:
        return error_page(request, 400, "Bad request", "The request's fields are not valid.")

    @console.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> HTMLResponse:
        title = "Not found" if exc.status_code == 404 else "Request refused"
        message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, title, message)

    @console.exception_handler(CoreError)
    async def _core(request: Request, exc: CoreError) -> HTMLResponse:
        return error_page(request, exc.status, "That cannot be done", exc.message)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, None, "error.html", status, title=title, message=message)
