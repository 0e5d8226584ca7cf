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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fill(base: str, key: str, callers: int, members: int) -> None:
    h = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=h, timeout=120) as c:
        numbers = [f"+1555{n:07d}" for n in range(callers)]
        for start in range(0, callers, 10_000):
            chunk = [{"number": n, "note": "bench"} for n in numbers[start : start + 10_000]]
            r = c.post("/blocked-callers:batch", json={"add": chunk})
            r.raise_for_status()

    async def add_members() -> None:
        limit = asyncio.Semaphore(16)
        async with httpx.AsyncClient(base_url=base, headers=h, timeout=120) as ac:

            async def one(i: int) -> None:
                async with limit:
                    body = {"email": f"member{i:05d}@bench.example", "role": "member"}
                    (await ac.post("/members", json=body)).raise_for_status()

            await asyncio.gather(*(one(i) for i in range(members)))

    asyncio.run(add_members())


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
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "wscfg", "sandbox", "serve", "--port", str(port), "--db", db],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}/v1/workspaces/bench"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(base, headers={"Authorization": f"Bearer {key}"}).raise_for_status()
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the sandbox did not start") from None
                    time.sleep(0.1)
            t0 = time.perf_counter()
            fill(base, key, args.callers, args.members)
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
        finally:
            server.terminate()
            server.wait(timeout=20)

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
