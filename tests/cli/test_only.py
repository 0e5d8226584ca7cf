"""`--only KIND[:KEY]` on plan and apply (Terraform-style targeting) against the real sandbox:
the plan says it is partial, shows only the selected items, and a saved plan made with
`--only` applies only those items."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from wscfg.cli import cli

JANE = "jane@acme.example"


def config(slug: str, spam: str = "#ff0000", sales: str = "#1f8a70") -> str:
    return f"""\
version: 1
workspace: {{slug: {slug}, name: Acme, timezone: UTC}}
members:
  - {{email: {JANE}, role: owner}}
call_tags:
  - {{name: spam, color: "{spam}"}}
  - {{name: sales, color: "{sales}"}}
notifications:
  billing: {{email: true, in_app: true}}
"""


@pytest.fixture
def setup(sandbox, monkeypatch, tmp_path):
    ws = sandbox.new_workspace(owner=JANE)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(config(ws.slug))
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    got = run("apply", "--auto-approve", "ws.yaml")
    assert got.exit_code == 0, got.output
    cfg.write_text(config(ws.slug, spam="#00ff00", sales="#0000ff"))
    return ws, cfg, run


NOTE = "Partial plan (--only call_tags:spam): other differences are neither shown nor applied."


def test_plan_only_one_item_says_partial(setup):
    _ws, _cfg, run = setup
    got = run("plan", "ws.yaml", "--only", "call_tags:spam", "--format", "json")
    assert got.exit_code == 0, got.output
    assert NOTE in got.stderr
    doc = json.loads(got.stdout)
    changes = [(c["kind"], c["key"]) for w in doc["targets"] for c in w["changes"]]
    assert changes == [("call_tags", "spam")]


def test_saved_plan_with_only_applies_only_those_items(setup):
    _ws, _cfg, run = setup
    got = run("plan", "ws.yaml", "--only", "call_tags:spam", "-o", "plan.json")
    assert got.exit_code == 0, got.output
    assert NOTE in got.stderr
    applied = run("apply", "plan.json", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    left = run("plan", "ws.yaml", "--format", "json")
    doc = json.loads(left.stdout)
    changes = [(c["kind"], c["key"]) for w in doc["targets"] for c in w["changes"]]
    assert changes == [("call_tags", "sales")]


def test_apply_only_a_kind(setup):
    _ws, _cfg, run = setup
    got = run("apply", "ws.yaml", "--only", "notifications", "--auto-approve")
    assert got.exit_code == 0, got.output
    assert (
        "Partial plan (--only notifications): other differences are neither shown nor applied."
        in got.stderr
    )
    left = json.loads(run("plan", "ws.yaml", "--format", "json").stdout)
    changes = [(c["kind"], c["key"]) for w in left["targets"] for c in w["changes"]]
    assert changes == [("call_tags", "sales"), ("call_tags", "spam")]


def test_only_with_a_saved_plan_is_refused(setup):
    _ws, _cfg, run = setup
    assert run("plan", "ws.yaml", "-o", "plan.json").exit_code == 0
    got = run("apply", "plan.json", "--only", "webhooks", "--auto-approve")
    assert got.exit_code == 1
    assert (
        "--only cannot be given with a saved plan: plan.json applies exactly the items it "
        "holds; make the plan again with --only" in got.output
    )


def test_only_unknown_kind(setup):
    _ws, _cfg, run = setup
    got = run("plan", "ws.yaml", "--only", "tags")
    assert got.exit_code == 1
    assert "unknown kind 'tags'" in got.output
