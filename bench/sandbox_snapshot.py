"""Requests per second of the sandbox's snapshot endpoint (GET /v1/workspaces/{ws}/settings).

Starts `wscfg sandbox serve` (one uvicorn process, SQLite file) on a free loopback port,
fills one workspace (blocked callers through the batch endpoint, members one POST each),
then drives the snapshot endpoint with a load generator on loopback: `wrk` when it is on
PATH (Debian: apt-get install wrk), else a concurrent asyncio/httpx client. Reports the
median of several runs, plus the latency of a single snapshot request.

    python bench/sandbox_snapshot.py                       # 10,000 callers + 500 members
    python bench/sandbox_snapshot.py --callers 100000 --members 5000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import time

import httpx
from common import cpu_model, fill, serve

from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose


def run_wrk(url: str, key: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-H",
            f"Authorization: Bearer {key}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match or "Non-2xx" in out:
        raise RuntimeError(f"wrk failed:\n{out}")
    return float(match.group(1))


def run_httpx(url: str, key: str, seconds: int, connections: int) -> float:
    async def main() -> float:
        done = 0
        stop = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=60
        ) as c:

            async def worker() -> None:
                nonlocal done
                while time.perf_counter() < stop:
                    r = await c.get(url)
                    r.raise_for_status()
                    done += 1

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            return done / (time.perf_counter() - start)

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callers", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tool", choices=["auto", "wrk", "httpx"], default="auto")
    args = parser.parse_args()
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "httpx"

    with tempfile.TemporaryDirectory(prefix="wscfg-bench-") as tmp:
        db = os.path.join(tmp, "bench.db")
        key = admin.create_workspace(db, "bench")
        dispose(db)
        with serve(db) as server_url:
            base = f"{server_url}/v1/workspaces/bench"
            t0 = time.perf_counter()
            numbers = [f"+1555{n:07d}" for n in range(args.callers)]
            emails = [f"member{i:05d}@bench.example" for i in range(args.members)]
            fill(base, key, numbers, emails)
            fill_s = time.perf_counter() - t0
            url = base + "/settings"
            with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
                first = c.get(url)
                first.raise_for_status()
                snap = first.json()
                assert len(snap["blocked_callers"]) == args.callers
                assert len(snap["members"]) == args.members + 1
                latencies = []
                for _ in range(10):
                    t = time.perf_counter()
                    c.get(url).raise_for_status()
                    latencies.append(time.perf_counter() - t)
            rates = []
            for _ in range(args.runs):
                run = run_wrk if tool == "wrk" else run_httpx
                rates.append(run(url, key, args.duration, args.connections))

    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}")
    print(
        f"workspace: {args.callers} blocked callers + {args.members + 1} members; "
        f"snapshot {len(first.content) / 1e6:.2f} MB; filled in {fill_s:.1f} s"
    )
    print(f"single request latency (median of 10): {statistics.median(latencies) * 1000:.0f} ms")
    print(
        f"load: {tool}, {args.connections} connections, {args.duration} s x {args.runs} runs: "
        + ", ".join(f"{r:.1f}" for r in rates)
        + " req/s"
    )
    print(f"median: {statistics.median(rates):.1f} req/s")


if __name__ == "__main__":
    main()
