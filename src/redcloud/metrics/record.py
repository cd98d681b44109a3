"""One-line helpers for the places that record metrics, so that the label rules live here:
what counts as a suppressed send, how a send's segments are counted, which connector a
lifecycle step is labelled with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from redcloud.logs import bound
from redcloud.metrics.families import (
    DELIVERY_LATENCY,
    MESSAGES,
    SEGMENTS,
    SUPPRESSED,
)
from redcloud.segments import split

RECIPIENT_OPTED_OUT = "RECIPIENT_OPTED_OUT"


def connector_label() -> str:
    """The connector the current job or session works for (bound to its log context by
    the submit task and the SMPP sessions), or empty before any carrier had the message."""
    return bound("connector") or ""


def accepted(messages: Iterable[tuple[str, str | None]]) -> None:
    """Outbound messages committed as queued, as (message type, text): one per recipient,
    and their segments (a send's text is split once, whatever its recipients)."""
    by_text: dict[tuple[str, str | None], int] = {}
    for key in messages:
        by_text[key] = by_text.get(key, 0) + 1
    for (message_type, text), count in by_text.items():
        MESSAGES.labels("outbound", "queued", "").inc(count)
        if message_type == "MMS" or not text:
            SEGMENTS.labels("MMS").inc(count)
        else:
            shape = split(text)
            SEGMENTS.labels(shape.encoding).inc(count * shape.segments)


def suppressed(errors: Iterable[dict[str, Any]]) -> None:
    """Recipients refused because they opted out, from a send's `errors[]`."""
    refused = sum(1 for e in errors if e.get("error", {}).get("code") == RECIPIENT_OPTED_OUT)
    if refused:
        SUPPRESSED.inc(refused)


def transitions(
    statuses: Iterable[str], connector: str, created_at: dt.datetime | None, now: dt.datetime
) -> None:
    """Statuses an outbound message entered in one committed step."""
    for status in statuses:
        MESSAGES.labels("outbound", status, connector).inc()
        if status == "delivered" and created_at is not None:
            DELIVERY_LATENCY.labels(connector).observe(max(0.0, (now - created_at).total_seconds()))
