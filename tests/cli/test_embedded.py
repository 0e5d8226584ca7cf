"""The README's main job on a fresh machine: no server configured, the embedded sandbox in
./.wscfg/ is created on first use, and plan → apply → plan converges."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from wscfg.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_readme_flow_on_the_embedded_sandbox(tmp_path, monkeypatch):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WSCFG_SERVER", raising=False)
    monkeypatch.delenv("WSCFG_TOKEN", raising=False)
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", "example-only")
    runner = CliRunner()

    first = runner.invoke(cli, ["plan", "examples/workspace.yaml"])
    assert first.exit_code == 0, first.output
    assert first.stderr.startswith(
        "Using the embedded sandbox (.wscfg/sandbox.db): no --server or WSCFG_SERVER set."
    )
    assert "Plan: 17 to add, 4 to change, 0 to delete." in first.stdout
    assert first.stderr.endswith(  # what to run next
        "To apply these changes: wscfg apply examples/workspace.yaml\n"
        "To apply exactly this plan after a review: wscfg plan examples/workspace.yaml "
        "-o plan.json, then wscfg apply plan.json\n"
    )
    # a brand-new workspace shows no drift: its values are the platform's defaults, and the
    # README shows the plan's last lines as they are printed
    assert "drift" not in first.stdout
    assert "never written" not in first.stdout
    readme = (EXAMPLES.parent / "README.md").read_text()
    tail = "\n".join(first.stdout.splitlines()[-2:])
    assert f"```\n{tail}\n```" in readme
    fresh = runner.invoke(cli, ["drift", "examples/workspace.yaml"])
    assert (fresh.exit_code, fresh.stdout) == (0, "No new drift.\n")
    creds = tmp_path / ".wscfg" / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert (tmp_path / ".wscfg" / ".gitignore").read_text() == "*\n"

    applied = runner.invoke(cli, ["apply", "--auto-approve", "examples/workspace.yaml"])
    assert applied.exit_code == 0, applied.output
    assert "acme-dental: 21 applied" in applied.stdout

    again = runner.invoke(cli, ["plan", "--detailed-exitcode", "examples/workspace.yaml"])
    assert again.exit_code == 0, again.output
    assert "No changes. The live workspace matches the configuration." in again.stdout
    assert "example-only" not in first.output + applied.output + again.output


def test_a_fresh_process_prints_no_warning(tmp_path):
    """Python's warnings as errors, in new processes (nothing built or cached by other tests):
    the embedded apply and the sandbox server print nothing but their own lines."""
    import os
    import subprocess
    import sys

    shutil.copytree(EXAMPLES, tmp_path / "examples")
    from wscfg.connection import ci_variables

    ci = set(ci_variables())
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k not in ci}
    env.update(ACME_WEBHOOK_SECRET="example-only", PYTHONWARNINGS="error")
    cmd = [sys.executable, "-m", "wscfg", "apply", "--auto-approve", "examples/workspace.yaml"]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("Using the embedded sandbox (.wscfg/sandbox.db): ")
    assert done.stdout.endswith("acme-dental: 21 applied\n")


def _no_server(monkeypatch, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WSCFG_SERVER", raising=False)
    monkeypatch.delenv("WSCFG_TOKEN", raising=False)
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", "example-only")


TOKEN_REFUSAL = (
    "Error: WSCFG_TOKEN is set but no server is: pass --server URL or set WSCFG_SERVER to the "
    "platform this key belongs to (pass --embedded to use the local sandbox anyway)\n"
)


@pytest.mark.parametrize("command", ["plan", "apply --auto-approve"])
def test_a_real_key_without_a_server_is_refused(tmp_path, monkeypatch, command):
    _no_server(monkeypatch, tmp_path)
    monkeypatch.setenv("WSCFG_TOKEN", "wscfg_live_0123456789abcdef")
    result = CliRunner().invoke(cli, [*command.split(), "examples/workspace.yaml"])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", TOKEN_REFUSAL)
    assert not (tmp_path / ".wscfg").exists()


def ci_refusal(name: str) -> str:
    return (
        f"Error: no server is configured and this looks like a CI job ({name} is set): pass "
        "--server URL or set WSCFG_SERVER (pass --embedded to use a throw-away local sandbox "
        "in CI)\n"
    )


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "woodpecker"])
def test_ci_without_a_server_is_refused(tmp_path, monkeypatch, value):
    _no_server(monkeypatch, tmp_path)
    monkeypatch.setenv("CI", value)
    result = CliRunner().invoke(cli, ["export", "--all"])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", ci_refusal("CI"))
    assert value not in result.stderr.lower()  # the variable is named, its value never shown
    assert not (tmp_path / ".wscfg").exists()


# The CI systems' own variables, each set alone (no CI): each is a CI job (#21 item 10).
CI_SYSTEMS = {
    "JENKINS_URL": "https://jenkins.example/",
    "TF_BUILD": "True",
    "BUILDKITE": "true",
    "TEAMCITY_VERSION": "2025.03",
    "CODEBUILD_BUILD_ID": "proj:0b1e",
    "CODEBUILD_BUILD_ARN": "arn:aws:codebuild:eu-west-1:1:build/proj:0b1e",
    "GITHUB_ACTIONS": "true",
    "GITLAB_CI": "true",
    "CIRCLECI": "true",
    "TRAVIS": "true",
    "APPVEYOR": "True",
    "BITBUCKET_COMMIT": "abc123",
    "DRONE": "true",
    "SEMAPHORE": "true",
    "bamboo_planKey": "PRJ-PLAN",
    "HUDSON_URL": "https://hudson.example/",
    "GO_PIPELINE_LABEL": "12",
    "BUILDER_OUTPUT": "/builder/outputs",
    "HARNESS_BUILD_ID": "7",
    "CIRRUS_CI": "true",
    "CONTINUOUS_INTEGRATION": "true",
}


@pytest.mark.parametrize("name", sorted(CI_SYSTEMS))
def test_each_ci_systems_variable_alone_refuses_the_embedded_sandbox(tmp_path, monkeypatch, name):
    _no_server(monkeypatch, tmp_path)
    monkeypatch.setenv(name, CI_SYSTEMS[name])
    result = CliRunner().invoke(cli, ["plan", "examples/workspace.yaml"])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", ci_refusal(name))
    assert CI_SYSTEMS[name] not in result.stderr
    assert not (tmp_path / ".wscfg").exists()


def test_every_variable_of_the_table_counts_alone():
    """Every name the detector knows (the ci-info vendor table and CI_EXTRA_ENV) is a CI job
    on its own, except the few vendors that need two variables or a value (named here)."""
    from wscfg.connection import ci_variable, ci_variables

    names = ci_variables()
    assert set(CI_SYSTEMS) <= set(names)
    needs_more = {"NODE", "TASK_ID"}  # Heroku: NODE holding its path; TaskCluster: + RUN_ID
    for name in names:
        assert ci_variable({name: "x"}) == (None if name in needs_more else name), name


@pytest.mark.parametrize("value", ["false", "0", "No", "off"])
def test_ci_false_is_the_user_saying_not_ci(tmp_path, monkeypatch, value):
    """``CI=false`` wins over a vendor's variable (as in watson/ci-info); an empty variable is
    unset."""
    from wscfg.connection import ci_variable

    assert ci_variable({"CI": value, "JENKINS_URL": "https://j.example/"}) is None
    assert ci_variable({"JENKINS_URL": " ", "GITHUB_ACTIONS": ""}) is None
    assert ci_variable({"CI": "", "GITLAB_CI": "true"}) == "GITLAB_CI"


def test_embedded_flag_forces_the_sandbox_in_ci_and_with_a_token(tmp_path, monkeypatch):
    _no_server(monkeypatch, tmp_path)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("WSCFG_TOKEN", "wscfg_live_0123456789abcdef")
    result = CliRunner().invoke(cli, ["plan", "--embedded", "examples/workspace.yaml"])
    assert result.exit_code == 0, result.output
    assert "Plan: 17 to add, 4 to change, 0 to delete." in result.stdout
    assert (tmp_path / ".wscfg" / "sandbox.db").exists()


def test_embedded_and_server_together_is_a_usage_error(tmp_path, monkeypatch):
    _no_server(monkeypatch, tmp_path)
    result = CliRunner().invoke(
        cli, ["plan", "--server", "http://127.0.0.1:9", "--embedded", "examples/workspace.yaml"]
    )
    assert result.exit_code == 1
    assert result.stderr.endswith("Error: give either --server or --embedded, not both\n")


def test_a_saved_plan_in_ci_without_a_server_creates_nothing(tmp_path, monkeypatch):
    _no_server(monkeypatch, tmp_path)
    monkeypatch.setenv("CI", "true")
    plan = tmp_path / "plan.json"
    plan.write_text('{"format": "wscfg-plan", "version": 1, "server": "x", "targets": []}')
    result = CliRunner().invoke(cli, ["apply", "--auto-approve", str(plan)])
    assert result.exit_code == 1
    assert result.stderr == ci_refusal("CI")
    assert not (tmp_path / ".wscfg").exists()


def test_an_embedded_error_names_the_sandbox_not_an_internal_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("WSCFG_SERVER", "WSCFG_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["export", "--workspace", "no-such-workspace"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: 404 Not Found: no such workspace "
        "(GET /v1/workspaces/no-such-workspace/settings on the embedded sandbox)"
    )
    assert "embedded.wscfg" not in result.output


def test_every_command_says_it_uses_the_embedded_sandbox_in_the_same_words(tmp_path, monkeypatch):
    """The embedded-sandbox notice is one text, whichever command runs on it."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WSCFG_SERVER", raising=False)
    monkeypatch.delenv("WSCFG_TOKEN", raising=False)
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", "example-only")
    runner = CliRunner()
    plan = runner.invoke(cli, ["plan", "examples/workspace.yaml"])
    exported = runner.invoke(cli, ["export", "--workspace", "acme-dental"])
    assert plan.exit_code == 0, plan.output
    assert exported.exit_code == 0, exported.output
    notice = (
        "Using the embedded sandbox (.wscfg/sandbox.db): no --server or WSCFG_SERVER set. "
        "Set them to work on a real platform.\n"
    )
    assert plan.stderr.startswith(notice)
    assert exported.stderr == notice
