"""The two error models of the contract: the CORE wrapper and OAuth bodies."""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]


class CoreError(Exception):
    """An error answered in the CORE wrapper: {"error": {code, message, details}, requestId}."""

    status = 400
    code = "INVALID_REQUEST"

    def __init__(
        self,
        message: str,
        details: JsonDict | list[JsonDict] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: JsonDict | list[JsonDict] = details if details is not None else {}
        self.headers = headers or {}

    def body(self, request_id: str) -> JsonDict:
        details = self.details if isinstance(self.details, dict) else {"errors": self.details}
        return {
            "error": {"code": self.code, "message": self.message, "details": details},
            "requestId": request_id,
        }


class InvalidRequest(CoreError):
    status, code = 400, "INVALID_REQUEST"


class Unauthorized(CoreError):
    status, code = 401, "UNAUTHORIZED"

    def __init__(self) -> None:
        super().__init__(
            "Invalid or missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="core"'}
        )


class Forbidden(CoreError):
    status, code = 403, "FORBIDDEN"


class NotFound(CoreError):
    status, code = 404, "NOT_FOUND"


class MethodNotAllowed(CoreError):
    status, code = 405, "METHOD_NOT_ALLOWED"


class Conflict(CoreError):
    status, code = 409, "CONFLICT"


class RateLimited(CoreError):
    status, code = 429, "RATE_LIMITED"

    def __init__(self, message: str, retry_after: str) -> None:
        super().__init__(message, {"retryAfterSeconds": int(retry_after)})
        self.headers = {"Retry-After": retry_after}


class ServerError(CoreError):
    status, code = 500, "SERVER_ERROR"


class UpstreamError(CoreError):
    status, code = 502, "UPSTREAM_ERROR"


class OAuthError(Exception):
    """An error of the token endpoint, answered as {"error", "error_description"}."""

    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}

    def body(self) -> JsonDict:
        return {"error": self.error, "error_description": self.description}


def field_error(field: str, reason: str) -> JsonDict:
    return {"field": field, "reason": reason}
