"""SMPP 3.4 PDUs: encode and decode the operations an ESME uses.

A PDU is a 16-octet header (command_length, command_id, command_status, sequence_number,
all big-endian 32-bit) and a body of mandatory fields in a fixed order, then optional TLVs
(tag and length 16-bit, then the value). C-octet strings end with a NUL and have a maximum
length that includes it; `short_message` is preceded by its length in one octet.

Decoding never trusts the peer: a PDU that is short, long, or has a field without its NUL
raises `PduError` carrying the status to answer with (generic_nack, or the operation's
response), so a session can answer every PDU, even a malformed one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

HEADER = struct.Struct(">IIII")
MAX_PDU = 64 * 1024  # far above any real PDU; a larger length means a broken stream


class Command(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


class Status(IntEnum):
    ROK = 0x00
    RINVMSGLEN = 0x01
    RINVCMDLEN = 0x02
    RINVCMDID = 0x03
    RINVBNDSTS = 0x04
    RALYBND = 0x05
    RSYSERR = 0x08
    RINVSRCADR = 0x0A
    RINVDSTADR = 0x0B
    RINVMSGID = 0x0C
    RBINDFAIL = 0x0D
    RINVPASWD = 0x0E
    RINVSYSID = 0x0F
    RMSGQFUL = 0x14
    RINVESMCLASS = 0x43
    RSUBMITFAIL = 0x45
    RTHROTTLED = 0x58
    RX_T_APPN = 0x64  # the ESME cannot take the deliver_sm now: try again later
    RINVDCS = 0x104
    RUNKNOWNERR = 0xFF


class Tag(IntEnum):
    RECEIPTED_MESSAGE_ID = 0x001E
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


def response_to(command: int) -> int:
    """The response's command_id for a request's."""
    return command | 0x80000000


def is_response(command: int) -> bool:
    return bool(command & 0x80000000)


# Mandatory fields, in order: (name, kind, size). Kinds: "c" a C-octet string of at most
# `size` octets with its NUL, "u8" one octet, "sm" short_message with its length octet.
_BIND = [
    ("system_id", "c", 16),
    ("password", "c", 9),
    ("system_type", "c", 13),
    ("interface_version", "u8", 1),
    ("addr_ton", "u8", 1),
    ("addr_npi", "u8", 1),
    ("address_range", "c", 41),
]
_SM = [
    ("service_type", "c", 6),
    ("source_addr_ton", "u8", 1),
    ("source_addr_npi", "u8", 1),
    ("source_addr", "c", 21),
    ("dest_addr_ton", "u8", 1),
    ("dest_addr_npi", "u8", 1),
    ("destination_addr", "c", 21),
    ("esm_class", "u8", 1),
    ("protocol_id", "u8", 1),
    ("priority_flag", "u8", 1),
    ("schedule_delivery_time", "c", 17),
    ("validity_period", "c", 17),
    ("registered_delivery", "u8", 1),
    ("replace_if_present_flag", "u8", 1),
    ("data_coding", "u8", 1),
    ("sm_default_msg_id", "u8", 1),
    ("short_message", "sm", 254),
]
LAYOUTS: dict[int, list[tuple[str, str, int]]] = {
    Command.BIND_RECEIVER: _BIND,
    Command.BIND_TRANSMITTER: _BIND,
    Command.BIND_TRANSCEIVER: _BIND,
    Command.BIND_RECEIVER_RESP: [("system_id", "c", 16)],
    Command.BIND_TRANSMITTER_RESP: [("system_id", "c", 16)],
    Command.BIND_TRANSCEIVER_RESP: [("system_id", "c", 16)],
    Command.SUBMIT_SM: _SM,
    Command.DELIVER_SM: _SM,
    Command.SUBMIT_SM_RESP: [("message_id", "c", 65)],
    Command.DELIVER_SM_RESP: [("message_id", "c", 65)],
    Command.UNBIND: [],
    Command.UNBIND_RESP: [],
    Command.ENQUIRE_LINK: [],
    Command.ENQUIRE_LINK_RESP: [],
    Command.GENERIC_NACK: [],
}


class PduError(ValueError):
    """A PDU that cannot be read; `status` is what to answer it with."""

    def __init__(self, message: str, status: int = Status.RINVCMDLEN) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Pdu:
    command: int
    sequence: int
    status: int = Status.ROK
    fields: dict[str, Any] = field(default_factory=dict)
    tlvs: dict[int, bytes] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def encode(self) -> bytes:
        """The PDU on the wire. A response with an error status carries no body, as the
        specification allows and most SMSCs send."""
        layout = LAYOUTS.get(self.command)
        if layout is None:
            raise PduError(f"unknown command 0x{self.command:08x}", Status.RINVCMDID)
        body = bytearray()
        if not (is_response(self.command) and self.status != Status.ROK and not self.fields):
            for name, kind, size in layout:
                body += _encode_field(name, kind, size, self.fields.get(name))
        for tag, value in self.tlvs.items():
            body += struct.pack(">HH", tag, len(value)) + value
        header = HEADER.pack(HEADER.size + len(body), self.command, self.status, self.sequence)
        return header + bytes(body)


def _encode_field(name: str, kind: str, size: int, value: Any) -> bytes:
    if kind == "u8":
        number = int(value or 0)
        if not 0 <= number <= 0xFF:
            raise ValueError(f"{name} must fit in one octet, not {number}")
        return bytes((number,))
    if kind == "sm":
        data = bytes(value or b"")
        if len(data) > size:
            raise ValueError(f"short_message holds at most {size} octets, not {len(data)}")
        return bytes((len(data),)) + data
    text = (value or "").encode("latin-1") if isinstance(value, str) else bytes(value or b"")
    if b"\x00" in text or len(text) >= size:
        raise ValueError(f"{name} must be at most {size - 1} octets without NUL")
    return text + b"\x00"


def read_length(header: bytes) -> int:
    """The command_length of a PDU from its first four octets, checked."""
    (length,) = struct.unpack(">I", header[:4])
    if not HEADER.size <= length <= MAX_PDU:
        raise PduError(f"command_length {length} is impossible")
    return int(length)


def decode(data: bytes) -> Pdu:
    """One whole PDU (its command_length octets) into a Pdu."""
    if len(data) < HEADER.size:
        raise PduError("shorter than a PDU header")
    length, command, status, sequence = HEADER.unpack_from(data)
    if length != len(data):
        raise PduError(f"command_length {length} but {len(data)} octets")
    layout = LAYOUTS.get(command)
    if layout is None:
        raise PduError(f"unknown command 0x{command:08x}", Status.RINVCMDID)
    pdu = Pdu(command, sequence, status)
    offset = HEADER.size
    if is_response(command) and offset == len(data):
        return pdu  # an error response (or an empty-bodied one) without its fields
    for name, kind, size in layout:
        pdu.fields[name], offset = _decode_field(data, offset, name, kind, size)
    while offset < len(data):
        if offset + 4 > len(data):
            raise PduError("a TLV header runs past the end of the PDU")
        tag, tlv_length = struct.unpack_from(">HH", data, offset)
        offset += 4
        if offset + tlv_length > len(data):
            raise PduError(f"TLV 0x{tag:04x} runs past the end of the PDU")
        pdu.tlvs[tag] = data[offset : offset + tlv_length]
        offset += tlv_length
    return pdu


def _decode_field(data: bytes, offset: int, name: str, kind: str, size: int) -> tuple[Any, int]:
    if kind == "u8":
        if offset >= len(data):
            raise PduError(f"{name} is missing")
        return data[offset], offset + 1
    if kind == "sm":
        if offset >= len(data):
            raise PduError("sm_length is missing")
        length = data[offset]
        end = offset + 1 + length
        if end > len(data):
            raise PduError("short_message runs past the end of the PDU", Status.RINVMSGLEN)
        return data[offset + 1 : end], end
    end = data.find(b"\x00", offset, offset + size)
    if end < 0:
        raise PduError(f"{name} has no terminating NUL within {size} octets")
    return data[offset:end].decode("latin-1"), end + 1
