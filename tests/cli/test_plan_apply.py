"""`wscfg plan` / `wscfg apply` end to end: the CLI against a real sandbox over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from click.testing import CliRunner

from wscfg.cli import cli
from wscfg.engine.seal import key_id
from wscfg.model import secret_fingerprint

SECRET = "whsec-9f2c1e-never-print-me"


def config(slug: str, extra: str = "") -> str:
    return f"""\
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
webhooks:
  - name: crm
    url: https://hooks.example.com/acme
    events: [call.completed]
    secret: ${{env:ACME_HOOK_SECRET}}
{extra}"""


@pytest.fixture
def run(sandbox, workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", workspace.key)
    monkeypatch.setenv("ACME_HOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return invoke


@pytest.fixture
def cfg(tmp_path, workspace):
    path = tmp_path / "ws.yaml"
    path.write_text(config(workspace.slug))
    return path


def test_plan_apply_plan_converges_with_exit_codes(run, cfg, workspace):
    first = run("plan", "--detailed-exitcode", str(cfg))
    assert first.exit_code == 2, first.output
    assert "Plan: 5 to add, 1 to change, 0 to delete." in first.stdout
    applied = run("apply", "--auto-approve", str(cfg))
    assert applied.exit_code == 0, applied.output
    assert f"{workspace.slug}: 6 applied" in applied.stdout
    again = run("plan", "--detailed-exitcode", str(cfg))
    assert again.exit_code == 0, again.output
    assert "No changes. The live workspace matches the configuration." in again.stdout


def test_drift_is_named_and_exits_2(run, cfg, workspace):
    assert run("apply", "--auto-approve", str(cfg)).exit_code == 0
    httpx.patch(
        f"{workspace.url}/call-tags/spam", json={"color": "#ff0000"}, headers=workspace.headers
    ).raise_for_status()
    httpx.post(
        f"{workspace.url}/call-tags", json={"name": "clicked-in-ui"}, headers=workspace.headers
    ).raise_for_status()
    drift = run("plan", "--detailed-exitcode", str(cfg))
    assert drift.exit_code == 2
    assert "  ~ call tag spam" in drift.stdout
    assert '      color: "#ff0000" → "#6b7280"' in drift.stdout
    assert "  - call tag clicked-in-ui" in drift.stdout
    md = run("plan", "--format", "markdown", str(cfg))
    assert f"| `{workspace.slug}` | 0 | 1 | 1 | changes |" in md.stdout


def test_apply_without_tty_or_approval_refuses(run, cfg):
    result = run("apply", str(cfg))
    assert result.exit_code == 1
    assert "refusing to apply without confirmation: no TTY; pass --auto-approve" in result.output


def test_removing_the_last_owner_is_refused_and_nothing_is_written(run, tmp_path, workspace):
    path = tmp_path / "owner.yaml"
    path.write_text(
        config(workspace.slug).replace(f"owner@{workspace.slug}.example", "new@acme.example")
    )
    result = run("apply", "--auto-approve", "--allow-mass-changes", str(path))
    assert result.exit_code == 1
    assert (
        f"Error: the plan is unsafe:\n  - {workspace.slug}: the plan removes or demotes the last "
        f"active owner (owner@{workspace.slug}.example)" in result.stderr
    )
    tags = httpx.get(f"{workspace.url}/call-tags", headers=workspace.headers).json()["items"]
    assert tags == []


def test_mass_delete_needs_the_flag(run, tmp_path, workspace):
    for i in range(10):
        httpx.post(
            f"{workspace.url}/call-tags", json={"name": f"old-{i}"}, headers=workspace.headers
        ).raise_for_status()
    path = tmp_path / "few.yaml"
    path.write_text(
        f"version: 1\nworkspace: {{slug: {workspace.slug}}}\ncall_tags:\n  - {{name: old-0}}\n"
    )
    refused = run("apply", "--auto-approve", str(path))
    assert refused.exit_code == 1
    assert "deletes 9 of 10 call tags (more than 30%); pass --allow-mass-changes" in refused.stderr
    assert (
        len(httpx.get(f"{workspace.url}/call-tags", headers=workspace.headers).json()["items"])
        == 10
    )
    allowed = run("apply", "--auto-approve", "--allow-mass-changes", str(path))
    assert allowed.exit_code == 0, allowed.output


def test_additive_and_ignore_are_reported(run, tmp_path, workspace):
    for email in ("a@sso.example", "b@contractor.example"):
        httpx.post(
            f"{workspace.url}/members",
            json={"email": email, "role": "member"},
            headers=workspace.headers,
        ).raise_for_status()
    path = tmp_path / "own.yaml"
    path.write_text(
        f"version: 1\nworkspace: {{slug: {workspace.slug}}}\n"
        f"manage: {{members: additive}}\nignore: {{members: ['*@sso.example']}}\n"
        f"members:\n  - {{email: owner@{workspace.slug}.example, role: owner}}\n"
    )
    result = run("plan", "--detailed-exitcode", str(path))
    assert result.exit_code == 0
    assert "  Note: 1 undeclared members kept (manage: additive)" in result.stdout
    assert "  Note: 1 members ignored (ignore: patterns)" in result.stdout


def test_saved_plan_applies_exactly_or_refuses_when_stale(run, cfg, workspace, tmp_path):
    plan_file = tmp_path / "plan.json"
    made = run("plan", "-o", str(plan_file), str(cfg))
    assert made.exit_code == 0
    # Someone creates one of the planned tags in the UI before the plan is applied.
    httpx.post(
        f"{workspace.url}/call-tags",
        json={"name": "spam", "color": "#000000"},
        headers=workspace.headers,
    ).raise_for_status()
    before = httpx.get(f"{workspace.url}/settings", headers=workspace.headers).json()
    stale = run("apply", "--auto-approve", str(plan_file))
    assert stale.exit_code == 1
    assert (
        "Error: the saved plan is stale: these items changed since it was made, nothing was "
        f"written:\n  - {workspace.slug}: call_tags[spam] was created by someone else"
    ) in stale.stderr
    after = httpx.get(f"{workspace.url}/settings", headers=workspace.headers).json()
    assert after == before
    # Plan again, and the fresh saved plan applies.
    assert run("plan", "-o", str(plan_file), str(cfg)).exit_code == 0
    assert run("apply", "--auto-approve", str(plan_file)).exit_code == 0
    assert run("plan", "--detailed-exitcode", str(cfg)).exit_code == 0


def test_a_saved_plan_applied_twice_says_it_was_applied(run, cfg, workspace, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run("plan", "-o", str(plan_file), str(cfg)).exit_code == 0
    assert run("apply", "--auto-approve", str(plan_file)).exit_code == 0
    before = httpx.get(f"{workspace.url}/settings", headers=workspace.headers).json()
    again = run("apply", "--auto-approve", str(plan_file))
    assert again.exit_code == 1
    assert again.stderr.endswith(
        "Error: the saved plan was already applied (or someone made the same changes since): "
        "every item it touches is as it would leave it; nothing was written.\n"
        "Run `wscfg plan` again for a new plan.\n"
    )
    assert "someone else" not in again.stderr
    assert httpx.get(f"{workspace.url}/settings", headers=workspace.headers).json() == before


def test_a_replayed_plan_with_one_item_changed_since_names_both(run, cfg, workspace, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run("plan", "-o", str(plan_file), str(cfg)).exit_code == 0
    assert run("apply", "--auto-approve", str(plan_file)).exit_code == 0
    httpx.patch(
        f"{workspace.url}/call-tags/spam", json={"color": "#000000"}, headers=workspace.headers
    ).raise_for_status()
    again = run("apply", "--auto-approve", str(plan_file))
    assert again.exit_code == 1
    assert again.stderr.startswith(
        "Error: the saved plan is stale: these items changed since it was made, nothing was "
        "written:\n"
    )
    lines = again.stderr.splitlines()
    assert f"  - {workspace.slug}: call_tags[spam] was created by someone else" in lines
    assert (
        f"  - {workspace.slug}: call_tags[new-patient] is already as this plan would leave it"
        in lines
    )
    assert lines[-1] == "Run `wscfg plan` again and review it."


def test_saved_plan_refuses_a_changed_secret(run, cfg, tmp_path, monkeypatch):
    plan_file = tmp_path / "plan.json"
    assert run("plan", "-o", str(plan_file), str(cfg)).exit_code == 0
    monkeypatch.setenv("ACME_HOOK_SECRET", "another-value")
    result = run("apply", "--auto-approve", str(plan_file))
    assert result.exit_code == 1
    assert (
        "webhooks[crm].secret: ${env:ACME_HOOK_SECRET} holds a different secret than when the "
        "plan was made" in result.stderr
    )


def _hook_secret(plan_file) -> dict:
    doc = json.loads(plan_file.read_text())
    hook = next(c for c in doc["targets"][0]["changes"] if c["kind"] == "webhooks")
    return hook["after"]["secret"]


def test_plan_file_secret_is_keyed_by_what_the_file_does_not_hold(
    run, cfg, tmp_path, monkeypatch, workspace
):
    """The plan file's secret check depends on the plan key (the API key, or WSCFG_PLAN_KEY),
    so holding the file alone gives nothing to test a guess against."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("plan", "-o", str(a), str(cfg)).exit_code == 0
    monkeypatch.setenv("WSCFG_PLAN_KEY", "a-shared-plan-key-for-two-jobs")
    assert run("plan", "-o", str(b), str(cfg)).exit_code == 0
    assert _hook_secret(a)["hmac"] != _hook_secret(b)["hmac"]
    for f in (a, b):
        assert secret_fingerprint(SECRET) not in f.read_text()
        assert workspace.key not in f.read_text()
    # apply with another plan key: refused before any write, saying why
    monkeypatch.setenv("WSCFG_PLAN_KEY", "not-the-key-the-plan-was-made-with")
    result = run("apply", "--auto-approve", str(b))
    assert result.exit_code == 1
    sealed_with = json.loads(b.read_text())["seal"]["key_id"]
    here = key_id(b"not-the-key-the-plan-was-made-with")
    assert result.stderr == (
        f"Error: the plan file was sealed with another plan key (key id {sealed_with}; this "
        f"job's is {here}): set the same WSCFG_PLAN_KEY in the plan and the apply job. If the "
        "keys are the same, the plan file was changed after it was written\n"
    )
    # the same plan key applies it, whatever API key the apply job uses
    monkeypatch.setenv("WSCFG_PLAN_KEY", "a-shared-plan-key-for-two-jobs")
    assert run("apply", "--auto-approve", str(b)).exit_code == 0


def test_a_read_only_key_is_refused_once_before_any_write(
    run, cfg, tmp_path, monkeypatch, sandbox, workspace
):
    plan_file = tmp_path / "plan.json"
    read_only = sandbox.issue_key(workspace=workspace.slug, scopes=["settings:read"])
    before = httpx.get(f"{workspace.url}/settings", headers=workspace.headers).json()
    monkeypatch.setenv("WSCFG_TOKEN", read_only)
    monkeypatch.setenv("WSCFG_PLAN_KEY", "shared-plan-key")  # plan and apply keys differ
    assert run("plan", "-o", str(plan_file), str(cfg)).exit_code == 0
    expected = (
        "Error: the API key cannot change settings (its scopes: settings:read); apply needs a "
        "key with settings:write. Nothing was written.\n"
    )
    for target in (str(cfg), str(plan_file)):
        result = run("apply", "--auto-approve", target)
        assert result.exit_code == 1
        assert result.stderr == expected
        assert "403" not in result.stdout
    assert httpx.get(f"{workspace.url}/settings", headers=workspace.headers).json() == before
    # the write key applies the plan the read-only key made (one WSCFG_PLAN_KEY for both)
    monkeypatch.setenv("WSCFG_TOKEN", workspace.key)
    assert run("apply", "--auto-approve", str(plan_file)).exit_code == 0


def test_saved_plan_is_bound_to_its_server(run, cfg, tmp_path, monkeypatch):
    plan_file = tmp_path / "plan.json"
    assert run("plan", "-o", str(plan_file), str(cfg)).exit_code == 0
    monkeypatch.delenv("WSCFG_SERVER")  # now the embedded sandbox
    result = run("apply", "--embedded", "--auto-approve", str(plan_file))
    assert result.exit_code == 1
    assert "the plan was made against http://127.0.0.1:" in result.stderr
    assert "nothing was written" in result.stderr


def test_secret_never_appears_in_outputs_or_plan_files(run, cfg, tmp_path):
    plan_file = tmp_path / "plan.json"
    outputs = [
        run("plan", str(cfg)),
        run("plan", "--format", "json", str(cfg)),
        run("plan", "--format", "markdown", str(cfg)),
        run("plan", "-o", str(plan_file), str(cfg)),
        run("--debug", "apply", "--auto-approve", str(plan_file)),
        run("plan", str(cfg)),
    ]
    blob = b"".join(r.stdout_bytes + r.stderr_bytes for r in outputs) + plan_file.read_bytes()
    assert SECRET.encode() not in blob
    doc = json.loads(plan_file.read_text())
    hook = next(c for c in doc["targets"][0]["changes"] if c["kind"] == "webhooks")
    assert hook["after"]["secret"]["env"] == "ACME_HOOK_SECRET"
    assert hook["after"]["secret"]["hmac"].startswith("hmac-sha256:")
    assert "fingerprint" not in hook["after"]["secret"]


def test_bad_plan_file_is_a_clear_error(run, tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    result = run("apply", "--auto-approve", str(bad))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {bad} is not valid JSON\n"


def test_unreachable_server_is_a_clear_error(run, cfg, monkeypatch):
    monkeypatch.setenv("WSCFG_SERVER", "http://127.0.0.1:9")
    result = run("plan", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no answer from the server (ConnectError")
    assert result.stderr.endswith("(GET http://127.0.0.1:9/v1/workspaces)\n")


def test_a_plan_that_cannot_be_saved_is_a_clear_error(run, cfg, tmp_path):
    out = tmp_path / "missing" / "plan.json"
    result = run("plan", "-o", str(out), str(cfg))
    assert result.exit_code == 1
    assert result.stderr.endswith(f"Error: cannot write {out}: No such file or directory\n")
    assert list(tmp_path.iterdir()) == [cfg]
