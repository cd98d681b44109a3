"""Operator accounts and their console sessions: the service the CLI (`redcloud operators`)
and the console's login share.

Passwords are hashed with argon2id (memory-hard) and checked in constant time. A session is
a random token in an HttpOnly cookie; the database keeps only its SHA-256, with the CSRF
token its forms carry. A session ends after `idle` without a request, after `absolute`
whatever happens, at logout, or when its operator is deactivated or gets a new password.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud import ids
from redcloud.auth.provisioning import ProvisioningError
from redcloud.console import audit
from redcloud.console.models import ROLES, Operator, OperatorSession
from redcloud.db import utcnow

MIN_PASSWORD = 12
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}$")
_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended parameters
# Checked when the email is unknown, so that a wrong email costs what a wrong password does.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))
TOUCH_SECONDS = 60  # a session's last-seen time is written at most this often


@dataclass(frozen=True, slots=True)
class SignedIn:
    operator: Operator
    session: OperatorSession


def _email(raw: str) -> str:
    email = raw.strip().lower()
    if not _EMAIL.match(email):
        raise ProvisioningError(f"{raw!r} is not an email address.")
    return email


def _role(raw: str) -> str:
    if raw not in ROLES:
        raise ProvisioningError(f"Role must be one of {', '.join(ROLES)}.")
    return raw


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ProvisioningError(f"A password must be at least {MIN_PASSWORD} characters.")
    return password


def _view(operator: Operator) -> dict[str, object]:
    return {"email": operator.email, "role": operator.role, "active": operator.active}


async def get(session: AsyncSession, email: str) -> Operator:
    found = await session.scalar(select(Operator).where(Operator.email == _email(email)))
    if found is None:
        raise ProvisioningError(f"No operator {email!r}. List them with `redcloud operators list`.")
    return found


async def list_all(session: AsyncSession) -> list[Operator]:
    return list((await session.scalars(select(Operator).order_by(Operator.email))).all())


async def create(
    session: AsyncSession, email: str, role: str, password: str, *, by: str
) -> Operator:
    address = _email(email)
    if await session.scalar(select(Operator.id).where(Operator.email == address)):
        raise ProvisioningError(f"Operator {address} already exists.")
    operator = Operator(
        id=ids.new_id("op_"),
        email=address,
        role=_role(role),
        password_hash=await _hash(password),
        active=True,
    )
    session.add(operator)
    await session.flush()
    audit.record(session, by, "operator.create", address, None, _view(operator))
    return operator


async def set_role(session: AsyncSession, email: str, role: str, *, by: str) -> Operator:
    operator = await get(session, email)
    before = _view(operator)
    operator.role = _role(role)
    audit.record(session, by, "operator.set-role", operator.email, before, _view(operator))
    return operator


async def deactivate(session: AsyncSession, email: str, *, by: str) -> Operator:
    operator = await get(session, email)
    before = _view(operator)
    operator.active = False
    await _end_sessions(session, operator.id)
    audit.record(session, by, "operator.deactivate", operator.email, before, _view(operator))
    return operator


async def reset_password(session: AsyncSession, email: str, password: str, *, by: str) -> Operator:
    """A new password (and, for a deactivated operator, nothing else): every session ends."""
    operator = await get(session, email)
    operator.password_hash = await _hash(password)
    operator.password_changed_at = utcnow()
    await _end_sessions(session, operator.id)
    audit.record(session, by, "operator.reset-password", operator.email, None, None)
    return operator


async def _end_sessions(session: AsyncSession, operator_id: str) -> None:
    await session.execute(delete(OperatorSession).where(OperatorSession.operator_id == operator_id))


async def authenticate(session: AsyncSession, email: str, password: str) -> Operator | None:
    """The active operator these credentials prove, or None (the same work either way).
    The hash runs in a thread: the event loop keeps serving while it works. Call it in a
    read transaction: it must not hold SQLite's write lock for the hash's duration."""
    try:
        address = _email(email)
    except ProvisioningError:
        address = ""
    operator = await session.scalar(select(Operator).where(Operator.email == address))
    stored = operator.password_hash if operator else _DUMMY
    if not await asyncio.to_thread(_matches, stored, password):
        return None
    if operator is None or not operator.active:
        return None
    return operator


def _matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def _hash(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, check_password(password))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(session: AsyncSession, operator: Operator) -> str:
    """A new session for `operator`; returns the cookie's token (never stored as is)."""
    token = secrets.token_urlsafe(32)
    session.add(
        OperatorSession(
            token_hash=_digest(token),
            operator_id=operator.id,
            csrf_token=secrets.token_urlsafe(32),
        )
    )
    await session.flush()
    return token


async def resume(
    session: AsyncSession, token: str, *, idle: dt.timedelta, absolute: dt.timedelta
) -> SignedIn | None:
    """The live session behind a cookie, its last-seen time moved on; None (and the
    session gone) if it expired or its operator was deactivated."""
    found = await session.get(OperatorSession, _digest(token))
    if found is None:
        return None
    now = utcnow()
    operator = await session.get(Operator, found.operator_id)
    expired = now - found.last_seen_at > idle or now - found.created_at > absolute
    if operator is None or not operator.active or expired:
        await session.delete(found)
        return None
    if (now - found.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        found.last_seen_at = now
    return SignedIn(operator, found)


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(
        delete(OperatorSession).where(OperatorSession.token_hash == _digest(token))
    )
