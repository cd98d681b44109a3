"""E.164 phone numbers: syntax plus libphonenumber's possible-number check.

Shared by every domain that takes a number from outside (sends, numbers, the sandbox
carrier, and carriers' inbound traffic), so it lives at the bottom of the package.
"""

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
