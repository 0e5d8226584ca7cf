"""A token bucket per API key: ``rate`` requests per second sustained, ``burst`` at once.

The limit is advertised on every answer with the fields of draft-ietf-httpapi-ratelimit-headers:
``RateLimit-Policy: "default";q=<burst>;w=<seconds>`` (the quota and the window it refills in)
and ``RateLimit: "default";r=<left>;t=<seconds>`` (the requests left now and the seconds until
the bucket is full again); a ``429`` also carries ``Retry-After``.

A conditional read (``If-None-Match`` on the snapshot or the audit log) takes no token before
it is answered: a ``304 Not Modified`` costs nothing, whatever the bucket holds, and is never
refused. An answer in full is charged once it is known (:meth:`RateLimiter.charge`): one
token, lent when the bucket is empty, so the bucket goes below zero (a debt of at most
``burst`` tokens, which the next requests wait out: they are refused until it is paid back and
a token has refilled); past that, the full answer is refused with ``429`` instead.
"""

from __future__ import annotations

import math
import threading
import time

POLICY = "default"


class RateLimiter:
    """Thread-safe buckets keyed by API key id. ``take`` returns 0 when the request may go
    on, or the whole seconds to wait (the ``Retry-After``) when the bucket is empty."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1, burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + max(0.0, now - at) * self.rate)

    def take(self, key: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._level(key, now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    def charge(self, key: str, now: float | None = None) -> int:
        """Charge a conditional read answered in full (it went through without a token): one
        token, lent when there is none (the bucket may hold down to ``-burst``). 0 when charged,
        else the whole seconds until the bucket holds a token again (the ``Retry-After``)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._level(key, now)
            if tokens - 1.0 >= -self.burst:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    @property
    def policy(self) -> str:
        """The ``RateLimit-Policy`` value: a quota ``q`` per whole-second window ``w``
        with ``q / w`` never above the rate and ``q`` never above the burst."""
        window = max(1, math.floor(self.burst / self.rate), math.ceil(1 / self.rate - 1e-9))
        quota = max(1, min(self.burst, math.floor(self.rate * window + 1e-9)))
        return f'"{POLICY}";q={quota};w={window}'

    def state(self, key: str, now: float | None = None) -> str:
        """The ``RateLimit`` value for ``key``: requests left (0 while the bucket is in debt),
        seconds until full (a debt included)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._level(key, now)
        reset = max(0, math.ceil((self.burst - tokens) / self.rate))
        return f'"{POLICY}";r={max(0, math.floor(tokens))};t={reset}'

    def headers(self, key: str, now: float | None = None) -> dict[str, str]:
        return {"RateLimit-Policy": self.policy, "RateLimit": self.state(key, now)}
