"""Fixtures: every database test runs on real SQLite and, when configured, real PostgreSQL.

REDCLOUD_TEST_POSTGRES_URL names a PostgreSQL server; the suite creates a fresh database on
it for the run and drops it afterwards. When the variable is set and the server cannot be
reached, the run fails: it never silently skips PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from redcloud.app import create_app
from redcloud.auth.security import SecretBox
from redcloud.cli.main import app as cli_app
from redcloud.config import Settings
from redcloud.db import Database
from redcloud.migrate import upgrade
from redcloud.models import Base
from tests import factories
from tests.live import LiveServer
from tests.receiver import Receiver

POSTGRES_URL = os.environ.get("REDCLOUD_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked one_database run once, on SQLite, instead of once per database."""
    drop = [
        item
        for item in items
        if item.get_closest_marker("one_database")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database_url") == "postgres"
    ]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item not in drop]


def _pg_dsn(url: str, database: str | None = None) -> str:
    base = url.replace("postgresql+asyncpg://", "postgresql://")
    if database is None:
        return base
    return base.rsplit("/", 1)[0] + "/" + database


async def _create_pg_database() -> tuple[str, str]:
    assert POSTGRES_URL
    name = f"redcloud_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        conn = await asyncpg.connect(_pg_dsn(POSTGRES_URL), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"REDCLOUD_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {exc}")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, _pg_dsn(POSTGRES_URL, name)


async def _drop_pg_database(name: str) -> None:
    assert POSTGRES_URL
    conn = await asyncpg.connect(_pg_dsn(POSTGRES_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated database for the whole run, one per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'redcloud.db'}"
        name = None
    else:
        name, url = await _create_pg_database()
    db = Database(url)
    await upgrade(db)
    await db.dispose()
    yield url
    if name:
        await _drop_pg_database(name)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The run's database, emptied before each test."""
    database = Database(database_url)
    async with database.session(write=True) as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(text(f'DELETE FROM "{table.name}"'))
    yield database
    await database.dispose()


@pytest.fixture
def backend(db: Database) -> str:
    return db.dialect


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, demo=True)


@pytest.fixture
def box(settings: Settings) -> SecretBox:
    return SecretBox.from_settings(settings.secret_key, settings.data_dir)


AppWith = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def app_with(db: Database, settings: Settings) -> AsyncIterator[AppWith]:
    """Build an in-process HTTP client for an app with settings overridden as given."""
    clients: list[httpx.AsyncClient] = []

    def build(**overrides: Any) -> httpx.AsyncClient:
        inventory = overrides.pop("inventory", None)
        app = create_app(
            settings.model_copy(update=overrides),
            database=db,
            inventory=inventory,
            run_maintenance=False,
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://testserver",
        )
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def api(app_with: AppWith) -> httpx.AsyncClient:
    """A client for the app in demo mode (the static rc_token_example works)."""
    return app_with()


@pytest.fixture
async def demo(db: Database, box: SecretBox) -> None:
    """The canonical demo data set."""
    await factories.seed_demo(db, box)


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": "Bearer rc_token_example"}


@pytest.fixture
async def small_inventory(db: Database) -> None:
    """Pre-load one state so a demo server's start-up skips loading the whole country."""
    from redcloud.numbers import inventory

    async with db.session(write=True) as session:
        await inventory.import_blocks(session, inventory.blocks_from_phonenumbers(["TX"]))


StartServer = Callable[..., LiveServer]


@pytest.fixture
def start_server(small_inventory: None, database_url: str, tmp_path: Path) -> Iterator[StartServer]:
    """Start `redcloud serve --demo` processes on the test database, with extra settings."""
    started: list[LiveServer] = []

    def start(*args: str, **settings: str) -> LiveServer:
        server = LiveServer(database_url, tmp_path / "data", settings, list(args)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def live_server(start_server: StartServer) -> LiveServer:
    return start_server()


@pytest.fixture
def server(live_server: LiveServer) -> str:
    """The base URL of a live demo server."""
    return live_server.base


@pytest.fixture
def server_env(live_server: LiveServer) -> dict[str, str]:
    """The environment the server runs with, for commands that must share its database."""
    return live_server.env


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that verifies signatures as the docs' recipe does."""
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
def cli(db: Database, database_url: str, data_dir: Path) -> Any:
    runner = CliRunner()
    env = {"REDCLOUD_DATABASE_URL": database_url, "REDCLOUD_DATA_DIR": str(data_dir)}

    async def invoke(*args: str, ok: bool = True) -> Any:
        # The CLI runs its own event loop (asyncio.run), so it gets a thread of its own.
        result = await asyncio.to_thread(runner.invoke, cli_app, list(args), env=env)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture
async def hooked(
    api: httpx.AsyncClient, demo: None, receiver: Receiver, auth: dict[str, str]
) -> None:
    """The demo number's webhooks point at the local receiver."""
    response = await api.patch(
        "/api/core/numbers/num_abc123",
        headers=auth,
        json={
            "webhookDeliveryOverride": receiver.url("/delivery"),
            "webhookInboundOverride": receiver.url("/inbound"),
        },
    )
    assert response.status_code == 200
