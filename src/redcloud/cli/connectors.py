"""redcloud connectors: the carrier links messages go out through."""

from __future__ import annotations

from typing import Any

import typer

from redcloud.auth.security import SecretBox
from redcloud.cli.common import (
    JsonOption,
    emit,
    emit_one,
    fail,
    out,
    run_in_session,
    settings,
)
from redcloud.providers import connectors
from redcloud.providers.models import SMPP, Connector
from redcloud.providers.smpp.options import InvalidOption, SmppOptions, check_password

app = typer.Typer(
    help="Connectors: the carrier links (the built-in sandbox, and SMPP 3.4 carriers).",
    no_args_is_help=True,
)
HIDDEN = ("password_encrypted",)


def row(connector: Connector, numbers: int | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": connector.name,
        "kind": connector.kind,
        "status": connector.status,
        "default": connector.is_default,
    }
    if numbers is not None:
        fields["numbers"] = numbers
    return fields


@app.command("list")
def list_(as_json: bool = JsonOption) -> None:
    """List connectors: kind, status, and which one is the default."""
    found = run_in_session(connectors.list_connectors)
    emit([row(c) for c in found], as_json)


@app.command()
def show(name: str, as_json: bool = JsonOption) -> None:
    """Show one connector, how many numbers send through it and, for SMPP, its live state:
    bound sessions, in flight, submitted/acked/throttled/failed, reconnects, last error
    (summed over the workers running it; `per_worker` in --json has each one's)."""
    lease = settings().smpp_lease_seconds

    async def _show(session: Any) -> dict[str, Any]:
        connector = await connectors.get_connector(session, name)
        shown = row(connector, await connectors.numbers_using(session, name))
        if connector.kind == SMPP:
            options = {k: v for k, v in connector.settings.items() if k not in HIDDEN}
            shown["options"] = options
            shown["live"] = await connectors.live_state(session, connector, lease)
        return shown

    shown = run_in_session(_show, write=False)
    if as_json:
        emit_one(shown, True)
        return
    options = shown.pop("options", None)
    live = shown.pop("live", None)
    emit_one(shown, False)
    if options is not None:
        out.print("[bold]options[/bold]")
        emit_one(options, False)
    if live is not None:
        per_worker = live.pop("per_worker")
        out.print("[bold]live[/bold]" + ("" if per_worker else " (no worker is running it)"))
        emit_one(live, False)


@app.command("add-smpp")
def add_smpp(
    name: str = typer.Argument(..., help="A name for the link, e.g. carrier-eu"),
    host: str = typer.Option(..., help="The carrier's SMSC host"),
    port: int = typer.Option(..., help="The SMSC's port (often 2775, or 3550 with TLS)"),
    system_id: str = typer.Option(..., help="The account the carrier gave you"),
    password: str = typer.Option(
        ..., help="Its password (stored encrypted with REDCLOUD_SECRET_KEY)"
    ),
    system_type: str = typer.Option("", help="system_type, if the carrier asks for one"),
    bind: str = typer.Option("transceiver", help="transceiver (one TRX) or split (TX + RX)"),
    binds: int = typer.Option(1, help="Sessions across the whole cluster"),
    window: int = typer.Option(64, help="Outstanding requests per session"),
    mps: int = typer.Option(0, help="submit_sm per second for the connector (0 = unlimited)"),
    enquire_link_seconds: int = typer.Option(30, help="Keep-alive after this much silence"),
    split: str = typer.Option("udh", help="How long messages travel: udh, sar or payload"),
    dlr_id_format: str = typer.Option(
        "same", help="Receipt ids vs submit_sm_resp ids: same, hex-to-dec or dec-to-hex"
    ),
    source_ton: int = typer.Option(1, help="TON of our numbers (1 = international)"),
    source_npi: int = typer.Option(1, help="NPI of our numbers (1 = E.164)"),
    dest_ton: int = typer.Option(1, help="TON of recipients"),
    dest_npi: int = typer.Option(1, help="NPI of recipients"),
    validity_seconds: int | None = typer.Option(
        None, help="Validity for this link (default REDCLOUD_MESSAGE_VALIDITY_SECONDS)"
    ),
    tls: bool = typer.Option(False, "--tls", help="Connect over TLS"),
    as_json: bool = JsonOption,
) -> None:
    """Add an SMPP 3.4 carrier link. It starts enabled but carries nothing until numbers are
    routed to it (`redcloud numbers set-connector`) or it is made the default; running
    workers bind within seconds. See docs/carriers.md."""
    try:
        check_password(password)
        box = SecretBox.from_settings(settings().secret_key, settings().data_dir)
        options = SmppOptions(
            host=host,
            port=port,
            system_id=system_id,
            password_encrypted=box.encrypt(password).decode(),
            system_type=system_type,
            bind=bind.lower(),  # type: ignore[arg-type]
            binds=binds,
            window=window,
            mps=mps,
            enquire_link_seconds=enquire_link_seconds,
            split=split.lower(),  # type: ignore[arg-type]
            dlr_id_format=dlr_id_format.lower(),  # type: ignore[arg-type]
            source_ton=source_ton,
            source_npi=source_npi,
            dest_ton=dest_ton,
            dest_npi=dest_npi,
            validity_seconds=validity_seconds,
            tls=tls,
        )
    except InvalidOption as exc:
        fail(str(exc))
    connector = run_in_session(lambda s: connectors.add_smpp(s, name, options))
    emit_one(row(connector), as_json)


@app.command("set-status")
def set_status(
    name: str,
    status: str = typer.Argument(..., help="enabled or disabled"),
    as_json: bool = JsonOption,
) -> None:
    """Enable or disable a connector; running workers follow within seconds.

    Messages for a disabled connector wait in the queue until it is enabled again or their
    validity (REDCLOUD_MESSAGE_VALIDITY_SECONDS) ends.
    """
    connector = run_in_session(lambda s: connectors.set_status(s, name, status.lower()))
    emit_one(row(connector), as_json)


@app.command("set-default")
def set_default(name: str, as_json: bool = JsonOption) -> None:
    """Make NAME carry the messages of numbers that have no connector of their own."""
    connector = run_in_session(lambda s: connectors.set_default(s, name))
    emit_one(row(connector), as_json)


@app.command()
def remove(name: str) -> None:
    """Remove a connector no number uses and that is not the default."""
    run_in_session(lambda s: connectors.remove(s, name))
    out.print(f"removed connector {name}")
