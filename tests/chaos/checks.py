"""Helpers of the CLI-level chaos tests: run `python -m wscfg`, write big configs, and check a
workspace after an interrupted run (crash, concurrent apply) against the plan it ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from wscfg.engine.changes import Change
from wscfg.engine.plan import Plan, plans_from_document
from wscfg.model import BY_NAME, KINDS
from wscfg.sandbox.store import etag_of, without_etag
from wscfg.sandbox.testing import SandboxWorkspace

from .harness import _landed, audit_entries

Rows = dict[tuple[str, str], str]


def wscfg(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m wscfg ARGS`` to completion; the output must never hold a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "wscfg", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def cli_env(server_url: str, key: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_")}
    return {
        **env,
        "WSCFG_SERVER": server_url,
        "WSCFG_TOKEN": key,
        "PYTHONUNBUFFERED": "1",
        "PYTHONWARNINGS": "ignore",
        **extra,
    }


def big_config(
    slug: str,
    *,
    tags: range,
    members: range,
    numbers: range,
    color: str = "#112233",
    domain: str = "crash.example",
) -> str:
    """Hundreds of tags and members and thousands of blocked callers (kinds managed exactly);
    roles, webhooks, call rules and notifications are left unmanaged."""
    lines = [
        "version: 1",
        f"workspace: {{slug: {slug}}}",
        "members:",
        f"  - {{email: owner@{slug}.example, role: owner}}",
        *(f"  - {{email: m{i:04d}@{domain}, role: member}}" for i in members),
        "call_tags:",
        *(f"  - {{name: t{i:04d}, color: '{color}'}}" for i in tags),
        "blocked_callers:",
        *(f"  - '+1555030{i:04d}'" for i in numbers),
    ]
    return "\n".join(lines) + "\n"


def load_plan(path: Path) -> Plan:
    plans, _server = plans_from_document(json.loads(path.read_text()))
    (plan,) = plans
    return plan


def _no_secrets(change: Change, name: str, marker: dict[str, Any]) -> str:
    raise AssertionError(f"{change.address}: these plans hold no secrets")


def interrupted_run_violations(
    plan: Plan, before: Rows, after: Rows, audit: list[dict[str, Any]]
) -> list[str]:
    """What an interrupted apply of ``plan`` may have done: each item it names is either as
    before or as the plan wants it (never a third state, never half a batch entry); nothing
    else changed; every write of the run is of a planned item and happened at most once."""
    out: list[str] = []
    named = {(c.kind, c.key): c for c in plan.changes}
    for item in sorted((set(before) | set(after)) - set(named)):
        if before.get(item) != after.get(item):
            out.append(f"{item} is outside the plan but changed")
    for item, change in named.items():
        if after.get(item) == before.get(item):
            continue
        if not _landed(change, _no_secrets, before.get(item), after.get(item)):
            out.append(f"{change.address} is neither as before nor as planned: {after.get(item)}")
    writes = Counter((e["kind"], e["key"]) for e in audit)
    for item, n in sorted(writes.items()):
        if item not in named:
            out.append(f"{item} was written but is not in the plan")
        elif n > 1:
            out.append(f"{named[item].address} was written {n} times")
    return out


def duplicate_creates(ws: SandboxWorkspace) -> list[tuple[str, str]]:
    creates = Counter((e["kind"], e["key"]) for e in audit_entries(ws) if e["action"] == "create")
    return sorted(k for k, n in creates.items() if n > 1)


def integrity_violations(db_url: str, slug: str) -> list[str]:
    """The database is sound (SQLite's integrity check; PostgreSQL checks its own pages), and
    every stored item of ``slug`` is valid: its ETag is the hash of its content, it validates
    with its kind's model, and the workspace keeps an active owner. Read through the
    sandbox's own database layer, whatever the database is."""
    from sqlalchemy import select
    from sqlalchemy import text as sql

    from wscfg.sandbox.db import get_engine, is_sqlite, items, workspaces

    out: list[str] = []
    engine = get_engine(db_url)
    with engine.connect() as db:
        if is_sqlite(engine):
            status = db.execute(sql("PRAGMA integrity_check")).scalar()
            if status != "ok":
                out.append(f"integrity_check: {status}")
        ws_id = select(workspaces.c.id).where(workspaces.c.slug == slug).scalar_subquery()
        rows = db.execute(
            select(items.c.kind, items.c.ident, items.c.body, items.c.etag).where(
                items.c.workspace_id == ws_id
            )
        ).all()
    owners = 0
    for kind_name, ident, body, etag in rows:
        text = without_etag(body, etag)
        if etag_of(text) != etag or json.loads(body).get("etag") != etag:
            out.append(f"{kind_name}[{ident}]: the ETag does not match the content")
        kind = BY_NAME[kind_name]
        data = json.loads(text)
        data.pop("status", None)
        data.pop("invited_at", None)
        data.pop("expires_at", None)
        data.pop("secret_fingerprint", None)
        try:
            kind.model.model_validate(data)
        except ValueError as exc:
            out.append(f"{kind_name}[{ident}] does not validate: {exc}")
        if kind_name == "members" and data.get("role") == "owner" and '"active"' in body:
            owners += 1
    if owners < 1:
        out.append("no active owner")
    kinds = {k for k, _ in ((r[0], r[1]) for r in rows)}
    for kind in KINDS:
        if kind.singleton and kind.name not in kinds:
            out.append(f"the {kind.name} singleton is missing")
    return out
