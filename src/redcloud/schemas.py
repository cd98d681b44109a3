"""Schemas shared by every domain: the two error bodies, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(examples=["INVALID_REQUEST"])
    message: str = Field(examples=["Idempotency-Key header is required"])
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """The CORE error wrapper carried by every /api/core/* failure."""

    error: ErrorDetail
    requestId: str = Field(examples=["req_send_001"])


class OAuthErrorResponse(BaseModel):
    """The OAuth error body of the token endpoint."""

    error: str = Field(
        examples=["invalid_client"],
        json_schema_extra={
            "enum": [
                "invalid_request",
                "invalid_client",
                "unsupported_grant_type",
                "temporarily_unavailable",
                "server_error",
            ]
        },
    )
    error_description: str = Field(examples=["Client authentication failed"])


def core_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the CORE error statuses a route can answer."""
    described = {
        400: "Invalid request (INVALID_REQUEST)",
        401: "Invalid or missing bearer token (UNAUTHORIZED)",
        403: "Forbidden (FORBIDDEN)",
        404: "Not found (NOT_FOUND)",
        405: "Method not allowed (METHOD_NOT_ALLOWED); the Allow header lists the methods",
        409: "Conflict (CONFLICT)",
        429: "Too many requests (RATE_LIMITED); retry after the Retry-After header's seconds",
        500: "Server error (SERVER_ERROR)",
        502: "Upstream error (UPSTREAM_ERROR)",
    }
    return {
        status: {"model": ErrorResponse, "description": described[status]}
        for status in (*statuses, 400, 401, 405, 429, 500)
    }
