"""`redcloud serve --demo` as a real process over real HTTP on 127.0.0.1.

The public docs' curl commands run verbatim (only $BASE_URL is set). Our own docs'
examples run in tests/test_docs.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx

from tests import live
from tests.receiver import Receiver

ROOT = live.ROOT

DOCS_CURL = {
    "token_basic": """curl -X POST "$BASE_URL/api/auth/token" \\
-u "rc_test_client_123:rc_secret_abc123" \\
-H "Content-Type: application/x-www-form-urlencoded" \\
-d "grant_type=client_credentials\"""",
    "whoami": """curl "$BASE_URL/api/core/whoami" \\
-H "Authorization: Bearer rc_token_example\"""",
    "numbers": """curl "$BASE_URL/api/core/numbers" \\
-H "Authorization: Bearer rc_token_example\"""",
    "send": """curl -X POST "$BASE_URL/api/core/messages/send" \\
-H "Authorization: Bearer rc_token_example" \\
-H "Content-Type: application/json" \\
-H "Idempotency-Key: idem_order_789" \\
-d '{
"sendFrom": "num_abc123",
"to": ["+15551234567"],
"messageType": "SMS",
"text": "Hello from Red Cloud",
"externalReference": "order_789"
}'""",
    "mms": """curl -X POST "$BASE_URL/api/core/messages/send" \\
-H "Authorization: Bearer rc_token_example" \\
-H "Content-Type: application/json" \\
-H "Idempotency-Key: idem_order_789_mms" \\
-d '{
"sendFrom": "num_abc123",
"to": ["+15551234567"],
"messageType": "MMS",
"text": "Catalog preview",
"media": [
{
"storageKey": "storage_abc123",
"mimeType": "image/jpeg",
"byteLength": 182340,
"sourceUrl": "https://example.com/files/catalog.jpg",
"fileName": "catalog.jpg"
}
],
"externalReference": "order_789"
}'""",
}


def run_shell(command: str, base: str) -> str:
    return live.run_shell(command, {**os.environ, "BASE_URL": base})


def test_public_docs_curl_sequence_returns_the_documented_bodies(server: str) -> None:
    token = json.loads(run_shell("curl -s " + DOCS_CURL["token_basic"][5:], server))
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    assert token["access_token"].startswith("rc_token_")

    whoami = json.loads(run_shell(DOCS_CURL["whoami"].replace("curl ", "curl -s ", 1), server))
    assert whoami == {
        "apiClientId": "rc_test_client_123",
        "apiClientName": "Red Cloud Test Client",
        "apiClientStatus": "ACTIVE",
        "capabilities": ["numbers:read", "numbers:search", "numbers:update"],
        "assignedNumbers": {"total": 1, "smsEnabledCount": 1, "mmsEnabledCount": 1},
        "inboundWebhookConfigured": True,
        "deliveryWebhookConfigured": True,
    }
    numbers = json.loads(run_shell(DOCS_CURL["numbers"].replace("curl ", "curl -s ", 1), server))
    assert numbers == {
        "numbers": [
            {
                "numberId": "num_abc123",
                "e164": "+15551234567",
                "status": "ACTIVE",
                "campaignRegId": "A1B2C3",
                "smsEnabled": True,
                "mmsEnabled": True,
                "webhookInboundOverride": "https://example.com/webhooks/inbound",
                "webhookDeliveryOverride": "https://example.com/webhooks/delivery",
            }
        ]
    }
    documented_send = {
        "results": [{"to": "+15551234567", "messageId": "msg_abc123", "status": "QUEUED"}],
        "errors": [],
    }
    for _ in range(2):  # the send, then the replayed send
        sent = json.loads(run_shell(DOCS_CURL["send"].replace("curl ", "curl -s ", 1), server))
        assert sent == documented_send
    mms = json.loads(run_shell(DOCS_CURL["mms"].replace("curl ", "curl -s ", 1), server))
    assert mms["errors"] == []
    assert mms["results"][0]["status"] == "QUEUED"


def test_verbatim_commands_succeed(server: str) -> None:
    """The commands exactly as published (no flags added) exit 0 with a 2xx."""
    for name, command in DOCS_CURL.items():
        out = run_shell(command + ' -o /dev/null -w "%{http_code}"', server)
        assert out.startswith("2"), (name, out)


def test_error_examples_over_http(server: str) -> None:
    base = server
    auth = {"Authorization": "Bearer rc_token_example"}
    body = {
        "sendFrom": "num_abc123",
        "to": ["+15551234567"],
        "messageType": "SMS",
        "text": "Different text",
        "externalReference": "order_789",
    }
    conflict = httpx.post(
        f"{base}/api/core/messages/send",
        json=body,
        headers={**auth, "Idempotency-Key": "idem_order_789"},
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "CONFLICT"
    no_key = httpx.post(f"{base}/api/core/messages/send", json=body, headers=auth)
    assert no_key.status_code == 400
    assert no_key.json()["error"] == {
        "code": "INVALID_REQUEST",
        "message": "Idempotency-Key header is required",
        "details": {},
    }
    assert no_key.json()["requestId"] == no_key.headers["x-request-id"]
    search = httpx.post(
        f"{base}/api/core/numbers/search",
        json={"npa": "555", "city": "Austin", "state": "TX"},
        headers=auth,
    )
    assert search.status_code == 200
    assert search.json()["providerResultCount"] >= 1
    update = httpx.patch(
        f"{base}/api/core/numbers/num_abc123", json={"mmsEnabled": False}, headers=auth
    )
    assert update.status_code == 200
    assert update.json()["mmsEnabled"] is False


async def test_demo_send_and_inbound_reach_a_local_receiver_signed(
    server: str, server_env: dict[str, str]
) -> None:
    """`serve --demo` runs the pipeline in-process: queued, sent, delivery (1, 2, 3), and an
    inbound message from `redcloud sandbox inbound`, each verifiable with the docs' recipe."""
    receiver = Receiver()
    await receiver.start()
    try:
        auth = {"Authorization": "Bearer rc_token_example"}
        async with httpx.AsyncClient(base_url=server, headers=auth, timeout=30) as client:
            await client.patch(
                "/api/core/numbers/num_abc123",
                json={
                    "webhookDeliveryOverride": receiver.url("/delivery"),
                    "webhookInboundOverride": receiver.url("/inbound"),
                },
            )
            sent = await client.post(
                "/api/core/messages/send",
                headers={"Idempotency-Key": "e2e-normal"},
                json={
                    "sendFrom": "num_abc123",
                    "to": ["+15005550006"],
                    "messageType": "SMS",
                    "text": "Hello from Red Cloud",
                    "externalReference": "order_790",
                },
            )
        message_id = sent.json()["results"][0]["messageId"]
        await receiver.wait_for(lambda r: len(r.of(message_id)) == 3, timeout=30)
        assert sorted(e["sequence"] for e in receiver.of(message_id)) == [1, 2, 3]
        assert sorted(e["eventType"] for e in receiver.of(message_id)) == [
            "message.delivery",
            "message.queued",
            "message.sent",
        ]
        result = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "redcloud",
                "sandbox",
                "inbound",
                "--from",
                "+15005550006",
                "--to",
                "+15551234567",
                "--text",
                "hi there",
                "--json",
            ],
            env={**os.environ, **server_env},
            capture_output=True,
            text=True,
            check=True,
        )
        inbound_id = json.loads(result.stdout)["messageId"]
        await receiver.wait_for(lambda r: len(r.of(inbound_id)) == 1, timeout=30)
        (inbound,) = receiver.of(inbound_id)
        assert inbound["eventType"] == "message.inbound"
        assert inbound["data"]["text"] == "hi there"
        assert all(d.verified for d in receiver.deliveries)
    finally:
        await receiver.stop()
