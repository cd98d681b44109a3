"""Every table, imported in one place so metadata is complete for Alembic and tests."""

from redcloud.auth.models import AccessToken, Account, ApiClient
from redcloud.compliance.models import ConsentReply, ConsentReview, OptOut
from redcloud.console.models import AuditEntry, Operator, OperatorSession
from redcloud.db import Base
from redcloud.jobs.models import Job
from redcloud.messages.models import IdempotencyRecord, Message, MessageEvent, UnroutedInbound
from redcloud.numbers.models import InventoryBlock, InventoryZipCode, Number
from redcloud.pacing.models import CampaignCap, SenderPace
from redcloud.providers.models import Connector, SandboxSubmission
from redcloud.providers.smpp.models import SmppBind, SmppInboundPart, SmppMember, SmppPart
from redcloud.ratelimit import RateCounter
from redcloud.webhooks.models import WebhookAttempt

__all__ = [
    "AccessToken",
    "Account",
    "ApiClient",
    "AuditEntry",
    "Base",
    "ConsentReply",
    "ConsentReview",
    "CampaignCap",
    "Connector",
    "IdempotencyRecord",
    "InventoryBlock",
    "InventoryZipCode",
    "Job",
    "Message",
    "MessageEvent",
    "Number",
    "Operator",
    "OperatorSession",
    "OptOut",
    "RateCounter",
    "SandboxSubmission",
    "SenderPace",
    "SmppBind",
    "SmppInboundPart",
    "SmppMember",
    "SmppPart",
    "UnroutedInbound",
    "WebhookAttempt",
]
