"""The outermost layer of every request: request id, workspace header, size cap, last resort.

- ``X-Request-Id`` on every response (the caller's if it sent a sane one, else a new one);
  the id is also ``request.state.request_id``, the ``instance`` of problems and the audit
  log's ``request_id``.
- ``Wscfg-Workspace: <slug>`` on every response below ``/v1/workspaces/<slug>``.
- Bodies larger than the configured cap are refused with 413 before they are read.
- An unexpected exception becomes a plain 500 problem: never a traceback in a response.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..model.base import SLUG_RE
from .problems import PROBLEM_JSON, problem_body

log = logging.getLogger("wscfg.sandbox")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_WS_PATH_RE = re.compile(r"^/v1/workspaces/([^/]+)")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode())]
        match = _WS_PATH_RE.match(scope.get("path", ""))
        if match:
            slug = unquote(match.group(1))
            if SLUG_RE.match(slug):
                extra.append((b"wscfg-workspace", slug.encode()))
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                ours = {k for k, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                message = {**message, "headers": headers + extra}
            await send(message)

        length = _content_length(scope)
        if length is not None and length > self.max_body_bytes:
            await _send_problem(
                send_wrapper,
                413,
                f"the body is larger than {self.max_body_bytes} bytes",
                request_id,
            )
            return
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unexpected error in request %s", request_id)
            if started:
                raise
            await _send_problem(send_wrapper, 500, "the server failed unexpectedly", request_id)


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID_RE.match(text):
                return text
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_problem(send: Any, status: int, detail: str, request_id: str) -> None:
    body = problem_body(status, detail, instance=request_id)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
