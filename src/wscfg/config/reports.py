"""``wscfg validate`` problems as CI reports: GitHub workflow commands, SARIF 2.1.0 and a
GitLab Code Quality report. Pure functions from diagnostics to data and text; the validate
command prints them (:func:`ci_report`).

- GitHub shows at most 10 error and 10 warning annotations per step, so the first ones of each
  become ``::error``/``::warning`` commands and the rest are plain log lines, with a notice
  saying so.
- SARIF is what GitHub code scanning (``github/codeql-action/upload-sarif``) reads; code
  scanning takes at most 25,000 results per run, so a larger log keeps the first 25,000 and a
  notification says how many were left out.
- GitLab Code Quality: a JSON array of issues, each ``{description, check_name, fingerprint,
  severity, location: {path, lines: {begin}}}`` (the subset of the Code Climate spec GitLab
  reads; see https://docs.gitlab.com/ci/testing/code_quality/). GitLab shows them in the merge
  request widget, matched across pipelines by ``fingerprint``: a hash of the check, the path,
  the config path inside the file (or, for a problem with none, its line and column) and the
  message: the same problem gives the same fingerprint on every run, and a line moved by an
  edit elsewhere does not make it new. Two problems that would share one are told apart by
  their order, so each is unique in a report. ``check_name`` is the broken policy's name, else
  ``config-invalid`` / ``env-unset`` (as the SARIF rule ids); errors are ``major``, warnings
  ``minor``.

Where a report says a problem is: every format places it by its path from the root of the
checkout, whatever folder wscfg ran in. The root is the git work tree holding the current
directory (the nearest folder above it with a ``.git``), else the current directory. A file
outside that root keeps its absolute path (SARIF: a ``file:`` URI).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import Diagnostic
from ..escape import gh_data, gh_prop, sarif_text, text
from .policies import WSCFG_RULE_IDS

if TYPE_CHECKING:
    from .validate import ValidationReport

FORMATS = ("github", "sarif", "gitlab", "json")  # ci_report's; validate's text is the CLI's
SRCROOT = "%SRCROOT%"  # SARIF's uriBaseId for the root of the checkout
GITHUB_ANNOTATIONS_PER_STEP = 10  # per severity
SARIF_MAX_RESULTS = 25_000  # per run: GitHub code scanning rejects a run with more
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES = {  # no policy may take these names (config/policies.py)
    "error": (WSCFG_RULE_IDS[0], "The configuration is invalid; plan and apply would refuse it."),
    "warning": (
        WSCFG_RULE_IDS[1],
        "An environment variable the configuration reads is not set; plan and apply need it.",
    ),
}
SEVERITY = {"error": "major", "warning": "minor"}  # Code Quality's, by ours


def ci_report(report: ValidationReport, fmt: str) -> tuple[str, str | None]:
    """``wscfg validate --format fmt`` (one of :data:`FORMATS`) of ``report``: (what goes to
    standard output, a line for standard error or None). github's summary ends its standard
    output (a log line after the workflow commands); gitlab's goes to standard error."""
    summary = report.summary() if report.ok else f"Error: {report.summary()}"
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2), None
    if fmt == "github":
        return "\n".join([*github_lines(report.diagnostics, report.warnings), summary]), None
    if fmt == "sarif":
        from importlib.metadata import version

        log = sarif_log(report.diagnostics, report.warnings, version=version("wscfg"))
        left_out = sarif_left_out(report.diagnostics, report.warnings)
        note = f"Warning: {left_out_note(left_out)}" if left_out else None
        return json.dumps(log, indent=2, ensure_ascii=False), note
    issues = code_quality(report.diagnostics, report.warnings)
    return json.dumps(issues, indent=2, ensure_ascii=False), summary


def report_root(cwd: str | None = None) -> str:
    """The git top level of ``cwd`` (default: the current directory), else ``cwd`` itself."""
    from .guard import git_work_tree

    here = os.path.realpath(cwd or os.getcwd())
    return git_work_tree(here) or here


def relative_to_root(file: str, root: str) -> str | None:
    """``file`` as a ``/``-separated path below ``root``, or None when it lies outside it."""
    for candidate in (os.path.abspath(file), os.path.realpath(file)):
        try:
            rel = os.path.relpath(candidate, root)
        except ValueError:  # another drive (Windows)
            continue
        if rel != os.curdir and not rel.startswith(os.pardir + os.sep) and rel != os.pardir:
            return rel.replace(os.sep, "/")
    return None


def report_path(file: str, root: str) -> str:
    """What a GitHub annotation's ``file=`` and a Code Quality ``location.path`` hold: the path
    from the repository root, else the absolute path."""
    rel = relative_to_root(file, root)
    return rel if rel is not None else os.path.abspath(file)


def sarif_location(file: str, root: str) -> dict[str, str]:
    """A SARIF ``artifactLocation``: a percent-encoded relative URI reference against
    ``%SRCROOT%``, or an absolute ``file:`` URI for a file outside the root. ``#``, ``?``,
    ``%``, spaces and non-ASCII letters are encoded, so the URI means the file it names."""
    rel = relative_to_root(file, root)
    if rel is None:
        from pathlib import Path

        return {"uri": Path(os.path.abspath(file)).as_uri()}
    return {"uri": quote(rel, safe="/"), "uriBaseId": SRCROOT}


# --- GitHub annotations and SARIF ------------------------------------------------------------


def _message(d: Diagnostic) -> str:
    return f"{d.path}: {d.message}" if d.path else d.message


def github_command(d: Diagnostic, level: str, root: str | None = None) -> str:
    """One workflow command; ``file=`` is the path from the repository root ``root``
    (default: :func:`report_root` of the current directory)."""
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
    the repository root ``root`` (default: :func:`report_root`)."""
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


# --- GitLab Code Quality ------------------------------------------------------------


def _description(d: Diagnostic) -> str:
    """Shown as text in the merge request widget: no control or bidirectional character raw
    (a policy's description is the config author's text)."""
    return text(f"{d.path}: {d.message}" if d.path else d.message)


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
