"""The operator CLI against a real database: provisioning end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from redcloud.auth.models import ApiClient
from redcloud.auth.security import SecretBox
from redcloud.db import Database


def as_json(result: Any) -> Any:
    return json.loads(result.stdout)


async def test_provisioning_flow_gives_a_client_that_can_authenticate(
    cli: Any, api: httpx.AsyncClient
) -> None:
    account = as_json(await cli("accounts", "create", "Acme Corp", "--json"))
    assert account["status"] == "ACTIVE"
    assert account["accountId"].startswith("acc_")
    client = as_json(
        await cli(
            "clients", "create", "--account", account["accountId"], "--name", "Acme", "--json"
        )
    )
    secret = client["clientSecret"]
    assert secret.startswith("rc_secret_")
    assert client["capabilities"] == "numbers:read numbers:search numbers:update"

    shown = await cli("clients", "show", client["clientId"])
    assert secret not in shown.stdout  # the secret is printed once, at creation only

    number = as_json(
        await cli(
            "numbers",
            "assign",
            "+15125550100",
            "--client",
            client["clientId"],
            "--campaign",
            "CAMP42",
            "--json",
        )
    )
    assert number["status"] == "ACTIVE"
    assert number["campaignRegId"] == "CAMP42"

    token = await api.post(
        "/api/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": secret,
        },
    )
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    numbers = (await api.get("/api/core/numbers", headers=headers)).json()["numbers"]
    assert [n["e164"] for n in numbers] == ["+15125550100"]


async def test_client_settings_commands(cli: Any, db: Database, data_dir: Path) -> None:
    account = as_json(await cli("accounts", "create", "Beta", "--json"))["accountId"]
    client_id = as_json(
        await cli("clients", "create", "--account", account, "--name", "Beta app", "--json")
    )["clientId"]

    caps = as_json(
        await cli("clients", "capabilities", client_id, "--set", "numbers:read", "--json")
    )
    assert caps["capabilities"] == "numbers:read"
    bad = await cli("clients", "capabilities", client_id, "--set", "messages:fly", ok=False)
    assert bad.exit_code == 1
    assert "Unknown capabilities" in bad.output

    hooks = as_json(
        await cli(
            "clients",
            "webhooks",
            client_id,
            "--inbound",
            "https://hooks.example.com/in",
            "--delivery",
            "https://hooks.example.com/out",
            "--json",
        )
    )
    assert hooks["inboundWebhookUrl"] == "https://hooks.example.com/in"
    refused = await cli(
        "clients", "webhooks", client_id, "--inbound", "http://127.0.0.1/x", ok=False
    )
    assert refused.exit_code == 1
    assert "https" in refused.output

    signing = as_json(await cli("clients", "signing-secret", client_id, "--json"))
    assert signing["signingSecret"].startswith("rc_whsec_")
    rotated = as_json(await cli("clients", "signing-secret", client_id, "--json"))["signingSecret"]
    assert rotated != signing["signingSecret"]

    async with db.session() as session:
        client = await session.get(ApiClient, client_id)
        assert client is not None
        encrypted, secret_hash = client.webhook_secret_encrypted, client.secret_hash
    assert encrypted is not None
    assert rotated.encode() not in encrypted
    assert SecretBox.from_settings(None, data_dir).decrypt(encrypted) == rotated
    assert secret_hash.startswith("scrypt$")

    new_secret = as_json(await cli("clients", "rotate-secret", client_id, "--json"))["clientSecret"]
    assert new_secret.startswith("rc_secret_")
    assert as_json(await cli("clients", "set-status", client_id, "inactive", "--json"))[
        "status"
    ] == ("INACTIVE")
    assert as_json(await cli("accounts", "deactivate", account, "--json"))["status"] == "INACTIVE"
    listed = as_json(await cli("clients", "list", "--account", account, "--json"))
    assert [c["clientId"] for c in listed] == [client_id]
    table = (await cli("clients", "list")).stdout
    assert client_id in table
    assert "Beta app" in table


async def test_number_commands(cli: Any) -> None:
    account = as_json(await cli("accounts", "create", "Gamma", "--json"))["accountId"]
    first = as_json(await cli("clients", "create", "--account", account, "--name", "a", "--json"))
    second = as_json(await cli("clients", "create", "--account", account, "--name", "b", "--json"))
    number = as_json(
        await cli("numbers", "assign", "+12125550123", "--client", first["clientId"], "--json")
    )
    taken = await cli("numbers", "assign", "+12125550123", "--client", second["clientId"], ok=False)
    assert taken.exit_code == 1
    assert "release it first" in taken.output
    assert (
        await cli("numbers", "assign", "12345", "--client", first["clientId"], ok=False)
    ).exit_code == 1
    campaign = as_json(await cli("numbers", "set-campaign", number["numberId"], "C1", "--json"))
    assert campaign["campaignRegId"] == "C1"
    cleared = as_json(await cli("numbers", "set-campaign", number["numberId"], "--clear", "--json"))
    assert cleared["campaignRegId"] is None
    released = as_json(await cli("numbers", "release", number["numberId"], "--json"))
    assert released["status"] == "RELEASED"
    assert released["clientId"] is None
    again = as_json(
        await cli("numbers", "assign", "+12125550123", "--client", second["clientId"], "--json")
    )
    assert again["numberId"] == number["numberId"]
    assert again["clientId"] == second["clientId"]
    assert len(as_json(await cli("numbers", "list", "--json"))) == 1


async def test_inventory_import_and_demo_seed(cli: Any, tmp_path: Path) -> None:
    imported = as_json(await cli("numbers", "import-inventory", "--state", "RI", "--json"))
    assert imported["blocks"] > 10
    assert imported["zipCodes"] > 10
    csv_file = tmp_path / "inv.csv"
    csv_file.write_text("npa,nxx,city,state,rate_center\n720,555,Denver,CO,DENVER\n")
    assert as_json(await cli("numbers", "import-inventory", "--file", str(csv_file), "--json")) == {
        "blocks": 1,
        "zipCodes": 0,
    }
    missing = await cli(
        "numbers", "import-inventory", "--file", str(tmp_path / "nope.csv"), ok=False
    )
    assert missing.exit_code == 1
    seeded = await cli("demo", "seed", "--no-inventory")
    assert "rc_test_client_123" in seeded.stdout
    assert (
        as_json(await cli("clients", "show", "rc_test_client_123", "--json"))["signingSecret"]
        == "set"
    )
    purged = as_json(await cli("db", "purge", "--json"))
    assert set(purged) == {"idempotencyRecords", "accessTokens"}


async def test_errors_say_what_to_do_next(cli: Any) -> None:
    result = await cli("clients", "show", "rc_missing", ok=False)
    assert result.exit_code == 1
    assert "redcloud clients list" in result.output


async def test_pipeline_commands(cli: Any, db: Database, demo: None) -> None:
    from sqlalchemy import select

    from redcloud.jobs.models import Job
    from redcloud.messages.models import MessageEvent
    from redcloud.webhooks.models import WebhookAttempt

    shown = as_json(await cli("messages", "show", "msg_abc123", "--json"))
    assert shown["status"] == "delivered"
    assert [e["sequence"] for e in shown["events"]] == [1, 2, 3]
    table = (await cli("messages", "show", "msg_abc123")).stdout
    assert "message.delivery" in table
    assert (await cli("messages", "show", "msg_nope", ok=False)).exit_code == 1

    routed = as_json(
        await cli(
            "sandbox",
            "inbound",
            "--from",
            "+15005550006",
            "--to",
            "+15551234567",
            "--text",
            "hello",
            "--json",
        )
    )
    assert routed["routedTo"] == "rc_test_client_123"
    unrouted = as_json(
        await cli(
            "sandbox",
            "inbound",
            "--from",
            "+15005550006",
            "--to",
            "+19995550000",
            "--text",
            "hello",
            "--json",
        )
    )
    assert unrouted["reason"] == "no such number"
    bad = await cli("sandbox", "inbound", "--from", "nope", "--to", "+15551234567", ok=False)
    assert bad.exit_code == 1
    assert as_json(await cli("sandbox", "messages", "--json")) == []

    event_id = shown["events"][0]["eventId"]
    async with db.session(write=True) as session:
        session.add(
            WebhookAttempt(
                event_id=event_id,
                attempt=1,
                url="https://x.example/h",
                status_code=500,
                latency_ms=12,
                error="HTTP 500",
            )
        )
        event = await session.get(MessageEvent, event_id)
        assert event is not None
        event.delivery_status = "failed"
        event.delivery_attempts = 1
    attempts = as_json(await cli("webhooks", "attempts", "--message", "msg_abc123", "--json"))
    assert [(a["eventId"], a["status"], a["error"]) for a in attempts] == [
        (event_id, 500, "HTTP 500")
    ]
    redelivered = as_json(
        await cli(
            "webhooks",
            "redeliver-failed",
            "--client",
            "rc_test_client_123",
            "--since",
            "2020-01-01T00:00:00",
            "--json",
        )
    )
    assert redelivered["redelivered"] == 1
    assert as_json(await cli("webhooks", "redeliver", event_id, "--json"))["queued"] is True
    assert (await cli("webhooks", "redeliver", "evt_nope", ok=False)).exit_code == 1
    async with db.session() as session:
        queued = list(await session.scalars(select(Job).where(Job.kind == "webhook.deliver")))
    assert [j.payload for j in queued if j.payload["eventId"] == event_id] == [
        {"eventId": event_id, "base": 1},
        {"eventId": event_id, "base": 1},
    ]
