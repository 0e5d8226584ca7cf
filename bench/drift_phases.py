"""Where a drift run's time goes, cold and with a warm read cache (#22 item 6).

    python bench/drift_phases.py                   # 500 workspaces × 102 items, 3 runs each
    python bench/drift_phases.py --workspaces 1000 --runs 5 --rate-limit 20:20
    python bench/drift_phases.py --runs 7 --baseline-path /tmp/base/src   # warm runs, A B A B

The fleet of bench/fleet_plan.py against one `wscfg sandbox serve` process, as in
bench/fleet_cache.py. Each run is a whole process that times its own phases, wall and CPU:

- start-up: the interpreter, then importing what a drift run uses (wscfg's run, engine, config
  loader, API client, the cache's cipher);
- load: `wscfg.load(DIR)` (read, parse, resolve and validate every config);
- drift: `ws.drift(configs)` (every snapshot read, `304` from a warm cache, then planned);
- render: the report as JSON.

Then the server's part alone: the same snapshot reads by a bare httpx client (8 at a time, as
`--parallel 8`), in full and answered `304` (`If-None-Match` with each snapshot's ETag). What
a warm run cannot go below is its start-up, its load and the server's `304`s.

With `--baseline-path DIR` (a wscfg source tree, e.g. `git archive` of another commit's `src`,
put first on PYTHONPATH) and/or `--baseline-python PY` (another interpreter with wscfg
installed), only warm runs are made, alternately the baseline's (A) and this checkout's (B),
A B A B, and their phases' medians compared: what a change of the client saves.
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
import time
from pathlib import Path

import httpx
from common import DROP, SERVER_PIDS, cpu_model, cpu_seconds, serve
from fleet_plan import MAX_WORKSPACES, seed, write_configs

from wscfg.sandbox.db import dispose

PHASES = """
import json, sys, time
def now():
    return time.perf_counter(), time.process_time()
marks = {"start": now()}
import wscfg
import wscfg.api.client, wscfg.config.validate, wscfg.engine.drift, wscfg.fleet
import wscfg.workflow.run
from cryptography.hazmat.primitives.ciphers import aead
marks["start-up"] = now()
configs = wscfg.load(".")
marks["load"] = now()
with wscfg.connect(**wscfg.settings_from_env(), timeout=0) as ws:
    result = ws.drift(configs)
    marks["drift"] = now()
    wscfg.render(result, "json")
    marks["render"] = now()
names = list(marks)
out = {
    n: [round(marks[n][0] - marks[p][0], 3), round(marks[n][1] - marks[p][1], 3)]
    for p, n in zip(names, names[1:])
}
json.dump(out, sys.stdout)
"""


def phases(
    folder: Path,
    url: str,
    key: str,
    cache: Path | None,
    python: str = sys.executable,
    path: str | None = None,
) -> dict[str, list[float]]:
    """One drift process: {phase: [wall s, CPU s]}; start-up's wall is from the launch.
    ``python``: the interpreter; ``path``: a wscfg source tree put first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k not in DROP}
    env |= {"WSCFG_SERVER": url, "WSCFG_TOKEN": key}
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [path, env.get("PYTHONPATH")]))
    if cache is not None:
        env["WSCFG_CACHE"] = str(cache)
    server = cpu_seconds(SERVER_PIDS[url])
    launched = time.perf_counter()
    done = subprocess.run(
        [python, "-c", PHASES], cwd=folder, env=env, capture_output=True, text=True
    )
    total = time.perf_counter() - launched
    server = cpu_seconds(SERVER_PIDS[url]) - server
    if done.returncode != 0:
        raise SystemExit(f"the drift run exited {done.returncode}: {done.stderr[-2000:]}")
    got: dict[str, list[float]] = json.loads(done.stdout)
    inside = sum(wall for wall, _cpu in got.values()) - got["start-up"][0]
    got["start-up"][0] = round(total - inside, 3)  # the interpreter's own start included
    got["total"] = [round(total, 3), round(sum(cpu for _w, cpu in got.values()), 3)]
    got["server"] = [0.0, round(server, 3)]  # the sandbox's CPU seconds meanwhile
    return got


def bare_reads(url: str, key: str, slugs: list[str], tags: dict[str, str]) -> list[float]:
    """[wall s, the sandbox's CPU s] of one snapshot read per workspace, 8 at a time;
    conditional when ``tags`` (each answered 304, else the bench stops); the ETags land in
    ``tags`` otherwise."""
    server = cpu_seconds(SERVER_PIDS[url])
    wall = asyncio.run(_bare_reads(url, key, slugs, tags))
    return [round(wall, 3), round(cpu_seconds(SERVER_PIDS[url]) - server, 3)]


async def _bare_reads(url: str, key: str, slugs: list[str], tags: dict[str, str]) -> float:
    headers = {"Authorization": f"Bearer {key}"}
    conditional = bool(tags)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:
        slots = asyncio.Semaphore(8)

        async def one(slug: str) -> None:
            extra = {"If-None-Match": tags[slug]} if conditional else {}
            async with slots:
                while True:
                    got = await http.get(f"/v1/workspaces/{slug}/settings", headers=extra)
                    if got.status_code != 429:
                        break
                    await asyncio.sleep(float(got.headers.get("retry-after", "1")))
            if conditional and got.status_code != 304:
                raise SystemExit(f"{slug}: a conditional read answered {got.status_code}")
            if not conditional:
                got.raise_for_status()
                tags[slug] = got.headers["etag"]

        start = time.perf_counter()
        await asyncio.gather(*(one(s) for s in slugs))
        return time.perf_counter() - start


def medians(runs: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    return {
        name: [round(statistics.median(r[name][i] for r in runs), 2) for i in (0, 1)]
        for name in runs[0]
    }


def compared(
    a_runs: list[dict[str, list[float]]],
    b_runs: list[dict[str, list[float]]],
    args: argparse.Namespace,
    load_at_start: list[float],
) -> dict[str, object]:
    """Warm runs of the baseline (A) and of this checkout (B): the medians of each phase,
    every run's CPU of the reads + plan, and B's over A's median CPU per phase."""
    a, b = medians(a_runs), medians(b_runs)
    return {
        "warm_phases_wall_cpu_s": {"A": a, "B": b},
        "drift_cpu_s_per_run": {
            "A": [r["drift"][1] for r in a_runs],
            "B": [r["drift"][1] for r in b_runs],
        },
        "B_over_A_cpu": {n: round(b[n][1] / a[n][1], 3) for n in a if a[n][1] > 0},
        "baseline": {"path": args.baseline_path, "python": args.baseline_python},
        "workspaces": args.workspaces,
        "runs": args.runs,
        "sandbox_rate_limit": args.rate_limit or None,
        "load_average_start": load_at_start,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind")
    parser.add_argument("--rate-limit", default="", metavar="RATE:BURST")
    parser.add_argument("--baseline-path", metavar="DIR", help="A: wscfg's source tree DIR")
    parser.add_argument("--baseline-python", metavar="PY", help="A: this interpreter")
    args = parser.parse_args()
    if not 1 <= args.workspaces < MAX_WORKSPACES:
        parser.error(f"--workspaces takes 1 to {MAX_WORKSPACES - 1}")
    print(f"# machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="wscfg-phases-") as tmp:
        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'sandbox.db'}"
        key, slugs = seed(db_url, args.workspaces)
        dispose(db_url)
        configs = folder / "configs"
        configs.mkdir()
        write_configs(configs, slugs)
        cache = folder / "cache"
        options = ("--rate-limit", args.rate_limit) if args.rate_limit else ()
        with serve(db_url, options=options) as url:
            phases(configs, url, key, cache)  # warm-up, and fills the cache
            if args.baseline_path or args.baseline_python:
                base = {"python": args.baseline_python or sys.executable}
                base["path"] = args.baseline_path
                a_runs, b_runs = [], []
                for _ in range(args.runs):  # A B A B, every run warm
                    a_runs.append(phases(configs, url, key, cache, **base))
                    b_runs.append(phases(configs, url, key, cache))
                print(json.dumps(compared(a_runs, b_runs, args, load_at_start)))
                return
            cold, warm, full, not_modified = [], [], [], []
            for _ in range(args.runs):  # A B A B: cold, warm, bare full, bare 304
                cold.append(phases(configs, url, key, None))
                warm.append(phases(configs, url, key, cache))
                tags: dict[str, str] = {}
                full.append(bare_reads(url, key, slugs, tags))
                not_modified.append(bare_reads(url, key, slugs, tags))

    print(
        json.dumps(
            {
                "phases_wall_cpu_s": {"cold": medians(cold), "warm": medians(warm)},
                "bare_full_reads_wall_cpu_s": full,
                "bare_304_reads_wall_cpu_s": not_modified,
                "bare_304_over_full_wall": round(
                    statistics.median(w for w, _c in not_modified)
                    / statistics.median(w for w, _c in full),
                    3,
                ),
                "bare_304_over_full_server_cpu": round(
                    statistics.median(c for _w, c in not_modified)
                    / statistics.median(c for _w, c in full),
                    3,
                ),
                "workspaces": args.workspaces,
                "runs": args.runs,
                "sandbox_rate_limit": args.rate_limit or None,
                "load_average_start": load_at_start,
                "load_average_end": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
