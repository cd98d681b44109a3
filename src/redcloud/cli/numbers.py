"""redcloud numbers: inventory import, assignment, campaign ids, release."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.cli.common import JsonOption, emit, emit_one, fail, out, run_in_session
from redcloud.numbers import inventory, provisioning
from redcloud.numbers.models import Number
from redcloud.pacing import caps

app = typer.Typer(help="Numbers: inventory, assignment, campaigns.", no_args_is_help=True)


def row(number: Number) -> dict[str, Any]:
    return {
        "numberId": number.id,
        "e164": number.e164,
        "status": number.status,
        "clientId": number.api_client_id,
        "campaignRegId": number.campaign_reg_id,
        "sms": number.sms_enabled,
        "mms": number.mms_enabled,
        "inboundOverride": number.webhook_inbound_override,
        "deliveryOverride": number.webhook_delivery_override,
        "connector": number.connector,
        "segmentsPerSecond": number.segments_per_second,
    }


async def load_inventory(
    session: AsyncSession, states: list[str] | None, csv_file: Path | None, show: bool = True
) -> tuple[int, int]:
    """Import blocks (from the packages, or a CSV) and ZIP codes, with a progress bar."""
    wanted = [s.upper() for s in states] if states else None
    if csv_file is not None:
        blocks = list(inventory.blocks_from_csv(csv_file))
    else:
        blocks = list(inventory.blocks_from_phonenumbers(wanted))
    with Progress(
        TextColumn("[bold]importing NPA-NXX blocks"),
        BarColumn(),
        MofNCompleteColumn(),
        console=out,
        disable=not show,
        transient=True,
    ) as bar:
        task = bar.add_task("blocks", total=len(blocks))
        count = await inventory.import_blocks(
            session, blocks, lambda done: bar.update(task, completed=done)
        )
    zips = 0
    if csv_file is None:
        zips = await inventory.import_zip_codes(
            session, inventory.zip_codes_from_package(wanted), wanted
        )
    return count, zips


@app.command("import-inventory")
def import_inventory(
    state: list[str] = typer.Option([], "--state", help="Only these states (repeat); default all."),
    csv_file: Path | None = typer.Option(
        None, "--file", help="CSV with npa,nxx,city,state[,rate_center] instead of the built-in."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Load the searchable inventory of NPA-NXX blocks (replacing blocks already present)."""
    try:
        blocks, zips = run_in_session(
            lambda s: load_inventory(s, state or None, csv_file, show=not as_json)
        )
    except (OSError, ValueError) as exc:
        fail(str(exc))
    emit_one({"blocks": blocks, "zipCodes": zips}, as_json)


@app.command()
def assign(
    e164: str = typer.Argument(..., help="The number, e.g. +15125550100."),
    client: str = typer.Option(..., "--client", help="The API client that gets it."),
    number_id: str | None = typer.Option(None, "--number-id", help="Default: random num_..."),
    campaign: str | None = typer.Option(None, "--campaign", help="Campaign registration id."),
    sms: bool = typer.Option(True, "--sms/--no-sms"),
    mms: bool = typer.Option(True, "--mms/--no-mms"),
    as_json: bool = JsonOption,
) -> None:
    """Assign a number to an API client (ACTIVE); it can send once it has a campaign id."""
    number = run_in_session(
        lambda s: provisioning.assign(
            s,
            e164,
            client,
            number_id=number_id,
            campaign=campaign,
            sms_enabled=sms,
            mms_enabled=mms,
        )
    )
    emit_one(row(number), as_json)


@app.command("set-campaign")
def set_campaign(
    number_id: str,
    campaign: str | None = typer.Argument(None, help="The campaign id; omit with --clear."),
    clear: bool = typer.Option(False, "--clear", help="Remove the campaign id."),
    as_json: bool = JsonOption,
) -> None:
    """Set (or clear) a number's campaign registration id."""
    if (campaign is None) == (not clear):
        fail("Give a campaign id, or --clear.")
    number = run_in_session(lambda s: provisioning.set_campaign(s, number_id, campaign))
    emit_one(row(number), as_json)


@app.command("set-status")
def set_status(number_id: str, status: str, as_json: bool = JsonOption) -> None:
    """Mark an assigned number ACTIVE or INACTIVE."""
    number = run_in_session(lambda s: provisioning.set_status(s, number_id, status))
    emit_one(row(number), as_json)


@app.command("set-connector")
def set_connector(
    number_id: str,
    name: str | None = typer.Argument(None, help="The connector; omit with --clear."),
    clear: bool = typer.Option(False, "--clear", help="Use the default connector again."),
    as_json: bool = JsonOption,
) -> None:
    """Send the number's messages through connector NAME (running workers follow within
    seconds); --clear returns it to the default connector."""
    if (name is None) == (not clear):
        fail("Give a connector name, or --clear.")
    number = run_in_session(lambda s: provisioning.set_connector(s, number_id, name))
    emit_one(row(number), as_json)


@app.command("set-throughput")
def set_throughput(
    number_id: str,
    per_second: float = typer.Argument(..., help="Segments per second; 0 removes the cap."),
    as_json: bool = JsonOption,
) -> None:
    """Cap the number's messages at PER_SECOND segments a second, across every worker: the
    rest wait in the queue and go at the cap (nothing is refused). See docs/operating.md."""
    number = run_in_session(lambda s: caps.set_number_cap(s, number_id, per_second))
    emit_one(row(number), as_json)


@app.command("set-campaign-throughput")
def set_campaign_throughput(
    campaign_id: str,
    per_second: float = typer.Argument(..., help="Segments per second; 0 removes the cap."),
) -> None:
    """Cap every number of a campaign together at PER_SECOND segments a second (carriers
    cap 10DLC campaigns by class), beside each number's own cap."""
    cap = run_in_session(lambda s: caps.set_campaign_cap(s, campaign_id, per_second))
    out.print(f"campaign {campaign_id}: " + (f"{cap:g} segments/s" if cap else "no cap"))


@app.command()
def release(number_id: str, as_json: bool = JsonOption) -> None:
    """Release a number: unassigned, its settings cleared, searchable again."""
    number = run_in_session(lambda s: provisioning.release(s, number_id))
    emit_one(row(number), as_json)


@app.command("list")
def list_(
    client: str | None = typer.Option(None, "--client", help="Only this client's numbers."),
    as_json: bool = JsonOption,
) -> None:
    """List the numbers the platform holds."""
    numbers = run_in_session(lambda s: provisioning.list_numbers(s, client), write=False)
    if as_json:
        emit([row(n) for n in numbers], True)
        return
    emit(
        [
            {
                "numberId": n.id,
                "e164": n.e164,
                "status": n.status,
                "clientId": n.api_client_id,
                "campaign": n.campaign_reg_id,
            }
            for n in numbers
        ],
        False,
    )
