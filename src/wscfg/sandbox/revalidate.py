"""The light path of a conditional snapshot read: ``GET /v1/workspaces/{ws}/settings`` with
``If-None-Match``, answered ``304`` by the request-context middleware before routing.

A fleet's hourly drift revalidates every workspace's snapshot; nearly every answer is a ``304``.
Through the route it costs FastAPI's dependencies, two thread hops, five queries built by
SQLAlchemy's expression language and a scan of the workspace's items. Here it costs one
prepared query in one thread hop:

- the key (by its hash) and the workspace (by its slug) with its version, in one query;
- the key is checked as :func:`.context.authorize` and :func:`.context.check_route` check it
  for this route (unknown, revoked, past its last day, lacking the scope or the permission:
  not here), and must reach the workspace (:func:`.auth.reaches`);
- the ETag is the one known at the workspace's version (:class:`.validators.Validators`:
  every write bumps the version in its own transaction), else computed as the route does;
- the answer is the route's ``304`` (ETag, Cache-Control); the middleware adds the request id,
  the workspace, the rate-limit fields and the access-log line, and charges nothing, as for
  any ``304``.

Anything else goes the usual way and is answered as before: no key or an unknown one, a key
that acts as a member (its member's role is read per request), a workspace it does not reach,
a query string, a server with fault injection, an ETag that is not named. A caller found
valid here is handed on (as the body guard does for writes), so its key is looked up once.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import Scope

from . import access, store
from .auth import KEY_COLUMNS, READ, hash_key, principal_of, reaches, well_formed
from .conditional import none_match
from .context import DEFERRED, Sandbox, bearer_key
from .db import transaction

_PATH = re.compile(r"^/v1/workspaces/([^/]+)/settings$")
_SLUG_MAX = 63  # the route's path parameter is at most this long (else its 422)
_RULE = access.rule_for("GET", "/v1/workspaces/{ws}/settings")
_QUERY = (
    "SELECT "
    + ", ".join(f"k.{c}" for c in KEY_COLUMNS)
    + ", w.id, w.agency_id, w.version, w.uid FROM api_keys k"
    + " LEFT JOIN workspaces w ON w.slug = ? WHERE k.secret_hash = ?"
)


def candidate(scope: Scope) -> tuple[str, str, list[str]] | None:
    """(slug, API key, ``If-None-Match`` fields) of a request this path may answer."""
    if scope.get("method") != "GET" or scope.get("query_string"):
        return None
    match = _PATH.match(scope.get("path", ""))
    if match is None or len(match.group(1)) > _SLUG_MAX:
        return None
    fields: list[str] = []
    authorization = None
    for name, value in scope.get("headers", ()):
        if name == b"if-none-match":
            fields.append(value.decode("latin-1"))
        elif name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
    key = bearer_key(authorization)
    if not fields or key is None:
        return None
    return match.group(1), key, fields


def revalidate(
    sandbox: Sandbox, state: dict[str, Any], slug: str, key: str, fields: list[str]
) -> str | None:
    """The ETag to answer ``304`` with, or ``None`` to go the usual way (blocking: run it in
    a worker thread). A caller found valid is put in ``state`` as the route's would be."""
    if not well_formed(key) or _RULE is None:
        return None
    engine = sandbox.engine
    query = _QUERY if engine.dialect.paramstyle == "qmark" else _QUERY.replace("?", "%s")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(query, (slug, hash_key(key)))
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        raw.close()
    if row is None:
        return None
    who = principal_of(tuple(row[: len(KEY_COLUMNS)]))
    if who is None or who.user is not None or not who.can(READ):
        return None
    if _RULE.scope is not None and not who.can(_RULE.scope):
        return None
    ws_id, agency_id, version, uid = row[len(KEY_COLUMNS) :]
    if ws_id is None or not reaches(who, ws_id, agency_id):
        return None
    state["principal"] = who
    if sandbox.limiter is not None:
        state[DEFERRED] = True  # charged by its answer: nothing for a 304
    now = store.iso(sandbox.now())
    validators = sandbox.validators
    etag = validators.cached(ws_id, who.key_id, version, uid, now)
    if etag is None:
        with transaction(engine, one_view=True) as conn:
            limit = sandbox.settings.max_api_keys
            etag = validators.current(conn, ws_id, who.key_id, limit, now).etag
    return etag if none_match(fields, etag) else None
