"""Consent: STOP, START and HELP keywords, suppression of opted-out recipients at send time,
the automatic replies, reviews, and the operator's `redcloud optouts` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from redcloud.compliance.keywords import Keyword, classify, mentions_revocation
from redcloud.compliance.models import ConsentReview, OptOut
from redcloud.db import Database
from redcloud.messages.models import Message
from redcloud.pipeline import Pipeline
from tests.factories import assert_core_error, make_number, send, send_body
from tests.receiver import Receiver
from tests.test_cli import as_json
from tests.test_pipeline import fast, pipeline

__all__ = ["fast", "pipeline"]  # fixtures: the running pipeline and its settings
CUSTOMER = "+15005550006"
OTHER = "+15005550009"

OUT, IN, HELP = Keyword.OPT_OUT, Keyword.OPT_IN, Keyword.HELP
CASES: list[tuple[str, Keyword | None]] = [
    ("STOP", OUT),
    ("stop", OUT),
    ("Stop.", OUT),
    (" stop ", OUT),
    ("STOP!!", OUT),
    ("ＳＴＯＰ", OUT),
    ("🛑 stop", OUT),
    ("stop 🛑", OUT),
    ("¡Stop!", OUT),
    ("STOPALL", OUT),
    ("stop all", OUT),
    ("Stop   All", OUT),
    ("UNSUBSCRIBE", OUT),
    ("Unsubscribe.", OUT),
    ("cancel", OUT),
    ("END", OUT),
    ("quit", OUT),
    ("Revoke", OUT),
    ("OPTOUT", OUT),
    ("opt out", OUT),
    ("Opt-Out", OUT),
    ('"stop"', OUT),
    ("stop\n", OUT),
    ("\tSTOP\t", OUT),
    ("start", IN),
    ("START", IN),
    ("Unstop", IN),
    ("yes", IN),
    ("Yes!", IN),
    ("help", HELP),
    ("HELP?", HELP),
    ("info", HELP),
    ("Info.", HELP),
    ("STOP PLEASE", None),
    ("stopp", None),
    ("please stop texting me", None),
    ("STOP IT", None),
    ("", None),
    ("stop stop", None),
    ("optout now", None),
    ("yes please", None),
    ("helpful", None),
    ("ending", None),
    ("S T O P", None),
    ("🛑", None),
]


@pytest.mark.parametrize(("text", "keyword"), CASES)
def test_keywords(text: str, keyword: Keyword | None) -> None:
    assert classify(text) == keyword


def test_revocation_words_in_longer_messages_are_flagged_not_obeyed() -> None:
    assert len(CASES) >= 40
    assert mentions_revocation("please stop texting me")
    assert mentions_revocation("Can you opt me out? opt out please")
    assert mentions_revocation("I want to unsubscribe from this")
    assert not mentions_revocation("STOP")  # a keyword, not a review
    assert not mentions_revocation("see you at the station")
    assert not mentions_revocation(None)


WORDS = ["STOP", "STOP ALL", "OPT-OUT", "START", "HELP", "UNSUBSCRIBE", "INFO"]
PUNCTUATION = st.text(alphabet=" \t\n.!?,;:'\"()-*🛑✋👍", max_size=4)


@given(
    word=st.sampled_from(WORDS),
    before=PUNCTUATION,
    after=PUNCTUATION,
    upper=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_case_whitespace_and_punctuation_never_change_a_keyword(
    word: str, before: str, after: str, upper: list[bool]
) -> None:
    cased = "".join(c.upper() if up else c.lower() for c, up in zip(word, upper, strict=False))
    spaced = cased.replace(" ", "  \t ")
    assert classify(before + spaced + after) == classify(word)


async def inbound(
    api: httpx.AsyncClient, auth: dict[str, str], text: str, to: str = "+15551234567"
) -> str:
    response = await api.post(
        "/api/sandbox/inbound", headers=auth, json={"from": CUSTOMER, "to": to, "text": text}
    )
    assert response.status_code == 202, response.text
    message_id: str = response.json()["messageId"]
    return message_id


async def reply_to(receiver: Receiver, kind: str) -> dict[str, Any]:
    """The delivery webhook of the automatic reply of this kind."""

    def found() -> list[dict[str, Any]]:
        return [
            e
            for e in receiver.events()
            if e["data"].get("externalReference") == f"auto:{kind}"
            and e["data"].get("status") == "delivered"
        ]

    await receiver.wait_for(lambda _: bool(found()))
    return found()[0]


async def test_stop_confirms_suppresses_and_start_lifts_it(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    pipeline: Pipeline,
    db: Database,
) -> None:
    stop_id = await inbound(api, auth, "Stop.")
    await receiver.wait_for(lambda r: bool(r.of(stop_id)))  # still reaches the client
    confirmation = await reply_to(receiver, "opt-out")
    assert confirmation["data"]["to"] == CUSTOMER
    assert confirmation["data"]["sendFrom"] == "+15551234567"
    async with db.session() as session:
        reply = await session.get(Message, confirmation["messageId"])
        assert reply is not None
        assert reply.text is not None
        assert reply.text.startswith("You are unsubscribed")

    partial = await send(api, auth, send_body("num_abc123", to=[CUSTOMER, OTHER]), key="after-stop")
    assert partial.status_code == 202
    body = partial.json()
    assert [r["to"] for r in body["results"]] == [OTHER]
    assert body["errors"] == [
        {
            "to": CUSTOMER,
            "error": {
                "code": "RECIPIENT_OPTED_OUT",
                "message": "The recipient opted out of messages from this sender (they replied "
                "STOP); they can opt back in by texting START",
                "details": {},
            },
        }
    ]
    refused = await send(api, auth, send_body("num_abc123", to=[CUSTOMER]), key="only-them")
    error = assert_core_error(refused, 400, "INVALID_REQUEST", "No recipient could be accepted")
    assert error["details"]["errors"][0]["error"]["code"] == "RECIPIENT_OPTED_OUT"

    await inbound(api, auth, "START")
    await reply_to(receiver, "opt-in")
    again = await send(api, auth, send_body("num_abc123", to=[CUSTOMER]), key="after-start")
    assert again.status_code == 202, again.text


async def test_help_answers_and_suppresses_nothing(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    pipeline: Pipeline,
    cli: Any,
) -> None:
    await cli(
        "optouts", "set-reply", "help", "Acme alerts. Reply STOP to end.", "--number", "num_abc123"
    )
    await inbound(api, auth, "yes")  # opted out of nothing: no resubscription notice
    await inbound(api, auth, "help?")
    reply = await reply_to(receiver, "help")
    assert reply["data"]["to"] == CUSTOMER
    assert (
        await send(api, auth, send_body("num_abc123", to=[CUSTOMER]), key="h")
    ).status_code == 202
    async with pipeline.db.session() as session:
        text = await session.scalar(select(Message.text).where(Message.id == reply["messageId"]))
    assert text == "Acme alerts. Reply STOP to end."
    automatic = [e for e in receiver.events() if e["data"].get("externalReference")]
    assert {e["data"]["externalReference"] for e in automatic} == {"auto:help"}


async def test_client_scope_suppresses_every_number_of_the_client(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    pipeline: Pipeline,
    db: Database,
    cli: Any,
) -> None:
    second = await make_number(db, "rc_test_client_123")
    await inbound(api, auth, "stop")  # number scope: only num_abc123
    await reply_to(receiver, "opt-out")
    assert (await send(api, auth, send_body(second, to=[CUSTOMER]), key="n2")).status_code == 202

    await cli("optouts", "set-scope", "rc_test_client_123", "client")
    await inbound(api, auth, "START")
    await reply_to(receiver, "opt-in")
    await inbound(api, auth, "UNSUBSCRIBE")
    refused = await send(api, auth, send_body(second, to=[CUSTOMER]), key="n2-after")
    assert_core_error(refused, 400, "INVALID_REQUEST")
    entries = as_json(await cli("optouts", "list", "--json"))
    assert [(e["scope"], e["scopeId"], e["source"], e["keyword"]) for e in entries] == [
        ("client", "rc_test_client_123", "keyword", "UNSUBSCRIBE")
    ]


async def test_a_message_that_only_mentions_stopping_is_kept_for_review(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    pipeline: Pipeline,
    db: Database,
    cli: Any,
) -> None:
    await inbound(api, auth, "please stop texting me")
    assert (
        await send(api, auth, send_body("num_abc123", to=[CUSTOMER]), key="r")
    ).status_code == 202
    reviews = as_json(await cli("optouts", "reviews", "--json"))
    assert [(r["sender"], r["text"], r["treatedAsOptOut"]) for r in reviews] == [
        (CUSTOMER, "please stop texting me", False)
    ]


async def test_an_operator_can_treat_revocation_words_as_an_opt_out(
    app_with: Any, auth: dict[str, str], db: Database, demo: None
) -> None:
    api = app_with(optout_on_revocation_words=True)
    await inbound(api, auth, "please stop texting me")
    async with db.session() as session:
        entries = (await session.scalars(select(OptOut))).all()
        review = (await session.scalars(select(ConsentReview))).one()
    assert [(e.scope_id, e.recipient) for e in entries] == [("num_abc123", CUSTOMER)]
    assert review.treated_as_opt_out is True


async def test_operators_add_remove_import_and_export(
    cli: Any,
    db: Database,
    demo: None,
    tmp_path: Path,
    api: httpx.AsyncClient,
    auth: dict[str, str],
) -> None:
    await cli("optouts", "add", "+15005550007", "--number", "num_abc123")
    listed = as_json(await cli("optouts", "list", "--json"))
    assert [(e["recipient"], e["source"]) for e in listed] == [("+15005550007", "operator")]
    refused = await send(api, auth, send_body("num_abc123", to=["+15005550007"]), key="op")
    assert_core_error(refused, 400, "INVALID_REQUEST")

    csv_file = tmp_path / "optouts.csv"
    csv_file.write_text("recipient\n+15005550011\n+1 500 555 0012\n")
    bad = await cli(
        "optouts", "import", "--file", str(csv_file), "--number", "num_abc123", ok=False
    )
    assert bad.exit_code == 1
    assert "not an E.164 number" in bad.output  # and nothing of the file was imported
    assert len(as_json(await cli("optouts", "list", "--json"))) == 1
    csv_file.write_text("recipient\n+15005550011\n+15005550012\n")
    await cli("optouts", "import", "--file", str(csv_file), "--client", "rc_test_client_123")
    exported = (await cli("optouts", "export", "--client", "rc_test_client_123")).stdout
    lines = exported.strip().splitlines()
    assert lines[0] == "scope,scopeId,recipient,apiClientId,source,keyword,createdAt"
    assert sorted(line.split(",")[2] for line in lines[1:]) == [
        "+15005550007", "+15005550011", "+15005550012"
    ]  # fmt: skip
    assert {line.split(",")[4] for line in lines[1:]} == {"operator", "import"}

    await cli("optouts", "remove", "+15005550007", "--number", "num_abc123")
    ok = await send(api, auth, send_body("num_abc123", to=["+15005550007"]), key="op2")
    assert ok.status_code == 202
    neither = await cli("optouts", "add", "+15005550007", ok=False)
    assert "exactly one of --number" in neither.output
