"""The SMPP connector end to end: HTTP send -> worker -> our session -> a third-party SMSC
(the npm `smpp` package, tests/smsc) -> receipt -> signed webhook, and inbound the other way.

Each test starts its own SMSC with the behaviour it needs (`@pytest.mark.smsc(...)`), adds
an SMPP connector with `connectors.add_smpp`, routes the demo number through it, and runs
the pipeline in-process. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from redcloud.auth.security import SecretBox
from redcloud.config import Settings
from redcloud.db import Database
from redcloud.messages.models import Message
from redcloud.numbers.models import Number
from redcloud.pipeline import Pipeline
from redcloud.providers import connectors
from redcloud.providers.smpp.models import SmppPart
from redcloud.providers.smpp.options import SmppOptions
from tests.factories import send, send_body
from tests.receiver import Receiver
from tests.smsc.peer import Smsc
from tests.test_pipeline import FAST

pytestmark = pytest.mark.slow
LINK = "carrier"
StartLink = Callable[..., Awaitable[Pipeline]]


@pytest.fixture
async def smsc(request: pytest.FixtureRequest) -> AsyncIterator[Smsc]:
    marker = request.node.get_closest_marker("smsc")
    config = {"receipts": True, **(marker.kwargs if marker else {})}
    peer = await Smsc(**config).start()
    yield peer
    await peer.stop()


async def add_link(db: Database, box: SecretBox, port: int, **options: Any) -> None:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "system_id": "redcloud",
        "password_encrypted": box.encrypt(options.pop("password", "secret")).decode(),
        "enquire_link_seconds": 5,
        "response_timeout_seconds": 2.0,
        **options,
    }
    async with db.session(write=True) as session:
        await connectors.add_smpp(session, LINK, SmppOptions(**settings))
        await session.execute(
            update(Number).where(Number.id == "num_abc123").values(connector=LINK)
        )


@pytest.fixture
async def start_link(
    db: Database, settings: Settings, box: SecretBox, smsc: Smsc, hooked: None
) -> AsyncIterator[StartLink]:
    """Add the connector with the given options and run a pipeline that carries it."""
    stack: list[Any] = []

    async def start(**options: Any) -> Pipeline:
        overrides = {k: options.pop(k) for k in list(options) if k in Settings.model_fields}
        await add_link(db, box, smsc.port, **options)
        fast = settings.model_copy(
            update={**FAST, "smpp_lease_seconds": 2.0, "smpp_reassembly_seconds": 1.0, **overrides}
        )
        pipeline = Pipeline.build(db, fast)
        running = pipeline.running()
        await running.__aenter__()
        stack.append(running)
        return pipeline

    yield start
    for running in reversed(stack):
        await running.__aexit__(None, None, None)


async def send_text(api: httpx.AsyncClient, auth: dict[str, str], text: str, to: str) -> str:
    response = await send(
        api,
        auth,
        send_body("num_abc123", to=[to], text=text),
        key=hashlib.sha256((text + to).encode()).hexdigest(),
    )
    assert response.status_code == 202, response.text
    message_id: str = response.json()["results"][0]["messageId"]
    return message_id


async def final_event(receiver: Receiver, message_id: str, timeout: float = 20) -> dict[str, Any]:
    await receiver.wait_for(
        lambda r: any(
            e["eventType"] == "message.delivery"
            for e in r.of(message_id)
            if e["data"]["status"] in ("delivered", "failed")
        ),
        timeout=timeout,
    )
    return max(receiver.of(message_id), key=lambda e: e["sequence"])


async def status_of(db: Database, message_id: str) -> Message:
    async with db.session() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message


# -- outbound: encoding and parts -------------------------------------------------------------


async def test_a_short_message_goes_as_one_gsm_submit_and_its_receipt_delivers_it(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    smsc: Smsc,
    start_link: StartLink,
) -> None:
    await start_link()
    message_id = await send_text(api, auth, "Hello €uro [ok]", "+15005550006")
    final = await final_event(receiver, message_id)
    assert final["data"]["status"] == "delivered"
    assert [
        e["data"]["status"] for e in sorted(receiver.of(message_id), key=lambda e: e["sequence"])
    ] == ["queued", "sent", "delivered"]
    (submit,) = smsc.of("submit")
    assert submit["source"] == "15551234567"
    assert submit["destination"] == "15005550006"
    assert submit["dataCoding"] == 0
    assert submit["registeredDelivery"] == 1
    assert submit["esmClass"] == 0
    # Our relative validity, as the SMSC's library reads it: REDCLOUD_MESSAGE_VALIDITY_SECONDS.
    expires = dt.datetime.fromisoformat(submit["validity"].replace("Z", "+00:00"))
    assert 35_900 < (expires - dt.datetime.now(dt.UTC)).total_seconds() <= 36_000
    assert submit["text"] == "Hello €uro [ok]"  # their GSM 03.38 reading of our octets
    assert final["data"]["providerMessageRef"] == "1001"
    shown = await api.get(f"/api/core/messages/{message_id}", headers=auth)
    assert (shown.json()["encoding"], shown.json()["segments"]) == ("GSM-7", 1)


LONG_GSM = "x" * 152 + "€" + "y" * 40  # the escape pair must not straddle the boundary


async def test_a_long_message_goes_as_udh_parts_and_is_delivered_when_every_part_is(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    smsc: Smsc,
    start_link: StartLink,
) -> None:
    await start_link()
    message_id = await send_text(api, auth, LONG_GSM, "+15005550006")
    final = await final_event(receiver, message_id)
    assert final["data"]["status"] == "delivered"
    submits = sorted(smsc.of("submit"), key=lambda s: str(s["udh"]))
    assert len(submits) == 2
    headers = [bytes.fromhex(s["udh"]) for s in submits]
    reference = headers[0][2]
    assert headers == [bytes((0, 3, reference, 2, 1)), bytes((0, 3, reference, 2, 2))]
    assert all(s["esmClass"] == 0x40 and s["dataCoding"] == 0 for s in submits)
    assert submits[0]["text"] == "x" * 152  # 153 septets would split the € escape pair
    assert "".join(s["text"] for s in submits) == LONG_GSM


async def test_sar_parts_carry_the_sar_tlvs(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    smsc: Smsc,
    start_link: StartLink,
) -> None:
    await start_link(split="sar")
    text = "😀" * 40  # UCS-2: 80 code units, two parts of at most 67, no pair split
    message_id = await send_text(api, auth, text, "+15005550006")
    assert (await final_event(receiver, message_id))["data"]["status"] == "delivered"
    submits = sorted(smsc.of("submit"), key=lambda s: s["tlvs"]["sar_segment_seqnum"])
    assert [s["tlvs"]["sar_segment_seqnum"] for s in submits] == [1, 2]
    assert {s["tlvs"]["sar_total_segments"] for s in submits} == {2}
    assert len({s["tlvs"]["sar_msg_ref_num"] for s in submits}) == 1
    assert all(s["dataCoding"] == 8 and s["esmClass"] == 0 for s in submits)
    assert submits[0]["text"] == "😀" * 33  # 66 code units: a 34th would split a pair
    assert "".join(s["text"] for s in submits) == text


async def test_payload_mode_sends_one_pdu_with_message_payload(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    smsc: Smsc,
    start_link: StartLink,
) -> None:
    await start_link(split="payload")
    message_id = await send_text(api, auth, LONG_GSM, "+15005550006")
    assert (await final_event(receiver, message_id))["data"]["status"] == "delivered"
    (submit,) = smsc.of("submit")
    assert submit["text"] == ""
    assert submit["payload"] == LONG_GSM
