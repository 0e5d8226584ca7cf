"""Conditional reads (RFC 9110 §13.1.2): a strong ETag over a whole answer, and
``If-None-Match`` answered ``304 Not Modified``.

The snapshot (``GET …/settings``) and the audit log (``GET …/audit``) carry
``ETag: "<32 hex>"``, the SHA-256 of the exact body, so equal bytes mean an equal tag and any
change (an item, the calling key's ``api_key_use``, a new audit entry) a new one. A request
whose ``If-None-Match`` names that tag is answered ``304`` with the ETag and no body:

- comparison is weak, as RFC 9110 asks for ``If-None-Match`` (``W/"x"`` matches ``"x"``);
- ``*`` matches (the answer exists: a missing workspace is a 404 before this);
- the field is a list (``"a", W/"b"``), and several fields are one list;
- a malformed field is ignored (never a ``304`` on a field we cannot read): the full answer.

A conditional read takes no token of the rate limiter before its answer is known
(:func:`.context.is_conditional`): a ``304`` is not counted and never refused with ``429``, as
GitHub's API does not count it; an answer in full is charged before it is built
(:func:`.context.charge`), by a token lent when the bucket is empty.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

from fastapi import Header
from starlette.requests import Request
from starlette.responses import Response

from .context import charge

JSON = "application/json"
# A conditional read is for this caller only (the answer depends on its key) and is always
# revalidated: a cache may keep it but must ask with If-None-Match before using it.
CACHE_CONTROL = "private, no-cache"

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="Answer 304 (no body, not counted by the rate limit and never refused "
        'with 429) when the answer\'s ETag is one of these: "<etag>", a list, or *. Any '
        "other answer is counted once known (a token lent at an empty bucket).",
    ),
]
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not Modified: the answer still has the ETag given in If-None-Match "
        "(no body; not counted by the rate limit)",
        "headers": {"ETag": {"description": "The answer's ETag.", "schema": {"type": "string"}}},
    }
}

# one entity-tag (RFC 9110 §8.8.3) and what may follow it in a list
_ENTITY_TAG = re.compile(r'(?:W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)')


def body_etag(body: bytes) -> str:
    """The strong ETag of ``body``, quoted."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def none_match(fields: list[str], etag: str) -> bool:
    """Does ``If-None-Match`` (its field values, in order) match the quoted ``etag``?

    Weak comparison; ``*`` matches; an unreadable field makes the whole condition ``False``
    (the server then answers in full, which is always safe)."""
    value = ",".join(fields)
    if value.strip(" \t") == "*":
        return True
    wanted = etag[1:-1]
    found = False
    pos, end = 0, len(value)
    while pos < end:
        if value[pos] in " \t,":  # optional whitespace and empty list elements
            pos += 1
            continue
        match = _ENTITY_TAG.match(value, pos)
        if match is None:
            return False
        found = found or match.group(1) == wanted
        pos = match.end()
    return found


def conditional(request: Request, body: str) -> Response:
    """The JSON ``body`` with its ETag, or ``304`` when ``If-None-Match`` names it."""
    raw = body.encode()
    etag = body_etag(raw)
    if unchanged(request, etag):
        return not_modified(etag)
    charge(request)
    return tagged(raw, etag)


def unchanged(request: Request, etag: str) -> bool:
    """Does the request's ``If-None-Match`` name ``etag``?"""
    fields = request.headers.getlist("if-none-match")
    return bool(fields) and none_match(fields, etag)


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})


def tagged(body: bytes, etag: str) -> Response:
    return Response(body, media_type=JSON, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
