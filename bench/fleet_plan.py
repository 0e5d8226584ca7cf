"""Fleet plan: 500 sub-accounts × ~100 items over HTTP on loopback (DESIGN §8).

    python bench/fleet_plan.py                     # 500 workspaces, 3 runs
    python bench/fleet_plan.py --workspaces 100 --runs 5
    python bench/fleet_plan.py --workspaces 5000 --runs 3 --memory-at 500,1000,2000

Three measurements against one `wscfg sandbox serve` process, in the same run:
- wscfg:  `wscfg plan DIR` as a whole process (load 500 YAML files, read, diff, render);
- floor:  the bare concurrent HTTP reads that plan needs (list the agency's workspaces, then
          one snapshot per workspace, 8 at a time, as `--parallel 8` does), in one process;
- per-item: what per-resource tools do: list every collection, then GET every item by its
          own request, one after another (measured on a sample of workspaces, scaled up).
Medians of several runs, and the peak RSS of each plan process (from wait4); --memory-at also
plans the first K workspaces once each, for how memory grows per workspace. The live data is
seeded straight into the sandbox's database; any --workspaces below 800,000 (the caller numbers
stay valid and unique).
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
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from common import DROP, cpu_model, serve

from wscfg.model.kinds import BY_NAME
from wscfg.sandbox import admin, store
from wscfg.sandbox.db import dispose, get_engine, transaction

TAGS = 20
MEMBERS = 15
CALLERS = 60
HOOKS = 3


NANP_FIRST = 2_000_000_000  # +1 numbers: 10 national digits, the first 2-9
NANP_SPAN = 8_000_000_000
MAX_WORKSPACES = NANP_SPAN // 10_000  # every caller number stays unique below this


def caller_number(i: int, c: int) -> str:
    """The c-th blocked caller of workspace i: a possible +1 number in E.164, unique for every
    (i, c) with c < 10,000 and i < MAX_WORKSPACES. Below 1,000 workspaces it is the
    +1 555 iii cccc the earlier runs used."""
    national = NANP_FIRST + (5_550_000_000 - NANP_FIRST + i * 10_000 + c) % NANP_SPAN
    return f"+1{national}"


def items_for(i: int) -> dict[str, list[dict]]:
    return {
        "call_tags": [{"name": f"tag-{t}", "color": "#1f8a70"} for t in range(TAGS)],
        "members": [
            {"email": f"staff{m}@clinic{i}.example", "role": "member", "status": "active"}
            for m in range(MEMBERS)
        ],
        "blocked_callers": [{"number": caller_number(i, c)} for c in range(CALLERS)],
        "webhooks": [
            {"name": f"hook-{h}", "url": f"https://hooks.example.com/{i}/{h}", "enabled": True}
            for h in range(HOOKS)
        ],
    }


def seed(db_url: str, n: int) -> tuple[str, list[str]]:
    agency_key = admin.create_agency(db_url, "bench-agency")
    slugs = [f"clinic-{i:04d}" for i in range(n)]
    for slug in slugs:
        admin.create_workspace(db_url, slug, agency="bench-agency", owner="ops@agency.example")
    engine = get_engine(db_url)
    now = store.iso(datetime.now(UTC))
    with transaction(engine, write=True) as conn:
        ids = dict(conn.exec_driver_sql("SELECT slug, id FROM workspaces").all())
        rows = []
        for i, slug in enumerate(slugs):
            for kind, bodies in items_for(i).items():
                ident = BY_NAME[kind].identity
                for body in bodies:
                    ref = body.get("role") if kind == "members" else None
                    rows.append(store.row_values(ids[slug], kind, body[ident], body, now, ref=ref))
        store.insert_rows(conn, rows)
    dispose(db_url)
    return agency_key, slugs


def write_configs(folder: Path, slugs: list[str]) -> None:
    (folder / "base.yaml").write_text(
        "version: 1\ncall_tags:\n"
        + "".join(f"  - {{name: tag-{t}, color: '#1f8a70'}}\n" for t in range(TAGS))
    )
    for i, slug in enumerate(slugs):
        items = items_for(i)
        lines = ["version: 1", "extends: base.yaml", f"workspace: {{slug: {slug}}}", "members:"]
        lines.append("  - {email: ops@agency.example, role: owner}")
        lines += [f"  - {{email: {m['email']}, role: member}}" for m in items["members"]]
        lines.append("blocked_callers:")
        lines += [f"  - '{c['number']}'" for c in items["blocked_callers"]]
        lines.append("webhooks:")
        lines += [f"  - {{name: {h['name']}, url: '{h['url']}'}}" for h in items["webhooks"]]
        (folder / f"{slug}.yaml").write_text("\n".join(lines) + "\n")


def wscfg_plan(folder: Path, url: str, key: str) -> tuple[float, float]:
    """`wscfg plan` as a whole process: (wall seconds, peak RSS in MB, from wait4)."""
    wall, rss, _cpu = wscfg_plan_usage(folder, url, key)
    return wall, rss


def wscfg_plan_usage(folder: Path, url: str, key: str) -> tuple[float, float, float]:
    """`wscfg plan` as a whole process: (wall seconds, peak RSS in MB, CPU seconds: user +
    system), from wait4. CPU time is the plan process's own work, so it moves less than wall
    time with the load of other processes on a shared machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k not in DROP}
    env |= {"WSCFG_SERVER": url, "WSCFG_TOKEN": key}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            # no --timeout: thousands of workspaces on a busy box may take past its 300 s
            [sys.executable, "-m", "wscfg", "plan", "--detailed-exitcode", "--timeout", "0", "."],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=err,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:  # 0: the fleet matches its configs (2 would mean changes)
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"wscfg plan exited {proc.returncode}: {tail}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # Linux: RSS in kB


def memory_points(configs: Path, slugs: list[str], counts: list[int], url: str, key: str):
    """Peak RSS of `wscfg plan` over the first k configs, for each k (one run each)."""
    points = {}
    for k in counts:
        sub = configs.parent / f"configs-{k}"
        sub.mkdir()
        (sub / "base.yaml").write_bytes((configs / "base.yaml").read_bytes())
        for slug in slugs[:k]:
            (sub / f"{slug}.yaml").write_bytes((configs / f"{slug}.yaml").read_bytes())
        points[k] = round(wscfg_plan(sub, url, key)[1], 1)
    return points


def floor_reads(url: str, key: str, parallel: int = 8) -> float:
    """Python start + the reads alone: list workspaces, then every snapshot, 8 at a time."""
    code = f"""
import asyncio, httpx, time
async def main():
    h = {{"Authorization": "Bearer {key}"}}
    async with httpx.AsyncClient(base_url="{url}", headers=h, timeout=60) as c:
        slugs, cursor = [], None
        while True:
            params = {{"cursor": cursor}} if cursor else None
            r = (await c.get("/v1/workspaces", params=params)).json()
            slugs += [w["slug"] for w in r["items"]]
            cursor = r.get("next_cursor")
            if not cursor:
                break
        sem = asyncio.Semaphore({parallel})
        async def one(s):
            async with sem:
                (await c.get(f"/v1/workspaces/{{s}}/settings")).json()
        await asyncio.gather(*(one(s) for s in slugs))
asyncio.run(main())
"""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def per_item_reads(url: str, key: str, slugs: list[str], sample: int) -> float:
    """Every item by its own request, one after another; timed on a sample, scaled to all."""
    h = {"Authorization": f"Bearer {key}"}
    kinds = ["roles", "call-tags", "members", "blocked-callers", "webhooks"]
    start = time.perf_counter()
    with httpx.Client(base_url=url, headers=h, timeout=60) as c:
        for slug in slugs[:sample]:
            base = f"/v1/workspaces/{slug}"
            c.get(base).raise_for_status()
            c.get(f"{base}/call-rules").raise_for_status()
            c.get(f"{base}/notifications").raise_for_status()
            for kind in kinds:
                listing = c.get(f"{base}/{kind}", params={"limit": 5000}).json()["items"]
                ident = {
                    "roles": "name",
                    "call-tags": "name",
                    "members": "email",
                    "blocked-callers": "number",
                    "webhooks": "name",
                }[kind]
                for item in listing:
                    c.get(f"{base}/{kind}/{quote(item[ident], safe='')}").raise_for_status()
    return (time.perf_counter() - start) * len(slugs) / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=10, help="workspaces read item by item")
    parser.add_argument(
        "--memory-at",
        default="",
        metavar="K,K,…",
        help="also measure peak RSS planning the first K workspaces (e.g. 500,1000,2000)",
    )
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="measure only peak RSS (at --memory-at counts and --workspaces), no timings",
    )
    args = parser.parse_args()
    if not 1 <= args.workspaces < MAX_WORKSPACES:
        parser.error(f"--workspaces takes 1 to {MAX_WORKSPACES - 1}")
    counts = sorted({int(k) for k in args.memory_at.split(",") if k.strip()})
    if any(not 1 <= k < args.workspaces for k in counts):
        parser.error("--memory-at takes counts below --workspaces")
    print(f"# machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    items = TAGS + MEMBERS + 1 + CALLERS + HOOKS + 3
    print(f"# fleet: {args.workspaces} workspaces x {items} items")
    with tempfile.TemporaryDirectory(prefix="wscfg-fleet-") as tmp:
        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'sandbox.db'}"
        key, slugs = seed(db_url, args.workspaces)
        configs = folder / "configs"
        configs.mkdir()
        write_configs(configs, slugs)
        with serve(db_url) as url:
            if args.memory_only:
                points = memory_points(configs, slugs, counts, url, key)
                points[args.workspaces] = round(wscfg_plan(configs, url, key)[1], 1)
                xs = sorted(points)
                fit = statistics.linear_regression(xs, [points[x] for x in xs])
                print(
                    json.dumps(
                        {
                            "peak_rss_mb_at": {str(x): points[x] for x in xs},
                            "rss_kb_per_workspace": round(fit.slope * 1024, 1),
                            "rss_mb_intercept": round(fit.intercept, 1),
                            "load_average": [round(x, 2) for x in os.getloadavg()],
                        }
                    )
                )
                return
            wscfg_plan(configs, url, key)  # warm-up
            floor_reads(url, key)
            ours, floor, peaks = [], [], []
            for _ in range(args.runs):
                wall, peak = wscfg_plan(configs, url, key)
                ours.append(wall)
                peaks.append(peak)
                floor.append(floor_reads(url, key))
            per_item = per_item_reads(url, key, slugs, args.sample)
            points = memory_points(configs, slugs, counts, url, key)
    # Each run's pair was measured back to back (A B A B): its ratio is the run's verdict.
    per_run = [round(a / b, 2) for a, b in zip(ours, floor, strict=True)]
    speedup = per_item / statistics.median(ours)
    result = {
        "wscfg_plan_median_s": round(statistics.median(ours), 2),
        "floor_reads_median_s": round(statistics.median(floor), 2),
        "ratio_to_floor": round(statistics.median(ours) / statistics.median(floor), 2),
        "ratio_per_run": per_run,
        "ratio_budget": 1.25,
        "met_on_every_run": max(per_run) <= 1.25,
        "per_item_sequential_s": round(per_item, 1),
        "speedup_vs_per_item": round(speedup, 1),
        "speedup_met": speedup >= 10,
        "wscfg_peak_rss_mb_median": round(statistics.median(peaks), 1),
        "memory_budget_mb": 1536,
        "runs": args.runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if counts:
        points[args.workspaces] = result["wscfg_peak_rss_mb_median"]
        xs = sorted(points)
        fit = statistics.linear_regression(xs, [points[x] for x in xs])
        result["peak_rss_mb_at"] = {str(x): points[x] for x in xs}
        result["rss_kb_per_workspace"] = round(fit.slope * 1024, 1)
        result["rss_mb_intercept"] = round(fit.intercept, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
