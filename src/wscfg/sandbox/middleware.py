"""The outermost layer of every request: request id, workspace header, body guard, last resort.

- ``X-Request-Id`` on every response: always the server's own id (32 hex digits, unique), also
  ``request.state.request_id``, the ``instance`` of problems and the audit log's
  ``request_id``. A caller's own ``X-Request-Id`` (1–64 of ``A-Za-z0-9._:-``) is kept apart:
  echoed as ``X-Client-Request-Id`` and stored as the audit entry's ``client_request_id``.
- ``Wscfg-Workspace: <slug>`` on every response below ``/v1/workspaces/<slug>``.
- A request below ``/v1`` that carries a body (any framing: ``Content-Length`` or chunked) is
  authenticated *before* a byte of its body is read (401/403/429 otherwise); its body is then
  read here, counting bytes as they stream in, and refused with 413 past the cap; then
  :func:`wscfg.sandbox.limits.inspect_body` bounds its shape (422) before any parsing by the
  route.
- A conditional snapshot read whose ``If-None-Match`` names the current ETag is answered
  ``304`` here, before routing (:mod:`.revalidate`), unless ``light`` is off (fault injection).
- A conditional read (:func:`.context.is_conditional`) is charged by the rate limiter once its
  answer is known: a ``304`` costs nothing; an answer its route did not charge (an error) is
  charged here, and refused with ``429`` instead when the bucket's debt is full.
- Lock contention and exhausted write budgets anywhere become 503 with ``Retry-After``; any
  other unexpected exception becomes a plain 500 problem: never a traceback in a response.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..model.base import SLUG_RE
from . import budget, revalidate
from .conditional import not_modified
from .context import authorize, bearer_key, charge_deferred, is_conditional, rate_limited
from .db import transaction
from .limits import inspect_body
from .problems import PROBLEM_JSON, ProblemError, problem_body

log = logging.getLogger("wscfg.sandbox")

_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_WS_PATH_RE = re.compile(r"^/v1/workspaces/([^/]+)")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, sandbox: Any, light: bool = True) -> None:
        self.app = app
        self.sandbox = sandbox
        self.light = light  # answer a conditional snapshot read's 304 here (revalidate.py)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode())]
        client_id = _client_request_id(scope)
        if client_id is not None:
            state["client_request_id"] = client_id
            extra.append((b"x-client-request-id", client_id.encode()))
        path = scope.get("path", "")
        match = _WS_PATH_RE.match(path)
        if match:
            slug = unquote(match.group(1))
            if SLUG_RE.match(slug):
                extra.append((b"wscfg-workspace", slug.encode()))
        started = False
        status = 0
        began = time.monotonic()
        sandbox = self.sandbox

        refused: list[Message] = []  # a conditional read's full answer, refused: the 429

        async def send_wrapper(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                wait = charge_deferred(sandbox, state, message["status"])
                if wait:  # not charged by its route (an error): the debt is full, a 429
                    now = sandbox.settings.ticker()
                    problem = rate_limited(sandbox.limiter, state["principal"].key_id, wait, now)
                    message, body = _problem_messages(problem, request_id)
                    refused.append(body)
                started = True
                status = message["status"]
                ours = {k for k, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                headers += extra
                named = {k.lower() for k, _ in headers}
                headers += [f for f in _rate_fields(sandbox, state) if f[0] not in named]
                message = {**message, "headers": headers}
            elif refused:
                if not message.get("more_body", False):
                    await send(refused.pop())  # the refused answer's body is never sent
                return
            await send(message)

        try:
            if "\x00" in path:  # names nothing (text refuses control characters), and
                raise ProblemError(404, "no such resource")  # PostgreSQL cannot compare it
            if _has_body(scope) and path.startswith("/v1/"):
                replay = await self._guard_body(scope, receive)
                if replay is None:
                    return  # the client went away mid-body
                receive = replay
            elif self.light and (found := revalidate.candidate(scope)) is not None:
                etag = await run_in_threadpool(revalidate.revalidate, sandbox, state, *found)
                if etag is not None:
                    await not_modified(etag)(scope, receive, send_wrapper)
                    return
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            problem = exc if isinstance(exc, ProblemError) else budget.contention(exc)
            if started:
                raise
            if problem is None:
                log.exception("unexpected error in request %s", request_id)
                problem = ProblemError(500, "the server failed unexpectedly")
            await _send_problem(send_wrapper, problem, request_id)
        finally:
            writer = sandbox.settings.access_log
            if writer is not None:
                writer(access_line(scope, status, state, request_id, time.monotonic() - began))

    async def _guard_body(self, scope: Scope, receive: Receive) -> Receive | None:
        """Authenticate, then read the body under the cap and check its bounds; a receive
        that replays it (``None`` when the client disconnected)."""
        sandbox = self.sandbox
        key = _bearer(scope)
        method = scope.get("method", "POST")

        def authenticate() -> Any:
            with transaction(sandbox.engine) as conn:
                return authorize(
                    conn,
                    sandbox,
                    key,
                    method,
                    lambda who: scope["state"].update(principal=who),
                    scope["state"] if is_conditional(scope) else None,
                )

        scope["state"]["principal"] = await run_in_threadpool(authenticate)
        cap = sandbox.settings.max_body_bytes
        length = _content_length(scope)
        if length is not None and length > cap:
            raise _too_large(cap)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > cap:
                raise _too_large(cap)
            if not message.get("more_body", False):
                break
        await run_in_threadpool(inspect_body, body, scope.get("path", ""), sandbox.settings.bounds)
        pending = True

        async def replay() -> Message:
            nonlocal pending
            if pending:
                pending = False
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


def _rate_fields(sandbox: Any, state: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """``RateLimit-Policy`` and ``RateLimit`` for the caller's key; none for a request with
    no known key."""
    limiter = sandbox.limiter
    who = state.get("principal")
    if limiter is None or who is None:
        return []
    return _encode(limiter.headers(who.key_id, sandbox.settings.ticker()))


def access_line(
    scope: Scope, status: int, state: Mapping[str, Any], request_id: str, seconds: float
) -> str:
    """One access-log line: ``METHOD PATH STATUS key=<key id> rid=<request id> <N>ms``.

    The path is the one sent, percent-encoded (no query: its values could carry anything), so
    a line holds no secret, no control character and no space inside a field."""
    method = str(scope.get("method", "-"))
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
    path = bytes(raw).split(b"?", 1)[0].decode("ascii", "replace")
    path = _UNSAFE_RE.sub(lambda m: f"%{ord(m.group()):02X}", path)[:512] or "/"
    who = state.get("principal")
    key = getattr(who, "key_id", None) or "-"
    return f"{method} {path} {status or '-'} key={key} rid={request_id} {round(seconds * 1000)}ms"


_UNSAFE_RE = re.compile(r"[^\x21-\x7e]")


def _too_large(cap: int) -> ProblemError:
    return ProblemError(413, f"the body is larger than {cap} bytes")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


def _has_body(scope: Scope) -> bool:
    if _header(scope, b"transfer-encoding") is not None:
        return True
    length = _header(scope, b"content-length")
    return length is not None and length.strip() not in (b"", b"0")


def _bearer(scope: Scope) -> str | None:
    raw = _header(scope, b"authorization")
    return bearer_key(raw.decode("latin-1")) if raw is not None else None


def _client_request_id(scope: Scope) -> str | None:
    raw = _header(scope, b"x-request-id")
    if raw is None:
        return None
    text = raw.decode("latin-1")
    return text if _CLIENT_ID_RE.match(text) else None


def _content_length(scope: Scope) -> int | None:
    raw = _header(scope, b"content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


async def _send_problem(send: Any, problem: ProblemError, request_id: str) -> None:
    for message in _problem_messages(problem, request_id):
        await send(message)


def _problem_messages(problem: ProblemError, request_id: str) -> tuple[Message, Message]:
    """The ASGI start and body messages of ``problem``'s answer."""
    body = problem_body(problem.status, problem.detail, instance=request_id, errors=problem.errors)
    headers: Sequence[tuple[bytes, bytes]] = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *_encode(problem.headers),
    ]
    return (
        {"type": "http.response.start", "status": problem.status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


def _encode(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
