"""Start `redcloud serve` and `redcloud worker` as real processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tests.live import free_port, wait_until_serving


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    log: Path
    handle: BinaryIO

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.handle.close()

    def terminate(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.handle.close()
        return int(self.process.returncode)


def spawn(args: list[str], env: dict[str, str], log: Path) -> Proc:
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "redcloud", *args],
        env={**os.environ, **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    return Proc(process, log, handle)


def start_server(args: list[str], env: dict[str, str], log: Path) -> tuple[Proc, str]:
    port = free_port()
    proc = spawn(["serve", *args, "--port", str(port)], env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc.process, base, proc.output)
    except AssertionError:
        proc.kill()
        raise
    return proc, base
