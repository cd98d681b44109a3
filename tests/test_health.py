"""/healthz and /readyz: in the API, and from a worker process with --health-port."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from redcloud.db import Database
from redcloud.health import newest_revision, readiness
from redcloud.migrate import upgrade
from tests.live import free_port
from tests.processes import spawn
from tests.test_processes import env

__all__ = ["env"]  # a fixture: the worker's environment


async def test_the_api_is_alive_and_ready(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "alive"}
    response = await api.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"]["current"] == newest_revision()
    assert "connectors" not in body["checks"]  # this app runs no pipeline
    assert "/readyz" not in (await api.get("/openapi.json")).text


@pytest.mark.one_database
async def test_an_unreachable_database_or_an_old_schema_is_not_ready(tmp_path: Path) -> None:
    gone = Database("postgresql://postgres@127.0.0.1:1/nothing")
    ready, checks = await readiness(gone, None)
    await gone.dispose()
    assert ready is False
    assert checks["database"]["ok"] is False

    behind = Database(f"sqlite:///{tmp_path / 'old.db'}")
    await upgrade(behind, "0005")
    ready, checks = await readiness(behind, None)
    await behind.dispose()
    assert ready is False
    assert checks["migrations"] == {"ok": False, "current": "0005", "newest": newest_revision()}


@pytest.mark.slow
async def test_a_worker_serves_its_probes(
    env: dict[str, str], tmp_path: Path, db: Database
) -> None:
    port = free_port()
    worker = spawn(["worker", "--health-port", str(port)], env, tmp_path / "worker.log")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    alive = await client.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert alive.json() == {"status": "alive"}
            ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["connectors"]["sandbox"]["ok"] is True
    finally:
        assert worker.terminate() == 0, worker.output()
