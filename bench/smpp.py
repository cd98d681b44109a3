"""SMPP figures for `make bench`: the test SMSC (npm `smpp`, tests/smsc) as the carrier.

- **connector**: one connector (one bind, window 64, --mps 0) submitting a backlog of
  10,000 messages: submit_sm out, submit_sm_resp back, nothing else. The connector's own
  ceiling, without the job queue.
- **backlog**: the same 10,000 messages queued through the API first, then one worker
  draining them through the connector to `sent` (claim, submit, record): the carrier path
  of the pipeline.
- **end to end**: HTTP send -> worker -> SMPP -> receipt -> delivery webhook, under the
  same 16-connection load as the sandbox pipeline, with accept -> delivery p50/p99.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import PYTHON, ROOT, CpuMeter, Service, services, wrk

SMSC = ROOT / "tests" / "smsc" / "smsc.js"
BACKLOG = 10_000


def smsc(name: str, **config: Any) -> tuple[Service, int]:
    """The test SMSC, quiet (no line per submit), and the port it listens on."""
    log = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log")[1])
    handle = log.open("wb")
    process = subprocess.Popen(
        ["node", str(SMSC), json.dumps({"quiet": True, **config})],
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if event.get("event") == "listening":
                return Service(name, process), int(event["port"])
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the test SMSC did not start; see {log}")


def add_connector(env: dict[str, str], port: int, *extra: str) -> None:
    """The operator's way: `redcloud connectors add-smpp`, then route the demo number."""
    for argv in (
        [
            "connectors", "add-smpp", "bench", "--host", "127.0.0.1", "--port", str(port),
            "--system-id", "redcloud", "--password", "secret", "--window", "64", *extra,
        ],
        ["numbers", "set-connector", "num_abc123", "bench"],
    ):  # fmt: skip
        subprocess.run(
            [PYTHON, "-m", "redcloud", *argv], env=env, check=True, capture_output=True, cwd=ROOT
        )


def connector_throughput(url: str, data_dir: Path) -> dict[str, Any]:
    """10,000 submits through one SmppConnector, as fast as the window allows."""
    return asyncio.run(_connector_throughput(url, data_dir))


async def _connector_throughput(url: str, data_dir: Path) -> dict[str, Any]:
    from redcloud.auth.security import SecretBox
    from redcloud.db import Database
    from redcloud.migrate import upgrade
    from redcloud.providers.base import Accepted, OutboundMessage
    from redcloud.providers.smpp.connector import SmppConnector
    from redcloud.providers.smpp.options import SmppOptions

    peer, port = smsc("smsc-connector")
    db = Database(url)
    await upgrade(db)
    box = SecretBox.from_settings(None, data_dir)
    options = SmppOptions(
        host="127.0.0.1",
        port=port,
        system_id="redcloud",
        password_encrypted=box.encrypt("secret").decode(),
        window=64,
        mps=0,
    )
    connector = SmppConnector(db, "bench", options, box)
    try:
        await connector.start()
        while not connector.health()["bound_sessions"]:
            await asyncio.sleep(0.05)
        gate = asyncio.Semaphore(256)  # plenty above the window: the window is the limit

        async def one(n: int) -> bool:
            message = OutboundMessage(
                f"msg_bench_{n}", "+15551234567", "+15005550006", "SMS", f"backlog {n}", None
            )
            async with gate:
                return isinstance(await connector.submit(message), Accepted)

        meter = CpuMeter({"smsc (node)": [*peer.tree()]})
        meter.start()
        began = time.perf_counter()
        accepted = sum(await asyncio.gather(*(one(n) for n in range(BACKLOG))))
        seconds = time.perf_counter() - began
        cpu = meter.stop()
    finally:
        await connector.stop()
        await db.dispose()
        peer.stop()
    row = {
        "messages": BACKLOG,
        "accepted": accepted,
        "seconds": round(seconds, 2),
        "submits_per_second": round(accepted / seconds, 1),
        "window": 64,
        "cpu_percent": cpu,
    }
    print(f"  smpp     connector  {row['submits_per_second']:>8} submit_sm/s (window 64)")
    return row


async def _count_sent(url: str) -> int:
    from sqlalchemy import func, select

    from redcloud.db import Database
    from redcloud.messages.models import Message

    db = Database(url)
    try:
        async with db.session() as session:
            count = await session.scalar(
                select(func.count()).select_from(Message).where(Message.status == "sent")
            )
    finally:
        await db.dispose()
    return int(count or 0)


def queue_backlog(base: str, headers: dict[str, str]) -> None:
    """10,000 accepted messages: 100 sends of 100 distinct recipients."""
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for batch in range(BACKLOG // 100):
            response = client.post(
                "/api/core/messages/send",
                headers={"Idempotency-Key": f"backlog-{batch}-{time.time_ns()}"},
                json={
                    "sendFrom": "num_abc123",
                    "to": [f"+1500555{n:04d}" for n in range(batch * 100, batch * 100 + 100)],
                    "messageType": "SMS",
                    "text": f"backlog batch {batch}",
                    "externalReference": f"backlog-{batch}",
                },
            )
            if response.status_code != 202:
                raise RuntimeError(f"the backlog send was refused: {response.text}")


def backlog_drain(
    backend: str, url: str, env: dict[str, str], serve: Any, worker: Any
) -> dict[str, Any]:
    """A worker drains 10,000 queued messages through the connector to `sent`."""
    peer, port = smsc(f"smsc-backlog-{backend}")
    api = serve(f"smpp-backlog-{backend}", env, "--no-workers")
    with services(peer, api):
        add_connector(env, port)
        queue_backlog(api.base, {"Authorization": "Bearer rc_token_example"})
        began = time.perf_counter()
        drainer = worker(f"smpp-backlog-{backend}-worker", env)
        with services(drainer):
            meter = CpuMeter({"worker": drainer.tree(), "smsc (node)": peer.tree()})
            meter.start()
            sent = 0
            deadline = time.monotonic() + 600
            while sent < BACKLOG and time.monotonic() < deadline:
                time.sleep(0.5)
                sent = asyncio.run(_count_sent(url))
            seconds = time.perf_counter() - began
            cpu = meter.stop()
    row = {
        "backend": backend,
        "messages": BACKLOG,
        "sent": sent,
        "seconds": round(seconds, 2),
        "messages_per_second": round(sent / seconds, 1),
        "cpu_percent": cpu,
    }
    print(f"  smpp     backlog {backend:<10} {row['messages_per_second']:>8} msg/s to sent")
    return row


def end_to_end(
    backend: str,
    seconds: float,
    setup: Any,
    drain: Any,
    load_env: Any,
    rate: float | None = None,
) -> dict[str, Any]:
    """HTTP send -> SMPP -> receipt -> message.delivery: at full speed (16 connections, the
    sandbox pipeline's load), or paced at `rate` messages a second (8 connections) for the
    latency a message sees when the pipeline is not saturated."""
    peer, port = smsc(f"smsc-e2e-{backend}", receipts=True, receiptDelayMs=0)
    started, receiver, named, env = setup(backend, rate)
    connections = 16 if rate is None else 8
    with services(peer, *started):
        add_connector(env, port)
        api = named["api"]
        time.sleep(3)  # the workers' registries see the new connector and bind
        load = load_env(api.base, f"smpp-{backend}")
        if rate is not None:
            load["BENCH_DELAY_MS"] = str(max(1, round(connections * 1000 / rate)))
        began_ms = time.time_ns() // 1_000_000
        run = wrk(f"{api.base}/api/core/messages/send", connections, seconds, load, {})
        accepted = run["requests"] - run["errors"]
        stats = drain(receiver, accepted)
    latencies = stats["acceptToDeliveryMs"]
    elapsed = max(0.001, (stats["lastMs"] - began_ms) / 1000) if stats["lastMs"] else float("inf")
    delivered = stats["counts"].get("message.delivery", 0)
    row = {
        "backend": backend,
        "paced": rate is not None,
        "offered_rate": run["rps"],
        "accepted": accepted,
        "delivered": delivered,
        "bad_signatures": stats["badSignatures"],
        "messages_per_second": round(accepted / elapsed, 1),
        "p50_ms": latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else None,
        "command": run["command"]
        + (f"  (BENCH_DELAY_MS={load['BENCH_DELAY_MS']})" if rate else ""),
    }
    how = "full speed" if rate is None else f"paced at {run['rps']} msg/s"
    print(
        f"  smpp     e2e {backend:<10} {how}: {row['messages_per_second']:>8} msg/s"
        f"  p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms  delivered {delivered}/{accepted}"
    )
    return row
