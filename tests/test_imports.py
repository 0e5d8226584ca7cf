"""`wscfg --help` and `wscfg validate` stay light: no HTTP client, diff engine, web framework
or database layer is imported (checked in a fresh interpreter), and validating a valid target
does not import pydantic. Neither does the README's main
job, `wscfg plan examples/workspace.yaml` on the embedded sandbox, once the sandbox exists: its
reads are in-process (wscfg.sandbox.local)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("httpx", "deepdiff", "fastapi", "starlette", "sqlalchemy", "uvicorn")

PROBE = """
import json, sys
from wscfg.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="wscfg", standalone_mode=False)
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print(json.dumps(heavy), file=sys.stderr)
"""


def imported_by(*args: str, cwd: Path = ROOT, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    return probe(*args, cwd=cwd, heavy=heavy)[0]


def probe(*args: str, cwd: Path = ROOT, heavy: tuple[str, ...] = HEAVY) -> tuple[list[str], str]:
    """(the heavy packages a command imported, what it printed on stdout)."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE % (heavy,), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "ACME_WEBHOOK_SECRET": "x", "SMILE_WEBHOOK_SECRET": "y"},
    )
    last = proc.stderr.strip().splitlines()[-1]
    return list(json.loads(last)), proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("validate", "examples/workspace.yaml", "examples/agency"),
        ("validate", "tests/corpus/bad"),
        ("validate", "--help"),
        ("drift", "--help"),
    ],
)
def test_light_commands_import_nothing_heavy(args: tuple[str, ...]) -> None:
    assert imported_by(*args) == []


def test_validate_of_valid_targets_builds_no_models() -> None:
    """A valid target is checked against the packaged JSON Schema (wscfg.config.schemacheck):
    pydantic is imported only to word problems (and for templates with open variables)."""
    files = ("examples/workspace.yaml", "examples/agency/harbor.yaml")
    assert imported_by("validate", *files, heavy=("pydantic",)) == []
    assert imported_by("validate", "tests/corpus/bad", heavy=("pydantic",)) == ["pydantic"]


def test_the_main_job_on_the_embedded_sandbox_imports_nothing_heavy(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    plan = ("plan", "examples/workspace.yaml")
    # The first run creates the sandbox and the workspace: that takes the database layer.
    heavy, out = probe(*plan, cwd=tmp_path)
    assert "sqlalchemy" in heavy
    assert "Plan: 17 to add, 4 to change, 0 to delete." in out
    heavy, out = probe(*plan, cwd=tmp_path)
    assert heavy == []
    assert "Plan: 17 to add, 4 to change, 0 to delete." in out
