"""Reading a token request: HTTP Basic or body credentials, form-encoded or JSON."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

from fastapi import Request

from redcloud import inputs
from redcloud.errors import OAuthError

GRANT_TYPE = "client_credentials"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_OAUTH_PARAMETERS = {"grant_type", "client_id", "client_secret", "scope"}


@dataclass(frozen=True, slots=True)
class TokenRequest:
    client_id: str
    client_secret: str
    used_basic: bool


def invalid_request(description: str) -> OAuthError:
    return OAuthError(400, "invalid_request", description)


async def read_token_request(request: Request) -> TokenRequest:
    """Validate the request in the contract's order; raise the OAuth error for the first fault."""
    basic = _basic_credentials(request.headers.get("authorization"))
    fields = _body_fields(request.headers.get("content-type", ""), await request.body())

    for name, value in fields.items():
        reason = inputs.problem(value)
        if reason is not None:
            raise invalid_request(f"{name} {reason}")
    grant_type = fields.get("grant_type")
    if not grant_type:
        raise invalid_request("grant_type is required; use grant_type=client_credentials")
    if grant_type != GRANT_TYPE:
        raise OAuthError(400, "unsupported_grant_type", "Only client_credentials is supported")

    body_id = fields.get("client_id") or ""
    body_secret = fields.get("client_secret") or ""
    if basic is not None:
        # A body client_id that repeats the Basic one is harmless (many OAuth libraries add it);
        # a second secret, or a different id, is two authentication methods at once.
        if body_secret or (body_id and body_id != basic[0]):
            raise invalid_request(
                "Send client credentials either with HTTP Basic or in the body, not both"
            )
        return TokenRequest(basic[0], basic[1], used_basic=True)
    if not body_id or not body_secret:
        raise invalid_request("client_id and client_secret are required")
    return TokenRequest(body_id, body_secret, used_basic=False)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise invalid_request("The Authorization header must use the Basic scheme here")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid_request("Malformed HTTP Basic Authorization header") from exc
    client_id, sep, client_secret = decoded.partition(":")
    if not sep or not client_id or not client_secret:
        raise invalid_request("HTTP Basic credentials must be client_id:client_secret")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    client_id, client_secret = unquote_plus(client_id), unquote_plus(client_secret)
    for name, value in (("client_id", client_id), ("client_secret", client_secret)):
        reason = inputs.problem(value)
        if reason is not None:
            raise invalid_request(f"The HTTP Basic {name} {reason}")
    return client_id, client_secret


def _body_fields(content_type: str, body: bytes) -> dict[str, str]:
    media_type = content_type.split(";")[0].strip().lower()
    if not body.strip():
        return {}
    if media_type == FORM:
        return _form_fields(body)
    if media_type == JSON or media_type.endswith("+json"):
        return _json_fields(body)
    raise invalid_request(f"Content-Type must be {FORM} or {JSON}")


def _form_fields(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_request("The form-encoded body could not be read") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name not in _OAUTH_PARAMETERS:
            continue  # RFC 6749 §3.2: unknown parameters are ignored
        if name in fields:
            raise invalid_request(f"Parameter {name} must not be repeated")
        fields[name] = value
    return fields


def _json_fields(body: bytes) -> dict[str, str]:
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_request("The JSON body could not be read") from exc
    except RecursionError as exc:
        raise invalid_request("The JSON body is nested too deeply") from exc
    if not isinstance(parsed, dict):
        raise invalid_request("The JSON body must be an object")
    fields: dict[str, str] = {}
    for name in ("grant_type", "client_id", "client_secret"):
        value = parsed.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise invalid_request(f"{name} must be a string")
        fields[name] = value
    return fields
