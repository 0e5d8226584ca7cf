"""Plan a large workspace (DESIGN §8) and apply 10,000 new blocked callers.

    python bench/plan_large.py                      # 100,000 callers + 5,000 members, 3 runs
    python bench/plan_large.py --callers 10000 --members 500 --runs 5

Measures, as whole `wscfg plan` processes (load YAML, read live, diff, render):
- on the embedded sandbox (SQLite in ./.wscfg of a temp dir, read in-process), and
- over HTTP against `wscfg sandbox serve` on loopback,
the median wall time and peak RSS of several runs, for the full size and for a tenth of it
(the budget: ten times the items costs at most twelve times the time). Then it applies
10,000 new blocked callers through the engine and the real client over HTTP and reports the
requests made (client counters) and the time.
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

from common import DROP, cpu_model, fill, serve

from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose
from wscfg.sandbox.testing import running_server

SLUG = "big-clinic"


def number(i: int) -> str:
    return f"+1555{i:07d}"


def write_config(path: Path, callers: int, members: int, *, extra: int = 0) -> None:
    lines = ["version: 1", f"workspace: {{slug: {SLUG}, name: Big Clinic}}", "members:"]
    lines.append(f"  - {{email: owner@{SLUG}.example, role: owner}}")
    lines += [f"  - {{email: m{i}@{SLUG}.example, role: member}}" for i in range(members)]
    lines.append("blocked_callers:")
    lines += [f"  - '{number(i)}'" for i in range(callers + extra)]
    path.write_text("\n".join(lines) + "\n")


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} failed ({code}): {proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024, code


def measure(label: str, cmd: list[str], cwd: Path, env: dict[str, str], runs: int) -> dict:
    timed(cmd, cwd, env)  # warm the page cache and .pyc files
    samples = [timed(cmd, cwd, env) for _ in range(runs)]
    walls = [s[0] for s in samples]
    result = {
        "case": label,
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "peak_rss_mb": round(max(s[1] for s in samples)),
    }
    print(json.dumps(result), flush=True)
    return result


def scenario(root: Path, callers: int, members: int, runs: int) -> list[dict]:
    """Embedded and HTTP plan of one workspace of the given size."""
    folder = root / f"{callers}-{members}"
    (folder / ".wscfg").mkdir(parents=True)
    db_url = f"sqlite:///{folder / '.wscfg' / 'sandbox.db'}"
    agency_key = admin.create_agency(db_url, "embedded")
    (folder / ".wscfg" / "credentials.json").write_text(json.dumps({"agency_key": agency_key}))
    admin.create_workspace(db_url, SLUG, agency="embedded")
    dispose(db_url)
    with serve(db_url) as url:
        base = f"{url}/v1/workspaces/{SLUG}"
        emails = [f"m{i}@{SLUG}.example" for i in range(members)]
        fill(base, agency_key, [number(i) for i in range(callers)], emails)
    config = folder / "big.yaml"
    write_config(config, callers, members, extra=10)  # 10 numbers to add: a real, small plan
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k not in DROP}
    cmd = [sys.executable, "-m", "wscfg", "plan", "big.yaml"]
    size = f"{callers:,} callers + {members:,} members"
    out = [measure(f"plan, embedded, {size}", cmd, folder, env, runs)]
    with serve(db_url) as url:
        http_env = env | {"WSCFG_SERVER": url, "WSCFG_TOKEN": agency_key}
        out.append(measure(f"plan, HTTP, {size}", cmd, folder, http_env, runs))
    return out


def apply_10k(runs: int) -> dict:
    from wscfg.api.client import ApiClient
    from wscfg.config.desired import TargetConfig
    from wscfg.engine.apply import apply_plan, secrets_from_desired
    from wscfg.engine.plan import make_plan
    from wscfg.engine.state import desired_state
    from wscfg.fleet import read_live
    from wscfg.model import WorkspaceConfig

    walls, requests = [], []
    with running_server() as server:
        for _ in range(runs):
            ws = server.new_workspace("apply")
            doc = {
                "version": 1,
                "workspace": {"slug": ws.slug},
                "blocked_callers": [number(i) for i in range(10_000)],
            }
            state = desired_state(TargetConfig("bench", WorkspaceConfig.model_validate(doc)))

            async def run(ws=ws, state=state) -> tuple[float, int]:
                async with ApiClient(server.url, ws.key) as client:
                    start = time.perf_counter()
                    plan = make_plan(state, await read_live(client, ws.slug))
                    report = await apply_plan(
                        plan, client.workspace(ws.slug), secrets_from_desired(state)
                    )
                    assert report.complete and len(plan.changes) == 10_000
                    return time.perf_counter() - start, client.stats.total_requests

            wall, n = asyncio.run(run())
            walls.append(wall)
            requests.append(n)
    result = {
        "case": "plan + apply of 10,000 new blocked callers, HTTP",
        "median_s": round(statistics.median(walls), 3),
        "requests": max(requests),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"# machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="wscfg-bench-") as tmp:
        root = Path(tmp)
        small = scenario(root, args.callers // 10, args.members // 10, args.runs)
        large = scenario(root, args.callers, args.members, args.runs)
        for s, big in zip(small, large, strict=True):
            ratio = big["median_s"] / s["median_s"]
            print(
                json.dumps(
                    {
                        "case": f"scaling x10 ({big['case'].split(',')[1].strip()})",
                        "time_ratio": round(ratio, 2),
                        "budget": 12,
                        "met": ratio <= 12 and big["peak_rss_mb"] <= 400,
                        "peak_rss_mb": big["peak_rss_mb"],
                    }
                )
            )
    apply_10k(args.runs)


if __name__ == "__main__":
    main()
