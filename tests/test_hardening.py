"""What users of a public API expect of its responses and its files (issue: hardening)."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from redcloud.db import Database
from tests.conftest import AppWith
from tests.factories import send, send_body
from tests.live import LiveServer


async def test_every_response_says_nosniff_and_api_answers_are_never_cached(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    answers = [
        await api.get("/api/core/whoami", headers=auth),
        await send(api, auth, send_body("num_abc123")),
        await api.get("/api/core/messages", headers=auth),
        await api.get("/api/core/whoami"),  # an error
        await api.post(
            "/api/auth/token",
            data={"grant_type": "client_credentials"},
            auth=("rc_test_client_123", "rc_secret_abc123"),
        ),
    ]
    for response in answers:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert len(response.headers.get_list("cache-control")) == 1
    assert (await api.get("/openapi.json")).headers["x-content-type-options"] == "nosniff"


async def test_head_is_answered_on_get_routes_without_a_body(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    got = await api.get("/api/core/whoami", headers=auth)
    head = await api.head("/api/core/whoami", headers=auth)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert (await api.head("/api/core/whoami")).status_code == 401


async def test_interactive_docs_are_off_unless_asked_for(app_with: AppWith) -> None:
    production = app_with(demo=False)
    assert (await production.get("/docs")).status_code == 404
    assert (await production.get("/openapi.json")).status_code == 200
    assert (await app_with(demo=False, api_docs=True).get("/docs")).status_code == 200
    assert (await app_with(demo=True).get("/docs")).status_code == 200


def test_the_sqlite_file_and_a_new_data_dir_are_the_owners_alone(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    Database(f"sqlite:///{data / 'redcloud.db'}")
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "redcloud.db").stat().st_mode) == 0o600
    loose = tmp_path / "loose.db"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    Database(f"sqlite:///{loose}")
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600


@pytest.mark.slow
def test_a_live_server_sends_no_server_banner(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.base}/openapi.json")
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
