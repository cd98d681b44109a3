"""The Python SDK (sdk/python) against a live `serve --demo` process over real HTTP."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlalchemy import delete

from redcloud.auth.models import AccessToken
from redcloud.db import Database
from redcloud_client import (
    APIConnectionError,
    AsyncRedCloud,
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RedCloud,
    RedCloudError,
    ServerError,
    UpstreamError,
)
from tests import factories
from tests.conftest import StartServer
from tests.live import free_port
from tests.proxy import FaultProxy

# The SDK speaks HTTP to a live server: the database behind it does not change it.
pytestmark = [pytest.mark.slow, pytest.mark.one_database]

DEMO = ("rc_test_client_123", "rc_secret_abc123")
TOKEN_PATH = "/api/auth/token"
SEND_PATH = "/api/core/messages/send"


def wait_until_delivered(rc: RedCloud, message_id: str) -> None:
    deadline = time.monotonic() + 15
    while rc.messages.get(message_id).status != "delivered":
        assert time.monotonic() < deadline, rc.messages.get(message_id)
        time.sleep(0.1)


def test_the_five_step_path_with_the_sync_client(server: str) -> None:
    with RedCloud(server, *DEMO) as rc:
        me = rc.whoami()
        assert me.api_client_id == "rc_test_client_123"
        assert me.api_client_name == "Red Cloud Test Client"
        assert me.assigned_numbers.total == me.assigned_numbers.mms_enabled_count == 1
        assert me.raw["capabilities"] == me.capabilities

        (number,) = rc.numbers.list()
        assert (number.number_id, number.e164, number.campaign_reg_id) == (
            "num_abc123",
            "+15551234567",
            "A1B2C3",
        )
        found = rc.numbers.search(npa="555", city="Austin", state="TX")
        assert found.provider_result_count >= 1
        assert found.groups[0].city == "Austin"
        assert found.groups[0].numbers[0].e164.startswith("+1555")

        # The SDK's campaign_reg_id goes out as the contract's `campaignregId`.
        updated = rc.numbers.update("num_abc123", campaign_reg_id="C0FFEE", mms_enabled=False)
        assert (updated.campaign_reg_id, updated.mms_enabled, updated.sms_enabled) == (
            "C0FFEE",
            False,
            True,
        )
        assert updated.webhook_inbound_override == "https://example.com/webhooks/inbound"
        cleared = rc.numbers.update("num_abc123", webhook_inbound_override=None)
        assert cleared.webhook_inbound_override is None

        sent = rc.messages.send(
            "num_abc123", "+15005550006", "SMS", text="Hello", external_reference="sdk-1"
        )
        (queued,) = sent.results
        assert (queued.to, queued.status, sent.errors, sent.replayed) == (
            "+15005550006",
            "QUEUED",
            [],
            False,
        )
        assert sent.idempotency_key.startswith("rc-sdk-")
        assert sent.request_id
        assert sent.request_id.startswith("req_")
        replay = rc.messages.send(
            "num_abc123",
            "+15005550006",
            "SMS",
            text="Hello",
            external_reference="sdk-1",
            idempotency_key=sent.idempotency_key,
        )
        assert replay.replayed
        assert replay.results[0].message_id == queued.message_id

        wait_until_delivered(rc, queued.message_id)
        message = rc.messages.get(queued.message_id)
        assert [e.sequence for e in message.events] == [1, 2, 3]
        assert message.events[-1].event_type == "message.delivery"
        assert message.text == "Hello"
        page = rc.messages.list(external_reference="sdk-1")
        assert [m.message_id for m in page.messages] == [queued.message_id]
        everything = list(rc.messages.iter(limit=1))  # one per page: follows the cursor
        assert {m.message_id for m in everything} == {queued.message_id, "msg_abc123"}


async def test_the_async_client_has_the_same_surface(server: str) -> None:
    async with AsyncRedCloud(server, *DEMO) as rc:
        me, numbers = await asyncio.gather(rc.whoami(), rc.numbers.list())
        assert me.api_client_id == "rc_test_client_123"
        assert numbers[0].number_id == "num_abc123"
        found = await rc.numbers.search(state="TX", npa="555", quantity=3)
        assert found.requested_quantity == 3
        sent = await rc.messages.send(
            "num_abc123",
            ["+15005550006", "not-a-number"],
            "MMS",
            text="A picture",
            media=[
                {"mime_type": "image/jpeg", "byte_length": 1024, "source_url": "https://x.io/a"}
            ],
            external_reference="sdk-async",
        )
        assert [r.to for r in sent.results] == ["+15005550006"]
        assert sent.errors[0].to == "not-a-number"
        assert sent.errors[0].error.code == "INVALID_RECIPIENT"
        message = await rc.messages.get(sent.results[0].message_id)
        assert message.message_type == "MMS"
        assert message.media
        assert message.media[0]["mimeType"] == "image/jpeg"
        listed = [m.message_id async for m in rc.messages.iter(external_reference="sdk-async")]
        assert listed == [message.message_id]


async def test_tokens_are_shared_renewed_ahead_of_expiry_and_once_after_a_401(
    start_server: StartServer, db: Database
) -> None:
    server = start_server(REDCLOUD_TOKEN_TTL_SECONDS="5")
    proxy = await FaultProxy(server.base).start()
    try:
        async with AsyncRedCloud(proxy.base, *DEMO) as rc:
            await asyncio.gather(*(rc.whoami() for _ in range(8)))
            assert len(proxy.to(TOKEN_PATH)) == 1  # eight concurrent calls, one token

            await asyncio.sleep(5)  # past the renewal point (4.5 s of a 5 s token)
            await rc.whoami()
            assert len(proxy.to(TOKEN_PATH)) == 2
            assert all(s.status != 401 for s in proxy.seen)  # renewed before it expired

            async with db.session(write=True) as session:  # the server forgets every token
                await session.execute(delete(AccessToken))
            me = await rc.whoami()
            assert me.api_client_id == "rc_test_client_123"
            whoamis = proxy.to("/api/core/whoami")
            assert [s.status for s in whoamis[-2:]] == [401, 200]
            assert len(proxy.to(TOKEN_PATH)) == 3
    finally:
        await proxy.stop()


async def test_a_lost_send_response_is_retried_with_the_same_key_and_sends_once(
    server: str,
) -> None:
    proxy = await FaultProxy(server).start()
    proxy.plan(SEND_PATH, "drop", 503)
    try:
        async with AsyncRedCloud(proxy.base, *DEMO) as rc:
            sent = await rc.messages.send(
                "num_abc123", "+15005550006", "SMS", text="once", external_reference="lost-1"
            )
            page = await rc.messages.list(external_reference="lost-1")
    finally:
        await proxy.stop()
    attempts = proxy.to(SEND_PATH)
    assert [a.status for a in attempts] == [None, 503, 202]
    assert len({a.headers["Idempotency-Key"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1
    assert sent.replayed  # the server had accepted the first one
    assert [m.message_id for m in page.messages] == [sent.results[0].message_id]


async def test_every_error_kind_is_typed(server: str, db: Database) -> None:
    other = await factories.make_client(db)
    foreign_number = await factories.make_number(db, other.client_id)
    reader = await factories.make_client(db, capabilities=("numbers:read",))
    async with AsyncRedCloud(server, *DEMO, max_retries=0) as rc:
        with pytest.raises(InvalidRequestError) as invalid:
            await rc.messages.send("num_abc123", "+15005550006", "SMS", external_reference="x")
        assert (invalid.value.status, invalid.value.code) == (400, "INVALID_REQUEST")
        assert invalid.value.request_id
        assert invalid.value.request_id.startswith("req_")
        assert invalid.value.details

        with pytest.raises(ForbiddenError) as forbidden:
            await rc.messages.send(
                foreign_number, "+15005550006", "SMS", text="hi", external_reference="x"
            )
        assert forbidden.value.message == "sendFrom is not owned by this API client"

        with pytest.raises(NotFoundError):
            await rc.messages.get("msg_nope")
        with pytest.raises(NotFoundError) as missing:
            await rc.numbers.update("num_nope", sms_enabled=True)
        assert missing.value.code == "NOT_FOUND"

        with pytest.raises(ConflictError) as conflict:
            await rc.messages.send(
                "num_abc123",
                "+15551234567",
                "SMS",
                text="Different text",
                external_reference="order_789",
                idempotency_key="idem_order_789",
            )
        assert conflict.value.status == 409

    async with AsyncRedCloud(server, reader.client_id, reader.secret) as rc:
        with pytest.raises(ForbiddenError) as no_capability:
            await rc.numbers.search(npa="555")
        assert no_capability.value.code == "FORBIDDEN"


async def test_credentials_are_refused_once_and_never_retried(server: str) -> None:
    proxy = await FaultProxy(server).start()
    try:
        async with AsyncRedCloud(proxy.base, "rc_test_client_123", "wrong", max_retries=3) as rc:
            with pytest.raises(AuthenticationError) as refused:
                await rc.whoami()
    finally:
        await proxy.stop()
    assert (refused.value.status, refused.value.code) == (401, "invalid_client")
    assert refused.value.message == "Client authentication failed"
    assert len(proxy.seen) == 1


@pytest.mark.parametrize(
    ("status", "kind"), [(500, ServerError), (502, UpstreamError), (429, RateLimitError)]
)
async def test_server_side_failures_are_retried_then_typed(
    server: str, status: int, kind: type[RedCloudError]
) -> None:
    proxy = await FaultProxy(server).start()
    proxy.plan("/api/core/whoami", status, status, status)
    try:
        async with AsyncRedCloud(proxy.base, *DEMO, max_retries=2) as rc:
            with pytest.raises(kind) as failed:
                await rc.whoami()
            proxy.plan("/api/core/whoami", status)
            assert (await rc.whoami()).api_client_id == "rc_test_client_123"  # one, then ok
    finally:
        await proxy.stop()
    assert failed.value.status == status
    assert [s.status for s in proxy.to("/api/core/whoami")] == [status] * 4 + [200]


def test_an_unreachable_server_is_a_connection_error() -> None:
    rc = RedCloud(f"http://127.0.0.1:{free_port()}", *DEMO, max_retries=1, timeout=2)
    with pytest.raises(APIConnectionError) as failed:
        rc.whoami()
    assert failed.value.status is None
    assert "after 2 attempts" in failed.value.message


def test_a_bare_http_client_can_be_given(server: str) -> None:
    """Integrators may bring their own httpx client (proxies, certificates, transports)."""
    with httpx.Client(timeout=5) as http, RedCloud(server, *DEMO, http_client=http) as rc:
        assert rc.whoami().api_client_id == "rc_test_client_123"
