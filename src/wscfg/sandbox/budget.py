"""Time bounds on writes: how long a write may wait for the lock, and how long it may hold it.

- **Lock wait** (``SandboxSettings.lock_wait``): a write waits at most this long for the
  workspace's write lock (SQLite's ``busy_timeout``, PostgreSQL's ``lock_timeout``).
- **Write budget** (``SandboxSettings.write_budget``): a write's transaction may run at most
  this long (SQLite: a progress handler interrupts the statement running past the deadline;
  PostgreSQL: ``statement_timeout``; both: checked again before commit). Past it the write
  is rolled back.

Either way the answer is ``503 Service Unavailable`` with ``Retry-After`` (the client retries
it), never a ``500``: one tenant's large write can delay another's by at most the budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from .db import is_sqlite
from .problems import ProblemError

RETRY_AFTER = "1"
_PROGRESS_STEPS = 1000  # SQLite VM instructions between two looks at the clock
_PG_BUSY = {"55P03", "40P01"}  # lock_not_available, deadlock_detected
_PG_CANCELED = {"57014"}  # query_canceled (statement_timeout)


def busy(detail: str) -> ProblemError:
    return ProblemError(503, detail, headers={"Retry-After": RETRY_AFTER})


def contention(exc: BaseException) -> ProblemError | None:
    """The 503 a database error stands for (lock wait or budget ran out), or ``None``."""
    if not isinstance(exc, OperationalError):
        return None
    orig = exc.orig
    state = getattr(orig, "sqlstate", None)
    text = str(orig).lower()
    if state in _PG_BUSY or "database is locked" in text or "database is busy" in text:
        return busy("the workspace is busy with another write; retry shortly")
    if state in _PG_CANCELED or text == "interrupted":
        return over_budget()
    return None


def over_budget() -> ProblemError:
    return busy(
        "the write ran past its time budget and was rolled back; retry shortly, or send a "
        "smaller write"
    )


@contextmanager
def write_budget(conn: Connection, seconds: float) -> Iterator[float]:
    """Bound the statements run on ``conn`` inside the block to ``seconds`` from now; yields
    the deadline (``time.monotonic()``) so the caller can check it before commit."""
    deadline = time.monotonic() + seconds
    if not is_sqlite(conn):
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
        yield deadline
        return
    raw: Any = conn.connection.driver_connection

    def past_deadline() -> int:
        return 1 if time.monotonic() > deadline else 0

    raw.set_progress_handler(past_deadline, _PROGRESS_STEPS)
    try:
        yield deadline
    finally:
        raw.set_progress_handler(None, 0)


def check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise over_budget()


def install(app: Any) -> None:
    """Answer lock contention and exhausted budgets as 503 problems, wherever they surface."""
    from .problems import problem_response

    async def on_operational(request: Any, exc: Exception) -> Any:
        problem = contention(exc)
        if problem is None:
            raise exc
        return problem_response(request, problem.status, problem.detail, headers=problem.headers)

    app.add_exception_handler(OperationalError, on_operational)
