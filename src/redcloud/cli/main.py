"""The `redcloud` command."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import typer
import uvicorn
from sqlalchemy import func, select

from redcloud import __version__, tracing
from redcloud.auth.security import SecretBox
from redcloud.cli import (
    accounts,
    clients,
    connectors,
    listen,
    messages,
    numbers,
    operators,
    optouts,
    sandbox,
    webhooks,
)
from redcloud.cli.common import emit_one, out, settings
from redcloud.config import Settings
from redcloud.db import Database
from redcloud.logs import configure as configure_logging
from redcloud.metrics import processes as metric_processes

app = typer.Typer(
    help="Red Cloud: a self-hostable SMS/MMS platform (the Red Cloud CORE API).",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Schema migrations and housekeeping.", no_args_is_help=True)
demo_app = typer.Typer(help="The canonical demo data set of the public docs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts.app, name="accounts")
app.add_typer(clients.app, name="clients")
app.add_typer(numbers.app, name="numbers")
app.add_typer(connectors.app, name="connectors")
app.add_typer(demo_app, name="demo")
app.add_typer(messages.app, name="messages")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(optouts.app, name="optouts")
app.add_typer(operators.app, name="operators")
app.command("listen")(listen.listen)


@app.callback()
def _logging() -> None:
    """Operator commands log warnings to stderr; serve and worker reconfigure from settings."""
    configure_logging("WARNING", "console")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the configured database."""
    asyncio.run(_upgrade(settings()))
    out.print("[green]database is up to date[/green]")


@db_app.command("purge")
def db_purge(as_json: bool = typer.Option(False, "--json")) -> None:
    """Delete idempotency records and access tokens past their retention now."""
    from redcloud.maintenance import purge_once

    async def _main() -> dict[str, int]:
        db = Database(settings().resolved_database_url)
        try:
            purged = await purge_once(db)
        finally:
            await db.dispose()
        return {
            "idempotencyRecords": purged.idempotency_records,
            "accessTokens": purged.access_tokens,
        }

    emit_one(asyncio.run(_main()), as_json)


@demo_app.command("seed")
def demo_seed(
    inventory: bool = typer.Option(
        True, "--inventory/--no-inventory", help="Also load the US inventory if it is empty."
    ),
) -> None:
    """Create or restore the demo account, client, number, token and message."""
    asyncio.run(_prepare(settings(), demo=True, inventory=inventory))
    out.print("[green]demo data seeded[/green]: client rc_test_client_123, number num_abc123")


@app.command()
def serve(
    demo: bool = typer.Option(False, "--demo", help="Seed and serve the canonical demo data."),
    host: str | None = typer.Option(None, "--host", help="Default: REDCLOUD_HOST or 127.0.0.1."),
    port: int | None = typer.Option(None, "--port", help="Default: REDCLOUD_PORT or 8080."),
    migrate: bool | None = typer.Option(
        None, "--migrate/--no-migrate", help="Apply migrations first (default: on for SQLite)."
    ),
    workers: bool = typer.Option(
        True, "--workers/--no-workers", help="Run the pipeline's workers in this process."
    ),
    processes: int = typer.Option(
        1, "--processes", min=1, max=64, help="API processes sharing the port (one per core)."
    ),
) -> None:
    """Run the CORE API (and, unless --no-workers, the message pipeline)."""
    from redcloud.app import create_app

    config = settings()
    overrides: dict[str, object] = {"demo": config.demo or demo, "run_workers": workers}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    config = config.model_copy(update=overrides)
    configure_logging(config.log_level, config.log_format)
    if migrate if migrate is not None else config.is_sqlite or config.demo:
        asyncio.run(_upgrade(config))
    if config.demo:
        asyncio.run(_prepare(config, demo=True, inventory=True))
        out.print(
            "[bold]demo mode[/bold]: client rc_test_client_123 / rc_secret_abc123, "
            "token rc_token_example, number num_abc123"
        )
    out.print(
        f"Red Cloud CORE API on http://{config.host}:{config.port}"
        + (f" ({processes} processes)" if processes > 1 else "")
    )
    server_options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "loop": "uvloop",
        "http": "httptools",
        "log_level": config.log_level.lower(),
        "log_config": None,  # every line goes through redcloud.logs, in every process
        "access_log": False,  # the API writes its own access line (redcloud.middleware)
        "server_header": False,
    }
    if processes == 1:
        uvicorn.run(create_app(config, run_workers=config.run_workers), **server_options)
        return
    # Each process builds its own app from the environment; hand the flags down through it,
    # and the directory where their metrics meet (read when a child first imports them).
    metric_processes.prepare(config.metrics_dir or config.data_dir / "metrics")
    for name, value in overrides.items():
        os.environ[f"REDCLOUD_{name.upper()}"] = str(value).lower()
    uvicorn.run(
        "redcloud.app:app_from_environment", factory=True, workers=processes, **server_options
    )


@app.command()
def worker(
    health_port: int | None = typer.Option(
        None, "--health-port", help="Serve /healthz, /readyz and /metrics on this port"
    ),
    health_host: str = typer.Option(
        "127.0.0.1", "--health-host", help="Address for --health-port (0.0.0.0 in a container)"
    ),
) -> None:
    """Run the message pipeline alone: submit, delivery reports, webhooks, housekeeping.

    Stops on SIGTERM or Ctrl-C, finishing in-flight jobs (or handing them back).
    """
    from redcloud.health import serve_probes
    from redcloud.pipeline import Pipeline

    config = settings()
    configure_logging(config.log_level, config.log_format)
    tracing.configure("redcloud-worker")

    async def _main() -> None:
        db = Database(config.resolved_database_url, pool_size=config.db_pool_size)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        pipeline = Pipeline.build(db, config)
        try:
            async with pipeline.running():
                probes = None
                if health_port is not None:
                    probes = await serve_probes(
                        db, pipeline.registry, config, health_host, health_port
                    )
                out.print("Red Cloud worker running (Ctrl-C to stop)")
                await stop.wait()
                if probes is not None:
                    await probes.cleanup()
        finally:
            await db.dispose()

    asyncio.run(_main())


async def _upgrade(config: Settings) -> None:
    from redcloud.migrate import upgrade

    db = Database(config.resolved_database_url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


async def _prepare(config: Settings, *, demo: bool, inventory: bool) -> None:
    """Seed the demo data and, if the inventory is empty, load the built-in one."""
    from redcloud import demo as demo_data
    from redcloud.cli.numbers import load_inventory
    from redcloud.numbers.models import InventoryBlock

    db = Database(config.resolved_database_url)
    try:
        await _upgrade(config)
        if inventory:
            async with db.session(write=True) as session:
                present = await session.scalar(select(func.count()).select_from(InventoryBlock))
                if not present or present <= len(demo_data.DEMO_BLOCKS):
                    blocks, zips = await load_inventory(session, None, None)
                    out.print(f"loaded the US inventory: {blocks} blocks, {zips} ZIP codes")
        if demo:
            box = SecretBox.from_settings(config.secret_key, config.data_dir)
            async with db.session(write=True) as session:
                await demo_data.seed(session, box)
    finally:
        await db.dispose()
