"""Start-up time of `wscfg --help` and `wscfg validate` against `python -c "import click"`.

    python bench/startup.py            # 30 runs each, interleaved; medians

The budget (DESIGN §8): --help ≤ 1.5× and validate examples/workspace.yaml ≤ 3× the time of
`python -c "import click"` in the same environment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "import click": [sys.executable, "-c", "import click"],
    "wscfg --help": [sys.executable, "-m", "wscfg", "--help"],
    "wscfg validate": [sys.executable, "-m", "wscfg", "validate", "examples/workspace.yaml"],
}


def once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # CI=true refuses the embedded
    env["ACME_WEBHOOK_SECRET"] = "bench-only"
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for cmd in CASES.values():
        once(cmd, env)  # warm .pyc files and the page cache
    for _ in range(args.runs):
        for name, cmd in CASES.items():
            samples[name].append(once(cmd, env))
    base = statistics.median(samples["import click"])
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            json.dumps(
                {
                    "case": name,
                    "median_ms": round(median * 1000, 1),
                    "ratio": round(median / base, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
