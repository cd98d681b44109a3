"""POST /api/core/numbers/search over the embedded inventory (contract §4, search)."""

from __future__ import annotations

from functools import cache
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.db import Database
from redcloud.numbers import inventory
from redcloud.numbers.inventory import Block, InventoryUnavailable
from redcloud.numbers.schemas import AvailableNumber, SearchRequest
from tests.conftest import AppWith
from tests.factories import assert_core_error, make_client, make_number

SEARCH = "/api/core/numbers/search"


@cache
def texas() -> tuple[list[Block], list[dict[str, str]]]:
    return (
        list(inventory.blocks_from_phonenumbers(["TX"])),
        list(inventory.zip_codes_from_package(["TX"])),
    )


@pytest.fixture
async def tx_inventory(db: Database, demo: None) -> None:
    blocks, zips = texas()
    async with db.session(write=True) as session:
        await inventory.import_blocks(session, blocks)
        await inventory.import_zip_codes(session, zips, ["TX"])


async def search(api: httpx.AsyncClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await api.post(SEARCH, headers=auth, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def all_numbers(result: dict[str, Any]) -> list[dict[str, str]]:
    return [n for g in result["groups"] for n in g["numbers"]]


async def test_reference_example_finds_austin_555_numbers(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    result = await search(api, auth, npa="555", city="Austin", state="TX")
    assert set(result) == {"groups", "providerResultCount", "requestedQuantity"}
    assert result["requestedQuantity"] == 250
    assert result["providerResultCount"] >= 1
    numbers = all_numbers(result)
    assert len(numbers) == result["providerResultCount"]
    for group in result["groups"]:
        assert set(group) == {"npa", "nxx", "rateCenter", "city", "state", "count", "numbers"}
        assert group["count"] == len(group["numbers"])
        assert (group["npa"], group["city"], group["state"]) == ("555", "Austin", "TX")
    # The demo's own number is held, so it is never offered.
    assert "+15551234567" not in {n["e164"] for n in numbers}


async def test_city_and_state_search_returns_real_austin_exchanges(
    api: httpx.AsyncClient, tx_inventory: None, auth: dict[str, str]
) -> None:
    result = await search(api, auth, city="austin", state="tx", quantity=60)
    numbers = all_numbers(result)
    assert result["providerResultCount"] == len(numbers) == 60
    assert result["requestedQuantity"] == 60
    assert {n["city"] for n in numbers} == {"Austin"}
    assert {n["rateCenter"] for n in numbers} == {"AUSTIN"}
    # 512 is Austin's original area code and it appears among the real exchanges.
    assert "512" in {n["npa"] for n in numbers}
    for n in numbers:
        assert n["e164"] == f"+1{n['npa']}{n['nxx']}{n['e164'][-4:]}"


async def test_each_filter_narrows_the_search(
    api: httpx.AsyncClient, tx_inventory: None, auth: dict[str, str]
) -> None:
    by_npa = all_numbers(await search(api, auth, npa="512", quantity=40))
    assert by_npa
    assert {n["npa"] for n in by_npa} == {"512"}
    first = by_npa[0]
    by_nxx = all_numbers(await search(api, auth, npa="512", nxx=first["nxx"]))
    assert by_nxx
    assert {(n["npa"], n["nxx"]) for n in by_nxx} == {("512", first["nxx"])}
    by_state = all_numbers(await search(api, auth, state="TX", quantity=10))
    assert len(by_state) == 10
    assert {n["state"] for n in by_state} == {"TX"}
    by_rc = all_numbers(await search(api, auth, rateCenter="round rock", quantity=10))
    assert by_rc
    assert {n["rateCenter"] for n in by_rc} == {"ROUND ROCK"}
    by_zip = all_numbers(await search(api, auth, zipCode="78701", quantity=150))
    assert by_zip
    assert {n["city"] for n in by_zip} == {"Austin"}
    assert {n["npa"] for n in by_zip} <= {"512", "737", "555"}


async def test_no_match_is_an_empty_success(
    api: httpx.AsyncClient, tx_inventory: None, auth: dict[str, str]
) -> None:
    result = await search(api, auth, city="Atlantis", state="TX")
    assert result == {"groups": [], "providerResultCount": 0, "requestedQuantity": 250}


async def test_held_numbers_are_not_offered(
    api: httpx.AsyncClient, db: Database, tx_inventory: None, auth: dict[str, str]
) -> None:
    before = all_numbers(await search(api, auth, npa="512", nxx="206"))
    taken = before[0]["e164"]
    info = await make_client(db)
    await make_number(db, info.client_id, e164=taken)
    after = all_numbers(await search(api, auth, npa="512", nxx="206"))
    assert taken not in {n["e164"] for n in after}
    assert len(after) == len(before) - 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"quantity": 5}, "body"),
        ({"npa": "55"}, "npa"),
        ({"npa": 555}, "npa"),
        ({"nxx": "12a"}, "nxx"),
        ({"state": "Texas"}, "state"),
        ({"zipCode": "7870"}, "zipCode"),
        ({"city": ""}, "city"),
        ({"npa": "512", "quantity": 0}, "quantity"),
        ({"npa": "512", "quantity": 251}, "quantity"),
        ({"npa": "512", "limit": 3}, "limit"),
    ],
)
async def test_invalid_filters_are_400(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await api.post(SEARCH, headers=auth, json=body)
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert error["details"]["field"] == field


class UnreachableInventory:
    """An inventory source whose upstream is down."""

    async def search(self, session: AsyncSession, query: SearchRequest) -> list[AvailableNumber]:
        raise InventoryUnavailable("connection refused by the carrier's inventory API")


async def test_inventory_failure_is_502_upstream_error(
    app_with: AppWith, demo: None, auth: dict[str, str]
) -> None:
    api = app_with(inventory=UnreachableInventory())
    response = await api.post(SEARCH, headers=auth, json={"npa": "512"})
    assert_core_error(response, 502, "UPSTREAM_ERROR")


def test_embedded_inventory_covers_real_us_locations() -> None:
    blocks, zips = texas()
    austin = [b for b in blocks if b.city == "Austin"]
    assert len(austin) > 50
    assert all(b.state == "TX" and b.rate_center == "AUSTIN" for b in austin)
    assert {z["npa"] for z in zips if z["zip_code"] == "78701"} >= {"512"}
    every_state = {b.state for b in inventory.blocks_from_phonenumbers()}
    assert {"CA", "NY", "TX", "FL", "WA"} <= every_state


def test_rate_center_names_are_carrier_style() -> None:
    assert inventory.rate_center_for("Round Rock") == "ROUND ROCK"
    assert inventory.rate_center_for("Hasbrouck Hts") == "HASBROUCK"
    assert inventory.rate_center_for("St. Louis") == "ST LOUIS"


async def test_csv_import(db: Database, tmp_path: Any) -> None:
    path = tmp_path / "blocks.csv"
    path.write_text("npa,nxx,city,state\n720,555,Denver,co\n")
    blocks = list(inventory.blocks_from_csv(path))
    assert blocks == [Block("720", "555", "Denver", "CO", "DENVER")]
    bad = tmp_path / "bad.csv"
    bad.write_text("npa,nxx,city,state\n72,555,Denver,CO\n")
    with pytest.raises(ValueError, match="three digits"):
        list(inventory.blocks_from_csv(bad))
