"""Every kind of job, declared once: its name, its typed payload, and its retry policy.

The same declaration is used where a job is queued (`KIND.job(payload)` gives the row's
kind and JSON) and where it is handled (`KIND.payload_of(job)` gives the typed payload),
so the two cannot drift apart. Payload keys are stored in camelCase, as the rows written
by earlier versions have them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from redcloud import tracing
from redcloud.jobs.claim import ClaimedJob


class Payload(Protocol):
    def to_json(self) -> dict[str, Any]: ...


P = TypeVar("P", bound=Payload)


@dataclass(frozen=True, slots=True)
class JobKind(Generic[P]):
    """A kind of job. `retry_delays` are the planned delays between attempts whose
    outcome asks for a retry (a carrier busy, a webhook endpoint down); None means they
    come from the settings. Errors (exceptions) back off on their own schedule until the
    worker gives up; `gives_up` then says what the job's subject becomes."""

    name: str
    parse: Callable[[dict[str, Any]], P]
    retry_delays: tuple[float, ...] | None
    gives_up: str

    def job(self, payload: P) -> tuple[str, dict[str, Any]]:
        return self.name, payload.to_json()

    def payload_of(self, job: ClaimedJob) -> P:
        parsed: P = self.parse(job.payload)
        return parsed


def _with_origin(raw: dict[str, Any], request_id: str | None, trace: str | None) -> dict[str, Any]:
    """The request that caused a job rides along in its payload, so that its log lines, and
    those of the jobs it causes, carry that request's id; so does the span that caused it
    when tracing is on (redcloud.tracing), so that the job's span joins the trace."""
    if request_id:
        raw["requestId"] = request_id
    if trace:
        raw["traceparent"] = trace
    return raw


def _request_of(raw: dict[str, Any]) -> str | None:
    value = raw.get("requestId")
    return str(value) if value else None


def _trace_of(raw: dict[str, Any]) -> str | None:
    value = raw.get("traceparent")
    return str(value) if value else None


def _current_trace() -> str | None:
    # The span the job is created in is its parent; a payload built elsewhere (a batch of
    # sends written by one task) names its request's span itself.
    return tracing.traceparent()


@dataclass(frozen=True, slots=True)
class Submit:
    """Hand a queued message to its carrier."""

    message_id: str
    request_id: str | None = None
    trace: str | None = field(default_factory=_current_trace)

    def to_json(self) -> dict[str, Any]:
        return _with_origin({"messageId": self.message_id}, self.request_id, self.trace)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Submit:
        return cls(str(raw["messageId"]), _request_of(raw), _trace_of(raw))


@dataclass(frozen=True, slots=True)
class DeliverWebhook:
    """POST one event to its destination; `base` counts attempts made before a redelivery."""

    event_id: str
    base: int = 0
    request_id: str | None = None
    trace: str | None = field(default_factory=_current_trace)

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"eventId": self.event_id}
        if self.base:
            raw["base"] = self.base
        return _with_origin(raw, self.request_id, self.trace)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DeliverWebhook:
        return cls(str(raw["eventId"]), int(raw.get("base", 0)), _request_of(raw), _trace_of(raw))


@dataclass(frozen=True, slots=True)
class SandboxReport:
    """The sandbox carrier's delivery report for one message, due at the job's run time."""

    message_id: str
    provider_ref: str
    status: str
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    trace: str | None = field(default_factory=_current_trace)

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "messageId": self.message_id,
            "providerRef": self.provider_ref,
            "status": self.status,
        }
        if self.code is not None:
            raw.update(code=self.code, message=self.message)
        return _with_origin(raw, self.request_id, self.trace)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SandboxReport:
        return cls(
            str(raw["messageId"]),
            str(raw["providerRef"]),
            str(raw["status"]),
            raw.get("code"),
            raw.get("message"),
            _request_of(raw),
            _trace_of(raw),
        )


SUBMIT: JobKind[Submit] = JobKind(
    "provider.submit",
    Submit.from_json,
    retry_delays=(1.0, 5.0, 30.0, 120.0),
    gives_up="the message fails with SUBMIT_FAILED and its message.failed webhook",
)
DELIVER_WEBHOOK: JobKind[DeliverWebhook] = JobKind(
    "webhook.deliver",
    DeliverWebhook.from_json,
    retry_delays=None,  # REDCLOUD_WEBHOOK_RETRY_SCHEDULE
    gives_up="the job is parked as failed for an operator (redcloud webhooks redeliver)",
)
SANDBOX_REPORT: JobKind[SandboxReport] = JobKind(
    "sandbox.report",
    SandboxReport.from_json,
    retry_delays=(),
    gives_up="the job is parked; the message fails when no report arrives in time",
)
