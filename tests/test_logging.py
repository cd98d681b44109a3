"""Logs: every process configures them the same way, and no secret ever reaches a line.

Runs `serve --processes 2` in JSON mode at DEBUG, provokes what tends to log secrets (a
token request with a wrong secret, failed attempts up to the limit, bearer requests,
signed webhooks, hostile input, and a 500 from a database fault), then reads every line
every process wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from redcloud.auth import provisioning
from redcloud.auth.security import SecretBox
from redcloud.db import Database
from redcloud.logs import REDACTED, configure, redact_text, safe_error
from tests.conftest import StartServer
from tests.factories import make_client, make_number
from tests.processes import spawn
from tests.receiver import Receiver
from tests.test_processes import AUTH, api_server, env, settle

pytestmark = pytest.mark.slow
__all__ = ["api_server", "env"]  # fixtures


async def _rename(database_url: str, old: str, new: str) -> None:
    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(f'ALTER TABLE "{old}" RENAME TO "{new}"')
    finally:
        await db.dispose()


async def test_no_secret_reaches_any_log_line_of_a_scaled_out_server(
    start_server: StartServer, db: Database, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    box = SecretBox.from_settings(None, tmp_path / "data")
    client = await make_client(db)
    number = await make_number(db, client.client_id)
    webhook_secret = "rc_whsec_" + "s3cr3t-signing-value-for-logs"
    async with db.session(write=True) as session:
        await provisioning.set_webhook_secret(session, client.client_id, box, webhook_secret)
        await provisioning.set_webhook_urls(
            session,
            client.client_id,
            delivery=receiver.url(),
            allow_http=True,
            allow_private=True,
        )
    wrong_secret = "wrong-Zq9-not-the-secret"
    server = start_server(
        "--processes", "2", REDCLOUD_LOG_FORMAT="json", REDCLOUD_LOG_LEVEL="DEBUG"
    )
    base = server.base
    bearer = {"Authorization": f"Bearer {client.token}"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        issued = await http.post(
            "/api/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, client.secret),
        )
        assert issued.status_code == 200
        fresh = issued.json()["access_token"]
        for _ in range(12):  # wrong secrets, in the body and by Basic, up to the limit
            await http.post(
                "/api/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client.client_id,
                    "client_secret": wrong_secret,
                },
            )
        limited = await http.post(
            "/api/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, wrong_secret),
        )
        assert limited.status_code == 429
        body = {
            "sendFrom": number,
            "to": ["+15551234567"],
            "messageType": "SMS",
            "text": "hello",
            "externalReference": "logs",
        }
        for headers in (bearer, {"Authorization": f"Bearer {fresh}"}):
            sent = await http.post(
                "/api/core/messages/send", json=body, headers={**headers, "Idempotency-Key": fresh}
            )
            assert sent.status_code == 202, sent.text
        await receiver.wait_for(lambda r: len(r.deliveries) >= 1)
        hostile = {**body, "text": "bad\x00"}
        refused = await http.post(
            "/api/core/messages/send", json=hostile, headers={**bearer, "Idempotency-Key": "h"}
        )
        assert refused.status_code == 400
        await _rename(database_url, "messages", "messages_away")
        try:
            broken = await http.post(
                "/api/core/messages/send", json=body, headers={**bearer, "Idempotency-Key": "500"}
            )
            assert broken.status_code == 500
        finally:
            await _rename(database_url, "messages_away", "messages")
    server.stop()

    lines = server.log_path.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    # Everything a process logs is JSON, the children's lines included; the rest is the
    # CLI's own banner.
    for line in lines:
        assert line.startswith("{") or "Traceback" not in line, line
    for secret in (client.secret, wrong_secret, client.token, fresh, webhook_secret):
        leaking = [line for line in lines if secret in line]
        assert not leaking, f"{secret[:6]}… appears in the log:\n" + "\n".join(leaking[:3])
    events = [r.get("event") for r in records]
    assert events.count("request") >= 16  # an access line for each request
    failed = [r for r in records if r.get("event") == "client authentication failed"]
    assert failed
    assert {r["client_id"] for r in failed} == {client.client_id}
    assert {r["reason"] for r in failed} == {"wrong client_secret"}
    assert all(r.get("source") == "127.0.0.1" for r in failed)
    errors = [r for r in records if r.get("event") == "unhandled error"]
    assert errors, "the 500 was not logged"
    assert all("exception" in r and "locals" not in r["exception"] for r in errors)


def test_redaction_blanks_secrets_wherever_they_stand() -> None:
    text = (
        "Authorization: Bearer rc_token_abc Basic dXNlcjpwYXNz client_secret=hunter2&x=1 "
        '{"client_secret": "s3"} rc_whsec_zzz rc_secret_q'
    )
    cleaned = redact_text(text)
    for secret in ("rc_token_abc", "dXNlcjpwYXNz", "hunter2", '"s3"', "zzz", "rc_secret_q"):
        assert secret not in cleaned
    assert cleaned.count(REDACTED) >= 3


def test_database_errors_are_described_without_their_parameters() -> None:
    from sqlalchemy.exc import DBAPIError

    class DataError(Exception):
        pass

    error = DBAPIError(
        "INSERT INTO messages VALUES ($1)", ("secret text",), DataError("bad value 'secret text'")
    )
    described = safe_error(error)
    assert "secret text" not in described
    assert described.startswith("DataError")


def test_tracebacks_carry_no_local_variables(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    configure("INFO", "console")

    def fails(token: str) -> None:
        raise RuntimeError("boom")

    try:
        fails("rc_token_secretvalue")
    except RuntimeError:
        structlog.get_logger("test").exception("failed")
    logged = capsys.readouterr().err
    assert "boom" in logged
    assert "rc_token_secretvalue" not in logged
    configure("WARNING", "console")


async def test_one_request_id_follows_a_message_from_the_api_through_the_worker(
    api_server: str, env: dict[str, str], tmp_path: Path, receiver: Receiver, db: Database
) -> None:
    worker_log = tmp_path / "worker.log"
    worker = spawn(
        ["worker"], {**env, "REDCLOUD_LOG_FORMAT": "json", "REDCLOUD_LOG_LEVEL": "INFO"}, worker_log
    )
    try:
        async with httpx.AsyncClient(base_url=api_server, headers=AUTH) as http:
            response = await http.post(
                "/api/core/messages/send",
                headers={"Idempotency-Key": "follow-me"},
                json={
                    "sendFrom": "num_abc123",
                    "to": ["+15005550006"],
                    "messageType": "SMS",
                    "text": "follow me",
                    "externalReference": "follow",
                },
            )
        assert response.status_code == 202
        request_id = response.headers["x-request-id"]
        message_id = response.json()["results"][0]["messageId"]
        await settle(db, [message_id], receiver)
    finally:
        assert worker.terminate() == 0
    lines = [
        json.loads(line) for line in worker_log.read_text().splitlines() if line.startswith("{")
    ]
    mine = [line for line in lines if line.get("request_id") == request_id]
    submitted = [line for line in mine if line["event"] == "submitted"]
    assert [(s["message_id"], s["connector"], s["job_kind"]) for s in submitted] == [
        (message_id, "sandbox", "provider.submit")
    ]
    attempts = sorted(line["event_type"] for line in mine if line["event"] == "webhook attempt")
    assert attempts == ["message.delivery", "message.queued", "message.sent"]
    assert all(line["message_id"] == message_id and line["job_id"] for line in mine)
