"""API keys managed as settings (the ``api_keys`` kind): create, read, change, re-issue, revoke.

A managed key is two records written together: its item (kind ``api_keys``, identity its
name: what the snapshot, ETags and the audit log show) and its row in ``api_keys`` (what
authentication checks). Keys the platform issued itself (``wscfg sandbox init``/``key``, the
embedded sandbox) and keys created without a ``mode`` are unmanaged: never in the kind.

The secret of a key is in the answer that creates or re-issues it, and nowhere else: not in
the item, the audit log, an idempotent replay or a later read. Changing ``rotation``
re-issues the key: a new key (new id, new secret) with the same name, the old one revoked,
in one transaction.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select, update
from starlette.responses import Response

from .. import access, rules, store
from ..context import Ctx, Reply, check_if_match, run_write
from ..db import api_keys, transaction
from ..keyrows import KIND, active_key_count, insert_key
from ..problems import ProblemError
from .collections import etag_header, item_response

SETTINGS = ("mode", "description", "expires", "rotation")


def _row_settings(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data.get(k) for k in SETTINGS}


def _issue(
    ctx: Ctx, conn: Connection, data: dict[str, Any], as_user: str | None
) -> tuple[dict[str, Any], str]:
    """A new key row for the settings ``data`` (acting as the member ``as_user``, if any);
    returns (data with id/prefix/created_at, secret). The caller must hold every scope it
    gives (:func:`access.check_grant`)."""
    access.check_grant(data["scopes"], ctx.who.grantable)
    key_id, secret = insert_key(
        conn,
        ctx.workspace.id,
        None,
        data["scopes"],
        data["name"],
        ctx.now_iso,
        managed=_row_settings(data),
        as_user=as_user,
    )
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    return data | {"id": key_id, "prefix": row.prefix, "created_at": row.created_at}, secret


def _with_secret(body: str, secret: str) -> str:
    out = json.loads(body)
    out["secret"] = secret
    return json.dumps(out)


def create(ctx: Ctx, sent: dict[str, Any]) -> Response:
    """POST …/api-keys with a ``mode``: a managed key (409 when the name is taken or the
    workspace has its maximum of active keys)."""
    limit = ctx.settings.max_api_keys

    def work(conn: Connection) -> Reply:
        obj = rules.validate(KIND, sent)
        data = rules.stored_form(KIND, obj, {}, sent)
        data.setdefault("rotation", 0)
        name = data["name"]
        if store.get(conn, ctx.workspace.id, KIND.name, name, ctx.now_iso) is not None:
            raise ProblemError(409, f"API key '{name}' already exists")
        if active_key_count(conn, ctx.workspace.id) >= limit:
            raise ProblemError(409, f"a workspace can have at most {limit} active API keys")
        data, secret = _issue(ctx, conn, data, ctx.who.user)  # a member's key makes theirs
        row = store.row_values(ctx.workspace.id, KIND.name, name, data, ctx.now_iso)
        store.insert_rows(conn, [row])
        item = store.saved(row)
        location = f"/v1/workspaces/{ctx.workspace.slug}/{KIND.path}/{name}"
        return Reply(
            201,
            _with_secret(item.body, secret),
            {**etag_header(item.etag), "Location": location},
            [store.AuditedWrite("create", KIND.name, name, None, row["data"])],
            replay_body=item.body.encode(),  # the secret is never stored, not even here
        )

    return run_write(ctx, work)


def _current(conn: Connection, ctx: Ctx, name: str) -> store.Item:
    item = store.get(conn, ctx.workspace.id, KIND.name, name, ctx.now_iso)
    if item is None:
        raise ProblemError(404, f"no API key '{name}'")
    return item


def read(ctx: Ctx, name: str) -> Response:
    with transaction(ctx.sandbox.engine) as conn:
        item = _current(conn, ctx, name)
    return item_response(item)


def change(ctx: Ctx, name: str, sent: dict[str, Any], if_match: str | None) -> Response:
    """PATCH …/api-keys/{name}: the fields sent; a changed ``rotation`` re-issues the key."""

    def work(conn: Connection) -> Reply:
        item = _current(conn, ctx, name)
        check_if_match(if_match, item.etag)
        writable, owned = rules.split_current(KIND, item.data)
        obj = rules.validate(KIND, rules.merge(writable, sent))
        rules.check_identity(KIND, obj, item.ident)
        data = rules.stored_form(KIND, obj, owned, sent)
        data.setdefault("rotation", 0)
        secret = None
        if data["rotation"] != writable.get("rotation", 0):
            _revoke_row(conn, ctx.now_iso, owned["id"])
            was = conn.execute(select(api_keys.c.as_user).where(api_keys.c.id == owned["id"]))
            fresh = {k: v for k, v in data.items() if k not in owned}
            data, secret = _issue(ctx, conn, fresh, was.scalar())
        else:
            if "scopes" in sent:
                access.check_grant(data["scopes"], ctx.who.grantable)
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == owned["id"])
                .values(scopes=" ".join(data["scopes"]), **_row_settings(data))
            )
        row = store.row_values(ctx.workspace.id, KIND.name, item.ident, data, ctx.now_iso)
        if row["data"] == item.text:
            return Reply(200, item.body, etag_header(item.etag))
        store.update_rows(conn, [row])
        new = store.saved(row)
        body = new.body if secret is None else _with_secret(new.body, secret)
        changes = [store.AuditedWrite("update", KIND.name, item.ident, item.text, row["data"])]
        return Reply(200, body, etag_header(new.etag), changes, replay_body=new.body.encode())

    return run_write(ctx, work)


def _revoke_row(conn: Connection, now: str, key_id: str) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))


def revoke(ctx: Ctx, name: str, if_match: str | None) -> Response:
    """DELETE …/api-keys/{name}: the key is revoked and leaves the kind."""

    def work(conn: Connection) -> Reply:
        item = _current(conn, ctx, name)
        check_if_match(if_match, item.etag)
        key_id = item.data.get("id")
        if isinstance(key_id, str):
            _revoke_row(conn, ctx.now_iso, key_id)
        store.delete_idents(conn, ctx.workspace.id, KIND.name, [item.ident])
        return Reply(
            204, changes=[store.AuditedWrite("delete", KIND.name, item.ident, item.text, None)]
        )

    return run_write(ctx, work)
