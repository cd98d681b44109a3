"""/metrics: who may scrape it, what it counts, and the totals of several processes.

Counters live in this test process's default registry across tests, so each test reads
them before and after and compares the difference.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import SecretStr

from redcloud.db import Database, utcnow
from redcloud.jobs.queue import enqueue_many
from redcloud.metrics import families, processes
from redcloud.numbers import inventory
from redcloud.pipeline import Pipeline
from tests.conftest import AppWith
from tests.factories import send, send_body
from tests.live import ROOT, free_port
from tests.processes import spawn, start_server
from tests.receiver import Receiver
from tests.test_pipeline import fast, pipeline
from tests.test_processes import env, send_many, settle

__all__ = ["env", "fast", "pipeline"]  # fixtures
TOKEN = "scrape-me-0123456789"
SEND_ROUTE = "/api/core/messages/send"


def samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    return sum(
        s.value
        for s in samples(text)
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def scrape(client: httpx.AsyncClient, token: str | None = TOKEN) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


async def test_metrics_need_the_token_and_are_off_without_one(app_with: AppWith) -> None:
    off = app_with(demo=False)
    refused = await off.get("/metrics")
    assert refused.status_code == 403
    assert "REDCLOUD_METRICS_TOKEN" in refused.text

    guarded = app_with(demo=False, metrics_token=SecretStr(TOKEN))
    assert (await guarded.get("/metrics")).status_code == 401
    wrong = await guarded.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    basic = await guarded.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    assert "redcloud_database_up 1.0" in await scrape(guarded)

    demo = app_with(demo=True)  # the demo is open, like its static token
    assert "redcloud_queue_depth" in await scrape(demo, token=None)
    assert "/metrics" not in (await demo.get("/openapi.json")).text


async def test_requests_sends_and_segments_are_counted(
    api: httpx.AsyncClient, auth: dict[str, str], demo: None
) -> None:
    before = await scrape(api)
    gsm = send_body("num_abc123", to=["+15005550006", "+15005550009"], text="x" * 161)
    assert (await send(api, auth, gsm, key="m-1")).status_code == 202
    assert (await send(api, auth, gsm, key="m-1")).status_code == 202  # a replay: no new rows
    ucs = send_body("num_abc123", to=["+15005550006"], text="🙂" * 36)  # 72 units: 2 parts
    assert (await send(api, auth, ucs, key="m-2")).status_code == 202
    bad = send_body("num_abc123", to=["+15005550006"], text="")
    assert (await send(api, auth, bad, key="m-3")).status_code == 400
    assert (await api.get("/api/core/messages/msg_nope", headers=auth)).status_code == 404
    assert (await api.get("/no/such/path")).status_code == 404
    after = await scrape(api)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("redcloud_http_requests_total", route=SEND_ROUTE, status="202") == 3
    assert grew("redcloud_http_requests_total", route=SEND_ROUTE, status="400") == 1
    # One series per route template, whatever id was asked for; unmatched paths share one.
    assert grew("redcloud_http_requests_total", route="/api/core/messages/{messageId}") == 1
    assert grew("redcloud_http_requests_total", route="unmatched", status="404") == 1
    assert "msg_nope" not in after
    assert "/no/such/path" not in after
    assert grew("redcloud_http_request_duration_seconds_count", route=SEND_ROUTE) == 4
    assert grew("redcloud_messages_total", direction="outbound", status="queued") == 3
    assert grew("redcloud_segments_total", encoding="GSM-7") == 4  # 2 recipients x 2 parts
    assert grew("redcloud_segments_total", encoding="UCS-2") == 2


async def test_queue_depth_and_oldest_age_come_from_the_database(
    app_with: AppWith, db: Database
) -> None:
    client = app_with(demo=True)
    now = utcnow()
    async with db.transaction(write=True) as conn:
        await enqueue_many(
            conn,
            [("webhook.deliver", {"eventId": f"evt_{i}"}) for i in range(3)],
            run_at=now - dt.timedelta(seconds=90),
        )
        await enqueue_many(
            conn,
            [("provider.submit", {"messageId": "msg_x"})],
            run_at=now + dt.timedelta(hours=1),
        )
    text = await scrape(client, token=None)
    assert value(text, "redcloud_queue_depth", kind="webhook.deliver", state="ready") == 3
    assert value(text, "redcloud_queue_depth", kind="provider.submit", state="scheduled") == 1
    assert value(text, "redcloud_queue_depth", kind="provider.submit", state="ready") == 0
    age = value(text, "redcloud_queue_oldest_age_seconds", kind="webhook.deliver")
    assert 89 <= age < 150
    assert value(text, "redcloud_queue_oldest_age_seconds", kind="provider.submit") == 0


async def test_the_pipeline_counts_lifecycle_webhooks_and_opt_outs(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    pipeline: Pipeline,
) -> None:
    before = await scrape(api)
    stop = await api.post(
        "/api/sandbox/inbound",
        headers=auth,
        json={"from": "+15005550006", "to": "+15551234567", "text": "STOP"},
    )
    assert stop.status_code == 202
    refused = await send(api, auth, send_body("num_abc123", to=["+15005550006"]), key="s-1")
    assert refused.status_code == 400
    partial = send_body("num_abc123", to=["+15005550006", "+15005550009"])
    response = await send(api, auth, partial, key="s-2")
    assert response.status_code == 202
    sent_id = response.json()["results"][0]["messageId"]
    await receiver.wait_for(
        lambda r: any(
            e["messageId"] == sent_id and e["data"].get("status") == "delivered" for e in r.events()
        )
    )
    await asyncio.sleep(0.2)  # the delivered webhook's own attempt is counted as it settles
    after = await scrape(api)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("redcloud_messages_total", direction="inbound", status="received") == 1
    assert grew("redcloud_optouts_total", action="opt_out", source="keyword") == 1
    assert grew("redcloud_sends_suppressed_total") == 2  # one per refused recipient
    # The send's message and the automatic confirmation, both carried by the sandbox.
    assert grew("redcloud_messages_total", direction="outbound", status="queued") == 2
    assert grew("redcloud_messages_total", status="sent", connector="sandbox") >= 1
    assert grew("redcloud_messages_total", status="delivered", connector="sandbox") >= 1
    assert grew("redcloud_message_delivery_seconds_count", connector="sandbox") >= 1
    assert grew("redcloud_provider_submit_duration_seconds_count", connector="sandbox") >= 1
    assert grew("redcloud_webhook_attempts_total", outcome="delivered") >= 4
    assert grew("redcloud_webhook_delivery_seconds_count") >= 4


@pytest.mark.slow
async def test_two_api_processes_and_a_worker_report_the_right_totals(
    db: Database, env: dict[str, str], tmp_path: Path, receiver: Receiver
) -> None:
    """Sends spread over `serve --processes 2` are summed by either process's /metrics;
    what the worker did is on its health port. Every figure is exact."""
    async with db.session(write=True) as session:
        await inventory.import_blocks(session, inventory.blocks_from_phonenumbers(["RI"]))
    scraped = {**env, "REDCLOUD_METRICS_TOKEN": TOKEN}
    api, base = await asyncio.to_thread(
        start_server,
        ["--demo", "--no-workers", "--processes", "2"],
        scraped,
        tmp_path / "api.log",
    )
    port = free_port()
    worker = spawn(["worker", "--health-port", str(port)], scraped, tmp_path / "worker.log")
    count = 40
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            patched = await client.patch(
                "/api/core/numbers/num_abc123",
                headers={"Authorization": "Bearer rc_token_example"},
                json={"webhookDeliveryOverride": receiver.url("/delivery")},
            )
            assert patched.status_code == 200, patched.text
            ids = await send_many(base, count, "metrics")
            await settle(db, ids, receiver)
            assert (await client.get("/metrics")).status_code == 401
            api_text = await scrape(client)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe:
            assert (await probe.get("/metrics")).status_code == 401
            worker_text = await scrape(probe)
    finally:
        assert worker.terminate() == 0, worker.output()
        api.terminate()
    assert len(set(api.output().split("Started server process"))) >= 3, "two processes served"
    assert value(api_text, "redcloud_http_requests_total", route=SEND_ROUTE, status="202") == count
    assert value(api_text, "redcloud_messages_total", status="queued") == count
    assert value(api_text, "redcloud_messages_total", status="sent") == 0  # --no-workers
    assert value(worker_text, "redcloud_messages_total", status="sent") == count
    assert value(worker_text, "redcloud_messages_total", status="delivered") == count
    assert value(worker_text, "redcloud_message_delivery_seconds_count") == count
    assert value(worker_text, "redcloud_webhook_attempts_total", outcome="delivered") == 3 * count
    for text in (api_text, worker_text):  # read from the database by whoever is scraped
        assert value(text, "redcloud_queue_depth", kind="provider.submit", state="ready") == 0
        assert value(text, "redcloud_database_up") == 1


def test_a_dead_process_keeps_its_counts_and_loses_its_live_gauges(tmp_path: Path) -> None:
    """A child killed without shutting down: its counter still adds up, its live gauge no
    longer does once /metrics has marked it dead."""
    child = (
        "import os\n"
        "from redcloud.metrics.families import SMPP_BOUND, SMPP_RECONNECTS\n"
        "SMPP_BOUND.labels('c1').set(2)\n"
        "SMPP_RECONNECTS.labels('c1').inc(5)\n"
        "os._exit(0)\n"  # no clean-up at all, like SIGKILL
    )
    shared = tmp_path / "serve-1"
    shared.mkdir()
    environment = {**os.environ, processes.ENV: str(shared)}
    subprocess.run([sys.executable, "-c", child], env=environment, check=True, timeout=60)
    subprocess.run([sys.executable, "-c", child], env=environment, check=True, timeout=60)
    assert len(list(shared.glob("gauge_livesum_*.db"))) == 2

    processes.mark_dead(shared)

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(shared))  # type: ignore[no-untyped-call]
    text = generate_latest(registry).decode()
    assert value(text, "redcloud_smpp_reconnects_total", connector="c1") == 10
    assert 'redcloud_smpp_sessions_bound{connector="c1"}' not in text
    assert not list(shared.glob("gauge_livesum_*.db"))


def test_a_server_gets_a_clean_directory_and_clears_those_of_dead_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(processes.ENV, "restored after the test")
    dead = tmp_path / "serve-999999999"  # past any pid_max: no such process
    dead.mkdir()
    (dead / "counter_1.db").write_bytes(b"stale")
    alive = tmp_path / f"serve-{os.getppid()}"
    alive.mkdir()
    mine = processes.prepare(tmp_path)
    assert mine == tmp_path / f"serve-{os.getpid()}"
    assert list(mine.iterdir()) == []
    assert os.environ[processes.ENV] == str(mine)
    assert not dead.exists()
    assert alive.exists()


def exported() -> dict[str, set[str]]:
    """Each metric the platform exports, as documented, with the sample names it gives."""
    found: dict[str, set[str]] = {
        name: {name}
        for name in (
            "redcloud_queue_depth",
            "redcloud_queue_oldest_age_seconds",
            "redcloud_database_up",
        )
    }
    for metric in vars(families).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        name, kind = metric._name, metric._type
        if kind == "counter":
            found[f"{name}_total"] = {f"{name}_total"}
        elif kind == "histogram":
            found[name] = {f"{name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        else:
            found[name] = {name}
    return found


def test_every_metric_is_documented_and_the_dashboard_and_alerts_use_real_ones() -> None:
    docs = (ROOT / "docs" / "observability.md").read_text()
    metrics = exported()
    assert len(metrics) >= 20
    for name in metrics:
        assert f"`{name}" in docs, f"{name} is not in docs/observability.md"
    samples = set().union(*metrics.values())

    dashboard = json.loads((ROOT / "deploy" / "grafana" / "redcloud-dashboard.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "redcloud-alerts.yml").read_text())
    expressions += [r["expr"] for group in rules["groups"] for r in group["rules"]]
    used = {name for e in expressions for name in re.findall(r"\bredcloud_[a-z_]+", e)}
    assert used - samples == set()
    # Every metric has a panel or an alert that reads it.
    shown = {name for name, names in metrics.items() if names & used}
    assert set(metrics) - shown == set()
    for alert in ("RedCloudQueueStalled", "RedCloudConnectorDown", "RedCloudWebhookBacklog"):
        assert alert in docs
