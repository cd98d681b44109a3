"""Connectors: the live state of every SMPP session, counters and last errors; add, edit,
enable, disable, make the default."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import MISSING, fields
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from redcloud.auth.provisioning import ProvisioningError
from redcloud.auth.security import SecretBox
from redcloud.console.operators import SignedIn
from redcloud.console.pages.overview import connector_states
from redcloud.console.web import Viewer, admin_form, back, record, render, text
from redcloud.deps import database_of, settings_of
from redcloud.providers import connectors
from redcloud.providers.models import Connector
from redcloud.providers.smpp.options import (
    BIND_MODES,
    ID_FORMATS,
    SPLIT_MODES,
    InvalidOption,
    SmppOptions,
    check_password,
)

router = APIRouter()
NUMBERS = (
    "port",
    "binds",
    "window",
    "mps",
    "enquire_link_seconds",
    "source_ton",
    "source_npi",
    "dest_ton",
    "dest_npi",
)


def state(connector: Connector) -> dict[str, Any]:
    """What the audit log keeps: the settings without the (encrypted) password."""
    settings = {k: v for k, v in connector.settings.items() if k != "password_encrypted"}
    return {"status": connector.status, "default": connector.is_default, **settings}


def options_from(form: FormData, box: SecretBox, keep: str | None) -> SmppOptions:
    """SmppOptions from the form; an empty password keeps the one stored (`keep`)."""
    try:
        password = str(form.get("password") or "")
        if password:
            check_password(password)
            encrypted = box.encrypt(password).decode()
        elif keep:
            encrypted = keep
        else:
            raise InvalidOption("--password is required for a new connector")
        numbers: dict[str, int] = {}
        for name in NUMBERS:
            raw = text(form, name)
            if not raw.lstrip("-").isdigit():
                raise InvalidOption(f"--{name.replace('_', '-')} must be a whole number")
            numbers[name] = int(raw)
        validity = text(form, "validity_seconds")
        if validity and not validity.isdigit():
            raise InvalidOption("--validity-seconds must be a whole number")
        return SmppOptions(
            host=text(form, "host"),
            system_id=text(form, "system_id"),
            password_encrypted=encrypted,
            system_type=text(form, "system_type"),
            bind=text(form, "bind"),  # type: ignore[arg-type]
            split=text(form, "split"),  # type: ignore[arg-type]
            dlr_id_format=text(form, "dlr_id_format"),  # type: ignore[arg-type]
            validity_seconds=int(validity) if validity else None,
            tls=bool(form.get("tls")),
            **numbers,
        )
    except InvalidOption as exc:
        raise ProvisioningError(str(exc)) from exc


def _box(request: Request) -> SecretBox:
    settings = settings_of(request)
    return SecretBox.from_settings(settings.secret_key, settings.data_dir)


@router.get("/connectors")
async def connectors_page(request: Request, viewer: Viewer) -> HTMLResponse:
    async with database_of(request).session(write=True) as session:  # may create the sandbox row
        links = await connector_states(session, settings_of(request).smpp_lease_seconds)
    partial = request.headers.get("hx-request") and request.headers.get("hx-target") == "live"
    return render(
        request,
        viewer,
        "connectors_live.html" if partial else "connectors.html",
        section="connectors",
        title="Connectors",
        links=links,
        defaults={f.name: f.default for f in fields(SmppOptions) if f.default is not MISSING},
        binds=BIND_MODES,
        splits=SPLIT_MODES,
        formats=ID_FORMATS,
    )


@router.post("/connectors", response_model=None)
async def add(request: Request, viewer: Viewer) -> Response:
    form = await admin_form(request, viewer)
    options = options_from(form, _box(request), None)
    async with database_of(request).session(write=True) as session:
        connector = await connectors.add_smpp(session, text(form, "name"), options)
        record(session, viewer, "connector.add", connector.name, None, state(connector))
    return back(
        "/console/connectors",
        notice=f"Connector {connector.name} added; workers bind to it within seconds.",
    )


Change = Callable[[AsyncSession, Connector, FormData], Awaitable[object]]


async def _change(
    request: Request, viewer: SignedIn, name: str, action: str, change: Change
) -> Connector:
    """One admin change to a connector, audited with its state before and after."""
    form = await admin_form(request, viewer)
    async with database_of(request).session(write=True) as session:
        connector = await connectors.get_connector(session, name[:64])
        before = state(connector)
        await change(session, connector, form)
        record(session, viewer, action, connector.name, before, state(connector))
    return connector


@router.post("/connectors/{name}", response_model=None)
async def edit(request: Request, viewer: Viewer, name: str) -> Response:
    box = _box(request)

    async def apply(session: AsyncSession, connector: Connector, form: FormData) -> object:
        kept = connector.settings.get("password_encrypted")
        return await connectors.update_smpp(session, connector.name, options_from(form, box, kept))

    connector = await _change(request, viewer, name, "connector.edit", apply)
    notice = f"{connector.name} saved; its sessions bind again with the new settings."
    return back("/console/connectors", notice=notice)


@router.post("/connectors/{name}/status", response_model=None)
async def set_status(request: Request, viewer: Viewer, name: str) -> Response:
    async def apply(session: AsyncSession, connector: Connector, form: FormData) -> object:
        return await connectors.set_status(session, connector.name, text(form, "status"))

    connector = await _change(request, viewer, name, "connector.status", apply)
    return back("/console/connectors", notice=f"{connector.name} is {connector.status}.")


@router.post("/connectors/{name}/default", response_model=None)
async def set_default(request: Request, viewer: Viewer, name: str) -> Response:
    async def apply(session: AsyncSession, connector: Connector, _form: FormData) -> object:
        return await connectors.set_default(session, connector.name)

    connector = await _change(request, viewer, name, "connector.default", apply)
    return back("/console/connectors", notice=f"{connector.name} is now the default connector.")
