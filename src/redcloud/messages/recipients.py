"""Recipient acceptance: E.164 syntax plus libphonenumber's possible-number check."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
INVALID_RECIPIENT = "INVALID_RECIPIENT"
DUPLICATE_RECIPIENT = "DUPLICATE_RECIPIENT"
_INVALID_MESSAGE = "Recipient must be a valid E.164 phone number"
_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short for its country",
    ValidationResult.TOO_LONG: "too long for its country",
    ValidationResult.INVALID_LENGTH: "not a possible length for its country",
}


@dataclass(frozen=True, slots=True)
class Rejection:
    to: str
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "error": {"code": self.code, "message": self.message, "details": self.details},
        }


def normalize(raw: str, *, strict: bool = False) -> str | Rejection:
    """The E.164 form of `raw`, or why it cannot be a recipient.

    Possible (right length for its country) is the default bar: the canonical +15551234567
    is possible but not an assigned NANP number. `strict` also demands a valid number.
    """
    if not E164.fullmatch(raw):
        return Rejection(raw, INVALID_RECIPIENT, _INVALID_MESSAGE)
    try:
        parsed = phonenumbers.parse(raw, None)
    except NumberParseException:
        return Rejection(raw, INVALID_RECIPIENT, _INVALID_MESSAGE)
    result = phonenumbers.is_possible_number_with_reason(parsed)
    if result not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        reason = _REASONS.get(result, "not a possible number")
        return Rejection(raw, INVALID_RECIPIENT, _INVALID_MESSAGE, {"reason": reason})
    if strict and not phonenumbers.is_valid_number(parsed):
        return Rejection(
            raw, INVALID_RECIPIENT, _INVALID_MESSAGE, {"reason": "not an assigned number"}
        )
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def screen(recipients: list[str], *, strict: bool = False) -> tuple[list[str], list[Rejection]]:
    """Split recipients into accepted E.164 numbers (first occurrence) and rejections."""
    accepted: list[str] = []
    rejected: list[Rejection] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(recipients):
        outcome = normalize(raw, strict=strict)
        if isinstance(outcome, Rejection):
            rejected.append(outcome)
        elif outcome in first_index:
            rejected.append(
                Rejection(
                    raw,
                    DUPLICATE_RECIPIENT,
                    "Recipient appears more than once in this request",
                    {"firstIndex": first_index[outcome]},
                )
            )
        else:
            first_index[outcome] = index
            accepted.append(outcome)
    return accepted, rejected
