"""``POST …/blocked-callers:batch``: add, re-note and remove thousands of numbers at once.

One request reads the affected rows with a few ``IN`` queries and writes with executemany:
never a query per number. ``if_match`` gives each number the precondition an item's If-Match
would: a number changed since the caller read it is left alone and reported in ``conflicts``.
"""

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection
from starlette.responses import Response

from ...model import BY_NAME
from .. import store
from ..context import Ctx, Reply, WriteCtx, run_write
from ..limits import check_room
from ..problems import invalid
from ..schemas import Batch, BatchResult

KIND = BY_NAME["blocked_callers"]


def batch(ctx: Ctx, body: Batch) -> Response:
    total = len(body.add) + len(body.remove)
    if total > ctx.settings.max_batch:
        raise invalid(["body"], f"at most {ctx.settings.max_batch} entries per batch; got {total}")
    wanted: dict[str, dict[str, str]] = {}
    for i, caller in enumerate(body.add):
        if caller.number in wanted:
            raise invalid(["body", "add", i, "number"], f"{caller.number} is listed twice")
        wanted[caller.number] = caller.model_dump(mode="json", exclude_none=True)
    gone = list(dict.fromkeys(body.remove))
    for i, number in enumerate(body.remove):
        if number in wanted:
            raise invalid(["body", "remove", i], f"{number} is both added and removed")

    def work(conn: Connection) -> Reply:
        ws, now = ctx.workspace.id, ctx.now_iso
        existing = store.get_many(conn, ws, KIND.name, [*wanted, *gone], now)
        rows = {n: store.row_values(ws, KIND.name, n, d, now) for n, d in wanted.items()}
        # A number changed since the caller read it is left alone, unless it is already as
        # the caller wants it (then there is nothing to overwrite).
        conflicts = [
            n
            for n, tag in body.if_match.items()
            if not _holds(existing.get(n), tag)
            and not _already(existing.get(n), rows.get(n), n in gone)
        ]
        skip = set(conflicts)
        inserts, updates, changes = [], [], []
        unchanged = 0
        for number, row in rows.items():
            if number in skip:
                continue
            old = existing.get(number)
            if old is None:
                inserts.append(row)
                changes.append(store.AuditedWrite("create", KIND.name, number, None, row["data"]))
            elif old.text != row["data"]:
                updates.append(row)
                changes.append(
                    store.AuditedWrite("update", KIND.name, number, old.text, row["data"])
                )
            else:
                unchanged += 1
        removed = [n for n in gone if n in existing and n not in skip]
        check_room(conn, ws, KIND.name, len(inserts) - len(removed), ctx.settings.bounds)
        changes.extend(
            store.AuditedWrite("delete", KIND.name, n, existing[n].text, None) for n in removed
        )
        store.insert_rows(conn, inserts)
        store.update_rows(conn, updates)
        store.delete_idents(conn, ws, KIND.name, removed)
        result = BatchResult(
            added=len(inserts),
            updated=len(updates),
            unchanged=unchanged,
            removed=len(removed),
            conflicts=conflicts,
        )
        # conflicts only appear when there are some (answers stay as before for callers that
        # send no if_match)
        text = result.model_dump_json(exclude=None if conflicts else {"conflicts"})
        return Reply(200, text, changes=changes)

    return run_write(ctx, work)


def _holds(current: store.Item | None, expected: str | None) -> bool:
    """A per-number precondition: None means "must not exist", else the current ETag."""
    if expected is None:
        return current is None
    return current is not None and current.etag == expected.strip('"')


def _already(current: store.Item | None, row: dict[str, Any] | None, removing: bool) -> bool:
    """The number is already as the caller wants: gone, or stored with the same data."""
    if removing:
        return current is None
    return current is not None and row is not None and current.text == row["data"]


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/workspaces/{ws}/blocked-callers:batch",
        response_model=BatchResult,
        operation_id="batch_blocked_callers",
        summary="Add (or re-note) and remove up to 10,000 blocked callers in one request",
        tags=["blocked_callers"],
    )
    def post_batch(ctx: WriteCtx, body: Batch) -> Response:
        return batch(ctx, body)

    return router
