"""The public Python API (docs/python-api.md): ``wscfg.__all__`` is the contract, pinned here
as httpx pins its exported members; ``import wscfg`` stays cheap; a script using only
``wscfg.__all__`` loads, plans, applies, re-plans to zero and reads drift; and the agency
onboarding script of the docs runs against the sandbox over real HTTP."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

import wscfg
from wscfg.sandbox.testing import unique

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "python" / "onboard.py"
DOC = ROOT / "docs" / "python-api.md"


def test_all_is_the_contract():
    assert wscfg.__all__ == [
        "Allowances",
        "ApiError",
        "ApplyCancelled",
        "ApplyError",
        "ApplyResult",
        "AsyncSession",
        "AuthError",
        "ConfigError",
        "ConflictError",
        "DeadlineError",
        "Diagnostic",
        "DriftResult",
        "HTTPStatusError",
        "NotFoundError",
        "Notice",
        "OptionError",
        "PlanError",
        "PlanFileError",
        "PlanSet",
        "PreconditionFailed",
        "ProtocolError",
        "RateLimitedError",
        "Session",
        "SetupError",
        "StalePlanError",
        "TransportError",
        "UnsafePlanError",
        "ValidationReport",
        "WscfgError",
        "__version__",
        "connect",
        "connect_async",
        "load",
        "read_plan",
        "render",
        "save_plan",
        "settings_from_env",
        "validate",
    ]


def test_every_public_name_is_there_and_says_where_it_lives():
    for name in wscfg.__all__:
        value = getattr(wscfg, name)
        if name != "__version__":
            assert value.__module__.startswith("wscfg."), name
    assert set(wscfg.__all__) <= set(dir(wscfg))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = wscfg.nothing_here  # type: ignore[attr-defined]


def test_the_errors_are_the_error_tree():
    from wscfg import errors

    for name in wscfg.__all__:
        value = getattr(wscfg, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert value is getattr(errors, name)
            assert issubclass(value, wscfg.WscfgError)


def test_import_wscfg_imports_nothing_heavy():
    probe = (
        "import sys, wscfg\n"
        "print(sorted(m for m in sys.modules if m.startswith('wscfg')))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'httpx', 'pydantic', 'click', 'sqlalchemy', 'fastapi', 'ruamel'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out == ["['wscfg']", "[]"]


def test_py_typed_ships():
    assert (ROOT / "src" / "wscfg" / "py.typed").is_file()


CONFIG = """\
version: 1
workspace: {{slug: {slug}, name: Acme North, timezone: America/Chicago}}
members:
  - {{email: owner@{slug}.example, role: owner}}
  - {{email: desk@acme.example, role: front-desk}}
roles:
  - {{name: front-desk, permissions: [call_log:read]}}
call_tags:
  - {{name: spam, color: "#6b7280"}}
  - {{name: new-patient}}
"""


def test_load_plan_apply_replan_drift_on_the_embedded_sandbox(tmp_path):
    """The issue's "done when": names from ``wscfg.__all__`` only."""
    slug = unique("lib")
    (tmp_path / "ws.yaml").write_text(CONFIG.format(slug=slug))
    configs = wscfg.load([str(tmp_path / "ws.yaml")])
    notices: list[str] = []
    with wscfg.connect(embedded=True, root=tmp_path) as ws:
        plans = ws.plan(configs, on_notice=lambda n: notices.append(n.code))
        assert notices == ["embedded"]
        assert plans.changes == 5 and not plans.failures
        text = wscfg.render(plans, "text")
        assert "Plan: 4 to add, 1 to change, 0 to delete." in text
        lines: list[str] = []
        result = ws.apply(plans, on_outcome=lambda s, o: lines.append(f"{s} {o.status}"))
        assert result.ok and result.written
        assert lines == [f"{slug} done"] * 5
        assert result.lines() == [f"{slug}: 5 applied"]
        again = ws.plan(configs)
        assert again.empty and again.changes == 0
        drift = ws.drift(configs)
        assert drift.new == []
        document = json.loads(wscfg.render(drift, "json"))
        assert document["workspaces"] == [slug] and document["drift"] == []
        exported = ws.export(slug)
        assert "new-patient" in exported and f"slug: {slug}" in exported


def test_a_saved_plan_applies_exactly_and_a_stale_one_is_refused(tmp_path):
    slug = unique("lib")
    (tmp_path / "ws.yaml").write_text(CONFIG.format(slug=slug))
    configs = wscfg.load(tmp_path / "ws.yaml")
    ws = wscfg.connect(embedded=True, root=tmp_path, plan_key="k" * 32)
    wscfg.save_plan(ws.plan(configs), tmp_path / "plan.json")
    with pytest.raises(wscfg.PlanFileError):
        wscfg.read_plan(tmp_path / "plan.json", key="another key" * 3)
    saved = wscfg.read_plan(tmp_path / "plan.json", key="k" * 32)
    assert ws.apply(saved).ok
    with pytest.raises(wscfg.StalePlanError):
        ws.apply(wscfg.read_plan(tmp_path / "plan.json", key="k" * 32))


def test_a_refused_plan_and_a_declined_question_write_nothing(tmp_path):
    slug = unique("lib")
    (tmp_path / "ws.yaml").write_text(CONFIG.format(slug=slug))
    ws = wscfg.connect(embedded=True, root=tmp_path)
    plans = ws.plan(wscfg.load(tmp_path / "ws.yaml"))
    with pytest.raises(wscfg.ApplyCancelled):
        ws.apply(plans, confirm=lambda question: question.startswith("No"))
    assert ws.plan(wscfg.load(tmp_path / "ws.yaml")).changes == 5
    tags = "".join(f"  - {{name: tag-{i}}}\n" for i in range(10))
    (tmp_path / "ws.yaml").write_text(CONFIG.format(slug=slug) + tags)
    assert ws.apply(ws.plan(wscfg.load(tmp_path / "ws.yaml"))).ok
    (tmp_path / "ws.yaml").write_text(CONFIG.format(slug=slug))  # deletes 10 of 12 tags
    plans = ws.plan(wscfg.load(tmp_path / "ws.yaml"))
    assert [r.code for r in plans.refusals()] == ["mass_delete"]
    with pytest.raises(wscfg.UnsafePlanError):
        ws.apply(plans)
    allowed = ws.plan(wscfg.load(tmp_path / "ws.yaml"), allow=wscfg.Allowances(mass_changes=True))
    assert allowed.changes == 10 and allowed.refusals() == []


def test_loaded_configs_leave_the_gc_for_a_run_and_nothing_stays_frozen(sandbox, tmp_path):
    """A run of configs from wscfg.load keeps them out of the cyclic GC while it reads and
    diffs, as the CLI's own load does (a collection amid 500 decoded snapshots walked every
    loaded config: bench/fleet_cache.py); after the run, and after one that stops early (a
    declined create of a missing workspace), nothing stays frozen."""
    agency = sandbox.new_agency()
    slug = unique("gc")
    (tmp_path / "ws.yaml").write_text(CONFIG.format(slug=slug))
    configs = wscfg.load(tmp_path / "ws.yaml")
    # a workspace without a config: the run says so (a notice) after it has the configs
    sandbox.create_workspace(unique("gc-other"), agency=agency.name, owner="o@gc.example")
    gc.unfreeze()  # whatever another test in this process left
    frozen: list[int] = []
    with wscfg.connect(server=sandbox.url, token=agency.key, environ={}) as ws:
        with pytest.raises(wscfg.ApplyCancelled):
            ws.plan(configs, create_missing=True, confirm=lambda question: False)
        assert gc.get_freeze_count() == 0
        ws.plan(configs, create_missing=True, confirm=lambda question: True)
        ws.drift(configs, on_notice=lambda notice: frozen.append(gc.get_freeze_count()))
    assert gc.get_freeze_count() == 0
    assert frozen and frozen[0] > 0


@pytest.mark.anyio
async def test_the_async_twins(tmp_path):
    slug = unique("lib")
    (tmp_path / "ws.yaml").write_text(CONFIG.format(slug=slug))
    configs = wscfg.load(tmp_path / "ws.yaml")
    async with wscfg.connect_async(embedded=True, root=tmp_path) as ws:
        plans = await ws.plan(configs)
        assert (await ws.apply(plans)).ok
        assert (await ws.plan(configs)).empty
        assert (await ws.drift(configs)).new == []


class Chat(BaseHTTPRequestHandler):
    posted: list[dict[str, str]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Chat.posted.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat():
    Chat.posted = []
    server = HTTPServer(("127.0.0.1", 0), Chat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", Chat.posted
    server.shutdown()
    server.server_close()


def test_the_onboarding_script_of_the_docs_onboards_an_agency(sandbox, chat, tmp_path):
    """docs/python-api.md shows examples/python/onboard.py whole; run against an agency key,
    it creates the sub-accounts, applies, re-plans to zero and posts its summary."""
    assert SCRIPT.read_text() in DOC.read_text()
    url, posted = chat
    agency = sandbox.new_agency()
    shutil.copy(ROOT / "examples" / "agency" / "base.yaml", tmp_path / "base.yaml")
    prefix = unique("clinic")
    for i in range(3):
        (tmp_path / f"c{i}.yaml").write_text(
            "version: 1\nextends: base.yaml\n"
            f"vars: {{clinic: Clinic {i}, city: Town {i}, timezone: America/Chicago, "
            f"manager: manager{i}@smilegroup.example}}\n"
            f"workspace: {{slug: {prefix}-{i}}}\n"
        )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "WSCFG_SERVER": sandbox.url,
        "WSCFG_TOKEN": agency.key,
        "SMILE_WEBHOOK_SECRET": "smile-secret-value",
        "CHAT_WEBHOOK_URL": url,
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "smile-secret-value" not in done.stdout + done.stderr
    assert done.stderr == "Created 3 workspace(s).\n"
    assert f"{prefix}-0: " in done.stdout and " applied" in done.stdout
    assert len(posted) == 1
    summary = posted[0]["text"]
    assert summary.startswith("wscfg onboarded 3 clinic(s), 3 new sub-account(s): ")
    assert summary.endswith(" change(s) applied, 0 left; 0 drift item(s).")
    again = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert posted[1]["text"] == (
        "wscfg onboarded 3 clinic(s): 0 change(s) applied, 0 left; 0 drift item(s)."
    )


def test_load_selects_by_target_patterns(tmp_path):
    """``target_patterns``: slug globs (the glossary's word); none matching is an OptionError
    naming the keyword as the API spells it."""
    prefix = unique("lib")
    for name in ("north", "south"):
        (tmp_path / f"{name}.yaml").write_text(CONFIG.format(slug=f"{prefix}-{name}"))
    picked = wscfg.load(tmp_path, target_patterns=[f"{prefix}-n*"])
    assert [c.slug for c in picked] == [f"{prefix}-north"]
    assert len(wscfg.load(tmp_path)) == 2
    with pytest.raises(wscfg.OptionError) as raised:
        wscfg.load(tmp_path, target_patterns=["nothing-*"])
    assert raised.value.option == "target_patterns"
    with pytest.raises(TypeError):
        wscfg.load(tmp_path, targets=[f"{prefix}-n*"])  # type: ignore[call-arg]


def test_the_async_twins_take_the_same_arguments_as_the_sync_calls():
    import inspect

    for name in ("plan", "apply", "drift", "export", "read_plan"):
        sync = inspect.signature(getattr(wscfg.Session, name))
        twin = inspect.signature(getattr(wscfg.AsyncSession, name))
        assert twin.parameters == sync.parameters, name
        assert inspect.iscoroutinefunction(getattr(wscfg.AsyncSession, name)), name
    assert inspect.signature(wscfg.connect_async).parameters == (
        inspect.signature(wscfg.connect).parameters
    )


def test_validate_reports_every_problem_and_renders_as_the_cli_prints(tmp_path, monkeypatch):
    """``wscfg.validate`` is ``wscfg validate``: every problem located, nothing raised, and
    ``wscfg.render(report, fmt)`` is what ``wscfg validate --format fmt`` prints."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nworkspace:\n  slug: acme\n  name: 7\ncall_tags: [{color: 9}]\n")
    report = wscfg.validate([bad])
    assert not report.ok
    assert {(d.file, d.line) for d in report.diagnostics} >= {(str(bad), 4), (str(bad), 5)}
    assert wscfg.validate(ROOT / "examples" / "workspace.yaml", environ={}).ok
    monkeypatch.chdir(tmp_path)  # CI formats name files from the repository root, else here
    for fmt in ("github", "sarif", "gitlab", "json"):
        proc = subprocess.run(
            [sys.executable, "-m", "wscfg", "validate", str(bad), "--format", fmt],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert proc.returncode == 1
        assert proc.stdout == wscfg.render(report, fmt) + "\n"
    with pytest.raises(wscfg.OptionError) as caught:
        wscfg.render(report, "markdown")
    assert caught.value.option == "fmt"
