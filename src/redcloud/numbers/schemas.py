"""Number, search and update schemas, spelled exactly as the contract spells them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from redcloud.inputs import WEBHOOK_URL_PATTERN, JsonInt, Text, present

CAMPAIGN_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_QUANTITY = 250
FILTERS = ("npa", "nxx", "city", "state", "zipCode", "rateCenter")


class NumberOut(BaseModel):
    numberId: str = Field(examples=["num_abc123"])
    e164: str = Field(examples=["+15551234567"])
    status: Literal["ACTIVE", "INACTIVE", "RELEASED"]
    campaignRegId: str | None = Field(examples=["A1B2C3"])
    smsEnabled: bool
    mmsEnabled: bool
    webhookInboundOverride: str | None
    webhookDeliveryOverride: str | None


class NumberList(BaseModel):
    numbers: list[NumberOut]


class SearchRequest(BaseModel):
    """Every filter is optional, but at least one is required."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"anyOf": present(*FILTERS)},
    )

    npa: str | None = Field(default=None, pattern=r"^[0-9]{3}$", examples=["555"])
    nxx: str | None = Field(default=None, pattern=r"^[0-9]{3}$")
    city: Text | None = Field(default=None, min_length=1, max_length=100, examples=["Austin"])
    state: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$", examples=["TX"])
    zipCode: str | None = Field(default=None, pattern=r"^[0-9]{5}$")
    rateCenter: Text | None = Field(default=None, min_length=1, max_length=100)
    quantity: JsonInt = Field(default=MAX_QUANTITY, ge=1, le=MAX_QUANTITY)

    @model_validator(mode="after")
    def _one_filter(self) -> SearchRequest:
        if all(getattr(self, name) is None for name in FILTERS):
            raise ValueError(f"Give at least one search filter: {', '.join(FILTERS)}")
        return self


class AvailableNumber(BaseModel):
    e164: str
    npa: str
    nxx: str
    rateCenter: str
    city: str
    state: str


class SearchGroup(BaseModel):
    npa: str
    nxx: str
    rateCenter: str
    city: str
    state: str
    count: int
    numbers: list[AvailableNumber]


class SearchResponse(BaseModel):
    groups: list[SearchGroup]
    providerResultCount: int = Field(examples=[1])
    requestedQuantity: int = Field(examples=[250])


class UpdateRequest(BaseModel):
    """A partial update: omitted fields stay as they are, null clears a nullable one."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"minProperties": 1})

    campaignregId: str | None = Field(
        default=None,
        pattern=CAMPAIGN_PATTERN,
        description="Campaign registration id (note the lower-case r: the request spelling).",
    )
    # Omitted means unchanged; the None default is never validated, and null is refused.
    smsEnabled: bool = None  # type: ignore[assignment]
    mmsEnabled: bool = None  # type: ignore[assignment]
    webhookInboundOverride: Text | None = Field(
        default=None, max_length=2048, json_schema_extra={"pattern": WEBHOOK_URL_PATTERN}
    )
    webhookDeliveryOverride: Text | None = Field(
        default=None, max_length=2048, json_schema_extra={"pattern": WEBHOOK_URL_PATTERN}
    )
    # The response spelling, sent by mistake: refused with a pointer to the request spelling.
    campaignRegId: SkipJsonSchema[Any] = None

    @field_validator("campaignRegId")
    @classmethod
    def _wrong_spelling(cls, value: Any) -> None:
        raise ValueError("not accepted here: the request field is spelled campaignregId")

    @model_validator(mode="after")
    def _not_empty(self) -> UpdateRequest:
        if not self.model_fields_set:
            raise ValueError("Give at least one field to update")
        return self

    def changes(self) -> dict[str, Any]:
        """Only the fields the caller sent, with their (possibly null) values."""
        return {name: getattr(self, name) for name in self.model_fields_set}
