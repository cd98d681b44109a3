"""redcloud operators: the people who sign in to the console (/console)."""

from __future__ import annotations

import sys
from typing import Any

import typer

from redcloud.cli.common import JsonOption, emit, emit_one, fail, run_in_session
from redcloud.console import operators
from redcloud.console.audit import CLI
from redcloud.console.models import Operator

app = typer.Typer(
    help="Console operators: admins change things, viewers read.", no_args_is_help=True
)
PasswordStdin = typer.Option(
    False, "--password-stdin", help="Read the password from standard input (for scripts)."
)


def row(operator: Operator) -> dict[str, Any]:
    return {
        "email": operator.email,
        "role": operator.role,
        "active": operator.active,
        "createdAt": operator.created_at.isoformat(),
    }


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < operators.MIN_PASSWORD:
        fail(f"A password must be at least {operators.MIN_PASSWORD} characters.")
    return password


@app.command()
def create(
    email: str = typer.Argument(..., help="What the operator signs in with."),
    role: str = typer.Option(..., "--role", help="admin (reads and changes) or viewer (reads)."),
    password_stdin: bool = PasswordStdin,
    as_json: bool = JsonOption,
) -> None:
    """Create an operator who can sign in at /console/login."""
    password = _password(password_stdin)
    operator = run_in_session(lambda s: operators.create(s, email, role, password, by=CLI))
    emit_one(row(operator), as_json)


@app.command("list")
def list_(as_json: bool = JsonOption) -> None:
    """Every operator, active or not."""
    emit([row(o) for o in run_in_session(operators.list_all, write=False)], as_json)


@app.command("set-role")
def set_role(email: str, role: str, as_json: bool = JsonOption) -> None:
    """Make an operator an admin or a viewer."""
    emit_one(row(run_in_session(lambda s: operators.set_role(s, email, role, by=CLI))), as_json)


@app.command()
def deactivate(email: str, as_json: bool = JsonOption) -> None:
    """Stop an operator signing in; their open sessions end at once."""
    emit_one(row(run_in_session(lambda s: operators.deactivate(s, email, by=CLI))), as_json)


@app.command("reset-password")
def reset_password(
    email: str, password_stdin: bool = PasswordStdin, as_json: bool = JsonOption
) -> None:
    """Give an operator a new password; their open sessions end."""
    password = _password(password_stdin)
    operator = run_in_session(lambda s: operators.reset_password(s, email, password, by=CLI))
    emit_one(row(operator), as_json)
