"""Apply the Alembic migrations to the configured database, SQLite or PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from redcloud.db import Database


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "redcloud:migrations")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""

    def _run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with database.engine.begin() as conn:
        await conn.run_sync(_run)


async def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.engine.connect() as conn:
        return await conn.run_sync(_read)
