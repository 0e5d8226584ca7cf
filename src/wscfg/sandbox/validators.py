"""The snapshot's validator: its strong ETag, computed without building it, and kept per
workspace and calling key while the workspace's revision (``workspaces.version``, bumped by a
trigger on every write to its items or keys: db.install_triggers) stays the same.

:func:`..routes.singletons.snapshot` (the route) and :mod:`.revalidate` (a conditional read
answered before routing) both read it through :class:`Validators`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select


def snapshot_validator(
    conn: Connection, ws_id: int, now: str, rest: str
) -> tuple[str, str | None, str | None]:
    """The snapshot's strong ETag without building the snapshot: a digest of what its bytes
    are made of, read in one indexed scan; and the instants between which it holds unless
    something is written: (etag, the latest invitation expiry already past at ``now``, the
    earliest one still ahead).

    The snapshot is a function of: each stored item of its kinds (its body, and the body is
    a function of its ETag: the ETag is the SHA-256 of the canonical text, and the stored body
    is that text with the ETag spliced in, written together by every write); whether a
    pending invitation is past its expiry (read as ``expired``); the default body of a
    singleton not stored (fixed for a version of the code); and ``rest`` (``api_key_use``,
    the workspace's id). So equal inputs mean equal bytes, and any change of the bytes
    changes an input: a strong validator (RFC 9110 §8.8.1). The 200 answer carries the same
    tag, so a ``304`` costs one query instead of building the body."""
    from .. import __version__
    from ..model import SNAPSHOT_KINDS
    from .db import items
    from .records import SCHEMA_VERSION
    from .store import raw_rows

    names = [k.name for k in SNAPSHOT_KINDS]
    rows = raw_rows(
        conn,
        select(items.c.kind, items.c.ident, items.c.etag, items.c.expires_at)
        .where(items.c.workspace_id == ws_id, items.c.kind.in_(names))
        .order_by(items.c.kind, items.c.ident),
    )
    digest = hashlib.sha256(f"{__version__}\0{SCHEMA_VERSION}\0{','.join(names)}\0".encode())
    since: str | None = None
    until: str | None = None
    for kind, ident, etag, expires in rows:
        past = expires is not None and expires <= now
        if past:
            since = expires if since is None else max(since, expires)
        elif expires is not None:
            until = expires if until is None else min(until, expires)
        digest.update(f"{kind}\0{ident}\0{etag}\0{int(past)}\n".encode())
    digest.update(rest.encode())
    return '"' + digest.hexdigest()[:32] + '"', since, until


def snapshot_rest(conn: Connection, ws_id: int, key_id: str, limit: int, uid: str | None) -> str:
    """The snapshot's last members: ``api_key_use`` (for the calling key) and its id."""
    use = key_use(conn, ws_id, key_id, limit)
    return '"api_key_use":' + json.dumps(use) + ',"workspace_id":' + json.dumps(uid)


def key_use(conn: Connection, ws_id: int, caller_id: str, limit: int) -> dict[str, Any]:
    """The snapshot's ``api_key_use``: the calling key's name when it is a managed key of this
    workspace, the count of active unmanaged keys, and the limit."""
    from .db import api_keys

    rows = conn.execute(
        select(api_keys.c.id, api_keys.c.name, api_keys.c.managed).where(
            api_keys.c.workspace_id == ws_id, api_keys.c.revoked_at.is_(None)
        )
    ).all()
    caller = next((r.name for r in rows if r.id == caller_id and r.managed), None)
    return {
        "caller": caller,
        "unmanaged": sum(1 for r in rows if not r.managed),
        "limit": limit,
    }


@dataclass(frozen=True)
class Validator:
    """A snapshot's ETag as computed at ``version`` (``workspaces.version``, which every write to
    the workspace's items or keys bumps: db.install_triggers). It still holds while the
    version and the workspace's id are the same and no invitation expiry falls between the
    instant it was computed at and now: ``since`` (the latest expiry past then) <= now <
    ``until`` (the earliest ahead)."""

    version: int
    uid: str | None
    etag: str
    since: str | None
    until: str | None

    def holds(self, version: int, uid: str | None, now: str) -> bool:
        return (
            version == self.version
            and uid == self.uid
            and (self.since is None or self.since <= now)
            and (self.until is None or now < self.until)
        )


class Validators:
    """The snapshot validators of one server, by (workspace, calling key): a snapshot is read
    in full or revalidated without re-reading its items while nothing of it was written.

    Correct across processes (another server, ``wscfg sandbox`` commands, raw SQL on the same
    database): the version is read from the database on every request, in the same
    transaction as the answer, and every write bumps it (a trigger)."""

    MAX = 50_000  # entries; past it the cache starts again (one entry per workspace and key)

    def __init__(self) -> None:
        self._known: dict[tuple[int, str], Validator] = {}

    def cached(
        self, ws_id: int, key_id: str, version: int, uid: str | None, now: str
    ) -> str | None:
        """The ETag known for this version, or ``None``."""
        found = self._holding(ws_id, key_id, version, uid, now)
        return found.etag if found is not None else None

    def _holding(
        self, ws_id: int, key_id: str, version: int, uid: str | None, now: str
    ) -> Validator | None:
        found = self._known.get((ws_id, key_id))
        return found if found is not None and found.holds(version, uid, now) else None

    def current(self, conn: Connection, ws_id: int, key_id: str, limit: int, now: str) -> Validator:
        """The snapshot's validator in ``conn``'s transaction: known, or computed now.
        ``conn`` reads one view of the database (``transaction(..., one_view=True)``: on
        PostgreSQL each statement would otherwise see later commits), so what is computed
        is of the version it is filed under."""
        from .db import workspaces

        row = conn.execute(
            select(workspaces.c.version, workspaces.c.uid).where(workspaces.c.id == ws_id)
        ).one()
        found = self._holding(ws_id, key_id, row.version, row.uid, now)
        if found is not None:
            return found
        rest = snapshot_rest(conn, ws_id, key_id, limit, row.uid)
        etag, since, until = snapshot_validator(conn, ws_id, now, rest)
        made = Validator(row.version, row.uid, etag, since, until)
        if len(self._known) >= self.MAX:
            self._known.clear()
        self._known[(ws_id, key_id)] = made
        return made
