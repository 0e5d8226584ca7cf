"""``wscfg validate --format gitlab``: a GitLab Code Quality report.

A JSON array of issues, each ``{description, check_name, fingerprint, severity, location:
{path, lines: {begin}}}`` (the subset of the Code Climate spec GitLab reads; see
https://docs.gitlab.com/ci/testing/code_quality/). GitLab shows them in the merge request
widget, matched across pipelines by ``fingerprint``:

- ``path`` is from the repository root (:mod:`.reportpaths`), wherever wscfg ran;
- ``fingerprint`` is a hash of the check, the path, the config path inside the file (or, for
  a problem with none, its line and column) and the message: the same problem gives the same
  fingerprint on every run, and a line moved by an edit elsewhere does not make it new. Two
  problems that would share one are told apart by their order, so each is unique in a report.
- ``check_name`` is the broken policy's name, else ``config-invalid`` / ``env-unset`` (as the
  SARIF rule ids); errors are ``major``, warnings ``minor``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ..errors import Diagnostic
from .annotations import RULES
from .reportpaths import report_path, report_root

SEVERITY = {"error": "major", "warning": "minor"}


def _description(d: Diagnostic) -> str:
    return f"{d.path}: {d.message}" if d.path else d.message


def code_quality(
    errors: Sequence[Diagnostic], warnings: Sequence[Diagnostic], root: str | None = None
) -> list[dict[str, Any]]:
    """The Code Quality issues of one validate run (errors, then warnings)."""
    root = root or report_root()
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for level, items in (("error", errors), ("warning", warnings)):
        for d in items:
            check = d.rule or RULES[level][0]  # a policy's name, else the kind of problem
            path = report_path(d.file, root)
            where = d.path if d.path else f"{d.line}:{d.column}"
            basis = "\0".join((check, path, where, d.message))
            n = seen.get(basis, 0)
            seen[basis] = n + 1
            if n:
                basis += f"\0{n}"
            out.append(
                {
                    "description": _description(d),
                    "check_name": check,
                    "fingerprint": hashlib.sha256(basis.encode()).hexdigest(),
                    "severity": SEVERITY[level],
                    "location": {"path": path, "lines": {"begin": max(d.line or 1, 1)}},
                }
            )
    return out
