"""OpenTelemetry traces: one trace from a send's request through its jobs, the carrier's
submit, the delivery report and every webhook; nothing written when tracing is off; and a
real `redcloud serve` exporting over OTLP/HTTP to a collector on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from redcloud import tracing
from redcloud.db import Database
from redcloud.jobs.models import Job
from redcloud.messages.models import Message
from redcloud.pipeline import Pipeline
from tests.factories import send, send_body
from tests.live import free_port
from tests.processes import start_server
from tests.receiver import Receiver
from tests.test_pipeline import fast, pipeline

__all__ = ["fast", "pipeline"]  # fixtures


@pytest.fixture
def traced() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test, its spans kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)
    provider.shutdown()


def chain(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    """The names from `span` up to its trace's root."""
    by_id = {s.context.span_id: s for s in spans}
    names = [span.name]
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


async def test_a_send_is_one_trace_from_request_to_the_last_webhook(
    traced: InMemorySpanExporter,  # first: it outlives the pipeline's last span
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    pipeline: Pipeline,
) -> None:
    response = await send(api, auth, send_body("num_abc123", to=["+15005550006"]), key="t-1")
    assert response.status_code == 202
    message_id = response.json()["results"][0]["messageId"]
    await receiver.wait_for(lambda r: len(r.of(message_id)) == 3)
    for _ in range(50):  # a webhook job's span ends after its POST's, as the job settles
        spans = list(traced.get_finished_spans())
        if len(named(spans, "webhook.deliver")) >= 3:
            break
        await asyncio.sleep(0.1)
    (request,) = named(spans, "POST /api/core/messages/send")
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 202
    trace_id = request.context.trace_id
    ours = [s for s in spans if s.context.trace_id == trace_id]
    root = "POST /api/core/messages/send"
    (submitted,) = named(ours, "submit sandbox")
    assert chain(submitted, ours) == ["submit sandbox", "provider.submit", root]
    (sent,) = named(ours, "message sent")
    assert chain(sent, ours) == ["message sent", "provider.submit", root]
    (delivered,) = named(ours, "message delivered")
    # The sandbox's report is queued by its submit, as a carrier's receipt follows it.
    assert chain(delivered, ours) == [
        "message delivered",
        "sandbox.report",
        "submit sandbox",
        "provider.submit",
        root,
    ]
    posts = sorted(chain(s, ours)[2] for s in named(ours, "webhook POST"))
    # queued's webhook hangs off the request, sent's and delivered's off their transitions
    assert posts == sorted(["message delivered", "message sent", root])


async def test_a_receipt_joins_the_trace_of_its_send_through_the_message_row(
    traced: InMemorySpanExporter,
    api: httpx.AsyncClient,
    auth: dict[str, str],
    db: Database,
    demo: None,
) -> None:
    """A report that arrives with no context of ours (an SMPP receipt does) continues the
    trace its message was accepted in."""
    from redcloud.messages import lifecycle

    response = await send(api, auth, send_body("num_abc123", to=["+15005550006"]), key="t-2")
    message_id = response.json()["results"][0]["messageId"]
    async with db.session() as session:
        stored = await session.scalar(select(Message.traceparent).where(Message.id == message_id))
    assert stored is not None
    traced.clear()
    async with db.transaction(write=True) as conn:  # no span is current here
        await lifecycle.delivery_report(
            conn, message_id=message_id, status="failed", error={"code": "X", "message": "test"}
        )
    (reported,) = named(list(traced.get_finished_spans()), "message sent failed")
    assert f"{reported.context.trace_id:032x}" == stored.split("-")[1]


async def test_nothing_is_traced_or_stored_when_tracing_is_off(
    api: httpx.AsyncClient, auth: dict[str, str], db: Database, demo: None
) -> None:
    assert not tracing.enabled()
    response = await send(api, auth, send_body("num_abc123", to=["+15005550006"]), key="t-3")
    message_id = response.json()["results"][0]["messageId"]
    async with db.session() as session:
        message = await session.get(Message, message_id)
        payloads = list(await session.scalars(select(Job.payload)))
    assert message is not None
    assert message.traceparent is None
    assert payloads
    assert all("traceparent" not in p for p in payloads)


@pytest.fixture
async def collector() -> AsyncIterator[tuple[str, list[ExportTraceServiceRequest]]]:
    """An OTLP/HTTP collector on 127.0.0.1 that keeps what it is sent."""
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        received.append(ExportTraceServiceRequest.FromString(await request.read()))
        return web.Response(status=200, content_type="application/x-protobuf", body=b"")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", received
    await runner.cleanup()


@pytest.mark.slow
async def test_a_server_exports_its_spans_over_otlp(
    collector: tuple[str, list[ExportTraceServiceRequest]],
    small_inventory: None,
    database_url: str,
    tmp_path: Path,
) -> None:
    endpoint, received = collector
    env = {
        "REDCLOUD_DATABASE_URL": database_url,
        "REDCLOUD_DATA_DIR": str(tmp_path),
        "REDCLOUD_SANDBOX_DELIVERY_DELAY": "0.1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_SERVICE_NAME": "redcloud-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    proc, base = await asyncio.to_thread(start_server, ["--demo"], env, tmp_path / "api.log")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            response = await client.post(
                "/api/core/messages/send",
                headers={"Authorization": "Bearer rc_token_example", "Idempotency-Key": "o-1"},
                json=send_body("num_abc123", to=["+15005550006"]),
            )
            assert response.status_code == 202, response.text

        def names() -> set[str]:
            return {
                span.name
                for request in received
                for resource in request.resource_spans
                for scope in resource.scope_spans
                for span in scope.spans
            }

        for _ in range(100):
            if {"POST /api/core/messages/send", "message delivered"} <= names():
                break
            await asyncio.sleep(0.1)
    finally:
        proc.terminate()
    assert {"POST /api/core/messages/send", "provider.submit", "message delivered"} <= names()
    services = {
        attribute.value.string_value
        for request in received
        for resource in request.resource_spans
        for attribute in resource.resource.attributes
        if attribute.key == "service.name"
    }
    assert services == {"redcloud-under-test"}
