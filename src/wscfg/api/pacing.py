"""One request budget for a whole run: a token bucket every request of the client waits on.

The bucket's rate and size come from the server's own words, the ``RateLimit-Policy`` and
``RateLimit`` fields of draft-ietf-httpapi-ratelimit-headers (Structured Field lists of
items such as ``"default";q=20;w=1`` and ``"default";r=12;t=1``), capped by ``--rate-limit N``
(requests per second) for servers that advertise nothing. Every request of the run (every
workspace, reads and writes, retries included) takes one token before it is sent, so a fleet
run stays under the server's limit instead of running into it; a ``429`` holds the whole
bucket for its ``Retry-After`` (every request of the run waits, not just the one refused).

Until the first answer of the run arrives, no other request is sent: that answer may carry the
policy, and a fleet of requests sent before it would spend the burst blind.

The client keeps a margin under what the server advertises (:data:`RATE_MARGIN` of the rate,
:data:`BURST_MARGIN` of the burst), so requests that reach the server a little out of the
order they were sent in (a busy machine, a slow proxy) do not run its bucket dry.

A conditional read (``If-None-Match``) takes no token before it goes: servers such as
GitHub's (and the sandbox) do not count one answered ``304 Not Modified``, so a run whose reads
are all answered ``304`` is not paced at all. Its answer settles it (:meth:`Pacer.settle`): a
``304`` costs nothing, any other answer one token, lent when the bucket has none (the bucket
goes below zero, and the next requests wait the debt out), as the sandbox charges it. So that
a run of conditional reads that all come back in full (a cache gone stale) is paced like one
of plain reads, one goes only while the bucket, less one token for each conditional read still
unanswered, stays above the debt the server lends (the client's burst, below the server's).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

RATE_MARGIN = 0.95  # of the advertised rate
BURST_MARGIN = 0.75  # of the advertised burst (quota per window)
MAX_WINDOW = 86_400  # a policy window longer than a day is not a per-run pace
POLL = 0.05  # seconds a conditional read waits before it looks again at what is pending


def parse_policy(value: str | None) -> tuple[float, int] | None:
    """``(requests per second, burst)`` of the tightest quota policy in a ``RateLimit-Policy``
    value, or ``None`` when there is none we can use (absent, malformed, other units)."""
    best: tuple[float, int] | None = None
    for params in _items(value):
        quota, window = params.get("q"), params.get("w", 1)
        unit = params.get("qu", "requests")
        if unit != "requests" or not _count(quota) or not _count(window):
            continue
        assert isinstance(quota, int) and isinstance(window, int)
        if window > MAX_WINDOW:
            continue
        rate = quota / window
        if best is None or rate < best[0]:
            best = (rate, quota)
    return best


def parse_remaining(value: str | None) -> int | None:
    """The smallest ``r`` (quota units left) of a ``RateLimit`` value, or ``None``."""
    left = [p["r"] for p in _items(value) if isinstance(p.get("r"), int) and p["r"] >= 0]
    return min(left) if left else None


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _items(value: str | None) -> list[dict[str, Any]]:
    if not value or len(value) > 4096:
        return []
    import http_sf

    try:
        parsed: Any = http_sf.parse(value.encode("latin-1", "replace"), tltype="list")
    except Exception:  # a malformed field is ignored, as the draft asks of clients
        return []
    out: list[dict[str, Any]] = []
    for member in parsed if isinstance(parsed, list) else ():
        if isinstance(member, tuple) and len(member) == 2 and isinstance(member[1], dict):
            out.append({str(k): v for k, v in member[1].items()})
    return out


class Pacer:
    """A token bucket shared by every request of one client (see the module docs).

    ``limit`` is ``--rate-limit`` (requests per second, ``None``: no cap of our own).
    ``min_rate``: an advertised policy slower than this (one request per ``retry_after_cap``
    seconds, a daily quota…) is not paced to; its ``429`` fails the request instead, as a
    ``Retry-After`` above the cap does.
    ``clock`` and ``sleep`` are seams for tests.
    """

    def __init__(
        self,
        limit: float | None = None,
        *,
        min_rate: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit is not None and not (math.isfinite(limit) and limit > 0):
            raise ValueError("the rate limit must be a positive number of requests per second")
        self.limit = limit
        self.min_rate = min_rate
        self.advertised: tuple[float, int] | None = None  # (rate, burst) the server announced
        self._clock = clock
        self._sleep = sleep
        self._tokens: float | None = None
        self._at = clock()
        self._resume = 0.0
        # Until the first answer, one request at a time: it may carry the server's policy.
        self._heard = False
        self._probe: asyncio.Event | None = None
        self._pending = 0  # conditional reads sent, not yet settled
        self.waited = 0.0  # seconds requests spent waiting here, summed

    def __repr__(self) -> str:
        return f"Pacer(rate={self.rate}, burst={self.burst})"

    @property
    def rate(self) -> float | None:
        """Requests per second this client allows itself (``None``: unpaced)."""
        rates = [self.limit] if self.limit is not None else []
        if self.advertised is not None:
            rates.append(self.advertised[0] * RATE_MARGIN)
        return min(rates) if rates else None

    @property
    def burst(self) -> float:
        if self.advertised is not None:
            burst = max(1.0, math.floor(self.advertised[1] * BURST_MARGIN))
            if self.limit is not None:
                burst = min(burst, max(1.0, self.limit))
            return burst
        return max(1.0, self.limit or 1.0)

    async def acquire(self, conditional: bool = False) -> float:
        """Wait for this request's turn; return the seconds waited. A ``conditional`` read
        takes no token (see the module docs) and must be settled by :meth:`settle`.

        Each caller reserves the next free slot with no ``await`` in between, then sleeps
        until it: first come, first served, no lock. The bucket holds ``_tokens`` at the
        time ``_at`` (which a reservation may put in the future); the conditional reads still
        unanswered count as spent."""
        if self._probe is not None:
            await self._probe.wait()  # the first request is out: learn the policy from it
        elif not self._heard:
            self._probe = asyncio.Event()  # this is the first request of the run
        if conditional:
            return await self._lend()
        now = self._clock()
        rate = self.rate
        if rate is None:
            wait = max(0.0, self._resume - now)
        else:
            burst = self.burst
            at = max(now, self._resume, self._at)
            tokens = burst if self._tokens is None else self._tokens
            tokens = min(burst, tokens + (at - self._at) * rate)
            need = 1.0 + self._pending
            if tokens < need:
                at += (need - tokens) / rate
                tokens = need
            self._tokens, self._at = tokens - 1.0, at
            wait = at - now
        if wait > 0:
            await self._sleep(wait)
            self.waited += wait
        return wait

    async def _lend(self) -> float:
        """A conditional read's turn: when no ``429`` holds the run and the bucket, less the
        conditional reads pending and this one, stays at or above minus the burst."""
        waited = 0.0
        while True:
            now = self._clock()
            wait = self._resume - now
            rate = self.rate
            if wait <= 0 and rate is not None:
                if self._tokens is None:  # nothing heard of the bucket: it is full
                    self._tokens, self._at = self.burst, now
                level = min(self.burst, self._tokens + (now - self._at) * rate)
                short = (1.0 - self.burst) - (level - self._pending)
                # a hair short (float rounding) is not short: it would never catch up
                wait = min(max(short / rate, 0.001), POLL) if short > 1e-9 else 0.0
            if wait <= 0:
                break
            await self._sleep(wait)
            waited += wait
        self._pending += 1
        self.waited += waited
        return waited

    def settle(self, counted: bool) -> None:
        """A conditional read's answer has come (or its attempt failed): ``counted`` when the
        server may have counted it (any answer but a ``304`` or a ``429``; no answer)."""
        self._pending = max(0, self._pending - 1)
        if counted and self.rate is not None:
            if self._tokens is None:
                self._tokens, self._at = self.burst, self._clock()
            self._catch_up()
            self._tokens -= 1.0  # lent when there is none: the next requests wait it out

    def heard(self) -> None:
        """The first request of the run is over (answered or failed): let the others go."""
        self._heard = True
        if self._probe is not None:
            self._probe.set()
            self._probe = None

    def _catch_up(self) -> None:
        """Bring the bucket to now (refilled), unless a reservation lies ahead."""
        now = self._clock()
        rate = self.rate
        if self._tokens is None or rate is None or now <= self._at:
            return
        self._tokens = min(self.burst, self._tokens + (now - self._at) * rate)
        self._at = now

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the server's policy and what is left of its quota from an answer."""
        policy = parse_policy(headers.get("ratelimit-policy"))
        if policy is not None and policy[0] * RATE_MARGIN < self.min_rate:
            policy = None  # slower than this client waits for a turn: the 429 will say so
        if policy is not None and policy != self.advertised:
            self._catch_up()
            self.advertised = policy
            if self._tokens is not None:
                self._tokens = min(self._tokens, self.burst)
        left = parse_remaining(headers.get("ratelimit"))
        if left is None or self.rate is None:
            return
        if self._tokens is None:
            self._tokens, self._at = min(self.burst, float(left)), self._clock()
            return
        self._catch_up()
        if left < self._tokens:
            self._tokens = float(left)

    def hold(self, seconds: float) -> None:
        """No request of the run goes out for ``seconds`` (a ``429``'s ``Retry-After``)."""
        now = self._clock()
        self._resume = max(self._resume, now + max(0.0, seconds))
        self._tokens = 0.0
        self._at = max(self._at, self._resume)
