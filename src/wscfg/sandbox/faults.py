"""Fault injection (off by default): a flaky platform on demand, replayable from a seed.

A spec is a comma-separated list of ``FAULT=PROBABILITY`` plus ``latency=LO-HIms`` and
``seed=N``, e.g. ``500=0.1,429=0.05,reset=0.05,latency=50-300ms,seed=7``:

- ``500``       answer 500 *before* handling: nothing was written;
- ``500after``  handle the request (the write commits), then answer 500 instead;
- ``429``       answer 429 with ``Retry-After: 1`` before handling;
- ``reset``     handle the request (the write commits), then drop the connection part-way
                through the answer: the client never hears how it went;
- ``latency``   sleep a uniform random time in the range before handling.

Faults apply to ``/v1`` requests only (never to ``/openapi.json``). One draw per request from
a ``random.Random(seed)``, in arrival order, so a sequential client sees the same faults on
every run with the same seed.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import SetupError
from .problems import PROBLEM_JSON, problem_body

KINDS = ("500", "500after", "429", "reset")
_LATENCY_RE = re.compile(r"^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?ms$")


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities of each fault, a latency range in seconds, and the seed."""

    rates: tuple[tuple[str, float], ...] = ()
    latency: tuple[float, float] | None = None
    seed: int = 0

    def __str__(self) -> str:
        parts = [f"{k}={p:g}" for k, p in self.rates]
        if self.latency:
            parts.append(f"latency={self.latency[0] * 1000:g}-{self.latency[1] * 1000:g}ms")
        return ",".join([*parts, f"seed={self.seed}"])


def parse_faults(spec: str) -> FaultPlan:
    """A :class:`FaultPlan` from its text; :class:`SetupError` naming what is wrong."""
    rates: dict[str, float] = {}
    latency = None
    seed = 0
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep:
            raise SetupError(f"fault {part!r}: write NAME=VALUE")
        if name == "seed":
            try:
                seed = int(value)
            except ValueError:
                raise SetupError(f"fault seed {value!r} is not an integer") from None
        elif name == "latency":
            m = _LATENCY_RE.match(value.strip())
            if not m:
                raise SetupError(f"latency {value!r}: write e.g. 50-300ms or 100ms")
            lo = float(m.group(1)) / 1000
            hi = float(m.group(2)) / 1000 if m.group(2) else lo
            if hi < lo:
                raise SetupError(f"latency {value!r}: the range is reversed")
            latency = (lo, hi)
        elif name in KINDS:
            try:
                p = float(value)
            except ValueError:
                p = -1.0
            if not 0 <= p <= 1:
                raise SetupError(f"fault {name}: the probability must be between 0 and 1")
            rates[name] = p
        else:
            raise SetupError(f"unknown fault {name!r}; known: {', '.join(KINDS)}, latency, seed")
    if sum(rates.values()) > 1:
        raise SetupError("fault probabilities add up to more than 1")
    return FaultPlan(tuple(rates.items()), latency, seed)


class FaultMiddleware:
    """Applies a :class:`FaultPlan` (inside the request-id middleware)."""

    def __init__(self, app: ASGIApp, faults: FaultPlan | str) -> None:
        self.app = app
        self.plan = parse_faults(faults) if isinstance(faults, str) else faults
        self._rng = random.Random(self.plan.seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = dict.fromkeys(KINDS, 0)

    def _draw(self) -> tuple[str | None, float]:
        with self._lock:
            roll = self._rng.random()
            delay = self._rng.uniform(*self.plan.latency) if self.plan.latency else 0.0
            chosen = None
            for name, p in self.plan.rates:
                if roll < p:
                    chosen = name
                    break
                roll -= p
            if chosen:
                self.injected[chosen] += 1
            return chosen, delay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        fault, delay = self._draw()
        if delay:
            await asyncio.sleep(delay)
        if fault in ("500", "429"):
            status = int(fault)
            headers = {"Retry-After": "1"} if status == 429 else {}
            await _problem(send, status, "injected fault", headers)
            return
        if fault == "500after":
            await self.app(scope, receive, _swallow)
            await _problem(send, 500, "injected fault (after the request was handled)", {})
            return
        if fault == "reset":
            await self.app(scope, receive, _swallow)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"1000"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise ConnectionResetError("injected fault: connection dropped after the write")
        await self.app(scope, receive, send)


async def _swallow(_message: Message) -> None:
    return None


async def _problem(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = problem_body(status, detail)
    raw = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
