"""Delivery receipts: which part a receipt is about, and what it says.

A deliver_sm whose esm_class has bit 0x04 set is a receipt. Its id is the TLV
`receipted_message_id` when present, else the `id:` of the text (SMPP 3.4 Appendix B:
`id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
err:E text: ...`). Carriers mix hex and decimal ids, so ids are compared in a canonical form
chosen by the connector's `--dlr-id-format`:
- `same`: the ids are the same string in submit_sm_resp and receipt;
- `hex-to-dec`: submit_sm_resp gives hex, receipts decimal;
- `dec-to-hex`: submit_sm_resp gives decimal, receipts hex.
For the two conversions both sides become the number's decimal digits, so leading zeros and
letter case do not matter. Nothing is converted both ways by guessing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from redcloud.db import table, upsert_into, utcnow
from redcloud.messages import lifecycle
from redcloud.messages.models import DELIVERED, FAILED, Message
from redcloud.providers.smpp.models import SmppPart
from redcloud.providers.smpp.options import IdFormat
from redcloud.providers.smpp.pdu import Pdu, Tag

ESM_RECEIPT = 0x04
ESM_TYPE_MASK = 0x3C
# stat: values and what they make of a part. ACCEPTD and ENROUTE are not final.
FINAL = {
    "DELIVRD": DELIVERED,
    "UNDELIV": FAILED,
    "EXPIRED": FAILED,
    "REJECTD": FAILED,
    "DELETED": FAILED,
    "UNKNOWN": FAILED,
}
INTERIM = ("ACCEPTD", "ENROUTE")
# message_state TLV values (SMPP 3.4 5.3.2.35), for receipts that carry no text.
_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
_HEX, _DEC = re.compile(r"[0-9A-Fa-f]{1,64}"), re.compile(r"[0-9]{1,64}")
_FIELD = re.compile(r"(id|stat|err):\s*(\S*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Receipt:
    carrier_id: str  # as the receipt gave it
    stat: str
    err: str


def is_receipt(pdu: Pdu) -> bool:
    return bool(int(pdu.fields.get("esm_class", 0)) & ESM_RECEIPT)


def parse(pdu: Pdu) -> Receipt | None:
    """The receipt's id, stat and err; None when it names no id at all."""
    raw = bytes(pdu.fields.get("short_message") or pdu.tlvs.get(Tag.MESSAGE_PAYLOAD, b""))
    text = raw.decode("latin-1")
    found: dict[str, str] = {}
    for key, value in _FIELD.findall(text):
        found.setdefault(key.lower(), value)
    tlv_id = pdu.tlvs.get(Tag.RECEIPTED_MESSAGE_ID)
    carrier_id = tlv_id.rstrip(b"\x00").decode("latin-1") if tlv_id else found.get("id", "")
    stat = found.get("stat", "").upper()
    state = pdu.tlvs.get(Tag.MESSAGE_STATE)
    if not stat and state:
        stat = _STATES.get(state[0], "UNKNOWN")
    if not carrier_id.strip():
        return None
    return Receipt(carrier_id.strip(), stat or "UNKNOWN", found.get("err", ""))


def canonical(carrier_id: str, id_format: IdFormat, *, from_receipt: bool) -> str:
    """The form a carrier id is stored and matched in. An id that is not a number in the
    base the format names is kept as given (and will match only itself)."""
    if id_format == "same":
        return carrier_id
    hex_side = (id_format == "hex-to-dec") != from_receipt  # which side is hex
    if not (_HEX if hex_side else _DEC).fullmatch(carrier_id):
        return carrier_id  # not a plain number (int() would take "0x", "_" and signs)
    return str(int(carrier_id, 16 if hex_side else 10))


_parts, _messages = table(SmppPart), table(Message)
_LOCK_MESSAGE = select(_messages.c.id).where(_messages.c.id == bindparam("id")).with_for_update()
_PARTS_OF = (
    select(_parts.c.part, _parts.c.parts, _parts.c.stat, _parts.c.err)
    .where(_parts.c.message_id == bindparam("message_id"))
    .order_by(_parts.c.part)
)


def _record_statement(dialect: str) -> Any:
    statement = upsert_into(dialect, _parts).values(
        connector=bindparam("connector"),
        carrier_id=bindparam("carrier_id"),
        message_id=bindparam("message_id"),
        part=bindparam("part"),
        parts=bindparam("parts"),
        submitted_at=bindparam("now"),
    )
    # A row already there is an early receipt (no message yet: keep what it said) or an id
    # the carrier has recycled (an older message: its receipt is not this part's).
    early = _parts.c.message_id.is_(None)
    return statement.on_conflict_do_update(
        index_elements=["connector", "carrier_id"],
        set_={
            "message_id": statement.excluded.message_id,
            "part": statement.excluded.part,
            "parts": statement.excluded.parts,
            "submitted_at": statement.excluded.submitted_at,
            "stat": case((early, _parts.c.stat), else_=None),
            "err": case((early, _parts.c.err), else_=None),
            "reported_at": case((early, _parts.c.reported_at), else_=None),
        },
    )


def _receipt_statement(dialect: str) -> Any:
    statement = upsert_into(dialect, _parts).values(
        connector=bindparam("connector"),
        carrier_id=bindparam("carrier_id"),
        stat=bindparam("stat"),
        err=bindparam("err"),
        reported_at=bindparam("now"),
    )
    return statement.on_conflict_do_update(
        index_elements=["connector", "carrier_id"],
        set_={
            "stat": statement.excluded.stat,
            "err": statement.excluded.err,
            "reported_at": statement.excluded.reported_at,
        },
    ).returning(_parts.c.message_id)


_RECORD = {name: _record_statement(name) for name in ("postgresql", "sqlite")}
_RECEIPT = {name: _receipt_statement(name) for name in ("postgresql", "sqlite")}


async def record_parts(
    conn: AsyncConnection, connector: str, message_id: str, carrier_ids: list[str]
) -> None:
    """Remember which carrier id is which part of the message (in the transaction that
    marks it sent), then apply any receipt that overtook its submit_sm_resp."""
    now = utcnow()
    rows = [
        {
            "connector": connector,
            "carrier_id": carrier_id,
            "message_id": message_id,
            "part": number,
            "parts": len(carrier_ids),
            "now": now,
        }
        for number, carrier_id in enumerate(carrier_ids, start=1)
    ]
    await conn.execute(_RECORD[conn.dialect.name], rows)
    await settle(conn, message_id)


async def apply_receipt(
    conn: AsyncConnection, connector: str, carrier_id: str, receipt: Receipt
) -> str | None:
    """Store a receipt against its part; the message it settles, or None while the part is
    unknown (the receipt waits for its submit, or stays unmatched)."""
    message_id: str | None = await conn.scalar(
        _RECEIPT[conn.dialect.name],
        {
            "connector": connector,
            "carrier_id": carrier_id,
            "stat": receipt.stat[:16],
            "err": receipt.err[:16],
            "now": utcnow(),
        },
    )
    if message_id is None:
        return None
    # Receipts for two parts of one message may arrive at once on different sessions: the
    # message's lock makes the second see the first's part.
    await conn.execute(_LOCK_MESSAGE, {"id": message_id})
    await settle(conn, message_id)
    return message_id


async def settle(conn: AsyncConnection, message_id: str) -> None:
    """Failed when any part failed; delivered when every part was delivered."""
    parts = (await conn.execute(_PARTS_OF, {"message_id": message_id})).all()
    if not parts:
        return
    failed = next((p for p in parts if FINAL.get(p.stat or "") == FAILED), None)
    if failed is not None:
        total = failed.parts or len(parts)
        where = f" for part {failed.part} of {total}" if total > 1 else ""
        err = f" (err:{failed.err})" if failed.err else ""
        error = {
            "code": f"SMPP_{failed.stat}",
            "message": f"The carrier reported {failed.stat}{err}{where}",
        }
        await lifecycle.delivery_report(conn, message_id=message_id, status=FAILED, error=error)
    elif len(parts) >= (parts[0].parts or 1) and all(p.stat == "DELIVRD" for p in parts):
        await lifecycle.delivery_report(conn, message_id=message_id, status=DELIVERED)


async def purge(conn: AsyncConnection, retention_seconds: float) -> int:
    """Forget part ids and unmatched receipts older than the retention."""
    cutoff = utcnow() - dt.timedelta(seconds=retention_seconds)
    last_seen = func.coalesce(_parts.c.reported_at, _parts.c.submitted_at)
    result = await conn.execute(delete(_parts).where(last_seen < cutoff))
    return int(result.rowcount or 0)
