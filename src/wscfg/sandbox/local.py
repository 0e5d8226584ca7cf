"""The embedded sandbox's in-process read path: the workspace list and the snapshot, read
straight from the SQLite file with the standard library's ``sqlite3``.

The HTTP path to the same file costs an HTTP framework, an ORM and an HTTP client at start-up
(over a second on a small machine) before a byte is read, for what are two indexed range scans.
Reads here answer with exactly the bytes the API would: the stored item bodies with their
ETags (:mod:`.records`, shared with :mod:`.store`), expired invitations rendered the same way,
after the same key check (unknown or revoked keys, scope, which workspaces an agency reaches).

Only the plain case is handled: whenever anything is unusual — no database yet, another schema
version, an unknown key, a workspace the key does not reach — a method returns ``None`` and
the caller takes the full HTTP path, which gives the same answer or the same error. Writes
always take that path, so the platform rules, idempotency and the audit log live in one place.
See docs/sandbox.md.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..model.kinds import SNAPSHOT_KINDS
from .records import (
    KEY_PREFIX,
    READ,
    SCHEMA_VERSION,
    SINGLETON,
    audit_entry,
    audit_filter_problem,
    default_body,
    effective,
    hash_key,
    iso,
)

Scoped = tuple[sqlite3.Connection, str, int]  # a read transaction, and what its key reaches


class NotReachable(Exception):
    """The key is fine but reaches no workspace of that slug (the API answers 404)."""


class LocalReader:
    """Reads of one SQLite sandbox file under one API key (the embedded agency key)."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self._key = key

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection | None]:
        """One read transaction (a consistent view, as the server's), or ``None``."""
        if not self.path.is_file():
            yield None
            return
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("BEGIN")
            try:
                row = conn.execute("SELECT version FROM wscfg_schema").fetchone()
            except sqlite3.DatabaseError:
                row = None
            yield conn if row is not None and row[0] == SCHEMA_VERSION else None
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def _scoped(self) -> Iterator[Scoped | None]:
        """A read transaction and what the key reaches (``column = value`` of ``workspaces``),
        or ``None`` where the server should answer."""
        with self._snapshot() as conn:
            scope = None if conn is None else self._scope(conn)
            yield None if conn is None or scope is None else (conn, *scope)

    def _scope(self, conn: sqlite3.Connection) -> tuple[str, int] | None:
        """``("agency_id" | "id", value)``: the workspaces the key reaches, if it may read."""
        if not self._key.startswith(KEY_PREFIX) or len(self._key) > 200:
            return None
        row = conn.execute(
            "SELECT workspace_id, agency_id, scopes, revoked_at, expires, as_user FROM api_keys "
            "WHERE secret_hash = ?",
            (hash_key(self._key),),
        ).fetchone()
        if row is None or row[3] is not None or READ not in row[2].split():
            return None
        if row[4] is not None and row[4] < datetime.now(UTC).date().isoformat():
            return None  # past its last day: the server refuses it (auth.principal_for)
        if row[0] is not None and row[1] is not None:
            return None  # reaches two scopes: let the server decide
        if row[5] is not None:
            return None  # acts as a member: the member's role decides (sandbox.access)
        if row[0] is not None:
            return "id", int(row[0])
        if row[1] is not None:
            return "agency_id", int(row[1])
        return None

    def key_id(self) -> str | None:
        """The id of the key this reader reads with (what ``GET /v1/key`` says), or ``None``
        where the server should answer."""
        with self._snapshot() as conn:
            if conn is None:
                return None
            row = conn.execute(
                "SELECT id FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL",
                (hash_key(self._key),),
            ).fetchone()
        return None if row is None else str(row[0])

    def workspaces(self) -> list[dict[str, Any]] | None:
        """Every workspace the key reaches (their profiles with ETags), by slug."""
        with self._scoped() as scoped:
            if scoped is None:
                return None
            conn, column, value = scoped
            rows = conn.execute(
                "SELECT i.body FROM workspaces w JOIN items i ON i.workspace_id = w.id "
                "AND i.kind = 'workspace' AND i.ident = ? "
                f"WHERE w.{column} = ? ORDER BY w.slug",
                (SINGLETON, value),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def snapshot_text(self, slug: str) -> str | None:
        """``GET /v1/workspaces/{slug}/settings`` as the server writes it; raises
        :class:`NotReachable` where the server answers 404."""
        with self._scoped() as scoped:
            if scoped is None:
                return None
            conn = scoped[0]
            ws_id = _reached(scoped, slug)
            if ws_id is None:
                raise NotReachable(slug)
            now = iso(datetime.now(UTC))
            parts = []
            for kind in SNAPSHOT_KINDS:
                bodies = _bodies(conn, ws_id, kind.name, now)
                if kind.singleton:
                    value_text = bodies[0] if bodies else (default_body(kind.name) or "{}")
                else:
                    value_text = "[" + ",".join(bodies) + "]"
                parts.append(json.dumps(kind.name) + ":" + value_text)
            parts.append('"api_key_use":' + json.dumps(self._key_use(conn, ws_id)))
            uid = conn.execute("SELECT uid FROM workspaces WHERE id = ?", (ws_id,)).fetchone()
            parts.append('"workspace_id":' + json.dumps(uid[0] if uid else None))
        return "{" + ",".join(parts) + "}"

    def _key_use(self, conn: sqlite3.Connection, ws_id: int) -> dict[str, Any]:
        """As the server's ``api_key_use`` (routes/singletons.py), under the default limit."""
        rows = conn.execute(
            "SELECT secret_hash, name, managed FROM api_keys "
            "WHERE workspace_id = ? AND revoked_at IS NULL",
            (ws_id,),
        ).fetchall()
        mine = hash_key(self._key)
        caller = next((r[1] for r in rows if r[0] == mine and r[2]), None)
        return {"caller": caller, "unmanaged": sum(1 for r in rows if not r[2]), "limit": 10}

    def audit(
        self, slug: str, kinds: Sequence[str], keys: Sequence[str] | None
    ) -> list[dict[str, Any]] | None:
        """``GET /v1/workspaces/{slug}/audit?kind=…&key=…`` (every page), newest first, as
        the server answers it; ``None`` where the server should answer."""
        if audit_filter_problem(kinds, keys or ()) is not None:
            return None  # the server's 422
        with self._scoped() as scoped:
            ws_id = None if scoped is None else _reached(scoped, slug)
            if scoped is None or ws_id is None:
                return None
            conn = scoped[0]
            sql = "SELECT * FROM audit WHERE workspace_id = ?"
            args: list[Any] = [ws_id]
            for name, values in (("kind", kinds), ("ident", keys or ())):
                if values:  # as the server: no value, no filter
                    sql += f" AND {name} IN ({','.join('?' * len(values))})"
                    args += list(values)
            cur = conn.execute(sql + " ORDER BY id DESC", args)
            names = [d[0] for d in cur.description]
            return [audit_entry(dict(zip(names, r, strict=True))) for r in cur.fetchall()]

    def snapshot(self, slug: str) -> dict[str, Any] | None:
        text = self.snapshot_text(slug)
        if text is None:
            return None
        data: dict[str, Any] = json.loads(text)
        return data


def _reached(scoped: Scoped, slug: str) -> int | None:
    """The id of workspace ``slug`` when the key reaches it."""
    conn, column, value = scoped
    row = conn.execute(
        f"SELECT id FROM workspaces WHERE slug = ? AND {column} = ?", (slug, value)
    ).fetchone()
    return None if row is None else int(row[0])


def _bodies(conn: sqlite3.Connection, ws_id: int, kind: str, now: str) -> list[str]:
    """Item bodies of one kind in identity order, as :func:`.store.bodies` reads them."""
    if kind == "members":
        rows = conn.execute(
            "SELECT ident, body, etag, ref, expires_at FROM items "
            "WHERE workspace_id = ? AND kind = ? ORDER BY ident",
            (ws_id, kind),
        ).fetchall()
        return [
            effective(r[0], r[1], r[2], r[3], r[4], now).body
            if r[4] is not None and r[4] <= now
            else r[1]
            for r in rows
        ]
    rows = conn.execute(
        "SELECT body FROM items WHERE workspace_id = ? AND kind = ? ORDER BY ident",
        (ws_id, kind),
    ).fetchall()
    return [r[0] for r in rows]
