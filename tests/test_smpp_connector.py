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
import ipaddress
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select, update

from redcloud.auth.security import SecretBox
from redcloud.config import Settings
from redcloud.db import Database
from redcloud.health import readiness
from redcloud.messages.models import Message, UnroutedInbound
from redcloud.numbers.models import Number
from redcloud.pipeline import Pipeline
from redcloud.providers import connectors
from redcloud.providers.models import Connector
from redcloud.providers.smpp.models import SmppPart
from redcloud.providers.smpp.options import SmppOptions
from redcloud.segments import encode_gsm7
from tests.console_client import create_operators, visitor
from tests.factories import send, send_body
from tests.receiver import Receiver
from tests.smsc.peer import Smsc
from tests.test_cli import as_json
from tests.test_pipeline import FAST
from tests.test_tracing import traced

pytestmark = pytest.mark.slow
LINK = "carrier"
__all__ = ["traced"]  # a fixture: spans kept in memory
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
    """The message's message.delivery or message.failed webhook."""
    await receiver.wait_for(
        lambda r: any(e["data"]["status"] in ("delivered", "failed") for e in r.of(message_id)),
        timeout=timeout,
    )
    return max(receiver.of(message_id), key=lambda e: e["sequence"])


def statuses(receiver: Receiver, message_id: str) -> list[str]:
    """The statuses of the message's webhooks, in sequence order."""
    return [
        e["data"]["status"] for e in sorted(receiver.of(message_id), key=lambda e: e["sequence"])
    ]


@dataclass
class Carrier:
    """A test SMSC, the demo number routed to an SMPP connector to it once `start` runs the
    pipeline, and the receiver its webhooks reach."""

    api: httpx.AsyncClient
    auth: dict[str, str]
    receiver: Receiver
    smsc: Smsc
    start: StartLink

    async def send(self, text: str, to: str) -> str:
        return await send_text(self.api, self.auth, text, to)

    async def final(self, message_id: str, timeout: float = 20) -> dict[str, Any]:
        return await final_event(self.receiver, message_id, timeout)

    def statuses(self, message_id: str) -> list[str]:
        return statuses(self.receiver, message_id)

    async def bound(self) -> None:
        await self.smsc.wait_for(lambda e: e["event"] == "bind")

    async def deliver(self, payload: bytes, **fields: Any) -> None:
        """An inbound deliver_sm from the SMSC, to the demo number unless told otherwise."""
        await self.smsc.command(
            cmd="deliver",
            source=fields.pop("source", "15005550006"),
            destination=fields.pop("destination", "15551234567"),
            shortMessage=payload.hex(),
            **fields,
        )

    async def inbound(self, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        """The data of the first `count` message.inbound webhooks."""

        def found() -> list[dict[str, Any]]:
            events = self.receiver.events()
            return [e["data"] for e in events if e["eventType"] == "message.inbound"]

        await self.receiver.wait_for(lambda _: len(found()) >= count, timeout=timeout)
        return found()


@pytest.fixture
def carrier(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    smsc: Smsc,
    start_link: StartLink,
) -> Carrier:
    return Carrier(api, auth, receiver, smsc, start_link)


async def status_of(db: Database, message_id: str) -> Message:
    async with db.session() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message


async def published(db: Database, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The live state `connectors show` prints, once the workers' published state satisfies
    `predicate` (they publish it every lease round). Read from the database here, because
    the in-process pipeline's log lines would interleave with the CLI's JSON."""
    for _ in range(50):
        async with db.session() as session:
            connector = await connectors.get_connector(session, LINK)
            live = await connectors.live_state(session, connector, 2.0)
        if predicate(live):
            return live
        await asyncio.sleep(0.2)
    raise AssertionError(f"the published state never satisfied the check: {live}")


# -- outbound: encoding and parts -------------------------------------------------------------


async def test_a_short_message_goes_as_one_gsm_submit_and_its_receipt_delivers_it(
    carrier: Carrier,
) -> None:
    await carrier.start()
    message_id = await carrier.send("Hello €uro [ok]", "+15005550006")
    await carrier.receiver.wait_for(lambda r: len(r.of(message_id)) == 3)
    assert carrier.statuses(message_id) == ["queued", "sent", "delivered"]
    final = max(carrier.receiver.of(message_id), key=lambda e: e["sequence"])
    (submit,) = carrier.smsc.of("submit")
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
    shown = await carrier.api.get(f"/api/core/messages/{message_id}", headers=carrier.auth)
    assert (shown.json()["encoding"], shown.json()["segments"]) == ("GSM-7", 1)


LONG_GSM = "x" * 152 + "€" + "y" * 40  # the escape pair must not straddle the boundary


async def test_a_long_message_goes_as_udh_parts_and_is_delivered_when_every_part_is(
    carrier: Carrier,
) -> None:
    await carrier.start()
    message_id = await carrier.send(LONG_GSM, "+15005550006")
    final = await carrier.final(message_id)
    assert final["data"]["status"] == "delivered"
    submits = sorted(carrier.smsc.of("submit"), key=lambda s: str(s["udh"]))
    assert len(submits) == 2
    headers = [bytes.fromhex(s["udh"]) for s in submits]
    reference = headers[0][2]
    assert headers == [bytes((0, 3, reference, 2, 1)), bytes((0, 3, reference, 2, 2))]
    assert all(s["esmClass"] == 0x40 and s["dataCoding"] == 0 for s in submits)
    assert submits[0]["text"] == "x" * 152  # 153 septets would split the € escape pair
    assert "".join(s["text"] for s in submits) == LONG_GSM


async def test_sar_parts_carry_the_sar_tlvs(
    carrier: Carrier,
) -> None:
    await carrier.start(split="sar")
    text = "😀" * 40  # UCS-2: 80 code units, two parts of at most 67, no pair split
    message_id = await carrier.send(text, "+15005550006")
    assert (await carrier.final(message_id))["data"]["status"] == "delivered"
    submits = sorted(carrier.smsc.of("submit"), key=lambda s: s["tlvs"]["sar_segment_seqnum"])
    assert [s["tlvs"]["sar_segment_seqnum"] for s in submits] == [1, 2]
    assert {s["tlvs"]["sar_total_segments"] for s in submits} == {2}
    assert len({s["tlvs"]["sar_msg_ref_num"] for s in submits}) == 1
    assert all(s["dataCoding"] == 8 and s["esmClass"] == 0 for s in submits)
    assert submits[0]["text"] == "😀" * 33  # 66 code units: a 34th would split a pair
    assert "".join(s["text"] for s in submits) == text


async def test_payload_mode_sends_one_pdu_with_message_payload(
    carrier: Carrier,
) -> None:
    await carrier.start(split="payload")
    message_id = await carrier.send(LONG_GSM, "+15005550006")
    assert (await carrier.final(message_id))["data"]["status"] == "delivered"
    (submit,) = carrier.smsc.of("submit")
    assert submit["text"] == ""
    assert submit["payload"] == LONG_GSM


# -- receipts -------------------------------------------------------------------------------


@pytest.mark.smsc(receiptIdFormat="dec")
async def test_decimal_receipts_for_hex_ids_match_with_hex_to_dec(
    carrier: Carrier,
) -> None:
    await carrier.start(dlr_id_format="hex-to-dec")
    message_id = await carrier.send("hex in the response", "+15005550006")
    assert (await carrier.final(message_id))["data"]["status"] == "delivered"
    (receipt,) = carrier.smsc.of("receipt_resp")
    assert receipt["id"] == "0000004097"  # 0x1001, zero-padded, as some carriers write it
    assert receipt["status"] == 0


@pytest.mark.smsc(receiptIdFormat="dec")
async def test_a_receipt_whose_id_matches_no_part_is_kept_and_counted(
    carrier: Carrier,
    db: Database,
    cli: Any,
) -> None:
    await carrier.start()  # dlr-id-format same: "0000004097" is not "1001", and is not guessed
    message_id = await carrier.send("never matched", "+15005550006")
    await carrier.smsc.wait_for(lambda e: e["event"] == "receipt_resp")
    assert carrier.smsc.of("receipt_resp")[0]["status"] == 0  # answered all the same
    assert (await status_of(db, message_id)).status == "sent"
    async with db.session() as session:
        waiting = (
            await session.scalars(select(SmppPart).where(SmppPart.message_id.is_(None)))
        ).all()
    assert [(p.carrier_id, p.stat) for p in waiting] == [("0000004097", "DELIVRD")]
    live = await published(db, lambda live: live["receipts"] == 1)
    assert live["receipts_waiting_or_unmatched"] == 1


@pytest.mark.smsc(receiptBeforeResp=True, respondDelayMs=1000, receiptTlv=True)
async def test_a_receipt_that_overtakes_its_response_is_still_matched(
    carrier: Carrier,
) -> None:
    await carrier.start()
    message_id = await carrier.send("receipt first", "+15005550006")
    await carrier.receiver.wait_for(lambda r: len(r.of(message_id)) == 3)
    assert carrier.statuses(message_id) == ["queued", "sent", "delivered"]
    # The receipt was stored and answered before the SMSC even sent its submit_sm_resp:
    # it was matched on the early path, when the part's id was not yet known to us.
    (receipt,) = carrier.smsc.of("receipt_resp")
    (response,) = carrier.smsc.of("submit_resp")
    assert receipt["status"] == 0
    assert carrier.smsc.events.index(receipt) < carrier.smsc.events.index(response)


@pytest.mark.smsc(statFor={"15005550002": "UNDELIV"})
async def test_an_undelivered_receipt_fails_the_message_with_the_carrier_error(
    carrier: Carrier,
) -> None:
    await carrier.start()
    message_id = await carrier.send("to a dead phone", "+15005550002")
    final = await carrier.final(message_id)
    assert final["data"]["status"] == "failed"
    assert final["data"]["error"] == {
        "code": "SMPP_UNDELIV",
        "message": "The carrier reported UNDELIV (err:001)",
    }


@pytest.mark.smsc(statForSubmit={"2": "EXPIRED"})
async def test_a_long_message_fails_when_any_part_fails(
    carrier: Carrier,
) -> None:
    await carrier.start()
    message_id = await carrier.send("z" * 200, "+15005550006")
    final = await carrier.final(message_id)
    assert final["data"]["status"] == "failed"
    assert final["data"]["error"]["code"] == "SMPP_EXPIRED"
    assert final["data"]["error"]["message"].endswith("for part 2 of 2")


# -- the carrier's answers ------------------------------------------------------------------


@pytest.mark.smsc(throttleFirst=3, queueFullFirst=2)
async def test_throttled_and_queue_full_answers_pause_and_retry_never_fail(
    carrier: Carrier,
    db: Database,
) -> None:
    await carrier.start()
    ids = [await carrier.send(f"busy {n}", "+15005550006") for n in range(3)]
    for message_id in ids:
        assert (await carrier.final(message_id))["data"]["status"] == "delivered"
    assert len(carrier.smsc.of("submit")) == 3 + 5  # five refusals, each tried again
    live = await published(db, lambda live: live["throttled"] == 5)
    assert live["bound_sessions"] == 1
    assert live["failed"] == 0


@pytest.mark.smsc(rejectFor={"15005550009": 11})
async def test_a_permanent_refusal_fails_the_message_with_the_smpp_status(
    carrier: Carrier,
) -> None:
    await carrier.start()
    message_id = await carrier.send("nowhere", "+15005550009")
    final = await carrier.final(message_id)
    assert final["data"]["status"] == "failed"
    assert final["data"]["error"] == {
        "code": "SMPP_ESME_RINVDSTADR",
        "message": "The carrier refused part 1: ESME_RINVDSTADR (0x0000000b)",
    }
    assert len(carrier.smsc.of("submit")) == 1  # not retried


@pytest.mark.smsc(respondDelayMs=400)
async def test_a_dropped_connection_requeues_every_unacknowledged_submit(
    carrier: Carrier,
) -> None:
    await carrier.start(window=8)
    ids = [await carrier.send(f"in flight {n}", "+15005550006") for n in range(12)]
    await carrier.smsc.wait_for(lambda e: e["event"] == "submit" and e["outstanding"] >= 8)
    await carrier.smsc.command(cmd="drop")
    for message_id in ids:
        assert (await carrier.final(message_id, timeout=30))["data"]["status"] == "delivered"
    binds = [e for e in carrier.smsc.of("bind") if e["ok"]]
    assert len(binds) == 2  # bound again after the drop
    texts = [s["text"] for s in carrier.smsc.of("submit")]
    assert set(texts) == {f"in flight {n}" for n in range(12)}


# -- inbound --------------------------------------------------------------------------------


def udh8(reference: int, total: int, seq: int) -> bytes:
    return bytes((5, 0x00, 3, reference, total, seq))


def udh16(reference: int, total: int, seq: int) -> bytes:
    return bytes((6, 0x08, 4, reference >> 8, reference & 0xFF, total, seq))


async def test_an_inbound_sms_becomes_message_inbound_to_its_number(
    carrier: Carrier,
) -> None:
    await carrier.start()
    await carrier.bound()
    await carrier.deliver(encode_gsm7("Hi! 10€ [ok] @home"))
    (data,) = await carrier.inbound()
    assert (data["from"], data["to"], data["text"]) == (
        "+15005550006",
        "+15551234567",
        "Hi! 10€ [ok] @home",
    )
    assert data["numberId"] == "num_abc123"
    assert (await carrier.smsc.wait_for(lambda e: e["event"] == "deliver_sm_resp"))["status"] == 0


async def test_udh_parts_out_of_order_are_reassembled_into_one_message(
    carrier: Carrier,
) -> None:
    await carrier.start()
    await carrier.bound()
    first, second = "a" * 153, "b" * 20 + "{end}"
    await carrier.deliver(udh8(7, 2, 2) + encode_gsm7(second), esmClass=0x40)
    await carrier.deliver(udh8(7, 2, 1) + encode_gsm7(first), esmClass=0x40)
    (data,) = await carrier.inbound()
    assert data["text"] == first + second
    await asyncio.sleep(0.3)
    assert len(await carrier.inbound()) == 1  # one message, not one per part


async def test_ucs2_parts_with_16_bit_references_keep_a_split_surrogate_pair_whole(
    carrier: Carrier,
) -> None:
    await carrier.start()
    await carrier.bound()
    octets = ("Привет " + "😀" + " мир").encode("utf-16-be")
    cut = len("Привет ") * 2 + 2  # between the emoji's two surrogates
    await carrier.deliver(udh16(0x1234, 2, 1) + octets[:cut], esmClass=0x40, dataCoding=8)
    await carrier.deliver(udh16(0x1234, 2, 2) + octets[cut:], esmClass=0x40, dataCoding=8)
    (data,) = await carrier.inbound()
    assert data["text"] == "Привет 😀 мир"


@pytest.mark.parametrize("coding", [0, 8], ids=["gsm", "ucs2"])
async def test_sar_parts_are_reassembled(carrier: Carrier, coding: int) -> None:
    await carrier.start()
    await carrier.bound()
    words = ("one ", "three €", "two ") if coding == 0 else ("один ", "три 😀", "два ")
    for seq, text in zip((1, 3, 2), words, strict=True):
        payload = encode_gsm7(text) if coding == 0 else text.encode("utf-16-be")
        tlvs = {"sar_msg_ref_num": 300, "sar_total_segments": 3, "sar_segment_seqnum": seq}
        await carrier.deliver(payload, tlvs=tlvs, dataCoding=coding)
    (data,) = await carrier.inbound()
    assert data["text"] == words[0] + words[2] + words[1]


@pytest.mark.parametrize(
    ("coding", "payload", "text"),
    [(1, b"plain ascii", "plain ascii"), (3, "café".encode("latin-1"), "café")],
)
async def test_ia5_and_latin1_are_decoded(
    carrier: Carrier, coding: int, payload: bytes, text: str
) -> None:
    await carrier.start()
    await carrier.bound()
    await carrier.deliver(payload, dataCoding=coding)
    (data,) = await carrier.inbound()
    assert data["text"] == text


async def test_national_senders_are_read_in_the_country_of_the_number(
    carrier: Carrier,
) -> None:
    await carrier.start()
    await carrier.bound()
    await carrier.deliver(b"national", source="5005550006", sourceTon=2)
    (data,) = await carrier.inbound()
    assert data["from"] == "+15005550006"


async def test_parts_still_missing_at_the_timeout_are_delivered_as_they_are(
    carrier: Carrier,
) -> None:
    await carrier.start()  # smpp_reassembly_seconds = 1
    await carrier.bound()
    await carrier.deliver(udh8(9, 3, 1) + encode_gsm7("the start "), esmClass=0x40)
    await carrier.deliver(udh8(9, 3, 3) + encode_gsm7("the end"), esmClass=0x40)
    (data,) = await carrier.inbound(timeout=10)
    assert data["text"] == "the start the end"


async def test_malformed_and_unroutable_deliver_sm_are_answered(
    carrier: Carrier, db: Database
) -> None:
    await carrier.start()
    await carrier.bound()
    await carrier.deliver(bytes.fromhex("ff00"), esmClass=0x40)  # a UDH longer than the message
    await carrier.deliver(b"to nobody", destination="15009990000")
    await carrier.deliver(b"", esmClass=0x04)  # a receipt without an id
    await carrier.smsc.wait_for(lambda e: len(carrier.smsc.of("deliver_sm_resp")) == 3)
    assert [e["status"] for e in carrier.smsc.of("deliver_sm_resp")] == [0, 0, 0]
    async with db.session() as session:
        unrouted = (await session.scalars(select(UnroutedInbound))).all()
    assert [(u.to_e164, u.text) for u in unrouted] == [("+15009990000", "to nobody")]


# -- the operator's levers ------------------------------------------------------------------


async def test_mps_paces_submits_in_segments(
    carrier: Carrier,
) -> None:
    await carrier.start(mps=5)
    await carrier.bound()
    ids = [await carrier.send(f"paced {n} " + "p" * 160, "+15005550006") for n in range(5)]
    for message_id in ids:
        await carrier.final(message_id)
    moments = sorted(s["at"] for s in carrier.smsc.of("submit"))
    assert len(moments) == 10  # two segments each
    # Ten tokens at five a second: the last cannot go before 1.8 s after the first.
    assert moments[-1] - moments[0] >= 1700


async def test_a_wrong_password_is_shown_and_messages_wait_then_expire(
    carrier: Carrier,
    db: Database,
) -> None:
    await carrier.start(password="wrong", validity_seconds=2)
    message_id = await carrier.send("never bound", "+15005550006")
    live = await published(db, lambda live: bool(live["last_error"]))
    assert live["last_error"] == "ESME_RINVPASWD (0x0000000e)"
    assert live["bound_sessions"] == 0
    final = await carrier.final(message_id, timeout=15)
    assert final["data"]["status"] == "failed"
    assert final["data"]["error"] == {
        "code": "VALIDITY_EXPIRED",
        "message": "Not accepted by the carrier within the message's validity of 2 seconds",
    }
    assert carrier.smsc.of("submit") == []


async def test_disabling_a_connector_unbinds_it_and_messages_wait_for_it(
    carrier: Carrier,
    cli: Any,
) -> None:
    await carrier.start()
    await carrier.bound()
    await cli("connectors", "set-status", LINK, "disabled")
    await carrier.smsc.wait_for(lambda e: e["event"] == "unbind", timeout=5)
    message_id = await carrier.send("held", "+15005550006")
    await asyncio.sleep(1)
    assert carrier.smsc.of("submit") == []
    await cli("connectors", "set-status", LINK, "enabled")
    assert (await carrier.final(message_id))["data"]["status"] == "delivered"
    assert len([e for e in carrier.smsc.of("bind") if e["ok"]]) == 2


async def test_add_smpp_checks_options_and_never_shows_the_password(
    cli: Any, db: Database, box: SecretBox
) -> None:
    base = ["connectors", "add-smpp", "eu1", "--host", "smsc.example.net", "--port", "2775"]
    refused = await cli(*base, "--system-id", "acct", "--password", "toolongpassword", ok=False)
    assert refused.exit_code == 1
    assert "--password must be 1 to 8" in refused.output
    refused = await cli(*base, "--system-id", "acct", "--password", "pw", "--split", "x", ok=False)
    assert "--split must be udh, sar or payload" in refused.output
    added = as_json(
        await cli(
            *base,
            "--system-id",
            "acct",
            "--password",
            "s3cret",
            "--binds",
            "2",
            "--mps",
            "50",
            "--bind",
            "split",
            "--dlr-id-format",
            "hex-to-dec",
            "--validity-seconds",
            "3600",
            "--json",
        )
    )
    assert added == {"name": "eu1", "kind": "smpp", "status": "enabled", "default": False}
    shown = await cli("connectors", "show", "eu1", "--json")
    assert "s3cret" not in shown.output
    assert "password" not in shown.output
    options = as_json(shown)["options"]
    assert (options["binds"], options["mps"], options["bind"]) == (2, 50, "split")
    assert as_json(shown)["live"]["workers"] == 0
    async with db.session() as session:
        stored = await session.get(Connector, "eu1")
        assert stored is not None
        secret = stored.settings["password_encrypted"]
    assert "s3cret" not in secret
    assert box.decrypt(secret.encode()) == "s3cret"
    again = await cli(*base, "--system-id", "acct", "--password", "pw", ok=False)
    assert "exists" in again.output
    people = await cli("connectors", "show", "eu1")
    assert "no worker is running it" in people.output


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test smsc")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smsc.crt", folder / "smsc.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls_links_verify_the_smsc_certificate(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    db: Database,
    settings: Settings,
    box: SecretBox,
    hooked: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert, key = self_signed(tmp_path)
    peer = await Smsc(receipts=True, tls={"cert": str(cert), "key": str(key)}).start()
    try:
        await add_link(db, box, peer.port, tls=True)
        pipeline = Pipeline.build(
            db, settings.model_copy(update={**FAST, "smpp_lease_seconds": 2.0})
        )
        # Not trusted yet: the bind fails on the certificate, and nothing is sent in clear.
        async with pipeline.running():
            message_id = await send_text(api, auth, "over tls", "+15005550006")
            live = await published(db, lambda live: bool(live["last_error"]))
            assert "CERTIFICATE_VERIFY_FAILED" in live["last_error"]
            assert peer.of("bind") == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now the SMSC's certificate is trusted
        async with Pipeline.build(db, pipeline.settings).running():
            final = await final_event(receiver, message_id)
        assert final["data"]["status"] == "delivered"
        assert [e["ok"] for e in peer.of("bind")] == [True]
    finally:
        await peer.stop()


async def test_stop_over_smpp_opts_out_and_is_confirmed_over_smpp(carrier: Carrier) -> None:
    await carrier.start()
    await carrier.bound()
    await carrier.deliver(encode_gsm7("Stop!"))
    (data,) = await carrier.inbound()
    assert data["text"] == "Stop!"  # the client still gets it
    confirmation = await carrier.smsc.wait_for(lambda e: e["event"] == "submit")
    assert confirmation["destination"] == "15005550006"
    assert confirmation["text"].startswith("You are unsubscribed")
    refused = await send(
        carrier.api, carrier.auth, send_body("num_abc123", to=["+15005550006"]), key="after"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["errors"][0]["error"]["code"] == (
        "RECIPIENT_OPTED_OUT"
    )


async def test_a_receipt_continues_the_trace_its_message_was_sent_in(
    traced: InMemorySpanExporter, carrier: Carrier
) -> None:
    """The receipt comes in a deliver_sm, with no context of ours: the message's row names
    the span its send was accepted in, and the delivery joins that trace."""
    await carrier.start()
    message_id = await carrier.send("traced over SMPP", "+15005550006")
    assert (await carrier.final(message_id))["data"]["status"] == "delivered"
    spans = list(traced.get_finished_spans())
    (request,) = [s for s in spans if s.name == "POST /api/core/messages/send"]
    (pdu,) = [s for s in spans if s.name == "smpp submit_sm"]
    (delivered,) = [s for s in spans if s.name == "message delivered"]
    assert pdu.attributes is not None
    assert pdu.attributes["smpp.command_status"] == 0
    assert pdu.context.trace_id == request.context.trace_id
    assert delivered.context.trace_id == request.context.trace_id
    assert delivered.parent is not None
    assert delivered.parent.span_id == request.context.span_id


async def test_the_console_shows_each_worker_s_sessions_live(
    carrier: Carrier, db: Database
) -> None:
    await carrier.start()
    await carrier.bound()
    await create_operators(db)
    admin = await visitor(carrier.api)
    for _ in range(50):  # workers publish their state every lease round
        page = await admin.get("/console/connectors")
        row = re.search(r'<tr id="carrier">(.*?)</tr>', page.text, re.S)
        assert row is not None, page.text
        cells = re.findall(r'<td class="num">(\d+)</td>', row.group(1))
        if cells[:2] == ["1", "1"]:  # one worker, one bound session
            break
        await asyncio.sleep(0.2)
    assert cells[:2] == ["1", "1"]
    assert 'class="worker"' in page.text
    assert "slots 0" in page.text
    assert "up" in row.group(1)


async def test_a_worker_whose_carrier_is_down_is_not_ready(carrier: Carrier) -> None:
    pipeline = await carrier.start()
    await carrier.bound()
    for _ in range(50):  # the link is up a moment after the SMSC saw the bind
        ready, checks = await readiness(pipeline.db, pipeline.registry)
        if ready:
            break
        await asyncio.sleep(0.1)
    assert ready, checks
    await carrier.smsc.stop()
    for _ in range(50):
        ready, checks = await readiness(pipeline.db, pipeline.registry)
        if not ready:
            break
        await asyncio.sleep(0.1)
    assert not ready
    link = checks["connectors"][LINK]
    assert (link["ok"], link["slots"], link["bound_sessions"]) == (False, [0], 0)
    assert checks["connectors"]["sandbox"]["ok"] is True


async def test_split_binds_submit_on_the_transmitter_and_hear_back_on_the_receiver(
    carrier: Carrier,
) -> None:
    await carrier.start(bind="split")
    message_id = await carrier.send("over two sessions", "+15005550006")
    assert (await carrier.final(message_id))["data"]["status"] == "delivered"
    kinds = sorted(e["kind"] for e in carrier.smsc.of("bind") if e["ok"])
    assert kinds == ["bind_receiver", "bind_transmitter"]
    await carrier.deliver(encode_gsm7("and back"))  # the SMSC sends MO on the receiver
    (data,) = await carrier.inbound()
    assert data["text"] == "and back"
