"""Fleet plan: 500 sub-accounts × ~100 items over HTTP on loopback (DESIGN §8).

    python bench/fleet_plan.py                     # 500 workspaces, 3 runs
    python bench/fleet_plan.py --workspaces 100 --runs 5

Three measurements against one `wscfg sandbox serve` process, in the same run:
- wscfg:  `wscfg plan DIR` as a whole process (load 500 YAML files, read, diff, render);
- floor:  the bare concurrent HTTP reads that plan needs (list the agency's workspaces, then
          one snapshot per workspace, 8 at a time, as `--parallel 8` does), in one process;
- per-item: what per-resource tools do: list every collection, then GET every item by its
          own request, one after another (measured on a sample of workspaces, scaled up).
Medians of several runs. The live data is seeded straight into the sandbox's database.
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


def items_for(i: int) -> dict[str, list[dict]]:
    return {
        "call_tags": [{"name": f"tag-{t}", "color": "#1f8a70"} for t in range(TAGS)],
        "members": [
            {"email": f"staff{m}@clinic{i}.example", "role": "member", "status": "active"}
            for m in range(MEMBERS)
        ],
        "blocked_callers": [{"number": f"+1555{i:03d}{c:04d}"} for c in range(CALLERS)],
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


def wscfg_plan(folder: Path, url: str, key: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k not in DROP}
    env |= {"WSCFG_SERVER": url, "WSCFG_TOKEN": key}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "wscfg", "plan", "--detailed-exitcode", "."],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:  # 0: the fleet matches its configs (2 would mean changes)
        raise SystemExit(f"wscfg plan exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall


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
    args = parser.parse_args()
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
            wscfg_plan(configs, url, key)  # warm-up
            floor_reads(url, key)
            ours, floor = [], []
            for _ in range(args.runs):
                ours.append(wscfg_plan(configs, url, key))
                floor.append(floor_reads(url, key))
            per_item = per_item_reads(url, key, slugs, args.sample)
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
        "runs": args.runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
