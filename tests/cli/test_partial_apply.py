"""A server that stops accepting writes part-way: exit 3, an accurate report, and the next
plan + apply finishes the job."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from wscfg.cli import cli
from wscfg.sandbox.testing import running_server


@pytest.fixture(scope="module")
def strict_sandbox():
    # 8 requests, then 429 with Retry-After: 100 s (above the client's 30 s cap: no retry).
    with running_server(rate_limit=0.01, rate_burst=8) as server:
        yield server


def test_partial_apply_exits_3_and_the_next_run_finishes(strict_sandbox, tmp_path, monkeypatch):
    ws = strict_sandbox.new_workspace()
    path = tmp_path / "tags.yaml"
    path.write_text(
        f"version: 1\nworkspace: {{slug: {ws.slug}}}\ncall_tags:\n"
        + "".join(f"  - {{name: tag-{c}}}\n" for c in "abcde")
    )
    monkeypatch.setenv("WSCFG_SERVER", strict_sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    runner = CliRunner()
    # list workspaces + snapshot + the audit read that explains the plan + the key (its id,
    # for attribution) + the key's scopes + 3 creates fit in the burst; the 4th is refused.
    result = runner.invoke(cli, ["apply", "--auto-approve", str(path)])
    assert result.exit_code == 3, result.output
    lines = result.stdout.splitlines()
    assert f"✓ {ws.slug}: + call tag tag-a" in lines
    assert f"✓ {ws.slug}: + call tag tag-b" in lines
    assert f"✓ {ws.slug}: + call tag tag-c" in lines
    failed = [line for line in lines if line.startswith("✗")]
    assert [f.split(":")[1] for f in failed] == [" + call tag tag-d", " + call tag tag-e"]
    assert all("429 Too Many Requests" in line for line in failed)
    assert f"{ws.slug}: 3 applied, 2 failed, 0 not attempted" in lines
    assert result.stderr.endswith(
        "Error: apply stopped part-way; run `wscfg plan` to see what is left\n"
    )

    monkeypatch.setenv("WSCFG_TOKEN", strict_sandbox.issue_key(workspace=ws.slug))
    plan = runner.invoke(cli, ["plan", "--detailed-exitcode", str(path)])
    assert plan.exit_code == 2
    assert "Plan: 2 to add, 0 to change, 0 to delete." in plan.stdout
    monkeypatch.setenv("WSCFG_TOKEN", strict_sandbox.issue_key(workspace=ws.slug))
    finish = runner.invoke(cli, ["apply", "--auto-approve", str(path)])
    assert finish.exit_code == 0, finish.output
    monkeypatch.setenv("WSCFG_TOKEN", strict_sandbox.issue_key(workspace=ws.slug))
    done = runner.invoke(cli, ["plan", "--detailed-exitcode", str(path)])
    assert done.exit_code == 0, done.output
