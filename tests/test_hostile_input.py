"""Hostile input on every route, on both databases: never a 5xx, always the contract's error.

The fixed cases are the faults reported against main (each answered 500 before); the
hypothesis cases throw all of Unicode (NUL, lone surrogates, control characters), wrong JSON
types, odd nesting and odd headers at every field of every route, and then check that the
server still answers.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redcloud.db import Database
from tests.factories import assert_core_error, make_client, make_number, send, send_body

NUL = "\x00"
SURROGATE = "\ud800"


def raw_json(body: Any) -> bytes:
    """JSON as a hostile client writes it: lone surrogates escaped, as json.dumps does."""
    return json.dumps(body).encode()


def assert_field_error(response: httpx.Response, field: str) -> None:
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    fields = [error["details"].get("field")] + [
        e.get("field") for e in error["details"].get("errors", [])
    ]
    assert field in fields, error


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    "field", ["sendFrom", "to[0]", "text", "externalReference", "media[0].storageKey"]
)
async def test_send_fields_refuse_nul_and_lone_surrogates(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str], field: str, bad: str
) -> None:
    body = send_body("num_abc123")
    if field == "to[0]":
        body["to"] = [f"+1555123{bad}4567"]
    elif field.startswith("media"):
        body.update(
            messageType="MMS",
            media=[{"storageKey": f"k{bad}", "mimeType": "image/png", "byteLength": 10}],
        )
    else:
        body[field] = f"x{bad}y"
    response = await api.post(
        "/api/core/messages/send",
        content=raw_json(body),
        headers={**auth, "Idempotency-Key": "hostile", "Content-Type": "application/json"},
    )
    assert_field_error(response, field)


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
async def test_number_routes_refuse_nul_and_lone_surrogates(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str], bad: str
) -> None:
    search = await api.post(
        "/api/core/numbers/search",
        content=raw_json({"city": f"Aus{bad}tin"}),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert_field_error(search, "city")
    patch = await api.patch(
        "/api/core/numbers/num_abc123",
        content=raw_json({"webhookInboundOverride": f"https://hooks.acme.io/{bad}"}),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert_field_error(patch, "webhookInboundOverride")


async def test_path_and_query_values_refuse_nul(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    patch = await api.patch("/api/core/numbers/num%00abc", json={"smsEnabled": True}, headers=auth)
    assert_field_error(patch, "numberId")
    detail = await api.get("/api/core/messages/msg%00abc", headers=auth)
    assert_field_error(detail, "messageId")
    listed = await api.get("/api/core/messages?externalReference=a%00b", headers=auth)
    assert_field_error(listed, "externalReference")
    cursor = await api.get("/api/core/messages?cursor=a%00b", headers=auth)
    assert_field_error(cursor, "cursor")
    captured = await api.get("/api/sandbox/messages?to=%2B1%00", headers=auth)
    assert_field_error(captured, "to")


async def test_sandbox_inbound_refuses_nul(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    for field in ("from", "to", "text", "mediaUrl"):
        body: dict[str, str] = {"from": "+15005550006", "to": "+15551234567", "text": "hi"}
        body[field] = body.get(field, "https://files.acme.io/a.png")[:-1] + NUL
        response = await api.post("/api/sandbox/inbound", json=body, headers=auth)
        assert_field_error(response, field)


@pytest.mark.parametrize(
    ("form", "basic"),
    [
        ({"grant_type": "client_credentials", "client_id": f"rc{NUL}", "client_secret": "x"}, None),
        ({"grant_type": f"client_credentials{NUL}"}, ("rc_test_client_123", "rc_secret_abc123")),
        ({"grant_type": "client_credentials"}, (f"rc_test{NUL}", "secret")),
        ({"grant_type": "client_credentials"}, ("rc_test_client_123", f"s{NUL}")),
    ],
)
async def test_token_endpoint_refuses_nul_with_invalid_request(
    api: httpx.AsyncClient, demo: None, form: dict[str, str], basic: tuple[str, str] | None
) -> None:
    response = await api.post("/api/auth/token", data=form, auth=basic)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert "NUL" in response.json()["error_description"]


async def test_token_endpoint_refuses_a_lone_surrogate_in_json(
    api: httpx.AsyncClient, demo: None
) -> None:
    body = {"grant_type": "client_credentials", "client_id": SURROGATE, "client_secret": "x"}
    response = await api.post(
        "/api/auth/token", content=raw_json(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/api/auth/token", "/api/core/messages/send"])
async def test_json_nested_ten_thousand_deep_is_a_clear_400(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str], path: str
) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    headers = {"Idempotency-Key": "deep", "Content-Type": "application/json"}
    if path != "/api/auth/token":  # a bearer there would be refused before the body is read
        headers.update(auth)
    response = await api.post(path, content=deep, headers=headers)
    assert response.status_code == 400, response.text
    if path == "/api/auth/token":
        assert response.json()["error"] == "invalid_request"
    else:
        assert_core_error(response, 400, "INVALID_REQUEST")


async def test_a_trailing_newline_does_not_make_a_recipient_e164(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    response = await send(api, auth, send_body("num_abc123", to=["+15551234567\n"]))
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert error["details"]["errors"][0]["error"]["code"] == "INVALID_RECIPIENT"


@pytest.mark.parametrize("value", ["-4802", "1775002218", "yesterday", "2026-13-01T00:00:00Z"])
async def test_time_filters_take_only_iso_8601(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str], value: str
) -> None:
    for name in ("since", "until"):
        response = await api.get("/api/core/messages", params={name: value}, headers=auth)
        assert_field_error(response, name)
    ok = await api.get("/api/core/messages", params={"since": "2026-01-31T12:00:00Z"}, headers=auth)
    assert ok.status_code == 200


async def test_a_nul_send_from_one_client_never_fails_another_clients_sends(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    """The reported cross-client fault: a NUL send poisoned its whole group-commit batch."""
    other = await make_client(db)
    number = await make_number(db, other.client_id)
    valid = [send(api, auth, send_body("num_abc123"), key=f"valid-{n}") for n in range(120)]
    poison = [
        send(api, other.headers, send_body(number, text=f"bad{NUL}"), key=f"nul-{n}")
        for n in range(10)
    ]
    responses = await asyncio.gather(*valid, *poison)
    assert [r.status_code for r in responses[:120]] == [202] * 120
    for response in responses[120:]:
        assert_field_error(response, "text")


# Hypothesis: every field of every route.

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ANY_TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def surrogate_safe_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def check_answer(response: httpx.Response, token_endpoint: bool = False) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    if token_endpoint and response.status_code >= 400:
        assert set(body) == {"error", "error_description"}
    elif response.status_code >= 400:
        assert set(body) == {"error", "requestId"}
        assert set(body["error"]) == {"code", "message", "details"}


def mutate(base: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """The base body with one field replaced by any JSON value, removed, or added."""
    body = dict(base)
    field = data.draw(st.sampled_from([*base, "unexpected"]))
    action = data.draw(st.sampled_from(["replace", "remove"]))
    if action == "remove":
        body.pop(field, None)
    else:
        body[field] = data.draw(JSON_VALUES)
    return body


SEND_BASE = send_body("num_abc123")
ROUTES = {
    "send": ("POST", "/api/core/messages/send", SEND_BASE),
    "search": ("POST", "/api/core/numbers/search", {"npa": "555", "city": "Austin"}),
    "patch": ("PATCH", "/api/core/numbers/num_abc123", {"smsEnabled": True}),
    "inbound": (
        "POST",
        "/api/sandbox/inbound",
        {"from": "+15005550006", "to": "+15551234567", "text": "hi"},
    ),
    "token": ("POST", "/api/auth/token", {"grant_type": "client_credentials"}),
}


@pytest.mark.parametrize("route", list(ROUTES))
async def test_any_body_on_any_route_is_answered_without_a_server_error(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str], route: str
) -> None:
    method, path, base = ROUTES[route]
    examples: list[bytes] = []

    @FUZZ
    @given(data=st.data())
    def collect(data: st.DataObject) -> None:
        examples.append(surrogate_safe_json(mutate(base, data)))

    collect()
    token = route == "token"
    for n, content in enumerate(examples):
        headers = {"Content-Type": "application/json", "Idempotency-Key": f"fuzz-{route}-{n}"}
        if not token:
            headers.update(auth)
        response = await api.request(method, path, content=content, headers=headers)
        check_answer(response, token_endpoint=token)
    assert (await api.get("/api/core/whoami", headers=auth)).status_code == 200


QUERY_VALUE = st.text(st.characters(codec="utf-8"), max_size=30)


async def test_any_query_and_path_value_is_answered_without_a_server_error(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    requests: list[tuple[str, dict[str, str]]] = []

    @FUZZ
    @given(
        name=st.sampled_from(["externalReference", "status", "since", "until", "limit", "cursor"]),
        value=QUERY_VALUE,
        segment=QUERY_VALUE,
    )
    def collect(name: str, value: str, segment: str) -> None:
        requests.append(("/api/core/messages", {name: value}))
        requests.append((f"/api/core/messages/{quote(segment, safe='')}", {}))
        requests.append(("/api/sandbox/messages", {"to": value}))

    collect()
    for path, params in requests:
        response = await api.get(path, params=params, headers=auth)
        check_answer(response)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer " + "x" * 5000},
        {"Authorization": "Bearer \x7f\x01"},
        {"Authorization": "Basic !!!"},
        {"Idempotency-Key": "k" * 300},
        {"Idempotency-Key": "k\x7f"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/json; charset=latin-1"},
        {"X-Request-Id": "\x01" * 200},
        {"Content-Length": "-1"},
    ],
)
async def test_odd_headers_get_a_clear_answer(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str], headers: dict[str, str]
) -> None:
    merged = {**auth, "Idempotency-Key": "odd", **headers}
    response = await api.post(
        "/api/core/messages/send", content=raw_json(send_body("num_abc123")), headers=merged
    )
    check_answer(response)


async def test_duplicate_keys_in_a_body_are_answered(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    content = b'{"sendFrom": "num_abc123", "sendFrom": "num_other", "to": ["+15551234567"], '
    content += b'"messageType": "SMS", "text": "hi", "externalReference": "r"}'
    response = await api.post(
        "/api/core/messages/send",
        content=content,
        headers={**auth, "Idempotency-Key": "dup", "Content-Type": "application/json"},
    )
    check_answer(response)
