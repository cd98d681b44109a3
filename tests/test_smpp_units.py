"""The SMPP connector's pure parts: submit_sm building, receipt parsing and id matching,
inbound addresses and text, reconnect backoff. The wire behaviour is in
test_smpp_connector.py against a third-party SMSC."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redcloud.providers.smpp import inbound, receipts
from redcloud.providers.smpp.links import backoff
from redcloud.providers.smpp.options import InvalidOption, SmppOptions
from redcloud.providers.smpp.outbound import build, relative_validity
from redcloud.providers.smpp.pdu import Command, Pdu, Tag, decode

OPTIONS = SmppOptions(host="smsc", port=2775, system_id="acct", password_encrypted="x")


def options(**changes: object) -> SmppOptions:
    return SmppOptions(**{**OPTIONS.to_settings(), **changes})  # type: ignore[arg-type]


def test_relative_validity_follows_the_smpp_format() -> None:
    assert relative_validity(36_000) == "000000100000000R"
    assert relative_validity(3 * 86_400 + 61) == "000003000101000R"
    assert relative_validity(0) == "000000000000000R"


def as_inbound(part_fields: dict[str, object], tlvs: dict[int, bytes]) -> inbound.Inbound:
    """Our outbound PDU as the SMSC would hand it back inbound: through the wire format."""
    wire = Pdu(Command.DELIVER_SM, 1, fields=part_fields, tlvs=tlvs).encode()
    return inbound.read(decode(wire))


texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=700
)


@settings(max_examples=300, deadline=None)
@given(text=texts, split=st.sampled_from(["udh", "sar"]), reference=st.integers(1, 0xFFFF))
def test_every_text_travels_in_parts_that_fit_and_read_back_whole(
    text: str, split: str, reference: int
) -> None:
    submission = build(
        options(split=split),
        send_from="+15551234567",
        to="+447700900123",
        text=text,
        reference=reference,
        validity_seconds=None,
    )
    read = [as_inbound(p.fields, p.tlvs) for p in submission.pdus]
    assert len(read) == submission.segments
    gsm = submission.encoding == "GSM-7"
    limit = (160 if gsm else 140) if len(read) == 1 else (153 if gsm else 134)
    for number, part in enumerate(read, start=1):
        assert len(part.payload) <= limit  # septets (one an octet) or UCS-2 octets
        if len(read) > 1:
            assert part.concat == inbound.Concat(
                reference & (0xFF if split == "udh" else 0xFFFF), len(read), number
            )
    coding = read[0].data_coding
    assert inbound.decode(coding, b"".join(p.payload for p in read)) == text
    assert (read[0].source, read[0].destination) == ("+15551234567", "+447700900123")


def test_payload_mode_carries_the_whole_text_in_one_pdu() -> None:
    text = "a" * 300
    submission = build(
        options(split="payload"),
        send_from="+15551234567",
        to="+15005550006",
        text=text,
        reference=1,
        validity_seconds=600,
    )
    (pdu,) = submission.pdus
    assert submission.segments == 2
    assert pdu.fields["short_message"] == b""
    assert pdu.tlvs[Tag.MESSAGE_PAYLOAD] == text.encode()
    assert pdu.fields["validity_period"] == "000000001000000R"


def receipt_pdu(text: str, **tlvs: bytes) -> Pdu:
    tags = {Tag[name.upper()]: value for name, value in tlvs.items()}
    return Pdu(
        Command.DELIVER_SM, 1, fields={"esm_class": 4, "short_message": text.encode()}, tlvs=tags
    )


def test_a_receipt_text_gives_id_stat_and_err() -> None:
    pdu = receipt_pdu(
        "id:0000004097 sub:001 dlvrd:000 submit date:2611291200 done date:2611291201 "
        "stat:UNDELIV err:034 text:hello"
    )
    assert receipts.is_receipt(pdu)
    assert receipts.parse(pdu) == receipts.Receipt("0000004097", "UNDELIV", "034")


def test_the_receipted_message_id_tlv_comes_before_the_text_id() -> None:
    pdu = receipt_pdu("id:999 stat:DELIVRD err:000", receipted_message_id=b"1001\x00")
    assert receipts.parse(pdu) == receipts.Receipt("1001", "DELIVRD", "000")


def test_message_state_stands_in_for_a_missing_stat() -> None:
    pdu = receipt_pdu("", receipted_message_id=b"ab12", message_state=bytes((5,)))
    assert receipts.parse(pdu) == receipts.Receipt("ab12", "UNDELIV", "")
    assert receipts.parse(receipt_pdu("no id here stat:DELIVRD")) is None


@pytest.mark.parametrize(
    ("id_format", "response_id", "receipt_id", "matches"),
    [
        ("same", "1001", "1001", True),
        ("same", "1001", "4097", False),  # never guessed
        ("hex-to-dec", "1001", "4097", True),
        ("hex-to-dec", "1001", "0000004097", True),  # leading zeros
        ("hex-to-dec", "00AB", "171", True),  # letter case and zeros of hex
        ("hex-to-dec", "1001", "1001", False),  # "1001" in decimal is another id
        ("dec-to-hex", "4097", "1001", True),
        ("dec-to-hex", "4097", "0x1001", False),  # not a plain hex id: kept as given
        ("hex-to-dec", "msg-7", "msg-7", True),  # not numbers at all: compared as given
    ],
)
def test_ids_are_matched_by_the_connectors_format_only(
    id_format: str, response_id: str, receipt_id: str, matches: bool
) -> None:
    ours = receipts.canonical(response_id, id_format, from_receipt=False)  # type: ignore[arg-type]
    theirs = receipts.canonical(receipt_id, id_format, from_receipt=True)  # type: ignore[arg-type]
    assert (ours == theirs) is matches


@pytest.mark.parametrize(
    ("address", "ton", "region", "e164"),
    [
        ("15005550006", 1, None, "+15005550006"),
        ("0044770090012", 1, None, "+44770090012"),
        ("+447700900123", 0, None, "+447700900123"),
        ("07700900123", 2, "GB", "+447700900123"),
        ("BANK", 5, None, "BANK"),
        ("Red Cloud Alerts!", 5, None, "Red Cloud Alerts"),  # cut to what a sender can be
    ],
)
def test_addresses_become_e164_by_their_ton(
    address: str, ton: int, region: str | None, e164: str
) -> None:
    assert inbound.to_e164(address, ton, region) == e164


@pytest.mark.parametrize(
    ("coding", "payload", "text"),
    [
        (0xF0, b"\x00hi", "@hi"),  # message class 0, GSM alphabet
        (0xF4, b"\x01\x02", "0102"),  # message class 0, 8-bit data: as hex
        (8, "a\x00b".encode("utf-16-be"), "a\ufffdb"),  # no NUL gets through
        (8, b"\xd8\x3d", "\ufffd"),  # a lone surrogate neither
        (2, b"\xff", "ff"),
    ],
)
def test_inbound_text_by_data_coding(coding: int, payload: bytes, text: str) -> None:
    assert inbound.decode(coding, payload) == text


def test_a_udh_without_concatenation_or_with_impossible_numbers_is_one_message() -> None:
    def read(udh: bytes) -> inbound.Concat | None:
        fields = {"esm_class": 0x40, "short_message": udh + b"hi", "source_addr": "1"}
        return inbound.read(Pdu(Command.DELIVER_SM, 1, fields=fields)).concat

    assert read(bytes((5, 0, 3, 9, 2, 3))) is None  # part 3 of 2
    assert read(bytes((4, 0x24, 2, 1, 1))) is None  # a language shift, no concatenation
    assert read(bytes((6, 8, 4, 1, 2, 3, 1))) == inbound.Concat(0x0102, 3, 1)
    sar = {
        Tag.SAR_MSG_REF_NUM: struct.pack(">H", 77),
        Tag.SAR_TOTAL_SEGMENTS: b"\x02",
        Tag.SAR_SEGMENT_SEQNUM: b"\x02",
    }
    pdu = Pdu(Command.DELIVER_SM, 1, fields={"short_message": b"x"}, tlvs=sar)
    assert inbound.read(pdu).concat == inbound.Concat(77, 2, 2)


def test_backoff_is_jittered_and_capped() -> None:
    for failures, (low, high) in {
        1: (0.5, 1),
        2: (1, 2),
        4: (4, 8),
        9: (30, 60),
        30: (30, 60),
    }.items():
        samples = [backoff(failures) for _ in range(200)]
        assert all(low <= s <= high for s in samples)
        assert len(set(samples)) > 100  # jittered, so reconnecting workers do not stampede


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": 0}, "--port"),
        ({"system_id": "x" * 16}, "--system-id"),
        ({"system_id": "acmé"}, "--system-id"),
        ({"system_type": "a\x00b"}, "--system-type"),
        ({"bind": "both"}, "--bind"),
        ({"binds": 0}, "--binds"),
        ({"window": 0}, "--window"),
        ({"mps": -1}, "--mps"),
        ({"dlr_id_format": "guess"}, "--dlr-id-format"),
        ({"dest_ton": 256}, "--dest-ton"),
        ({"validity_seconds": 0}, "--validity-seconds"),
    ],
)
def test_impossible_options_are_refused_with_the_option_named(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidOption, match=message):
        options(**change)
