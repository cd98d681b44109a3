"""What consent keywords do, and who may not be sent to.

- An opt-out keyword records the pair (number, sender), or (client, sender) when the
  client's `optout_scope` is `client`, and queues the confirmation.
- An opt-in keyword lifts every entry for the sender against that number and its client,
  and queues the confirmation if there was one to lift (a "yes" in a conversation gets no
  resubscription notice); a help keyword queues the help text.
- A longer message that mentions revocation is recorded for review (and is an opt-out when
  the operator asked for that, REDCLOUD_OPTOUT_ON_REVOCATION_WORDS).
- The inbound message still reaches the client as `message.inbound`, whatever it is.

Replies are ordinary outbound messages from the number, marked `externalReference`
`auto:opt-out` / `auto:opt-in` / `auto:help`: queued, submitted, reported and webhooked
like any other. They are the one kind of message an opted-out recipient still gets.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from redcloud import ids, tracing
from redcloud.auth.models import ApiClient
from redcloud.compliance.keywords import Keyword, classify, mentions_revocation
from redcloud.compliance.models import (
    CLIENT,
    KEYWORD,
    NUMBER,
    ConsentReply,
    ConsentReview,
    OptOut,
)
from redcloud.db import after_commit, table, upsert_into, utcnow
from redcloud.jobs.kinds import DELIVER_WEBHOOK, SUBMIT, DeliverWebhook, Submit
from redcloud.jobs.queue import enqueue
from redcloud.logs import bound
from redcloud.messages.events import outbound_event
from redcloud.messages.models import QUEUED, Message
from redcloud.metrics import record as record_metric
from redcloud.metrics.families import OPTOUTS
from redcloud.numbers.models import Number
from redcloud.phone import Rejection

log = structlog.get_logger("redcloud.consent")
RECIPIENT_OPTED_OUT = "RECIPIENT_OPTED_OUT"
DEFAULT_REPLIES = {
    Keyword.OPT_OUT: (
        "You are unsubscribed and will get no more messages from this number. "
        "Reply START to resubscribe."
    ),
    Keyword.OPT_IN: (
        "You are subscribed again to messages from this number. Reply STOP to "
        "unsubscribe, HELP for help. Msg & data rates may apply."
    ),
    Keyword.HELP: (
        "Reply STOP to unsubscribe or START to resubscribe. Msg & data rates may apply."
    ),
}

_optouts = table(OptOut)
_SUPPRESSED = select(_optouts.c.recipient).where(
    _optouts.c.recipient.in_(bindparam("recipients", expanding=True)),
    or_(
        (_optouts.c.scope == NUMBER) & (_optouts.c.scope_id == bindparam("number_id")),
        (_optouts.c.scope == CLIENT) & (_optouts.c.scope_id == bindparam("client_id")),
    ),
)


async def suppressed(
    conn: AsyncConnection, client_id: str, number_id: str, recipients: list[str]
) -> set[str]:
    """The recipients who opted out of this number, or of this client."""
    if not recipients:
        return set()
    found = await conn.scalars(
        _SUPPRESSED, {"recipients": recipients, "number_id": number_id, "client_id": client_id}
    )
    return set(found.all())


def refusal(recipient: str) -> Rejection:
    return Rejection(
        recipient,
        RECIPIENT_OPTED_OUT,
        "The recipient opted out of messages from this sender (they replied STOP); "
        "they can opt back in by texting START",
    )


async def on_inbound(
    session: AsyncSession, message: Message, number: Number, *, revocation_opts_out: bool
) -> None:
    """Act on a routed inbound message that is a consent keyword (or mentions one)."""
    keyword = classify(message.text)
    sender = message.send_from
    client_id = message.api_client_id
    if keyword is None and mentions_revocation(message.text):
        session.add(
            ConsentReview(
                message_id=message.id,
                api_client_id=client_id,
                number_id=number.id,
                sender=sender,
                text=message.text,
                treated_as_opt_out=revocation_opts_out,
            )
        )
        log.warning("inbound message may revoke consent", message=message.id, number=number.id)
        if not revocation_opts_out:
            return
        keyword = Keyword.OPT_OUT
    if keyword is None:
        return
    if keyword == Keyword.OPT_OUT:
        scope = await session.scalar(
            select(ApiClient.optout_scope).where(ApiClient.id == client_id)
        )
        scope_id = client_id if scope == CLIENT else number.id
        await record(session, scope or NUMBER, scope_id, sender, client_id, KEYWORD, message.text)
    elif keyword == Keyword.OPT_IN:
        lifted = await session.execute(
            delete(OptOut).where(
                OptOut.recipient == sender,
                or_(
                    (OptOut.scope == NUMBER) & (OptOut.scope_id == number.id),
                    (OptOut.scope == CLIENT) & (OptOut.scope_id == client_id),
                ),
            )
        )
        if not lifted.rowcount:  # type: ignore[attr-defined]
            # Nothing to lift: a "yes" in a conversation gets no resubscription notice.
            return
        after_commit(session, OPTOUTS.labels("opt_in", KEYWORD).inc)
    log.info("consent keyword", keyword=keyword.value, message=message.id, number=number.id)
    await reply(session, number, client_id, sender, keyword)


async def record(
    session: AsyncSession,
    scope: str,
    scope_id: str,
    recipient: str,
    client_id: str | None,
    source: str,
    keyword: str | None = None,
) -> None:
    """An opt-out entry; one already there keeps its first source and time."""
    dialect = (await session.connection()).dialect.name
    added = await session.execute(
        upsert_into(dialect, _optouts)
        .values(
            scope=scope,
            scope_id=scope_id,
            recipient=recipient,
            api_client_id=client_id,
            source=source,
            keyword=(keyword or "")[:32] or None,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    if added.rowcount:  # type: ignore[attr-defined]
        after_commit(session, OPTOUTS.labels("opt_out", source).inc)


async def reply_text(session: AsyncSession, number: Number, client_id: str, kind: Keyword) -> str:
    """The number's own text, else its client's, else the platform's."""
    rows = await session.execute(
        select(ConsentReply.scope, ConsentReply.text).where(
            ConsentReply.kind == kind.value,
            or_(
                (ConsentReply.scope == NUMBER) & (ConsentReply.scope_id == number.id),
                (ConsentReply.scope == CLIENT) & (ConsentReply.scope_id == client_id),
            ),
        )
    )
    texts = {scope: text for scope, text in rows.all()}
    return texts.get(NUMBER) or texts.get(CLIENT) or DEFAULT_REPLIES[kind]


async def reply(
    session: AsyncSession, number: Number, client_id: str, recipient: str, kind: Keyword
) -> Message:
    """Queue the automatic reply: an outbound message like any other, marked as automatic."""
    message = Message(
        id=ids.message_id(),
        api_client_id=client_id,
        number_id=number.id,
        direction="outbound",
        message_type="SMS",
        send_from=number.e164,
        to=recipient,
        text=await reply_text(session, number, client_id, kind),
        external_reference=f"auto:{kind.value}",
        status=QUEUED,
        last_sequence=1,
        traceparent=tracing.traceparent(),
    )
    session.add(message)
    event = outbound_event(message, QUEUED, 1)
    session.add(event)
    rid = bound("request_id")
    enqueue(session, *DELIVER_WEBHOOK.job(DeliverWebhook(event.id, request_id=rid)))
    enqueue(session, *SUBMIT.job(Submit(message.id, rid)))
    after_commit(session, lambda: record_metric.accepted([("SMS", message.text)]))
    return message


def as_rows(entries: Iterable[OptOut]) -> list[dict[str, object]]:
    """Entries as operators see them."""
    return [
        {
            "scope": e.scope,
            "scopeId": e.scope_id,
            "recipient": e.recipient,
            "apiClientId": e.api_client_id,
            "source": e.source,
            "keyword": e.keyword,
            "createdAt": e.created_at.isoformat(),
        }
        for e in entries
    ]
