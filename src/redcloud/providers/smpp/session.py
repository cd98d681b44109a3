"""One SMPP 3.4 session over asyncio: bind, a window of outstanding requests, keep-alive,
answering the SMSC's requests, and a clean unbind.

- `request` sends a PDU and awaits its response; at most `window` requests are outstanding
  at once and each has `response_timeout` seconds to be answered (`ResponseTimeout`).
- The SMSC's requests are answered at once: enquire_link, unbind, and deliver_sm (through
  `on_deliver`, which returns the status to answer with). A PDU that cannot be read is
  answered with generic_nack and the session goes on.
- After `enquire_link_seconds` without traffic the session sends enquire_link; a link that
  does not answer is closed. Anything that ends the connection fails every outstanding
  request with `ConnectionLost`, so the caller can requeue it: nothing waits for ever.

Reconnecting (with jittered backoff) is the connector's job: a session is used once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from redcloud.providers.smpp.pdu import (
    HEADER,
    Command,
    Pdu,
    PduError,
    Status,
    decode,
    is_response,
    read_length,
    response_to,
)

log = structlog.get_logger("redcloud.smpp")
BIND_COMMANDS = {
    "transceiver": Command.BIND_TRANSCEIVER,
    "transmitter": Command.BIND_TRANSMITTER,
    "receiver": Command.BIND_RECEIVER,
}
MAX_SEQUENCE = 0x7FFFFFFF
DeliverHandler = Callable[[Pdu], Awaitable[int]]


class SessionError(Exception):
    """The session cannot do what was asked."""


class BindFailed(SessionError):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused with status 0x{status:08x}")
        self.status = status


class ConnectionLost(SessionError):
    """The connection ended before the request was answered: requeue what was in flight."""


class ResponseTimeout(SessionError):
    """No response within the timeout: the request's fate at the SMSC is unknown."""


class Session:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        system_id: str,
        password: str,
        system_type: str = "",
        bind: str = "transceiver",
        window: int = 64,
        response_timeout: float = 10.0,
        enquire_link_seconds: float = 30.0,
        on_deliver: DeliverHandler | None = None,
        tls: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.bind_command = BIND_COMMANDS[bind]
        self.window = window
        self.response_timeout = response_timeout
        self.enquire_link_seconds = enquire_link_seconds
        self.on_deliver = on_deliver
        self.tls = tls
        self._slots = asyncio.Semaphore(window)
        self._deliver_slots = asyncio.Semaphore(window)  # deliver_sm handled at once
        self._delivering: set[asyncio.Task[None]] = set()
        self._pending: dict[int, asyncio.Future[Pdu]] = {}
        self._sequence = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last_traffic = time.monotonic()
        self.closed = asyncio.Event()
        self.bound = False

    @property
    def outstanding(self) -> int:
        return len(self._pending)

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % MAX_SEQUENCE + 1
        return self._sequence

    async def open(self) -> None:
        """Connect and bind; raises BindFailed, ResponseTimeout or OSError."""
        context = ssl.create_default_context() if self.tls else None
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=context), self.response_timeout
        )
        self._tasks.append(asyncio.create_task(self._read_forever(), name="smpp-reader"))
        try:
            response = await self.request(
                self.bind_command,
                {
                    "system_id": self.system_id,
                    "password": self.password,
                    "system_type": self.system_type,
                    "interface_version": 0x34,
                },
            )
        except BaseException:
            await self._close_transport()
            raise
        if response.status != Status.ROK:
            await self._close_transport()
            raise BindFailed(response.status)
        self.bound = True
        self._tasks.append(asyncio.create_task(self._keep_alive(), name="smpp-keepalive"))

    async def request(
        self,
        command: int,
        fields: dict[str, Any] | None = None,
        tlvs: dict[int, bytes] | None = None,
    ) -> Pdu:
        """Send a request and await its response (whatever its status)."""
        async with self._slots:
            if self.closed.is_set() or self._writer is None:
                raise ConnectionLost("the session is closed")
            sequence = self._next_sequence()
            answer: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
            self._pending[sequence] = answer
            try:
                self._write(Pdu(command, sequence, fields=fields or {}, tlvs=tlvs or {}))
                return await asyncio.wait_for(asyncio.shield(answer), self.response_timeout)
            except TimeoutError as exc:
                raise ResponseTimeout(
                    f"no response to {Command(command).name} in {self.response_timeout:g} s"
                ) from exc
            finally:
                self._pending.pop(sequence, None)

    def _write(self, pdu: Pdu) -> None:
        if self._writer is None or self._writer.is_closing():
            raise ConnectionLost("the connection is closed")
        self._writer.write(pdu.encode())
        self._last_traffic = time.monotonic()

    async def close(self) -> None:
        """Unbind (briefly awaiting the answer) and close the connection."""
        if self.bound and not self.closed.is_set():
            with contextlib.suppress(SessionError, OSError):
                await asyncio.wait_for(self.request(Command.UNBIND), 2.0)
        await self._close_transport()

    async def _close_transport(self) -> None:
        self.bound = False
        self._fail_pending("the session was closed")
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await self._writer.wait_closed()
        self.closed.set()

    def _fail_pending(self, reason: str) -> None:
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(ConnectionLost(reason))
        self._pending.clear()

    async def _read_forever(self) -> None:
        assert self._reader is not None
        try:
            while True:
                head = await self._reader.readexactly(4)
                length = read_length(head)
                raw = head + await self._reader.readexactly(length - 4)
                self._last_traffic = time.monotonic()
                await self._handle(raw)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            log.info("smpp connection ended", host=self.host, reason=type(exc).__name__)
        except PduError as exc:  # the stream itself is broken: nothing after it can be read
            log.warning("smpp stream broken", host=self.host, error=str(exc))
        finally:
            self._fail_pending("the connection ended")
            self.bound = False
            if self._writer is not None:
                self._writer.close()
            self.closed.set()

    async def _handle(self, raw: bytes) -> None:
        try:
            pdu = decode(raw)
        except PduError as exc:
            sequence = HEADER.unpack_from(raw)[3]
            log.warning("unreadable pdu answered with generic_nack", error=str(exc))
            self._write(Pdu(Command.GENERIC_NACK, sequence, exc.status))
            return
        if is_response(pdu.command):
            answer = self._pending.get(pdu.sequence)
            if answer is not None and not answer.done():
                answer.set_result(pdu)
            return
        if pdu.command == Command.ENQUIRE_LINK:
            self._write(Pdu(Command.ENQUIRE_LINK_RESP, pdu.sequence))
        elif pdu.command == Command.DELIVER_SM:
            # Handled beside the reader, so that storing a receipt never holds up the
            # submit_sm_resp behind it; SMPP lets responses come in any order.
            task = asyncio.create_task(self._answer_deliver(pdu))
            self._delivering.add(task)
            task.add_done_callback(self._delivering.discard)
        elif pdu.command == Command.UNBIND:
            self._write(Pdu(Command.UNBIND_RESP, pdu.sequence))
            await self._close_transport()
        else:
            self._write(Pdu(response_to(pdu.command), pdu.sequence, Status.RINVCMDID))

    async def _answer_deliver(self, pdu: Pdu) -> None:
        status: int = Status.RSYSERR
        async with self._deliver_slots:
            try:
                status = Status.ROK if self.on_deliver is None else await self.on_deliver(pdu)
            except Exception:  # answered all the same: the SMSC retries a failed deliver_sm
                log.exception("handling a deliver_sm failed")
        with contextlib.suppress(ConnectionLost):  # gone: the SMSC delivers it again
            self._write(Pdu(Command.DELIVER_SM_RESP, pdu.sequence, status, {"message_id": ""}))

    async def _keep_alive(self) -> None:
        while not self.closed.is_set():
            idle = time.monotonic() - self._last_traffic
            if idle < self.enquire_link_seconds:
                await asyncio.sleep(self.enquire_link_seconds - idle)
                continue
            try:
                await self.request(Command.ENQUIRE_LINK)
            except ResponseTimeout:
                log.warning("smpp link silent; closing", host=self.host)
                await self._close_transport()
                return
            except ConnectionLost:
                return
