"""Prefixed public identifiers: msg_, num_, evt_, req_, acc_ and friends."""

from __future__ import annotations

import secrets
import string
import time

_ALPHABET = string.ascii_lowercase + string.digits


_SORTED = string.digits + string.ascii_lowercase  # ASCII order, so text order is number order


def _random36(length: int) -> str:
    """`length` uniformly random base-36 characters from one draw of the OS's randomness
    (a draw per character cost more than the rest of a send's id work; bench/NOTES.md)."""
    value = secrets.randbelow(36**length)
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 36)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def new_id(prefix: str, length: int = 20) -> str:
    """A prefixed random id, e.g. ``msg_k3x9...``; 20 base-36 characters carry ~103 bits."""
    return prefix + _random36(length)


def timed_id(prefix: str) -> str:
    """A prefixed id that starts with its creation time: 9 base-36 characters of Unix
    milliseconds, then 11 random ones (~56 bits). Ids made later sort later, so the rows of
    the busiest tables are inserted at the end of their primary-key index instead of at a
    random page of it — the index a million messages deep stays as cheap to insert into."""
    millis = time.time_ns() // 1_000_000
    stamp = ""
    for _ in range(9):
        millis, digit = divmod(millis, 36)
        stamp = _SORTED[digit] + stamp
    return prefix + stamp + _random36(11)


def message_id() -> str:
    return timed_id("msg_")


def number_id() -> str:
    return new_id("num_", 12)


def event_id() -> str:
    return timed_id("evt_")


def request_id() -> str:
    return new_id("req_", 16)


def account_id() -> str:
    return new_id("acc_", 12)


def client_id() -> str:
    return new_id("rc_client_", 16)
