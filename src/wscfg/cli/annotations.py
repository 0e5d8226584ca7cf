"""``wscfg validate`` problems as CI reports: GitHub workflow commands and SARIF 2.1.0.

Pure functions from diagnostics to text; the validate command prints them.

- GitHub shows at most 10 error and 10 warning annotations per step, so the first ones of each
  become ``::error``/``::warning`` commands and the rest are plain log lines, with a notice
  saying so.
- SARIF is what GitHub code scanning (``github/codeql-action/upload-sarif``) reads; code
  scanning takes at most 25,000 results per run, so a larger log keeps the first 25,000 and a
  notification says how many were left out.
- Paths are from the repository root (see :mod:`.reportpaths`), wherever wscfg ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import Diagnostic
from ..escape import gh_data, gh_prop, sarif_text, text
from .reportpaths import report_path, report_root, sarif_location

GITHUB_ANNOTATIONS_PER_STEP = 10  # per severity
SARIF_MAX_RESULTS = 25_000  # per run: GitHub code scanning rejects a run with more
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


def github_command(d: Diagnostic, level: str, root: str | None = None) -> str:
    """One workflow command; ``file=`` is the path from the repository root ``root``
    (default: :func:`~.reportpaths.report_root` of the current directory)."""
    props = [f"file={gh_prop(report_path(d.file, root or report_root()))}"]
    if d.line:
        props.append(f"line={d.line}")
        if d.column:
            props.append(f"col={d.column}")
    props.append(f"title={gh_prop(d.rule)}" if d.rule else "title=wscfg validate")
    return f"::{level} {','.join(props)}::{gh_data(_message(d))}"


def github_lines(
    errors: Sequence[Diagnostic], warnings: Sequence[Diagnostic], root: str | None = None
) -> list[str]:
    """Workflow commands for the first problems of each severity, log lines for the rest."""
    root = root or report_root()
    out: list[str] = []
    rest: list[str] = []
    for level, items in (("error", errors), ("warning", warnings)):
        for i, d in enumerate(items):
            if i < GITHUB_ANNOTATIONS_PER_STEP:
                out.append(github_command(d, level, root))
            else:
                rest.append(f"{level}: {text(d.headline())}")
    if rest:
        out.append(
            f"::notice title=wscfg validate::{len(rest)} more problem(s) not annotated (GitHub "
            f"shows {GITHUB_ANNOTATIONS_PER_STEP} per step and severity); they follow in the log"
        )
        out.extend(rest)
    return out


def _result(d: Diagnostic, level: str, root: str) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": sarif_location(d.file, root)}
    if d.line:
        region: dict[str, Any] = {"startLine": d.line}
        if d.column:
            region["startColumn"] = d.column
        if d.source_line and not d.source_column:
            region["snippet"] = {"text": text(d.source_line.rstrip("\n"))}
        location["region"] = region
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


def sarif_left_out(errors: Sequence[Diagnostic], warnings: Sequence[Diagnostic]) -> int:
    """How many problems a SARIF log leaves out (past :data:`SARIF_MAX_RESULTS`)."""
    return max(len(errors) + len(warnings) - SARIF_MAX_RESULTS, 0)


def sarif_log(
    errors: Sequence[Diagnostic],
    warnings: Sequence[Diagnostic],
    *,
    version: str,
    root: str | None = None,
) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one validate run: at most :data:`SARIF_MAX_RESULTS` results
    (errors first), and a notification saying how many more were left out. Paths are from
    the repository root ``root`` (default: :func:`~.reportpaths.report_root`)."""
    root = root or report_root()
    picked = [(d, "error") for d in errors[:SARIF_MAX_RESULTS]]
    picked += [(d, "warning") for d in warnings[: SARIF_MAX_RESULTS - len(picked)]]
    left_out = sarif_left_out(errors, warnings)
    run: dict[str, Any] = {
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
                + _policy_rules([d for d, _level in picked]),
            }
        },
        "results": [_result(d, level, root) for d, level in picked],
    }
    if left_out:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": left_out_note(left_out)}}
                ],
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def left_out_note(n: int) -> str:
    return (
        f"{n} more problem(s) left out: code scanning takes at most {SARIF_MAX_RESULTS:,} "
        "results per run; run `wscfg validate` (text or json) for the full list"
    )
