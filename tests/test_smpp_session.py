"""The SMPP session against a third-party SMSC (the npm `smpp` package, tests/smsc):
bind, submit, the window, keep-alive both ways, deliver_sm, unreadable PDUs, a dropped
connection and a clean unbind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from redcloud import segments
from redcloud.providers.smpp.pdu import Command, Pdu, Status
from redcloud.providers.smpp.session import BindFailed, ConnectionLost, Session
from tests.smsc.peer import Smsc

pytestmark = pytest.mark.slow


@pytest.fixture
async def smsc(request: pytest.FixtureRequest) -> AsyncIterator[Smsc]:
    marker = request.node.get_closest_marker("smsc")
    peer = await Smsc(**(marker.kwargs if marker else {})).start()
    yield peer
    await peer.stop()


def session_for(smsc: Smsc, **options: Any) -> Session:
    return Session("127.0.0.1", smsc.port, system_id="redcloud", password="secret", **options)


def submit_fields(text: bytes = b"hello", to: str = "15551234567") -> dict[str, Any]:
    return {
        "source_addr": "15005550006",
        "destination_addr": to,
        "registered_delivery": 1,
        "data_coding": 0,
        "short_message": text,
    }


async def test_a_wrong_password_is_a_bind_failure(smsc: Smsc) -> None:
    session = Session("127.0.0.1", smsc.port, system_id="redcloud", password="nope")
    with pytest.raises(BindFailed) as refused:
        await session.open()
    assert refused.value.status == Status.RINVPASWD
    assert session.closed.is_set()


async def test_bind_submit_and_unbind(smsc: Smsc) -> None:
    session = session_for(smsc)
    await session.open()
    assert (await smsc.wait_for(lambda e: e["event"] == "bind"))["ok"] is True
    text = segments.encode_gsm7("@€hi")
    response = await session.request(Command.SUBMIT_SM, submit_fields(text))
    assert response.command == Command.SUBMIT_SM_RESP
    assert response.status == Status.ROK
    assert response["message_id"] == "1001"  # 4096 + 1 in hex
    seen = await smsc.wait_for(lambda e: e["event"] == "submit")
    assert seen["destination"] == "15551234567"
    assert seen["registeredDelivery"] == 1
    assert seen["text"] == "@€hi"  # their GSM 03.38 decoder read our octets as we meant
    await session.close()
    await smsc.wait_for(lambda e: e["event"] == "unbind")
    assert session.closed.is_set()


@pytest.mark.smsc(respondDelayMs=200)
async def test_no_more_than_the_window_is_ever_outstanding(smsc: Smsc) -> None:
    session = session_for(smsc, window=4)
    await session.open()
    answers = await asyncio.gather(
        *(session.request(Command.SUBMIT_SM, submit_fields()) for _ in range(20))
    )
    assert [a.status for a in answers] == [Status.ROK] * 20
    submits = smsc.of("submit")
    assert len(submits) == 20
    assert max(s["maxOutstanding"] for s in submits) == 4  # filled, never exceeded
    await session.close()


@pytest.mark.smsc(throttleFirst=1, queueFullFirst=1)
async def test_throttled_and_queue_full_answers_reach_the_caller(smsc: Smsc) -> None:
    session = session_for(smsc)
    await session.open()
    first = await session.request(Command.SUBMIT_SM, submit_fields())
    second = await session.request(Command.SUBMIT_SM, submit_fields())
    third = await session.request(Command.SUBMIT_SM, submit_fields())
    assert [first.status, second.status, third.status] == [
        Status.RTHROTTLED,
        Status.RMSGQFUL,
        Status.ROK,
    ]
    await session.close()


async def test_keep_alive_both_ways(smsc: Smsc) -> None:
    session = session_for(smsc, enquire_link_seconds=0.2)
    await session.open()
    await smsc.wait_for(lambda e: e["event"] == "enquire_link")  # ours, after 0.2 s idle
    await smsc.command(cmd="enquire")
    answered = await smsc.wait_for(lambda e: e["event"] == "enquire_link_resp")
    assert answered["status"] == Status.ROK
    await session.close()


async def test_deliver_sm_reaches_the_handler_and_is_answered(smsc: Smsc) -> None:
    delivered: list[Pdu] = []

    async def on_deliver(pdu: Pdu) -> int:
        delivered.append(pdu)
        return Status.ROK

    session = session_for(smsc, on_deliver=on_deliver)
    await session.open()
    await smsc.command(
        cmd="deliver",
        source="15005550006",
        destination="15551234567",
        dataCoding=8,
        shortMessage="041f04400438",  # UCS-2 "При"
    )
    answered = await smsc.wait_for(lambda e: e["event"] == "deliver_sm_resp")
    assert answered["status"] == Status.ROK
    (pdu,) = delivered
    assert pdu["source_addr"] == "15005550006"
    assert pdu["data_coding"] == 8
    assert pdu["short_message"].decode("utf-16-be") == "При"
    await session.close()


async def test_a_handler_that_fails_still_answers_the_smsc(smsc: Smsc) -> None:
    async def broken(pdu: Pdu) -> int:
        raise RuntimeError("the database is away")

    session = session_for(smsc, on_deliver=broken)
    await session.open()
    await smsc.command(cmd="deliver", source="1", destination="2", shortMessage="6869")
    answered = await smsc.wait_for(lambda e: e["event"] == "deliver_sm_resp")
    assert answered["status"] == Status.RSYSERR  # so the SMSC delivers it again later
    await session.close()


async def test_an_unknown_pdu_gets_generic_nack_and_the_session_goes_on(smsc: Smsc) -> None:
    session = session_for(smsc)
    await session.open()
    await smsc.command(cmd="garbage")
    nack = await smsc.wait_for(lambda e: e["event"] == "generic_nack")
    assert nack["status"] == Status.RINVCMDID
    response = await session.request(Command.SUBMIT_SM, submit_fields())
    assert response.status == Status.ROK
    await session.close()


@pytest.mark.smsc(respondDelayMs=5000)
async def test_a_dropped_connection_fails_every_outstanding_request(smsc: Smsc) -> None:
    session = session_for(smsc, window=8)
    await session.open()
    waiting = [
        asyncio.create_task(session.request(Command.SUBMIT_SM, submit_fields())) for _ in range(5)
    ]
    await smsc.wait_for(lambda e: e["event"] == "submit" and e["outstanding"] == 5)
    await smsc.command(cmd="drop")
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionLost) for r in results), results
    await asyncio.wait_for(session.closed.wait(), 5)
    with pytest.raises(ConnectionLost):
        await session.request(Command.SUBMIT_SM, submit_fields())
