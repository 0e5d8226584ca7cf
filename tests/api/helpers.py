"""Helpers for the API client tests: real servers on loopback, scripted or hostile.

No mocks: every behaviour test sends real HTTP over 127.0.0.1 to an ASGI app run by uvicorn
in a thread, either the sandbox or a small scripted app whose answers a test chooses.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from wscfg.api.retry import RetryPolicy

TOKEN = "wsk_test_S3CR3T-token-value-0123456789abcdef"


@dataclass
class Recorded:
    method: str
    path: str  # raw (still percent-encoded), without the query
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: AsyncIterator[bytes] | None = None  # streamed without Content-Length
    drop: bool = False  # start the answer, then drop the connection (client sees a reset)
    delay: float = 0.0


Handler = Callable[[Recorded], "Reply | Awaitable[Reply]"]


class Scripted:
    """An ASGI app that records every request and answers with ``handler(request)``."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.url = ""
        self.reset(handler or (lambda r: Reply(404)))

    def reset(self, handler: Handler) -> None:
        self.handler: Handler = handler
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            msg = await receive()
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        rec = Recorded(
            scope["method"],
            scope["raw_path"].decode().split("?", 1)[0],
            scope["query_string"].decode(),
            headers,
            b"".join(chunks),
        )
        self.requests.append(rec)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.handler(rec)
            if inspect.isawaitable(reply):
                reply = await reply
            assert isinstance(reply, Reply)
            if reply.delay:
                await asyncio.sleep(reply.delay)
        finally:
            self.in_flight -= 1
        await _send_reply(reply, send)


async def _send_reply(reply: Reply, send: Any) -> None:
    body = reply.body
    hdrs = {k.lower(): v for k, v in reply.headers.items()}
    if reply.json is not None:
        body = json.dumps(reply.json).encode()
        hdrs.setdefault("content-type", "application/json")
    if reply.drop:
        hdrs["content-length"] = str(len(body) + 1000)
        await send({"type": "http.response.start", "status": reply.status, "headers": _h(hdrs)})
        await send({"type": "http.response.body", "body": body[:5], "more_body": True})
        raise ConnectionAbortedError("scripted drop")  # uvicorn closes the connection
    if reply.chunks is not None:
        await send({"type": "http.response.start", "status": reply.status, "headers": _h(hdrs)})
        async for chunk in reply.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    hdrs.setdefault("content-length", str(len(body)))
    await send({"type": "http.response.start", "status": reply.status, "headers": _h(hdrs)})
    await send({"type": "http.response.body", "body": body})


def _h(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in headers.items()]


class Loopback:
    """Run an ASGI app with uvicorn on a free 127.0.0.1 port in a daemon thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="critical", lifespan="off", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> Loopback:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("loopback server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class Sleeps:
    """An injectable sleep that records what it was asked to wait and barely waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


def fast_policy(sleeps: Sleeps, **kw: Any) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, **kw)


def ws_json(slug: str, data: Any, status: int = 200, **headers: str) -> Reply:
    """A well-behaved workspace-scoped JSON answer."""
    h = {"wscfg-workspace": slug, **headers}
    return Reply(status, json=data, headers=h)
