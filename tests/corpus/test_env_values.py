"""The hostile corpus, environment values (#21 item 7): configs whose messages would quote a
value from ``${env:…}``, as written or normalized (case-folded, E.164), or whose value is a
word messages are made of (``TFA=true``). Each fails validation with exit 1 and the exact
message in every format; the value is named ``${env:NAME}`` and a message's own words are
left alone (the known wart: "must be ${env:TFA} or false").

Cases live in tests/corpus/env/; the rule is docs/reliability.md, "Environment values".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wscfg.cli import cli

HERE = Path(__file__).parent / "env"
REL = HERE.relative_to(HERE.parents[2]).as_posix()  # annotations name files from the repo root

# case -> (environment, line, column, path, message)
CASES: dict[str, tuple[dict[str, str], int, int, str, str]] = {
    "bool_true.yaml": (
        {"TFA": "true"},
        3,
        25,
        "security.require_2fa",
        "must be true or false, not the text '${env:TFA}': write true/false without quotes",
    ),
    "email_dup.yaml": (
        {"MGR": "Mgr.Person77"},
        5,
        13,
        "members[1].email",
        "duplicate member '${env:MGR}@clinic.example' (first at line 4); emails are compared "
        "case-insensitively",
    ),
    "phone.yaml": (
        {"PHONE_SUFFIX": "0100199"},
        4,
        5,
        "blocked_callers[0]",
        "'+1 (555) 99${env:PHONE_SUFFIX}' is not a possible phone number (wrong length for its "
        "country)",
    ),
    "phone_dup.yaml": (
        {"S": "0100199"},
        5,
        5,
        "blocked_callers[1]",
        "duplicate blocked caller '+1555${env:S}' (first at line 4); numbers are compared "
        "without spaces, dots, dashes and brackets",
    ),
}


def test_every_case_has_an_expectation() -> None:
    assert {p.name for p in HERE.glob("*.yaml")} == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_message_names_the_variable_and_keeps_its_words(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, line, column, path, message = CASES[case]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(HERE)
    runner = CliRunner()
    result = runner.invoke(cli, ["validate", "--format", "json", case])
    assert result.exit_code == 1
    [d] = json.loads(result.stdout)["diagnostics"]
    assert (d["line"], d["column"], d["path"], d["message"]) == (line, column, path, message)
    text = runner.invoke(cli, ["validate", case])
    assert text.exit_code == 1
    assert text.stderr.startswith(f"{case}:{line}:{column}: {path}: {message}\n")
    github = runner.invoke(cli, ["validate", "--format", "github", case])
    assert github.exit_code == 1
    assert github.stdout.startswith(
        f"::error file={REL}/{case},line={line},col={column},title=wscfg validate::{path}: "
        f"{message}\n"
    )
    for fmt in ("sarif", "gitlab"):
        out = runner.invoke(cli, ["validate", "--format", fmt, case])
        assert out.exit_code == 1
        said = out.stdout.lower()
        for value in env.values():
            if value != "true":  # a word of the messages: it stays in their wording
                assert value.lower() not in said
