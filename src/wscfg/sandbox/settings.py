"""Tunables of one sandbox server: invitation lifetime, rate limits, idempotency, page sizes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SandboxSettings:
    """How a sandbox server behaves. Every field has a default fit for embedded use.

    ``rate_limit`` is the sustained requests per second allowed per API key (``None``: no
    limit) and ``rate_burst`` the bucket size (default: twice the rate, at least 1).
    ``clock`` returns the current time (aware, UTC) and ``ticker`` seconds on a steady clock
    (the rate limiter's); tests pass controllable ones.
    ``access_log`` receives one line per request (see
    :func:`wscfg.sandbox.middleware.access_line`); ``None`` = no access log.
    ``faults`` is a fault-injection spec (see :mod:`wscfg.sandbox.faults`); ``None`` = off.
    ``lock_wait`` is how long a write waits for the write lock and ``write_budget`` how long
    it may hold it (see :mod:`wscfg.sandbox.budget`); ``limits`` bounds every input (see
    :mod:`wscfg.sandbox.limits`).
    """

    invite_ttl: float = 7 * 24 * 3600.0  # seconds a member invitation stays pending
    rate_limit: float | None = None
    rate_burst: int | None = None
    idempotency_ttl: float = 24 * 3600.0  # seconds an Idempotency-Key is remembered
    default_page_size: int = 500
    max_page_size: int = 5000
    max_batch: int = 10_000
    max_api_keys: int = 10
    max_body_bytes: int = 16 * 1024 * 1024
    lock_wait: float = 20.0  # seconds a write waits for the write lock, then 503
    write_budget: float = 10.0  # seconds a write may hold it, then rolled back and 503
    limits: Any = field(default=None, compare=False)  # a limits.Limits; None = the defaults
    clock: Callable[[], datetime] = field(default=utcnow, compare=False)
    ticker: Callable[[], float] = field(default=time.monotonic, compare=False)
    faults: Any = None
    access_log: Callable[[str], None] | None = field(default=None, compare=False)

    @property
    def bounds(self) -> Any:
        """The :class:`~wscfg.sandbox.limits.Limits` in force."""
        if self.limits is not None:
            return self.limits
        from .limits import DEFAULT_LIMITS

        return DEFAULT_LIMITS

    @property
    def burst(self) -> int:
        if self.rate_burst is not None:
            return max(1, self.rate_burst)
        return max(1, int(2 * (self.rate_limit or 0)))
