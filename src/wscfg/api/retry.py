"""The retry policy: which requests may be retried, when, how long to wait, and how often.

Pure code (no httpx), so it is cheap to import and easy to test.

Which requests are retried (see also docs in :mod:`wscfg.api.client`):

- only idempotent ones: ``GET``, ``HEAD``, ``PUT``, ``DELETE``, ``PATCH`` carrying ``If-Match``
  and ``POST`` carrying ``Idempotency-Key``; a failed *connection* (nothing was sent) is retried
  for any request;
- after a transport failure (connect/read/write error, reset, timeout) or one of
  :attr:`RetryPolicy.retry_statuses` (408, 429, 500, 502, 503, 504 by default).

How long to wait before retry number ``n`` (1-based):

- the server's ``Retry-After`` (delta-seconds or HTTP-date) when it sent one, plus a little
  jitter (never less than asked); if it asks for more than :attr:`RetryPolicy.retry_after_cap`
  we do **not** retry early: the request fails with the server's answer and says why;
- otherwise exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**(n-1)))``.

How often: at most :attr:`RetryPolicy.max_attempts` attempts per request, and a
:class:`RetryBudget` shared by every request of one client: retries may not exceed
``budget_floor + budget_ratio * requests`` so a dying server is not hammered by a fleet run.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """Tunable retry behaviour. ``sleep``, ``random`` and ``now`` are seams for tests."""

    max_attempts: int = 5  # per request, the first attempt included
    backoff_base: float = 0.2  # seconds; the ceiling of the first backoff
    backoff_cap: float = 10.0  # seconds; no backoff ceiling grows past this
    retry_after_cap: float = 30.0  # a longer Retry-After fails the request instead
    budget_ratio: float = 0.2  # retries allowed per request made (shared by the client)
    budget_floor: int = 20  # retries always allowed on top of the ratio
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    random: Callable[[], float] = field(default=_random.random, compare=False)
    now: Callable[[], datetime] = field(default=_utcnow, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.retry_after_cap < 0:
            raise ValueError("backoff_base, backoff_cap and retry_after_cap must not be negative")
        if self.budget_ratio < 0 or self.budget_floor < 0:
            raise ValueError("budget_ratio and budget_floor must not be negative")

    def backoff(self, retry: int) -> float:
        """Full-jitter backoff before retry number ``retry`` (1 for the first retry)."""
        exp = min(max(retry - 1, 0), 62)  # 2**62 * base overflows nothing and is capped anyway
        ceiling = min(self.backoff_cap, self.backoff_base * (2**exp))
        return self.random() * ceiling

    def delay(self, retry: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry ``retry``; ``None`` when we must not retry at all.

        With a ``Retry-After`` the wait is at least what the server asked for (plus up to
        ``backoff_base`` of jitter so a fleet does not return in lock step); a ``Retry-After``
        above :attr:`retry_after_cap` means "give up" rather than "come back early".
        """
        if retry_after is None:
            return self.backoff(retry)
        if retry_after > self.retry_after_cap:
            return None
        return retry_after + self.random() * self.backoff_base

    def retry_after(self, value: str | None) -> float | None:
        return parse_retry_after(value, now=self.now())


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3).

    Accepts delta-seconds (``"120"``; a decimal such as ``"1.5"`` is tolerated) and HTTP-dates
    (IMF-fixdate, RFC 850 and asctime forms). A date in the past gives ``0.0``. Anything else
    (missing, empty, negative, garbage, absurdly long) gives ``None``: the caller falls back to
    its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text[0].isdigit():
        try:
            seconds = float(text)
        except ValueError:
            seconds = -1.0
        if seconds >= 0 and seconds != float("inf"):
            return seconds
        if text.isdigit():  # digits only, but too big for a float: wait "forever"
            return float("inf")
        return None
    when = _parse_http_date(text)
    if when is None:
        return None
    current = now or _utcnow()
    return max(0.0, (when - current).total_seconds())


def _parse_http_date(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    if when is None:
        # RFC 850 form: "Sunday, 06-Nov-94 08:49:37 GMT" (obsolete but still legal)
        for fmt in ("%A, %d-%b-%y %H:%M:%S GMT", "%A, %d-%b-%Y %H:%M:%S GMT"):
            try:
                when = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP-dates are always GMT
    return when


def is_retryable_request(method: str, headers: Mapping[str, str]) -> bool:
    """May this request be sent twice without changing the result? (See the module docs.)"""
    m = method.upper()
    if m in IDEMPOTENT_METHODS:
        return True
    lowered = {k.lower() for k in headers}
    if m == "PATCH":
        return "if-match" in lowered
    if m == "POST":
        return "idempotency-key" in lowered
    return False


class RetryBudget:
    """Retries allowed across one client: ``floor + ratio * requests``, spent one per retry.

    Not time-based: a fleet run is short, and a server that fails most requests should see the
    retries stop rather than be retried "later". Only touched from the event loop thread, with no
    ``await`` between check and spend, so it needs no lock.
    """

    def __init__(self, ratio: float, floor: int) -> None:
        self.ratio = ratio
        self.floor = floor
        self.requests = 0
        self.retries = 0

    def record_request(self) -> None:
        self.requests += 1

    @property
    def remaining(self) -> float:
        return self.floor + self.ratio * self.requests - self.retries

    def try_spend(self) -> bool:
        if self.remaining < 1:
            return False
        self.retries += 1
        return True

    def __repr__(self) -> str:
        return (
            f"RetryBudget(requests={self.requests}, retries={self.retries}, "
            f"remaining={self.remaining:.1f})"
        )
