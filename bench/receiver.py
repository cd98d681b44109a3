"""The benchmark's webhook receiver: its own process, verifying every signature.

POST anything: the delivery is verified (HMAC-SHA256 of "{timestamp}.{rawBody}", constant
time) and recorded. GET /stats: counts, signature failures, the arrival window and, per
message, accept (the queued event's occurredAt) to delivery-webhook arrival.
Run: python bench/receiver.py PORT SECRET
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from typing import Any

from aiohttp import web


class Stats:
    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.counts: dict[str, int] = {}
        self.bad_signatures = 0
        self.first_ms: int | None = None
        self.last_ms = 0
        self.accepted_ms: dict[str, int] = {}
        self.delivered_ms: dict[str, int] = {}

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        now = time.time_ns() // 1_000_000
        timestamp = request.headers.get("X-RedCloud-Timestamp", "")
        expected = hmac.new(self.secret, timestamp.encode() + b"." + raw, hashlib.sha256)
        if not hmac.compare_digest(
            expected.hexdigest(), request.headers.get("X-RedCloud-Signature", "")
        ):
            self.bad_signatures += 1
            return web.Response(status=400)
        event = json.loads(raw)
        kind = event["eventType"]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.first_ms = now if self.first_ms is None else self.first_ms
        self.last_ms = now
        if kind == "message.queued":
            self.accepted_ms[event["messageId"]] = event["occurredAt"]
        elif kind == "message.delivery":
            self.delivered_ms[event["messageId"]] = now
        return web.Response(text="ok")

    async def report(self, _: web.Request) -> web.Response:
        latencies = sorted(
            self.delivered_ms[m] - accepted
            for m, accepted in self.accepted_ms.items()
            if m in self.delivered_ms
        )
        body: dict[str, Any] = {
            "counts": self.counts,
            "badSignatures": self.bad_signatures,
            "firstMs": self.first_ms,
            "lastMs": self.last_ms,
            "messages": len(self.accepted_ms),
            "acceptToDeliveryMs": latencies,
        }
        return web.json_response(body)


def main() -> None:
    port, secret = int(sys.argv[1]), sys.argv[2]
    stats = Stats(secret)
    app = web.Application()
    app.router.add_get("/stats", stats.report)
    app.router.add_post("/{tail:.*}", stats.handle)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
