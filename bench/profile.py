"""Where a send's CPU goes: py-spy samples the API process under wrk load.

Each sample's innermost frame is charged to the package it belongs to (FastAPI/Starlette,
pydantic, SQLAlchemy, the database driver, Red Cloud, the interpreter's own asyncio...),
and the top functions by own time are listed. Used by run.py for the report.
"""

from __future__ import annotations

import collections
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.harness import BENCH, PYTHON

GROUPS = (
    ("sqlalchemy", "SQLAlchemy"),
    ("asyncpg", "asyncpg driver"),
    ("aiosqlite", "SQLite driver"),
    ("sqlite_inline", "SQLite driver"),
    ("sqlite3", "SQLite driver"),
    ("fastapi", "FastAPI/Starlette"),
    ("starlette", "FastAPI/Starlette"),
    ("pydantic", "pydantic"),
    ("uvicorn", "uvicorn/httptools"),
    ("httptools", "uvicorn/httptools"),
    ("aiohttp", "aiohttp (webhook POSTs)"),
    ("phonenumbers", "phonenumbers"),
    ("structlog", "logging"),
    ("logging", "logging"),
    ("redcloud", "Red Cloud"),
    ("asyncio", "asyncio/uvloop"),
    ("uvloop", "asyncio/uvloop"),
)


def _group(frame: str) -> str:
    where = "/" + frame.rsplit("(", 1)[-1]  # py-spy gives "function (package/module.py:line)"
    for needle, name in GROUPS:
        if f"/{needle}/" in where or f"/{needle}.py" in where:
            return name
    return "other (Python runtime, C calls)"


def profile(pid: int, seconds: float, name: str) -> dict[str, Any]:
    raw = BENCH / "profiles" / f"{name}.txt"
    raw.parent.mkdir(exist_ok=True)
    subprocess.run(
        [str(Path(PYTHON).parent / "py-spy"), "record", "-p", str(pid), "-d", str(round(seconds)),
         "-f", "raw", "-o", str(raw), "--nonblocking"],
        capture_output=True,
        check=False,
    )  # fmt: skip
    groups: collections.Counter[str] = collections.Counter()
    functions: collections.Counter[str] = collections.Counter()
    total = 0
    if not raw.exists():
        return {"error": "py-spy could not sample (is ptrace allowed?)"}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        samples = int(count)
        total += samples
        groups[_group(frames[-1])] += samples
        functions[frames[-1].split(" (")[0] + " " + _short(frames[-1])] += samples
    return {
        "samples": total,
        "by_package": {k: round(100 * v / total, 1) for k, v in groups.most_common()},
        "top_functions": [(k, round(100 * v / total, 1)) for k, v in functions.most_common(12)],
        "raw": str(raw.relative_to(BENCH.parent)),
    }


def _short(frame: str) -> str:
    where = frame.split("(", 1)[-1].rstrip(")")
    parts = where.split("/")
    return "(" + "/".join(parts[-2:]) + ")"


def sample_during(pid: int, seconds: float, name: str) -> dict[str, Any]:
    """Profile `pid` for most of a load run that has just started."""
    time.sleep(1)
    return profile(pid, max(1.0, seconds - 2), name)
