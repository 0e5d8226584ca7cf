"""The sandbox's CPU for a conditional snapshot read (`304`) against a full one (#22 item 6).

    python bench/sandbox_conditional.py                           # 500 workspaces, 3 rounds
    python bench/sandbox_conditional.py --baseline /tmp/main      # old code vs this, A B A B

The fleet of bench/fleet_plan.py (500 workspaces × ~100 items, seeded into one SQLite file)
served by `wscfg sandbox serve`; a bare `httpx.AsyncClient` (8 at a time, as `--parallel 8`)
reads every snapshot in full, then again with `If-None-Match` (each answered `304`, else the
bench stops). The number is the server process's CPU seconds (user + system, /proc) for each
500 reads, and the median ratio 304 / full.

``--baseline DIR``: a checkout of other code (its ``src`` goes first on the server's
``PYTHONPATH``); a server of each, each on its own database (seeded by its own code, alike),
measured in turns (A B A B), so both see the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx
from common import DROP, SERVER_PIDS, cpu_model, cpu_seconds, serve
from fleet_plan import MAX_WORKSPACES

SEED = """
import json, sys
from fleet_plan import seed
print(json.dumps(seed(sys.argv[1], int(sys.argv[2]))))
"""


def reads(url: str, key: str, slugs: list[str], tags: dict[str, str]) -> float:
    """The sandbox's CPU seconds for one snapshot read per workspace, 8 at a time:
    conditional when ``tags`` holds the ETags (each must be a 304), else in full (the ETags
    land in ``tags``)."""
    before = cpu_seconds(SERVER_PIDS[url])
    asyncio.run(_reads(url, key, slugs, tags))
    return round(cpu_seconds(SERVER_PIDS[url]) - before, 3)


async def _reads(url: str, key: str, slugs: list[str], tags: dict[str, str]) -> None:
    conditional = bool(tags)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:
        slots = asyncio.Semaphore(8)

        async def one(slug: str) -> None:
            extra = {"If-None-Match": tags[slug]} if conditional else {}
            async with slots:
                got = await http.get(f"/v1/workspaces/{slug}/settings", headers=extra)
            if conditional and got.status_code != 304:
                raise SystemExit(f"{slug}: a conditional read answered {got.status_code}")
            if not conditional:
                got.raise_for_status()
                tags[slug] = got.headers["etag"]

        await asyncio.gather(*(one(s) for s in slugs))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="full + 304 reads per server")
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with")
    args = parser.parse_args()
    if not 1 <= args.workspaces < MAX_WORKSPACES:
        parser.error(f"--workspaces takes 1 to {MAX_WORKSPACES - 1}")
    print(f"# machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k not in DROP}
    servers = {"this": dict(env)}
    if args.baseline is not None:
        src = str((args.baseline / "src").resolve())
        servers = {"baseline": {**env, "PYTHONPATH": src}, **servers}
    results: dict[str, dict[str, list[float]]] = {n: {"full": [], "304": []} for n in servers}
    with tempfile.TemporaryDirectory(prefix="wscfg-conditional-") as tmp, ExitStack() as stack:
        urls, keys = {}, {}
        for name, server_env in servers.items():  # each database seeded by its own code
            db = f"sqlite:///{Path(tmp) / name}.db"
            seeded = subprocess.run(
                [sys.executable, "-c", SEED, db, str(args.workspaces)],
                env=server_env,
                cwd=Path(__file__).parent,
                check=True,
                capture_output=True,
                text=True,
            )
            keys[name], slugs = json.loads(seeded.stdout)
            urls[name] = stack.enter_context(serve(db, env=server_env))
        for name, url in urls.items():  # warm-up: every code path and page cache once
            reads(url, keys[name], slugs, warm := {})
            reads(url, keys[name], slugs, warm)
        for _ in range(args.rounds):
            for name, url in urls.items():  # A B A B
                tags: dict[str, str] = {}
                results[name]["full"].append(reads(url, keys[name], slugs, tags))
                results[name]["304"].append(reads(url, keys[name], slugs, tags))
    out: dict[str, object] = {}
    for name, got in results.items():
        full, nm = statistics.median(got["full"]), statistics.median(got["304"])
        out[name] = {
            "full_cpu_s": got["full"],
            "304_cpu_s": got["304"],
            "median_full_cpu_s": full,
            "median_304_cpu_s": nm,
            "304_over_full": round(nm / full, 3),
        }
    out |= {
        "workspaces": args.workspaces,
        "rounds": args.rounds,
        "load_average_start": load_at_start,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
