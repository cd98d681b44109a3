"""Every failure the client raises is a RedCloudError, with one subclass per kind."""

from __future__ import annotations

from typing import Any

import httpx


class RedCloudError(Exception):
    """An API call failed.

    `status` is the HTTP status (None when no response arrived), `code` the CORE error code
    (`INVALID_REQUEST`, `CONFLICT`, ...) or the OAuth error (`invalid_client`, ...),
    `request_id` the server's id for the request, to quote when asking for help.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: Any = details if details is not None else {}
        self.request_id = request_id

    def __str__(self) -> str:
        head = f"{self.status} {self.code}" if self.status else (self.code or "error")
        text = f"{head}: {self.message}"
        if self.details:
            text += f" details={self.details}"
        if self.request_id:
            text += f" (requestId {self.request_id})"
        return text


class InvalidRequestError(RedCloudError):
    """400: the request was refused as sent; `details` says which field and why."""


class AuthenticationError(RedCloudError):
    """401: wrong client credentials (`invalid_client`) or a token the server refused twice."""


class ForbiddenError(RedCloudError):
    """403: the client may not do this (a missing capability, someone else's number)."""


class NotFoundError(RedCloudError):
    """404: no such number or message for this client."""


class ConflictError(RedCloudError):
    """409: the idempotency key was used with a different payload, or is still in flight."""


class RateLimitError(RedCloudError):
    """429: too many requests; retried automatically before it is raised."""


class ServerError(RedCloudError):
    """5xx: the server failed; retried automatically before it is raised."""


class UpstreamError(ServerError):
    """502: the carrier or an upstream service failed."""


class APIConnectionError(RedCloudError):
    """No answer: the connection failed or timed out on every attempt."""


class WebhookVerificationError(RedCloudError):
    """A webhook delivery failed verification: missing headers, a bad signature, an old
    timestamp, or a body that is not a Red Cloud event. Answer it with a 400."""


_BY_STATUS: dict[int, type[RedCloudError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
    502: UpstreamError,
}


def error_from_response(response: httpx.Response) -> RedCloudError:
    """Turn a failed response (CORE wrapper, OAuth body or anything else) into an error."""
    status = response.status_code
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else RedCloudError)
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # the CORE wrapper
        error = body["error"]
        return kind(
            str(error.get("message", "")),
            status=status,
            code=error.get("code"),
            details=error.get("details"),
            request_id=body.get("requestId", request_id),
        )
    if isinstance(body, dict) and isinstance(body.get("error"), str):  # the OAuth body
        return kind(
            str(body.get("error_description", "")),
            status=status,
            code=body["error"],
            request_id=request_id,
        )
    excerpt = response.text[:200] if response.content else response.reason_phrase
    return kind(excerpt, status=status, code=f"HTTP_{status}", request_id=request_id)
