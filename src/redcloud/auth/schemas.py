"""Token and identity schemas, spelled exactly as the contract spells them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TokenResponse(BaseModel):
    access_token: str = Field(examples=["rc_token_example"])
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(examples=[3600])


class AssignedNumbers(BaseModel):
    total: int
    smsEnabledCount: int
    mmsEnabledCount: int


class WhoAmI(BaseModel):
    apiClientId: str = Field(examples=["rc_test_client_123"])
    apiClientName: str = Field(examples=["Red Cloud Test Client"])
    apiClientStatus: Literal["ACTIVE", "INACTIVE"]
    capabilities: list[str] = Field(examples=[["numbers:read", "numbers:search", "numbers:update"]])
    assignedNumbers: AssignedNumbers
    inboundWebhookConfigured: bool
    deliveryWebhookConfigured: bool
