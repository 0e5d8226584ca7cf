"""Small manners of the CLI: confirmation needs `yes` in full, `--parallel 0` is a usage error,
clone names the webhook secrets it cannot copy, shell completion works."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from wscfg.cli import cli

from .runner import invoke


def apply_on_a_terminal(answer: str, path: str, env: dict[str, str]) -> tuple[int, str]:
    """`wscfg apply` with a real terminal as stdin (it asks only on a TTY), answering ``answer``."""
    main, child = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wscfg", "apply", path],
            stdin=child,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        os.write(main, (answer + "\n").encode())
        out, _ = proc.communicate(timeout=120)
    finally:
        os.close(main)
        os.close(child)
    return proc.returncode, out.decode()


@pytest.mark.parametrize(("answer", "applied"), [("y", False), ("Yes", False), ("yes", True)])
def test_confirmation_needs_yes_in_full(sandbox, tmp_path, answer, applied):
    ws = sandbox.new_workspace()
    path = tmp_path / "ws.yaml"
    path.write_text(f"version: 1\nworkspace: {{slug: {ws.slug}}}\ncall_tags: [{{name: a}}]\n")
    env = {**os.environ, "WSCFG_SERVER": sandbox.url, "WSCFG_TOKEN": ws.key, "NO_COLOR": "1"}
    code, out = apply_on_a_terminal(answer, str(path), env)
    assert code == (0 if applied else 1), out
    assert "Apply 1 change(s) to 1 workspace(s)?\n  Only 'yes' will be accepted to approve." in (
        out.replace("\r\n", "\n")
    )
    tags = httpx.get(f"{ws.url}/call-tags", headers=ws.headers).json()["items"]
    assert [t["name"] for t in tags] == (["a"] if applied else [])
    if not applied:
        assert out.replace("\r\n", "\n").endswith("Apply cancelled.\n")


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_parallel_0_is_a_usage_error(command, tmp_path):
    result = invoke(command, "--parallel", "0", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.endswith("Error: --parallel must be at least 1 (got 0)\n")


def test_clone_parallel_0_is_a_usage_error():
    result = invoke("clone", "--from", "a", "--to", "b", "--parallel", "0")
    assert result.exit_code == 1
    assert result.stderr.endswith("Error: --parallel must be at least 1 (got 0)\n")


def test_clone_names_the_webhook_secrets_it_cannot_copy(sandbox, monkeypatch, tmp_path):
    agency = sandbox.new_agency()
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    src, dest = f"{agency.name}-src", f"{agency.name}-dest"
    for slug in (src, dest):
        sandbox.create_workspace(slug, agency=agency.name)
    hook = {
        "name": "crm",
        "url": "https://hooks.example.com/crm",
        "events": ["call.completed"],
        "secret": "clone-secret-value-never-shown",
    }
    httpx.post(
        f"{sandbox.url}/v1/workspaces/{src}/webhooks",
        json=hook,
        headers={"Authorization": f"Bearer {agency.key}"},
    ).raise_for_status()
    result = invoke("clone", "--from", src, "--to", dest, "--auto-approve")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "Warning: the secret of webhook crm cannot be copied (it is write-only); "
        f"{dest} gets the webhook without a secret: set one there (secret: ${{env:NAME}} in its "
        "config)"
    )
    assert "clone-secret-value-never-shown" not in result.output


def test_completion_scripts():
    from click.shell_completion import get_completion_class

    for shell in ("bash", "zsh", "fish"):
        result = invoke("completion", shell)
        assert result.exit_code == 0
        expected = get_completion_class(shell)(cli, {}, "wscfg", "_WSCFG_COMPLETE").source()
        assert result.stdout == expected + "\n"
    # The script calls wscfg back with _WSCFG_COMPLETE set: that answers with the commands.
    script = Path(sys.executable).parent / "wscfg"  # the installed entry point, as a shell runs it
    proc = subprocess.run(
        [str(script)],
        env={
            **os.environ,
            "COMP_WORDS": "wscfg sh",
            "COMP_CWORD": "1",
            "_WSCFG_COMPLETE": "bash_complete",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.split() == ["plain,show"]
    bad = invoke("completion", "tcsh")
    assert bad.exit_code == 1


@pytest.mark.parametrize(
    ("command", "example"),
    [
        ("validate", "  wscfg validate examples/workspace.yaml examples/agency/"),
        (
            "validate",
            "  wscfg validate config/ --format github        # annotations on the PR diff",
        ),
        ("clone", "  wscfg clone --from acme-north --to acme-south"),
        ("show", "  wscfg show plan.json --format markdown > comment.md"),
        ("completion", '  eval "$(wscfg completion bash)"      # in ~/.bashrc'),
    ],
)
def test_help_has_examples(command, example):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "  Examples:" in lines
    assert "  " + example in lines
