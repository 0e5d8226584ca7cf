"""Scale, honestly: the text plan lists 20 items per kind (`--full` lists all), and the apply
output accounts for every change it counts, bulk ones included. The CLI against a real sandbox
over HTTP."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from wscfg.cli import cli

NUMBERS = [f"+1202555{i:04d}" for i in range(100, 125)]  # 25 numbers


@pytest.fixture
def run(sandbox, workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", workspace.key)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ws.yaml"
    path.write_text(
        f"version: 1\nworkspace: {{slug: {workspace.slug}}}\n"
        "call_tags: [{name: a}, {name: b}]\n"
        "blocked_callers:\n" + "".join(f"  - '{n}'\n" for n in NUMBERS)
    )

    def invoke(*args: str):
        result = CliRunner().invoke(cli, [*args, str(path)], catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return invoke


def listed(lines: list[str]) -> list[str]:
    """The blocked callers a text plan lists (each line is followed by where it came from)."""
    return [
        n for n in NUMBERS if any(ln.startswith(f"  + blocked caller {n}   (from ") for ln in lines)
    ]


def test_text_plan_lists_20_per_kind_unless_full(run):
    short = run("plan")
    lines = short.stdout.splitlines()
    assert listed(lines) == NUMBERS[:20]
    assert "  … and 5 more blocked callers to create" in lines
    full = run("plan", "--full").stdout.splitlines()
    assert listed(full) == NUMBERS
    assert not any(line.startswith("  … and") for line in full)


def test_apply_output_accounts_for_bulk_changes(run, workspace):
    result = run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    slug = workspace.slug
    done = [line for line in lines if line.startswith(f"✓ {slug}: ")]
    assert done[:2] == [f"✓ {slug}: + call tag a", f"✓ {slug}: + call tag b"]
    assert done[2:22] == [f"✓ {slug}: + blocked caller {n}" for n in NUMBERS[:20]]
    assert done[22:] == [f"✓ {slug}: … and 5 more blocked callers applied"]
    assert lines[-1] == f"{slug}: 27 applied"
