"""Request context: a request id, hardening headers, an access line and the HTTP metrics
for every request, a body-size ceiling, HEAD on GET routes, and a last-resort 500."""

from __future__ import annotations

import contextvars
import json
import time
from typing import Any

import structlog
from opentelemetry import trace
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from redcloud import ids, tracing
from redcloud.errors import CoreError, InvalidRequest, OAuthError, ServerError
from redcloud.logs import safe_error
from redcloud.metrics.families import HTTP_DURATION, HTTP_REQUESTS

TOKEN_PATH = "/api/auth/token"
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="req_none")
log = structlog.get_logger("redcloud.http")
access_log = structlog.get_logger("redcloud.access")
# On every response: browsers must not guess a content type; API answers carry tokens and
# message data, so no cache (shared or private) keeps them.
_ALWAYS = [(b"x-content-type-options", b"nosniff")]
_API = [(b"cache-control", b"no-store")]


def current_request_id() -> str:
    return _request_id.get()


class BodyTooLarge(HTTPException):
    """Raised while reading a body past the limit; an HTTPException so FastAPI re-raises it."""

    def __init__(self, limit: int) -> None:
        super().__init__(400, f"Request body is larger than the {limit}-byte limit")
        self.limit = limit

    def as_error(self) -> InvalidRequest:
        return InvalidRequest(
            str(self.detail), {"field": "body", "reason": f"at most {self.limit} bytes"}
        )


def error_body(path: str, error: CoreError) -> tuple[int, dict[str, Any]]:
    """The contract's error body for `path`: OAuth shape on the token endpoint, CORE elsewhere."""
    if path == TOKEN_PATH:
        oauth = OAuthError(
            error.status,
            "server_error" if error.status >= 500 else "invalid_request",
            error.message,
        )
        return oauth.status, oauth.body()
    return error.status, error.body(current_request_id())


class RequestContextMiddleware:
    """Pure ASGI so it costs one function call per request, not a task per request."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, access_log: bool = True) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not tracing.enabled():
            await self._handle(scope, receive, send, None)
            return
        # A caller's W3C traceparent makes this request part of the caller's trace.
        parent = _header(scope, b"traceparent")
        with tracing.span("HTTP", parent=parent, kind=tracing.SERVER) as span:
            await self._handle(scope, receive, send, span)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, span: trace.Span | None
    ) -> None:
        rid = ids.request_id()
        token = _request_id.set(rid)
        header_rid = rid.encode()
        path: str = scope.get("path", "")
        caller_rid = _header(scope, b"x-request-id")
        bound = structlog.contextvars.bind_contextvars(request_id=rid)
        if caller_rid:
            # A caller's id is logged for correlation, never echoed as ours.
            structlog.contextvars.bind_contextvars(caller_request_id=caller_rid[:128])
        started = False
        status = 500
        began = time.perf_counter()
        method: str = scope.get("method", "GET")
        if method == "HEAD":  # answered as GET without its body, on every GET route
            scope = {**scope, "method": "GET"}
        extra = [(b"x-request-id", header_rid), *_ALWAYS]
        if path.startswith("/api/"):
            extra += _API

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = message.get("headers", [])
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *(h for h in extra if h[0] not in present)]
            elif method == "HEAD" and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        received = 0
        limit = self.max_body_bytes

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            declared = _header(scope, b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                raise BodyTooLarge(limit)
            await self.app(scope, receive_limited, send_with_id)
        except BodyTooLarge as exc:
            if not started:
                await _respond(send_with_id, *error_body(path, exc.as_error()))
        except Exception as exc:
            log.exception("unhandled error", path=path, error=safe_error(exc))
            if not started:
                await _respond(
                    send_with_id, *error_body(path, ServerError("Internal server error"))
                )
        finally:
            elapsed = time.perf_counter() - began
            route = _route_template(scope)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(elapsed)
            if span is not None:
                span.update_name(f"{method} {route}")
                span.set_attributes(
                    {"http.request.method": method, "http.route": route, "request_id": rid}
                )
                span.set_attribute("http.response.status_code", status)
            if self.access_log:
                access_log.info(
                    "request",
                    method=method,
                    path=path,
                    status=status,
                    ms=round(elapsed * 1000, 1),
                    client=_client_address(scope),
                )
            structlog.contextvars.reset_contextvars(**bound)
            _request_id.reset(token)


def _route_template(scope: Scope) -> str:
    """The matched route's template (`/api/core/messages/{messageId}`), never the raw path:
    one series per route, whatever ids callers send. Unmatched paths share one."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "unmatched"
    return str(scope.get("root_path", "")) + template  # a mounted app's routes: /console/...


def _client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
