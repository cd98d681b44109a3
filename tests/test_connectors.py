"""Connectors: the registry that picks a message's carrier, and the operator commands.

The sandbox is the built-in connector. A second connector of the sandbox kind stands in
for a carrier link here, so routing, disabling and re-enabling are tested end to end
through a running worker without a restart.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from redcloud.config import Settings
from redcloud.db import Database
from redcloud.messages.models import Message
from redcloud.pipeline import Pipeline
from redcloud.providers.models import Connector, SandboxSubmission
from redcloud.providers.registry import Registry, Unavailable
from tests.factories import send, send_body
from tests.receiver import Receiver
from tests.test_cli import as_json
from tests.test_pipeline import FAST


async def add_link(db: Database, name: str, status: str = "enabled") -> None:
    async with db.session(write=True) as session:
        session.add(Connector(name=name, kind="sandbox", status=status, settings={}))


async def status_of(db: Database, message_id: str) -> str:
    async with db.session() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message.status


async def wait_for_status(db: Database, message_id: str, wanted: str, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await status_of(db, message_id) != wanted:
        assert loop.time() < deadline, f"{message_id} never became {wanted}"
        await asyncio.sleep(0.1)


async def test_the_builtin_sandbox_is_listed_as_the_default(cli: Any, db: Database) -> None:
    listed = as_json(await cli("connectors", "list", "--json"))
    assert listed == [{"name": "sandbox", "kind": "sandbox", "status": "enabled", "default": True}]
    shown = as_json(await cli("connectors", "show", "sandbox", "--json"))
    assert shown["numbers"] == 0


async def test_operators_disable_move_and_remove_connectors(
    cli: Any, db: Database, demo: None
) -> None:
    await add_link(db, "carrier-a")
    refused = await cli("connectors", "remove", "sandbox", ok=False)
    assert refused.exit_code == 1
    assert "cannot be removed" in refused.output
    assert as_json(await cli("connectors", "set-default", "carrier-a", "--json"))["default"]
    listed = {c["name"]: c for c in as_json(await cli("connectors", "list", "--json"))}
    assert listed["sandbox"]["default"] is False
    busy = await cli("connectors", "remove", "carrier-a", ok=False)
    assert "default connector" in busy.output
    await cli("connectors", "set-default", "sandbox")
    moved = as_json(await cli("numbers", "set-connector", "num_abc123", "carrier-a", "--json"))
    assert moved["connector"] == "carrier-a"
    in_use = await cli("connectors", "remove", "carrier-a", ok=False)
    assert "1 number(s)" in in_use.output
    unknown = await cli("numbers", "set-connector", "num_abc123", "nowhere", ok=False)
    assert "No connector 'nowhere'" in unknown.output
    await cli("numbers", "set-connector", "num_abc123", "--clear")
    disabled = as_json(await cli("connectors", "set-status", "carrier-a", "disabled", "--json"))
    assert disabled["status"] == "disabled"
    wrong = await cli("connectors", "set-status", "carrier-a", "paused", ok=False)
    assert "enabled, disabled" in wrong.output
    await cli("connectors", "remove", "carrier-a")
    assert [c["name"] for c in as_json(await cli("connectors", "list", "--json"))] == ["sandbox"]


async def test_a_disabled_connector_holds_its_messages_until_enabled_without_a_restart(
    cli: Any,
    api: httpx.AsyncClient,
    db: Database,
    auth: dict[str, str],
    settings: Settings,
    receiver: Receiver,
    hooked: None,
) -> None:
    await add_link(db, "carrier-a", status="disabled")
    await cli("numbers", "set-connector", "num_abc123", "carrier-a")
    pipeline = Pipeline.build(db, settings.model_copy(update=FAST))
    async with pipeline.running():
        sent = await send(api, auth, send_body("num_abc123", to=["+15005550006"]), key="held")
        message_id = sent.json()["results"][0]["messageId"]
        await asyncio.sleep(1.5)  # a few submit attempts find the connector disabled
        assert await status_of(db, message_id) == "queued"
        async with db.session() as session:
            carried = await session.scalar(select(func.count()).select_from(SandboxSubmission))
        assert carried == 0
        await cli("connectors", "set-status", "carrier-a", "enabled")
        await wait_for_status(db, message_id, "delivered", timeout=10)


async def test_concurrent_lookups_start_each_adapter_once(db: Database) -> None:
    """64 submits finding the snapshot stale at once: one refresh, one adapter."""
    started: list[str] = []

    class Counting:
        name = "counting"

        async def start(self) -> None:
            await asyncio.sleep(0.01)  # an adapter that connects takes a while
            started.append(self.name)

        async def stop(self) -> None:
            pass

        def health(self) -> dict[str, object]:
            return {"state": "up"}

        async def submit(self, message: object) -> object:
            raise AssertionError("not used here")

    registry = Registry(db, {"sandbox": lambda _config: Counting()})  # type: ignore[arg-type,return-value]
    adapters = await asyncio.gather(*(registry.provider_for(None) for _ in range(64)))
    assert started == ["counting"]
    assert len({id(a) for a in adapters}) == 1
    await registry.stop()


async def test_a_connector_that_cannot_start_holds_only_its_own_messages(db: Database) -> None:
    """A link whose adapter fails to start (its password encrypted with another key, say)
    leaves the other connectors running; its own messages wait."""
    await add_link(db, "broken-link")
    async with db.session(write=True) as session:
        link = await session.get(Connector, "broken-link")
        assert link is not None
        link.kind = "fragile"

    def fragile(_config: object) -> Any:
        raise ValueError("Cannot decrypt: REDCLOUD_SECRET_KEY is not the key it was stored with")

    registry = Registry(db, {"sandbox": lambda _config: _Quiet(), "fragile": fragile})  # type: ignore[dict-item]
    await registry.start()
    try:
        assert isinstance(await registry.provider_for(None), _Quiet)
        with pytest.raises(Unavailable, match="cannot run in this worker"):
            await registry.provider_for("broken-link")
    finally:
        await registry.stop()


class _Quiet:
    name = "quiet"

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def health(self) -> dict[str, object]:
        return {"state": "up"}

    async def submit(self, message: object) -> object:
        raise AssertionError("not used here")
