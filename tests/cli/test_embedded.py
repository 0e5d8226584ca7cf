"""The README's main job on a fresh machine: no server configured, the embedded sandbox in
./.wscfg/ is created on first use, and plan → apply → plan converges."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

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
    assert "Plan: 14 to add, 3 to change, 0 to delete." in first.stdout
    creds = tmp_path / ".wscfg" / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert (tmp_path / ".wscfg" / ".gitignore").read_text() == "*\n"

    applied = runner.invoke(cli, ["apply", "--auto-approve", "examples/workspace.yaml"])
    assert applied.exit_code == 0, applied.output
    assert "acme-dental: 17 applied" in applied.stdout

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
    assert done.stdout.endswith("acme-dental: 17 applied\n")
