"""The OpenAPI 3.1 document describes exactly this contract; schemathesis holds us to it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import text

from redcloud.app import create_app
from redcloud.auth.models import ApiClient
from redcloud.auth.security import SecretBox
from redcloud.auth.service import issue_token
from redcloud.config import Settings
from redcloud.db import Database
from redcloud.demo import seed


async def test_document_shape(api: httpx.AsyncClient) -> None:
    doc: dict[str, Any] = (await api.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["version"] == "0.2.0"
    assert [t["name"] for t in doc["tags"]] == ["Authentication", "CORE", "Sandbox"]
    paths = doc["paths"]
    assert set(paths) == {
        "/api/auth/token",
        "/api/core/whoami",
        "/api/core/numbers",
        "/api/core/numbers/search",
        "/api/core/numbers/{numberId}",
        "/api/core/messages/send",
        # extensions of the contract: message lookup and the sandbox carrier
        "/api/core/messages",
        "/api/core/messages/{messageId}",
        "/api/sandbox/inbound",
        "/api/sandbox/messages",
    }
    assert set(paths["/api/core/numbers/{numberId}"]) == {"patch"}
    schemes = doc["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["BearerAuth"]["description"],
    }
    assert schemes["BasicAuth"]["scheme"] == "basic"
    token = paths["/api/auth/token"]["post"]
    assert token["tags"] == ["Authentication"]
    assert set(token["requestBody"]["content"]) == {
        "application/x-www-form-urlencoded",
        "application/json",
    }
    assert set(token["responses"]) == {"200", "400", "401", "405", "429", "500"}
    for path in paths.values():  # every route can be rate limited or called wrongly
        for operation in path.values():
            assert {"405", "429"} <= set(operation["responses"])
    send = paths["/api/core/messages/send"]["post"]
    assert send["security"] == [{"BearerAuth": []}]
    assert set(send["responses"]) >= {"202", "400", "401", "403", "404", "409", "500"}
    key = [p for p in send["parameters"] if p["name"] == "Idempotency-Key"]
    assert key
    assert key[0]["required"] is True
    assert key[0]["in"] == "header"
    update = doc["components"]["schemas"]["UpdateRequest"]["properties"]
    assert "campaignregId" in update
    assert "campaignRegId" not in update
    number = doc["components"]["schemas"]["NumberOut"]["properties"]
    assert "campaignRegId" in number
    for path in paths.values():
        for operation in path.values():
            assert "422" not in operation["responses"]


async def test_the_document_states_the_rules_the_server_enforces(api: httpx.AsyncClient) -> None:
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]

    def one_of_required(schema: dict[str, Any]) -> set[str]:
        return {name for branch in schema["anyOf"] for name in branch["required"]}

    assert one_of_required(schemas["SearchRequest"]) == {
        "npa", "nxx", "city", "state", "zipCode", "rateCenter"
    }  # fmt: skip
    assert schemas["UpdateRequest"]["minProperties"] == 1
    assert one_of_required(schemas["MediaIn"]) == {"storageKey", "sourceUrl"}
    assert one_of_required(schemas["InboundRequest"]) == {"text", "mediaUrl"}
    assert one_of_required(schemas["SendRequest"]) == {"text", "media"}
    assert len(schemas["SendRequest"]["oneOf"]) == 2  # SMS without media, MMS with it
    for name in ("sendFrom", "externalReference", "text"):
        assert schemas["SendRequest"]["properties"][name].get("pattern") or any(
            "pattern" in option for option in schemas["SendRequest"]["properties"][name]["anyOf"]
        )


@dataclass
class SchemaTarget:
    app: Any
    token: str
    reseed: Callable[[], None]


@pytest.fixture
def schema_app(db: Database, database_url: str, tmp_path: Any) -> SchemaTarget:
    """The app in production mode (the schema states production's rules), on its own
    connections (schemathesis drives it from another event loop), with the demo data and a
    real token; `reseed` restores the data an operation may have changed."""
    import asyncio

    settings_ = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        demo=False,
        client_requests_per_minute=0,
        auth_failures_per_client=0,
        auth_failures_per_address=0,
    )
    db = Database(database_url, null_pool=True)
    box = SecretBox.from_settings(None, settings_.data_dir)

    async def _seed() -> str:
        async with db.session(write=True) as session:
            await seed(session, box)
            client = await session.get(ApiClient, "rc_test_client_123")
            assert client is not None
            return await issue_token(session, client, 3600)

    token = asyncio.run(_seed())

    def reseed() -> None:
        """Back to the demo data alone (the token stays), so every run starts alike."""

        async def _again() -> None:
            async with db.session(write=True) as session:
                for table in (
                    "webhook_attempts",
                    "message_events",
                    "messages",
                    "jobs",
                    "sandbox_submissions",
                    "unrouted_inbound",
                ):
                    await session.execute(text(f'DELETE FROM "{table}"'))
                await session.execute(text('DELETE FROM "idempotency_records"'))
                await seed(session, box)

        asyncio.run(_again())

    return SchemaTarget(create_app(settings_, database=db, run_maintenance=False), token, reseed)


# Rules JSON Schema cannot state, each refused with 400 naming it: whether a recipient is
# a possible number for its country (libphonenumber's metadata), the media's total size (a
# sum across items), whether a cursor is one this API returned. Schema-valid data that
# breaks one of them may be refused; anything else must be accepted.
def breaks_an_unstatable_rule(response: Any) -> bool:
    if response.status_code != 400:
        return False
    error = response.json().get("error")
    if not isinstance(error, dict):
        return False  # the token endpoint states all of its rules
    details = error.get("details", {})
    problems = details.get("errors") or [details]
    return all(_unstatable(problem, error.get("message")) for problem in problems)


def _unstatable(problem: dict[str, Any], message: str | None) -> bool:
    if "error" in problem:  # a refused recipient: not possible for its country
        return bool(problem["error"].get("code") in ("INVALID_RECIPIENT", "DUPLICATE_RECIPIENT"))
    field, reason = problem.get("field"), str(problem.get("reason", ""))
    return (
        (field == "media" and reason.startswith("Media may total"))
        or (field == "cursor" and reason == "malformed")
        or (field == "from" and message == "from must be an E.164 number")
    )


def exercise(op: Any, counter: list[int], mode: GenerationMode) -> None:
    """Send up to 40 generated requests to one operation and run every check on each."""

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        counter[0] += 1
        response = case.call()
        if mode is GenerationMode.POSITIVE and breaks_an_unstatable_rule(response):
            case.validate_response(response, excluded_checks=[positive_data_acceptance])
        else:
            case.validate_response(response)

    run()


def load_schema(target: SchemaTarget) -> Any:
    """The app's document, every CORE call carrying the target's bearer token."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    token = target.token

    @schema.auth()
    class Bearer:
        def get(self, case: Any, context: Any) -> str:
            return token

        def set(self, case: Any, data: str, context: Any) -> None:
            if case.operation.path != "/api/auth/token":  # it takes client credentials
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


def test_schemathesis_passes_every_check_positive_and_negative(schema_app: SchemaTarget) -> None:
    schema = load_schema(schema_app)

    failures: list[str] = []
    counter = [0]
    for operation in schema.get_all_operations():
        op = operation.ok()
        for mode in GenerationMode:
            schema_app.reseed()
            try:
                exercise(op, counter, mode)
            except BaseException as exc:  # collect every operation's failure, then report
                failures.append(f"{mode.value} {op.method.upper()} {op.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert counter[0] >= 10 * 2 * 20  # every operation really was exercised, both ways


def test_schemathesis_follows_every_link_statefully(schema_app: SchemaTarget) -> None:
    schema = load_schema(schema_app)
    document = schema.raw_schema
    linked = [
        name
        for path in document["paths"].values()
        for operation in path.values()
        for response in operation["responses"].values()
        for name in response.get("links", {})
    ]
    assert len(linked) >= 4

    base = schema.as_state_machine()
    steps, followed = [0], [0]

    class Machine(base):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            schema_app.reseed()

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            steps[0] += 1
            if case.operation.path == "/api/core/messages/{messageId}":
                followed[0] += response.status_code == 200
            if breaks_an_unstatable_rule(response):
                case.validate_response(response, excluded_checks=[positive_data_acceptance])
            else:
                super().validate_response(response, case, **kwargs)

    # Responses carry fresh ids and feed later draws, so Hypothesis may find a scenario
    # drawing differently from an earlier one and stop; schemathesis's own runner treats that
    # as the end of a run, not a failure. A check that fails raises a FailureGroup instead.
    with contextlib.suppress(FlakyStrategyDefinition):
        Machine.run(
            settings=settings(
                max_examples=25,
                stateful_step_count=6,
                deadline=None,
                derandomize=True,
                database=None,
                # Responses carry fresh ids, so a replay never draws the same data: no shrinking.
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
        )
    assert steps[0] >= 20
    # Links were followed: a message was read back by the id a response carried.
    assert followed[0] >= 1
