"""Logging for every process (API, its children, workers, CLI): one set-up, no secrets.

structlog renders console lines for people or JSON lines for log pipelines, and the
standard library's records (uvicorn, SQLAlchemy, aiohttp, asyncio) go through the same
processors, so one REDCLOUD_LOG_FORMAT governs every line a process writes. Tracebacks are
plain: never with local variables, which hold requests, headers and rows. Every line passes
through `redact`, which blanks values under secret-sounding keys and anything shaped like a
bearer token, a client or signing secret, or an Authorization header, whatever logged it.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog
from sqlalchemy.exc import StatementError

REDACTED = "[redacted]"
_SECRET_KEYS = re.compile(
    r"(authorization|secret|password|passwd|token|cookie|api[-_]?key|credential)", re.I
)
_SECRET_TEXT = [
    # Authorization header values, in any spelling a log might carry them.
    (re.compile(r"(?i)\b(bearer|basic)(\s+|%20|\+)[A-Za-z0-9._~+/=%-]{4,}"), rf"\1 {REDACTED}"),
    # Our own tokens and secrets, wherever they appear.
    (re.compile(r"\b(rc_token_|rc_secret_|rc_whsec_)[A-Za-z0-9_-]+"), rf"\1{REDACTED}"),
    # Form and JSON fields that carry secrets.
    (
        re.compile(
            r"(?i)\b(client_secret|access_token|password|secret)(=|\"?\s*:\s*\"?)[^&\s\"',}]+"
        ),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+"), rf"\1{REDACTED}"),
]


def redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key != "event" and _SECRET_KEYS.search(key):
            return REDACTED
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: nothing secret leaves the process in a log line."""
    for key in list(event_dict):
        if not key.startswith("_"):
            event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def safe_error(exc: BaseException) -> str:
    """A one-line description of a failure without its statement's parameters (which hold
    other clients' messages) and without any secret."""
    if isinstance(exc, StatementError):
        cause = exc.orig if exc.orig is not None else exc
        first = str(cause).splitlines()[0] if str(cause) else ""
        # A driver may quote the value it could not take: keep the sentence, not the value.
        return f"{type(cause).__name__}: {_QUOTED.sub(_ELIDED, first)}"[:500]
    text = f"{type(exc).__name__}: {exc}".splitlines()
    return redact_text(text[0] if text else type(exc).__name__)[:500]


_ELIDED = "'…'"
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _exception_text(exc_info: Any) -> str:
    """A plain traceback whose last line, for a database error, is `safe_error`'s."""
    if exc_info is True:
        exc_info = sys.exc_info()
    exc = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if not isinstance(exc, BaseException):
        return ""
    if isinstance(exc, StatementError):
        frames = "".join(traceback.format_tb(exc.__traceback__))
        return f"Traceback (most recent call last):\n{frames}{safe_error(exc)}"
    return "".join(traceback.format_exception(exc))


def format_exceptions(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Like structlog's format_exc_info, without statement parameters."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        event_dict["exception"] = _exception_text(exc_info)
    return event_dict


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes to whatever sys.stderr is at the moment (tests capture it), and keeps a
    command's --json output on stdout parseable."""

    @property  # type: ignore[override,unused-ignore]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(level: str = "INFO", fmt: str = "console") -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        format_exceptions,  # plain text: no locals, no statement parameters
        redact,
    ]
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Alembic narrates every plugin it loads at INFO; operators need only its warnings.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []  # uvicorn's own handlers would bypass ours
        logging.getLogger(name).propagate = True
    # The API writes its own access line (redcloud.middleware), with the request id.
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )


def bound(key: str) -> str | None:
    """A value bound to this task's log context (the request id of the request, or of the
    job, being handled), to carry into the jobs it causes."""
    value = structlog.contextvars.get_contextvars().get(key)
    return None if value is None else str(value)
