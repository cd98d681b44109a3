"""redcloud listen: receive, verify and show webhooks on your machine."""

from __future__ import annotations

import asyncio
import signal
import sys

import typer
from aiohttp import web

from redcloud.auth.provisioning import ProvisioningError
from redcloud.auth.security import SecretBox
from redcloud.cli.common import err, fail, settings
from redcloud.cli.listener import Listener, Redirect, point_here, restore
from redcloud.db import Database


def listen(
    port: int = typer.Option(4242, "--port", help="Local port to receive on (0: any free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to receive on."),
    client_id: str | None = typer.Option(
        None, "--client", help="Point this API client's inbound and delivery URLs here."
    ),
    number_id: str | None = typer.Option(
        None, "--number", help="Point this number's inbound and delivery overrides here."
    ),
    secret: str | None = typer.Option(
        None,
        "--secret",
        envvar="REDCLOUD_LISTEN_SECRET",
        help="Signing secret to verify with (default: the client's, read from the database).",
    ),
    forward_to: str | None = typer.Option(
        None, "--forward-to", help="Also POST each delivery, unchanged, to your own endpoint."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per delivery."),
) -> None:
    """Receive webhooks locally: verify each signature and print each event as it arrives.

    With --client or --number the URLs are pointed here while it runs and restored when it
    stops (Ctrl-C). The server must allow loopback http:// webhooks, as `serve --demo` does.
    """
    redirect = Redirect(client_id, number_id)
    try:
        asyncio.run(_run(host, port, redirect, secret, forward_to, as_json))
    except ProvisioningError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (try another --port)")


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _run(
    host: str,
    port: int,
    redirect: Redirect,
    secret: str | None,
    forward_to: str | None,
    as_json: bool,
) -> None:
    config = settings()
    listener = Listener(secret=secret, forward_to=forward_to, write=_write, as_json=as_json)
    runner = web.AppRunner(listener.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://{host}:{bound}/webhooks"
    db = Database(config.resolved_database_url)
    pointed = redirect.client_id is not None or redirect.number_id is not None
    try:
        if pointed:
            box = SecretBox.from_settings(config.secret_key, config.data_dir)
            async with db.session(write=True) as session:
                client_secret = await point_here(session, redirect, url, box)
            listener.secret = listener.secret or client_secret
        _banner(url, redirect, listener, pointed)
        await _until_stopped()
    finally:
        if pointed:
            async with db.session(write=True) as session:
                await restore(session, redirect)
            err.print("restored the previous webhook URLs")
        await db.dispose()
        await runner.cleanup()
        err.print(f"stopped after {listener.received} deliveries")


def _banner(url: str, redirect: Redirect, listener: Listener, pointed: bool) -> None:
    err.print(f"[bold]Ready.[/bold] Listening on {url}")
    if redirect.number_id:
        err.print(f"  {redirect.number_id}: inbound and delivery overrides point here")
    if redirect.client_id:
        err.print(f"  {redirect.client_id}: inbound and delivery URLs point here")
    if pointed:
        err.print("  the previous URLs come back when you stop (Ctrl-C)")
    if listener.secret:
        err.print("  verifying every signature (a failed one is answered 400)")
    else:
        err.print(
            "  [yellow]not verifying signatures[/yellow]: give --secret, or --client/--number"
        )
    if listener.forward_to:
        err.print(f"  forwarding each delivery to {listener.forward_to}")


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
