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
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSCFG_") and k != "CI"}
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
    monkeypatch.delenv("CI", raising=False)
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


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_ci_without_a_server_is_refused(tmp_path, monkeypatch, value):
    _no_server(monkeypatch, tmp_path)
    monkeypatch.setenv("CI", value)
    result = CliRunner().invoke(cli, ["export", "--all"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no server is configured and CI={value}: pass --server URL or set WSCFG_SERVER "
        "(pass --embedded to use a throw-away local sandbox in CI)\n"
    )
    assert not (tmp_path / ".wscfg").exists()


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
    assert result.stderr.startswith("Error: no server is configured and CI=true")
    assert not (tmp_path / ".wscfg").exists()
