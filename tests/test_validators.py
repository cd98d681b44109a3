"""Property tests for the validators that face the network."""

from __future__ import annotations

import base64
import string
from typing import Any

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from redcloud import phone
from redcloud.auth import token_request
from redcloud.errors import CoreError, OAuthError
from redcloud.messages import idempotency, recipients
from redcloud.urls import WebhookUrlError, check_webhook_url, is_documentation_host


def _outcome(function: Any, *args: Any) -> tuple[Any, OAuthError | None]:
    """Call a parser; any exception but OAuthError propagates and fails the test."""
    try:
        return function(*args), None
    except OAuthError as exc:
        return None, exc


nanp = st.from_regex(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True)


@given(nanp)
def test_every_nanp_shaped_number_is_accepted_unchanged(number: str) -> None:
    assert phone.normalize(number) == number


def test_canonical_example_is_possible_but_not_valid() -> None:
    parsed = phonenumbers.parse("+15551234567")
    assert not phonenumbers.is_valid_number(parsed)
    assert phone.normalize("+15551234567") == "+15551234567"
    rejection = phone.normalize("+15551234567", strict=True)
    assert isinstance(rejection, phone.Rejection)


@given(st.text(max_size=30))
@example("+")
@example("15551234567")
@example("+0123456789")
@example(" +15551234567")
@example("+1 555 123 4567")
def test_normalize_never_raises_and_accepts_only_e164(raw: str) -> None:
    outcome = phone.normalize(raw)
    if isinstance(outcome, str):
        assert phone.E164.match(outcome)
        assert phone.E164.match(raw)
    else:
        assert outcome.code == phone.INVALID_RECIPIENT
        assert outcome.to == raw


@given(st.lists(st.sampled_from(["+15551234567", "+15005550006", "bad", "+44"]), max_size=8))
def test_screen_accepts_each_number_once_and_accounts_for_every_entry(raw: list[str]) -> None:
    accepted, rejected = recipients.screen(raw)
    assert len(accepted) == len(set(accepted))
    assert len(accepted) + len(rejected) == len(raw)


@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=255
    )
)
def test_printable_ascii_keys_are_accepted(key: str) -> None:
    assert idempotency.check_key(key) == key


@given(st.text(min_size=1, max_size=300))
def test_key_check_accepts_or_raises_invalid_request(key: str) -> None:
    malformed = len(key) > 255 or any(not (0x20 <= ord(c) <= 0x7E) for c in key)
    if malformed:
        with pytest.raises(CoreError) as raised:
            idempotency.check_key(key)
        assert raised.value.status == 400
    else:
        assert idempotency.check_key(key) == key


@given(
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=4),
    st.randoms(),
)
def test_fingerprint_ignores_key_order(payload: dict[str, object], rnd: object) -> None:
    items = list(payload.items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    assert idempotency.request_fingerprint(payload) == idempotency.request_fingerprint(dict(items))


@given(
    st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", ""]),
    st.binary(max_size=200),
)
def test_token_body_parser_only_ever_raises_oauth_errors(content_type: str, body: bytes) -> None:
    fields, error = _outcome(token_request._body_fields, content_type, body)
    if error is not None:
        assert (error.status, error.error) == (400, "invalid_request")
    else:
        assert all(isinstance(v, str) for v in fields.values())


@given(
    st.text(max_size=60)
    | st.binary(max_size=60).map(lambda b: "Basic " + base64.b64encode(b).decode())
)
def test_basic_header_parser_only_ever_raises_oauth_errors(header: str) -> None:
    parsed, error = _outcome(token_request._basic_credentials, header)
    if error is not None:
        assert error.status == 400
    else:
        assert parsed is not None
        assert all(parsed)


def test_basic_credentials_are_form_decoded() -> None:
    raw = base64.b64encode(b"my%3Aclient:p%40ss+word").decode()
    assert token_request._basic_credentials(f"Basic {raw}") == ("my:client", "p@ss word")


@given(st.text(alphabet=string.printable, max_size=80))
def test_webhook_url_check_never_crashes(url: str) -> None:
    try:
        assert check_webhook_url(url, allow_http=False, allow_private=False) == url
    except WebhookUrlError:
        pass
    else:
        assert url.lower().startswith("https://")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/hook", True),
        ("https://example.com:8443/a?b=c", True),
        ("http://example.com/hook", False),
        ("https://user:pw@example.com/", False),
        ("https://127.0.0.1/", False),
        ("https://0.0.0.0/", False),
        ("https://[::ffff:127.0.0.1]/", False),
        ("https://192.168.1.10/", False),
        ("https://app.localhost/", False),
        ("example.com/hook", False),
        ("https:///nohost", False),
        # shared address space, a cloud metadata address, legacy spellings of loopback
        ("https://100.64.0.1/", False),
        ("https://100.100.100.200/", False),
        ("https://169.254.169.254/latest/meta-data/", False),
        ("https://127.1/", False),
        ("https://2130706433/", False),
        ("https://0x7f000001/", False),
        ("https://0177.0.0.1/", False),
        ("https://0x7f.1/", False),
        ("https://1.2.3.999/", False),
        # IPv4 inside IPv6: mapped, NAT64, 6to4
        ("https://[64:ff9b::a9fe:a9fe]/", False),
        ("https://[2002:7f00:1::]/", False),
        ("https://[fd00::1]/", False),
        # names for internal use
        ("https://metadata.google.internal/", False),
        ("https://db.internal/", False),
        ("https://printer.local/", False),
        ("https://router.home.arpa/", False),
        ("https://intranet/", False),
        ("https://8.8.8.8/hook", True),
        ("https://[2606:4700:4700::1111]/hook", True),
        ("https://hooks.acme.io/x", True),
    ],
)
def test_webhook_url_rules(url: str, ok: bool) -> None:
    if ok:
        assert check_webhook_url(url, allow_http=False, allow_private=False) == url
    else:
        with pytest.raises(WebhookUrlError):
            check_webhook_url(url, allow_http=False, allow_private=False)


@pytest.mark.parametrize(
    "host",
    ["example.com", "hooks.example.org", "EXAMPLE.NET.", "api.example", "a.test", "x.invalid"],
)
def test_documentation_domains_are_recognised(host: str) -> None:
    assert is_documentation_host(host)


@pytest.mark.parametrize("host", ["example.co", "notexample.com", "example.com.evil.io"])
def test_other_domains_are_not_documentation(host: str) -> None:
    assert not is_documentation_host(host)


@pytest.mark.parametrize("raw", ["+15551234567\n", "+15551234567\r\n", " +15551234567"])
def test_e164_with_anything_around_it_is_refused(raw: str) -> None:
    assert isinstance(phone.normalize(raw), phone.Rejection)


@pytest.mark.parametrize("digits", ["\u0665\u0665\u0665", "\uff15\uff15\uff15"])
def test_non_ascii_digits_are_not_digits(digits: str) -> None:
    from pydantic import ValidationError

    from redcloud.numbers.schemas import SearchRequest

    assert isinstance(phone.normalize(f"+1512{digits}1234"), phone.Rejection)
    with pytest.raises(ValidationError):
        SearchRequest(npa=digits)
