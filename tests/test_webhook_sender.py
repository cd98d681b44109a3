"""The webhook sender: success only on 2xx, no redirects, timeouts, the SSRF guard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from redcloud.webhooks.delivery import WebhookSender
from redcloud.webhooks.signing import sign, verify


@pytest.fixture
async def site() -> AsyncIterator[str]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="fine " * 200)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_post("/ok", ok)
    app.router.add_post("/redirect", redirect)
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_2xx_is_success_and_the_excerpt_is_bounded(site: str) -> None:
    sender = WebhookSender(timeout_seconds=1, allow_private=True)
    result = await sender.post(f"{site}/ok", b"{}", {})
    await sender.close()
    assert result.ok
    assert result.status_code == 200
    assert result.response_excerpt is not None
    assert len(result.response_excerpt) == 500


async def test_redirects_are_failures_and_not_followed(site: str) -> None:
    sender = WebhookSender(timeout_seconds=1, allow_private=True)
    result = await sender.post(f"{site}/redirect", b"{}", {})
    await sender.close()
    assert not result.ok
    assert result.status_code == 302


async def test_timeout_is_a_failure(site: str) -> None:
    sender = WebhookSender(timeout_seconds=0.2, allow_private=True)
    result = await sender.post(f"{site}/slow", b"{}", {})
    await sender.close()
    assert not result.ok
    assert result.status_code is None
    assert result.error is not None
    assert "no response within" in result.error


async def test_internal_destinations_are_refused_unless_allowed(site: str) -> None:
    guarded = WebhookSender(timeout_seconds=1, allow_private=False)
    by_address = await guarded.post(f"{site}/ok", b"{}", {})
    by_name = await guarded.post(site.replace("127.0.0.1", "localhost.") + "/ok", b"{}", {})
    await guarded.close()
    assert not by_address.ok
    assert "not a public host" in (by_address.error or "")
    assert not by_name.ok
    assert by_name.status_code is None


async def test_legacy_spellings_of_loopback_are_refused_at_delivery(site: str) -> None:
    port = site.rsplit(":", 1)[1]
    guarded = WebhookSender(timeout_seconds=1, allow_private=False)
    results = [
        await guarded.post(f"http://{host}:{port}/ok", b"{}", {})
        for host in ("127.1", "2130706433", "0x7f000001", "0177.0.0.1")
    ]
    await guarded.close()
    assert [r.ok for r in results] == [False] * 4
    assert all(r.status_code is None for r in results)


async def test_documentation_domains_never_receive_webhooks_even_when_private_is_allowed() -> None:
    sender = WebhookSender(timeout_seconds=1, allow_private=True)
    result = await sender.post("https://example.com/webhooks/delivery", b"{}", {})
    await sender.close()
    assert not result.ok
    assert result.status_code is None
    assert "reserved for documentation" in (result.error or "")


async def test_unreachable_is_a_failure() -> None:
    sender = WebhookSender(timeout_seconds=1, allow_private=True)
    result = await sender.post("http://127.0.0.1:9/nothing", b"{}", {})
    await sender.close()
    assert not result.ok
    assert result.error


def test_signature_fixed_vector() -> None:
    # Computed independently: printf '1775002218.{"a":1}' | openssl dgst -sha256 -hmac secret
    signature = sign("secret", 1775002218, b'{"a":1}')
    assert signature == "e2bb3e810041f927848d9b1179e79aeedea94080511dc0675efaa8e7490c0a07"
    assert verify("secret", "1775002218", b'{"a":1}', signature)
    assert not verify("secret", "1775002219", b'{"a":1}', signature)
    assert not verify("other", "1775002218", b'{"a":1}', signature)
    assert not verify("secret", "1775002218", b'{"a": 1}', signature)


async def test_resolver_drops_internal_answers() -> None:
    """A public-looking name that resolves to loopback (here this machine's own name)."""
    import socket

    from redcloud.webhooks.delivery import BlockedDestination, GuardedResolver

    name = socket.gethostname()
    guarded = GuardedResolver(allow_private=False)
    with pytest.raises(BlockedDestination):
        await guarded.resolve(name, 80)
    await guarded.close()
    open_resolver = GuardedResolver(allow_private=True)
    assert await open_resolver.resolve(name, 80)
    await open_resolver.close()
