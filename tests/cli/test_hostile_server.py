"""A hostile or stuck server cannot tie up or trick the client: the sandbox itself plays the
server (a fault that drips every answer, workspace slugs written straight into its store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from wscfg.sandbox.db import get_engine, items, workspaces
from wscfg.sandbox.testing import running_server

from .runner import invoke


@pytest.mark.timeout(120)
def test_a_dripping_server_is_cut_by_the_run_timeout(tmp_path: Path, monkeypatch) -> None:
    """The server answers one byte a second, forever in effect: `--timeout` ends the run with a
    clear error and exit 1 (the client's own per-request deadline is 150 s)."""
    with running_server(faults="drip=1,drip-every=1") as server:
        ws = server.new_workspace()
        monkeypatch.setenv("WSCFG_SERVER", server.url)
        monkeypatch.setenv("WSCFG_TOKEN", ws.key)
        monkeypatch.chdir(tmp_path)
        cfg = tmp_path / "ws.yaml"
        cfg.write_text(f"version: 1\nworkspace: {{slug: {ws.slug}, name: Drip}}\n")
        result = invoke("plan", "--timeout", "3", str(cfg))
        assert result.exit_code == 1
        assert result.stderr == (
            "Error: gave up after --timeout 3 s; nothing was written (raise --timeout for a slow "
            "server or a large fleet)\n"
        )
        assert result.stdout == ""


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_negative_timeout_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = invoke("plan", "--timeout", value, str(tmp_path / "x.yaml"))
    assert result.exit_code == 1
    assert "--timeout: must be 0 (no limit) or more seconds" in result.stderr


def test_export_all_skips_hostile_slugs_and_exports_the_rest(tmp_path: Path, monkeypatch) -> None:
    with running_server() as server:
        agency = server.new_agency()
        good = ["clinic-a", "clinic-b"]
        for slug in [*good, "evil-one", "evil-two"]:
            server.create_workspace(slug, agency=agency.name)
        with get_engine(server.db_url).begin() as conn:  # a server that lists odd slugs
            for old, new in (("evil-one", "../../x"), ("evil-two", "a/b")):
                wid = conn.execute(select(workspaces.c.id).where(workspaces.c.slug == old)).scalar()
                conn.execute(update(workspaces).where(workspaces.c.id == wid).values(slug=new))
                where = (items.c.workspace_id == wid) & (items.c.kind == "workspace")
                body = json.loads(conn.execute(select(items.c.body).where(where)).scalar())
                conn.execute(
                    update(items).where(where).values(body=json.dumps({**body, "slug": new}))
                )
        monkeypatch.setenv("WSCFG_SERVER", server.url)
        monkeypatch.setenv("WSCFG_TOKEN", agency.key)
        monkeypatch.chdir(tmp_path)
        result = invoke("export", "--all", "-o", "out")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Exported 2 workspace(s) to out/",
        "Error: skipped workspace '../../x': not a valid workspace slug",
        "Error: skipped workspace 'a/b': not a valid workspace slug",
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{s}.yaml" for s in good]
    assert not (tmp_path / "x.yaml").exists() and not (tmp_path / "out" / "a").exists()


@pytest.mark.timeout(300)
def test_a_server_sending_an_endless_answer_is_cut_at_the_cap(tmp_path: Path, monkeypatch) -> None:
    """The sandbox's `huge` fault answers every read with `[{},{},…` that does not end: the run
    stops reading at the cap (32 MiB for this first read) and exits 1 naming the request;
    nothing is written (docs/reliability.md, "Memory")."""
    with running_server(faults="huge=1,huge-bytes=67108864") as server:
        ws = server.new_workspace()
        monkeypatch.setenv("WSCFG_SERVER", server.url)
        monkeypatch.setenv("WSCFG_TOKEN", ws.key)
        monkeypatch.chdir(tmp_path)
        cfg = tmp_path / "ws.yaml"
        cfg.write_text(f"version: 1\nworkspace: {{slug: {ws.slug}, name: Huge}}\n")
        result = invoke("plan", "--parallel", "8", str(cfg))
        assert result.exit_code == 1
        assert result.stderr == (
            "Error: the answer is too large (more than 33554432 bytes); reading stopped "
            f"(GET {server.url}/v1/workspaces)\n"
        )
        assert result.stdout == ""
