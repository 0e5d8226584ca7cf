"""Concurrent editors (issue 6 §4; DESIGN §6.3): someone changes the workspace between plan
and apply, or while apply runs; two applies run on one workspace at once.

- between plan and apply: the saved plan is refused before any write (tests/cli covers an
  item *created* meanwhile; here: changed and deleted);
- during apply: the one stale write fails with 412 and says so, the other changes land, the
  edit survives (no lost update), and the next plan + apply finishes;
- two `wscfg apply` processes at once: the workspace stays valid, nothing is created twice,
  and a plain plan + apply converges afterwards.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from wscfg.api.workspace import WorkspaceClient
from wscfg.cli import cli
from wscfg.sandbox.faults import caller_id
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server, unique

from .checks import big_config, cli_env, duplicate_creates, integrity_violations, wscfg

TAGS = """\
version: 1
workspace: {slug: SLUG}
call_tags:
  - {name: a, color: "#112233"}
  - {name: b, color: "#112233"}
  - {name: c, color: "#112233"}
"""


@pytest.fixture
def ws(sandbox: SandboxServer) -> SandboxWorkspace:
    """A workspace holding tags a, b, c, d (black); the config recolours a-c, deletes d."""
    ws = sandbox.new_workspace("editors")
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        for name in "abcd":
            c.post("/call-tags", json={"name": name, "color": "#000000"}).raise_for_status()
    return ws


@pytest.fixture
def run(sandbox: SandboxServer, ws: SandboxWorkspace, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return invoke


def ui(sandbox: SandboxServer, ws: SandboxWorkspace) -> httpx.Client:
    """Someone else, with their own key, editing as a UI does (no If-Match)."""
    key = sandbox.issue_key(workspace=ws.slug, name="the UI")
    return httpx.Client(base_url=ws.url, headers={"Authorization": f"Bearer {key}"})


def tags(ws: SandboxWorkspace) -> dict[str, dict[str, Any]]:
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        return {t["name"]: t for t in c.get("/call-tags").raise_for_status().json()["items"]}


def test_saved_plan_is_refused_when_an_item_changed_or_vanished(
    run: Any, sandbox: SandboxServer, ws: SandboxWorkspace, tmp_path: Path
) -> None:
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(TAGS.replace("SLUG", ws.slug))
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--allow-mass-changes", "-o", str(plan_file), str(cfg)).exit_code == 0
    with ui(sandbox, ws) as c:
        c.patch("/call-tags/b", json={"description": "UI edit"}).raise_for_status()
        c.delete("/call-tags/c").raise_for_status()
        c.delete("/call-tags/d").raise_for_status()
    before = sandbox.item_rows(ws.slug)
    result = run("apply", "--auto-approve", str(plan_file))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "Error: the saved plan is stale: these items changed since it was made, nothing was "
        "written:"
    )
    assert lines[1].startswith(f"  - {ws.slug}: call_tags[b] changed (ETag ")
    assert lines[2:] == [
        f"  - {ws.slug}: call_tags[c] no longer exists",
        f"  - {ws.slug}: call_tags[d] is already as this plan would leave it",
        "Run `wscfg plan` again and review it.",
    ]
    assert sandbox.item_rows(ws.slug) == before  # nothing was written


def test_edit_during_apply_fails_that_one_write_with_412_and_is_not_lost(
    run: Any,
    sandbox: SandboxServer,
    ws: SandboxWorkspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(TAGS.replace("SLUG", ws.slug))
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--allow-mass-changes", "-o", str(plan_file), str(cfg)).exit_code == 0
    editor = ui(sandbox, ws)
    original = WorkspaceClient.update
    edited: list[str] = []

    async def update_racing_the_ui(self: WorkspaceClient, kind: Any, key: str, *a: Any, **k: Any):
        if not edited:  # the saved plan passed its freshness check; now the UI edits c and d
            editor.patch("/call-tags/c", json={"description": "UI edit"}).raise_for_status()
            editor.patch("/call-tags/d", json={"color": "#ffffff"}).raise_for_status()
            edited.append(key)
        return await original(self, kind, key, *a, **k)

    monkeypatch.setattr(WorkspaceClient, "update", update_racing_the_ui)
    result = run("apply", "--auto-approve", str(plan_file))
    monkeypatch.setattr(WorkspaceClient, "update", original)
    stale = (
        "changed by someone else since it was read (412 Precondition Failed); nothing was "
        "overwritten: run `wscfg plan` again"
    )
    assert result.exit_code == 3
    assert result.stdout.splitlines()[-5:] == [
        f"✓ {ws.slug}: ~ call tag a",
        f"✓ {ws.slug}: ~ call tag b",
        f"✗ {ws.slug}: ~ call tag c: {stale}",
        f"✗ {ws.slug}: - call tag d: {stale}",
        f"{ws.slug}: 2 applied, 2 failed, 0 not attempted",
    ]
    assert result.stderr.endswith(
        "Error: apply stopped part-way; run `wscfg plan` to see what is left\n"
    )
    now = tags(ws)
    assert {n: t["color"] for n, t in now.items()} == {
        "a": "#112233",
        "b": "#112233",
        "c": "#000000",  # the stale write did not land …
        "d": "#ffffff",  # … nor did the stale delete: the UI's edit is kept
    }
    assert now["c"]["description"] == "UI edit"
    # The next run sees the edits and finishes; the UI's description (unmanaged) survives.
    again = run("plan", "--detailed-exitcode", str(cfg))
    assert again.exit_code == 2
    assert "~ call tag c" in again.stdout and "- call tag d" in again.stdout
    assert run("apply", "--auto-approve", "--allow-mass-changes", str(cfg)).exit_code == 0
    assert run("plan", "--detailed-exitcode", str(cfg)).exit_code == 0
    final = tags(ws)
    assert sorted(final) == ["a", "b", "c"]
    assert final["c"]["description"] == "UI edit" and final["c"]["color"] == "#112233"
    editor.close()


def test_blocked_caller_note_edited_during_apply_is_kept(
    sandbox: SandboxServer, ws: SandboxWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(
        f"version: 1\nworkspace: {{slug: {ws.slug}}}\ncall_tags: [{{name: a}}]\n"
        "blocked_callers: [{number: '+15550100100', note: from config}]\n"
    )
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.post("/blocked-callers", json={"number": "+15550100100", "note": "old"})
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    plan_file = tmp_path / "plan.json"
    runner = CliRunner()
    made = runner.invoke(cli, ["plan", "--allow-mass-changes", "-o", str(plan_file), str(cfg)])
    assert made.exit_code == 0
    editor = ui(sandbox, ws)
    original = WorkspaceClient.batch_blocked_callers

    async def batch_racing_the_ui(self: WorkspaceClient, *a: Any, **k: Any) -> Any:
        editor.patch("/blocked-callers/%2B15550100100", json={"note": "UI"}).raise_for_status()
        return await original(self, *a, **k)

    monkeypatch.setattr(WorkspaceClient, "batch_blocked_callers", batch_racing_the_ui)
    result = runner.invoke(cli, ["apply", "--auto-approve", str(plan_file)])
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        note = c.get("/blocked-callers/%2B15550100100").json()["note"]
    editor.close()
    assert note == "UI"
    # The batch carried the planned ETag for that number: it was left alone and reported.
    assert result.exit_code == 3, result.output
    assert (
        f"✗ {ws.slug}: ~ blocked caller +15550100100: changed by someone else since it was read "
        "(412 Precondition Failed)" in result.stdout
    )


@pytest.fixture(scope="module")
def slow_writes(db_url: str | None) -> Iterator[SandboxServer]:
    """A sandbox whose writes take 40-80 ms each, so each apply below writes for seconds."""
    with running_server(db_url, faults="latency=40-80ms,methods=POST+PATCH+DELETE") as server:
        server.faults.configure(enabled=False)  # on only while the two applies race
        yield server


@pytest.mark.parametrize("fight", [False, True], ids=["same-config", "fighting-configs"])
def test_two_applies_at_once_never_corrupt_the_workspace(
    slow_writes: SandboxServer, tmp_path: Path, fight: bool
) -> None:
    """Two `wscfg apply` processes on one workspace at once: with the same config (both try
    every create), or with overlapping configs that fight (each deletes what the other adds).
    Both end with exit 0 or 3 (a lost race is reported, never a crash); the workspace stays
    valid, nothing is created twice, and a plan + apply of either config converges after.
    The server's request trail proves the two really overlapped: each one's writes fall
    inside the other's span of writes."""
    sandbox = slow_writes
    ws = sandbox.new_workspace("twice")
    keys = (ws.key, sandbox.issue_key(workspace=ws.slug, name="second"))
    env = cli_env(sandbox.url, ws.key)
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(big_config(ws.slug, tags=range(0, 80), members=range(40), numbers=range(500)))
    b.write_text(
        big_config(
            ws.slug,
            tags=range(40, 120),
            members=range(20, 60),
            numbers=range(250, 750),
            color="#445566",
        )
    )
    cmd = [sys.executable, "-m", "wscfg", "apply", "--auto-approve", "--allow-mass-changes"]
    start = len(sandbox.faults.trail)
    sandbox.faults.configure(enabled=True)
    procs = [
        subprocess.Popen(
            [*cmd, str(cfg)],
            env=cli_env(sandbox.url, key),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cfg, key in zip((a, b) if fight else (a, a), keys, strict=True)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert "Traceback" not in out + err
        assert p.returncode in (0, 3), err
        if p.returncode == 3:
            assert "✗" in out and "apply stopped part-way" in err
    sandbox.faults.configure(enabled=False)  # the checks below need no slow writes
    trail = sandbox.faults.trail[start:]
    first, second = ([t for t, _, who in trail if who == caller_id(f"Bearer {k}")] for k in keys)
    assert first and second, "each apply wrote something"
    assert min(first) < max(second) and min(second) < max(first), "the applies did not overlap"
    assert integrity_violations(sandbox.db_url, ws.slug) == []
    assert duplicate_creates(ws) == []
    for cfg in (b, a):
        done = wscfg(*cmd[3:], str(cfg), env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stdout[-2000:]
        check = wscfg("plan", "--detailed-exitcode", str(cfg), env=env, cwd=tmp_path)
        assert check.returncode == 0, check.stdout[-2000:]
    assert integrity_violations(sandbox.db_url, ws.slug) == []
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        snap = c.get("/settings").raise_for_status().json()
    assert sorted(t["name"] for t in snap["call_tags"]) == [f"t{i:04d}" for i in range(80)]
    owners = [m["email"] for m in snap["members"] if m["role"] == "owner"]
    assert owners == [f"owner@{ws.slug}.example"]


def test_two_identical_applies_creating_the_same_workspaces_both_succeed(
    db_url: str | None, tmp_path: Path
) -> None:
    """Two identical `wscfg apply --create-missing` of a new fleet at once (issue 22, item 7):
    each finds the workspaces missing and creates them; the server takes one create per slug
    and answers the other 409. The loser reads its workspaces back: reachable with its key,
    they were created meanwhile by the other run, which is what it asked for. Both runs
    succeed (exit 0) and say so, and no workspace exists twice. Workspace creates take 3 s
    on the server, so both runs are past their check for missing workspaces before either
    create lands."""
    with running_server(db_url, faults="latency=3000ms,methods=POST") as server:
        agency = server.new_agency()
        prefix = unique("twin")
        slugs = [f"{prefix}-{i}" for i in range(3)]
        for slug in slugs:
            (tmp_path / f"{slug}.yaml").write_text(
                f"version: 1\nworkspace: {{slug: {slug}, name: Twin clinic}}\n"
                "members:\n  - {email: ops@agency.example, role: owner}\n"
            )
        env = cli_env(server.url, agency.key)
        argv = [sys.executable, "-m", "wscfg", "apply", "--auto-approve", "--create-missing", "."]
        procs = [
            subprocess.Popen(
                argv,
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        said = [p.communicate(timeout=180) for p in procs]
        for p, (out, err) in zip(procs, said, strict=True):
            assert "Traceback" not in out + err
            assert p.returncode == 0, out[-2000:] + err
            assert "have no config file" not in err
            assert "Could not create" not in err
        errs = [err for _out, err in said]
        # both runs asked for every workspace; the server created each one once
        created = [line for err in errs for line in err.splitlines() if line.startswith("Created")]
        meanwhile = [line for err in errs for line in err.splitlines() if "meanwhile" in line]
        assert meanwhile, errs  # the race happened: a create was answered 409
        for line in meanwhile:
            found = re.fullmatch(
                r"(\d) workspace\(s\) created meanwhile by another run \(a create answered 409; "
                r"this key reaches them\): (.*)",
                line,
            )
            assert found, line
            assert found.group(2).split(", ") == sorted(found.group(2).split(", "))
            assert set(found.group(2).split(", ")) <= set(slugs)
            assert int(found.group(1)) == len(found.group(2).split(", "))
        assert created, errs
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {agency.key}"}
        ) as c:
            listed = [w["slug"] for w in c.get("/v1/workspaces").raise_for_status().json()["items"]]
        assert sorted(listed) == slugs
        check = wscfg("plan", "--detailed-exitcode", ".", env=env, cwd=tmp_path)
        assert check.returncode == 0, check.stdout[-2000:] + check.stderr
