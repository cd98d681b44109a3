"""A message as submit_sm PDUs: encoding, parts, addresses and validity.

A text that fits one SMS goes as one submit_sm. A longer one goes by the connector's
`--split`:
- `udh` (the default): one submit_sm a part, each short_message led by an 8-bit-reference
  concatenation header (IEI 0x00) and esm_class 0x40 (UDHI);
- `sar`: one submit_sm a part, with the sar_msg_ref_num / sar_total_segments /
  sar_segment_seqnum TLVs;
- `payload`: one submit_sm carrying the whole text in message_payload; the SMSC splits it.
GSM 03.38 travels unpacked, one septet an octet, as data_coding 0; UCS-2 as data_coding 8.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from redcloud.providers.smpp.options import SmppOptions
from redcloud.providers.smpp.pdu import Tag
from redcloud.segments import GSM7, Encoding, encode, split

DATA_CODING = {GSM7: 0x00, "UCS-2": 0x08}
ESM_UDHI = 0x40
REGISTERED_DELIVERY = 0x01  # a receipt for the final outcome, delivered or not


@dataclass(frozen=True, slots=True)
class PartPdu:
    """One submit_sm to send: its mandatory fields and TLVs."""

    number: int  # 1-based
    fields: dict[str, Any]
    tlvs: dict[int, bytes]


@dataclass(frozen=True, slots=True)
class Submission:
    encoding: Encoding
    segments: int
    pdus: tuple[PartPdu, ...]


def address(e164: str) -> str:
    """An E.164 number as SMPP addresses carry it: digits only, the TON says international."""
    return e164.removeprefix("+")


def relative_validity(seconds: int) -> str:
    """SMPP 3.4 relative time (YYMMDDhhmmss000R) for a number of seconds under 100 days."""
    days, rest = divmod(max(0, seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"0000{min(days, 99):02d}{hours:02d}{minutes:02d}{secs:02d}000R"


def build(
    options: SmppOptions,
    *,
    send_from: str,
    to: str,
    text: str,
    reference: int,
    validity_seconds: int | None,
) -> Submission:
    """The submit_sm PDUs for one text. `reference` identifies the parts of a long message
    at the handset (8 bits for udh, 16 bits for sar)."""
    segmentation = split(text)
    encoding = segmentation.encoding
    base: dict[str, Any] = {
        "source_addr_ton": options.source_ton,
        "source_addr_npi": options.source_npi,
        "source_addr": address(send_from),
        "dest_addr_ton": options.dest_ton,
        "dest_addr_npi": options.dest_npi,
        "destination_addr": address(to),
        "registered_delivery": REGISTERED_DELIVERY,
        "data_coding": DATA_CODING[encoding],
        "validity_period": relative_validity(validity_seconds) if validity_seconds else "",
    }
    parts = segmentation.parts
    total = len(parts)
    pdus: tuple[PartPdu, ...]
    if total == 1:
        pdus = (PartPdu(1, {**base, "short_message": encode(text, encoding)}, {}),)
    elif options.split == "payload":
        payload: dict[int, bytes] = {Tag.MESSAGE_PAYLOAD: encode(text, encoding)}
        pdus = (PartPdu(1, {**base, "short_message": b""}, payload),)
    elif options.split == "sar":
        pdus = tuple(
            PartPdu(
                n,
                {**base, "short_message": encode(part, encoding)},
                {
                    Tag.SAR_MSG_REF_NUM: struct.pack(">H", reference & 0xFFFF),
                    Tag.SAR_TOTAL_SEGMENTS: bytes((total,)),
                    Tag.SAR_SEGMENT_SEQNUM: bytes((n,)),
                },
            )
            for n, part in enumerate(parts, start=1)
        )
    else:
        pdus = tuple(
            PartPdu(
                n,
                {
                    **base,
                    "esm_class": ESM_UDHI,
                    "short_message": bytes((5, 0x00, 3, reference & 0xFF, total, n))
                    + encode(part, encoding),
                },
                {},
            )
            for n, part in enumerate(parts, start=1)
        )
    return Submission(encoding, total, pdus)
