"""wscfg against octoDNS on the same number of records, in one run, alternating A B A B.

    python bench/peer_octodns.py                  # 20,000 records, 5 runs of each case
    python bench/peer_octodns.py --records 2000 --runs 7

The budget (DESIGN §8): a plan of 20,000 blocked callers on the embedded sandbox takes at most
0.2× the time of octoDNS 1.22 planning 20,000 A records YAML → YAML when all are creates, and
at most 0.15× when nothing changes. Both sides are whole processes, as a user runs them:

- wscfg: `wscfg plan peer.yaml` in a directory whose embedded sandbox (./.wscfg) holds the
  workspace: empty of blocked callers ("all creates"), or holding all of them ("no changes",
  applied once during set-up);
- octoDNS: `octodns-sync --config-file config.yaml` (a plan: no --doit) from a YamlProvider
  source holding one zone of N A records to a YamlProvider target holding nothing ("all
  creates") or the same zone file ("no changes").

octoDNS is installed with pip into a throwaway virtualenv (default /tmp/wscfg-bench-octodns)
when it is not there yet; nothing of it is kept in this repository. Ratios are what count:
both sides run on the same machine in the same minutes, interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DROP, cpu_model

OCTODNS = "octodns>=1.22,<1.23"
SLUG = "peer-clinic"
BUDGET = {"all creates": 0.2, "no changes": 0.15}


def octodns_sync(venv: Path) -> Path:
    """octodns-sync in ``venv``, installed there first if missing."""
    exe = venv / "bin" / "octodns-sync"
    if not exe.exists():
        print(f"installing {OCTODNS} into {venv} …", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, OCTODNS], check=True)
    return exe


def number(i: int) -> str:
    return f"+1555{i:07d}"


def octodns_setup(folder: Path, records: int, *, same: bool) -> list[str]:
    """A config planning ``records`` A records from one YAML directory into another."""
    zone = "example.com."
    lines = ["---"]
    for i in range(records):
        lines += [
            f"host{i:06d}:",
            "  type: A",
            f"  value: 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
        ]
    text = "\n".join(lines) + "\n"
    (folder / "source").mkdir(parents=True)
    (folder / "target").mkdir()
    (folder / "source" / f"{zone}yaml").write_text(text)
    if same:
        (folder / "target" / f"{zone}yaml").write_text(text)
    config = f"""---
providers:
  source:
    class: octodns.provider.yaml.YamlProvider
    directory: {folder / "source"}
  target:
    class: octodns.provider.yaml.YamlProvider
    directory: {folder / "target"}
zones:
  {zone}:
    sources: [source]
    targets: [target]
"""
    (folder / "config.yaml").write_text(config)
    return ["--config-file", str(folder / "config.yaml")]


def wscfg_setup(folder: Path, records: int, *, same: bool, env: dict[str, str]) -> None:
    """An embedded sandbox in ``folder`` with the workspace, and peer.yaml declaring the
    blocked callers (applied once when ``same``)."""
    folder.mkdir(parents=True)
    lines = ["version: 1", f"workspace: {{slug: {SLUG}}}", "blocked_callers:"]
    lines += [f"  - '{number(i)}'" for i in range(records)]
    (folder / "peer.yaml").write_text("\n".join(lines) + "\n")
    wscfg = [sys.executable, "-m", "wscfg"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    # The first plan creates the sandbox and the workspace.
    subprocess.run([*wscfg, "plan", "peer.yaml"], cwd=folder, env=env, check=True, **quiet)
    if same:
        cmd = [*wscfg, "apply", "--auto-approve", "peer.yaml"]
        subprocess.run(cmd, cwd=folder, env=env, check=True, **quiet)


def timed(cmd: list[str], cwd: Path, env: dict[str, str], expect: tuple[int, ...]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if proc.returncode not in expect:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--venv", type=Path, default=Path("/tmp/wscfg-bench-octodns"))
    args = parser.parse_args()
    sync = octodns_sync(args.venv)
    version = subprocess.run([str(sync), "--version"], capture_output=True, text=True).stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k not in DROP}
    root = Path(tempfile.mkdtemp(prefix="wscfg-peer-"))
    results = []
    try:
        for case, same in (("all creates", False), ("no changes", True)):
            octo = root / case.replace(" ", "-") / "octodns"
            octo.mkdir(parents=True)
            octo_cmd = [str(sync), *octodns_setup(octo, args.records, same=same)]
            ours = root / case.replace(" ", "-") / "wscfg"
            wscfg_setup(ours, args.records, same=same, env=env)
            wscfg_cmd = [sys.executable, "-m", "wscfg", "plan", "--detailed-exitcode", "peer.yaml"]
            want = 0 if same else 2
            timed(octo_cmd, octo, env, (0,))  # warm the page cache and .pyc files
            timed(wscfg_cmd, ours, env, (want,))
            a: list[float] = []
            b: list[float] = []
            for _ in range(args.runs):
                a.append(timed(wscfg_cmd, ours, env, (want,)))
                b.append(timed(octo_cmd, octo, env, (0,)))
            ratio = statistics.median(a) / statistics.median(b)
            row = {
                "case": case,
                "records": args.records,
                "wscfg_median_s": round(statistics.median(a), 3),
                "octodns_median_s": round(statistics.median(b), 3),
                "ratio": round(ratio, 3),
                "budget": BUDGET[case],
                "met": ratio <= BUDGET[case],
                "wscfg_s": [round(x, 3) for x in a],
                "octodns_s": [round(x, 3) for x in b],
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    machine = {
        "cpus": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "octodns": version.strip(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps({"machine": machine}))


if __name__ == "__main__":
    main()
