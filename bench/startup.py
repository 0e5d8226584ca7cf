"""Start-up time of `wscfg --help`, `wscfg validate` and the README main job (`wscfg plan
examples/workspace.yaml` on the embedded sandbox) against `python -c "import click"`.

    python bench/startup.py --runs 20     # interleaved A B A B…; medians and ratios

Budgets (DESIGN §8), as ratios to `python -c "import click"` measured in the same run:
--help ≤ 1.5×, validate examples/workspace.yaml ≤ 3×, the main job on the embedded sandbox
≤ 8×. "plan, embedded" runs in a directory where an earlier plan created the sandbox (every
later run of a newcomer); "plan, embedded, first run" starts each time from an empty directory
(it creates the SQLite file, the agency key and the workspace). Two floors, for comparison:
"import click, yaml, phonenumbers, jsonschema_rs" is what validate of a valid file cannot avoid
(the YAML parser, the phone numbers the example needs, the schema check: docs/performance.md);
"import click, pydantic" is what every command that builds the models (plan, apply) cannot.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WSCFG = [sys.executable, "-m", "wscfg"]
BUDGET = {"wscfg --help": 1.5, "wscfg validate": 3.0, "plan, embedded": 8.0}


def once(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    # As installed: .pyc files written (the first run of each case warms them), so not
    # PYTHONDONTWRITEBYTECODE from the caller's shell; no WSCFG_ settings.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WSCFG_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(ACME_WEBHOOK_SECRET="bench-only", CI="")
    work = Path(tempfile.mkdtemp(prefix="wscfg-startup-"))
    warm = work / "warm"
    shutil.copytree(ROOT / "examples", warm / "examples")
    plan = [*WSCFG, "plan", "examples/workspace.yaml"]
    cases: dict[str, tuple[list[str], Path | None]] = {
        "import click": ([sys.executable, "-c", "import click"], ROOT),
        # What validate of a valid file cannot avoid (it does not import pydantic).
        "import click, yaml, phonenumbers, jsonschema_rs": (
            [sys.executable, "-c", "import click, yaml, phonenumbers, jsonschema_rs"],
            ROOT,
        ),
        # What every command that builds the models cannot avoid.
        "import click, pydantic": (
            [sys.executable, "-c", "import click; from pydantic import BaseModel, Field"],
            ROOT,
        ),
        "wscfg --help": ([*WSCFG, "--help"], ROOT),
        "wscfg validate": ([*WSCFG, "validate", "examples/workspace.yaml"], ROOT),
        "plan, embedded": (plan, warm),
        "plan, embedded, first run": (plan, None),
    }

    def fresh() -> Path:
        d = Path(tempfile.mkdtemp(dir=work))
        shutil.copytree(ROOT / "examples", d / "examples")
        return d

    samples: dict[str, list[float]] = {name: [] for name in cases}
    try:
        for cmd, cwd in cases.values():
            once(cmd, env, cwd or fresh())  # warm .pyc files and the page cache
        for _ in range(args.runs):
            for name, (cmd, cwd) in cases.items():
                samples[name].append(once(cmd, env, cwd or fresh()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(samples["import click"])
    for name, values in samples.items():
        median = statistics.median(values)
        ratio = median / base
        row: dict[str, object] = {
            "case": name,
            "median_ms": round(median * 1000, 1),
            "ratio": round(ratio, 2),
        }
        if name in BUDGET:
            row["budget"] = BUDGET[name]
            row["met"] = ratio <= BUDGET[name]
        print(json.dumps(row))
    print(json.dumps({"runs": args.runs, "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
