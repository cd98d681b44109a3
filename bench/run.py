"""`make bench`: every figure of bench/REPORT.md, measured in one run on this machine.

Scenarios: the framework ceiling; the pipeline's floor (bare accept, bare relay); send
acceptance (SQLite and PostgreSQL, one and two API
processes, 1/16/64 connections); the pipeline to the third webhook; the pipeline's latency
at half its maximum rate; growth to one million stored messages. Writes bench/results.json
and bench/REPORT.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench import growth, profile, report, smpp
from bench.harness import (
    BENCH,
    POSTGRES,
    PYTHON,
    SECRET,
    CpuMeter,
    Service,
    free_port,
    services,
    start,
    token,
    wait_http,
    wait_output,
    wrk,
)

WORK = BENCH / ".work"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECTIONS = (1, 16, 64)


def database(backend: str, name: str) -> str:
    """A fresh, empty database for one scenario."""
    if backend == "sqlite":
        folder = WORK / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return f"sqlite:///{folder / 'redcloud.db'}"
    db_name = f"bench_{name}".replace("-", "_")
    for sql in (
        f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)',
        f'CREATE DATABASE "{db_name}"',
    ):
        subprocess.run(["psql", PG_ADMIN, "-qc", sql], check=True, capture_output=True)
    return f"postgresql://postgres@127.0.0.1:5432/{db_name}"


def platform_env(url: str, name: str, **extra: str) -> dict[str, str]:
    return {
        "REDCLOUD_DATABASE_URL": url,
        "REDCLOUD_DATA_DIR": str(WORK / f"data-{name}"),
        "REDCLOUD_SANDBOX_DELIVERY_DELAY": "0",
        "REDCLOUD_SANDBOX_SUBMIT_LATENCY": "0",
        "REDCLOUD_LOG_LEVEL": "WARNING",
        # Worker processes are not in demo mode: let them post to the loopback receiver.
        "REDCLOUD_ALLOW_HTTP_WEBHOOKS": "true",
        "REDCLOUD_ALLOW_PRIVATE_WEBHOOKS": "true",
        # One client drives all the load: a limit it never reaches, so the limiter's cost
        # (counting, and sharing counts every 0.2 s) is in every figure.
        "REDCLOUD_CLIENT_REQUESTS_PER_MINUTE": "1000000000",
        **extra,
    }


def serve(name: str, env: dict[str, str], *args: str) -> Service:
    port = free_port()
    argv = [PYTHON, "-m", "redcloud", "serve", "--demo", "--migrate", "--port", str(port), *args]
    service = start(name, argv, env, port)
    wait_http(service)
    return service


def worker(name: str, env: dict[str, str]) -> Service:
    """A worker process, returned once it runs: messages accepted while it was still
    importing would wait for its start-up, which is not what the pipeline figures measure."""
    service = start(name, [PYTHON, "-m", "redcloud", "worker"], env)
    wait_output(service, "worker running")
    return service


def cpu_groups(backend: str, **named: Service) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {name: s.tree() for name, s in named.items()}
    if backend == "postgresql":
        groups[POSTGRES] = []  # CpuMeter finds them at each reading
    return groups


def load_env(base: str, prefix: str) -> dict[str, str]:
    return {"BENCH_TOKEN": token(base), "BENCH_PREFIX": f"{prefix}-{time.time_ns()}"}


def ceiling(seconds: float) -> list[dict[str, Any]]:
    rows = []
    for processes in (1, 2):
        port = free_port()
        argv = [
            PYTHON, "-m", "uvicorn", "bench.ceiling_app:app", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning", "--workers", str(processes),
        ]  # fmt: skip
        with services(start(f"ceiling-{processes}", argv, {}, port)) as (app,):
            wait_http(app, "/docs")
            url = f"{app.base}/api/core/messages/send"
            for connections in CONNECTIONS:
                run = wrk(url, connections, seconds, {}, {"api": app.tree()})
                rows.append({"processes": processes, **run})
                print(f"  ceiling  {processes} proc  c={connections:<3} {run['rps']:>8} req/s")
    return rows


def floor(seconds: float) -> dict[str, Any]:
    """The pipeline's floor (bench/floor_app.py): the bare accept route at 1, 16 and 64
    connections, and the bare relay measured exactly as `pipeline` is."""
    receiver = Receiver("floor-receiver")
    port = free_port()
    argv = [
        PYTHON, "-m", "uvicorn", "bench.floor_app:app", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    env = {"FLOOR_RECEIVER": f"{receiver.service.base}/delivery", "FLOOR_SECRET": SECRET}
    accept_rows = []
    with services(receiver.service, start("floor", argv, env, port)) as (_, app):
        wait_http(app, "/docs")
        for connections in CONNECTIONS:
            run = wrk(f"{app.base}/bare/accept", connections, seconds, {}, {"api": app.tree()})
            accept_rows.append(run)
            print(f"  floor    bare accept  c={connections:<3} {run['rps']:>8} req/s")
        meter = CpuMeter({"relay": app.tree(), "receiver": receiver.service.tree()})
        began_ms = time.time_ns() // 1_000_000
        meter.start()
        run = wrk(f"{app.base}/bare/relay", 16, seconds, {}, {})
        accepted = run["requests"] - run["errors"]
        stats = drain(receiver, accepted)
        cpu = {**meter.stop(), **run["cpu_percent"]}
    elapsed = max(0.001, (stats["lastMs"] - began_ms) / 1000) if stats["lastMs"] else float("inf")
    counts = stats["counts"]
    relay = {
        "accepted": accepted,
        "accept_rps": run["rps"],
        "webhooks": counts,
        "bad_signatures": stats["badSignatures"],
        "all_delivered": stats["badSignatures"] == 0
        and all(counts.get(k, 0) >= accepted for k in ("message.queued", "message.delivery")),
        "seconds_to_last_webhook": round(elapsed, 2),
        "messages_per_second": round(accepted / elapsed, 1),
        "cpu_percent": cpu,
        "command": run["command"],
    }
    print(f"  floor    bare relay   {relay['messages_per_second']:>8} msg/s")
    return {"accept": accept_rows, "relay": relay}


def acceptance(backend: str, seconds: float) -> list[dict[str, Any]]:
    rows = []
    for processes in (1, 2):
        name = f"accept-{backend}-{processes}"
        url = database(backend, name)
        env = platform_env(url, name)
        api = serve(name, env, "--no-workers", "--processes", str(processes))
        with services(api):
            load = load_env(api.base, name)
            for connections in CONNECTIONS:
                profiled: dict[str, Any] = {}
                sampler = None
                if processes == 1 and connections == 16:  # where the time goes, for NOTES
                    sampler = threading.Thread(
                        target=_profile_into, args=(profiled, api.process.pid, seconds, name)
                    )
                    sampler.start()
                run = wrk(
                    f"{api.base}/api/core/messages/send",
                    connections,
                    seconds,
                    load,
                    cpu_groups(backend, api=api),
                )
                if sampler is not None:
                    sampler.join()
                    run["profile"] = profiled
                rows.append({"backend": backend, "processes": processes, **run})
                print(
                    f"  send     {backend:<10} {processes} proc  c={connections:<3}"
                    f" {run['rps']:>8} req/s  p50 {run['p50_ms']} ms  p99 {run['p99_ms']} ms"
                )
    return rows


def slug(text: str) -> str:
    """'1 API + 1 worker' -> '1-api-1-worker', for file names."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _profile_into(into: dict[str, Any], pid: int, seconds: float, name: str) -> None:
    into.update(profile.sample_during(pid, seconds, name))


class Receiver:
    def __init__(self, name: str) -> None:
        port = free_port()
        self.service = start(
            name, [PYTHON, str(BENCH / "receiver.py"), str(port), SECRET], {}, port
        )
        wait_http(self.service, "/stats")

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.service.base}/stats", timeout=30).json()
        return result


def pipeline_setup(
    backend: str, shape: str, api_processes: int, workers: int
) -> tuple[list[Service], Receiver, dict[str, Service], dict[str, str]]:
    name = f"pipeline-{backend}-{shape}"
    url = database(backend, name)
    env = platform_env(url, name)
    receiver = Receiver(f"{name}-receiver")
    if workers == 0:  # everything in the API process (the SQLite shape)
        api = serve(f"{name}-api", env, "--processes", str(api_processes))
    else:
        api = serve(f"{name}-api", env, "--no-workers", "--processes", str(api_processes))
    pool = [worker(f"{name}-worker-{n}", env) for n in range(workers)]
    httpx.patch(
        f"{api.base}/api/core/numbers/num_abc123",
        headers={"Authorization": "Bearer rc_token_example"},
        json={"webhookDeliveryOverride": f"{receiver.service.base}/delivery"},
    ).raise_for_status()
    named = {"api": api, "receiver": receiver.service}
    named.update({f"worker-{n + 1}": w for n, w in enumerate(pool)})
    return [receiver.service, api, *pool], receiver, named, env


def drain(receiver: Receiver, accepted: int, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = receiver.stats()
        if stats["counts"].get("message.delivery", 0) >= accepted or time.monotonic() > deadline:
            return stats
        time.sleep(0.5)


def pipeline(
    backend: str, shape: str, api_processes: int, workers: int, seconds: float
) -> dict[str, Any]:
    """Full-speed load, then the time until the last delivery webhook is verified."""
    started, receiver, named, _ = pipeline_setup(backend, shape, api_processes, workers)
    with services(*started):
        api = named["api"]
        load = load_env(api.base, f"pipeline-{shape}")
        meter = CpuMeter(cpu_groups(backend, **named))
        # Where the carrying process's CPU goes: the one process on SQLite, else a worker.
        carrier = named["worker-1"] if workers else api
        profiled: dict[str, Any] = {}
        sampler = threading.Thread(
            target=_profile_into,
            args=(profiled, carrier.process.pid, seconds, f"pipeline-{backend}-{slug(shape)}"),
        )
        began_ms = time.time_ns() // 1_000_000
        meter.start()
        sampler.start()
        run = wrk(f"{api.base}/api/core/messages/send", 16, seconds, load, {})
        sampler.join()
        accepted = run["requests"] - run["errors"]
        stats = drain(receiver, accepted)
        cpu = {**meter.stop(), **run["cpu_percent"]}  # wrk's own share, over its run
    elapsed = max(0.001, (stats["lastMs"] - began_ms) / 1000) if stats["lastMs"] else float("inf")
    counts = stats["counts"]
    complete = all(
        counts.get(k, 0) >= accepted for k in ("message.queued", "message.sent", "message.delivery")
    )
    row = {
        "backend": backend,
        "shape": shape,
        "api_processes": api_processes,
        "workers": workers,
        "accepted": accepted,
        "accept_rps": run["rps"],
        "webhooks": counts,
        "bad_signatures": stats["badSignatures"],
        "all_delivered": complete and stats["badSignatures"] == 0,
        "seconds_to_last_webhook": round(elapsed, 2),
        "messages_per_second": round(accepted / elapsed, 1),
        "cpu_percent": cpu,
        "command": run["command"],
        "profile": {**profiled, "process": "worker-1" if workers else "api"},
    }
    print(
        f"  pipeline {backend:<10} {shape:<22} {row['messages_per_second']:>8} msg/s"
        f"  all webhooks: {row['all_delivered']}"
    )
    return row


def latency_at(
    backend: str, shape: str, api_processes: int, workers: int, rate: float, seconds: float
) -> dict[str, Any]:
    """Accept -> delivery webhook at a steady `rate` (wrk pacing each of 8 connections)."""
    started, receiver, named, _ = pipeline_setup(backend, f"{shape}-paced", api_processes, workers)
    connections = 8
    with services(*started):
        api = named["api"]
        load = load_env(api.base, f"paced-{shape}")
        load["BENCH_DELAY_MS"] = str(max(1, round(connections * 1000 / rate)))
        meter = CpuMeter(cpu_groups(backend, **named))
        meter.start()
        run = wrk(f"{api.base}/api/core/messages/send", connections, seconds, load, {})
        accepted = run["requests"] - run["errors"]
        stats = drain(receiver, accepted)
        cpu = {**meter.stop(), **run["cpu_percent"]}
    latencies = stats["acceptToDeliveryMs"]
    row = {
        "backend": backend,
        "shape": shape,
        "target_rate": round(rate, 1),
        "offered_rate": run["rps"],
        "accepted": accepted,
        "delivered": len(latencies),
        "p50_ms": latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else None,
        "cpu_percent": cpu,
        "command": run["command"] + f"  (BENCH_DELAY_MS={load['BENCH_DELAY_MS']})",
    }
    print(
        f"  latency  {backend:<10} {shape:<22} at {row['offered_rate']} msg/s:"
        f" p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms"
    )
    return row


def smpp_figures(seconds: float) -> dict[str, Any]:
    name = "smpp-connector"
    figures: dict[str, Any] = {
        "connector": smpp.connector_throughput(database("sqlite", name), WORK / f"data-{name}")
    }
    figures["backlog"] = []
    for backend in ("sqlite", "postgresql"):
        name = f"smpp-backlog-{backend}"
        url = database(backend, name)
        figures["backlog"].append(
            smpp.backlog_drain(backend, url, platform_env(url, name), serve, worker)
        )
    shapes = {"sqlite": ("1 process", 1, 0), "postgresql": ("1 API + 1 worker", 1, 1)}

    def setup(backend: str, rate: float | None) -> Any:
        shape = f"smpp {shapes[backend][0]}" + (" paced" if rate else "")
        return pipeline_setup(backend, shape, *shapes[backend][1:])

    figures["end_to_end"] = []
    for backend in ("sqlite", "postgresql"):
        full = smpp.end_to_end(backend, seconds, setup, drain, load_env)
        half = max(1.0, full["messages_per_second"] / 2)
        paced = smpp.end_to_end(backend, seconds, setup, drain, load_env, rate=half)
        figures["end_to_end"] += [
            {"shape": shapes[backend][0], **full},
            {"shape": shapes[backend][0], **paced},
        ]
    return figures


def growth_run(backend: str, count: int, seconds: float) -> dict[str, Any]:
    name = f"growth-{backend}"
    url = database(backend, name)
    env = platform_env(url, name)
    row: dict[str, Any] = {"backend": backend, "stored": count}
    for phase in ("empty", "full"):
        if phase == "full":
            row["seed_seconds"] = round(asyncio.run(growth.seed_messages(url, count)), 1)
        api = serve(f"{name}-{phase}", env, "--no-workers")
        with services(api):
            run = wrk(  # one connection: the send's own latency, no queueing
                f"{api.base}/api/core/messages/send",
                1,
                seconds,
                load_env(api.base, f"{name}-{phase}"),
                cpu_groups(backend, api=api),
            )
        row[phase] = {"send": run, "claim": asyncio.run(growth.claim_latency(url))}
        print(
            f"  growth   {backend:<10} {phase:<5} send p50 {run['p50_ms']} ms,"
            f" claim p50 {row[phase]['claim']['p50_ms']} ms"
        )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10, help="length of each load run")
    parser.add_argument("--stored", type=int, default=1_000_000, help="messages for growth")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="ceiling, floor, accept, pipeline, smpp, growth",
    )
    args = parser.parse_args()
    wanted = set(args.only) or {"ceiling", "floor", "accept", "pipeline", "smpp", "growth"}
    results_path = BENCH / "results.json"
    keep = args.only and results_path.exists()  # --only re-measures part of a previous run
    results: dict[str, Any] = json.loads(results_path.read_text()) if keep else {}
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["machine"] = report.machine()
    if keep:  # a section measured again replaces its earlier re-measurement in the report
        earlier = [r for r in results.get("reruns", []) if not set(r["only"]) <= wanted]
        results["reruns"] = [*earlier, {"only": sorted(wanted), "at": now}]
    else:
        results["started"] = now
    results["seconds_per_run"] = args.seconds
    backends = ("sqlite", "postgresql")

    def save() -> None:
        results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        results_path.write_text(json.dumps(results, indent=2) + "\n")

    if "ceiling" in wanted:
        print("ceiling: bare FastAPI JSON POST")
        results["ceiling"] = ceiling(args.seconds)
        save()
    if "floor" in wanted:
        print("floor: the same HTTP work with no storage (bare accept, bare relay)")
        results["floor"] = floor(args.seconds)
        save()
    if "accept" in wanted:
        print("send acceptance")
        results["accept"] = [row for b in backends for row in acceptance(b, args.seconds)]
        save()
    if "pipeline" in wanted:
        print("pipeline: accept -> three verified webhooks")
        shapes = [
            ("sqlite", "1 process", 1, 0),
            ("postgresql", "1 API + 1 worker", 1, 1),
            ("postgresql", "2 API + 2 workers", 2, 2),
        ]
        results["pipeline"] = [pipeline(*shape, args.seconds) for shape in shapes]
        save()
        results["latency"] = [
            latency_at(*shape, max(1.0, row["messages_per_second"] / 2), args.seconds)
            for shape, row in zip(shapes, results["pipeline"], strict=True)
        ]
    if "smpp" in wanted:
        print("smpp: the test SMSC (npm smpp) as the carrier")
        results["smpp"] = smpp_figures(args.seconds)
        save()
    if "growth" in wanted:
        print(f"growth: {args.stored:,} stored messages")
        results["growth"] = [growth_run(b, args.stored, args.seconds) for b in backends]
    save()
    Path(BENCH / "REPORT.md").write_text(report.render(results))
    print("wrote bench/REPORT.md and bench/results.json")


if __name__ == "__main__":
    main()
