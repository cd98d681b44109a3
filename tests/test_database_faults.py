"""PostgreSQL stopped under traffic: no 202 lost, no send half-written, recovery on its own.

The test starts a throwaway PostgreSQL cluster of its own (initdb and pg_ctl, as the
`postgres` user when run as root) so that stopping it harms nothing else; the machine's
server is never touched. `redcloud serve` (API and workers in one process) takes sends
from concurrent clients while the cluster is stopped and started again. Then:
- every send answered 202 reaches a terminal state and its webhooks reach the receiver;
- every send answered otherwise was all-or-nothing: retried with its Idempotency-Key it is
  accepted (replayed if it had been written) and completes like the rest;
- the API and the worker took new work after the restart without being restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from redcloud.db import Database
from redcloud.messages.models import IdempotencyRecord, Message, MessageEvent
from redcloud.migrate import upgrade
from redcloud.numbers import inventory
from tests.live import free_port
from tests.processes import Proc, start_server
from tests.receiver import Receiver
from tests.test_processes import AUTH, settle

pytestmark = pytest.mark.slow


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    return Path(found[-1]).parent


@dataclass
class Cluster:
    """A PostgreSQL cluster of the test's own, on a free port."""

    root: Path
    port: int = field(default_factory=free_port)
    bindir: Path = field(default_factory=_bindir)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/redcloud"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="redcloud-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(root)
    cluster.init()
    cluster.start()
    try:
        subprocess.run(
            [str(cluster.bindir / "createdb"), "-h", "127.0.0.1"]
            + ["-p", str(cluster.port), "-U", "postgres", "redcloud"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def cluster_db(cluster: Cluster) -> AsyncIterator[Database]:
    db = Database(cluster.url, null_pool=True)  # no pooled connection outlives a stop
    await upgrade(db)
    async with db.session(write=True) as session:  # a small inventory keeps start-up quick
        await inventory.import_blocks(session, inventory.blocks_from_phonenumbers(["RI"]))
    yield db
    await db.dispose()


@dataclass
class Traffic:
    accepted: dict[str, str] = field(default_factory=dict)  # key -> messageId
    refused: dict[str, int] = field(default_factory=dict)  # key -> status (or 0: no answer)


def _body(key: str) -> dict[str, object]:
    return {
        "sendFrom": "num_abc123",
        "to": ["+15005550006"],
        "messageType": "SMS",
        "text": f"through the outage {key}",
        "externalReference": key,
    }


async def _send(client: httpx.AsyncClient, key: str, traffic: Traffic) -> None:
    try:
        response = await client.post(
            "/api/core/messages/send", json=_body(key), headers={"Idempotency-Key": key}
        )
    except httpx.HTTPError:
        traffic.refused[key] = 0
        return
    if response.status_code == 202:
        traffic.accepted[key] = response.json()["results"][0]["messageId"]
        traffic.refused.pop(key, None)
    else:
        assert response.status_code >= 500, response.text  # an outage is never a 4xx
        traffic.refused[key] = response.status_code


async def _drive(base: str, traffic: Traffic, stop: asyncio.Event, prefix: str) -> None:
    """Eight clients sending in turn until told to stop."""
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=15) as client:

        async def one_client(n: int) -> None:
            i = 0
            while not stop.is_set() and i < 400:
                await _send(client, f"{prefix}-{n}-{i}", traffic)
                i += 1
                await asyncio.sleep(0.01)

        await asyncio.gather(*(one_client(n) for n in range(8)))


async def _wait_until_accepting(base: str, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    probe = Traffic()
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=5) as client:
        n = 0
        while not probe.accepted:
            assert loop.time() < deadline, "the API did not recover after the database came back"
            await _send(client, f"probe-{n}", probe)
            n += 1
            await asyncio.sleep(0.2)


async def test_postgres_stopped_under_traffic_loses_nothing_and_recovers(
    cluster: Cluster, cluster_db: Database, tmp_path: Path, receiver: Receiver
) -> None:
    env = {
        "REDCLOUD_DATABASE_URL": cluster.url,
        "REDCLOUD_DATA_DIR": str(tmp_path / "data"),
        "REDCLOUD_SANDBOX_DELIVERY_DELAY": "0.2",
        "REDCLOUD_SANDBOX_SUBMIT_LATENCY": "0.01",
        "REDCLOUD_WORKER_POLL_SECONDS": "0.2",
        "REDCLOUD_WORKER_LEASE_SECONDS": "5",
        "REDCLOUD_WEBHOOK_RETRY_SCHEDULE": "0.5,0.5,1,2",
        "REDCLOUD_CLIENT_REQUESTS_PER_MINUTE": "0",
    }
    server: Proc
    server, base = await asyncio.to_thread(start_server, ["--demo"], env, tmp_path / "api.log")
    try:
        async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=10) as client:
            patched = await client.patch(
                "/api/core/numbers/num_abc123", json={"webhookDeliveryOverride": receiver.url()}
            )
            assert patched.status_code == 200, patched.text
        traffic, stop = Traffic(), asyncio.Event()
        driving = asyncio.create_task(_drive(base, traffic, stop, "outage"))
        while len(traffic.accepted) < 40:  # traffic is flowing
            await asyncio.sleep(0.05)
        await asyncio.to_thread(cluster.stop)
        before_restart = len(traffic.refused)
        await asyncio.sleep(3)  # sends keep coming while the database is down
        assert len(traffic.refused) > before_restart, "no send met the outage"
        await asyncio.to_thread(cluster.start)
        await _wait_until_accepting(base)
        accepted_before = len(traffic.accepted)
        while len(traffic.accepted) < accepted_before + 40:  # new work after the restart
            await asyncio.sleep(0.05)
        stop.set()
        await driving

        print(f"{len(traffic.accepted)} accepted, {len(traffic.refused)} refused in the outage")
        # Refused sends were all-or-nothing: each retried with its key is accepted now.
        async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=15) as client:
            for key in list(traffic.refused):
                await _send(client, key, traffic)
        assert not traffic.refused, traffic.refused
        ids = list(traffic.accepted.values())
        assert len(set(ids)) == len(ids)
        await settle(cluster_db, ids, receiver, timeout=120)
        async with cluster_db.session() as session:
            stored = await session.scalar(
                select(func.count()).select_from(Message).where(Message.id.in_(ids))
            )
            keys = await session.scalar(select(func.count()).select_from(IdempotencyRecord))
            queued = await session.scalar(
                select(func.count())
                .select_from(MessageEvent)
                .where(MessageEvent.message_id.in_(ids), MessageEvent.sequence == 1)
            )
        assert stored == len(ids)  # no 202 lost
        assert queued == len(ids)  # every message has its first event
        assert keys is not None
        assert keys >= len(ids)
        assert server.process.poll() is None  # recovered without a restart
    finally:
        server.terminate()
