"""SMS encoding and segments, checked against fixed hard cases, against smsutil (which
agrees with the carriers' published calculator), and by hypothesis for every text."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import smsutil
from hypothesis import given, settings
from hypothesis import strategies as st

from redcloud import segments
from redcloud.segments import GSM7, LIMITS, UCS2
from tests.factories import send, send_body

GSM_BASIC = (
    "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà\n"
)
GSM_EXTENSION = "^{}\\[~]|€\f"
TEXTS = st.text(
    st.sampled_from(GSM_BASIC + GSM_EXTENSION) | st.characters(codec="utf-8"), max_size=700
)
GSM_TEXTS = st.text(st.sampled_from(GSM_BASIC + GSM_EXTENSION), max_size=700)


@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("a" * 160, GSM7, 1),
        ("a" * 161, GSM7, 2),
        ("a" * 306, GSM7, 2),
        ("a" * 307, GSM7, 3),
        ("€" * 80, GSM7, 1),  # 160 septets
        ("€" * 81, GSM7, 2),
        ("a" * 159 + "€", GSM7, 2),  # 161 septets
        ("a" * 152 + "€" + "a" * 10, GSM7, 2),  # the pair moves whole to part two
        ("ш" * 70, UCS2, 1),
        ("ш" * 71, UCS2, 2),
        ("😀" * 35, UCS2, 1),  # 70 code units
        ("😀" + "ш" * 69, UCS2, 2),  # 71 code units
        ("ш" * 66 + "😀" + "ш" * 10, UCS2, 2),  # the surrogate pair moves whole
        ("a" * 159 + "😀", UCS2, 3),  # one emoji makes it all UCS-2
        ("", GSM7, 1),
    ],
)
def test_hard_cases(text: str, encoding: str, count: int) -> None:
    plan = segments.split(text)
    assert plan.encoding == encoding
    assert plan.segments == count


def test_a_raw_escape_character_is_not_gsm_text() -> None:
    assert segments.split("a\x1bb").encoding == UCS2


def test_an_escape_pair_is_never_split() -> None:
    plan = segments.split("a" * 152 + "€" + "a" * 10)
    assert plan.parts[0] == "a" * 152
    assert plan.parts[1].startswith("€")


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_parts_reassemble_and_none_exceeds_its_limit(text: str) -> None:
    plan = segments.split(text)
    assert "".join(plan.parts) == text
    single, per_part = LIMITS[plan.encoding]
    limit = single if plan.segments == 1 else per_part
    for part in plan.parts:
        assert sum(segments.cost(char, plan.encoding) for char in part) <= limit
    if plan.encoding == GSM7:
        segments.encode_gsm7(text)  # encodable, else it would be UCS-2


@settings(max_examples=300, deadline=None)
# smsutil takes a raw ESC (U+001B) as GSM text; we do not (it would start an escape pair).
@given(TEXTS.filter(lambda t: t and "\x1b" not in t))
def test_counts_agree_with_smsutil(text: str) -> None:
    ours = segments.split(text)
    theirs = smsutil.split(text)
    assert ours.segments == len(theirs.parts)
    assert (ours.encoding == GSM7) == (theirs.encoding == "gsm0338")


@settings(max_examples=200, deadline=None)
@given(GSM_TEXTS)
def test_gsm7_round_trips(text: str) -> None:
    encoded = segments.encode_gsm7(text)
    assert len(encoded) == sum(segments.cost(char, GSM7) for char in text)
    assert segments.decode_gsm7(encoded) == text


def test_gsm7_fixed_vector() -> None:
    # GSM 03.38: @ is 0x00, € is escape 0x65, { is escape 0x28.
    assert segments.encode_gsm7("@€{a") == bytes([0x00, 0x1B, 0x65, 0x1B, 0x28, 0x61])
    with pytest.raises(ValueError, match="not in the GSM 03.38 alphabet"):
        segments.encode_gsm7("ш")


@pytest.mark.parametrize(
    ("body", "encoding", "count"),
    [
        ({"text": "Hello from Red Cloud"}, "GSM-7", 1),
        ({"text": "a" * 159 + "€"}, "GSM-7", 2),
        ({"text": "Привет 👋"}, "UCS-2", 1),
        ({"text": "ш" * 71}, "UCS-2", 2),
        (
            {
                "messageType": "MMS",
                "text": "a" * 300,
                "media": [{"storageKey": "k", "mimeType": "image/png", "byteLength": 10}],
            },
            None,
            1,
        ),
    ],
)
async def test_a_message_reports_its_encoding_and_segments(
    api: httpx.AsyncClient,
    demo: None,
    auth: dict[str, str],
    body: dict[str, Any],
    encoding: str | None,
    count: int,
) -> None:
    sent = await send(api, auth, send_body("num_abc123", **body), key=f"seg-{count}-{encoding}")
    assert sent.status_code == 202, sent.text
    assert set(sent.json()["results"][0]) == {"to", "messageId", "status"}  # contract as is
    message_id = sent.json()["results"][0]["messageId"]
    detail = (await api.get(f"/api/core/messages/{message_id}", headers=auth)).json()
    assert detail["encoding"] == encoding
    assert detail["segments"] == count
