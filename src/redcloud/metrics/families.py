"""Every metric the platform records, named and documented once (docs/observability.md
explains each and the alerts built on them).

Counters and histograms live in this process; with `serve --processes N` prometheus-client
keeps each process's values in files that /metrics sums (redcloud.metrics.processes).
Gauges that describe a process's live state use the `livesum` mode, so a dead process
stops counting. The queue's gauges are not here: /metrics reads them from the database at
scrape time (redcloud.metrics.queue), the same on every process.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds: an API request or a carrier's or receiver's answer.
FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Seconds: from acceptance to the handset, or from an event to its receiver.
SLOW = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)

HTTP_REQUESTS = Counter(
    "redcloud_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "redcloud_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=FAST,
)
MESSAGES = Counter(
    "redcloud_messages_total",
    "Messages entering a status: outbound queued, sent, delivered, failed; inbound received. "
    "connector is empty for statuses recorded before a carrier had the message.",
    ["direction", "status", "connector"],
)
SEGMENTS = Counter(
    "redcloud_segments_total",
    "SMS segments accepted for sending, by encoding (GSM-7, UCS-2; MMS counts one, as MMS).",
    ["encoding"],
)
DELIVERY_LATENCY = Histogram(
    "redcloud_message_delivery_seconds",
    "From a message's acceptance (202) to the carrier's delivery report.",
    ["connector"],
    buckets=SLOW,
)
WEBHOOK_ATTEMPTS = Counter(
    "redcloud_webhook_attempts_total",
    "Webhook POST attempts by outcome: delivered (2xx), http_error (any other status), "
    "network_error (no answer: refused, reset, timeout, blocked destination).",
    ["outcome"],
)
WEBHOOK_ATTEMPT_DURATION = Histogram(
    "redcloud_webhook_attempt_duration_seconds",
    "How long a receiver took to answer one webhook POST.",
    buckets=FAST,
)
WEBHOOK_DELIVERY_LATENCY = Histogram(
    "redcloud_webhook_delivery_seconds",
    "From an event's occurrence to its webhook's acknowledgement by the receiver.",
    buckets=SLOW,
)
WEBHOOK_GIVEN_UP = Counter(
    "redcloud_webhook_events_failed_total",
    "Events whose webhook failed on every attempt of the retry schedule.",
)
SUBMIT_DURATION = Histogram(
    "redcloud_provider_submit_duration_seconds",
    "How long a connector took to accept or refuse a message (every part, for SMPP).",
    ["connector"],
    buckets=FAST,
)
SUBMIT_ERRORS = Counter(
    "redcloud_provider_submit_errors_total",
    "Carrier answers other than acceptance, by code: refusals (SMPP_ESME_...), deferrals, "
    "and for SMPP the throttles, queue-full replies, timeouts and dropped links it absorbs.",
    ["connector", "code"],
)
SMPP_BOUND = Gauge(
    "redcloud_smpp_sessions_bound",
    "SMPP sessions bound now (sampled every 2 seconds by each process).",
    ["connector"],
    multiprocess_mode="livesum",
)
SMPP_IN_FLIGHT = Gauge(
    "redcloud_smpp_in_flight",
    "SMPP requests sent and not yet answered (sampled every 2 seconds by each process).",
    ["connector"],
    multiprocess_mode="livesum",
)
SMPP_RECONNECTS = Counter(
    "redcloud_smpp_reconnects_total",
    "SMPP sessions lost and bound again.",
    ["connector"],
)
SMPP_RECEIPTS = Counter(
    "redcloud_smpp_receipts_total",
    "Delivery receipts received, by outcome: matched (to a sent part), held (no part known "
    "yet: kept until its submit_sm_resp is recorded, else unmatched), unreadable (no id).",
    ["connector", "outcome"],
)
SMPP_INBOUND = Counter(
    "redcloud_smpp_inbound_total",
    "deliver_sm that are not receipts: mobile-originated messages or parts of them.",
    ["connector"],
)
OPTOUTS = Counter(
    "redcloud_optouts_total",
    "Consent changes recorded: action opt_out or opt_in, source keyword, operator or import.",
    ["action", "source"],
)
SUPPRESSED = Counter(
    "redcloud_sends_suppressed_total",
    "Recipients refused at send because they opted out (RECIPIENT_OPTED_OUT).",
)
RATE_LIMITED = Counter(
    "redcloud_rate_limited_total",
    "429 answers: limit requests (a CORE API client over its requests per minute, by "
    "client_id) or auth_failures (token requests after too many failures; client_id empty, "
    "since an unauthenticated caller chooses it).",
    ["client_id", "limit"],
)
