"""The demo data set: the canonical values of the public docs, reproduced exactly."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.models import AccessToken, Account, ApiClient
from redcloud.auth.security import SecretBox, hash_secret, token_digest, verify_secret
from redcloud.auth.service import CAPABILITIES
from redcloud.db import utcnow
from redcloud.messages.events import outbound_event
from redcloud.messages.idempotency import request_fingerprint
from redcloud.messages.models import DELIVERED, WEBHOOK_DELIVERED, IdempotencyRecord, Message
from redcloud.numbers.inventory import Block, import_blocks, rate_center_for
from redcloud.numbers.models import InventoryZipCode, Number

ACCOUNT_ID = "acc_demo"
CLIENT_ID = "rc_test_client_123"
CLIENT_SECRET = "rc_secret_abc123"
CLIENT_NAME = "Red Cloud Test Client"
ACCESS_TOKEN = "rc_token_example"
WEBHOOK_SECRET = "rc_webhook_secret_demo"
NUMBER_ID = "num_abc123"
NUMBER_E164 = "+15551234567"
CAMPAIGN = "A1B2C3"
INBOUND_URL = "https://example.com/webhooks/inbound"
DELIVERY_URL = "https://example.com/webhooks/delivery"
MESSAGE_ID = "msg_abc123"
EXTERNAL_REFERENCE = "order_789"
IDEMPOTENCY_KEY = "idem_order_789"
DELIVERED_AT_MS = 1775002218105
# The reference example's search (npa 555, Austin, TX) needs 555 exchanges in Austin.
DEMO_BLOCKS = [
    Block("555", nxx, "Austin", "TX", rate_center_for("Austin")) for nxx in ("123", "201")
]
CANONICAL_SEND: dict[str, Any] = {
    "sendFrom": NUMBER_ID,
    "to": [NUMBER_E164],
    "messageType": "SMS",
    "text": "Hello from Red Cloud",
    "externalReference": EXTERNAL_REFERENCE,
}


async def seed(session: AsyncSession, box: SecretBox) -> None:
    """Create or restore the canonical account, client, number, token, message and key."""
    account = await session.get(Account, ACCOUNT_ID)
    if account is None:
        account = Account(id=ACCOUNT_ID, name="Red Cloud Demo Account")
        session.add(account)
    account.status = "ACTIVE"

    client = await session.get(ApiClient, CLIENT_ID)
    if client is None:
        client = ApiClient(id=CLIENT_ID, account_id=ACCOUNT_ID, secret_hash="")
        session.add(client)
    client.account_id = ACCOUNT_ID
    client.name = CLIENT_NAME
    client.status = "ACTIVE"
    client.capabilities = list(CAPABILITIES)
    if not verify_secret(CLIENT_SECRET, client.secret_hash):
        client.secret_hash = hash_secret(CLIENT_SECRET)
    client.webhook_secret_encrypted = box.encrypt(WEBHOOK_SECRET)
    await session.flush()

    number = await session.get(Number, NUMBER_ID)
    if number is None:
        number = Number(id=NUMBER_ID, e164=NUMBER_E164)
        session.add(number)
    number.api_client_id = CLIENT_ID
    number.status = "ACTIVE"
    number.campaign_reg_id = CAMPAIGN
    number.sms_enabled = number.mms_enabled = True
    number.webhook_inbound_override = INBOUND_URL
    number.webhook_delivery_override = DELIVERY_URL

    if await session.get(AccessToken, token_digest(ACCESS_TOKEN)) is None:
        session.add(
            AccessToken(
                token_hash=token_digest(ACCESS_TOKEN),
                api_client_id=CLIENT_ID,
                expires_at=None,
                is_static=True,
            )
        )
    await import_blocks(session, DEMO_BLOCKS)
    if await session.get(InventoryZipCode, ("78701", "555")) is None:
        session.add(InventoryZipCode(zip_code="78701", npa="555", city="Austin", state="TX"))
    await session.flush()
    await _seed_canonical_send(session)
    await session.flush()


async def _seed_canonical_send(session: AsyncSession) -> None:
    """msg_abc123, delivered, sent under idem_order_789: the docs' send replays it exactly."""
    if await session.get(Message, MESSAGE_ID) is None:
        message = Message(
            id=MESSAGE_ID,
            api_client_id=CLIENT_ID,
            number_id=NUMBER_ID,
            direction="outbound",
            message_type="SMS",
            send_from=NUMBER_E164,
            to=NUMBER_E164,
            text=CANONICAL_SEND["text"],
            external_reference=EXTERNAL_REFERENCE,
            status=DELIVERED,
            last_sequence=3,
            provider_message_ref=None,
        )
        session.add(message)
        await session.flush()
        for sequence, status in enumerate(("queued", "sent", "delivered"), start=1):
            at = DELIVERED_AT_MS - (3 - sequence) * 1000
            event = outbound_event(message, status, sequence, occurred_at_ms=at)
            event.id = f"evt_abc123_{sequence}"  # fixed, so the docs can name them
            event.delivery_status = WEBHOOK_DELIVERED  # history: its webhooks went out then
            session.add(event)
    body = {
        "results": [{"to": NUMBER_E164, "messageId": MESSAGE_ID, "status": "QUEUED"}],
        "errors": [],
    }
    record = await session.get(IdempotencyRecord, (CLIENT_ID, IDEMPOTENCY_KEY))
    if record is None:
        record = IdempotencyRecord(api_client_id=CLIENT_ID, key=IDEMPOTENCY_KEY)
        session.add(record)
    record.request_hash = request_fingerprint(CANONICAL_SEND)
    record.response_status = 202
    record.response_body = body
    record.created_at = utcnow()
    # Demo data outlives the normal retention; every seed renews it.
    record.expires_at = utcnow() + dt.timedelta(days=3650)
