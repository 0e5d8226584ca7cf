"""Collection kinds (roles, call tags, members, webhooks, blocked callers, usage alerts): list,
create, get, patch, delete, generic over the registry, plus members' ``resend``; observed kinds
(integrations) are list and get only.

(No ``from __future__ import annotations`` here: FastAPI reads the per-kind body types from
the handlers' annotations at definition time.)
"""

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from pydantic import BeforeValidator, Field
from sqlalchemy import Connection
from starlette.responses import Response

from ...model import COLLECTIONS, OBSERVED, Kind
from .. import access, rules, store
from ..context import JSON, Ctx, ReadCtx, Reply, WriteCtx, check_if_match, run_write
from ..db import transaction
from ..limits import check_room
from ..problems import ProblemError, invalid
from ..schemas import ITEM, PAGE, PATCH

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='Only if the item still has this ETag: "<etag>".'),
]


def _digits(value: object) -> object:
    """A page size is written in digits (``80``), not ``80.0``, ``+80``, ``080`` or ``8e1``:
    the API reads a number one way only, as the client writes it (#21 item 8)."""
    if isinstance(value, str) and not re.fullmatch(r"0|[1-9][0-9]*", value):
        raise ValueError("must be a whole number written in digits, e.g. 100")
    return value


PageSize = Annotated[int, Field(ge=1, le=5000), BeforeValidator(_digits)]
Limit = Annotated[
    PageSize | None, Query(description="Items per page (default 500), written in digits.")
]
KeyParam = Annotated[
    str, Path(description="The item's identity, URL-encoded (email, name or E.164 number).")
]
Cursor = Annotated[
    str | None, Query(max_length=2000, description="next_cursor of the previous page.")
]


def write_update(
    conn: Connection, action: str, kind: Kind, item: store.Item, row: dict[str, Any]
) -> Reply:
    """Store ``row`` over ``item`` and answer with the new body, its ETag and the audit entry."""
    store.update_rows(conn, [row])
    new = store.saved(row)
    change = store.AuditedWrite(action, kind.name, item.ident, item.text, row["data"])
    return Reply(200, new.body, etag_header(new.etag), [change])


def etag_header(etag: str) -> dict[str, str]:
    return {"ETag": f'"{etag}"'}


def item_response(item: store.Item, status: int = 200, **headers: str) -> Response:
    return Response(
        item.body,
        status_code=status,
        media_type=JSON,
        headers={**etag_header(item.etag), **headers},
    )


def page_body(bodies: list[str], cursor: str | None) -> str:
    return '{"items":[' + ",".join(bodies) + '],"next_cursor":' + json.dumps(cursor) + "}"


def cursor_position(cursor: str | None) -> str | None:
    """Where a page starts: the key a ``cursor`` query parameter names (422 if it is not ours)."""
    if cursor is None:
        return None
    try:
        after = store.decode_cursor(cursor)
    except ValueError:
        raise invalid(["query", "cursor"], "not a cursor this server gave out") from None
    if not isinstance(after, str):
        raise invalid(["query", "cursor"], "not a cursor this server gave out")
    return after


def read_page(ctx: Ctx, kind: str, limit: int | None, cursor: str | None) -> Response:
    size = limit or ctx.settings.default_page_size
    if size > ctx.settings.max_page_size:
        raise invalid(["query", "limit"], f"at most {ctx.settings.max_page_size}")
    after = cursor_position(cursor)
    with transaction(ctx.sandbox.engine) as conn:
        found, next_cursor = store.page(conn, ctx.workspace.id, kind, after, size, ctx.now_iso)
    return Response(page_body([i.body for i in found], next_cursor), media_type=JSON)


def _current(conn: Connection, ctx: Ctx, kind: Kind, raw: str) -> store.Item:
    ident = rules.ident_from_url(kind, raw)
    item = (
        None if ident is None else store.get(conn, ctx.workspace.id, kind.name, ident, ctx.now_iso)
    )
    if item is None:
        raise ProblemError(404, f"no {kind.label} '{raw}'")
    return item


def _check_roles(
    ctx: Ctx,
    conn: Connection,
    kind: Kind,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """A member's key touches only members and custom roles within its own role (access.py)."""
    who = ctx.who

    def custom_role(name: str) -> dict[str, Any] | None:
        found = store.get(conn, ctx.workspace.id, "roles", name, ctx.now_iso)
        return None if found is None else found.data

    access.check_role_write(who.user, who.permissions, kind.name, before, after, custom_role)


def _write_row(ctx: Ctx, kind: Kind, ident: str, data: dict[str, Any]) -> dict[str, Any]:
    return store.row_values(
        ctx.workspace.id,
        kind.name,
        ident,
        data,
        ctx.now_iso,
        ref=rules.ref_of(kind, data),
        expires_at=rules.expiry_of(kind, data),
    )


def create(ctx: Ctx, kind: Kind, body: Any) -> Response:
    rules.reject_read_only(kind, body)
    patch = rules.sent_fields(body)

    def work(conn: Connection) -> Reply:
        obj = rules.validate(kind, patch)
        owned: dict[str, Any] = {}
        if kind.name == rules.MEMBERS:
            owned = rules.invitation(ctx.now, ctx.settings.invite_ttl)
        data = rules.stored_form(kind, obj, owned, patch)
        assert kind.identity is not None
        ident = str(data[kind.identity])
        if store.get(conn, ctx.workspace.id, kind.name, ident, ctx.now_iso) is not None:
            raise ProblemError(409, f"{kind.label} '{ident}' already exists")
        rules.check_references(conn, ctx.workspace.id, kind, data, ctx.now_iso)
        _check_roles(ctx, conn, kind, None, data)
        check_room(conn, ctx.workspace.id, kind.name, 1, ctx.settings.bounds)
        row = _write_row(ctx, kind, ident, data)
        store.insert_rows(conn, [row])
        item = store.saved(row)
        location = f"/v1/workspaces/{ctx.workspace.slug}/{kind.path}/{_quote(ident)}"
        return Reply(
            201,
            item.body,
            {**etag_header(item.etag), "Location": location},
            [store.AuditedWrite("create", kind.name, ident, None, row["data"])],
        )

    return run_write(ctx, work)


def update(ctx: Ctx, kind: Kind, raw: str, body: Any, if_match: str | None) -> Response:
    rules.check_builtin_role(kind, raw)
    patch = rules.sent_fields(body)

    def work(conn: Connection) -> Reply:
        item = _current(conn, ctx, kind, raw)
        check_if_match(if_match, item.etag)
        writable, owned = rules.split_current(kind, item.data)
        obj = rules.validate(kind, rules.merge(writable, patch))
        rules.check_identity(kind, obj, item.ident)
        data = rules.stored_form(kind, obj, owned, patch)
        rules.check_references(conn, ctx.workspace.id, kind, data, ctx.now_iso)
        _check_roles(ctx, conn, kind, item.data, data)
        if kind.name == rules.MEMBERS:
            rules.check_owner_kept(conn, ctx.workspace.id, item, data["role"])
        row = _write_row(ctx, kind, item.ident, data)
        if row["etag"] == item.etag and row["data"] == item.text:
            return Reply(200, item.body, etag_header(item.etag))
        return write_update(conn, "update", kind, item, row)

    return run_write(ctx, work)


def remove(ctx: Ctx, kind: Kind, raw: str, if_match: str | None) -> Response:
    rules.check_builtin_role(kind, raw)

    def work(conn: Connection) -> Reply:
        item = _current(conn, ctx, kind, raw)
        check_if_match(if_match, item.etag)
        _check_roles(ctx, conn, kind, item.data, None)
        rules.check_delete(conn, ctx.workspace.id, kind, item, ctx.now_iso)
        store.delete_idents(conn, ctx.workspace.id, kind.name, [item.ident])
        return Reply(
            204, changes=[store.AuditedWrite("delete", kind.name, item.ident, item.text, None)]
        )

    return run_write(ctx, work)


def resend(ctx: Ctx, raw: str) -> Response:
    from ...model import BY_NAME

    kind = BY_NAME[rules.MEMBERS]

    def work(conn: Connection) -> Reply:
        item = _current(conn, ctx, kind, raw)
        data = item.data
        _check_roles(ctx, conn, kind, data, data)
        if data.get("status") == "active":
            raise ProblemError(409, f"{item.ident} is already an active member")
        data.update(rules.invitation(ctx.now, ctx.settings.invite_ttl))
        row = _write_row(ctx, kind, item.ident, data)
        return write_update(conn, "resend", kind, item, row)

    return run_write(ctx, work)


def _quote(ident: str) -> str:
    from urllib.parse import quote

    return quote(ident, safe="@")


def _register(router: APIRouter, kind: Kind) -> None:
    model = kind.model
    item_model = ITEM[kind.name]
    patch_model = PATCH[kind.name]
    base = f"/v1/workspaces/{{ws}}/{kind.path}"
    tag = kind.name

    @router.get(
        base,
        response_model=PAGE[kind.name],
        operation_id=f"list_{kind.name}",
        summary=f"List {kind.name.replace('_', ' ')}",
        tags=[tag],
    )
    def list_items(ctx: ReadCtx, limit: Limit = None, cursor: Cursor = None) -> Response:
        return read_page(ctx, kind.name, limit, cursor)

    @router.post(
        base,
        response_model=item_model,
        status_code=201,
        operation_id=f"create_{kind.name}",
        summary=f"Create a {kind.label}",
        tags=[tag],
    )
    def create_item(ctx: WriteCtx, body: model) -> Response:  # type: ignore[valid-type]
        return create(ctx, kind, body)

    @router.get(
        base + "/{key:path}",
        response_model=item_model,
        operation_id=f"get_{kind.name}",
        summary=f"Get a {kind.label}",
        tags=[tag],
    )
    def get_item(ctx: ReadCtx, key: KeyParam) -> Response:
        with transaction(ctx.sandbox.engine) as conn:
            item = _current(conn, ctx, kind, key)
        return item_response(item)

    @router.patch(
        base + "/{key:path}",
        response_model=item_model,
        operation_id=f"update_{kind.name}",
        summary=f"Change a {kind.label} (only the fields sent)",
        tags=[tag],
    )
    def patch_item(
        ctx: WriteCtx,
        key: KeyParam,
        body: patch_model,  # type: ignore[valid-type]
        if_match: IfMatch = None,
    ) -> Response:
        return update(ctx, kind, key, body, if_match)

    @router.delete(
        base + "/{key:path}",
        status_code=204,
        response_class=Response,
        operation_id=f"delete_{kind.name}",
        summary=f"Delete a {kind.label}",
        tags=[tag],
    )
    def delete_item(ctx: WriteCtx, key: KeyParam, if_match: IfMatch = None) -> Response:
        return remove(ctx, kind, key, if_match)


def _register_observed(router: APIRouter, kind: Kind) -> None:
    """A kind wscfg only reads (integrations: connected in the UI): list and get, no writes."""
    base = f"/v1/workspaces/{{ws}}/{kind.path}"
    what = kind.name.replace("_", " ")

    @router.get(
        base,
        response_model=PAGE[kind.name],
        operation_id=f"list_{kind.name}",
        summary=f"List {what} and their status (read-only: connected in the UI)",
        tags=[kind.name],
    )
    def list_observed(ctx: ReadCtx, limit: Limit = None, cursor: Cursor = None) -> Response:
        return read_page(ctx, kind.name, limit, cursor)

    @router.get(
        base + "/{key:path}",
        response_model=ITEM[kind.name],
        operation_id=f"get_{kind.name}",
        summary=f"Get a {kind.label} and its status",
        tags=[kind.name],
    )
    def get_observed(ctx: ReadCtx, key: KeyParam) -> Response:
        with transaction(ctx.sandbox.engine) as conn:
            item = _current(conn, ctx, kind, key)
        return item_response(item)


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/workspaces/{ws}/members/{email}/resend",
        response_model=ITEM[rules.MEMBERS],
        operation_id="resend_invitation",
        summary="Re-send a member's invitation (status back to pending, new expiry)",
        tags=["members"],
    )
    def resend_invitation(
        ctx: WriteCtx, email: Annotated[str, Path(description="The member's email.")]
    ) -> Response:
        return resend(ctx, email)

    for kind in COLLECTIONS:
        if kind.name != "api_keys":  # its own routes (routes/keys.py): the secret, rotation
            _register(router, kind)
    for kind in OBSERVED:
        _register_observed(router, kind)
    return router
