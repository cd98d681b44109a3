"""The SMPP connector: the Provider a worker runs for one `smpp` connector.

- **Sessions.** Every `lease_round` seconds the worker publishes its state and renews the
  bind slots it holds (redcloud.providers.smpp.leases); it runs one link per slot, so the
  cluster holds exactly `--binds` sessions. A worker that cannot reach the database for a
  whole lease closes its links: its slots may have been taken over.
- **Submits.** Each part waits for a token (`--mps`, in segments, shared among workers by
  the slots they hold), then goes on the bound session with the fewest outstanding PDUs.
  ESME_RTHROTTLED and ESME_RMSGQFUL pause sending and retry the part; a dropped connection
  or an unanswered PDU sends the part again on the next session up. Parts already accepted
  are not sent again. When no session comes up in time the message is handed back to the
  queue (`Deferred`), never failed; a permanent status fails it with the status in the
  error.
- **Receipts and inbound.** deliver_sm receipts settle their parts and, through them, the
  message; other deliver_sm become `message.inbound`. A deliver_sm that cannot be stored
  is answered ESME_RX_T_APPN so the SMSC tries it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from redcloud import tracing
from redcloud.aio import stop_task
from redcloud.auth.security import SecretBox
from redcloud.db import Database, utcnow
from redcloud.logs import safe_error
from redcloud.messages import lifecycle
from redcloud.metrics.families import SMPP_INBOUND, SMPP_RECEIPTS, SUBMIT_ERRORS
from redcloud.providers.base import Accepted, Deferred, OutboundMessage, Rejected, SubmitResult
from redcloud.providers.smpp import inbound, leases, receipts
from redcloud.providers.smpp.links import Link, LinkStats
from redcloud.providers.smpp.options import SmppOptions
from redcloud.providers.smpp.outbound import PartPdu, build
from redcloud.providers.smpp.pdu import Command, Pdu, Status
from redcloud.providers.smpp.session import ConnectionLost, ResponseTimeout, Session

log = structlog.get_logger("redcloud.smpp")
PAUSE_SECONDS = 1.0  # after ESME_RTHROTTLED / ESME_RMSGQFUL
SESSION_WAIT_SECONDS = 5.0  # a part waits this long for a bound session, then requeues
PART_DEADLINE_SECONDS = 30.0  # a part keeps retrying a busy carrier this long, then requeues
REQUEUE_SECONDS = 1.0
PAUSING = (Status.RTHROTTLED, Status.RMSGQFUL)
# Statuses that say "not now" rather than "never": the submit job retries on its schedule.
TRANSIENT = (Status.RSYSERR, Status.RSUBMITFAIL, Status.RUNKNOWNERR)


@dataclass
class Counters:
    submitted: int = 0
    acked: int = 0
    throttled: int = 0
    failed: int = 0
    requeued: int = 0
    timeouts: int = 0
    receipts: int = 0
    receipts_unreadable: int = 0
    inbound: int = 0


@dataclass
class Bucket:
    """A token bucket without burst: at most `rate` tokens a second (0 is unlimited), and a
    pause that holds every sender, limited or not, after the carrier said it is busy."""

    rate: float
    _next: float = field(default=0.0)
    _paused_until: float = field(default=0.0)

    async def take(self, tokens: int = 1) -> None:
        now = time.monotonic()
        if self._paused_until > now:
            await asyncio.sleep(self._paused_until - now)
            now = time.monotonic()
        if self.rate <= 0:
            return
        start = max(now, self._next)
        self._next = start + tokens / self.rate
        if start > now:
            await asyncio.sleep(start - now)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class SmppConnector:
    def __init__(
        self,
        db: Database,
        name: str,
        options: SmppOptions,
        box: SecretBox,
        *,
        lease_seconds: float = 15.0,
        default_validity_seconds: int = 36000,
        reassembly_seconds: float = 60.0,
        revocation_opts_out: bool = False,
        holder: str | None = None,
    ) -> None:
        self.db, self.name, self.options = db, name, options
        self._password = box.decrypt(options.password_encrypted.encode())
        self.lease_seconds = lease_seconds
        self.lease_round = max(0.2, lease_seconds / 5)
        self.validity_seconds = options.validity_seconds or default_validity_seconds
        self.reassembly_seconds = reassembly_seconds
        self.revocation_opts_out = revocation_opts_out
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.counters = Counters()
        self.link_stats = LinkStats()
        self.bucket = Bucket(0.0)
        self._links: dict[int, Link] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_round_ok = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        async with self.db.transaction(write=True) as conn:
            await leases.ensure_slots(conn, self.name, self.options.binds)
        self._task = asyncio.create_task(self._lease_loop(), name=f"smpp-leases-{self.name}")

    async def stop(self) -> None:
        self._stopping.set()  # the lease loop ends after its round...
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=self.lease_seconds)
        await stop_task(self._task)  # ...or is cancelled if the round hangs
        for slot in list(self._links):
            await self._drop(slot)
        try:
            async with self.db.transaction(write=True) as conn:
                await leases.leave(conn, self.name, self.holder)
        except Exception as exc:  # the leases run out by themselves
            log.warning(
                "could not hand back smpp slots", connector=self.name, error=safe_error(exc)
            )

    def health(self) -> dict[str, Any]:
        sessions = [link for link in self._links.values() if link.sender is not None]
        stats = self.link_stats
        return {
            "kind": "smpp",
            "slots": sorted(self._links),
            "bound_sessions": len(sessions),
            "in_flight": sum(link.outstanding for link in sessions),
            **vars(self.counters),
            "reconnects": stats.reconnects,
            "last_error": stats.last_error,
            "last_error_at": (
                dt.datetime.fromtimestamp(stats.last_error_at, dt.UTC).isoformat()
                if stats.last_error_at
                else None
            ),
        }

    async def _lease_loop(self) -> None:
        structlog.contextvars.bind_contextvars(connector=self.name)  # this task's own context
        while not self._stopping.is_set():
            try:
                async with self.db.transaction(write=True) as conn:
                    held, share = await leases.round_(
                        conn,
                        self.name,
                        self.holder,
                        self.options.binds,
                        self.lease_seconds,
                        self.health(),
                    )
                self._last_round_ok = time.monotonic()
                extra = set(sorted(held)[share:])
                await self._follow(held - extra)  # closes the extra sessions first
                if extra:
                    async with self.db.transaction(write=True) as conn:
                        await leases.release(conn, self.name, self.holder, extra)
                if self.reassembly_seconds:
                    async with self.db.session(write=True) as session:
                        await inbound.expire(
                            session,
                            self.name,
                            self.reassembly_seconds,
                            revocation_opts_out=self.revocation_opts_out,
                        )
            except Exception as exc:
                log.warning("smpp lease round failed", connector=self.name, error=safe_error(exc))
                if time.monotonic() - self._last_round_ok > self.lease_seconds * 0.8:
                    await self._follow(set())  # the slots may be someone else's by now
            pause = self.lease_round * random.uniform(0.8, 1.2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)

    async def _follow(self, held: set[int]) -> None:
        """Run a link for every slot held and none for the others; the bucket's rate is this
        worker's share of --mps."""
        for slot in set(self._links) - held:
            await self._drop(slot)
        for slot in sorted(held - set(self._links)):
            link = Link(
                self.name,
                slot,
                self.options,
                self._password,
                self._on_deliver,
                self.link_stats,
            )
            self._links[slot] = link
            link.start()
        if self.options.mps:
            self.bucket.rate = self.options.mps * len(held) / self.options.binds

    async def _drop(self, slot: int) -> None:
        link = self._links.pop(slot)
        await link.stop()

    # -- outbound ----------------------------------------------------------------------

    async def submit(self, message: OutboundMessage) -> SubmitResult:
        if message.media or message.text is None:
            return Rejected(
                "SMPP_MMS_UNSUPPORTED",
                "SMPP carries text only; route MMS through a connector that carries media",
                retryable=False,
            )
        remaining = self.validity_seconds
        if message.accepted_at is not None:
            age = (utcnow() - message.accepted_at).total_seconds()
            remaining = int(self.validity_seconds - age)
        if remaining <= 0:
            expired = lifecycle.validity_error(self.validity_seconds)
            return Rejected(expired["code"], expired["message"], retryable=False)
        submission = build(
            self.options,
            send_from=message.send_from,
            to=message.to,
            text=message.text,
            reference=random.randrange(1, 0x10000),
            validity_seconds=remaining,
        )
        tokens = submission.segments if len(submission.pdus) == 1 else 1
        ids: list[str] = []
        for part in submission.pdus:
            outcome = await self._submit_part(part, tokens)
            if not isinstance(outcome, str):
                return outcome
            ids.append(outcome)
        # An SMSC that answers without an id can send no matching receipt; such a part gets
        # a key of its own so that it never collides with another message's.
        canonical = [
            receipts.canonical(i, self.options.dlr_id_format, from_receipt=False)
            if i
            else f"(no id) {message.message_id}/{n}"
            for n, i in enumerate(ids, start=1)
        ]

        async def record(conn: Any) -> None:
            await receipts.record_parts(conn, self.name, message.message_id, canonical)

        return Accepted(ids[0], record)

    async def _submit_part(self, part: PartPdu, tokens: int) -> str | Rejected | Deferred:
        """The carrier's id for the part, or why the message cannot go now or at all."""
        deadline = time.monotonic() + PART_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            session = await self._session()
            if session is None:
                return Deferred(f"connector {self.name} has no bound session", REQUEUE_SECONDS)
            await self.bucket.take(tokens)
            self.counters.submitted += 1
            try:
                with tracing.span("smpp submit_sm", kind=tracing.CLIENT, part=part.number) as span:
                    response = await session.request(Command.SUBMIT_SM, part.fields, part.tlvs)
                    if span is not None:
                        span.set_attribute("smpp.command_status", response.status)
            except ConnectionLost:
                self.counters.requeued += 1
                SUBMIT_ERRORS.labels(self.name, "CONNECTION_LOST").inc()
                continue
            except ResponseTimeout:
                # Its fate at the carrier is unknown: sending again may duplicate it.
                self.counters.timeouts += 1
                SUBMIT_ERRORS.labels(self.name, "RESPONSE_TIMEOUT").inc()
                continue
            status = response.status
            if status == Status.ROK:
                self.counters.acked += 1
                return str(response.fields.get("message_id", ""))
            if status in PAUSING:
                self.counters.throttled += 1
                SUBMIT_ERRORS.labels(self.name, _status_name(status)[0]).inc()
                self.bucket.pause(PAUSE_SECONDS)  # this part, and every other, waits
                continue
            self.counters.failed += 1
            code, text = _status_name(status)
            return Rejected(
                f"SMPP_{code}",
                f"The carrier refused part {part.number}: {text}",
                retryable=status in TRANSIENT,
            )
        return Deferred(f"connector {self.name}: the carrier kept the part waiting", 5.0)

    async def _session(self) -> Session | None:
        """The bound session with the fewest outstanding PDUs, waiting a little for one (a
        link that just dropped is usually bound again within a second or two)."""
        deadline = time.monotonic() + SESSION_WAIT_SECONDS
        while True:
            live = [
                link.sender
                for link in self._links.values()
                if link.sender is not None and link.sender.bound and not link.sender.closed.is_set()
            ]
            if live:
                return min(live, key=lambda session: session.outstanding)
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)

    # -- inbound -----------------------------------------------------------------------

    async def _on_deliver(self, pdu: Pdu) -> int:
        # Each deliver_sm runs in a task of its own: what it records is this connector's.
        structlog.contextvars.bind_contextvars(connector=self.name)
        try:
            if receipts.is_receipt(pdu):
                await self._receipt(pdu)
            else:
                message = inbound.read(pdu)
                async with self.db.session(write=True) as session:
                    await inbound.receive(
                        session, self.name, message, revocation_opts_out=self.revocation_opts_out
                    )
                self.counters.inbound += 1
                SMPP_INBOUND.labels(self.name).inc()
        except Exception as exc:
            log.warning("deliver_sm not stored; the SMSC will retry", error=safe_error(exc))
            return Status.RX_T_APPN
        return Status.ROK

    async def _receipt(self, pdu: Pdu) -> None:
        self.counters.receipts += 1
        receipt = receipts.parse(pdu)
        if receipt is None:
            self.counters.receipts_unreadable += 1
            SMPP_RECEIPTS.labels(self.name, "unreadable").inc()
            log.warning("receipt without a message id", connector=self.name)
            return
        carrier_id = receipts.canonical(
            receipt.carrier_id, self.options.dlr_id_format, from_receipt=True
        )
        async with self.db.transaction(write=True) as conn:
            matched = await receipts.apply_receipt(conn, self.name, carrier_id, receipt)
        SMPP_RECEIPTS.labels(self.name, "held" if matched is None else "matched").inc()
        if matched is None:
            log.info("receipt kept until its part is known", connector=self.name, id=carrier_id)
        else:
            log.info("receipt", connector=self.name, message_id=matched, stat=receipt.stat)


def _status_name(status: int) -> tuple[str, str]:
    try:
        name = f"ESME_{Status(status).name}"
    except ValueError:
        name = f"0x{status:08X}"
    return name, f"{name} (0x{status:08x})"
