"""redcloud accounts: create, list, activate, deactivate."""

from __future__ import annotations

from typing import Any

import typer

from redcloud.auth import provisioning
from redcloud.auth.models import Account
from redcloud.cli.common import JsonOption, emit, emit_one, run_in_session

app = typer.Typer(help="Accounts: the owners of API clients.", no_args_is_help=True)


def row(account: Account) -> dict[str, Any]:
    return {
        "accountId": account.id,
        "name": account.name,
        "status": account.status,
        "createdAt": account.created_at.isoformat(),
    }


@app.command()
def create(
    name: str = typer.Argument(..., help="A name people recognise, e.g. 'Acme Corp'."),
    account_id: str | None = typer.Option(None, "--id", help="Choose the id (default: random)."),
    as_json: bool = JsonOption,
) -> None:
    """Create an ACTIVE account."""
    account = run_in_session(lambda s: provisioning.create_account(s, name, account_id))
    emit_one(row(account), as_json)


@app.command("list")
def list_(as_json: bool = JsonOption) -> None:
    """List every account."""
    accounts = run_in_session(provisioning.list_accounts, write=False)
    emit([row(a) for a in accounts], as_json)


@app.command()
def activate(account_id: str, as_json: bool = JsonOption) -> None:
    """Let the account's API clients authenticate again."""
    account = run_in_session(lambda s: provisioning.set_account_status(s, account_id, "ACTIVE"))
    emit_one(row(account), as_json)


@app.command()
def deactivate(account_id: str, as_json: bool = JsonOption) -> None:
    """Stop every API client of the account at once: tokens stop working immediately."""
    account = run_in_session(lambda s: provisioning.set_account_status(s, account_id, "INACTIVE"))
    emit_one(row(account), as_json)
