"""The console in a real browser: Debian's chromium driven by Playwright against a live
`redcloud serve --demo` (its pipeline running) and a webhook receiver on 127.0.0.1.

The screenshots go to a temporary folder; with REDCLOUD_SCREENSHOTS=docs/images they
become the ones docs/console.md shows (`make screenshots`).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from sqlalchemy import select

from redcloud.db import Database
from redcloud.providers.models import Connector
from tests.conftest import StartServer
from tests.console_client import ADMIN, VIEWER, create_operators
from tests.live import ROOT, free_port
from tests.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.one_database]
CHROMIUM = "/usr/bin/chromium"
AUTH = {"Authorization": "Bearer rc_token_example"}


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    chosen = os.environ.get("REDCLOUD_SCREENSHOTS")
    folder = ROOT / chosen if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # Playwright's own browser download is not reachable here: Debian's chromium is.
        launched = await playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        await launched.close()


@pytest.fixture
async def base(start_server: StartServer, db: Database, receiver: Receiver) -> str:
    """A live demo server whose number's webhooks reach the receiver, with an admin and a
    viewer, and one delivered message to find."""
    server = start_server()
    await create_operators(db)
    async with httpx.AsyncClient(base_url=server.base, headers=AUTH) as api:
        patched = await api.patch(
            "/api/core/numbers/num_abc123",
            json={"webhookDeliveryOverride": receiver.url("/delivery")},
        )
        assert patched.status_code == 200, patched.text
        sent = await api.post(
            "/api/core/messages/send",
            headers={"Idempotency-Key": "browser-1"},
            json={
                "sendFrom": "num_abc123",
                "to": ["+15005550006"],
                "messageType": "SMS",
                "text": "Your table for two is ready",
                "externalReference": "booking-42",
            },
        )
        assert sent.status_code == 202, sent.text
    message_id = sent.json()["results"][0]["messageId"]
    await receiver.wait_for(lambda r: len(r.of(message_id)) == 3, timeout=20)
    return server.base


async def signed_in(browser: Browser, base: str, who: tuple[str, str] = ADMIN) -> Page:
    context: BrowserContext = await browser.new_context(
        base_url=base, viewport={"width": 1280, "height": 860}
    )
    page = await context.new_page()
    await page.goto("/console/")
    await expect(page).to_have_url(re.compile(r"/console/login"))
    await page.fill("input[name=email]", who[0])
    await page.fill("input[name=password]", who[1])
    await page.click("button:has-text('Sign in')")
    await expect(page.locator("header .who")).to_contain_text(who[0])
    return page


async def test_an_operator_finds_a_message_and_redelivers_an_event(
    browser: Browser, base: str, receiver: Receiver, shots: Path
) -> None:
    page = await signed_in(browser, base)
    await expect(page.locator("h1")).to_have_text("Overview")
    await page.screenshot(path=shots / "console-overview.png", full_page=True)

    await page.click("nav >> text=Messages")
    await page.fill("input[name=reference]", "booking-42")
    await page.click("button:has-text('Search')")
    await expect(page).to_have_url(re.compile(r"reference=booking-42"))  # bookmarkable
    rows = page.locator("#results tbody tr")
    await expect(rows).to_have_count(1)
    await page.screenshot(path=shots / "console-messages.png", full_page=True)

    await rows.locator("a").first.click()
    await expect(page.locator("h1")).to_contain_text("Message")
    await expect(page.locator("article.event")).to_have_count(3)
    before = len(receiver.deliveries)
    delivery = page.locator("article.event", has_text="message.delivery")
    await expect(delivery.locator("tr.attempt")).to_have_count(1)
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await delivery.locator("button:has-text('Redeliver')").click()
    await expect(page.locator(".notice")).to_contain_text("queued for redelivery")
    await receiver.wait_for(lambda r: len(r.deliveries) > before, timeout=20)
    for _ in range(50):  # the attempt is recorded as its job settles
        await page.reload()
        if (
            await page.locator("article.event", has_text="message.delivery")
            .locator("tr.attempt")
            .count()
            == 2
        ):
            break
        await asyncio.sleep(0.2)
    attempts = page.locator("article.event", has_text="message.delivery").locator("tr.attempt")
    await expect(attempts).to_have_count(2)
    await expect(attempts.nth(1)).to_contain_text("200")
    await page.screenshot(path=shots / "console-message.png", full_page=True)

    await page.click("nav >> text=Audit log")
    await expect(page.locator("tr.entry").first).to_contain_text("webhook.redeliver")


async def test_a_new_client_secret_is_shown_exactly_once(
    browser: Browser, base: str, shots: Path
) -> None:
    page = await signed_in(browser, base)
    await page.click("nav >> text=Accounts & clients")
    await page.fill("input[name=name] >> nth=1", "Billing service")
    await page.click("button:has-text('Create client')")
    secret = (await page.locator("#secret").inner_text()).strip()
    assert secret.startswith("rc_secret_")
    assert (await page.content()).count(secret) == 1
    await page.screenshot(path=shots / "console-secret.png", full_page=True)
    await page.click("text=I have copied it")
    await expect(page.locator("h1")).to_contain_text("API client")
    assert secret not in await page.content()
    await page.click("nav >> text=Accounts & clients")
    await expect(page.locator("table").last).to_contain_text("Billing service")
    assert secret not in await page.content()


async def test_disabling_a_connector_takes_effect_and_is_shown(
    browser: Browser, base: str, db: Database, shots: Path
) -> None:
    page = await signed_in(browser, base)
    await page.click("nav >> text=Connectors")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click("button:has-text('Disable sandbox')")
    await expect(page.locator(".notice")).to_contain_text("sandbox is disabled")
    await expect(page.locator("#live tr#sandbox")).to_contain_text("disabled")
    await page.screenshot(path=shots / "console-connectors.png", full_page=True)
    async with db.session() as session:
        status = await session.scalar(select(Connector.status).where(Connector.name == "sandbox"))
    assert status == "disabled"


async def test_a_viewer_reads_but_cannot_change(
    browser: Browser, base: str, db: Database, shots: Path
) -> None:
    page = await signed_in(browser, base, VIEWER)
    await page.click("nav >> text=Connectors")
    await expect(page.locator("#live tr#sandbox")).to_contain_text("up")
    assert await page.locator("button:has-text('Disable sandbox')").count() == 0
    # Forged from the viewer's own session, with a valid CSRF token: the role decides.
    token = await page.locator("body").get_attribute("hx-headers")
    assert token is not None
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', token)
    assert csrf is not None
    response = await page.request.post(
        "/console/connectors/sandbox/status",
        form={"status": "disabled", "csrf_token": csrf.group(1)},
        headers={"Origin": base},
    )
    assert response.status == 403
    assert "only an admin can change it" in await response.text()
    await page.set_content(await response.text())
    await page.screenshot(path=shots / "console-viewer-refused.png")
    async with db.session() as session:
        status = await session.scalar(select(Connector.status).where(Connector.name == "sandbox"))
    assert status in (None, "enabled")


@pytest.fixture
async def evil_site(base: str) -> AsyncIterator[str]:
    """Another site (another port on 127.0.0.1) whose page posts a form to the console."""
    page = f"""<!doctype html><html><body>
<form id="f" method="post" action="{base}/console/connectors/sandbox/status">
<input name="status" value="disabled"></form>
<script>document.getElementById("f").submit()</script></body></html>"""

    async def serve(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()


async def test_a_cross_site_post_is_refused(
    browser: Browser, base: str, db: Database, evil_site: str
) -> None:
    page = await signed_in(browser, base)
    async with page.expect_response(re.compile(r"/console/connectors/sandbox/status")) as info:
        await page.goto(evil_site)
    response = await info.value
    # Another port of 127.0.0.1 is the same site, so the browser sends the cookie: the
    # missing CSRF token is what refuses it.
    assert response.status == 403
    assert "did not come from a console page" in await response.text()
    async with db.session() as session:
        status = await session.scalar(select(Connector.status).where(Connector.name == "sandbox"))
    assert status in (None, "enabled")


async def test_a_signed_out_visitor_is_sent_to_the_login_page(
    browser: Browser, base: str, shots: Path
) -> None:
    context = await browser.new_context(base_url=base, viewport={"width": 1280, "height": 700})
    page = await context.new_page()
    await page.goto("/console/messages?status=failed")
    await expect(page).to_have_url(re.compile(r"/console/login\?next="))
    await page.screenshot(path=shots / "console-login.png")
    await page.fill("input[name=email]", ADMIN[0])
    await page.fill("input[name=password]", ADMIN[1])
    await page.click("button:has-text('Sign in')")
    await expect(page).to_have_url(re.compile(r"/console/messages\?status=failed"))
    await page.click("header button:has-text('Sign out')")
    await expect(page).to_have_url(re.compile(r"/console/login"))
    await page.goto("/console/")
    await expect(page).to_have_url(re.compile(r"/console/login"))
