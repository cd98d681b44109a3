"""`redcloud serve --demo` as a real process on 127.0.0.1, for tests over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A demo server process; `env` is what it runs with, for commands that share its data."""

    database_url: str
    data_dir: Path
    settings: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "REDCLOUD_DATABASE_URL": self.database_url,
            "REDCLOUD_DATA_DIR": str(self.data_dir),
            "REDCLOUD_SANDBOX_DELIVERY_DELAY": "0.2",
            **self.settings,
        }

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"server-{self.port}.log"

    def start(self) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "redcloud", "serve", "--demo"),
                    *("--port", str(self.port), *self.args),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_serving(self.process, self.base, self.log_path.read_text)
        except AssertionError as exc:
            self.stop()
            pytest.fail(str(exc))
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def wait_until_serving(
    process: subprocess.Popen[bytes], base: str, log: Callable[[], str], timeout: float = 60
) -> None:
    """Poll /openapi.json until the server answers; fail with its log if it exits or stalls."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"server exited:\n{log()}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"server did not start in {timeout} s:\n{log()}")
        time.sleep(0.2)


def run_shell(command: str, env: dict[str, str], cwd: Path | None = None) -> str:
    """Run a shell snippet; it must succeed. Returns its stdout."""
    result = subprocess.run(
        ["bash", "-c", command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout
