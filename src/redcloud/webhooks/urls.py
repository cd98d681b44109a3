"""What a webhook destination URL may be: absolute https, and not an internal host."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class WebhookUrlError(ValueError):
    """Why a URL cannot be a webhook destination."""


def check_webhook_url(url: str, allow_http: bool, allow_private: bool) -> str:
    """Return the URL if it is an acceptable destination, else raise WebhookUrlError.

    Plain http:// and loopback/private hosts are refused unless the operator allows them
    (demo mode does). Hosts given by name are checked again, resolved, at delivery time.
    """
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"URL must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() for ch in url):
        raise WebhookUrlError("URL must not contain whitespace")
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
    if not allow_private and is_internal_host(parts.hostname):
        raise WebhookUrlError("URL must not point at a loopback, private or link-local address")
    return url


def is_internal_host(host: str) -> bool:
    """True for names and literal addresses that stay inside the machine or its network."""
    name = host.lower().rstrip(".")
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return is_internal_address(address)


def is_internal_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )
