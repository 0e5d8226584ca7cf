"""Turn a non-2xx answer into the matching :class:`~wscfg.errors.HTTPStatusError`.

The API speaks RFC 9457 ``application/problem+json``; proxies and hostile servers may not, so
every other body is tolerated: FastAPI's ``{"detail": ...}``, plain text (first line only),
HTML error pages (ignored), garbage (ignored). Everything the server says is *scrubbed* before
it reaches a message: the caller's secrets are redacted, control characters (terminal escape
sequences) removed and the length bounded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from wscfg.errors import STATUS_ERRORS, HTTPStatusError
from wscfg.escape import UNSAFE_IN_PROSE

MAX_TEXT = 500  # characters of server-provided text kept in a message
MAX_FIELD_ERRORS = 50

_CONTROL = UNSAFE_IN_PROSE  # control characters, separators and bidi controls, not LF


def scrub(text: object, secrets: Iterable[str] = (), *, limit: int = MAX_TEXT) -> str:
    """Make server-provided text safe to show: secrets redacted, no control chars, bounded."""
    s = text if isinstance(text, str) else str(text)
    s = s[: limit * 4]
    for secret in secrets:
        if secret:
            s = s.replace(secret, "[redacted]")
    s = _CONTROL.sub("", s.replace("\r\n", "\n").replace("\t", " "))
    if len(s) > limit:
        s = s[:limit] + "…"
    return s


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def problem_error(
    status: int,
    content_type: str,
    body: bytes,
    *,
    method: str,
    url: str,
    request_id: str = "",
    secrets: Iterable[str] = (),
    message_hint: str = "",
) -> HTTPStatusError:
    """The :class:`HTTPStatusError` subclass for ``status``, filled from whatever the body says."""
    secrets = tuple(secrets)
    title, detail, errors = parse_problem(content_type, body)
    clean: Callable[[object], str] = lambda t: scrub(t, secrets)  # noqa: E731
    title = clean(title) if title else reason(status)
    detail = clean(detail) if detail else ""
    if message_hint:
        detail = f"{detail} ({message_hint})" if detail else message_hint
    cleaned_errors = [
        {"loc": [clean(p) if isinstance(p, str) else p for p in e["loc"]], "msg": clean(e["msg"])}
        for e in errors[:MAX_FIELD_ERRORS]
    ]
    cls = STATUS_ERRORS.get(status, HTTPStatusError)
    exc = cls(status, title, detail, errors=cleaned_errors, method=method, url=url)
    exc.request_id = clean(request_id) if request_id else ""
    return exc


def parse_problem(content_type: str, body: bytes) -> tuple[str, str, list[dict[str, Any]]]:
    """``(title, detail, errors)`` from an error body; empty values when it says nothing useful."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return "", "", []
    if "json" in ctype or body.lstrip()[:1] in (b"{", b"["):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            return _from_json(data)
        return "", "", []
    if ctype.startswith("text/plain"):
        try:
            text = body.decode("utf-8", errors="replace")
        except Exception:  # pragma: no cover - decode with errors="replace" does not raise
            return "", "", []
        first = text.strip().splitlines()[0] if text.strip() else ""
        return "", first, []
    return "", "", []  # HTML error pages and the like: the status says enough


def _from_json(data: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
    title = data.get("title") if isinstance(data.get("title"), str) else ""
    raw_detail = data.get("detail")
    detail = raw_detail if isinstance(raw_detail, str) else ""
    errors = _field_errors(data.get("errors"))
    if not errors and isinstance(raw_detail, list):  # FastAPI's own validation error shape
        errors = _field_errors(raw_detail)
    if not detail and isinstance(data.get("message"), str):
        detail = data["message"]
    return title or "", detail, errors


def _field_errors(raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        return []
    out: list[dict[str, Any]] = []
    for item in raw[: MAX_FIELD_ERRORS * 2]:
        if not isinstance(item, dict):
            continue
        loc = item.get("loc")
        if not isinstance(loc, list):
            loc = [loc] if isinstance(loc, str | int) else []
        loc = [p for p in loc if isinstance(p, str | int) and not isinstance(p, bool)]
        msg = item.get("msg", item.get("message", ""))
        out.append({"loc": loc, "msg": msg if isinstance(msg, str) else ""})
    return out
