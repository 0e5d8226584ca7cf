"""Apply random plans against a faulty sandbox (issue 6 §2; DESIGN §6.1, §6.4).

Each run (see harness.py): random live state L and desired state D (the convergence
strategy), apply with 500 / 500-after-commit / 429 / reset-after-commit / latency faults, then
check against the server: every "done" landed exactly once, every "failed" did not land
unless the report says it may have, nothing outside the plan changed (rows byte for byte, a
neighbour workspace too), no item was created twice (audit log), no concurrent UI edit was
lost; a second run with faults on completes and the plan after it is empty.

Bounded for CI (fixed examples, fixed seeds: ``derandomize``); the soak runs the same harness
longer: ``python bench/soak.py --runs 500`` or ``pytest -m soak``.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from wscfg.sandbox.testing import unique

from .harness import Harness, RunResult, chaos_doc

EXAMPLES = int(os.environ.get("WSCFG_CHAOS_EXAMPLES", "30"))
TOTALS: defaultdict[str, Counter[str]] = defaultdict(Counter)  # per database backend


def record(backend: str, result: RunResult) -> None:
    totals = TOTALS[backend]
    totals["runs"] += 0 if result.skipped else 1
    totals.update(result.faults)
    totals.update(result.outcomes)
    totals["edits"] += result.edits


@pytest.mark.timeout(1200)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing run is printed as is
)
@given(data=st.data())
def test_random_plans_under_faults(harness: Harness, db_backend: str, data: st.DataObject) -> None:
    slug = unique("chaos")
    live = data.draw(chaos_doc(slug), label="live")
    want = data.draw(chaos_doc(slug), label="desired")
    seed = data.draw(st.integers(0, 2**31), label="fault seed")
    mode = data.draw(st.sampled_from(["generous", "stingy"]), label="retry policy")
    editor = data.draw(st.booleans(), label="concurrent editor")
    result = harness.run(seed, live, want, mode=mode, editor=editor)
    record(db_backend, result)
    assert result.violations == [], result


def test_the_suite_met_faults_and_failures(harness: Harness, db_backend: str) -> None:
    """The random runs above are only proof if faults happened and reports had failures to
    be accurate about. When the property test ran first (definition order), its runs are
    counted; when this test runs alone, it makes the same runs itself (they are derandomized,
    so they are the same runs either way)."""
    if not TOTALS[db_backend]["runs"]:
        test_random_plans_under_faults(harness=harness, db_backend=db_backend)
    totals = TOTALS[db_backend]
    print(f"chaos totals ({db_backend}): {dict(totals)}")
    assert totals["runs"] >= EXAMPLES // 2, totals
    for fault in ("500", "500after", "429", "reset"):
        assert totals[fault] > 0, totals
    assert totals["done"] > 0 and totals["failed"] + totals["maybe"] > 0, totals
    assert totals["edits"] > 0, totals
