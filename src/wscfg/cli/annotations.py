"""``wscfg validate`` problems as CI reports: GitHub workflow commands and SARIF 2.1.0.

Pure functions from diagnostics to text; the validate command prints them.

- GitHub shows at most 10 error and 10 warning annotations per step, so the first ones of each
  become ``::error``/``::warning`` commands and the rest are plain log lines, with a notice
  saying so.
- SARIF is what GitHub code scanning (``github/codeql-action/upload-sarif``) and GitLab read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from ..errors import Diagnostic
from ..escape import gh_data, gh_prop, sarif_text, text

GITHUB_ANNOTATIONS_PER_STEP = 10  # per severity
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES = {
    "error": ("config-invalid", "The configuration is invalid; plan and apply would refuse it."),
    "warning": (
        "env-unset",
        "An environment variable the configuration reads is not set; plan and apply need it.",
    ),
}


def _message(d: Diagnostic) -> str:
    return f"{d.path}: {d.message}" if d.path else d.message


def github_command(d: Diagnostic, level: str) -> str:
    props = [f"file={gh_prop(d.file)}"]
    if d.line:
        props.append(f"line={d.line}")
        if d.column:
            props.append(f"col={d.column}")
    props.append(f"title={gh_prop(d.rule)}" if d.rule else "title=wscfg validate")
    return f"::{level} {','.join(props)}::{gh_data(_message(d))}"


def github_lines(errors: Sequence[Diagnostic], warnings: Sequence[Diagnostic]) -> list[str]:
    """Workflow commands for the first problems of each severity, log lines for the rest."""
    out: list[str] = []
    rest: list[str] = []
    for level, items in (("error", errors), ("warning", warnings)):
        for i, d in enumerate(items):
            if i < GITHUB_ANNOTATIONS_PER_STEP:
                out.append(github_command(d, level))
            else:
                rest.append(f"{level}: {text(d.headline())}")
    if rest:
        out.append(
            f"::notice title=wscfg validate::{len(rest)} more problem(s) not annotated (GitHub "
            f"shows {GITHUB_ANNOTATIONS_PER_STEP} per step and severity); they follow in the log"
        )
        out.extend(rest)
    return out


def _uri(file: str) -> str:
    path = PurePath(file)
    if path.is_absolute():
        try:
            path = PurePath(os.path.relpath(file))
        except ValueError:  # another drive (Windows)
            return path.as_uri()
    return path.as_posix()


def _result(d: Diagnostic, level: str) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": _uri(d.file)}}
    if d.line:
        region: dict[str, Any] = {"startLine": d.line}
        if d.column:
            region["startColumn"] = d.column
        if d.source_line and not d.source_column:
            region["snippet"] = {"text": text(d.source_line.rstrip("\n"))}
        location["region"] = region
    if not _uri(d.file).startswith("file:"):
        location["artifactLocation"]["uriBaseId"] = "%SRCROOT%"
    return {
        "ruleId": d.rule or RULES[level][0],
        "level": level,
        "message": {"text": sarif_text(_message(d))},
        "locations": [{"physicalLocation": location}],
    }


def _policy_rules(diagnostics: Sequence[Diagnostic]) -> list[dict[str, Any]]:
    """One SARIF rule per policy a result breaks: the policy's name is the rule id."""
    names = dict.fromkeys(d.rule for d in diagnostics if d.rule)
    return [{"id": name, "shortDescription": {"text": f"wscfg policy {name}"}} for name in names]


def sarif_log(
    errors: Sequence[Diagnostic], warnings: Sequence[Diagnostic], *, version: str
) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one validate run."""
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "wscfg",
                        "version": version,
                        "rules": [
                            {
                                "id": rule_id,
                                "shortDescription": {"text": text},
                                "defaultConfiguration": {"level": level},
                            }
                            for level, (rule_id, text) in RULES.items()
                        ]
                        + _policy_rules([*errors, *warnings]),
                    }
                },
                "results": [_result(d, "error") for d in errors]
                + [_result(d, "warning") for d in warnings],
            }
        ],
    }
