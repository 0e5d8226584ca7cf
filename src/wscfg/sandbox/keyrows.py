"""The rows of the ``api_keys`` table that the administration (admin.py) and the API's key
routes (routes/keys.py, routes/managed_keys.py) share: store a new key, count a workspace's
active keys, and take a revoked managed key's item out of the ``api_keys`` kind."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ..model import BY_NAME
from . import store
from .auth import display_prefix, generate_key, hash_key
from .db import api_keys

KIND = BY_NAME["api_keys"]


def active_key_count(conn: Connection, ws_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(api_keys)
            .where(api_keys.c.workspace_id == ws_id, api_keys.c.revoked_at.is_(None))
        ).scalar_one()
    )


def insert_key(
    conn: Connection,
    ws_id: int | None,
    agency_id: int | None,
    scopes: Iterable[str],
    name: str | None,
    now: str,
    *,
    as_user: str | None = None,
    managed: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """Store a new key; return (key id, secret). The caller enforces the per-workspace cap.
    ``managed`` holds the settings of a key of the api_keys kind (mode, description…)."""
    key_id, secret = generate_key()
    extra = managed or {}
    conn.execute(
        insert(api_keys).values(
            id=key_id,
            secret_hash=hash_key(secret),
            prefix=display_prefix(secret),
            name=name,
            workspace_id=ws_id,
            agency_id=agency_id,
            scopes=" ".join(sorted(set(scopes))),
            created_at=now,
            as_user=as_user,
            managed=1 if managed is not None else 0,
            mode=extra.get("mode", "live"),
            description=extra.get("description"),
            expires=extra.get("expires"),
            rotation=extra.get("rotation"),
        )
    )
    return key_id, secret


def forget(conn: Connection, ws_id: int, key_id: str, now: str) -> store.AuditedWrite | None:
    """A managed key revoked by its id (``wscfg sandbox revoke``, DELETE …/api-keys/key_…):
    its item leaves the kind too. Returns the audit change, or None for an unmanaged key."""
    row = conn.execute(
        select(api_keys.c.name, api_keys.c.managed).where(api_keys.c.id == key_id)
    ).first()
    if row is None or not row.managed or row.name is None:
        return None
    item = store.get(conn, ws_id, KIND.name, row.name, now)
    if item is None or item.data.get("id") != key_id:
        return None
    store.delete_idents(conn, ws_id, KIND.name, [item.ident])
    return store.AuditedWrite("delete", KIND.name, item.ident, item.text, None)
