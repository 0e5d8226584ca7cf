"""Singletons (workspace profile, call rules, notifications) and the one-request snapshot.

(No ``from __future__ import annotations``: FastAPI reads body types at definition time.)
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header
from sqlalchemy import Connection
from starlette.responses import Response

from ...model import SINGLETONS, SNAPSHOT_KINDS, Kind
from .. import rules, store
from ..conditional import NOT_MODIFIED, IfNoneMatch, not_modified, tagged, unchanged
from ..context import Ctx, ReadCtx, Reply, WriteCtx, charge, check_if_match, run_write
from ..db import transaction
from ..problems import ProblemError, invalid
from ..records import LATER_SINGLETONS, default_body
from ..schemas import ITEM, PATCH, Snapshot
from ..validators import snapshot_rest
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
    one indexed range scan per kind, concatenated without parsing. Its ETag is known first
    (:class:`..validators.Validators`: computed by one scan, or known at the workspace's
    version): an ``If-None-Match`` that names it is answered ``304`` without building the
    snapshot. The body is always read afresh, nothing of it from what is kept."""
    parts = []
    sandbox = ctx.sandbox
    ws_id, key_id, limit = ctx.workspace.id, ctx.who.key_id, ctx.settings.max_api_keys
    with transaction(sandbox.engine) as conn:
        found = sandbox.validators.current(conn, ws_id, key_id, limit, ctx.now_iso)
        if unchanged(ctx.request, found.etag):
            return not_modified(found.etag)
        charge(ctx.request)  # a conditional read is counted once it is no 304
        rest = snapshot_rest(conn, ws_id, key_id, limit, found.uid)
        for kind in SNAPSHOT_KINDS:
            bodies = store.bodies(conn, ctx.workspace.id, kind.name, ctx.now_iso)
            if kind.singleton:
                value = bodies[0] if bodies else (default_body(kind.name) or "{}")
            else:
                value = "[" + ",".join(bodies) + "]"
            parts.append(json.dumps(kind.name) + ":" + value)
    parts.append(rest)
    return tagged(("{" + ",".join(parts) + "}").encode(), found.etag)


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
