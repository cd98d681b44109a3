"""How text from the network is screened: one rule for every body field, path and query value.

U+0000 cannot be stored in a PostgreSQL text column, and a lone surrogate (U+D800-U+DFFF
outside a pair) cannot be encoded as UTF-8 at all, so neither ever reaches a service: a
value holding one is refused with 400 INVALID_REQUEST naming its field (`invalid_request`
on the token endpoint). Every other character, control characters included, is kept as
sent. Values are screened the same way on both databases, so behaviour does not depend on
the engine behind the API.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
# What the OpenAPI document says of every screened string (ECMA-262 syntax).
NO_NUL_PATTERN = "^[^\\u0000]*$"
# ISO 8601 as `datetime.fromisoformat` reads it: a date, optionally a time and an offset.
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.,]+(Z|[+-][0-9:]+)?)?")


def problem(value: str) -> str | None:
    """Why `value` cannot be accepted, or None if it can."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain the NUL character (U+0000)"
    return "must not contain a lone surrogate (invalid Unicode)"


def screen(value: str) -> str:
    """The value itself, or a ValueError saying what is wrong with it (pydantic words it)."""
    reason = problem(value)
    if reason is not None:
        raise ValueError(reason)
    return value


def _iso_datetime(value: Any) -> Any:
    """Only ISO 8601 text is a time here: pydantic would also take numbers as Unix times."""
    if not isinstance(value, str) or not _ISO_DATETIME.fullmatch(value.upper()):
        raise ValueError("must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    return value.upper()  # RFC 3339 allows a lower-case t and z


def _json_integer(value: Any) -> Any:
    """JSON has one number type: 22.0 is the integer 22 (as JSON Schema says), 22.5 is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A URL's host: dot-separated labels ending in one that starts with a letter, so that it
# can never be read as an IPv4 address (see redcloud.urls).
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP = "[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = (
    "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
)
_REST = "(?:[/?#][!-~]*)?"
_INTERNAL = r"(?![^/:?#]*\.(?:internal|local|localhost|localdomain|lan|home\.arpa)(?:[/:?#]|$))"
# What the OpenAPI document says a webhook URL is: https on a public domain name. (The
# server also takes a public IP literal, and http or internal hosts where the operator
# allows them; docs/webhooks.md has the whole rule.)
WEBHOOK_URL_PATTERN = f"^https://{_INTERNAL}(?:{_LABEL}\\.)+{_TOP}{_PORT}{_REST}$"
# A media sourceUrl: http or https, any host name.
MEDIA_URL_PATTERN = f"^https?://(?:{_LABEL}\\.)*{_TOP}{_PORT}{_REST}$"
# A numberId is never a phone number (the contract refuses sendFrom that looks like one).
NUMBER_ID_PATTERN = "^(?![+]?[0-9 ().-]{7,20}$)[^\\u0000]*$"
E164_PATTERN = "^\\+[1-9][0-9]{1,14}$"


class _Described:
    """Puts the rule in the OpenAPI document too, unless the field has a pattern of its own."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.setdefault("pattern", NO_NUL_PATTERN)
        return schema


def present(*names: str) -> list[Any]:
    """JSON Schema `anyOf` branches: at least one of these fields is given as a string."""
    return [{"required": [name], "properties": {name: {"type": "string"}}} for name in names]


# A string from the network. Fields with a `pattern` of their own need not use it: every
# pattern in the API excludes NUL and surrogates already.
Text = Annotated[str, AfterValidator(screen), _Described()]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime)]
JsonInt = Annotated[int, BeforeValidator(_json_integer)]
