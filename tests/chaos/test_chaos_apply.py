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
from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from wscfg.sandbox.testing import unique

from .harness import Harness, RunResult, chaos_doc

EXAMPLES = int(os.environ.get("WSCFG_CHAOS_EXAMPLES", "30"))
TOTALS: Counter[str] = Counter()


def record(result: RunResult) -> None:
    TOTALS["runs"] += 0 if result.skipped else 1
    TOTALS.update(result.faults)
    TOTALS.update(result.outcomes)
    TOTALS["edits"] += result.edits


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing run is printed as is
)
@given(data=st.data())
def test_random_plans_under_faults(harness: Harness, data: st.DataObject) -> None:
    slug = unique("chaos")
    live = data.draw(chaos_doc(slug), label="live")
    want = data.draw(chaos_doc(slug), label="desired")
    seed = data.draw(st.integers(0, 2**31), label="fault seed")
    mode = data.draw(st.sampled_from(["generous", "stingy"]), label="retry policy")
    editor = data.draw(st.booleans(), label="concurrent editor")
    result = harness.run(seed, live, want, mode=mode, editor=editor)
    record(result)
    assert result.violations == [], result


def test_the_suite_met_faults_and_failures(harness: Harness) -> None:
    """The random runs above are only proof if faults happened and reports had failures to
    be accurate about (runs in definition order, so TOTALS is filled)."""
    print(f"chaos totals: {dict(TOTALS)}")
    if not TOTALS["runs"]:
        return  # the property test was deselected
    assert TOTALS["runs"] >= EXAMPLES // 2, TOTALS
    for fault in ("500", "500after", "429", "reset"):
        assert TOTALS[fault] > 0, TOTALS
    assert TOTALS["done"] > 0 and TOTALS["failed"] + TOTALS["maybe"] > 0, TOTALS
    assert TOTALS["edits"] > 0, TOTALS
