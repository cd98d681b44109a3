"""Inbound (MO) messages: addresses to E.164, text by data_coding, and concatenated parts
reassembled by UDH (8- and 16-bit references) or by the sar_* TLVs.

Parts are kept in the database until the last one comes, because a long message's parts may
arrive on different sessions held by different workers. Whoever deletes a complete set
delivers it, so it is delivered once; after the reassembly timeout the parts received are
delivered as they are, in order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from dataclasses import dataclass
from itertools import groupby

import phonenumbers
import structlog
from sqlalchemy import Insert, bindparam, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.db import table, upsert_into, utcnow
from redcloud.messages import lifecycle
from redcloud.phone import E164
from redcloud.providers.smpp.models import SmppInboundPart
from redcloud.providers.smpp.pdu import Pdu, Tag
from redcloud.segments import decode_gsm7

log = structlog.get_logger("redcloud.smpp")
ESM_UDHI = 0x40
TON_INTERNATIONAL, TON_NATIONAL = 1, 2


@dataclass(frozen=True, slots=True)
class Concat:
    reference: int
    total: int
    seq: int


@dataclass(frozen=True, slots=True)
class Inbound:
    source: str
    destination: str
    data_coding: int
    payload: bytes
    concat: Concat | None


def to_e164(address: str, ton: int, region: str | None = None) -> str:
    """An SMPP address as E.164 where it is a phone number; an alphanumeric sender (TON 5,
    or anything not digits) is kept as given. National numbers (TON 2) are read in `region`
    (the country of the number they were sent to)."""
    raw = address.strip()
    digits = raw.removeprefix("+")
    if not digits.isdigit():
        return raw[:16]
    if raw.startswith("+"):
        return raw
    if ton == TON_NATIONAL and region:
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            return "+" + digits
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if ton == TON_INTERNATIONAL and digits.startswith("00"):
        digits = digits[2:]  # the international prefix some SMSCs leave in
    return "+" + digits


def read(pdu: Pdu) -> Inbound:
    """The parts of a deliver_sm that is not a receipt."""
    esm_class = int(pdu.fields.get("esm_class", 0))
    payload = bytes(pdu.fields.get("short_message") or pdu.tlvs.get(Tag.MESSAGE_PAYLOAD, b""))
    concat = None
    if esm_class & ESM_UDHI and payload:
        header_length = payload[0]
        header, payload = payload[1 : 1 + header_length], payload[1 + header_length :]
        concat = _from_udh(header)
    elif Tag.SAR_MSG_REF_NUM in pdu.tlvs:
        concat = _from_sar(pdu.tlvs)
    destination = to_e164(
        str(pdu.fields.get("destination_addr", "")), int(pdu.fields.get("dest_addr_ton", 0))
    )
    region = _region(destination)
    source = to_e164(
        str(pdu.fields.get("source_addr", "")), int(pdu.fields.get("source_addr_ton", 0)), region
    )
    return Inbound(source, destination, int(pdu.fields.get("data_coding", 0)), payload, concat)


def _region(e164: str) -> str | None:
    if not E164.fullmatch(e164):
        return None
    try:
        # By country code, not by the number: test and unassigned numbers have a country too.
        code = phonenumbers.parse(e164, None).country_code or 0
        region = phonenumbers.region_code_for_country_code(code)
    except phonenumbers.NumberParseException:
        return None
    return str(region) if region and region != "ZZ" else None


def _from_udh(header: bytes) -> Concat | None:
    offset = 0
    while offset + 2 <= len(header):
        iei, length = header[offset], header[offset + 1]
        value = header[offset + 2 : offset + 2 + length]
        offset += 2 + length
        if iei == 0x00 and len(value) == 3:
            return _concat(value[0], value[1], value[2])
        if iei == 0x08 and len(value) == 4:
            return _concat(struct.unpack(">H", value[:2])[0], value[2], value[3])
    return None


def _from_sar(tlvs: dict[int, bytes]) -> Concat | None:
    try:
        reference = int.from_bytes(tlvs[Tag.SAR_MSG_REF_NUM], "big")
        total = tlvs[Tag.SAR_TOTAL_SEGMENTS][0]
        seq = tlvs[Tag.SAR_SEGMENT_SEQNUM][0]
    except (KeyError, IndexError):
        return None
    return _concat(reference, total, seq)


def _concat(reference: int, total: int, seq: int) -> Concat | None:
    """A usable concatenation header; one that is not (0 parts, part 3 of 2) is ignored and
    the part delivered on its own."""
    if total < 1 or not 1 <= seq <= total:
        return None
    return Concat(reference, total, seq) if total > 1 else None


def decode(data_coding: int, payload: bytes) -> str:
    """Text by data_coding: 0 the SMSC's default alphabet (GSM 03.38), 1 IA5 (ASCII), 3
    Latin-1, 8 UCS-2 (read as UTF-16, so surrogate pairs survive), the 0xF_ message-class
    codings by their alphabet bit. Binary data (2, 4) is given as hex. Nothing that cannot
    be stored (NUL, a lone surrogate) gets through."""
    if data_coding & 0xF0 == 0xF0:
        data_coding = 4 if data_coding & 0x04 else 0
    if data_coding == 0:
        result = decode_gsm7(payload)
    elif data_coding == 1:
        result = payload.decode("ascii", errors="replace")
    elif data_coding == 3:
        result = payload.decode("latin-1")
    elif data_coding == 8:
        result = payload.decode("utf-16-be", errors="replace")
    else:
        result = payload.hex()
    return result.replace("\x00", "\ufffd")


_parts = table(SmppInboundPart)
_GROUP = (
    _parts.c.connector == bindparam("connector"),
    _parts.c.source == bindparam("source"),
    _parts.c.destination == bindparam("destination"),
    _parts.c.reference == bindparam("reference"),
)
_COUNT = select(func.count()).where(*_GROUP)
_TAKE = (
    delete(_parts)
    .where(*_GROUP)
    .returning(_parts.c.seq, _parts.c.total, _parts.c.payload, _parts.c.received_at)
)


def _add(dialect: str) -> Insert:
    statement: Insert = upsert_into(dialect, _parts).on_conflict_do_nothing()
    return statement


async def receive(
    session: AsyncSession, connector: str, message: Inbound, *, revocation_opts_out: bool = False
) -> None:
    """Deliver a whole inbound message, or keep a part and deliver the set it completes."""
    if message.concat is None:
        text_ = decode(message.data_coding, message.payload)
        await lifecycle.receive_inbound(
            session,
            from_e164=message.source,
            to_e164=message.destination,
            text=text_,
            revocation_opts_out=revocation_opts_out,
        )
        return
    group = {
        "connector": connector,
        "source": message.source,
        "destination": message.destination,
        "reference": message.concat.reference,
    }
    dialect = (await session.connection()).dialect.name
    if dialect == "postgresql":
        # Two parts arriving at once in two workers: one waits for the other, so the one
        # that completes the set sees it complete.
        key = int.from_bytes(hashlib.blake2b(repr(group).encode(), digest_size=8).digest(), "big")
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key - 2**63})
    row = {
        **group,
        "total": message.concat.total,
        "seq": message.concat.seq,
        "payload": f"{message.data_coding}:{message.payload.hex()}",
        "received_at": utcnow(),
    }
    await session.execute(_add(dialect), row)
    if (await session.scalar(_COUNT, group) or 0) >= message.concat.total:
        await _take_and_deliver(session, group, revocation_opts_out)


async def _take_and_deliver(
    session: AsyncSession, group: dict[str, object], revocation_opts_out: bool
) -> None:
    rows = sorted((await session.execute(_TAKE, group)).all(), key=lambda r: r.seq)
    if not rows:
        return  # another worker delivered them
    parts = []
    for row in rows:
        coding, _, hex_payload = row.payload.partition(":")
        parts.append((int(coding), bytes.fromhex(hex_payload)))
    source, destination = str(group["source"]), str(group["destination"])
    if len(rows) < rows[0].total:
        log.warning(
            "inbound parts missing at the reassembly timeout; delivering what came",
            received=len(rows),
            total=rows[0].total,
        )
    await lifecycle.receive_inbound(
        session,
        from_e164=source,
        to_e164=destination,
        text=_join(parts),
        revocation_opts_out=revocation_opts_out,
    )


def _join(parts: list[tuple[int, bytes]]) -> str:
    """Decode the parts' octets together where they share a coding, so a character split
    across two parts (a UCS-2 surrogate pair, a GSM escape) is read whole."""
    return "".join(
        decode(coding, b"".join(payload for _, payload in same))
        for coding, same in groupby(parts, key=lambda part: part[0])
    )


async def expire(
    session: AsyncSession,
    connector: str,
    timeout_seconds: float,
    *,
    revocation_opts_out: bool = False,
) -> int:
    """Deliver, as they are, the part sets whose first part is older than the timeout."""
    cutoff = utcnow() - dt.timedelta(seconds=timeout_seconds)
    groups = (
        await session.execute(
            select(_parts.c.source, _parts.c.destination, _parts.c.reference)
            .where(_parts.c.connector == connector)
            .group_by(_parts.c.source, _parts.c.destination, _parts.c.reference)
            .having(func.min(_parts.c.received_at) < cutoff)
            .limit(100)
        )
    ).all()
    for group in groups:
        await _take_and_deliver(
            session,
            {
                "connector": connector,
                "source": group.source,
                "destination": group.destination,
                "reference": group.reference,
            },
            revocation_opts_out,
        )
    return len(groups)
