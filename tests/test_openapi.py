"""The OpenAPI 3.1 document describes exactly this contract; schemathesis holds us to it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from redcloud.app import create_app
from redcloud.auth.security import SecretBox
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


@pytest.fixture
def schema_app(db: Database, database_url: str, tmp_path: Any) -> Any:
    """The app on its own connections (schemathesis drives it from another event loop)."""
    import asyncio

    settings_ = Settings(data_dir=tmp_path / "data", database_url=database_url, demo=True)
    db = Database(database_url, null_pool=True)

    async def _seed() -> None:
        async with db.session(write=True) as session:
            await seed(session, SecretBox.from_settings(None, settings_.data_dir))

    asyncio.run(_seed())
    return create_app(settings_, database=db, run_maintenance=False)


CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


def exercise(op: Any, counter: list[int]) -> None:
    """Send up to 40 generated requests to one operation and validate every response."""
    is_token = op.path == "/api/auth/token"

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=op.as_strategy())
    def run(case: Any) -> None:
        counter[0] += 1
        if not is_token:
            case.headers = {**(case.headers or {}), "Authorization": "Bearer rc_token_example"}
        response = case.call()
        case.validate_response(response, checks=CHECKS)

    run()


def test_schemathesis_finds_no_server_error_and_no_nonconforming_response(
    schema_app: Any,
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", schema_app)
    failures: list[str] = []
    counter = [0]
    for operation in schema.get_all_operations():
        op = operation.ok()
        try:
            exercise(op, counter)
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert counter[0] >= 10 * 20  # every operation really was exercised
