"""Small helpers for config tests: write files into a temp dir, check them, read diagnostics."""

from __future__ import annotations

import textwrap
from pathlib import Path

from wscfg.config.validate import ValidationReport, check_paths

HEADER = "version: 1\nworkspace: {slug: acme}\n"
OWNER = "members:\n  - {email: owner@acme.example, role: owner}\n"


def write(root: Path, name: str, text: str) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def check(root: Path, *names: str, env: dict[str, str] | None = None) -> ValidationReport:
    return check_paths([str(root / n) for n in names], environ=env or {})


def lines(report: ValidationReport, root: Path) -> list[str]:
    """Diagnostics as `file:line:col: path: message`, file relative to ``root``."""
    prefix = str(root) + "/"
    return [d.headline().removeprefix(prefix) for d in report.diagnostics]
