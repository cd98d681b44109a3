"""Prefixed public identifiers: msg_, num_, evt_, req_, acc_ and friends."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(prefix: str, length: int = 20) -> str:
    """A prefixed random id, e.g. ``msg_k3x9...``; 20 base-36 characters carry ~103 bits."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def message_id() -> str:
    return new_id("msg_")


def number_id() -> str:
    return new_id("num_", 12)


def event_id() -> str:
    return new_id("evt_")


def request_id() -> str:
    return new_id("req_", 16)


def account_id() -> str:
    return new_id("acc_", 12)


def client_id() -> str:
    return new_id("rc_client_", 16)
