"""/healthz and /readyz, for load balancers and orchestrators.

- `/healthz`: the process is alive and its event loop answers. Always 200.
- `/readyz`: 200 when the process can do its work, else 503, with every check in the body:
  the database answers within 2 seconds; its schema is at the newest migration; and, in a
  process that runs the pipeline, every connector it runs is up. An SMPP connector is up
  when each bind slot this process holds has a bound session (a worker that holds no slot
  of a connector has nothing to check for it).

Both are outside the CORE API (no token, not in the OpenAPI) and are never rate limited.
`redcloud worker --health-port N` serves them, and /metrics, for a worker process.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from aiohttp import web
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from redcloud.config import Settings
from redcloud.db import Database
from redcloud.logs import safe_error
from redcloud.metrics.exposition import CONTENT_TYPE, refusal, render
from redcloud.metrics.routes import CHALLENGE
from redcloud.migrate import alembic_config, current_revision
from redcloud.providers.registry import Registry

router = APIRouter(include_in_schema=False)
CHECK_SECONDS = 2.0


@cache
def newest_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def readiness(db: Database, registry: Registry | None) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {}
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            async with db.lone_read() as conn:
                await conn.execute(text("SELECT 1"))
            revision = await current_revision(db)
        checks["database"] = {"ok": True}
        head = newest_revision()
        checks["migrations"] = {"ok": revision == head, "current": revision, "newest": head}
    except Exception as exc:  # unreachable, or too slow to count as reachable
        checks["database"] = {"ok": False, "error": safe_error(exc) or type(exc).__name__}
        checks["migrations"] = {"ok": False, "error": "the database did not answer"}
    if registry is not None:
        connectors = {}
        for name, adapter in registry.adapters().items():
            state = adapter.health()
            slots, bound = state.get("slots"), state.get("bound_sessions")
            if isinstance(slots, list) and isinstance(bound, int):
                up = bound >= len(slots)  # every slot this process holds has its session
            else:
                up = state.get("state") == "up"
            connectors[name] = {"ok": bool(up), **state}
        checks["connectors"] = connectors
        ready_connectors = all(c["ok"] for c in connectors.values())
    else:
        ready_connectors = True
    ready = checks["database"]["ok"] and checks["migrations"]["ok"] and ready_connectors
    return bool(ready), checks


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    pipeline = getattr(request.app.state, "pipeline", None)
    ready, checks = await readiness(
        request.app.state.db, pipeline.registry if pipeline is not None else None
    )
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


async def serve_probes(
    db: Database, registry: Registry, settings: Settings, host: str, port: int
) -> web.AppRunner:
    """/healthz, /readyz and /metrics for a worker process, which serves no API. The caller
    cleans the returned runner up at shutdown."""

    async def alive(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def ready(_request: web.Request) -> web.Response:
        ok, checks = await readiness(db, registry)
        body = {"status": "ready" if ok else "not ready", "checks": checks}
        return web.json_response(body, status=200 if ok else 503)

    async def metrics(request: web.Request) -> web.Response:
        refused = refusal(settings, request.headers.get("Authorization"))
        if refused is not None:
            status, text = refused
            return web.Response(
                text=text, status=status, headers=CHALLENGE if status == 401 else None
            )
        body = await render(db)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/healthz", alive)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
