"""Soak the chaos harness: apply many random plans against a faulty sandbox and count.

    python bench/soak.py --runs 300             # a few minutes on 2 cores
    python bench/soak.py --runs 2000 --seed 9   # longer; another stream of documents
    python bench/soak.py --faults "500=0.1,500after=0.1,reset=0.1,retry-after=0,seed=0"

Each run is the one tests/chaos/test_chaos_apply.py makes (see tests/chaos/harness.py): a
random live state, a random desired state, apply under faults (optionally with a concurrent
editor), every promise checked against the server, a second run that must converge. Prints
runs, faults injected, outcomes, duplicates found and lost updates; exits 1 on any violation
(each printed with the seed of its run). Same as ``WSCFG_SOAK_RUNS=N pytest -m soak``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # chaos.harness and engine.strategies live there

from chaos.harness import FAULTS, Clock, Harness, Tally, soak  # noqa: E402
from wscfg.sandbox.testing import running_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="chaos runs (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the document stream")
    parser.add_argument("--faults", default=FAULTS, help=f"fault spec (default {FAULTS!r})")
    args = parser.parse_args()
    started = time.monotonic()

    def progress(t: Tally) -> None:
        done = t.runs + t.skipped
        if done % 25 == 0:
            print(
                f"  {done}/{args.runs} runs, {sum(t.faults.values())} faults, "
                f"{len(t.violations)} violations, {time.monotonic() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    with running_server(faults=args.faults, clock=Clock()) as server:
        # injected resets make the server log a traceback each: expected here, not shown
        for name in ("uvicorn.error", "wscfg.sandbox"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        tally = soak(Harness.start(server), args.runs, seed=args.seed, progress=progress)
    elapsed = time.monotonic() - started
    print(f"wscfg chaos soak: --runs {args.runs} --seed {args.seed} --faults '{args.faults}'")
    print(tally.summary())
    print(f"elapsed: {elapsed:.0f} s")
    for seed, violation in tally.violations:
        print(f"VIOLATION (run seed {seed}): {violation}")
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
