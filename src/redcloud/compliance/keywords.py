"""Which inbound messages are consent keywords (US A2P practice and FCC 24-18).

A message is a keyword when, normalised, the whole of it is one: NFKC (so full-width
`ＳＴＯＰ` is `STOP`), whitespace trimmed and collapsed, upper case, and punctuation, symbols
and emoji stripped at both ends (`Stop.`, `STOP!!`, `🛑 stop`). `STOP PLEASE` and `stopp`
are not keywords. A message that merely contains a revocation word (`please stop texting
me`) is not an opt-out, but is flagged for an operator to review; the FCC lets people
revoke consent "by any reasonable means".
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum


class Keyword(Enum):
    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"
    HELP = "help"


OPT_OUT_WORDS = frozenset(
    {
        "STOP",
        "STOPALL",
        "STOP ALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "OPT OUT",
        "OPT-OUT",
    }
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
# Words that, anywhere in a longer message, may be a revocation a person should look at.
REVOCATION_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
_WORD = re.compile(r"[A-Z]+(?:-[A-Z]+)*")
_SPACES = re.compile(r"\s+")


def _edge(char: str) -> bool:
    """Stripped at the ends: whitespace, punctuation, symbols (emoji among them), and the
    joiners and selectors that emoji are built with."""
    return (
        char.isspace()
        or unicodedata.category(char)[0] in "PSCZ"
        or (unicodedata.category(char) == "Mn")
    )


def normalise(text: str) -> str:
    folded = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).upper()
    start, end = 0, len(folded)
    while start < end and _edge(folded[start]):
        start += 1
    while end > start and _edge(folded[end - 1]):
        end -= 1
    return folded[start:end]


def classify(text: str | None) -> Keyword | None:
    """The keyword the whole message is, if it is one."""
    if not text:
        return None
    word = normalise(text)
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if word in HELP_WORDS:
        return Keyword.HELP
    return None


def mentions_revocation(text: str | None) -> bool:
    """A longer message with a revocation word in it (`please stop texting me`, `opt me
    out`): for review, not an opt-out by itself."""
    if not text or classify(text) is not None:
        return False
    folded = normalise(text)
    words = set(_WORD.findall(folded))
    return bool(words & REVOCATION_WORDS) or "OPT OUT" in folded or "OPT-OUT" in words
