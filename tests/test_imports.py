"""`wscfg --help` and `wscfg validate` stay light: no HTTP client, diff engine, web framework
or database layer is imported (checked in a fresh interpreter)."""

from __future__ import annotations

import json
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


def imported_by(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "ACME_WEBHOOK_SECRET": "x", "SMILE_WEBHOOK_SECRET": "y"},
    )
    last = proc.stderr.strip().splitlines()[-1]
    return list(json.loads(last))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("validate", "examples/workspace.yaml", "examples/agency"),
        ("validate", "tests/corpus/bad"),
        ("validate", "--help"),
    ],
)
def test_light_commands_import_nothing_heavy(args: tuple[str, ...]) -> None:
    assert imported_by(*args) == []
