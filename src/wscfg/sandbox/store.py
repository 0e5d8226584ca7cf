"""Reading and writing settings items: canonical JSON, ETags, paging, audit entries.

Items are stored as canonical JSON text (sorted keys, no spaces). Their ETag is a prefix of
the SHA-256 of that text, so equal content means an equal ETag. Reads splice the ETag into
the stored text instead of parsing it, which keeps the snapshot of 100,000 items cheap.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update

from .db import audit, items, workspaces
from .records import ADMIN_NAME, SYSTEM, Item, changed_fields, effective
from .records import ETAG_HEX as ETAG_HEX
from .records import SINGLETON as SINGLETON
from .records import canonical as canonical
from .records import etag_of as etag_of
from .records import iso as iso
from .records import with_etag as with_etag
from .records import without_etag as without_etag

_COLS = (items.c.ident, items.c.body, items.c.etag, items.c.ref, items.c.expires_at)


def get(conn: Connection, ws_id: int, kind: str, ident: str, now: str) -> Item | None:
    row = conn.execute(
        select(*_COLS).where(
            items.c.workspace_id == ws_id, items.c.kind == kind, items.c.ident == ident
        )
    ).first()
    return None if row is None else effective(*row, now)


def get_many(
    conn: Connection, ws_id: int, kind: str, idents: Sequence[str], now: str
) -> dict[str, Item]:
    out: dict[str, Item] = {}
    for start in range(0, len(idents), 500):
        chunk = list(idents[start : start + 500])
        rows = conn.execute(
            select(*_COLS).where(
                items.c.workspace_id == ws_id, items.c.kind == kind, items.c.ident.in_(chunk)
            )
        )
        for row in rows:
            out[row[0]] = effective(*row, now)
    return out


def page(
    conn: Connection, ws_id: int, kind: str, after: str | None, limit: int, now: str
) -> tuple[list[Item], str | None]:
    """Items of one kind in identity order after ``after``; the cursor of the next page."""
    cond = [items.c.workspace_id == ws_id, items.c.kind == kind]
    if after is not None:
        cond.append(items.c.ident > after)
    rows = conn.execute(select(*_COLS).where(and_(*cond)).order_by(items.c.ident).limit(limit + 1))
    found = [effective(*row, now) for row in rows]
    if len(found) > limit:
        found = found[:limit]
        return found, encode_cursor(found[-1].ident)
    return found, None


def bodies(conn: Connection, ws_id: int, kind: str, now: str) -> list[str]:
    """Every item body of one kind, in identity order: one indexed range scan whose rows go
    straight from the driver into the list (no per-row objects). Only pending invitations
    past their expiry are re-rendered."""
    if kind == "members":
        rows = raw_rows(
            conn,
            select(items.c.ident, items.c.body, items.c.etag, items.c.ref, items.c.expires_at)
            .where(items.c.workspace_id == ws_id, items.c.kind == kind)
            .order_by(items.c.ident),
        )
        return [
            effective(r[0], r[1], r[2], r[3], r[4], now).body
            if r[4] is not None and r[4] <= now
            else r[1]
            for r in rows
        ]
    rows = raw_rows(
        conn,
        select(items.c.body)
        .where(items.c.workspace_id == ws_id, items.c.kind == kind)
        .order_by(items.c.ident),
    )
    return [row[0] for row in rows]


def raw_rows(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """Rows as the driver's plain tuples, skipping SQLAlchemy's per-row processing."""
    result = conn.execute(stmt)
    assert result.cursor is not None
    rows = list(result.cursor.fetchall())
    result.close()
    return rows


def count_ref(conn: Connection, ws_id: int, kind: str, ref: str, *, active_only: bool) -> int:
    """How many items of ``kind`` point at ``ref`` (members holding a role)."""
    cond = [items.c.workspace_id == ws_id, items.c.kind == kind, items.c.ref == ref]
    if active_only:
        cond.append(items.c.expires_at.is_(None))
    rows = conn.execute(select(items.c.ident).where(and_(*cond)).limit(2)).all()
    return len(rows)


def refs_of(conn: Connection, ws_id: int, kind: str, ref: str, limit: int = 5) -> list[str]:
    rows = conn.execute(
        select(items.c.ident)
        .where(items.c.workspace_id == ws_id, items.c.kind == kind, items.c.ref == ref)
        .order_by(items.c.ident)
        .limit(limit)
    )
    return [r[0] for r in rows]


ROW_COLUMNS = ("workspace_id", "kind", "ident", "body", "etag", "ref", "expires_at", "updated_at")


def row_values(
    ws_id: int,
    kind: str,
    ident: str,
    data: dict[str, Any],
    now: str,
    *,
    ref: str | None = None,
    expires_at: str | None = None,
) -> dict[str, Any]:
    """Column values of an item (plus ``data``: its canonical text, for audit and compare)."""
    text = canonical(data)
    etag = etag_of(text)
    return {
        "workspace_id": ws_id,
        "kind": kind,
        "ident": ident,
        "body": with_etag(text, etag),
        "etag": etag,
        "ref": ref,
        "expires_at": expires_at,
        "updated_at": now,
        "data": text,
    }


def saved(row: dict[str, Any]) -> Item:
    """The item a row from :func:`row_values` stores."""
    return Item(row["ident"], row["body"], row["etag"], row["ref"], row["expires_at"])


def insert_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(items), [{k: r[k] for k in ROW_COLUMNS} for r in rows])


def update_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the content of existing items (executemany)."""
    if not rows:
        return
    stmt = (
        update(items)
        .where(
            items.c.workspace_id == bindparam("b_ws"),
            items.c.kind == bindparam("b_kind"),
            items.c.ident == bindparam("b_ident"),
        )
        .values(
            body=bindparam("body"),
            etag=bindparam("etag"),
            ref=bindparam("ref"),
            expires_at=bindparam("expires_at"),
            updated_at=bindparam("updated_at"),
        )
    )
    params = [
        {
            "b_ws": r["workspace_id"],
            "b_kind": r["kind"],
            "b_ident": r["ident"],
            "body": r["body"],
            "etag": r["etag"],
            "ref": r["ref"],
            "expires_at": r["expires_at"],
            "updated_at": r["updated_at"],
        }
        for r in rows
    ]
    conn.execute(stmt, params)


def delete_idents(conn: Connection, ws_id: int, kind: str, idents: Sequence[str]) -> None:
    for start in range(0, len(idents), 500):
        chunk = list(idents[start : start + 500])
        conn.execute(
            delete(items).where(
                items.c.workspace_id == ws_id, items.c.kind == kind, items.c.ident.in_(chunk)
            )
        )


def bump(conn: Connection, ws_id: int) -> None:
    conn.execute(
        update(workspaces).where(workspaces.c.id == ws_id).values(version=workspaces.c.version + 1)
    )


@dataclass(frozen=True)
class AuditedWrite:
    """One audited write: ``before``/``after`` are stored JSON texts (never secrets)."""

    action: str  # create | update | delete | resend | accept | revoke
    kind: str
    ident: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Actor:
    """Who wrote, as the audit log names them: ``key_id`` is the key used (``admin`` for the
    platform's own writes), ``type``/``name`` the key (by its name) or the member behind it."""

    key_id: str
    type: str  # api_key | user | system
    name: str
    via: str = "api"  # api | ui
    client: str | None = None  # the User-Agent product token


def admin_actor() -> Actor:
    return Actor(ADMIN_NAME, SYSTEM, ADMIN_NAME)


def record(
    conn: Connection,
    ws_id: int,
    changes: Sequence[AuditedWrite],
    *,
    actor: Actor,
    request_id: str | None,
    now: str,
    client_request_id: str | None = None,
) -> None:
    if not changes:
        return
    conn.execute(
        insert(audit),
        [
            {
                "workspace_id": ws_id,
                "at": now,
                "request_id": request_id,
                "client_request_id": client_request_id,
                "actor": actor.key_id,
                "actor_type": actor.type,
                "actor_name": actor.name,
                "via": actor.via,
                "client": actor.client,
                "action": c.action,
                "kind": c.kind,
                "ident": c.ident,
                "fields": json.dumps(changed_fields(c.before, c.after)),
                "before": c.before,
                "after": c.after,
            }
            for c in changes
        ],
    )


def encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The value inside a cursor; ``ValueError`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except Exception as exc:
        raise ValueError("not a valid cursor") from exc
