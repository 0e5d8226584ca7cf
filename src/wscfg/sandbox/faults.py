"""Fault injection (off by default): a flaky platform on demand, replayable from a seed.

A spec is a comma-separated list of ``FAULT=PROBABILITY`` plus ``latency=LO-HIms``,
``retry-after=SECONDS`` (what injected 429s ask for, default 1), ``methods=POST+PATCH+DELETE``
(fault only these methods; default all) and ``seed=N``, e.g.
``500=0.1,429=0.05,reset=0.05,latency=50-300ms,seed=7``:

- ``500``       answer 500 *before* handling: nothing was written;
- ``500after``  handle the request (the write commits), then answer 500 instead;
- ``429``       answer 429 with ``Retry-After: 1`` before handling;
- ``reset``     handle the request (the write commits), then drop the connection part-way
                through the answer: the client never hears how it went;
- ``drip``      handle the request, then send the answer one byte every ``drip-every``
                seconds (default 1): a stuck or hostile server that never quite stops;
- ``huge``      handle nothing; answer ``200`` with a JSON body that does not end: ``[{},{},…``
                in 64 KiB chunks, no ``Content-Length`` (chunked), ``huge-bytes`` long
                (default 1 GiB): a hostile server trying to fill the client's memory;
- ``latency``   sleep a uniform random time in the range before handling.

Faults apply to ``/v1`` requests only (never to ``/openapi.json``). One draw per request from
a ``random.Random(seed)``, in arrival order, so a sequential client sees the same faults on
every run with the same seed.

The state lives in one :class:`FaultInjector` per app (``app.state.faults``, and
``SandboxServer.faults`` in tests): it counts the faults injected, and a test harness can switch
injection off and on or re-seed it between runs without restarting the server.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import threading
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import SetupError
from .problems import PROBLEM_JSON, problem_body

KINDS = ("500", "500after", "429", "reset", "drip", "huge")
HUGE_CHUNK = b"{}," * (64 * 1024 // 3)
_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
_LATENCY_RE = re.compile(r"^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?ms$")


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities of each fault, a latency range in seconds, the seed, and the
    ``Retry-After`` seconds of injected 429s."""

    rates: tuple[tuple[str, float], ...] = ()
    latency: tuple[float, float] | None = None
    seed: int = 0
    retry_after: int = 1
    methods: frozenset[str] | None = None  # None: every method
    drip_every: float = 1.0  # seconds between the bytes of a dripped answer
    huge_bytes: int = 1 << 30  # the length of a `huge` answer

    def __str__(self) -> str:
        parts = [f"{k}={p:g}" for k, p in self.rates]
        if self.latency:
            parts.append(f"latency={self.latency[0] * 1000:g}-{self.latency[1] * 1000:g}ms")
        if self.retry_after != 1:
            parts.append(f"retry-after={self.retry_after}")
        if self.methods is not None:
            parts.append("methods=" + "+".join(sorted(self.methods)))
        if self.drip_every != 1.0:
            parts.append(f"drip-every={self.drip_every:g}")
        if self.huge_bytes != 1 << 30:
            parts.append(f"huge-bytes={self.huge_bytes}")
        return ",".join([*parts, f"seed={self.seed}"])


def parse_faults(spec: str) -> FaultPlan:
    """A :class:`FaultPlan` from its text; :class:`SetupError` naming what is wrong."""
    rates: dict[str, float] = {}
    latency = None
    seed = 0
    retry_after = 1
    methods = None
    drip_every = 1.0
    huge_bytes = 1 << 30
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
        elif name == "methods":
            methods = frozenset(m.strip().upper() for m in value.split("+") if m.strip())
            if not methods or not methods <= _METHODS:
                raise SetupError(f"methods {value!r}: write e.g. POST+PATCH+DELETE")
        elif name in ("retry-after", "retry_after"):
            try:
                retry_after = int(value)
            except ValueError:
                retry_after = -1
            if retry_after < 0:
                raise SetupError(f"retry-after {value!r}: write whole seconds, e.g. 0 or 1")
        elif name in ("drip-every", "drip_every"):
            try:
                drip_every = float(value)
            except ValueError:
                drip_every = -1.0
            if not 0 < drip_every <= 60:
                raise SetupError(f"drip-every {value!r}: write seconds between 0 and 60")
        elif name in ("huge-bytes", "huge_bytes"):
            huge_bytes = int(value) if value.strip().isdigit() else 0
            if not huge_bytes:
                raise SetupError(f"huge-bytes {value!r}: write a whole number of bytes")
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
            raise SetupError(
                f"unknown fault {name!r}; known: {', '.join(KINDS)}, latency, retry-after, "
                "methods, drip-every, huge-bytes, seed"
            )
    if sum(rates.values()) > 1:
        raise SetupError("fault probabilities add up to more than 1")
    return FaultPlan(
        tuple(rates.items()), latency, seed, retry_after, methods, drip_every, huge_bytes
    )


TRAIL_LIMIT = 100_000


def caller_id(authorization: bytes | str) -> str:
    """A short stable name for whoever sent a request: a digest of its ``Authorization``
    header (``caller_id(f"Bearer {key}")`` in a test), never the key itself."""
    raw = authorization.encode() if isinstance(authorization, str) else authorization
    return hashlib.sha256(raw).hexdigest()[:12] if raw else ""


class FaultInjector:
    """The fault state of one app: the plan, its seeded random draw, and what was injected.

    ``injected`` counts each fault kind, ``requests`` the ``/v1`` requests seen while enabled.
    :meth:`configure` switches injection off or on and re-seeds the draw (a test harness uses it
    to run setup and verification without faults on the same server).
    """

    def __init__(self, plan: FaultPlan | str) -> None:
        self.plan = parse_faults(plan) if isinstance(plan, str) else plan
        self.enabled = True
        self._lock = threading.Lock()
        self._rng = random.Random(self.plan.seed)
        self.injected: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.requests = 0
        # (monotonic time, method, caller_id) of each request drawn for, oldest first, so a
        # test can tell whose requests interleaved; capped, the key itself is never kept.
        self.trail: list[tuple[float, str, str]] = []

    def configure(
        self, plan: FaultPlan | str | None = None, *, seed: int | None = None, enabled: bool = True
    ) -> None:
        """Replace the plan and/or re-seed the draw, and switch injection on or off."""
        with self._lock:
            if plan is not None:
                self.plan = parse_faults(plan) if isinstance(plan, str) else plan
            if plan is not None or seed is not None:
                self._rng = random.Random(self.plan.seed if seed is None else seed)
            self.enabled = enabled

    @property
    def total(self) -> int:
        """Faults injected so far (every kind; latency is not a fault)."""
        return sum(self.injected.values())

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {**self.injected, "requests": self.requests}

    def draw(self, method: str = "GET", caller: str = "") -> tuple[str | None, float]:
        """The fault (or ``None``) and the delay for the next request."""
        with self._lock:
            if not self.enabled or (
                self.plan.methods is not None and method.upper() not in self.plan.methods
            ):
                return None, 0.0
            self.requests += 1
            if len(self.trail) < TRAIL_LIMIT:
                self.trail.append((time.monotonic(), method.upper(), caller))
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


class FaultMiddleware:
    """Applies a :class:`FaultInjector` (inside the request-id middleware)."""

    def __init__(self, app: ASGIApp, faults: FaultInjector | FaultPlan | str) -> None:
        self.app = app
        self.faults = faults if isinstance(faults, FaultInjector) else FaultInjector(faults)

    @property
    def injected(self) -> dict[str, int]:
        return self.faults.injected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        auth = dict(scope.get("headers") or ()).get(b"authorization", b"")
        fault, delay = self.faults.draw(scope.get("method", "GET"), caller_id(auth))
        if delay:
            await asyncio.sleep(delay)
        if fault in ("500", "429"):
            status = int(fault)
            headers = {"Retry-After": str(self.faults.plan.retry_after)} if status == 429 else {}
            await _problem(send, status, "injected fault", headers)
            return
        if fault == "500after":
            await self.app(scope, receive, _swallow)
            await _problem(send, 500, "injected fault (after the request was handled)", {})
            return
        if fault == "drip":
            await _drip(self.app, scope, receive, send, self.faults.plan.drip_every)
            return
        if fault == "huge":
            await _huge(send, self.faults.plan.huge_bytes)
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


async def _drip(app: ASGIApp, scope: Scope, receive: Receive, send: Send, every: float) -> None:
    """Handle the request, then send its answer one byte at a time."""
    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, keep)
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    start = next(m for m in messages if m["type"] == "http.response.start")
    await send(start)
    for i in range(len(body)):
        await send({"type": "http.response.body", "body": body[i : i + 1], "more_body": True})
        await asyncio.sleep(every)
    await send({"type": "http.response.body", "body": b""})


async def _huge(send: Send, length: int) -> None:
    """A ``200`` whose JSON body (``[{},{},…``) goes on for ``length`` bytes, chunked."""
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"[", "more_body": True})
    sent = 1
    while sent < length:
        chunk = HUGE_CHUNK[: length - sent]
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        sent += len(chunk)
    await send({"type": "http.response.body", "body": b""})


async def _swallow(_message: Message) -> None:
    return None


async def _problem(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = problem_body(status, detail)
    raw = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
