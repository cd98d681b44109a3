"""What every benchmark scenario needs: processes, wrk runs, and the CPU each one used."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
LOGS = BENCH / "logs"
SECRET = "rc_webhook_secret_demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A process the bench started, and the name its CPU is reported under."""

    name: str
    process: subprocess.Popen[bytes]
    port: int | None = None
    log_offset: int = 0  # where this run's output starts in its (appended) log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tree(self) -> list[psutil.Process]:
        try:
            parent = psutil.Process(self.process.pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(name: str, argv: list[str], env: dict[str, str], port: int | None = None) -> Service:
    LOGS.mkdir(exist_ok=True)
    log = (LOGS / f"{name}.log").open("ab")
    offset = log.tell()
    process = subprocess.Popen(
        argv, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    return Service(name, process, port, offset)


def wait_output(service: Service, text: str, timeout: float = 120) -> None:
    """Wait until the service has printed `text` (a worker's "running" line), so a
    measurement does not include a process still starting."""
    path = LOGS / f"{service.name}.log"
    deadline = time.monotonic() + timeout
    while True:
        with path.open("rb") as log:
            log.seek(service.log_offset)
            if text.encode() in log.read():
                return
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited; see bench/logs/{service.name}.log")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.name} did not print {text!r} in {timeout} s")
        time.sleep(0.1)


def wait_http(service: Service, path: str = "/openapi.json", timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited; see bench/logs/{service.name}.log")
        try:
            if httpx.get(service.base + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.name} did not answer in {timeout} s")
        time.sleep(0.2)


POSTGRES = "postgres"  # a group name: every PostgreSQL server process, found at each reading


def postgres_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


def _seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


@dataclass
class CpuMeter:
    """CPU seconds used by each named group of processes between start() and stop().

    The PostgreSQL group is looked up again at stop(), so backends that connection pools
    open during the run are counted too (from zero: all their CPU falls in the window).
    """

    groups: dict[str, list[psutil.Process]]
    _before: dict[str, dict[int, float]] = field(default_factory=dict)
    _wall: float = 0.0

    def _processes(self, name: str) -> list[psutil.Process]:
        return postgres_processes() if name == POSTGRES else self.groups[name]

    def start(self) -> None:
        self._wall = time.perf_counter()
        self._before = {
            name: {p.pid: _seconds(p) for p in self._processes(name)} for name in self.groups
        }

    def stop(self) -> dict[str, float]:
        """Per group: the average share of one core it used, in percent."""
        wall = time.perf_counter() - self._wall
        used: dict[str, float] = {}
        for name in self.groups:
            before = self._before[name]
            spent = sum(_seconds(p) - before.get(p.pid, 0.0) for p in self._processes(name))
            used[name] = round(100 * spent / wall, 1)
        return used


def wrk(
    url: str,
    connections: int,
    seconds: float,
    env: dict[str, str],
    groups: dict[str, list[psutil.Process]],
    threads: int = 1,
) -> dict[str, Any]:
    """One wrk run with bench/send.lua; its figures plus the CPU of every process involved."""
    argv = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{round(seconds)}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "send.lua"),
        url,
    ]
    process = subprocess.Popen(
        argv, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    meter = CpuMeter({**groups, "wrk": [psutil.Process(process.pid)]})
    meter.start()
    time.sleep(seconds * 0.98)  # measure the run, not wrk's start-up and report
    cpu = meter.stop()
    stdout, stderr = process.communicate(timeout=seconds + 60)
    found = [line for line in stdout.decode().splitlines() if line.startswith('{"requests"')]
    if not found:
        raise RuntimeError(f"wrk gave no summary:\n{stdout.decode()}\n{stderr.decode()}")
    summary = json.loads(found[-1])
    duration = summary["duration_us"] / 1e6
    errors = sum(summary["errors"].values())
    return {
        "command": " ".join(argv),
        "connections": connections,
        "requests": summary["requests"],
        "errors": errors,
        "rps": round((summary["requests"] - errors) / duration, 1),
        "p50_ms": summary["p50_us"] / 1000,
        "p90_ms": summary["p90_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "cpu_percent": cpu,
    }


def token(
    base: str, client_id: str = "rc_test_client_123", secret: str = "rc_secret_abc123"
) -> str:
    response = httpx.post(
        f"{base}/api/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


@contextmanager
def services(*started: Service) -> Iterator[tuple[Service, ...]]:
    try:
        yield started
    finally:
        for service in reversed(started):
            service.stop()
