"""The quoting rule (issue 21 item 3): a file's lines, keys and values are quoted in messages
only once the file is known to be a wscfg config (docs/config.md, "When a message quotes a
file"). Each file in tests/corpus/not_config/ is a secrets file or a broken one that says
`version: 1` or looks like a config; validate, plan and extends each give file, line, column
and the problem, exit 1, and quote nothing of it, in every output format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from wscfg.cli import cli

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
REL = (HERE / "not_config").relative_to(ROOT).as_posix()
# planted in the files of not_config/ (compared in any letter case)
PLANTED = ("sk_live_PLANTED7qXv93Lk2Zt", "AKIAPLANTED7QXV93LK2", "PLANTED7qXv93Lk2Zt")
VALIDATE_FORMATS = ("text", "json", "github", "sarif", "gitlab")
PLAN_FORMATS = ("text", "json", "markdown")

UNTIL = (
    "(until this is fixed, the file is not known to be a wscfg config: none of its content is "
    "shown)"
)
FOREIGN = f"a top-level key no wscfg config has {UNTIL}"


def foreign(close: str) -> str:
    return f"a top-level key no wscfg config has; did you mean '{close}'? {UNTIL}"


# case -> every problem, as `line:column: [path: ]message`, in order
CASES: dict[str, list[str]] = {
    # the reproductions: the did-you-mean path, `token: a: X`, a bad indent after an
    # unknown key, a tab line
    "did_you_mean.yaml": [f"2:1: {foreign('api_keys')}"],
    "syntax_colon.yaml": [
        "3:9: unexpected ':' here: check the indentation of this line, and put quotes around a "
        "value that contains ': '"
    ],
    "indent_after_unknown_key.yaml": [
        "4:2: bad indentation or a missing ':'; each line of this mapping must be `key: value` "
        "aligned with the keys above (the enclosing block starts at line 1)"
    ],
    "tab_line.yaml": ["3:1: tab character: YAML indentation must use spaces, not tabs"],
    # an unknown key whose value is the secret; a near typo (still not a config's key)
    "unknown_key_value.yaml": [f"3:1: {FOREIGN}"],
    "near_typo_key.yaml": [f"2:1: {foreign('workspace')}"],
    # a value of the wrong shape under a config's key: pydantic would quote it
    "wrong_type.yaml": [f"2:12: workspace: must be a mapping, not text {UNTIL}"],
    # many keys, one of them a config's
    "many_keys_one_config.yaml": [f"3:1: {FOREIGN}", f"4:1: {FOREIGN}", f"5:1: {FOREIGN}"],
    "no_version.yaml": [
        "1:1: missing `version: 1` (the config format version) at the top level",
        f"2:1: {FOREIGN}",
        f"3:1: {FOREIGN}",
    ],
    # reader problems: the key, the tag, the alias name, the number are the file's content
    "duplicate_key.yaml": [
        "3:1: duplicate key (first defined at line 2); a key may appear only once in a mapping"
    ],
    "merge_key_scalar.yaml": [
        "3:5: the value of a '<<' merge key must be a mapping or a list of mappings"
    ],
    "unknown_tag.yaml": [
        "2:31: unsupported YAML tag; wscfg reads plain YAML (use ${env:NAME} for environment "
        "values)"
    ],
    "undefined_alias.yaml": ["3:10: this alias refers to an anchor not defined above"],
    "number_too_large.yaml": [
        f"3:1: {FOREIGN}",
        "3:6: this number is too large; quote it if it is text",
        f"4:1: {foreign('security')}",
    ],
    "control_character.yaml": [
        "2:34: control character U+0007 is not allowed in YAML; remove it (or write it as an "
        "escape inside double quotes)"
    ],
    "version_is_the_secret.yaml": [
        "1:10: version: unsupported format version (text); this wscfg reads `version: 1`"
    ],
    "secret_as_key.yaml": [f"2:1: {FOREIGN}"],
    # files of other formats
    "netrc.yaml": [
        "1:1: the top level must be a mapping of settings (version: 1, workspace: …), not a "
        "single value"
    ],
    "git_credentials.yaml": [
        "1:1: the top level must be a mapping of settings (version: 1, workspace: …), not a "
        "single value"
    ],
    "ini_credentials.yaml": ["2:1: unexpected content after the document"],
}


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env or {})


def assert_quotes_nothing(result: Result) -> None:
    shown = (result.stdout + result.stderr).lower()
    for value in PLANTED:
        assert value.lower() not in shown
    assert "traceback" not in shown


def expected_lines(case: str) -> list[str]:
    return [f"{REL}/{case}:{problem}" for problem in CASES[case]]


def summary(n: int) -> str:
    return f"{n} problem{'s' if n != 1 else ''}"


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_every_file_has_a_case() -> None:
    assert {p.name for p in (HERE / "not_config").iterdir()} == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_locates_and_quotes_nothing(case: str, in_root: None) -> None:
    result = invoke("validate", f"{REL}/{case}")
    assert result.exit_code == 1
    assert result.stdout == ""
    n = len(CASES[case])
    assert result.stderr.splitlines() == [
        *expected_lines(case),
        f"Error: {summary(n)} in 1 file (1 file checked)",
    ]
    assert_quotes_nothing(result)


def _located(d: dict[str, Any]) -> str:
    path = f"{d['path']}: " if d["path"] else ""
    return f"{d['file']}:{d['line']}:{d['column']}: {path}{d['message']}"


@pytest.mark.parametrize("fmt", VALIDATE_FORMATS[1:])
@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_ci_formats_quote_nothing(case: str, fmt: str, in_root: None) -> None:
    result = invoke("validate", "--format", fmt, f"{REL}/{case}")
    assert result.exit_code == 1
    assert_quotes_nothing(result)
    if fmt == "json":
        report = json.loads(result.stdout)
        assert [_located(d) for d in report["diagnostics"]] == expected_lines(case)
    elif fmt == "github":
        assert result.stdout.count("::error ") == len(CASES[case])


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_locates_and_quotes_nothing(
    case: str, in_root: None, sandbox: Any, workspace: Any
) -> None:
    env = {"WSCFG_SERVER": sandbox.url, "WSCFG_TOKEN": workspace.key}
    for fmt in PLAN_FORMATS:
        result = invoke("plan", "--format", fmt, f"{REL}/{case}", env=env)
        assert result.exit_code == 1, fmt
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            *expected_lines(case),
            f"Error: {summary(len(CASES[case]))} found in the configuration",
        ]
        assert_quotes_nothing(result)


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_extended_file_that_is_not_a_config_quotes_nothing(case: str, tmp_path: Path) -> None:
    """The same files reached through `extends`: the target's line is quoted (it is a config),
    the base's problems are located, and nothing of the base is shown."""
    shutil.copy(HERE / "not_config" / case, tmp_path / "base.yaml")
    target = tmp_path / "t.yaml"
    target.write_text("version: 1\nextends: base.yaml\nworkspace: {slug: acme}\n")
    for fmt in VALIDATE_FORMATS:
        result = invoke("validate", "--format", fmt, str(target))
        assert result.exit_code == 1
        assert_quotes_nothing(result)
    result = invoke("validate", str(target))
    base = [f"{tmp_path / 'base.yaml'}:{problem}" for problem in CASES[case]]
    assert result.stderr.splitlines() == [
        *base,
        f"{target}:2:10: extends: cannot extend '{tmp_path / 'base.yaml'}': it is not known to be "
        "a wscfg config (the problems reported in it say why); none of its content is shown",
        "    extends: base.yaml",
        "             ^",
        f"Error: {summary(len(base) + 1)} in 2 files (1 file checked)",
    ]


def test_a_known_config_is_quoted(tmp_path: Path) -> None:
    """The rule is not "never quote": in a config (x- keys allowed) the line and value are shown."""
    cfg = tmp_path / "ws.yaml"
    cfg.write_text("version: 1\nx-note: &n hi\nworkspace: {slug: acme, timezone: Mars/Olympus}\n")
    result = invoke("validate", str(cfg))
    assert result.exit_code == 1
    assert result.stderr == (
        f"{cfg}:3:35: workspace.timezone: 'Mars/Olympus' is not an IANA time zone (e.g. "
        "'America/Chicago')\n"
        "    workspace: {slug: acme, timezone: Mars/Olympus}\n"
        "                                      ^\n"
        "Error: 1 problem in 1 file (1 file checked)\n"
    )


def test_a_message_made_elsewhere_for_a_file_not_known_is_reduced_to_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one place every diagnostic passes (guard.unquoted_unless_known): a message for a
    file not known to be a config that was not built to quote nothing (here: a syntax error
    made the old way, quoting the line and the problem) keeps its location and says nothing
    else."""
    from wscfg.config import load, yamlerrors

    def quoting(exc: Exception, src: Any) -> Any:
        return src.diagnostic(2, 8, f"invalid YAML near {src.line(2)}", "token")

    monkeypatch.setattr(yamlerrors, "syntax_diagnostic", quoting)
    assert load  # the loader imports syntax_diagnostic from yamlerrors when it needs it
    cfg = tmp_path / "s.yaml"
    cfg.write_text(f"version: 1\ntoken: a: {PLANTED[0]}\n")
    for fmt in VALIDATE_FORMATS:
        result = invoke("validate", "--format", fmt, str(cfg))
        assert result.exit_code == 1
        assert_quotes_nothing(result)
    result = invoke("validate", str(cfg))
    assert result.stderr == (
        f"{cfg}:2:8: a problem here; this file is not known to be a wscfg config, so none of "
        "its content is shown\n"
        "Error: 1 problem in 1 file (1 file checked)\n"
    )


def test_in_a_config_a_key_the_format_does_not_have_is_named_but_its_value_not_shown(
    tmp_path: Path,
) -> None:
    """Defence in depth for a file that passes the rule (a `workspace:` section of another
    tool): a nested key no config has is named and located, and its line is not shown."""
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(f"version: 1\nworkspace:\n  slug: acme\n  api_key: {PLANTED[0]}\n")
    for fmt in VALIDATE_FORMATS:
        result = invoke("validate", "--format", fmt, str(cfg))
        assert result.exit_code == 1
        assert_quotes_nothing(result)
    result = invoke("validate", str(cfg))
    assert result.stderr == (
        f"{cfg}:4:3: workspace.api_key: unknown key 'api_key'; valid keys here: slug, name, "
        "timezone, business_profile\n"
        "Error: 1 problem in 1 file (1 file checked)\n"
    )


def test_plans_early_slug_hint_reads_only_files_that_look_like_configs(tmp_path: Path) -> None:
    """plan reads live state for the slugs it finds in the files' text while the real load runs:
    nothing of a file that does not look like a config is sent to the server as a slug."""
    from wscfg.config.validate import guess_target_slugs

    (tmp_path / "secrets.yaml").write_text("version: 1\ntoken: x\nslug: sk-live-planted-7q\n")
    (tmp_path / "ws.yaml").write_text("version: 1\n# a comment\nworkspace:\n  slug: acme\n")
    assert guess_target_slugs([str(tmp_path)]) == ["acme"]
