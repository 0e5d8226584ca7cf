"""The soak: the chaos harness for many more runs than CI allows (``pytest -m soak``;
``WSCFG_SOAK_RUNS``, default 300). Same checks as test_chaos_apply.py; every violation is
collected and reported together. ``python bench/soak.py`` runs the same and prints a summary.
"""

from __future__ import annotations

import os

import pytest

from .harness import Harness, soak

pytestmark = pytest.mark.soak


@pytest.mark.timeout(3600)
def test_soak(harness: Harness) -> None:
    tally = soak(harness, int(os.environ.get("WSCFG_SOAK_RUNS", "300")), seed=1)
    print(tally.summary())
    assert tally.violations == [], tally.violations[:20]
    assert tally.duplicate_creates == tally.repeated_writes == tally.lost_updates == 0
