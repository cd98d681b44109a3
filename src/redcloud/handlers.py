"""Turn every failure into the contract's error format; FastAPI's defaults never reach a client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from redcloud.errors import (
    CoreError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    OAuthError,
    field_error,
)
from redcloud.middleware import BodyTooLarge, error_body

JSON_TYPES = ("application/json",)
_BODY_SHAPE_ERRORS = {"missing", "model_type", "model_attributes_type", "dict_type"}


def core_response(request: Request, error: CoreError) -> JSONResponse:
    status, body = error_body(request.url.path, error)
    return JSONResponse(body, status_code=status, headers=error.headers or None)


async def _core_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CoreError)
    return core_response(request, exc)


async def _oauth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return core_response(request, translate_validation_errors(request, exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    error: CoreError
    if isinstance(exc, BodyTooLarge):
        error = exc.as_error()
    elif exc.status_code == 404:
        error = NotFound(f"No route matches {request.method} {request.url.path}")
    elif exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        error = MethodNotAllowed(
            f"{request.method} is not allowed on {request.url.path}; use {allow or 'another'}",
            headers={"Allow": allow} if allow else None,
        )
    else:
        error = CoreError(str(exc.detail))
        error.status = exc.status_code
    return core_response(request, error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CoreError, _core_error)
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)


def translate_validation_errors(request: Request, errors: Sequence[Any]) -> InvalidRequest:
    """Pydantic's error list → one INVALID_REQUEST naming each field and why."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    problems: list[dict[str, Any]] = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "json_invalid":
            reason = err.get("ctx", {}).get("error", "malformed JSON")
            return InvalidRequest("Request body is not valid JSON", field_error("body", reason))
        if loc == ("body",) and kind in _BODY_SHAPE_ERRORS:
            if kind == "missing":
                return InvalidRequest(
                    "Request body is required: send a JSON object",
                    field_error("body", "required"),
                )
            if content_type not in JSON_TYPES and not content_type.endswith("+json"):
                return InvalidRequest(
                    "Content-Type must be application/json",
                    field_error("body", f"unsupported content type {content_type or '(none)'}"),
                )
            return InvalidRequest(
                "Request body must be a JSON object", field_error("body", "not an object")
            )
        problems.append(field_error(_field_name(loc), _reason(err)))
    if len(problems) == 1:
        only = problems[0]
        if only["field"] == "body":
            return InvalidRequest(str(only["reason"]), only)
        return InvalidRequest(f"Invalid field {only['field']}: {only['reason']}", only)
    listed = ", ".join(p["field"] for p in problems[:5])
    return InvalidRequest(f"{len(problems)} invalid fields: {listed}", problems)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = list(loc[1:] if loc and loc[0] in ("body", "header", "query", "path") else loc)
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _reason(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        return "unknown field"
    if err.get("type") == "missing":
        return "is required"
    if err.get("type") == "string_unicode":
        return "must not contain a lone surrogate (invalid Unicode)"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg
