"""GET /api/core/numbers, POST /api/core/numbers/search, PATCH /api/core/numbers/{numberId}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from redcloud.auth.service import NUMBERS_READ, NUMBERS_SEARCH, NUMBERS_UPDATE, AuthenticatedClient
from redcloud.deps import AppSettings, ReadSession, WriteSession, require
from redcloud.errors import UpstreamError
from redcloud.inputs import Text
from redcloud.numbers import service
from redcloud.numbers.inventory import InventorySource, InventoryUnavailable, group_results
from redcloud.numbers.schemas import (
    NumberList,
    NumberOut,
    SearchGroup,
    SearchRequest,
    SearchResponse,
    UpdateRequest,
)
from redcloud.schemas import core_errors

router = APIRouter(prefix="/api/core/numbers", tags=["CORE"])


async def _inventory(request: Request) -> InventorySource:
    source: InventorySource = request.app.state.inventory
    return source


@router.get(
    "",
    summary="List active numbers for the authenticated API client",
    response_model=NumberList,
    responses=core_errors(403),
)
async def list_numbers(
    client: Annotated[AuthenticatedClient, Depends(require(NUMBERS_READ))],
    session: ReadSession,
) -> NumberList:
    numbers = await service.list_active(session, client.id)
    return NumberList(numbers=[service.to_schema(n) for n in numbers])


@router.post(
    "/search",
    summary="Search available numbers",
    response_model=SearchResponse,
    responses=core_errors(403, 502),
)
async def search_numbers(
    body: SearchRequest,
    client: Annotated[AuthenticatedClient, Depends(require(NUMBERS_SEARCH))],
    session: ReadSession,
    inventory: Annotated[InventorySource, Depends(_inventory)],
) -> SearchResponse:
    try:
        found = await inventory.search(session, body)
    except InventoryUnavailable as exc:
        raise UpstreamError(
            "The number inventory source is unavailable; try again shortly",
            {"reason": str(exc)},
        ) from exc
    return SearchResponse(
        groups=[SearchGroup(**group) for group in group_results(found)],
        providerResultCount=len(found),
        requestedQuantity=body.quantity,
    )


@router.patch(
    "/{numberId}",
    summary="Update number settings",
    response_model=NumberOut,
    responses=core_errors(403, 404),
)
async def update_number(
    body: UpdateRequest,
    client: Annotated[AuthenticatedClient, Depends(require(NUMBERS_UPDATE))],
    session: WriteSession,
    settings: AppSettings,
    numberId: Annotated[Text, Path(max_length=64, examples=["num_abc123"])],  # noqa: N803
) -> NumberOut:
    number = await service.update_settings(session, client, numberId, body.changes(), settings)
    return service.to_schema(number)
