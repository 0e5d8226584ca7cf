"""CPU of loading a fleet's configs (#22 item 6: the load of a warm hourly drift).

    python bench/load_configs.py                                  # this checkout, 500 configs
    python bench/load_configs.py --runs 5 --python /work/main/.venv/bin/python \\
        --python .venv/bin/python                                 # A B A B, two installs
    python bench/load_configs.py --runs 5 --python "python@/tmp/before/src" --python python
    python bench/load_configs.py --profile 30                     # cProfile, top 30

Writes the fleet of bench/fleet_plan.py (one config per workspace, ~100 items, all extending
one base.yaml) and times `wscfg.load(DIR)` in a fresh process per run: read, parse, resolve
and validate every config, then the engine's desired states, as `wscfg drift DIR` does.
Each run's imports are done before the clock starts, so the numbers are the load alone: CPU
seconds (user + system, time.process_time) and wall. With several --python interpreters
(e.g. main's venv and a branch's), the runs alternate A B A B and each gets its median;
``PYTHON@SRC`` runs PYTHON with SRC first on PYTHONPATH (e.g. ``git archive REV src`` unpacked
in a folder: an older commit's code with the same interpreter and libraries).
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
from pathlib import Path

from common import DROP, cpu_model
from fleet_plan import write_configs

LOAD = """
import json, sys, time
import wscfg, wscfg.config.validate, wscfg.engine.state, wscfg.workflow.selection
import wscfg.model.kinds
wall, cpu = time.perf_counter(), time.process_time()
configs = wscfg.load(".")
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
json.dump({"cpu": cpu, "wall": wall, "configs": len(configs)}, sys.stdout)
"""

PROFILE = """
import cProfile, pstats, sys
import wscfg, wscfg.config.validate, wscfg.engine.state, wscfg.workflow.selection
import wscfg.model.kinds
prof = cProfile.Profile()
prof.enable()
wscfg.load(".")
prof.disable()
stats = pstats.Stats(prof, stream=sys.stdout)
stats.sort_stats("tottime").print_stats(int(sys.argv[1]))
stats.sort_stats("cumulative").print_stats(int(sys.argv[1]))
"""


def one_run(python: str, folder: Path, script: str = LOAD, *args: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k not in DROP}
    python, _, src = python.partition("@")
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [python, "-c", script, *args], cwd=folder, env=env, capture_output=True, text=True
    )
    if script is not LOAD:
        print(done.stdout, done.stderr[-2000:])
        return {}
    if done.returncode != 0:
        raise SystemExit(f"{python}: the load exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5, help="runs per interpreter")
    parser.add_argument(
        "--python",
        action="append",
        help="an interpreter with wscfg installed (repeat to compare; default: this one)",
    )
    parser.add_argument("--profile", type=int, metavar="N", help="cProfile one load: top N")
    args = parser.parse_args()
    pythons = args.python or [sys.executable]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_configs(folder, [f"clinic-{i:04d}" for i in range(args.workspaces)])
        if args.profile:
            one_run(pythons[0], folder, PROFILE, str(args.profile))
            return
        print(
            f"{args.workspaces} configs; {cpu_model()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
        )
        runs: dict[str, list[dict[str, float]]] = {p: [] for p in pythons}
        for _ in range(args.runs):
            for python in pythons:  # A B A B
                result = one_run(python, folder)
                runs[python].append(result)
                print(f"  {python}: CPU {result['cpu']:.3f} s, wall {result['wall']:.3f} s")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        first = statistics.median(r["cpu"] for r in runs[pythons[0]])
        for python in pythons:
            cpu = statistics.median(r["cpu"] for r in runs[python])
            wall = statistics.median(r["wall"] for r in runs[python])
            print(
                f"{python}: median CPU {cpu:.3f} s ({cpu / first:.2f}x the first), "
                f"wall {wall:.3f} s, {runs[python][0]['configs']} configs"
            )


if __name__ == "__main__":
    main()
