"""What travels on the wire: answers, ETags, idempotency keys, counters, the held key.

Small and free of retry/redirect logic; :mod:`wscfg.api.client` builds on it.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from wscfg.errors import ProtocolError

from .problems import scrub


class Secret:
    """Holds the key; shows as ``<redacted>`` everywhere (repr, str, debuggers, showlocals)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


@dataclass
class ApiStats:
    """What one client did. ``requests`` counts every HTTP exchange (retries and redirect hops
    included), ``calls`` the logical requests, ``routes`` exchanges per route label such as
    ``"GET settings"`` or ``"PATCH members/{key}"``."""

    requests: Counter[str] = field(default_factory=Counter)  # by method
    retries: Counter[str] = field(default_factory=Counter)  # by method
    calls: Counter[str] = field(default_factory=Counter)  # by method
    routes: Counter[str] = field(default_factory=Counter)  # by route label
    bytes_received: int = 0

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_retries(self) -> int:
        return sum(self.retries.values())

    def reset(self) -> None:
        self.requests.clear()
        self.retries.clear()
        self.calls.clear()
        self.routes.clear()
        self.bytes_received = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "retries": dict(self.retries),
            "calls": dict(self.calls),
            "routes": dict(self.routes),
            "bytes_received": self.bytes_received,
            "total_requests": self.total_requests,
            "total_retries": self.total_retries,
        }


# Parsing a JSON answer costs up to ~20x its size in Python objects (`[{},{},…`): an answer is
# parsed only when it holds at most this many values (counted as `,`, `[` and `{` bytes, so
# strings can only raise the count). The largest sandbox workspace (200,000 blocked callers,
# 10,000 members) holds under 2 million.
MAX_JSON_VALUES = 4_000_000


@dataclass
class Response:
    """A fully read answer (body within its cap, workspace already checked)."""

    method: str
    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    attempts: int

    def json(self) -> Any:
        """The parsed body; :class:`ProtocolError` naming the request when it is not JSON."""
        ctype = self.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not self.body or self.body.isspace():
            raise ProtocolError(
                f"the server sent an empty body (status {self.status}) where JSON was expected",
                method=self.method,
                url=self.url,
            )
        if ctype and "json" not in ctype:
            raise ProtocolError(
                f"the server sent {scrub(ctype, limit=80)!r} where JSON was expected",
                method=self.method,
                url=self.url,
            )
        values = self.body.count(b",") + self.body.count(b"[") + self.body.count(b"{") + 1
        if values > MAX_JSON_VALUES:
            raise ProtocolError(
                f"the answer holds more than {MAX_JSON_VALUES:,} JSON values; it was not parsed "
                "(a bound on the memory a hostile server can make wscfg use)",
                method=self.method,
                url=self.url,
            )
        try:
            return json.loads(self.body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            raise ProtocolError(
                f"the server sent invalid JSON ({scrub(why, limit=120)})",
                method=self.method,
                url=self.url,
            ) from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise ProtocolError(
                f"the server sent a JSON {type(data).__name__} where an object was expected",
                method=self.method,
                url=self.url,
            )
        return data

    @property
    def etag(self) -> str | None:
        value = self.headers.get("etag")
        return unquote_etag(value) if value else None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def unquote_etag(value: str) -> str:
    """``"abc"`` → ``abc`` (the form list items and snapshots use); weak tags kept as they are."""
    v = value.strip()
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return v[1:-1]
    return v


def quote_etag(value: str) -> str:
    """``abc`` → ``"abc"`` for If-Match; already quoted or weak (``W/"…"``) tags unchanged."""
    v = value.strip()
    if v.startswith('"') or v.startswith('W/"'):
        return v
    return f'"{v}"'


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def with_etag(resp: Response) -> dict[str, Any]:
    """The answer's JSON object with ``etag`` set from the ETag header (when there is one)."""
    item = resp.json_object()
    tag = resp.etag
    if tag is not None:
        item["etag"] = tag
    return item
