"""Fixtures of the chaos suite: a sandbox with fault injection (switched off between runs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wscfg.sandbox.testing import SandboxServer, running_server

from .harness import FAULTS, Clock, Harness


@pytest.fixture(scope="module")
def faulty(db_url: str | None) -> Iterator[SandboxServer]:
    """A sandbox started with ``--faults`` (see harness.FAULTS), injection off until a run
    switches it on, on a clock the runs move forward (harness.Clock)."""
    with running_server(db_url, faults=FAULTS, clock=Clock()) as server:
        server.faults.configure(enabled=False)
        yield server


@pytest.fixture(scope="module")
def harness(faulty: SandboxServer) -> Harness:
    return Harness.start(faulty)
