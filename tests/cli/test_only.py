"""`--only KIND[:KEY]` on plan and apply (Terraform-style targeting) against the real sandbox:
the plan says it is partial, shows only the selected items, and a saved plan made with
`--only` applies only those items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .runner import invoke, reseal

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


def seal_note(path: str) -> str:
    """What `wscfg show` says on stderr of a plan file whose seal verified."""
    key_id = json.loads(Path(path).read_text())["seal"]["key_id"]
    return f"The plan file's seal verified (plan key id {key_id}).\n"


@pytest.fixture
def setup(sandbox, monkeypatch, tmp_path):
    ws = sandbox.new_workspace(owner=JANE)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(config(ws.slug))
    run = invoke
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


def test_a_saved_partial_plan_records_its_selection_and_says_so(setup):
    ws, _cfg, run = setup
    made = run("plan", "ws.yaml", "--only", "call_tags:spam", "--out", "plan.json")
    assert made.exit_code == 0, made.output
    assert json.loads(Path("plan.json").read_text())["only"] == ["call_tags:spam"]
    shown_plan = (
        f"Workspace {ws.slug} (ws.yaml)\n"
        "  ~ call tag spam   (from ws.yaml:6)\n"
        '      color: "#ff0000" → "#00ff00"\n'
        "  Plan: 0 to add, 1 to change, 0 to delete.\n"
    )
    assert (made.stdout, made.stderr) == (
        shown_plan,
        NOTE + "\nSaved the plan to plan.json. Apply it with: wscfg apply plan.json\n",
    )
    shown = run("show", "plan.json")
    verified = seal_note("plan.json")
    assert (shown.exit_code, shown.stdout, shown.stderr) == (0, shown_plan, verified + NOTE + "\n")
    as_json = run("show", "plan.json", "--format", "json")
    assert (as_json.exit_code, as_json.stderr) == (0, verified + NOTE + "\n")
    assert json.loads(as_json.stdout)["only"] == ["call_tags:spam"]
    applied = run("apply", "plan.json", "--auto-approve")
    assert (applied.exit_code, applied.stderr) == (0, NOTE + "\n")
    assert applied.stdout == shown_plan + (f"✓ {ws.slug}: ~ call tag spam\n{ws.slug}: 1 applied\n")


def test_a_partial_plan_says_so_in_markdown_too(setup):
    """A PR comment shows what stderr says: the plan is partial."""
    _ws, _cfg, run = setup
    made = run(
        "plan", "ws.yaml", "--only", "call_tags:spam", "--format", "markdown", "-o", "p.json"
    )
    assert made.exit_code == 0, made.output
    assert made.stdout.splitlines()[:4] == ["### wscfg plan", "", f"> {NOTE}", ""]
    shown = run("show", "p.json", "--format", "markdown")
    assert (shown.exit_code, shown.stdout, shown.stderr) == (
        0,
        made.stdout,
        seal_note("p.json") + NOTE + "\n",
    )
    full = run("plan", "ws.yaml", "--format", "markdown")
    assert "Partial plan" not in full.stdout


def test_a_full_plan_records_no_selection(setup):
    _ws, _cfg, run = setup
    made = run("plan", "ws.yaml", "--out", "plan.json")
    assert made.exit_code == 0, made.output
    assert "only" not in json.loads(Path("plan.json").read_text())
    shown = run("show", "plan.json")
    assert (shown.exit_code, shown.stderr) == (0, seal_note("plan.json"))


def test_a_recorded_selection_is_all_apply_writes(setup):
    """Whatever else the file holds, a plan that records `only` applies only those items
    (a file edited and sealed again by someone who holds the plan key)."""
    ws, _cfg, run = setup
    assert run("plan", "ws.yaml", "--out", "plan.json").exit_code == 0
    doc = json.loads(Path("plan.json").read_text())
    assert [c["key"] for c in doc["targets"][0]["changes"]] == ["sales", "spam"]
    doc["only"] = ["call_tags:spam"]
    reseal("plan.json", doc, ws.key)
    applied = run("apply", "plan.json", "--auto-approve")
    assert (applied.exit_code, applied.stderr) == (0, NOTE + "\n")
    left = json.loads(run("plan", "ws.yaml", "--format", "json").stdout)
    changes = [(c["kind"], c["key"]) for w in left["targets"] for c in w["changes"]]
    assert changes == [("call_tags", "sales")]


@pytest.mark.parametrize(
    ("only", "why"),
    [
        ("call_tags:spam", '"only" is not a list of KIND[:KEY]'),
        (["call_tags:"], "\"only\": 'call_tags:' names no item after ':'"),
    ],
)
def test_a_damaged_selection_is_refused(setup, only, why):
    ws, _cfg, run = setup
    assert run("plan", "ws.yaml", "--out", "plan.json").exit_code == 0
    doc = json.loads(Path("plan.json").read_text())
    doc["only"] = only
    reseal("plan.json", doc, ws.key)
    for args in (["show", "plan.json"], ["apply", "plan.json", "--auto-approve"]):
        got = run(*args)
        assert (got.exit_code, got.stdout, got.stderr) == (
            1,
            "",
            f"Error: the plan file is damaged ({why})\n",
        )


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


@pytest.mark.parametrize("command", ["plan", "apply", "adopt"])
@pytest.mark.parametrize(
    ("only", "message"),
    [
        (
            "call_tags:spma",
            "Error: --only call_tags:spma matches no declared or live item; did you mean "
            "'call_tags:spam'?\n",
        ),
        (
            "call_tags:SALES",
            "Error: --only call_tags:SALES matches no declared or live item; did you mean "
            "'call_tags:sales'?\n",
        ),
        (
            "call_tags:nonexistent",
            "Error: --only call_tags:nonexistent matches no declared or live item "
            "(call_tags: sales, spam)\n",
        ),
        (
            "webhooks:crm",
            "Error: --only webhooks:crm matches no declared or live item (no target declares "
            "or has any webhooks)\n",
        ),
    ],
)
def test_a_selector_that_matches_nothing_is_an_error(setup, command, only, message):
    """A typo in --only is not an empty plan ("No changes", exit 0): nothing is written."""
    _ws, cfg, run = setup
    before = cfg.read_text()
    extra = ["--auto-approve"] if command == "apply" else []
    got = run(command, "ws.yaml", "--only", only, *extra)
    assert (got.exit_code, got.stdout, got.stderr) == (1, "", message)
    assert cfg.read_text() == before
    left = json.loads(run("plan", "ws.yaml", "--format", "json").stdout)
    assert len([c for w in left["targets"] for c in w["changes"]]) == 2  # nothing applied


def test_a_kind_without_items_is_not_a_typo(setup):
    """The kind's name is checked; a kind nobody declares or has selects nothing."""
    _ws, _cfg, run = setup
    got = run("plan", "ws.yaml", "--only", "webhooks", "--detailed-exitcode")
    assert got.exit_code == 0, got.output


def test_a_selector_of_a_live_only_item_is_accepted(setup, sandbox):
    """An item that is live but not declared (a delete in the plan) is a valid selector."""
    ws, _cfg, run = setup
    import httpx

    httpx.post(
        f"{ws.url}/call-tags", json={"name": "ui-only"}, headers=ws.headers
    ).raise_for_status()
    got = run("plan", "ws.yaml", "--only", "call_tags:ui-only", "--format", "json")
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)
    changes = [(c["action"], c["key"]) for w in doc["targets"] for c in w["changes"]]
    assert changes == [("delete", "ui-only")]
