"""``GET|POST /v1/workspaces``: the workspaces a key reaches; agencies create sub-accounts."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import Connection, and_, select
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from .. import store
from ..admin import default_owner, provision
from ..context import JSON, Ctx, Reply, agency_writer, caller, run_write
from ..db import is_sqlite, items, transaction, workspaces
from ..limits import check_agency_room
from ..problems import ProblemError
from ..schemas import ITEM, WorkspaceCreate, WorkspacePage
from .collections import Cursor, Limit, cursor_position, etag_header, page_body


def list_workspaces(ctx: Ctx, limit: int | None, cursor: str | None) -> Response:
    size = min(limit or ctx.settings.default_page_size, ctx.settings.max_page_size)
    after = cursor_position(cursor)
    who = ctx.who
    if who.workspace_id is not None:
        scope = workspaces.c.id == who.workspace_id
    else:
        scope = workspaces.c.agency_id == who.agency_id
    cond = [scope]
    if after is not None:
        cond.append(workspaces.c.slug > after)
    query = (
        select(workspaces.c.slug, items.c.body)
        .join(
            items,
            and_(
                items.c.workspace_id == workspaces.c.id,
                items.c.kind == "workspace",
                items.c.ident == store.SINGLETON,
            ),
        )
        .where(and_(*cond))
        .order_by(workspaces.c.slug)
        .limit(size + 1)
    )
    with transaction(ctx.sandbox.engine) as conn:
        rows = conn.execute(query).all()
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = store.encode_cursor(rows[-1].slug)
    return Response(page_body([r.body for r in rows], next_cursor), media_type=JSON)


def create_workspace(ctx: Ctx, body: WorkspaceCreate) -> Response:
    if ctx.who.agency_id is None:
        raise ProblemError(403, "only an agency key can create workspaces (sub-accounts)")
    agency_id = ctx.who.agency_id
    profile_fields = body.model_dump(exclude={"owner"}, exclude_none=True)
    if "name" not in profile_fields:
        profile_fields["name"] = body.slug
    from ...model import Workspace

    profile = Workspace.model_validate(profile_fields)
    owner = body.owner or default_owner(body.slug)

    def work(conn: Connection) -> Reply:
        if conn.execute(select(workspaces.c.id).where(workspaces.c.slug == body.slug)).first():
            raise ProblemError(409, f"the slug '{body.slug}' is taken; choose another")
        check_agency_room(conn, agency_id, ctx.settings.bounds)
        ref = _provision_or_409(
            conn, body.slug, lambda: provision(conn, profile, owner, agency_id, ctx.now_iso)
        )
        item = store.get(conn, ref.id, "workspace", store.SINGLETON, ctx.now_iso)
        assert item is not None
        return Reply(
            201,
            item.body,
            {
                **etag_header(item.etag),
                "Location": f"/v1/workspaces/{ref.slug}",
                "Wscfg-Workspace": ref.slug,
            },
            [store.AuditedWrite("create", "workspace", "", None, item.text)],
            workspace_id=ref.id,
        )

    return run_write(ctx, work)


def _provision_or_409(conn: Connection, slug: str, make: Callable[[], Any]) -> Any:
    """Provision, or 409 when another agency took ``slug`` at the same moment.

    The check above cannot see a workspace another transaction is creating (each agency
    locks only itself): PostgreSQL then refuses the insert on ``workspaces_slug_key``. The
    insert runs in a savepoint, so the refusal becomes the same 409 the check gives. (SQLite
    runs one write at a time: the check above always sees the winner.)"""
    if is_sqlite(conn):
        return make()
    try:
        with conn.begin_nested():
            return make()
    except IntegrityError:
        if conn.execute(select(workspaces.c.id).where(workspaces.c.slug == slug)).first():
            raise ProblemError(409, f"the slug '{slug}' is taken; choose another") from None
        raise


def build_router() -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/workspaces",
        response_model=WorkspacePage,
        operation_id="list_workspaces",
        summary="The workspaces this key reaches (an agency's sub-accounts)",
        tags=["workspace"],
    )
    def get_workspaces(
        ctx: Annotated[Ctx, Depends(caller)], limit: Limit = None, cursor: Cursor = None
    ) -> Response:
        return list_workspaces(ctx, limit, cursor)

    @router.post(
        "/v1/workspaces",
        response_model=ITEM["workspace"],
        status_code=201,
        operation_id="create_workspace",
        summary="Create a sub-account (agency keys only)",
        tags=["workspace"],
    )
    def post_workspace(
        ctx: Annotated[Ctx, Depends(agency_writer)], body: WorkspaceCreate
    ) -> Response:
        return create_workspace(ctx, body)

    return router
