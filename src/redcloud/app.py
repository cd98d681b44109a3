"""create_app(settings): routers, error handlers, OpenAPI, and the resources' lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from redcloud import API_VERSION, tracing
from redcloud.auth.routes import router as auth_router
from redcloud.config import Settings
from redcloud.db import Database
from redcloud.handlers import install_error_handlers
from redcloud.health import router as health_router
from redcloud.logs import configure as configure_logging
from redcloud.maintenance import purge_forever
from redcloud.messages.batching import SendBatcher
from redcloud.messages.idempotency import InFlightKeys
from redcloud.messages.routes import router as messages_router
from redcloud.metrics import processes as metric_processes
from redcloud.metrics.routes import router as metrics_router
from redcloud.middleware import RequestContextMiddleware
from redcloud.numbers.inventory import EmbeddedInventory, InventorySource
from redcloud.numbers.routes import router as numbers_router
from redcloud.pipeline import Pipeline
from redcloud.providers.routes import router as sandbox_router
from redcloud.ratelimit import FailureCounter, RequestLimiter

TAGS = [
    {"name": "Authentication", "description": "OAuth token issuance for CORE API access."},
    {
        "name": "CORE",
        "description": "Authenticated routes for identity, numbers, and outbound messaging.",
    },
    {
        "name": "Sandbox",
        "description": "The sandbox carrier: simulate inbound traffic, inspect what it received.",
    },
]


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    inventory: InventorySource | None = None,
    run_maintenance: bool = True,
    run_workers: bool = False,
) -> FastAPI:
    """The CORE API application. A given `database` is used as is and left open at shutdown.

    With `run_workers` the pipeline (a worker and housekeeping) runs in this process, which
    also takes over the purge; otherwise `run_maintenance` runs the purge alone.
    """
    owns_db = database is None
    tracing.configure()  # only if an OTLP endpoint is configured
    db = database or Database(settings.resolved_database_url, pool_size=settings.db_pool_size)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(metric_processes.leave)  # last: its live gauges stop counting
            if owns_db:
                stack.push_async_callback(db.dispose)
            stack.push_async_callback(app.state.sends.close)  # before the database closes
            if run_workers:
                app.state.pipeline = Pipeline.build(db, settings)
                await stack.enter_async_context(app.state.pipeline.running())
            elif run_maintenance:
                purge = asyncio.create_task(purge_forever(db, settings.purge_interval_seconds))
                stack.callback(purge.cancel)
            yield

    app = FastAPI(
        title="Red Cloud CORE API",
        version=API_VERSION,
        description="The Red Cloud CORE API: OAuth client credentials, identity, numbers and "
        "queue-first messaging.",
        openapi_tags=TAGS,
        lifespan=lifespan,
        # The interactive docs load scripts from a CDN: served only where asked for.
        docs_url="/docs" if settings.api_docs or settings.demo else None,
        redoc_url=None,
        # A trailing slash is a different path: a 404 in the contract's wrapper, not an
        # empty-bodied redirect.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.inventory = inventory or EmbeddedInventory()
    app.state.in_flight = InFlightKeys()
    app.state.sends = SendBatcher(db)
    app.state.limiter = RequestLimiter(db, settings.client_requests_per_minute, 60)
    app.state.auth_failures = FailureCounter(db, settings.auth_failure_window_seconds)
    install_error_handlers(app)
    app.include_router(auth_router)
    app.include_router(numbers_router)
    app.include_router(messages_router)
    app.include_router(sandbox_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    if settings.console:
        from redcloud.console.app import create_console

        app.mount("/console", create_console(settings, db))
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        access_log=settings.access_log,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=TAGS,
            )
            _drop_fastapi_validation_responses(schema)
            _add_links(schema)
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes["BasicAuth"] = {
                "type": "http",
                "scheme": "basic",
                "description": "client_id:client_secret, for POST /api/auth/token only.",
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _drop_fastapi_validation_responses(schema: dict[str, Any]) -> None:
    """FastAPI documents a 422 on every route; our validation failures are 400s."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    schemas = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


# OpenAPI links: where a response's ids lead (clients and schemathesis's stateful tests
# follow them). (source path, method, status) → (link name, target path, method, parameters)
_LINKS = [
    (
        ("/api/core/messages/send", "post", "202"),
        ("GetMessage", "/api/core/messages/{messageId}", "get"),
        {"messageId": "$response.body#/results/0/messageId"},
    ),
    (
        ("/api/core/messages", "get", "200"),
        ("GetMessage", "/api/core/messages/{messageId}", "get"),
        {"messageId": "$response.body#/messages/0/messageId"},
    ),
    (
        ("/api/sandbox/inbound", "post", "202"),
        ("GetMessage", "/api/core/messages/{messageId}", "get"),
        {"messageId": "$response.body#/messageId"},
    ),
    (
        ("/api/core/numbers", "get", "200"),
        ("UpdateNumber", "/api/core/numbers/{numberId}", "patch"),
        {"numberId": "$response.body#/numbers/0/numberId"},
    ),
]


def _add_links(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    for (path, method, status), (name, target, target_method), parameters in _LINKS:
        response = paths[path][method]["responses"][status]
        operation_id = paths[target][target_method]["operationId"]
        response.setdefault("links", {})[name] = {
            "operationId": operation_id,
            "parameters": parameters,
        }


def app_from_environment() -> FastAPI:
    """The app as `serve --processes N` builds it in each process, from REDCLOUD_* settings."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, run_workers=settings.run_workers)
