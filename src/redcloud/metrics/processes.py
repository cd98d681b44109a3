"""Metrics across the processes of `serve --processes N`.

prometheus-client decides when it is first imported whether a process writes its values to
files in PROMETHEUS_MULTIPROC_DIR; the uvicorn children are fresh interpreters, so the
parent prepares a directory of its own and names it in their environment before starting
them (`prepare`). /metrics then sums every file there, those of processes that died
included (counters must never go backwards), except live gauges: a process that exited or
was killed is marked dead at the next scrape (`mark_dead`), since uvicorn has no hook to
call when a child dies.

A single process (`serve` alone, `redcloud worker`) keeps its values in memory.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

from prometheus_client import multiprocess

ENV = "PROMETHEUS_MULTIPROC_DIR"
_OWNER = re.compile(r"^serve-(\d+)$")
_FILE_PID = re.compile(r"_(\d+)\.db$")


def directory() -> Path | None:
    """The directory this process shares its values through, if it is one of several."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def prepare(base: Path) -> Path:
    """A clean directory for this server's processes, named after this (the parent)
    process, and exported for the children. Directories of servers that are gone are
    removed; a live server's are left alone, so two servers may share a base."""
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    for entry in base.iterdir():
        owner = _OWNER.match(entry.name)
        if owner and entry.is_dir() and not _alive(int(owner.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
    mine = base / f"serve-{os.getpid()}"
    shutil.rmtree(mine, ignore_errors=True)
    mine.mkdir(mode=0o700)
    os.environ[ENV] = str(mine)
    return mine


def mark_dead(path: Path) -> None:
    """Drop the live gauges of processes that no longer run."""
    pids = set()
    for file in path.glob("gauge_live*.db"):
        found = _FILE_PID.search(file.name)
        if found:
            pids.add(int(found.group(1)))
    for pid in pids:
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]


def leave() -> None:
    """Called by a child as it shuts down: its live gauges stop counting at once."""
    path = directory()
    if path is not None:
        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(os.getpid(), str(path))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
