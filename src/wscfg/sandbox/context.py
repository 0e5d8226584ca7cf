"""Per-request context: who calls, which workspace, and the one way writes are executed.

Route handlers get a :class:`Ctx` from :func:`reader` or :func:`writer` (FastAPI
dependencies that authenticate, rate-limit, check the scope and resolve the workspace), and
run every write through :func:`run_write`, which owns the transaction, the workspace lock,
idempotency, the audit log and the workspace's version counter.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from . import access, budget, idempotency, store
from .auth import READ, WRITE, Principal, WorkspaceRef, principal_for, reachable, with_member
from .db import get_engine, lock_agency, lock_workspace, transaction
from .problems import ProblemError
from .ratelimit import RateLimiter
from .records import client_token
from .settings import SandboxSettings
from .validators import Validators

JSON = "application/json"


class Sandbox:
    """What one app instance holds: the database, the settings, the rate limiter and the
    snapshots' validators."""

    def __init__(self, db_url: str, settings: SandboxSettings) -> None:
        self.db_url = db_url
        self.settings = settings
        self.limiter = (
            RateLimiter(settings.rate_limit, settings.burst) if settings.rate_limit else None
        )
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._writes = 0
        self.validators = Validators()  # the snapshots' ETags, by workspace version

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = get_engine(self.db_url)
        return self._engine

    def now(self) -> datetime:
        return self.settings.clock()

    def purge_due(self) -> bool:
        """True once every 1,000 writes: time to forget expired idempotency records."""
        with self._lock:
            self._writes += 1
            return self._writes % 1000 == 1


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A workspace or agency API key: `Authorization: Bearer wscfg_…`.",
)


@dataclass
class Ctx:
    sandbox: Sandbox
    request: Request
    who: Principal
    ws: WorkspaceRef | None
    now: datetime
    body: bytes = b""
    idempotency_key: str | None = None

    @property
    def now_iso(self) -> str:
        return store.iso(self.now)

    @property
    def settings(self) -> SandboxSettings:
        return self.sandbox.settings

    @property
    def workspace(self) -> WorkspaceRef:
        assert self.ws is not None
        return self.ws

    @property
    def request_id(self) -> str | None:
        return getattr(self.request.state, "request_id", None)

    @property
    def actor(self) -> store.Actor:
        """Who this request writes as: the member behind an ``--as-user`` key (via the UI),
        else the key itself (by its name, or its id when it has none), via the API."""
        who = self.who
        client = client_token(self.request.headers.get("user-agent"))
        if who.user is not None:
            return store.Actor(who.key_id, "user", who.user, "ui", client)
        return store.Actor(who.key_id, "api_key", who.name or who.key_id, "api", client)

    @property
    def client_request_id(self) -> str | None:
        """The caller's own ``X-Request-Id``, when it sent a sane one."""
        return getattr(self.request.state, "client_request_id", None)


def authorize(
    conn: Connection,
    sandbox: Sandbox,
    key: str | None,
    method: str,
    remember: Callable[[Principal], None] | None = None,
    state: MutableMapping[str, Any] | None = None,
) -> Principal:
    """The caller behind ``key``, rate-limited and holding the scope ``method`` needs.

    The request-context middleware calls this before it reads a write's body; the route
    dependencies call it for requests without a body. ``remember`` receives the caller as
    soon as the key is known (also when the answer is a 429 or a 403: the access log and the
    rate-limit fields name the key). ``state``: the request's state when it is a conditional
    read (:func:`.conditional.is_conditional`): it takes no token now, and is marked to be
    charged once its answer is known to be no ``304`` (:func:`charge_deferred`)."""
    if not key:
        raise ProblemError(
            401,
            "send an API key: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    who = principal_for(conn, key)
    if who is None:
        raise ProblemError(
            401, "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
        )
    if remember is not None:
        remember(who)
    if sandbox.limiter is not None and state is not None:
        state[DEFERRED] = True
    elif sandbox.limiter is not None:
        now = sandbox.settings.ticker()
        wait = sandbox.limiter.take(who.key_id, now)
        if wait:
            raise rate_limited(sandbox.limiter, who.key_id, wait, now)
    need = READ if method in ("GET", "HEAD") else WRITE
    if not who.can(need):
        raise ProblemError(403, f"this API key lacks the {need} scope")
    who = with_member(conn, who, store.iso(sandbox.now()))
    if who.status is not None and who.status != "active":
        raise ProblemError(
            403, f"this API key acts as {who.user}, who is not an active member ({who.status})"
        )
    return who


DEFERRED = "rate_deferred"  # request state: a conditional read not charged yet
# the reads that honour If-None-Match (conditional.py): the snapshot and the audit log
_CONDITIONAL_PATH = re.compile(r"^/v1/workspaces/[^/]+/(?:settings|audit)$")


def is_conditional(scope: Mapping[str, Any]) -> bool:
    """Is this a conditional read: ``GET`` of the snapshot or the audit log with an
    ``If-None-Match`` field? Such a read is charged by its answer (a ``304`` is free)."""
    return (
        scope.get("method") == "GET"
        and any(name == b"if-none-match" for name, _ in scope.get("headers", ()))
        and _CONDITIONAL_PATH.match(scope.get("path", "")) is not None
    )


def rate_limited(limiter: RateLimiter, key_id: str, wait: int, now: float) -> ProblemError:
    """The ``429`` of a request the bucket of ``key_id`` refused."""
    return ProblemError(
        429,
        f"rate limit exceeded; retry in {wait} s",
        headers={"Retry-After": str(wait), **limiter.headers(key_id, now)},
    )


def charge_deferred(sandbox: Sandbox, state: MutableMapping[str, Any], status: int) -> int:
    """Settle a conditional read let through without a token, now that its answer's
    ``status`` is known: a ``304`` costs nothing; any other answer is charged one token
    (:meth:`RateLimiter.charge`, lent when the bucket is empty). 0 when settled (or nothing to
    settle), else the ``Retry-After`` of the ``429`` to answer instead (the debt is full)."""
    who = state.get("principal")
    if not state.pop(DEFERRED, False) or status == 304 or sandbox.limiter is None or who is None:
        return 0
    return sandbox.limiter.charge(who.key_id, sandbox.settings.ticker())


def charge(request: Request) -> None:
    """A conditional read will be answered in full: charge it before the answer is built
    (a ``429`` when the bucket's debt is full)."""
    sandbox: Sandbox = request.app.state.sandbox
    state = request.scope.setdefault("state", {})
    wait = charge_deferred(sandbox, state, 200)
    if wait:
        assert sandbox.limiter is not None
        raise rate_limited(
            sandbox.limiter, state["principal"].key_id, wait, sandbox.settings.ticker()
        )


def check_route(request: Request, who: Principal) -> None:
    """403 unless the route's rule (``sandbox.access``) allows ``who``: the scope it needs, and
    for a member's key the permission its role needs. A route without a rule is refused."""
    route = request.scope.get("route")
    rule = access.rule_for(request.method, getattr(route, "path_format", ""))
    if rule is None:
        raise ProblemError(403, "this operation has no access rule")
    if rule.scope is not None and not who.can(rule.scope):
        raise ProblemError(403, f"this API key lacks the {rule.scope} scope")
    if rule.permission is not None and not who.holds(rule.permission):
        raise ProblemError(
            403,
            f"this API key acts as {who.user}, whose role '{who.role}' does not allow "
            f"{rule.permission}",
        )


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header (as FastAPI's HTTPBearer reads it)."""
    scheme, _, key = (authorization or "").partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def _authenticate(
    request: Request, creds: HTTPAuthorizationCredentials | None, slug: str | None
) -> Ctx:
    sandbox: Sandbox = request.app.state.sandbox
    who: Principal | None = getattr(request.state, "principal", None)  # set by the middleware
    conditional = is_conditional(request.scope)
    with transaction(sandbox.engine) as conn:
        if who is None:
            who = authorize(
                conn,
                sandbox,
                creds.credentials if creds else None,
                request.method,
                remember=lambda who: setattr(request.state, "principal", who),
                state=request.scope.setdefault("state", {}) if conditional else None,
            )
        check_route(request, who)
        ws = None
        if slug is not None:
            ws = reachable(conn, who, slug)
            if ws is None:
                raise ProblemError(404, "no such workspace")
    return Ctx(sandbox, request, who, ws, sandbox.now())


async def raw_body(request: Request) -> bytes:
    return await request.body()


Slug = Annotated[str, Path(description="The workspace's slug.", max_length=63)]
IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a retried write safe: the same key and body replay the first answer.",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
    ),
]


def reader(
    request: Request, ws: Slug, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Ctx:
    return _authenticate(request, creds, ws)


def writer(
    request: Request,
    ws: Slug,
    idempotency_key: IdemKey = None,
    body: bytes = Depends(raw_body),
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Ctx:
    ctx = _authenticate(request, creds, ws)
    ctx.body, ctx.idempotency_key = body, idempotency_key
    return ctx


def caller(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Ctx:
    return _authenticate(request, creds, None)


def agency_writer(
    request: Request,
    idempotency_key: IdemKey = None,
    body: bytes = Depends(raw_body),
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Ctx:
    ctx = _authenticate(request, creds, None)
    ctx.body, ctx.idempotency_key = body, idempotency_key
    return ctx


ReadCtx = Annotated[Ctx, Depends(reader)]
WriteCtx = Annotated[Ctx, Depends(writer)]


@dataclass
class Reply:
    """What a write produced: the answer, and the changes to audit."""

    status: int
    body: str | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    changes: Sequence[store.AuditedWrite] = ()
    workspace_id: int | None = None  # the audited workspace when ctx has none (creation)
    replay_body: bytes | None = None  # what an idempotent replay answers, if not ``body``


def run_write(ctx: Ctx, work: Callable[[Connection], Reply]) -> Response:
    """Run ``work`` in one write transaction with idempotency, audit and version bump."""
    key = ctx.idempotency_key
    digest = ""
    if key is not None:
        idempotency.check_key(key)
        url = ctx.request.url
        digest = idempotency.request_hash(ctx.request.method, url.path, url.query, ctx.body)
    cutoff = store.iso(ctx.now - timedelta(seconds=ctx.settings.idempotency_ttl))
    settings = ctx.settings
    try:
        with (
            transaction(ctx.sandbox.engine, write=True, lock_wait=settings.lock_wait) as conn,
            budget.write_budget(conn, settings.write_budget) as deadline,
        ):
            if ctx.ws is not None:
                lock_workspace(conn, ctx.ws.id)
            elif ctx.who.agency_id is not None:
                lock_agency(conn, ctx.who.agency_id)
            if key is not None:
                stored = idempotency.lookup(conn, ctx.who.key_id, key, digest, cutoff=cutoff)
                if stored is not None:
                    return _replay(stored)
                idempotency.reserve(conn, ctx.who.key_id, key, digest, ctx.now_iso)
            reply = work(conn)
            ws_id = ctx.ws.id if ctx.ws is not None else reply.workspace_id
            if reply.changes and ws_id is not None:
                store.record(
                    conn,
                    ws_id,
                    reply.changes,
                    actor=ctx.actor,
                    request_id=ctx.request_id,
                    now=ctx.now_iso,
                    client_request_id=ctx.client_request_id,
                )
                store.bump(conn, ws_id)
            budget.check_deadline(deadline)
            response = _response(reply)
            if key is not None:
                headers = [(k.lower(), v) for k, v in response.headers.items()]
                body = bytes(response.body) if reply.replay_body is None else reply.replay_body
                idempotency.complete(conn, ctx.who.key_id, key, reply.status, headers, body)
            if ctx.sandbox.purge_due():
                idempotency.purge(conn, cutoff)
            return response
    except IntegrityError:
        if key is None:
            raise
        # Another request with the same key (to another workspace) won the race: answer as
        # it did, or 422 when it was a different request.
        with transaction(ctx.sandbox.engine) as conn:
            stored = idempotency.lookup(conn, ctx.who.key_id, key, digest, cutoff=cutoff)
        if stored is None:
            raise
        return _replay(stored)


def _response(reply: Reply) -> Response:
    media = JSON if reply.body else None
    return Response(reply.body, status_code=reply.status, headers=reply.headers, media_type=media)


def _replay(stored: idempotency.Stored) -> Response:
    headers = {k: v for k, v in stored.headers if k != "content-length"}
    headers["Idempotent-Replayed"] = "true"
    return Response(stored.body, status_code=stored.status, headers=headers)


def if_match_ok(header: str | None, etag: str) -> bool:
    """Strong comparison of an If-Match header against the current ETag."""
    if header is None:
        return True
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag == f'"{etag}"':
            return True
    return False


def check_if_match(header: str | None, etag: str) -> None:
    if not if_match_ok(header, etag):
        raise ProblemError(
            412,
            "the item changed since it was read (If-Match does not match its ETag); read it again",
            headers={"ETag": f'"{etag}"'},
        )
