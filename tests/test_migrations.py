"""The Alembic migrations produce exactly the models' schema, on both engines."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from redcloud.db import Database
from redcloud.migrate import current_revision, upgrade
from redcloud.models import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
        assert await current_revision(db) is not None
    finally:
        await db.dispose()


async def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        await upgrade(db)
        head = await current_revision(db)
        await upgrade(db, "head")  # idempotent
        from alembic import command

        from redcloud.migrate import alembic_config

        def down(connection: Connection) -> None:
            command.downgrade(alembic_config(connection), "base")

        async with db.engine.begin() as conn:
            await conn.run_sync(down)
        assert await current_revision(db) is None
        await upgrade(db)
        assert await current_revision(db) == head
    finally:
        await db.dispose()
