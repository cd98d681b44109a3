"""The operator console's routes and templates, in process, on both databases: sign-in,
sessions, CSRF, roles, the audit log, and every page's reads and changes. The browser tests
(tests/test_console_browser.py) drive the same pages in chromium."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from redcloud.auth.models import ApiClient
from redcloud.compliance.models import OptOut
from redcloud.console.models import AuditEntry, OperatorSession
from redcloud.db import Database, utcnow
from redcloud.messages.models import Message, MessageEvent
from redcloud.numbers.models import Number
from redcloud.providers.models import Connector
from redcloud.webhooks.models import WebhookAttempt
from tests.conftest import AppWith
from tests.console_client import ADMIN, VIEWER, Visitor, create_operators, log_in, visitor
from tests.factories import send, send_body

PAGES = [
    "/console/",
    "/console/messages",
    "/console/webhooks",
    "/console/numbers",
    "/console/numbers/num_abc123",
    "/console/clients",
    "/console/clients/rc_test_client_123",
    "/console/connectors",
    "/console/optouts",
    "/console/audit",
]


@pytest.fixture
async def console(app_with: AppWith, db: Database, demo: None) -> httpx.AsyncClient:
    await create_operators(db)
    return app_with(demo=True, auth_failures_per_client=3)


@pytest.fixture
async def admin(console: httpx.AsyncClient) -> Visitor:
    return await visitor(console)


async def audit_log(db: Database) -> list[AuditEntry]:
    """The changes made by operators and the CLI (not the fixtures' own set-up)."""
    async with db.session() as session:
        query = select(AuditEntry).where(AuditEntry.operator != "test").order_by(AuditEntry.id)
        return list(await session.scalars(query))


# -- signing in -----------------------------------------------------------------------------


async def test_a_signed_out_visitor_is_sent_to_the_login_page(console: httpx.AsyncClient) -> None:
    response = await console.get("/console/messages?status=failed")
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == "/console/login?next=%2Fconsole%2Fmessages%3Fstatus%3Dfailed"
    )
    htmx = await console.get("/console/messages", headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"].startswith("/console/login")
    posted = await console.post("/console/numbers/assign", data={"e164": "+15005550006"})
    assert (posted.status_code, posted.headers["location"]) == (303, "/console/login")


async def test_signing_in_sets_a_strict_httponly_cookie_and_goes_where_asked(
    console: httpx.AsyncClient,
) -> None:
    form = await console.get("/console/login?next=/console/audit")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    response = await console.post(
        "/console/login",
        data={
            "login_token": token.group(1),
            "email": " Admin@Example.com ",
            "password": ADMIN[1],
            "next": "/console/audit",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/audit"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("redcloud_console=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http here; behind https it is Secure
    assert (await console.get("/console/audit")).status_code == 200


async def test_the_cookie_is_secure_behind_https(
    app_with: AppWith, db: Database, demo: None
) -> None:
    await create_operators(db)
    client = app_with(demo=True)
    client.base_url = httpx.URL("https://testserver")
    response = await log_in(client, *ADMIN)
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("redcloud_console=")
    )
    assert "Secure" in cookie
    page = await client.get("/console/")
    assert page.headers["strict-transport-security"].startswith("max-age=")


async def test_next_never_leaves_the_console(console: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/api/core/whoami"):
        form = await console.get("/console/login", params={"next": target})
        assert 'name="next" value="/console/"' in form.text


async def test_wrong_credentials_are_refused_alike_and_then_rate_limited(
    console: httpx.AsyncClient,
) -> None:
    unknown = await log_in(console, "nobody@example.com", "whatever-password")
    wrong = await log_in(console, ADMIN[0], "not the password")
    for response in (unknown, wrong):
        assert response.status_code == 401
        assert "do not match an active operator" in response.text
    await log_in(console, ADMIN[0], "still not it")
    await log_in(console, ADMIN[0], "the third wrong one")
    limited = await log_in(console, ADMIN[0], ADMIN[1])  # right, but past the limit
    assert limited.status_code == 429
    assert "Too many failed sign-ins" in limited.text
    assert "redcloud_console=" not in limited.headers.get("set-cookie", "")


async def test_a_stale_or_foreign_login_form_is_refused(console: httpx.AsyncClient) -> None:
    refused = await console.post(
        "/console/login", data={"login_token": "forged", "email": ADMIN[0], "password": ADMIN[1]}
    )
    assert refused.status_code == 403
    form = await console.get("/console/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    foreign = await console.post(
        "/console/login",
        data={"login_token": token.group(1), "email": ADMIN[0], "password": ADMIN[1]},
        headers={"Origin": "http://evil.example"},
    )
    assert foreign.status_code == 403


async def test_logout_ends_the_session(admin: Visitor, db: Database) -> None:
    out = await admin.post("/console/logout")
    assert (out.status_code, out.headers["location"]) == (303, "/console/login")
    assert (await admin.client.get("/console/")).status_code == 303
    async with db.session() as session:
        assert list(await session.scalars(select(OperatorSession))) == []


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", dt.timedelta(minutes=31)), ("created_at", dt.timedelta(hours=13))],
)
async def test_idle_and_absolute_expiry_end_a_session(
    admin: Visitor, db: Database, column: str, age: dt.timedelta
) -> None:
    async with db.session(write=True) as session:
        await session.execute(update(OperatorSession).values({column: utcnow() - age}))
    assert (await admin.client.get("/console/")).status_code == 303
    async with db.session() as session:
        assert list(await session.scalars(select(OperatorSession))) == []


async def test_deactivating_an_operator_ends_their_sessions_at_once(
    admin: Visitor, cli: object
) -> None:
    await cli("operators", "deactivate", ADMIN[0])  # type: ignore[operator]
    assert (await admin.client.get("/console/")).status_code == 303
    again = await log_in(admin.client, *ADMIN)
    assert again.status_code == 401


# -- every page, its headers and its errors -------------------------------------------------


@pytest.mark.parametrize("who", [ADMIN, VIEWER])
async def test_every_page_renders_with_strict_security_headers(
    console: httpx.AsyncClient, who: tuple[str, str]
) -> None:
    signed = await visitor(console, who)
    for path in PAGES:
        response = await signed.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert "<script>" not in response.text  # no inline script: every script has a src
        assert " style=" not in response.text
        assert "<style" not in response.text
        assert who[0] in response.text
        forms = "Save" in response.text or "Assign" in response.text
        if who == VIEWER:
            assert 'method="post" action="/console/numbers' not in response.text
        elif path in ("/console/numbers", "/console/numbers/num_abc123"):
            assert forms


async def test_console_errors_are_pages_and_the_api_keeps_its_json(
    admin: Visitor, api: httpx.AsyncClient
) -> None:
    missing = await admin.get("/console/messages/msg_nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "There is no message msg_nope" in missing.text
    nowhere = await admin.get("/console/no/such/page")
    assert nowhere.status_code == 404
    assert "There is no such page" in nowhere.text
    metrics = (await admin.client.get("/metrics")).text  # one series per console route
    assert 'route="/console/messages/{message_id}",status="404"' in metrics
    api_missing = await api.get("/api/core/nope")
    assert api_missing.headers["content-type"].startswith("application/json")
    assert "content-security-policy" not in api_missing.headers
    static = await admin.client.get("/console/static/htmx.min.js")
    assert static.status_code == 200
    assert b"htmx" in static.content[:200]


# -- CSRF and roles --------------------------------------------------------------------------


async def test_changes_without_the_csrf_token_or_from_another_site_are_refused(
    admin: Visitor, db: Database
) -> None:
    path = "/console/connectors/sandbox/status"
    no_token = await admin.client.post(path, data={"status": "disabled"})
    wrong = await admin.client.post(path, data={"status": "disabled", "csrf_token": "x" * 43})
    non_ascii = await admin.client.post(path, data={"status": "disabled", "csrf_token": "é"})
    foreign = await admin.client.post(
        path,
        data={"status": "disabled", "csrf_token": admin.csrf},
        headers={"Origin": "http://127.0.0.1:9"},
    )
    for response in (no_token, wrong, non_ascii, foreign):
        assert response.status_code == 403, response.text
        assert "did not come from a console page" in response.text
    async with db.session() as session:
        sandbox = await session.get(Connector, "sandbox")
    assert sandbox is None or sandbox.status == "enabled"
    header = await admin.client.post(
        path, data={"status": "disabled"}, headers={"X-CSRF-Token": admin.csrf}
    )
    assert header.status_code == 303  # htmx sends the token as a header


async def test_a_viewer_reads_but_is_refused_every_change(
    console: httpx.AsyncClient, db: Database
) -> None:
    viewer = await visitor(console, VIEWER)
    for path, data in [
        ("/console/connectors/sandbox/status", {"status": "disabled"}),
        ("/console/numbers/num_abc123/release", {}),
        ("/console/clients", {"account": "acc_demo", "name": "sneaky"}),
        ("/console/optouts", {"recipient": "+15005550006", "number": "num_abc123"}),
    ]:
        response = await viewer.post(path, data)
        assert response.status_code == 403, path
        assert "only an admin can change it" in response.text
    async with db.session() as session:
        number = await session.get(Number, "num_abc123")
        assert number is not None
        assert number.status == "ACTIVE"
        assert await session.scalar(select(ApiClient).where(ApiClient.name == "sneaky")) is None
    assert await audit_log(db) == []


# -- pages that change things, and the audit log ---------------------------------------------


async def test_creating_a_client_shows_its_secret_once_and_audits_without_it(
    admin: Visitor, db: Database
) -> None:
    created = await admin.post(
        "/console/clients",
        {"account": "acc_demo", "name": "Billing", "cap:numbers:read": "on"},
    )
    assert created.status_code == 200
    secret = re.search(r'<code id="secret">([^<]+)</code>', created.text)
    assert secret is not None
    client_id = re.search(r"Client id: <code>([^<]+)</code>", created.text)
    assert client_id is not None
    page = await admin.get(f"/console/clients/{client_id.group(1)}")
    assert secret.group(1) not in page.text
    assert "numbers:read" in page.text
    token = await admin.client.post(
        "/api/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id.group(1), secret.group(1)),
    )
    assert token.status_code == 200, token.text
    rotated = await admin.post(f"/console/clients/{client_id.group(1)}/rotate-secret")
    fresh = re.search(r'<code id="secret">([^<]+)</code>', rotated.text)
    assert fresh is not None
    assert fresh.group(1) != secret.group(1)
    entries = await audit_log(db)
    assert [e.action for e in entries][-2:] == ["client.create", "client.rotate-secret"]
    assert entries[-2].operator == ADMIN[0]
    assert entries[-2].after is not None
    assert entries[-2].after["capabilities"] == ["numbers:read"]
    for entry in entries:
        assert secret.group(1) not in str(entry.after)
        assert fresh.group(1) not in str(entry.after)
    log = await admin.get("/console/audit")
    assert "client.rotate-secret" in log.text


async def test_client_settings_and_rate_limit_apply_to_the_api(
    admin: Visitor, db: Database, api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    saved = await admin.post(
        "/console/clients/rc_test_client_123",
        {
            "status": "ACTIVE",
            "cap:numbers:read": "on",
            "cap:numbers:search": "on",
            "cap:numbers:update": "on",
            "inbound": "https://hooks.example.com/in",
            "delivery": "",
            "limit": "2",
        },
    )
    assert saved.status_code == 303, saved.text
    async with db.session() as session:
        client = await session.get(ApiClient, "rc_test_client_123")
    assert client is not None
    assert client.requests_per_minute == 2
    assert client.inbound_webhook_url == "https://hooks.example.com/in"
    statuses = [(await api.get("/api/core/whoami", headers=auth)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = await admin.post(
        "/console/clients/rc_test_client_123", {"status": "ACTIVE", "limit": "-5"}
    )
    assert "whole number" in (await admin.get(refused.headers["location"])).text


async def test_numbers_are_searched_assigned_updated_and_released(
    admin: Visitor, db: Database
) -> None:
    found = await admin.get("/console/numbers?q=555123")
    assert "num_abc123" in found.text
    assigned = await admin.post(
        "/console/numbers/assign",
        {"e164": "+15005550123", "client": "rc_test_client_123", "campaign": "C123"},
    )
    assert assigned.status_code == 303
    number_path = assigned.headers["location"].split("?")[0]
    saved = await admin.post(
        number_path,
        {
            "campaign": "CAMP-9",
            "connector": "sandbox",
            "cap": "3.5",
            "status": "INACTIVE",
            "inbound": "https://hooks.example.com/number-in",
            "delivery": "",
        },
    )
    assert saved.status_code == 303
    async with db.session() as session:
        number = await session.scalar(select(Number).where(Number.e164 == "+15005550123"))
    assert number is not None
    assert (number.campaign_reg_id, number.connector, number.segments_per_second) == (
        "CAMP-9",
        "sandbox",
        3.5,
    )
    assert (number.status, number.webhook_inbound_override) == (
        "INACTIVE",
        "https://hooks.example.com/number-in",
    )
    bad = await admin.post(number_path, {"cap": "nan", "connector": ""})
    assert bad.status_code == 400
    assert "A cap is 0" in bad.text
    released = await admin.post(f"{number_path}/release")
    assert released.status_code == 303
    entries = await audit_log(db)
    assert [e.action for e in entries] == ["number.assign", "number.update", "number.release"]
    assert entries[1].before is not None
    assert entries[1].before["campaign"] == "C123"
    assert entries[1].after is not None
    assert entries[1].after["campaign"] == "CAMP-9"


async def test_connectors_are_added_edited_disabled_and_made_default(
    admin: Visitor, db: Database
) -> None:
    fields = {
        "name": "carrier-a",
        "host": "smsc.example.com",
        "port": "2775",
        "system_id": "redcloud",
        "password": "s3cret",
        "system_type": "",
        "bind": "transceiver",
        "binds": "2",
        "window": "32",
        "mps": "50",
        "enquire_link_seconds": "30",
        "split": "udh",
        "dlr_id_format": "hex-to-dec",
        "source_ton": "1",
        "source_npi": "1",
        "dest_ton": "1",
        "dest_npi": "1",
        "validity_seconds": "",
    }
    added = await admin.post("/console/connectors", fields)
    assert added.status_code == 303, added.text
    edited = await admin.post(
        "/console/connectors/carrier-a", {**fields, "password": "", "mps": "80"}
    )
    assert edited.status_code == 303
    invalid = await admin.post("/console/connectors/carrier-a", {**fields, "binds": "0"})
    assert invalid.status_code == 400
    assert "--binds must be between 1 and 64" in invalid.text
    await admin.post("/console/connectors/carrier-a/status", {"status": "disabled"})
    await admin.post("/console/connectors/carrier-a/default")
    async with db.session() as session:
        connector = await session.get(Connector, "carrier-a")
    assert connector is not None
    assert connector.settings["mps"] == 80
    assert connector.settings["password_encrypted"]  # kept when the form left it empty
    assert (connector.status, connector.is_default) == ("disabled", True)
    page = await admin.get("/console/connectors")
    assert "s3cret" not in page.text
    assert connector.settings["password_encrypted"] not in page.text
    entries = await audit_log(db)
    assert [e.action for e in entries] == [
        "connector.add",
        "connector.edit",
        "connector.status",
        "connector.default",
    ]
    assert all("password_encrypted" not in str(e.after) for e in entries)


async def test_opt_outs_are_added_searched_exported_and_removed(
    admin: Visitor, db: Database
) -> None:
    added = await admin.post(
        "/console/optouts", {"recipient": "+15005550006", "number": "num_abc123"}
    )
    assert added.status_code == 303
    listed = await admin.get("/console/optouts?recipient=%2B15005550006")
    assert "+15005550006" in listed.text
    assert "operator" in listed.text
    exported = await admin.client.get("/console/optouts.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert (
        exported.text.splitlines()[0]
        == "scope,scopeId,recipient,apiClientId,source,keyword,createdAt"
    )
    assert "number,num_abc123,+15005550006,rc_test_client_123,operator" in exported.text
    removed = await admin.post(
        "/console/optouts/remove", {"recipient": "+15005550006", "number": "num_abc123"}
    )
    assert "may receive messages again" in (await admin.get(removed.headers["location"])).text
    async with db.session() as session:
        assert list(await session.scalars(select(OptOut))) == []
    assert [e.action for e in await audit_log(db)] == ["optout.add", "optout.remove"]


# -- messages and webhooks -------------------------------------------------------------------


async def sent(api: httpx.AsyncClient, auth: dict[str, str], key: str, **body: object) -> str:
    response = await send(api, auth, send_body("num_abc123", **body), key=key)
    assert response.status_code == 202, response.text
    message_id: str = response.json()["results"][0]["messageId"]
    return message_id


async def test_messages_are_found_by_every_filter_and_paged(
    admin: Visitor, api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    first = await sent(
        api, auth, "f1", to=["+15005550006"], text="Your code is 1234", externalReference="ord-1"
    )
    second = await sent(
        api, auth, "f2", to=["+15005550009"], text="Ünïcode 🙂 100%_done", externalReference="ord-2"
    )
    cases = {
        f"message={first}": {first},
        "reference=ord-2": {second},
        "client=rc_test_client_123": {first, second},
        "number=num_abc123": {first, second},
        "number=%2B15551234567": {first, second},
        "recipient=%2B15005550009": {second},
        "status=queued": {first, second},
        "status=delivered": set(),
        "text=code+is": {first},
        "text=100%25_": {second},  # LIKE's wildcards are searched for, not obeyed
        "text=%25": {second},
        "since=2000-01-01T00%3A00": {first, second},
        "until=2000-01-01T00%3A00": set(),
    }
    for query, expected in cases.items():
        page = await admin.get(f"/console/messages?{query}")
        assert page.status_code == 200
        shown = set(re.findall(r'href="/console/messages/(msg_[a-z0-9]+)"', page.text))
        assert shown - {"msg_abc123"} == expected, query  # beside the demo's own message
    partial = await admin.client.get(
        "/console/messages?status=queued", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert "<html" not in partial.text
    assert first in partial.text


async def test_messages_page_in_pages_of_fifty(
    admin: Visitor, api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    recipients = [f"+1500555{n:04d}" for n in range(60)]
    await sent(api, auth, "bulk", to=recipients[:50], externalReference="bulk")
    await sent(api, auth, "bulk2", to=recipients[50:], externalReference="bulk")
    page = await admin.get("/console/messages?reference=bulk")
    first = re.findall(r'href="/console/messages/(msg_[a-z0-9]+)"', page.text)
    older = re.search(r'href="(/console/messages\?[^"]*after=[^"]+)"', page.text)
    assert len(first) == 50
    assert older is not None
    assert "reference=bulk" in older.group(1)
    rest = await admin.get(older.group(1).replace("&amp;", "&"))
    second = re.findall(r'href="/console/messages/(msg_[a-z0-9]+)"', rest.text)
    assert len(second) == 10
    assert not set(first) & set(second)
    bad = await admin.get("/console/messages?after=not-a-cursor")
    assert bad.status_code == 400


async def test_a_message_page_shows_its_fields_events_attempts_and_redelivers(
    admin: Visitor, api: httpx.AsyncClient, auth: dict[str, str], db: Database
) -> None:
    message_id = await sent(
        api, auth, "m1", to=["+15005550006"], text="€" * 81
    )  # 162 septets: two parts
    async with db.session(write=True) as session:
        event = await session.scalar(
            select(MessageEvent).where(MessageEvent.message_id == message_id)
        )
        assert event is not None
        session.add(
            WebhookAttempt(
                event_id=event.id,
                attempt=1,
                url="https://hooks.example.com/d",
                status_code=503,
                latency_ms=12,
                error="HTTP 503",
            )
        )
        event.delivery_status = "failed"
        event.delivery_attempts = 1
    page = await admin.get(f"/console/messages/{message_id}")
    for shown in (
        "GSM-7",
        "<dd>2</dd>",
        "sandbox",
        "message.queued",
        "https://hooks.example.com/d",
        "HTTP 503",
        "12 ms",
    ):
        assert shown in page.text, shown
    redelivered = await admin.post(f"/console/messages/{message_id}/events/{event.id}/redeliver")
    assert redelivered.status_code == 303
    async with db.session() as session:
        again = await session.get(MessageEvent, event.id)
    assert again is not None
    assert again.delivery_status == "pending"
    other = await admin.post(f"/console/messages/msg_other/events/{event.id}/redeliver")
    assert other.status_code == 404
    assert [e.action for e in await audit_log(db)] == ["webhook.redeliver"]


async def test_webhooks_page_lists_failing_destinations_and_recovers_them(
    admin: Visitor, api: httpx.AsyncClient, auth: dict[str, str], db: Database
) -> None:
    ids = [await sent(api, auth, f"w{i}", to=["+15005550006"]) for i in range(3)]
    async with db.session(write=True) as session:
        events = list(
            await session.scalars(select(MessageEvent).where(MessageEvent.message_id.in_(ids)))
        )
        for index, event in enumerate(events):
            url = "https://down.example.com/hook" if index < 2 else "https://up.example.com/hook"
            code = 500 if index < 2 else 200
            session.add(
                WebhookAttempt(
                    event_id=event.id, attempt=1, url=url, status_code=code, latency_ms=5
                )
            )
            event.delivery_status = "failed" if index < 2 else "delivered"
    page = await admin.get("/console/webhooks")
    assert page.text.index("https://down.example.com/hook") < page.text.index(
        "https://up.example.com/hook"
    )
    recovered = await admin.post(
        "/console/webhooks/recover",
        {"url": "https://down.example.com/hook", "since": "2000-01-01T00:00"},
    )
    assert recovered.status_code == 303
    follow = await admin.get(recovered.headers["location"])
    assert "2 failed event(s)" in follow.text
    async with db.session() as session:
        query = select(MessageEvent.delivery_status).where(MessageEvent.message_id.in_(ids))
        statuses = sorted(await session.scalars(query))
    assert statuses == ["delivered", "pending", "pending"]
    missing = await admin.post("/console/webhooks/recover", {"url": "", "since": ""})
    assert "Choose a destination" in (await admin.get(missing.headers["location"])).text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    field=st.sampled_from(
        [
            "message",
            "reference",
            "client",
            "number",
            "recipient",
            "status",
            "text",
            "since",
            "until",
            "after",
        ]
    ),
    value=st.text(max_size=300),
)
async def test_hostile_search_input_never_breaks_a_page(
    admin: Visitor, field: str, value: str
) -> None:
    response = await admin.client.get("/console/messages", params={field: value})
    assert response.status_code in (200, 400), response.text[:300]
    assert response.headers["content-type"].startswith("text/html")


async def test_nul_characters_anywhere_get_a_clear_400_not_a_500(
    admin: Visitor, app_with: AppWith
) -> None:
    for path in (
        "/console/messages/msg_%00x",
        "/console/numbers/num%00",
        "/console/messages?text=a%00b",
    ):
        response = await admin.client.get(path)
        assert response.status_code == 400, path
        assert "NUL" in response.text
        assert "content-security-policy" in response.headers
    changed = await admin.post(
        "/console/optouts", {"recipient": "+1500555\x000006", "number": "num_abc123"}
    )
    assert changed.status_code == 400
    assert "A field contains a NUL character" in changed.text
    refused = await log_in(app_with(demo=True), "ad\x00min@example.com", ADMIN[1])
    assert refused.status_code == 400


async def test_operators_cli_creates_lists_changes_and_audits(
    cli: object, db: Database, admin: Visitor
) -> None:
    invoke = cli  # the CLI fixture
    short = await invoke(
        "operators", "create", "x@example.com", "--role", "admin", "--password-stdin", ok=False
    )  # type: ignore[operator]
    assert short.exit_code == 1
    listed = await invoke("operators", "list", "--json")  # type: ignore[operator]
    assert '"viewer@example.com"' in listed.stdout
    await invoke("operators", "set-role", VIEWER[0], "admin")  # type: ignore[operator]
    bad = await invoke("operators", "set-role", VIEWER[0], "root", ok=False)  # type: ignore[operator]
    assert "Role must be one of admin, viewer" in bad.output
    entries = await audit_log(db)
    assert (entries[-1].operator, entries[-1].action, entries[-1].after) == (
        "cli",
        "operator.set-role",
        {"email": VIEWER[0], "role": "admin", "active": True},
    )


async def test_the_cli_sets_and_clears_a_client_s_own_rate_limit(
    cli: Any, db: Database, demo: None
) -> None:
    shown = await cli("clients", "set-rate-limit", "rc_test_client_123", "120", "--json")
    assert '"requestsPerMinute": 120' in shown.stdout
    await cli("clients", "set-rate-limit", "rc_test_client_123", "default")
    async with db.session() as session:
        client = await session.get(ApiClient, "rc_test_client_123")
    assert client is not None
    assert client.requests_per_minute is None
    wrong = await cli("clients", "set-rate-limit", "rc_test_client_123", "lots", ok=False)
    assert wrong.exit_code == 1
    assert "whole number" in wrong.output


async def test_the_overview_counts_traffic_and_the_queue_from_the_database(
    admin: Visitor, api: httpx.AsyncClient, auth: dict[str, str], db: Database
) -> None:
    await sent(api, auth, "o1", to=["+15005550006", "+15005550009"])
    async with db.session() as session:
        accepted = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.direction == "outbound",
                Message.created_at >= utcnow() - dt.timedelta(hours=1),
            )
        )
    page = await admin.get("/console/")
    hour = page.text.split("Last 24 hours")[0]
    assert re.search(rf'<td>sandbox</td><td class="num">{accepted}</td>', hour), hour
    # No pipeline runs here: both submits wait in the queue, as the database says.
    queue = re.search(
        r"<code>provider.submit</code></td>\s*<td class=\"num\">(\d+)</td>", page.text
    )
    assert queue is not None
    assert queue.group(1) == "2"
    assert "<svg" in page.text
