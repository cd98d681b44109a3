"""What a webhook destination URL may be: absolute https, on a public host.

Checked when a URL is configured and again when a webhook is delivered (after DNS, see
redcloud.webhooks.delivery). "Public" means a globally routable address in every spelling
a resolver accepts (`127.1`, `2130706433`, `0x7f000001` and `0177.0.0.1` are all loopback)
and no name reserved for internal use (`localhost`, `*.internal` such as a cloud's
`metadata.google.internal`, `*.local`, `*.home.arpa`, single-label names). The operator may
allow internal destinations for development (`REDCLOUD_ALLOW_PRIVATE_WEBHOOKS`; demo mode
does). Documentation domains (`example.com`, `*.test`, ...) may be configured, as the
public docs' own examples are, but nothing is ever delivered to them.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_INTERNAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa", ".lan")
# RFC 2606 and RFC 6761: names that exist to be written in examples, never to be reached.
_DOCUMENTATION_DOMAINS = ("example.com", "example.net", "example.org")
_DOCUMENTATION_TLDS = (".example", ".test", ".invalid")
# What inet_aton reads as IPv4: up to four dot-separated decimal, octal or hex parts.
_LEGACY_IPV4 = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class WebhookUrlError(ValueError):
    """Why a URL cannot be a webhook destination."""


def check_webhook_url(url: str, allow_http: bool, allow_private: bool) -> str:
    """Return the URL if it is an acceptable destination, else raise WebhookUrlError.

    Plain http:// and internal hosts are refused unless the operator allows them (demo mode
    does). Hosts given by name are checked again, resolved, at delivery time.
    """
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"URL must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise WebhookUrlError("URL must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError(f"URL is malformed: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise WebhookUrlError("URL must be absolute, e.g. https://example.com/webhooks")
    if scheme == "http" and not allow_http:
        raise WebhookUrlError("URL must use https:// (plain http:// is not allowed here)")
    if parts.username or parts.password:
        raise WebhookUrlError("URL must not carry credentials")
    if port == 0:
        raise WebhookUrlError("URL port must be between 1 and 65535")
    host = parts.hostname
    if _looks_numeric(host) and host_address(host) is None:
        raise WebhookUrlError("URL host is neither a valid IP address nor a domain name")
    if not allow_private and is_internal_host(host):
        raise WebhookUrlError(
            "URL must point at a public host, not a loopback, private, link-local, shared or "
            "reserved address or an internal name"
        )
    return url


def host_address(host: str) -> IPAddress | None:
    """The address a host names literally, in any spelling a resolver accepts; else None."""
    name = host.strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(name):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def _looks_numeric(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    return bool(_LEGACY_IPV4.fullmatch(name)) or ":" in name


def is_internal_host(host: str) -> bool:
    """True for names and literal addresses that stay inside the machine or its network."""
    name = host.lower().rstrip(".")
    address = host_address(name)
    if address is not None:
        return is_internal_address(address)
    if _looks_numeric(name):
        return True  # numeric but no address: never a public destination
    return (
        name in _INTERNAL_NAMES
        or name.endswith(_INTERNAL_SUFFIXES)
        or "." not in name  # single labels resolve through search domains, inside
    )


def is_internal_address(address: IPAddress) -> bool:
    """Anything but a globally routable unicast address, IPv4 inside IPv6 included."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_internal_address(embedded)
    return not address.is_global or address.is_multicast or address.is_reserved


def is_documentation_host(host: str) -> bool:
    """True for the names reserved for documentation, which never receive a webhook."""
    name = host.lower().rstrip(".")
    return name.endswith(_DOCUMENTATION_TLDS) or any(
        name == domain or name.endswith("." + domain) for domain in _DOCUMENTATION_DOMAINS
    )
