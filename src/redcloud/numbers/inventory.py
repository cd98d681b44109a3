"""The embedded US inventory: NPA-NXX blocks with real locations, and how it is searched.

Blocks come from the NPA-NXX geocoding data that ships with `phonenumbers`; ZIP codes and the
area codes that serve them from `zipcodes`. A block's rate center is its city in upper case,
cut to the 10 characters carrier rate-center names use. Each block offers a fixed,
deterministic set of line numbers, less those the platform already holds.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.numbers.models import RELEASED, InventoryBlock, InventoryZipCode, Number
from redcloud.numbers.schemas import AvailableNumber, SearchRequest

_STATES_AND_TERRITORIES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR VI GU AS MP"
)
US_STATES = frozenset(_STATES_AND_TERRITORIES.split())
LINES_PER_BLOCK = 20
_BATCH = 2000
Progress = Callable[[int], None]


class InventoryUnavailable(Exception):
    """The inventory source could not answer (answered as 502 UPSTREAM_ERROR)."""


class InventorySource(Protocol):
    async def search(
        self, session: AsyncSession, query: SearchRequest
    ) -> list[AvailableNumber]: ...


@dataclass(frozen=True, slots=True)
class Block:
    npa: str
    nxx: str
    city: str
    state: str
    rate_center: str


def rate_center_for(city: str) -> str:
    return re.sub(r"[^A-Z0-9 ]", "", city.upper()).strip()[:10].strip()


def blocks_from_phonenumbers(states: Iterable[str] | None = None) -> Iterator[Block]:
    """US NPA-NXX blocks with their 'City, ST' from phonenumbers' geocoding data."""
    from phonenumbers.geodata import GEOCODE_DATA

    wanted = set(states) if states else US_STATES
    for prefix, names in GEOCODE_DATA.items():
        if len(prefix) != 7 or prefix[0] != "1" or "en" not in names:
            continue
        city, _, state = names["en"].rpartition(", ")
        if city and state in wanted:
            yield Block(prefix[1:4], prefix[4:7], city, state, rate_center_for(city))


def zip_codes_from_package(states: Iterable[str] | None = None) -> Iterator[dict[str, str]]:
    """(zip, npa, city, state) rows: which area codes serve each active ZIP code."""
    import zipcodes

    wanted = set(states) if states else US_STATES
    for entry in zipcodes.list_all():  # type: ignore[no-untyped-call]
        if not entry.get("active") or entry.get("state") not in wanted:
            continue
        for npa in entry.get("area_codes") or ():
            yield {
                "zip_code": entry["zip_code"],
                "npa": npa,
                "city": entry["city"],
                "state": entry["state"],
            }


def blocks_from_csv(path: Path) -> Iterator[Block]:
    """Operator-supplied inventory: a CSV with npa,nxx,city,state[,rate_center] columns."""
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                npa, nxx = row["npa"].strip(), row["nxx"].strip()
                city, state = row["city"].strip(), row["state"].strip().upper()
            except (KeyError, AttributeError) as exc:
                raise ValueError(f"{path}:{line}: needs npa, nxx, city and state columns") from exc
            if not (re.fullmatch(r"[0-9]{3}", npa) and re.fullmatch(r"[0-9]{3}", nxx)):
                raise ValueError(f"{path}:{line}: npa and nxx must be three digits")
            if not city or not re.fullmatch(r"[A-Z]{2}", state):
                raise ValueError(f"{path}:{line}: city is required and state is two letters")
            rate_center = (row.get("rate_center") or "").strip().upper() or rate_center_for(city)
            yield Block(npa, nxx, city, state, rate_center[:10])


async def import_blocks(
    session: AsyncSession, blocks: Iterable[Block], progress: Progress | None = None
) -> int:
    """Insert or replace blocks, in batches; returns how many were written."""
    unique = {(b.npa, b.nxx): b for b in blocks}
    rows = [
        {"npa": b.npa, "nxx": b.nxx, "city": b.city, "state": b.state, "rate_center": b.rate_center}
        for b in unique.values()
    ]
    keys = list(unique)
    for start in range(0, len(rows), _BATCH):
        chunk_keys = keys[start : start + _BATCH]
        await session.execute(
            delete(InventoryBlock).where(
                tuple_(InventoryBlock.npa, InventoryBlock.nxx).in_(chunk_keys)
            )
        )
        await session.execute(insert(InventoryBlock), rows[start : start + _BATCH])
        if progress:
            progress(min(start + _BATCH, len(rows)))
    return len(rows)


async def import_zip_codes(
    session: AsyncSession, rows: Iterable[dict[str, str]], states: Sequence[str] | None = None
) -> int:
    unique = {(r["zip_code"], r["npa"]): r for r in rows}
    query = delete(InventoryZipCode)
    if states:
        query = query.where(InventoryZipCode.state.in_(states))
    await session.execute(query)
    values = list(unique.values())
    for start in range(0, len(values), _BATCH):
        await session.execute(insert(InventoryZipCode), values[start : start + _BATCH])
    return len(values)


def block_lines(npa: str, nxx: str) -> list[str]:
    """The line numbers a block offers: fixed per block, so searches are reproducible."""
    picker = random.Random(f"{npa}{nxx}")
    return [f"+1{npa}{nxx}{line:04d}" for line in sorted(picker.sample(range(10000), 20))]


class EmbeddedInventory:
    """The sandbox's inventory: blocks in the platform's own database."""

    async def search(self, session: AsyncSession, query: SearchRequest) -> list[AvailableNumber]:
        statement = select(InventoryBlock).order_by(InventoryBlock.npa, InventoryBlock.nxx)
        if query.npa:
            statement = statement.where(InventoryBlock.npa == query.npa)
        if query.nxx:
            statement = statement.where(InventoryBlock.nxx == query.nxx)
        if query.state:
            statement = statement.where(InventoryBlock.state == query.state.upper())
        if query.city:
            statement = statement.where(func.lower(InventoryBlock.city) == query.city.lower())
        if query.rateCenter:
            statement = statement.where(InventoryBlock.rate_center == query.rateCenter.upper())
        if query.zipCode:
            statement = statement.join(
                InventoryZipCode,
                (InventoryZipCode.zip_code == query.zipCode)
                & (InventoryZipCode.npa == InventoryBlock.npa)
                & (InventoryZipCode.state == InventoryBlock.state)
                & (func.lower(InventoryZipCode.city) == func.lower(InventoryBlock.city)),
            )
        found: list[AvailableNumber] = []
        page = 64
        offset = 0
        while len(found) < query.quantity:
            blocks = list((await session.scalars(statement.limit(page).offset(offset))).all())
            if not blocks:
                break
            offset += page
            candidates = {b: block_lines(b.npa, b.nxx) for b in blocks}
            held = await _held(session, [e for lines in candidates.values() for e in lines])
            for block, lines in candidates.items():
                for e164 in lines:
                    if e164 not in held:
                        found.append(_available(block, e164))
            page = min(page * 2, 1024)
        return found[: query.quantity]


async def _held(session: AsyncSession, e164s: list[str]) -> set[str]:
    held: set[str] = set()
    for start in range(0, len(e164s), 500):
        rows = await session.scalars(
            select(Number.e164).where(
                Number.e164.in_(e164s[start : start + 500]), Number.status != RELEASED
            )
        )
        held.update(rows)
    return held


def _available(block: InventoryBlock, e164: str) -> AvailableNumber:
    return AvailableNumber(
        e164=e164,
        npa=block.npa,
        nxx=block.nxx,
        rateCenter=block.rate_center,
        city=block.city,
        state=block.state,
    )


def group_results(numbers: list[AvailableNumber]) -> list[dict[str, Any]]:
    """Group by exchange (one NPA-NXX within one rate center), keeping search order."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for number in numbers:
        group = groups.setdefault(
            (number.npa, number.nxx),
            {
                "npa": number.npa,
                "nxx": number.nxx,
                "rateCenter": number.rateCenter,
                "city": number.city,
                "state": number.state,
                "count": 0,
                "numbers": [],
            },
        )
        group["count"] += 1
        group["numbers"].append(number)
    return list(groups.values())
