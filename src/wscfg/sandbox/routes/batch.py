"""``POST …/blocked-callers:batch``: add, re-note and remove thousands of numbers at once.

One request reads the affected rows with a few ``IN`` queries and writes with executemany:
never a query per number.
"""

from fastapi import APIRouter
from sqlalchemy import Connection
from starlette.responses import Response

from ...model import BY_NAME
from .. import store
from ..context import Ctx, Reply, WriteCtx, run_write
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
        inserts, updates, changes = [], [], []
        unchanged = 0
        for number, data in wanted.items():
            row = store.row_values(ws, KIND.name, number, data, now)
            old = existing.get(number)
            if old is None:
                inserts.append(row)
                changes.append(store.Change("create", KIND.name, number, None, row["data"]))
            elif old.text != row["data"]:
                updates.append(row)
                changes.append(store.Change("update", KIND.name, number, old.text, row["data"]))
            else:
                unchanged += 1
        removed = [n for n in gone if n in existing]
        changes.extend(
            store.Change("delete", KIND.name, n, existing[n].text, None) for n in removed
        )
        store.insert_rows(conn, inserts)
        store.update_rows(conn, updates)
        store.delete_idents(conn, ws, KIND.name, removed)
        result = BatchResult(
            added=len(inserts), updated=len(updates), unchanged=unchanged, removed=len(removed)
        )
        return Reply(200, result.model_dump_json(), changes=changes)

    return run_write(ctx, work)


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
