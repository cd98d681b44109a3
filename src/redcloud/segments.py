"""SMS encoding and segments: GSM 03.38 (with its extension table) or UCS-2, and the parts a
long message travels in.

One character outside the GSM 03.38 tables makes the whole message UCS-2. A single GSM-7
message holds 160 septets and each part of a long one 153 (the concatenation header takes
the rest); an extension character (`^{}\\[~]|€` and form feed) costs two septets, an escape
and its code, and the pair is never split across parts. UCS-2 holds 70 UTF-16 code units,
67 per part; a character outside the Basic Multilingual Plane (an emoji) costs two units,
a surrogate pair, which is never split either. The carriers' calculators count the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]
GSM7: Encoding = "GSM-7"
UCS2: Encoding = "UCS-2"
ESCAPE = 0x1B

# GSM 03.38 default alphabet, by code point 0x00-0x7F (0x1B is the escape to the extension).
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_BASIC_CODES = {char: code for code, char in enumerate(_BASIC) if code != ESCAPE}
_FROM_BASIC = dict(enumerate(_BASIC))
_FROM_EXTENSION = {code: char for char, code in _EXTENSION.items()}

LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}  # (single message, each part of a long one)


@dataclass(frozen=True, slots=True)
class Segmentation:
    encoding: Encoding
    parts: tuple[str, ...]

    @property
    def segments(self) -> int:
        return len(self.parts)


def is_gsm7(text: str) -> bool:
    return all(char in _BASIC_CODES or char in _EXTENSION for char in text)


def cost(char: str, encoding: Encoding) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) one character takes."""
    if encoding == GSM7:
        return 2 if char in _EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def encoding_of(text: str) -> Encoding:
    return GSM7 if is_gsm7(text) else UCS2


def split(text: str) -> Segmentation:
    """The encoding a text needs and the parts it travels in (one part if it fits)."""
    encoding = encoding_of(text)
    single, per_part = LIMITS[encoding]
    if sum(cost(char, encoding) for char in text) <= single:
        return Segmentation(encoding, (text,))
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:  # whole characters only: no escape or surrogate pair is split
        size = cost(char, encoding)
        if used + size > per_part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    parts.append("".join(current))
    return Segmentation(encoding, tuple(parts))


def encode_gsm7(text: str) -> bytes:
    """Unpacked GSM 03.38: one septet per octet, extension characters as escape pairs
    (SMPP's data_coding 0 as SMSCs take it)."""
    out = bytearray()
    for char in text:
        if char in _EXTENSION:
            out += bytes((ESCAPE, _EXTENSION[char]))
        else:
            try:
                out.append(_BASIC_CODES[char])
            except KeyError:
                raise ValueError(f"{char!r} is not in the GSM 03.38 alphabet") from None
    return bytes(out)


def decode_gsm7(data: bytes) -> str:
    """The inverse of `encode_gsm7`; an escape before an unknown code reads as a space, as
    GSM 03.38 asks of receivers."""
    chars: list[str] = []
    escaped = False
    for octet in data:
        code = octet & 0x7F
        if escaped:
            chars.append(_FROM_EXTENSION.get(code, " "))
            escaped = False
        elif code == ESCAPE:
            escaped = True
        else:
            chars.append(_FROM_BASIC[code])
    return "".join(chars)


def encode(text: str, encoding: Encoding) -> bytes:
    return encode_gsm7(text) if encoding == GSM7 else text.encode("utf-16-be")
