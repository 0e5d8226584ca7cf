"""The client's pacing of a warm run at a bucket a cold run just emptied (#22 item 1).

    python bench/warm_pacing.py [--workspaces 100] [--rate 5] [--burst 5]

One sandbox in this process (`--rate-limit RATE:BURST`, access log kept in memory), one agency
of WORKSPACES empty workspaces. Three runs of one client each, reading every snapshot with
8 at a time (as a fleet run does) through the read cache: cold (every read in full, so the
bucket ends empty), then warm twice straight after (every read conditional). Printed per run:
wall time, the seconds requests spent waiting on the run's pacer (summed over requests) and
the statuses the server answered. For an A/B, run it with another tree's `src` first on
`PYTHONPATH`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

from wscfg.api.client import ApiClient
from wscfg.sandbox.testing import running_server, unique


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5)
    parser.add_argument("--burst", type=int, default=5)
    args = parser.parse_args()
    print(f"# machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"# load average: {[round(x, 2) for x in os.getloadavg()]}")
    lines: list[str] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(
            rate_limit=args.rate, rate_burst=args.burst, access_log=lines.append
        ) as server,
    ):
        agency = server.new_agency()
        slugs = [unique("w") for _ in range(args.workspaces)]
        for slug in slugs:
            server.create_workspace(slug, agency=agency.name)

        async def run() -> tuple[float, float]:
            lanes = asyncio.Semaphore(8)
            async with ApiClient(server.url, agency.key, cache_dir=Path(tmp)) as client:

                async def one(slug: str) -> None:
                    async with lanes:
                        await client.workspace(slug).snapshot()

                start = time.perf_counter()
                await asyncio.gather(*(one(s) for s in slugs))
                return time.perf_counter() - start, client.pacer.waited

        mark = 0
        for label in ("cold", "warm", "warm"):
            wall, waited = asyncio.run(run())
            time.sleep(0.3)  # the last line is written just after its answer
            got = [line.split()[2] for line in lines[mark:]]
            mark = len(lines)
            counts = {status: got.count(status) for status in sorted(set(got))}
            print(f"{label}: wall {wall:.2f} s, waited {waited:.2f} s (summed), {counts}")


if __name__ == "__main__":
    main()
