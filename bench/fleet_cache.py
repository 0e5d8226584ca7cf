"""Hourly drift with the read cache: a warm cache against a cold run (DESIGN §8, #22 item 6).

    python bench/fleet_cache.py                    # 500 workspaces × 102 items, 5 pairs
    python bench/fleet_cache.py --workspaces 1000 --runs 5 --changed 0.01
    python bench/fleet_cache.py --rate-limit 20:20     # the sandbox limits each key

The fleet of bench/fleet_plan.py (seeded straight into a SQLite sandbox, one config per
workspace, nothing to change) against one `wscfg sandbox serve --access-log` process. A drift
run is a whole process, either (`--via cli`, the default: what an hourly job runs)
`wscfg drift --format json --timeout 0 DIR`, which loads the configs while it reads the
snapshots, or (`--via api`) a script that calls `wscfg.load`, then connects with
`wscfg.settings_from_env()` and renders `ws.drift(configs)` as JSON (the load before any read):

- cold: no cache (every snapshot read in full);
- warm: `WSCFG_CACHE` set to a cache filled by an earlier run.

Measured in pairs, cold then warm, back to back (A B A B …); each pair's ratio is its verdict,
and the medians are reported. The access log counts what the server answered each warm run:
every snapshot must be a `304`.

Then with `--changed` of the workspaces edited live before each pair (a call tag's colour, by
another key): the cached run must report exactly the drift the cold run reports (the JSON
compared byte for byte), its changed workspaces read in full (`200`), the others `304`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import DROP, SERVER_PIDS, cpu_model, cpu_seconds, serve
from fleet_plan import CALLERS, HOOKS, MAX_WORKSPACES, MEMBERS, TAGS, seed, write_configs

from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose

DRIFT = """
import sys, wscfg
configs = wscfg.load(".")
with wscfg.connect(**wscfg.settings_from_env(), timeout=0) as ws:
    sys.stdout.write(wscfg.render(ws.drift(configs), "json"))
"""


COMMANDS = {
    "cli": ["-m", "wscfg", "drift", "--format", "json", "--timeout", "0", "."],
    "api": ["-c", DRIFT],
}
OK_EXITS = {"cli": (0, 2), "api": (0,)}  # `wscfg drift` exits 2 when it finds new drift


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # the drift process's own CPU seconds (user + system), from wait4
    report: str  # its JSON drift report
    server_cpu: float = 0.0  # the sandbox process's CPU seconds during the run


def drift(folder: Path, url: str, key: str, cache: Path | None, via: str) -> Run:
    """One drift run as a whole process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k not in DROP}
    env |= {"WSCFG_SERVER": url, "WSCFG_TOKEN": key}
    if cache is not None:
        env["WSCFG_CACHE"] = str(cache)
    server = SERVER_PIDS[url]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        server_before = cpu_seconds(server)
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *COMMANDS[via]], cwd=folder, env=env, stdout=out, stderr=err
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        server_cpu = cpu_seconds(server) - server_before
        code = os.waitstatus_to_exitcode(status)
        if code not in OK_EXITS[via]:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"the drift run exited {code}: {tail}")
        out.seek(0)
        report = out.read().decode().rstrip("\n")
    return Run(wall, usage.ru_utime + usage.ru_stime, report, server_cpu)


def statuses(log: Path, since: int) -> tuple[dict[str, int], int]:
    """Statuses of the snapshot reads logged after byte ``since``, and the log's size now."""
    time.sleep(0.2)  # the server writes its line just after it answers
    data = log.read_bytes()
    counts: dict[str, int] = {}
    for line in data[since:].decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "GET" and parts[1].endswith("/settings"):
            counts[parts[2]] = counts.get(parts[2], 0) + 1
    return counts, len(data)


def refused(log: Path, since: int, until: int) -> int:
    """The ``429`` answers (to any request) logged between bytes ``since`` and ``until``."""
    lines = log.read_bytes()[since:until].decode(errors="replace").splitlines()
    return sum(1 for line in lines if line.split()[2:3] == ["429"])


def edit(url: str, key: str, slugs: list[str], colour: str) -> None:
    """Another integration changes one call tag's colour in each of ``slugs``."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
        for slug in slugs:
            while True:
                got = http.patch(f"/v1/workspaces/{slug}/call-tags/tag-0", json={"color": colour})
                if got.status_code != 429:
                    break
                time.sleep(float(got.headers.get("retry-after", "1")))  # a rate-limited sandbox
            got.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5, help="pairs of cold and warm runs")
    parser.add_argument("--changed", type=float, default=0.01, help="share edited live")
    parser.add_argument(
        "--rate-limit",
        default="",
        metavar="RATE:BURST",
        help="the sandbox's limit per key (wscfg sandbox serve --rate-limit); default: none",
    )
    parser.add_argument(
        "--via",
        choices=sorted(COMMANDS),
        default="cli",
        help="cli: `wscfg drift --format json` (default); api: wscfg.load, then ws.drift",
    )
    args = parser.parse_args()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    if not 1 <= args.workspaces < MAX_WORKSPACES:
        parser.error(f"--workspaces takes 1 to {MAX_WORKSPACES - 1}")
    print(f"# machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    items = TAGS + MEMBERS + 1 + CALLERS + HOOKS + 3
    print(f"# fleet: {args.workspaces} workspaces x {items} items")
    with tempfile.TemporaryDirectory(prefix="wscfg-cache-") as tmp:
        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'sandbox.db'}"
        key, slugs = seed(db_url, args.workspaces)
        other = admin.issue_key(db_url, agency="bench-agency", name="zapier")  # not wscfg's
        dispose(db_url)
        configs = folder / "configs"
        configs.mkdir()
        write_configs(configs, slugs)
        cache = folder / "cache"
        log = folder / "access.log"
        options = ("--rate-limit", args.rate_limit) if args.rate_limit else ()
        with serve(db_url, access_log=log, options=options) as url:
            drift(configs, url, key, None, args.via)  # warm-up: the server's first reads
            drift(configs, url, key, cache, args.via)  # fills the cache
            _, seen = statuses(log, 0)
            cold: list[Run] = []
            warm: list[Run] = []
            answered, refused_n = [], []
            for _ in range(args.runs):
                cold.append(drift(configs, url, key, None, args.via))
                mark = seen
                _, seen = statuses(log, seen)
                warm.append(drift(configs, url, key, cache, args.via))
                got, seen = statuses(log, (start := seen))
                refused_n.append((refused(log, mark, start), refused(log, start, seen)))
                answered.append(got)
                if warm[-1].report != cold[-1].report:
                    raise SystemExit("the warm run reported other drift than the cold run")
            # 1% changed: edited live before each pair, each pair with new edits
            step = max(1, round(len(slugs) * args.changed))
            cold_c: list[Run] = []
            warm_c: list[Run] = []
            answered_c, same, refused_c = [], [], []
            for run in range(args.runs):
                picked = slugs[run * step : (run + 1) * step]
                edit(url, other, picked, f"#{run + 1:06x}")
                _, mark = statuses(log, seen)  # the edits' own 429s are another key's
                cold_c.append(drift(configs, url, key, None, args.via))
                _, seen = statuses(log, mark)
                warm_c.append(drift(configs, url, key, cache, args.via))
                got, seen = statuses(log, (start := seen))
                refused_c.append((refused(log, mark, start), refused(log, start, seen)))
                answered_c.append(got)
                same.append(warm_c[-1].report == cold_c[-1].report)
                drifted = {d["workspace"] for d in json.loads(warm_c[-1].report)["drift"]}
                if not set(picked) <= drifted:
                    raise SystemExit("the edits did not show as drift")
    per_run = [round(w.wall / c.wall, 3) for c, w in zip(cold, warm, strict=True)]
    per_run_c = [round(w.wall / c.wall, 3) for c, w in zip(cold_c, warm_c, strict=True)]

    def median(runs: list[Run], what: str = "wall") -> float:
        return round(statistics.median(getattr(r, what) for r in runs), 2)

    result = {
        "via": args.via,
        "cold_median_s": median(cold),
        "warm_median_s": median(warm),
        "cold_cpu_median_s": median(cold, "cpu"),
        "warm_cpu_median_s": median(warm, "cpu"),
        "cold_server_cpu_median_s": median(cold, "server_cpu"),
        "warm_server_cpu_median_s": median(warm, "server_cpu"),
        "ratio_per_run": per_run,
        "ratio_median": round(statistics.median(per_run), 3),
        "ratio_budget": 0.25,
        "warm_snapshot_statuses": answered,
        "every_snapshot_304": all(a == {"304": args.workspaces} for a in answered),
        "429_cold_warm_per_pair": refused_n,
        "changed_per_run": step,
        "changed_cold_median_s": median(cold_c),
        "changed_warm_median_s": median(warm_c),
        "changed_ratio_per_run": per_run_c,
        "changed_warm_snapshot_statuses": answered_c,
        "changed_429_cold_warm_per_pair": refused_c,
        "changed_same_drift_as_cold": all(same),
        "runs": args.runs,
        "sandbox_rate_limit": args.rate_limit or None,
        "load_average_start": load_at_start,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
