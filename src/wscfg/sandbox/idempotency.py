"""Idempotency keys: the same key with the same request replays the first answer.

The record is inserted at the start of the write's own transaction, before any work, so two
identical requests racing each other cannot both execute: the second waits for the first
(the write lock on SQLite, the primary key of the record on PostgreSQL) and then replays its
answer. A request that fails (4xx) rolls back together with its record, so retrying it runs
it again. Records are scoped per API key and forgotten after the configured time (24 h).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from .db import idempotency
from .problems import ProblemError

KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAY_HEADERS = ("content-type", "etag", "location")
PENDING = 0


@dataclass(frozen=True)
class Stored:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def check_key(key: str) -> None:
    if not KEY_RE.match(key):
        raise ProblemError(
            422, "Idempotency-Key must be 1-255 visible ASCII characters (e.g. a UUID)"
        )


def request_hash(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests "the same" for a replay (kept in the ``fingerprint`` column)."""
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode()):
        h.update(part + b"\0")
    h.update(body)
    return h.hexdigest()


def lookup(conn: Connection, key_id: str, key: str, digest: str, *, cutoff: str) -> Stored | None:
    """The stored answer for ``key`` if the same request was made; ``None`` if new.
    A record older than ``cutoff`` is forgotten."""
    row = conn.execute(
        select(
            idempotency.c.fingerprint,
            idempotency.c.created_at,
            idempotency.c.status,
            idempotency.c.headers,
            idempotency.c.body,
        ).where(idempotency.c.api_key_id == key_id, idempotency.c.key == key)
    ).first()
    if row is None:
        return None
    if row.created_at < cutoff:
        conn.execute(
            delete(idempotency).where(idempotency.c.api_key_id == key_id, idempotency.c.key == key)
        )
        return None
    if row.fingerprint != digest:
        raise ProblemError(
            422,
            "this Idempotency-Key was already used with a different request; "
            "use a new key for a new request",
        )
    if row.status == PENDING:  # only visible if a crashed writer left it behind
        raise ProblemError(409, "a request with this Idempotency-Key is still in progress")
    headers = [(str(k), str(v)) for k, v in json.loads(row.headers)]
    return Stored(int(row.status), headers, bytes(row.body))


def reserve(conn: Connection, key_id: str, key: str, digest: str, now: str) -> None:
    conn.execute(
        insert(idempotency).values(
            api_key_id=key_id,
            key=key,
            fingerprint=digest,
            created_at=now,
            status=PENDING,
            headers="[]",
            body=b"",
        )
    )


def complete(
    conn: Connection,
    key_id: str,
    key: str,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    kept = [
        (k, v) for k, v in headers if k.lower() in REPLAY_HEADERS or k.lower() == "wscfg-workspace"
    ]
    conn.execute(
        update(idempotency)
        .where(idempotency.c.api_key_id == key_id, idempotency.c.key == key)
        .values(status=status, headers=json.dumps(kept), body=body)
    )


def purge(conn: Connection, cutoff: str) -> None:
    conn.execute(delete(idempotency).where(idempotency.c.created_at < cutoff))
