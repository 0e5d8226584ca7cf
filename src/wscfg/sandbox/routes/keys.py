"""API keys of a workspace (at most 10 active; the secret is shown once) and the audit log."""

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Connection, and_, select, update
from starlette.responses import Response

from .. import access, rules, store
from ..conditional import NOT_MODIFIED, IfNoneMatch, conditional
from ..context import JSON, Ctx, ReadCtx, Reply, WriteCtx, caller, run_write
from ..db import agencies, api_keys, audit, transaction, workspaces
from ..keyrows import active_key_count, forget, insert_key
from ..problems import ProblemError, invalid
from ..records import audit_entry, audit_filter_problem
from ..schemas import ITEM, PATCH, ApiKeyCreate, ApiKeyCreated, ApiKeyPage, AuditPage, KeyInfo
from . import managed_keys
from .collections import Cursor, IfMatch, Limit, page_body

KIND = "api_keys"
PATCH_MODEL = PATCH[KIND]
ITEM_MODEL = ITEM[KIND]
KeyName = Annotated[str, Path(description="The managed key's name.")]


def _public(row: Any) -> dict[str, Any]:
    out = {
        "id": row.id,
        "prefix": row.prefix,
        "scopes": row.scopes.split(),
        "created_at": row.created_at,
    }
    if row.name is not None:
        out["name"] = row.name
    if row.managed:
        out["managed"] = True
        for name in managed_keys.SETTINGS:
            if getattr(row, name) is not None:
                out[name] = getattr(row, name)
    return out


def describe_caller(ctx: Ctx) -> Response:
    who = ctx.who
    with transaction(ctx.sandbox.engine) as conn:
        name = conn.execute(select(api_keys.c.name).where(api_keys.c.id == who.key_id)).scalar()
        slug = (
            conn.execute(
                select(workspaces.c.slug).where(workspaces.c.id == who.workspace_id)
            ).scalar()
            if who.workspace_id is not None
            else None
        )
        agency = (
            conn.execute(select(agencies.c.name).where(agencies.c.id == who.agency_id)).scalar()
            if who.agency_id is not None
            else None
        )
    body = {
        "id": who.key_id,
        "name": name,
        "scopes": sorted(who.scopes),
        "workspace": slug,
        "agency": agency,
    }
    return Response(json.dumps(body), media_type=JSON)


def list_keys(ctx: Ctx) -> Response:
    with transaction(ctx.sandbox.engine) as conn:
        rows = conn.execute(
            select(api_keys)
            .where(api_keys.c.workspace_id == ctx.workspace.id, api_keys.c.revoked_at.is_(None))
            .order_by(api_keys.c.created_at, api_keys.c.id)
        ).all()
    return Response(page_body([json.dumps(_public(r)) for r in rows], None), media_type=JSON)


def create_key(ctx: Ctx, body: ApiKeyCreate) -> Response:
    if body.mode is not None:  # a managed key: the api_keys kind
        return managed_keys.create(ctx, body.model_dump(exclude_unset=True))
    settings = sorted(body.model_fields_set & {"description", "expires", "rotation"})
    if settings:  # an unmanaged key keeps none of them: refused, never silently dropped
        raise invalid(
            ["body", settings[0]],
            "only a managed key has this setting: give a mode (live or test), or leave it out",
        )
    access.check_grant(body.scopes, ctx.who.grantable)
    limit = ctx.settings.max_api_keys

    def work(conn: Connection) -> Reply:
        if active_key_count(conn, ctx.workspace.id) >= limit:
            raise ProblemError(409, f"a workspace can have at most {limit} active API keys")
        key_id, secret = insert_key(
            conn, ctx.workspace.id, None, body.scopes, body.name, ctx.now_iso, as_user=ctx.who.user
        )
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
        public = _public(row)
        return Reply(
            201,
            json.dumps({**public, "secret": secret}),
            {"Location": f"/v1/workspaces/{ctx.workspace.slug}/api-keys/{key_id}"},
            [store.AuditedWrite("create", KIND, key_id, None, store.canonical(public))],
            replay_body=json.dumps(public).encode(),  # the secret is never stored, not even here
        )

    return run_write(ctx, work)


def revoke(ctx: Ctx, key_id: str) -> Response:
    def work(conn: Connection) -> Reply:
        row = conn.execute(
            select(api_keys).where(
                api_keys.c.id == key_id,
                api_keys.c.workspace_id == ctx.workspace.id,
                api_keys.c.revoked_at.is_(None),
            )
        ).first()
        if row is None:
            raise ProblemError(404, f"no active API key '{key_id}'")
        conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=ctx.now_iso))
        before = store.canonical(_public(row))
        changes = [store.AuditedWrite("revoke", KIND, key_id, before, None)]
        gone = forget(conn, ctx.workspace.id, key_id, ctx.now_iso)
        return Reply(204, changes=changes + ([gone] if gone else []))

    return run_write(ctx, work)


def read_audit(
    ctx: Ctx,
    limit: int | None,
    cursor: str | None,
    kinds: list[str] | None = None,
    keys: list[str] | None = None,
    since: str | None = None,
) -> Response:
    size = min(limit or ctx.settings.default_page_size, ctx.settings.max_page_size)
    problem = audit_filter_problem(kinds or (), keys or ())
    if problem is not None:
        raise invalid(*problem)
    cond = [audit.c.workspace_id == ctx.workspace.id]
    if kinds:
        cond.append(audit.c.kind.in_(kinds))
    if keys:
        cond.append(audit.c.ident.in_(keys))
    if since is not None:
        cond.append(audit.c.at >= _utc(since))
    if cursor is not None:
        try:
            before = store.decode_cursor(cursor)
        except ValueError:
            raise invalid(["query", "cursor"], "not a cursor this server gave out") from None
        if not isinstance(before, int) or isinstance(before, bool) or not 0 < before < 2**63:
            raise invalid(["query", "cursor"], "not a cursor this server gave out")
        cond.append(audit.c.id < before)
    with transaction(ctx.sandbox.engine) as conn:
        rows = conn.execute(
            select(audit).where(and_(*cond)).order_by(audit.c.id.desc()).limit(size + 1)
        ).all()
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = store.encode_cursor(rows[-1].id)
    bodies = [
        json.dumps(audit_entry(dict(r._mapping)), ensure_ascii=False, allow_nan=False) for r in rows
    ]
    return conditional(ctx.request, page_body(bodies, next_cursor))


def _utc(since: str) -> str:
    """``since`` (RFC 3339) as the log stores times: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    example = "e.g. 2026-11-27T14:03:00Z"
    try:
        moment = datetime.fromisoformat(since.replace("z", "Z"))
    except ValueError:
        raise invalid(["query", "since"], f"not an RFC 3339 time, {example}") from None
    if moment.tzinfo is None:
        raise invalid(["query", "since"], "give a UTC offset, e.g. 2026-11-27T14:03:00Z")
    try:
        return store.iso(moment.astimezone(UTC))
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise invalid(["query", "since"], f"out of range, {example}") from None


AuditKinds = Annotated[
    list[str] | None,
    Query(
        alias="kind",
        max_length=50,
        description="Only entries of these kinds (repeatable: kind=members&kind=webhooks); "
        "a kind the API does not have is 422.",
    ),
]
AuditKeys = Annotated[
    list[str] | None,
    Query(
        alias="key",
        max_length=1000,
        description="Only entries of items with these identities (repeatable, at most 1,000; "
        "'' for singletons).",
    ),
]
Since = Annotated[
    str | None,
    Query(max_length=40, description="Only entries at or after this RFC 3339 time."),
]


def build_router() -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/key",
        response_model=KeyInfo,
        operation_id="describe_key",
        summary="The calling key: its scopes and the workspace or agency it belongs to",
        tags=["api_keys"],
    )
    def get_key(ctx: Annotated[Ctx, Depends(caller)]) -> Response:
        return describe_caller(ctx)

    @router.get(
        "/v1/workspaces/{ws}/api-keys",
        response_model=ApiKeyPage,
        operation_id="list_api_keys",
        summary="Active API keys of the workspace (never their secrets)",
        tags=["api_keys"],
    )
    def get_keys(ctx: ReadCtx) -> Response:
        return list_keys(ctx)

    @router.post(
        "/v1/workspaces/{ws}/api-keys",
        response_model=ApiKeyCreated,
        status_code=201,
        operation_id="create_api_key",
        summary="Create an API key; its secret is in this response only",
        tags=["api_keys"],
    )
    def post_key(ctx: WriteCtx, body: ApiKeyCreate) -> Response:
        return create_key(ctx, body)

    @router.get(
        "/v1/workspaces/{ws}/api-keys/{name}",
        response_model=ITEM_MODEL,
        operation_id="get_api_keys",
        summary="A managed API key by name (never its secret)",
        tags=["api_keys"],
    )
    def get_key_item(ctx: ReadCtx, name: KeyName) -> Response:
        return managed_keys.read(ctx, name)

    @router.patch(
        "/v1/workspaces/{ws}/api-keys/{name}",
        response_model=ApiKeyCreated,
        operation_id="update_api_keys",
        summary="Change a managed API key; a changed rotation re-issues it (new secret in this "
        "answer only, the old key revoked)",
        tags=["api_keys"],
    )
    def patch_key(
        ctx: WriteCtx,
        name: KeyName,
        body: PATCH_MODEL,  # type: ignore[valid-type]
        if_match: IfMatch = None,
    ) -> Response:
        sent = rules.sent_fields(body)
        return managed_keys.change(ctx, name, sent, if_match)

    @router.delete(
        "/v1/workspaces/{ws}/api-keys/{key}",
        status_code=204,
        response_class=Response,
        operation_id="revoke_api_key",
        summary="Revoke an API key: by its id (key_…), or a managed key by its name",
        tags=["api_keys"],
    )
    def delete_key(
        ctx: WriteCtx,
        key: Annotated[str, Path(description="The key's id (key_…) or a managed key's name.")],
        if_match: IfMatch = None,
    ) -> Response:
        if key.startswith("key_"):
            return revoke(ctx, key)
        return managed_keys.revoke(ctx, key, if_match)

    @router.get(
        "/v1/workspaces/{ws}/audit",
        response_model=AuditPage,
        operation_id="list_audit",
        summary="The audit log, newest first; filtered by kind, key and since",
        tags=["audit"],
        responses=NOT_MODIFIED,
    )
    def get_audit(
        ctx: ReadCtx,
        limit: Limit = None,
        cursor: Cursor = None,
        kind: AuditKinds = None,
        key: AuditKeys = None,
        since: Since = None,
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        return read_audit(ctx, limit, cursor, kind, key, since)

    return router
