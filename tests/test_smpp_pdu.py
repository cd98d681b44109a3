"""The SMPP 3.4 codec against another implementation (smpp.pdu3, Jasmin's codec): fixed
vectors it encoded, a differential run over generated submit_sm, round trips of every
operation, and malformed input that must be refused with a status to answer."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smpp.pdu import operations, pdu_encoding
from smpp.pdu.pdu_types import DataCoding, DataCodingDefault, DataCodingScheme

from redcloud.providers.smpp.pdu import (
    LAYOUTS,
    Command,
    Pdu,
    PduError,
    Status,
    Tag,
    decode,
    read_length,
    response_to,
)

# Encoded by smpp.pdu3 0.6 (see the differential test for how they were made).
VECTORS = {
    "enquire_link": "00000010000000150000000000000001",
    "submit_sm_resp": "000000158000000400000000000000073041314200",
    "bind_transceiver": "000000210000000900000000000000017465737400736563726574000034000000",
    "submit_sm_ucs2_sar": (
        "0000004600000004000000000000000700000031323334350000003135353531323334353637004000"
        "000000010008000568656c6c6f020c0002002a020e000103020f000101"
    ),
    "deliver_sm_receipt": (
        "0000005100000005000000000000000900000031353535313233343536370000003132333435000400"
        "000000000000001369643a61626320737461743a44454c495652440427000102001e000461626300"
    ),
}


def test_fixed_vectors_decode_and_encode_back_to_the_same_octets() -> None:
    for name, hexed in VECTORS.items():
        raw = bytes.fromhex(hexed)
        pdu = decode(raw)
        assert pdu.encode() == raw, name


def test_fixed_vectors_read_as_expected() -> None:
    bind = decode(bytes.fromhex(VECTORS["bind_transceiver"]))
    assert bind.command == Command.BIND_TRANSCEIVER
    assert (bind["system_id"], bind["password"], bind["interface_version"]) == (
        "test",
        "secret",
        0x34,
    )
    submit = decode(bytes.fromhex(VECTORS["submit_sm_ucs2_sar"]))
    assert submit["destination_addr"] == "15551234567"
    assert submit["data_coding"] == 8
    assert submit["esm_class"] == 0x40  # UDHI
    assert submit["registered_delivery"] == 1
    assert submit["short_message"] == b"hello"
    assert submit.tlvs[Tag.SAR_MSG_REF_NUM] == b"\x00\x2a"
    assert submit.tlvs[Tag.SAR_TOTAL_SEGMENTS] == b"\x03"
    receipt = decode(bytes.fromhex(VECTORS["deliver_sm_receipt"]))
    assert receipt["esm_class"] == 0x04  # an SMSC delivery receipt
    assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == b"abc\x00"
    assert receipt.tlvs[Tag.MESSAGE_STATE] == b"\x02"
    resp = decode(bytes.fromhex(VECTORS["submit_sm_resp"]))
    assert (resp.command, resp.sequence, resp["message_id"]) == (Command.SUBMIT_SM_RESP, 7, "0A1B")


ADDRESS = st.text(st.sampled_from("0123456789+"), max_size=20)
OCTETS = st.binary(max_size=140)


@settings(max_examples=200, deadline=None)
@given(
    sequence=st.integers(1, 0x7FFFFFFF),
    source=ADDRESS,
    destination=ADDRESS,
    message=OCTETS,
    ucs2=st.booleans(),
)
def test_submit_sm_encodes_exactly_as_the_other_codec(
    sequence: int, source: str, destination: str, message: bytes, ucs2: bool
) -> None:
    scheme = DataCodingDefault.UCS2 if ucs2 else DataCodingDefault.SMSC_DEFAULT_ALPHABET
    theirs = pdu_encoding.PDUEncoder().encode(
        operations.SubmitSM(
            seqNum=sequence,
            source_addr=source,
            destination_addr=destination,
            short_message=message,
            data_coding=DataCoding(DataCodingScheme.DEFAULT, scheme),
        )
    )
    ours = Pdu(
        Command.SUBMIT_SM,
        sequence,
        fields={
            "source_addr": source,
            "destination_addr": destination,
            "short_message": message,
            "data_coding": 8 if ucs2 else 0,
        },
    ).encode()
    assert ours == theirs


FIELD_VALUES = {
    "c": lambda size: st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=size - 1),
    "u8": lambda size: st.integers(0, 255),
    "sm": lambda size: st.binary(max_size=size),
}


@pytest.mark.parametrize("command", list(LAYOUTS), ids=lambda c: Command(c).name)
def test_every_operation_round_trips(command: int) -> None:
    layout = LAYOUTS[command]
    strategy = st.fixed_dictionaries(
        {name: FIELD_VALUES[kind](size) for name, kind, size in layout}
    )

    @settings(max_examples=50, deadline=None)
    @given(fields=strategy, sequence=st.integers(0, 0xFFFFFFFF), tlv=st.binary(max_size=20))
    def round_trip(fields: dict[str, object], sequence: int, tlv: bytes) -> None:
        pdu = Pdu(command, sequence, fields=fields, tlvs={Tag.MESSAGE_PAYLOAD: tlv})
        raw = pdu.encode()
        assert read_length(raw[:4]) == len(raw)
        again = decode(raw)
        assert (again.command, again.sequence, again.fields) == (command, sequence, fields)
        assert again.tlvs == {Tag.MESSAGE_PAYLOAD: tlv}

    round_trip()


def test_an_error_response_carries_no_body() -> None:
    raw = Pdu(response_to(Command.SUBMIT_SM), 5, Status.RTHROTTLED).encode()
    assert len(raw) == 16
    refused = decode(raw)
    assert (refused.status, refused.fields) == (Status.RTHROTTLED, {})


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"\x00\x00\x00\x10", Status.RINVCMDLEN),  # shorter than a header
        (struct.pack(">IIII", 20, 0x15, 0, 1), Status.RINVCMDLEN),  # says 20, is 16
        (struct.pack(">IIII", 16, 0x77, 0, 1), Status.RINVCMDID),  # no such command
        (struct.pack(">IIII", 20, 4, 0, 1) + b"abcd", Status.RINVCMDLEN),  # no NUL anywhere
        (
            bytes.fromhex(VECTORS["submit_sm_ucs2_sar"])[:-10],
            Status.RINVCMDLEN,
        ),  # cut short: the length no longer matches
    ],
)
def test_malformed_pdus_are_refused_with_a_status_to_answer(raw: bytes, status: int) -> None:
    with pytest.raises(PduError) as refused:
        decode(raw)
    assert refused.value.status == status


def test_a_short_message_longer_than_the_pdu_is_refused() -> None:
    raw = bytearray(bytes.fromhex(VECTORS["submit_sm_ucs2_sar"]))
    sm_length_at = raw.index(b"hello") - 1
    raw[sm_length_at] = 200
    with pytest.raises(PduError) as refused:
        decode(bytes(raw))
    assert refused.value.status == Status.RINVMSGLEN


@pytest.mark.parametrize("length", [0, 15, 70_000])
def test_impossible_lengths_are_refused_before_reading(length: int) -> None:
    with pytest.raises(PduError):
        read_length(struct.pack(">I", length))


def test_fields_that_do_not_fit_are_refused_when_encoding() -> None:
    with pytest.raises(ValueError, match="at most 20 octets"):
        Pdu(Command.SUBMIT_SM, 1, fields={"destination_addr": "1" * 21}).encode()
    with pytest.raises(ValueError, match="at most 254 octets"):
        Pdu(Command.SUBMIT_SM, 1, fields={"short_message": b"x" * 255}).encode()
