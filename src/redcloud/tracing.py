"""OpenTelemetry traces: from the request to its jobs, the carrier's submit, the receipt and
every webhook, in one trace per send, when an OTLP endpoint is configured.

Set `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and every
process exports its spans there over OTLP/HTTP; the SDK's other OTEL_* variables apply
(service name, sampler, batch delays). Unset, no SDK is loaded, `span` is an empty context
and no trace context is written anywhere: off and free.

A trace crosses processes in the job payloads (`traceparent`, the W3C form) and, for what a
carrier reports later without any context of ours (a receipt), in the message's row.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
SERVER, CLIENT, INTERNAL = SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL
_propagator = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None


def configure(service: str = "redcloud") -> bool:
    """Export spans if an OTLP endpoint is configured; True if tracing is on."""
    if _tracer is not None or not any(os.environ.get(v) for v in ENDPOINT_VARIABLES):
        return _tracer is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use(provider)
    atexit.register(provider.shutdown)  # what is still batched goes out at exit
    return True


def use(provider: TracerProvider | None) -> None:
    """Trace with `provider` (None: stop tracing). Tests give one that keeps spans."""
    global _tracer
    _tracer = provider.get_tracer("redcloud") if provider is not None else None


def enabled() -> bool:
    return _tracer is not None


def active() -> bool:
    """Whether a span of ours is current (a request's, a job's)."""
    return _tracer is not None and trace.get_current_span().get_span_context().is_valid


@contextlib.contextmanager
def span(
    name: str,
    *,
    parent: str | None = None,
    kind: SpanKind = INTERNAL,
    **attributes: Any,
) -> Iterator[trace.Span | None]:
    """A span around the block, the current one's child, or `parent`'s (a traceparent) when
    given; yields None when tracing is off."""
    if _tracer is None:
        yield None
        return
    context = _propagator.extract({"traceparent": parent}) if parent else None
    clean = {k: v for k, v in attributes.items() if v is not None}
    with _tracer.start_as_current_span(name, context=context, kind=kind, attributes=clean) as s:
        yield s


def traceparent() -> str | None:
    """The current span as a W3C traceparent, to carry into a job or a row; None when
    tracing is off or no span is active."""
    if not active():
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")
