"""bench/REPORT.md from bench/results.json: the machine, every figure, every target."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import psutil

PACKAGES = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "sqlalchemy", "asyncpg",
            "aiosqlite", "aiohttp", "pydantic")  # fmt: skip


def _run(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not found"
    return (result.stdout or result.stderr).strip().splitlines()[0]


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _run(
            ["psql", "postgresql://postgres@127.0.0.1:5432/postgres", "-tAc", "show server_version"]
        ),  # fmt: skip
        "wrk": _run(["wrk", "-v"]),
        "packages": {name: importlib.metadata.version(name) for name in PACKAGES},
    }


def _cpu(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.0f}%" for name, value in cpu.items())


def _peak(rows: list[dict[str, Any]], **match: Any) -> float:
    chosen = [r["rps"] for r in rows if all(r.get(k) == v for k, v in match.items())]
    return max(chosen) if chosen else 0.0


def targets(results: dict[str, Any]) -> list[tuple[str, bool, str]]:
    checks: list[tuple[str, bool, str]] = []
    ceiling = results.get("ceiling", [])
    for backend in ("sqlite", "postgresql"):
        for processes in (1, 2):
            accept = _peak(results.get("accept", []), backend=backend, processes=processes)
            limit = _peak(ceiling, processes=processes)
            if accept and limit:
                checks.append((
                    f"send acceptance ≥ 50% of the ceiling ({backend}, {processes} API process"
                    f"{'es' if processes > 1 else ''})",
                    accept >= 0.5 * limit,
                    f"{accept:,.0f} of {limit:,.0f} req/s = {accept / limit:.0%}",
                ))  # fmt: skip
    for row in results.get("pipeline", []):
        limit = _peak(ceiling, processes=row["api_processes"])
        rate = row["messages_per_second"]
        checks.append((
            f"pipeline ≥ 25% of the ceiling, every webhook delivered ({row['backend']}, "
            f"{row['shape']})",
            bool(limit) and rate >= 0.25 * limit and row["all_delivered"],
            f"{rate:,.0f} msg/s of {limit:,.0f} = {rate / limit:.0%}; all delivered: "
            f"{row['all_delivered']}",
        ))  # fmt: skip
    checks += floor_targets(results)
    for row in results.get("latency", []):
        p99 = row["p99_ms"]
        checks.append((
            f"p99 accept → delivery webhook < 1 s at half the pipeline's rate ({row['backend']}, "
            f"{row['shape']})",
            # wrk counts only the sends answered within its run; one in flight at its end is
            # accepted all the same, so the receiver may see a message or two more.
            p99 is not None and p99 < 1000 and row["delivered"] >= row["accepted"],
            f"p99 {p99} ms at {row['offered_rate']:,.0f} msg/s",
        ))  # fmt: skip
    connector = results.get("smpp", {}).get("connector")
    if connector:
        rate = connector["submits_per_second"]
        checks.append((
            "SMPP: one connector's submit_sm ≥ 1,000/s from a backlog of 10,000 (window 64,"
            " --mps 0)",
            rate >= 1000 and connector["accepted"] == connector["messages"],
            f"{rate:,.0f} submit_sm/s; {connector['accepted']:,} of {connector['messages']:,}"
            " accepted",
        ))  # fmt: skip
    for row in results.get("growth", []):
        empty, full = row["empty"]["send"]["p50_ms"], row["full"]["send"]["p50_ms"]
        checks.append((
            f"send p50 with {row['stored']:,} stored within 20% of empty ({row['backend']})",
            full <= 1.2 * empty,
            f"{full:.2f} ms vs {empty:.2f} ms ({full / empty - 1:+.0%})",
        ))  # fmt: skip
    return checks


def floor_targets(results: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """The throughput issue's targets: ratios to the floor measured in the same run."""
    floor = results.get("floor")
    if not floor:
        return []
    checks: list[tuple[str, bool, str]] = []
    relay = floor["relay"]["messages_per_second"]
    bare = max((r["rps"] for r in floor["accept"]), default=0.0)
    pipelines = {(r["backend"], r["shape"]): r for r in results.get("pipeline", [])}
    for (backend, shape), share in (
        (("sqlite", "1 process"), 0.5),
        (("postgresql", "1 API + 1 worker"), 0.35),
    ):
        row = pipelines.get((backend, shape))
        if row and relay:
            rate = row["messages_per_second"]
            checks.append((
                f"pipeline ≥ {share:.0%} of the bare relay, every webhook delivered ({backend},"
                f" {shape})",
                rate >= share * relay and row["all_delivered"],
                f"{rate:,.0f} of {relay:,.0f} msg/s = {rate / relay:.0%}",
            ))  # fmt: skip
    one, two = (pipelines.get(("postgresql", s)) for s in ("1 API + 1 worker", "2 API + 2 workers"))
    if one and two:
        gain = two["messages_per_second"] / max(0.001, one["messages_per_second"])
        checks.append((
            "pipeline scales out: 2 API + 2 workers ≥ 1.6× 1 API + 1 worker (postgresql)",
            gain >= 1.6,
            f"{two['messages_per_second']:,.0f} vs {one['messages_per_second']:,.0f} msg/s ="
            f" {gain:.2f}×",
        ))  # fmt: skip
    for backend, processes, share in (("sqlite", 1, 0.5), ("postgresql", 2, 0.35)):
        accept = _peak(results.get("accept", []), backend=backend, processes=processes)
        if accept and bare:
            checks.append((
                f"send acceptance ≥ {share:.0%} of the bare accept route ({backend},"
                f" {processes} API process{'es' if processes > 1 else ''})",
                accept >= share * bare,
                f"{accept:,.0f} of {bare:,.0f} req/s = {accept / bare:.0%}",
            ))  # fmt: skip
    sqlite = pipelines.get(("sqlite", "1 process"))
    smpp = [
        r
        for r in results.get("smpp", {}).get("end_to_end", [])
        if r["backend"] == "sqlite" and not r["paced"]
    ]
    if sqlite and smpp:
        rate, base = smpp[0]["messages_per_second"], sqlite["messages_per_second"]
        checks.append((
            "SMPP end to end ≥ 50% of the SQLite pipeline through the sandbox",
            rate >= 0.5 * base,
            f"{rate:,.0f} of {base:,.0f} msg/s = {rate / base:.0%}",
        ))  # fmt: skip
    return checks


def _floor_lines(floor: dict[str, Any] | None) -> list[str]:
    if not floor:
        return []
    lines = ["", "## Floor: the same HTTP work with no storage (`bench/floor_app.py`)", "",
             "The bare accept route reads the JSON body and answers a send-shaped 202 (no"
             " pydantic model). The bare relay answers the same and then POSTs the three"
             " signed webhooks in order to the same receiver (aiohttp, pooled): no database,"
             " no queue, no durability. It is measured exactly as the pipeline is.", "",
             "| route | connections | req/s | p50 ms | p99 ms | CPU |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in floor["accept"]:
        lines.append(
            f"| bare accept | {r['connections']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} |"
            f" {r['p99_ms']:.2f} | {_cpu(r['cpu_percent'])} |"
        )
    r = floor["relay"]
    lines += ["", f"Bare relay, 16 connections: {r['accepted']:,} accepted at"
              f" {r['accept_rps']:,.0f} req/s, the last delivery webhook"
              f" {r['seconds_to_last_webhook']} s after the first send:"
              f" **{r['messages_per_second']:,.0f} messages/s**; all webhooks verified:"
              f" {r['all_delivered']}; CPU {_cpu(r['cpu_percent'])}."]  # fmt: skip
    return lines


def _profile_lines(prof: dict[str, Any] | None, what: str) -> list[str]:
    """A py-spy profile in two lines: CPU by package, and the top functions by own time."""
    if not prof or "by_package" not in prof:
        return []
    return [
        "",
        f"Where the CPU of {what}; py-spy, {prof['samples']:,} samples, `{prof['raw']}`) went:",
        "",
        "- by package: " + ", ".join(f"{k} {v}%" for k, v in prof["by_package"].items()),
        "- top functions (own time): "
        + "; ".join(f"`{name}` {share}%" for name, share in prof["top_functions"][:8]),
    ]


def _smpp_lines(smpp: dict[str, Any] | None) -> list[str]:
    """The SMPP section: the connector alone, a queued backlog, and end to end."""
    if not smpp:
        return []
    c = smpp["connector"]
    lines = ["", "## SMPP: the test SMSC (npm `smpp`, tests/smsc) as the carrier", "",
             f"- **One connector** (one bind, window 64, `--mps 0`), 10,000 messages handed"
             f" to it at once: {c['submits_per_second']:,.0f} submit_sm/s ({c['seconds']} s;"
             f" CPU {_cpu(c['cpu_percent'])}, the rest is this process). This is the"
             " connector and its session without the job queue: `bench/smpp.py`.",
             "- **From a queued backlog**: the same 10,000 messages accepted through the API"
             " first (100 sends of 100 recipients), then one worker draining them through the"
             " connector to `sent` (claim, submit, record the parts, the `sent` event):", "",
             "| database | messages/s to sent | seconds | CPU |", "|---|---|---|---|"]  # fmt: skip
    for r in smpp.get("backlog", []):
        lines.append(
            f"| {r['backend']} | {r['messages_per_second']:,.0f} | {r['seconds']} |"
            f" {_cpu(r['cpu_percent'])} |"
        )
    lines += ["", "- **End to end**: HTTP send → worker → submit_sm → receipt (deliver_sm) →"
              " `message.delivery` webhook verified; at full speed (16 connections) and paced"
              " at half that rate (8 connections) for the latency of an unsaturated pipeline."
              " At full speed the queue grows for the whole run, so its latencies measure the"
              " backlog, not the path.", "",
              "| database | shape | load | msg/s end to end | delivered | p50 ms | p99 ms |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in smpp.get("end_to_end", []):
        load = f"paced, {r['offered_rate']:,.0f} msg/s offered" if r["paced"] else "full speed"
        lines.append(
            f"| {r['backend']} | {r['shape']} | {load} | {r['messages_per_second']:,.0f} |"
            f" {r['delivered']:,}/{r['accepted']:,} | {r['p50_ms']} | {r['p99_ms']} |"
        )
    return lines


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Red Cloud benchmark report",
        "",
        f"Measured {results['started']} to {results['finished']} by `make bench`"
        f" ({results['seconds_per_run']:g} s per load run). Figures: `bench/results.json`.",
        *(
            f"Re-measured {', '.join(r['only'])} at {r['at']} (`make bench"
            f" BENCH_ARGS='{' '.join('--only ' + o for o in r['only'])}'`)."
            for r in results.get("reruns", [])
        ),
        "",
        "## Machine",
        "",
        f"- {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Linux {m['kernel']}",
        f"- Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, {m['wrk']}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        "",
        "## Targets",
        "",
        "| target | result | figures |",
        "|---|---|---|",
    ]
    lines += [
        f"| {name} | {'PASS' if ok else 'FAIL'} | {detail} |"
        for name, ok, detail in targets(results)
    ]
    lines += ["", "## Ceiling: a bare FastAPI JSON POST (`bench/ceiling_app.py`)", ""]
    lines += [
        "| processes | connections | req/s | p50 ms | p99 ms | CPU |",
        "|---|---|---|---|---|---|",
    ]
    for r in results.get("ceiling", []):
        lines.append(
            f"| {r['processes']} | {r['connections']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} |"
            f" {r['p99_ms']:.2f} | {_cpu(r['cpu_percent'])} |"
        )
    lines += _floor_lines(results.get("floor"))
    lines += ["", "## Send acceptance: `POST /api/core/messages/send`, one recipient, unique keys",
              "", "API processes run with `--no-workers`: this is the cost of accepting (durable"
              " message, event, job and idempotency record per 202), not of carrying.", "",
              "| database | processes | connections | req/s | p50 ms | p99 ms | errors | CPU |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results.get("accept", []):
        lines.append(
            f"| {r['backend']} | {r['processes']} | {r['connections']} | {r['rps']:,.0f} |"
            f" {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {_cpu(r['cpu_percent'])}"
            + (" (py-spy attached)" if r.get("profile") else "")
            + " |"
        )
    for r in results.get("accept", []):
        lines += _profile_lines(
            r.get("profile"), f"the API process ({r['backend']}, 1 process, 16 connections"
        )
    lines += ["", "## Pipeline: accepted → queued, sent and delivery webhooks verified", "",
              "16 connections send for the run's length; the figure is accepted messages"
              " divided by the time from the first send to the last delivery webhook."
              " Sandbox delay 0. py-spy samples the carrying process (the one process on"
              " SQLite, the first worker on PostgreSQL) while wrk runs, without pausing it.", "",
              "| database | shape | accepted | accept req/s | msg/s end to end | all webhooks |"
              " CPU |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results.get("pipeline", []):
        lines.append(
            f"| {r['backend']} | {r['shape']} | {r['accepted']:,} | {r['accept_rps']:,.0f} |"
            f" {r['messages_per_second']:,.0f} | {r['all_delivered']} | {_cpu(r['cpu_percent'])} |"
        )
    for r in results.get("pipeline", []):
        prof = r.get("profile") or {}
        lines += _profile_lines(prof, f"{prof.get('process')} ({r['backend']}, {r['shape']}")
    lines += ["", "## Accept → delivery webhook latency at half the pipeline's rate", "",
              "Delivered counts the messages whose delivery webhook arrived, of those wrk saw"
              " accepted; a send still in flight when wrk stops is accepted and delivered but"
              " not counted by wrk, so delivered can exceed it.", "",
              "| database | shape | msg/s offered | delivered | p50 ms | p99 ms | CPU |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results.get("latency", []):
        lines.append(
            f"| {r['backend']} | {r['shape']} | {r['offered_rate']:,.0f} |"
            f" {r['delivered']:,}/{r['accepted']:,} | {r['p50_ms']} | {r['p99_ms']} |"
            f" {_cpu(r['cpu_percent'])} |"
        )
    lines += _smpp_lines(results.get("smpp"))
    lines += ["", "## Growth: empty database vs one million stored messages", "",
              "| database | stored | seeded in s | send p50 ms, 1 connection (empty → full) |"
              " send req/s | claim p50 ms | claim p99 ms |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results.get("growth", []):
        e, f = r["empty"], r["full"]
        lines.append(
            f"| {r['backend']} | {r['stored']:,} | {r.get('seed_seconds')} |"
            f" {e['send']['p50_ms']:.2f} → {f['send']['p50_ms']:.2f} |"
            f" {e['send']['rps']:,.0f} → {f['send']['rps']:,.0f} |"
            f" {e['claim']['p50_ms']} → {f['claim']['p50_ms']} |"
            f" {e['claim']['p99_ms']} → {f['claim']['p99_ms']} |"
        )
    lines += ["", "## Commands", "", "```shell", "make bench", "```", "",
              "Each load run is one wrk command with `bench/send.lua`, for example:", "",
              "```text"]  # fmt: skip
    sample = next(iter(results.get("accept", [])), None)
    if sample:
        lines.append(sample["command"])
    lines += ["```", ""]
    if NOTES.exists():  # the analysis: what limits each figure, and the profiles behind it
        lines += [NOTES.read_text().strip(), ""]
    return "\n".join(lines)


NOTES = Path(__file__).resolve().parent / "NOTES.md"


def main() -> None:
    """Render REPORT.md again from results.json and NOTES.md (after editing the notes)."""
    here = NOTES.parent
    results = json.loads((here / "results.json").read_text())
    (here / "REPORT.md").write_text(render(results))


if __name__ == "__main__":
    main()
