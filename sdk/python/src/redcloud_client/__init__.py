"""The Python client for the Red Cloud CORE API.

from redcloud_client import RedCloud

rc = RedCloud("http://127.0.0.1:8080", "rc_test_client_123", "rc_secret_abc123")
sent = rc.messages.send("num_abc123", "+15551234567", "SMS",
                        text="Hello from Red Cloud", external_reference="order_789")
print(sent.results[0].message_id)
"""

from redcloud_client._async import AsyncRedCloud
from redcloud_client._errors import (
    APIConnectionError,
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RedCloudError,
    ServerError,
    UpstreamError,
    WebhookVerificationError,
)
from redcloud_client._models import (
    AssignedNumbers,
    AvailableNumber,
    ErrorInfo,
    InboundEvent,
    InboundEventData,
    LifecycleEvent,
    Message,
    MessagePage,
    MessageSummary,
    Number,
    OutboundEvent,
    OutboundEventData,
    QueuedMessage,
    RecipientError,
    SearchGroup,
    SearchResult,
    SendResult,
    WhoAmI,
)
from redcloud_client._sync import RedCloud
from redcloud_client._version import VERSION as __version__
from redcloud_client.webhooks import parse_event, verify_signature

__all__ = [
    "APIConnectionError",
    "AssignedNumbers",
    "AsyncRedCloud",
    "AuthenticationError",
    "AvailableNumber",
    "ConflictError",
    "ErrorInfo",
    "ForbiddenError",
    "InboundEvent",
    "InboundEventData",
    "InvalidRequestError",
    "LifecycleEvent",
    "Message",
    "MessagePage",
    "MessageSummary",
    "NotFoundError",
    "Number",
    "OutboundEvent",
    "OutboundEventData",
    "QueuedMessage",
    "RateLimitError",
    "RecipientError",
    "RedCloud",
    "RedCloudError",
    "SearchGroup",
    "SearchResult",
    "SendResult",
    "ServerError",
    "UpstreamError",
    "WebhookVerificationError",
    "WhoAmI",
    "__version__",
    "parse_event",
    "verify_signature",
]
