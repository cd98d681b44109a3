"""What every console page shares: who is signed in, CSRF and role checks, rendering, and
the redirects that carry a notice or an error back to a page."""

from __future__ import annotations

import datetime as dt
import hmac
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from redcloud.console import audit, operators
from redcloud.console.models import ADMIN
from redcloud.console.operators import SignedIn
from redcloud.deps import database_of, settings_of

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["from_ms"] = lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
COOKIE = "redcloud_console"
LOGIN_COOKIE = "redcloud_console_login"  # the login form's own CSRF token (double submit)
NAV = [
    ("overview", "Overview", "/console/"),
    ("messages", "Messages", "/console/messages"),
    ("webhooks", "Webhooks", "/console/webhooks"),
    ("numbers", "Numbers", "/console/numbers"),
    ("clients", "Accounts & clients", "/console/clients"),
    ("connectors", "Connectors", "/console/connectors"),
    ("optouts", "Opt-outs", "/console/optouts"),
    ("audit", "Audit log", "/console/audit"),
]


class NotSignedIn(Exception):
    """No live session: the browser goes to the login page."""


class Refused(Exception):
    """A request the console will not carry out; shown on the console's error page."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


async def _signed_in(request: Request) -> SignedIn:
    token = request.cookies.get(COOKIE)
    if not token:
        raise NotSignedIn()
    settings = settings_of(request)
    async with database_of(request).session(write=True) as session:
        found = await operators.resume(
            session,
            token,
            idle=dt.timedelta(minutes=settings.console_idle_minutes),
            absolute=dt.timedelta(hours=settings.console_session_hours),
        )
    if found is None:
        raise NotSignedIn()
    return found


Viewer = Annotated[SignedIn, Depends(_signed_in)]


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser's cross-site request; the CSRF token still decides
    if origin == "null":
        return False  # an opaque origin: a sandboxed frame, a file, a redirect chain
    parts = urlsplit(origin)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


async def form_of(request: Request) -> FormData:
    """The request's form; a field with a NUL character is refused, never stored or
    silently changed."""
    form = await request.form()
    if any(isinstance(v, str) and "\x00" in v for v in form.values()):
        raise Refused(400, "Bad request", "A field contains a NUL character.")
    return form


async def checked_form(request: Request, viewer: SignedIn) -> FormData:
    """The body of a state-changing request, once it has proved it comes from a console
    page: the session's CSRF token in the form or the X-CSRF-Token header, and no foreign
    Origin."""
    form = await form_of(request)
    given = request.headers.get("x-csrf-token") or str(form.get("csrf_token") or "")
    expected = viewer.session.csrf_token
    if not same_origin(request) or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refused(
            403,
            "Request refused",
            "This request did not come from a console page (its CSRF token is missing or "
            "wrong, or it came from another site). Reload the page and try again.",
        )
    return form


def admin(viewer: SignedIn) -> None:
    if viewer.operator.role != ADMIN:
        raise Refused(
            403,
            "Admins only",
            f"You are signed in as a {viewer.operator.role}: you can read everything here, "
            "but only an admin can change it. Ask an admin to change your role "
            "(redcloud operators set-role).",
        )


async def admin_form(request: Request, viewer: SignedIn) -> FormData:
    """A change's form, from an admin, from a console page."""
    form = await checked_form(request, viewer)
    admin(viewer)
    return form


def render(
    request: Request, viewer: SignedIn | None, name: str, status: int = 200, **context: Any
) -> HTMLResponse:
    context.update(
        viewer=viewer,
        operator=viewer.operator if viewer else None,
        csrf=viewer.session.csrf_token if viewer else "",
        is_admin=bool(viewer and viewer.operator.role == ADMIN),
        nav=NAV,
        notice=request.query_params.get("notice"),
        error=context.get("error") or request.query_params.get("error"),
    )
    return templates.TemplateResponse(request, name, context, status_code=status)


def back(path: str, *, notice: str | None = None, error: str | None = None) -> Response:
    """Back to a page after a change (303: the browser follows with a GET)."""
    query = {k: v for k, v in (("notice", notice), ("error", error)) if v}
    separator = "&" if "?" in path else "?"
    return RedirectResponse(path + (separator + urlencode(query) if query else ""), 303)


def record(
    session: AsyncSession,
    viewer: SignedIn,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """The change `viewer` made, into the audit log, in the change's transaction."""
    audit.record(session, viewer.operator.email, action, target, before, after)


def text(form: FormData, name: str) -> str:
    """A form field, trimmed ("" when absent)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
