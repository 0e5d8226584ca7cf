"""Singletons (workspace profile, call rules, notifications) and the one-request snapshot.

(No ``from __future__ import annotations``: FastAPI reads body types at definition time.)
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header
from sqlalchemy import Connection, select
from starlette.responses import Response

from ...model import SINGLETONS, SNAPSHOT_KINDS, Kind
from .. import rules, store
from ..conditional import NOT_MODIFIED, IfNoneMatch, not_modified, snapshot_etag, tagged, unchanged
from ..context import Ctx, ReadCtx, Reply, WriteCtx, charge, check_if_match, run_write
from ..db import api_keys, transaction, workspaces
from ..problems import ProblemError, invalid
from ..records import LATER_SINGLETONS, default_body
from ..schemas import ITEM, PATCH, Snapshot
from .collections import etag_header, item_response, write_update

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='Only if the settings still have this ETag: "<etag>".'),
]


def _current(conn: Connection, ctx: Ctx, kind: Kind, *, write: bool = False) -> store.Item:
    item = store.get(conn, ctx.workspace.id, kind.name, store.SINGLETON, ctx.now_iso)
    if item is not None:
        return item
    # Every workspace is created with its singletons; one made before a singleton kind existed
    # reads its default, and gets it stored on the first write.
    default = LATER_SINGLETONS.get(kind.name)
    if default is None:
        raise ProblemError(404, f"no {kind.label}")
    row = store.row_values(ctx.workspace.id, kind.name, store.SINGLETON, default, ctx.now_iso)
    if write:
        store.insert_rows(conn, [row])
    return store.saved(row)


def read(ctx: Ctx, kind: Kind) -> Response:
    with transaction(ctx.sandbox.engine) as conn:
        return item_response(_current(conn, ctx, kind))


def update(ctx: Ctx, kind: Kind, body: Any, if_match: str | None) -> Response:
    patch = rules.sent_fields(body)

    def work(conn: Connection) -> Reply:
        item = _current(conn, ctx, kind, write=True)
        check_if_match(if_match, item.etag)
        writable, owned = rules.split_current(kind, item.data)
        if kind.name == "workspace" and patch.get("slug", writable["slug"]) != writable["slug"]:
            raise invalid(["body", "slug"], "the slug of a workspace cannot change")
        obj = rules.validate(kind, rules.merge(writable, patch))
        data = rules.stored_form(kind, obj, owned, patch)
        rules.check_references(conn, ctx.workspace.id, kind, data, ctx.now_iso)
        row = store.row_values(ctx.workspace.id, kind.name, store.SINGLETON, data, ctx.now_iso)
        if row["data"] == item.text:
            return Reply(200, item.body, etag_header(item.etag))
        return write_update(conn, "update", kind, item, row)

    return run_write(ctx, work)


def snapshot(ctx: Ctx) -> Response:
    """Every item of the workspace, as stored (JSON text with ETags), in one transaction:
    one indexed range scan per kind, concatenated without parsing. Its ETag is read first
    (:func:`..conditional.snapshot_etag`, one scan): an ``If-None-Match`` that names it is
    answered ``304`` without building the snapshot."""
    parts = []
    with transaction(ctx.sandbox.engine) as conn:
        use = key_use(conn, ctx.workspace.id, ctx.who.key_id, ctx.settings.max_api_keys)
        uid = conn.execute(
            select(workspaces.c.uid).where(workspaces.c.id == ctx.workspace.id)
        ).scalar()
        rest = '"api_key_use":' + json.dumps(use) + ',"workspace_id":' + json.dumps(uid)
        etag = snapshot_etag(conn, ctx.workspace.id, ctx.now_iso, rest)
        if unchanged(ctx.request, etag):
            return not_modified(etag)
        charge(ctx.request)  # a conditional read is counted once it is no 304
        for kind in SNAPSHOT_KINDS:
            bodies = store.bodies(conn, ctx.workspace.id, kind.name, ctx.now_iso)
            if kind.singleton:
                value = bodies[0] if bodies else (default_body(kind.name) or "{}")
            else:
                value = "[" + ",".join(bodies) + "]"
            parts.append(json.dumps(kind.name) + ":" + value)
    parts.append(rest)
    return tagged(("{" + ",".join(parts) + "}").encode(), etag)


def key_use(conn: Connection, ws_id: int, caller_id: str, limit: int) -> dict[str, Any]:
    """The snapshot's ``api_key_use``: the calling key's name when it is a managed key of this
    workspace, the count of active unmanaged keys, and the limit."""
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


def _register(router: APIRouter, kind: Kind) -> None:
    path = "/v1/workspaces/{ws}" + (f"/{kind.path}" if kind.path else "")
    patch_model = PATCH[kind.name]
    what = kind.label

    @router.get(
        path,
        response_model=ITEM[kind.name],
        operation_id=f"get_{kind.name}",
        summary=f"Get the {what}",
        tags=[kind.name],
    )
    def get_singleton(ctx: ReadCtx) -> Response:
        return read(ctx, kind)

    @router.patch(
        path,
        response_model=ITEM[kind.name],
        operation_id=f"update_{kind.name}",
        summary=f"Change the {what} (only the fields sent)",
        tags=[kind.name],
    )
    def patch_singleton(
        ctx: WriteCtx,
        body: patch_model,  # type: ignore[valid-type]
        if_match: IfMatch = None,
    ) -> Response:
        return update(ctx, kind, body, if_match)


def build_router() -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/workspaces/{ws}/settings",
        response_model=Snapshot,
        operation_id="get_settings",
        summary="Every kind of the workspace in one response, with item ETags",
        tags=["workspace"],
        responses=NOT_MODIFIED,
    )
    def get_settings(ctx: ReadCtx, if_none_match: IfNoneMatch = None) -> Response:
        return snapshot(ctx)

    for kind in SINGLETONS:
        _register(router, kind)
    return router
