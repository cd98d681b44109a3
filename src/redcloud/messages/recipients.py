"""Recipient acceptance for a send: each recipient normalised (redcloud.phone), once."""

from __future__ import annotations

from redcloud.phone import DUPLICATE_RECIPIENT, Rejection, normalize

__all__ = ["Rejection", "normalize", "screen"]


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
