"""The security policy: ``security.require_2fa`` is managed like any singleton, and the plan
notes (without failing) which active members have no two-factor authentication yet. The
sandbox's per-member flag is set with ``wscfg sandbox two-factor``. The CLI against a real
sandbox over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from .runner import invoke


@pytest.fixture
def setup(sandbox, served_workspace):
    return sandbox, *served_workspace


def config(slug: str, require: bool) -> str:
    return (
        f"version: 1\nworkspace: {{slug: {slug}}}\n"
        f"security: {{require_2fa: {str(require).lower()}}}\n"
    )


def test_require_2fa_plans_notes_and_converges(setup):
    sandbox, ws, path = setup
    members = (
        f"version: 1\nworkspace: {{slug: {ws.slug}}}\nmembers:\n"
        "  - {email: owner@x.example, role: owner}\n"
        "  - {email: a@x.example, role: member}\n"
        "  - {email: b@x.example, role: member}\n"
    )
    path.write_text(members)
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0
    sandbox.accept_invitation(ws.slug, "a@x.example")  # b stays pending: not counted

    path.write_text(config(ws.slug, True))
    plan = invoke("plan", str(path))
    assert plan.exit_code == 0
    assert plan.stdout.splitlines()[1:] == [
        f"  ~ security policy   (from {path}:3)",
        "      require_2fa: false → true  (replaces the platform's default)",
        "  Note: security.require_2fa: 2 active members have no two-factor authentication yet "
        "(a@x.example, owner@x.example); they are asked to set it up at their next login",
        "  Plan: 0 to add, 1 to change, 0 to delete.",
        "  Origins: 0 from the config, 1 replacing the platform's default.",
    ]
    as_json = json.loads(invoke("plan", "--format", "json", str(path)).stdout)
    assert as_json["targets"][0]["without_2fa"] == ["a@x.example", "owner@x.example"]

    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0
    r = httpx.get(f"{ws.url}/security", headers=ws.headers)
    assert r.json()["require_2fa"] is True

    # a member sets 2FA up in the UI: one fewer in the note; nothing to change
    done = invoke(
        "sandbox", "two-factor", "--db", sandbox.db_url, "--workspace", ws.slug, "a@x.example"
    )
    assert done.exit_code == 0
    assert f"Two-factor authentication of a@x.example in '{ws.slug}' is on." in done.stderr
    plan = invoke("plan", str(path))
    assert plan.exit_code == 0
    assert (
        "Note: security.require_2fa: 1 active member has no two-factor authentication yet "
        "(owner@x.example)" in plan.stdout
    )
    assert "No changes. The live workspace matches the configuration." in plan.stdout

    # the flag is the platform's: exported members never carry it, and a member update keeps it
    exported = invoke("export", "--workspace", ws.slug)
    assert exported.exit_code == 0
    assert "two_factor" not in exported.stdout
    assert "security:\n  require_2fa: true\n" in exported.stdout
    r = httpx.get(f"{ws.url}/members/a@x.example", headers=ws.headers)
    assert r.json()["two_factor"] is True


def test_no_note_when_2fa_is_not_required(setup):
    _, ws, path = setup
    path.write_text(config(ws.slug, False))
    plan = invoke("plan", str(path))
    assert plan.exit_code == 0
    assert "two-factor" not in plan.stdout
    assert "No changes." in plan.stdout


def test_two_factor_helper_refuses_unknown_and_pending_members(setup):
    sandbox, ws, path = setup
    base = ("sandbox", "two-factor", "--db", sandbox.db_url, "--workspace", ws.slug)
    unknown = invoke(*base, "nobody@x.example")
    assert unknown.exit_code == 1
    assert f"nobody@x.example is not a member of '{ws.slug}'" in unknown.stderr
    path.write_text(
        f"version: 1\nworkspace: {{slug: {ws.slug}}}\nmembers:\n"
        "  - {email: owner@x.example, role: owner}\n  - {email: p@x.example, role: member}\n"
    )
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0
    pending = invoke(*base, "p@x.example")
    assert pending.exit_code == 1
    assert "p@x.example has not accepted their invitation yet" in pending.stderr


def test_security_is_validated(setup):
    _, ws, path = setup
    path.write_text(f"version: 1\nworkspace: {{slug: {ws.slug}}}\nsecurity: {{require_2fa: 1}}\n")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert f"{path}:3:25: security.require_2fa: must be true or false, not the number 1" in (
        result.output
    )


def test_a_workspace_made_before_security_existed(setup):
    """Its security row is missing: the API reads the default, the first write stores it."""
    from sqlalchemy import delete, select

    from wscfg.sandbox.db import get_engine, items, transaction, workspaces

    sandbox, ws, path = setup
    ws_id = select(workspaces.c.id).where(workspaces.c.slug == ws.slug).scalar_subquery()
    with transaction(get_engine(sandbox.db_url), write=True) as conn:
        conn.execute(
            delete(items).where(
                items.c.workspace_id == ws_id, items.c.kind == "security", items.c.ident == ""
            )
        )
    assert ("security", "") not in sandbox.item_rows(ws.slug)
    r = httpx.get(f"{ws.url}/security", headers=ws.headers)
    assert r.status_code == 200
    assert r.json()["require_2fa"] is False
    # The snapshot agrees with GET, ETag included (over HTTP and on the in-process read path).
    snap = httpx.get(f"{ws.url}/settings", headers=ws.headers)
    assert snap.status_code == 200
    assert snap.json()["security"] == r.json()
    assert snap.json()["security"]["etag"] == r.headers["ETag"].strip('"')
    if sandbox.db_url.startswith("sqlite:///"):
        from pathlib import Path

        from wscfg.sandbox.local import LocalReader

        db = Path(sandbox.db_url.removeprefix("sqlite:///"))
        assert LocalReader(db, ws.key).snapshot_text(ws.slug) == snap.text
    path.write_text(config(ws.slug, False))  # the default: nothing to change
    assert invoke("plan", "--detailed-exitcode", str(path)).exit_code == 0
    path.write_text(config(ws.slug, True))
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0
    assert '"require_2fa":true' in sandbox.item_rows(ws.slug)[("security", "")]
    assert invoke("plan", "--detailed-exitcode", str(path)).exit_code == 0
