"""The pull-request flow: what a reviewer sees is what apply will do.

A refused change fails the PR check (exit 1, the refusal at the top of the markdown), the fixed
config passes (exit 2 with changes), the saved plan applies, and the next plan is empty. The CLI
against a real sandbox over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wscfg.cli import cli

from .runner import reseal

TAGS = [f"tag-{i:02d}" for i in range(10)]


def config(slug: str, tags: list[str]) -> str:
    lines = "".join(f"  - {{name: {t}}}\n" for t in tags)
    return f"version: 1\nworkspace: {{slug: {slug}}}\ncall_tags:\n{lines}"


@pytest.fixture
def run(sandbox, workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", workspace.key)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, input: str | None = None):
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return invoke


@pytest.fixture
def ten_tags(run, workspace, tmp_path):
    """The workspace holds ten call tags, applied from ws.yaml (the main branch)."""
    path = tmp_path / "ws.yaml"
    path.write_text(config(workspace.slug, TAGS))
    assert run("apply", "--auto-approve", str(path)).exit_code == 0
    return path


def refusal_line(slug: str, n: int) -> str:
    return (
        f"- `{slug}`: deletes {n} of 10 call tags (more than 30%); pass --allow-mass-changes "
        "if intended (`mass_delete`)"
    )


def test_pull_request_flow(run, workspace, ten_tags, tmp_path, monkeypatch):
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    # The PR deletes 4 of 10 tags: apply would refuse, so the check fails and shows why.
    ten_tags.write_text(config(workspace.slug, TAGS[:6]))
    refused = run(
        "plan", str(ten_tags), "--format", "markdown", "--detailed-exitcode", "-o", "plan.json"
    )
    assert refused.exit_code == 1
    md = refused.stdout
    assert md.startswith(
        "### wscfg plan\n\n**⛔ Apply will refuse this plan (1 refusal):**\n\n"
        + refusal_line(workspace.slug, 4)
        + "\n\n**0 to add, 0 to change, 4 to delete**"
    )
    assert refused.stderr == (
        "Error: apply would refuse this plan (1 refusal, listed above); plan.json was not saved\n"
    )
    assert not (tmp_path / "plan.json").exists()
    assert summary.read_text() == md  # the job summary gets the same markdown

    # The fixed PR deletes 2: changes present, no refusal, the plan is saved.
    ten_tags.write_text(config(workspace.slug, TAGS[:8]))
    fixed = run(
        "plan", str(ten_tags), "--format", "markdown", "--detailed-exitcode", "-o", "plan.json"
    )
    assert fixed.exit_code == 2, fixed.output
    assert "Apply will refuse" not in fixed.stdout
    assert "**0 to add, 0 to change, 2 to delete**" in fixed.stdout
    assert fixed.stderr == "Saved the plan to plan.json. Apply it with: wscfg apply plan.json\n"

    # After merge: apply exactly the saved plan, then nothing is left.
    applied = run("apply", "plan.json", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert f"{workspace.slug}: 2 applied" in applied.stdout.splitlines()
    empty = run("plan", str(ten_tags), "--detailed-exitcode")
    assert empty.exit_code == 0, empty.output
    assert "No changes. The live workspace matches the configuration." in empty.stdout


def test_refusals_in_text_and_json(run, workspace, ten_tags):
    ten_tags.write_text(config(workspace.slug, TAGS[:6]))
    text = run("plan", str(ten_tags))
    assert text.exit_code == 1
    assert text.stdout.endswith(
        "Apply will refuse this plan (1 refusal):\n"
        f"  ✗ {workspace.slug}: deletes 4 of 10 call tags (more than 30%); "
        "pass --allow-mass-changes if intended\n"
    )
    as_json = run("plan", str(ten_tags), "--format", "json")
    assert as_json.exit_code == 1
    doc = json.loads(as_json.stdout)
    assert doc["refusals"] == [
        {
            "code": "mass_delete",
            "targets": [workspace.slug],
            "message": "deletes 4 of 10 call tags (more than 30%); "
            "pass --allow-mass-changes if intended",
            "allowed_by": "--allow-mass-changes",
        }
    ]
    assert doc["allowances"] == {
        "mass_changes": False,
        "fleet_delete_share": 0.25,
        "skip_unsafe": False,
        "new_secrets": False,
    }


def test_a_saved_plan_applies_with_its_own_allowances_only(run, workspace, ten_tags, tmp_path):
    ten_tags.write_text(config(workspace.slug, TAGS[:6]))
    allowed = run("plan", str(ten_tags), "--allow-mass-changes", "-o", "plan.json")
    assert allowed.exit_code == 0, allowed.output
    assert "Apply will refuse" not in allowed.stdout
    saved = json.loads((tmp_path / "plan.json").read_text())
    assert saved["allowances"]["mass_changes"] is True
    assert saved["refusals"] == []

    extra = run("apply", "plan.json", "--auto-approve", "--allow-mass-changes")
    assert extra.exit_code == 1
    assert extra.stderr.endswith(
        "Error: --allow-mass-changes cannot be given with a saved plan: it applies with the "
        "allowances recorded in plan.json; make the plan again with the flag\n"
    )
    applied = run("apply", "plan.json", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert f"{workspace.slug}: 4 applied" in applied.stdout.splitlines()


def test_a_saved_plan_without_the_allowance_is_refused_by_apply(run, workspace, ten_tags, tmp_path):
    """A plan file without its allowance (sealed again by someone holding the plan key) is
    refused by the safety rules too."""
    ten_tags.write_text(config(workspace.slug, TAGS[:6]))
    assert run("plan", str(ten_tags), "--allow-mass-changes", "-o", "plan.json").exit_code == 0
    doc = json.loads((tmp_path / "plan.json").read_text())
    del doc["allowances"]
    reseal(tmp_path / "plan.json", doc, workspace.key)
    refused = run("apply", "plan.json", "--auto-approve")
    assert refused.exit_code == 1
    assert refused.stderr.endswith(
        "Error: the plan is unsafe:\n"
        f"  - {workspace.slug}: deletes 4 of 10 call tags (more than 30%); "
        "pass --allow-mass-changes if intended\n"
    )
    # Nothing was written: the four deletes are still to do.
    still = json.loads(run("plan", str(ten_tags), "--format", "json").stdout)
    assert still["targets"][0]["summary"]["delete"] == 4


def test_show_renders_a_saved_plan_without_a_server(run, workspace, ten_tags, monkeypatch):
    ten_tags.write_text(config(workspace.slug, TAGS[:8]))
    outputs = {}
    for fmt in ("text", "markdown"):
        made = run("plan", str(ten_tags), "--format", fmt, "-o", "plan.json")
        assert made.exit_code == 0, made.output
        outputs[fmt] = made.stdout
    # No server, no key: show reads only the file.
    monkeypatch.setenv("WSCFG_SERVER", "http://127.0.0.1:9")
    monkeypatch.delenv("WSCFG_TOKEN")
    for fmt in ("text", "markdown"):
        shown = run("show", "plan.json", "--format", fmt)
        assert (shown.exit_code, shown.stdout, shown.stderr) == (
            0,
            outputs[fmt],
            "The plan file's seal could not be checked: no plan key here (set WSCFG_PLAN_KEY, "
            "or WSCFG_TOKEN, as in the job that made the plan).\n",
        )
    as_json = json.loads(run("show", "plan.json", "--format", "json").stdout)
    saved = json.loads(Path("plan.json").read_text())
    assert as_json == saved


def test_show_names_what_a_recorded_allowance_lets_through(run, workspace, ten_tags):
    ten_tags.write_text(config(workspace.slug, TAGS[:6]))
    assert run("plan", str(ten_tags), "--allow-mass-changes", "-o", "plan.json").exit_code == 0
    shown = run("show", "plan.json")
    assert shown.exit_code == 0
    assert "Apply will refuse" not in shown.stdout
    assert "Plan: 0 to add, 0 to change, 4 to delete." in shown.stdout


def test_show_refuses_what_is_not_a_plan(run, tmp_path):
    (tmp_path / "other.json").write_text('{"hello": 1}')
    result = run("show", "other.json")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == 'Error: not a wscfg plan file (missing "format": "wscfg-plan")\n'
    missing = run("show", "nope.json")
    assert missing.exit_code == 1
    assert missing.stderr == "Error: cannot read nope.json: No such file or directory\n"
