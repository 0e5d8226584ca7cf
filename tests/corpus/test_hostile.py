"""The hostile corpus: configs that try to make wscfg read a file it should not, quote a
secret or aim a webhook at a private address. Each fails with exit 1 and the exact message,
and nothing of the file it reached for, nor any planted environment value, is printed.

Static cases live in tests/corpus/hostile/ (helpers in hostile/_data/ are not cases); the
cases that need a symbolic link or a folder outside the repository are built in tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from corpus.hostile_urls import HOSTILE
from wscfg.cli import cli

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
REL = (HERE / "hostile").relative_to(ROOT).as_posix()
PLANTED = {
    "WSCFG_TOKEN": "wscfg_planted_Token_0123456789abcdef",
    "AWS_SECRET_ACCESS_KEY": "planted/Secret+Line/for-the-test",
    "HOOK_HOST": "Planted-Hook-Host.example",
}
ONLY_YAML = "only .yaml or .yml config files can be extended"
NOT_CONFIG = (
    "it is not known to be a wscfg config (the problems reported in it say why); none of its "
    "content is shown"
)
UNTIL = (
    "(until this is fixed, the file is not known to be a wscfg config: none of its content is "
    "shown)"
)
FOREIGN_KEY = f"a top-level key no wscfg config has {UNTIL}"
# an extended file that is not known to be a config: its own problems, located, quoting nothing
BASE_PROBLEMS: dict[str, list[str]] = {
    "extends_not_a_config.yaml": [
        f"{REL}/_data/secrets.yaml:1:1: missing `version: 1` (the config format version) at the "
        "top level",
        f"{REL}/_data/secrets.yaml:2:1: {FOREIGN_KEY}",
        f"{REL}/_data/secrets.yaml:3:1: {FOREIGN_KEY}",
    ],
    "extends_broken_not_a_config.yaml": [
        f"{REL}/_data/broken.yml:3:1: the file ends inside a quoted string; close the quote (the "
        "quote opened at line 1, column 11)"
    ],
    "extends_versioned_not_a_config.yaml": [f"{REL}/_data/versioned.yaml:3:1: {FOREIGN_KEY}"],
}

# case -> (line, column, path, message)
CASES: dict[str, tuple[int, int, str, str]] = {
    "extends_proc_environ.yaml": (
        2,
        10,
        "extends",
        f"cannot extend '/proc/self/environ': {ONLY_YAML}",
    ),
    "extends_passwd.yaml": (
        2,
        10,
        "extends",
        f"cannot extend '../../../../../../../../etc/passwd': {ONLY_YAML}",
    ),
    "extends_netrc.yaml": (2, 10, "extends", f"cannot extend '~/.netrc': {ONLY_YAML}"),
    "extends_aws_credentials.yaml": (
        2,
        22,
        "extends[1]",
        f"cannot extend '~/.aws/credentials': {ONLY_YAML}",
    ),
    "extends_not_a_config.yaml": (
        2,
        10,
        "extends",
        f"cannot extend '{REL}/_data/secrets.yaml': {NOT_CONFIG}",
    ),
    "extends_broken_not_a_config.yaml": (
        2,
        10,
        "extends",
        f"cannot extend '{REL}/_data/broken.yml': {NOT_CONFIG}",
    ),
    # says `version: 1`, but its other keys are no config's: still never quoted
    "extends_versioned_not_a_config.yaml": (
        2,
        10,
        "extends",
        f"cannot extend '{REL}/_data/versioned.yaml': {NOT_CONFIG}",
    ),
}


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={**PLANTED, **(env or {})})


def assert_nothing_leaked(result: Result, *also: str) -> None:
    shown = result.stdout + result.stderr
    for value in [*PLANTED.values(), *also]:
        assert value.lower() not in shown.lower()
    assert "Traceback" not in shown


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_config_is_refused_without_quoting(case: str, in_root: None) -> None:
    line, column, path, message = CASES[case]
    result = invoke("validate", f"{REL}/{case}")
    assert result.exit_code == 1
    assert result.stdout == ""
    err = result.stderr.splitlines()
    base = BASE_PROBLEMS.get(case, [])
    assert err[: len(base)] == base
    assert err[len(base)] == f"{REL}/{case}:{line}:{column}: {path}: {message}"
    n = len(base) + 1
    files = "2 files" if base else "1 file"
    assert err[-1] == f"Error: {n} problem{'s' if n > 1 else ''} in {files} (1 file checked)"
    assert_nothing_leaked(
        result,
        "AKIAPLANTEDEXAMPLE42",
        "hunter2-planted-line",
        "root:x:0:0",
        "wJalrXUtnFEMI-versioned-planted",
    )


def test_every_case_has_an_expectation() -> None:
    files = {p.name for p in (HERE / "hostile").glob("*.yaml") if p.name != "base.yaml"}
    assert files == set(CASES)


def test_plan_refuses_before_reading_the_server(
    in_root: None, sandbox: object, workspace: object
) -> None:
    env = {"WSCFG_SERVER": sandbox.url, "WSCFG_TOKEN": workspace.key}  # type: ignore[attr-defined]
    result = invoke("plan", f"{REL}/extends_proc_environ.yaml", env=env)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{REL}/extends_proc_environ.yaml:2:10: extends: cannot extend '/proc/self/environ': "
        f"{ONLY_YAML}"
    )
    assert_nothing_leaked(result, workspace.key)  # type: ignore[attr-defined]


def _outside_setup(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "repo"
    (repo / "clinics").mkdir(parents=True)
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("version: 1\nworkspace: {name: Elsewhere}\n")
    return repo, outside


def test_extends_outside_the_config_root_is_refused(tmp_path: Path) -> None:
    repo, _ = _outside_setup(tmp_path)
    cfg = repo / "clinics" / "north.yaml"
    cfg.write_text("version: 1\nextends: ../../elsewhere.yaml\nworkspace: {slug: north}\n")
    result = invoke("validate", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{cfg}:2:10: extends: cannot extend '../../elsewhere.yaml': it is outside the config "
        f"root {repo / 'clinics'} (a config may only extend files in its own repository or "
        "folder; pass --config-root DIR to allow another)"
    )
    # --config-root widens it; a git work tree is a root of its own
    widened = invoke("validate", "--config-root", str(tmp_path), str(cfg))
    assert widened.exit_code == 0, widened.output
    (tmp_path / ".git").mkdir()
    assert invoke("validate", str(cfg)).exit_code == 0


def test_a_directory_named_on_the_command_line_is_the_root(tmp_path: Path) -> None:
    repo, _ = _outside_setup(tmp_path)
    (repo / "base.yaml").write_text("version: 1\nworkspace: {timezone: UTC}\n")
    (repo / "clinics" / "north.yaml").write_text(
        "version: 1\nextends: ../base.yaml\nworkspace: {slug: north}\n"
    )
    assert invoke("validate", str(repo)).exit_code == 0
    refused = invoke("validate", str(repo / "clinics"))
    assert refused.exit_code == 1
    assert "it is outside the config root" in refused.stderr.splitlines()[0]


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    repo, outside = _outside_setup(tmp_path)
    (repo / "clinics" / "base.yaml").symlink_to(outside)
    cfg = repo / "clinics" / "north.yaml"
    cfg.write_text("version: 1\nextends: base.yaml\nworkspace: {slug: north}\n")
    result = invoke("validate", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith(
        f"{cfg}:2:10: extends: cannot extend 'base.yaml': it is outside the config root "
    )


def test_a_symlink_to_an_environment_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").symlink_to("/proc/self/environ")
    cfg = tmp_path / "north.yaml"
    cfg.write_text("version: 1\nextends: base.yaml\nworkspace: {slug: north}\n")
    result = invoke("validate", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{cfg}:2:10: extends: cannot extend 'base.yaml': {ONLY_YAML}"
    )
    assert_nothing_leaked(result)


@pytest.mark.parametrize("spelling", ["Planted-Hook-Host.example", "planted-hook-host.example"])
def test_no_diagnostic_quotes_an_environment_value(tmp_path: Path, spelling: str) -> None:
    """A bad line holding an environment value (any case) is located but not quoted, and the
    message names the value by reference."""
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(f"version: 1\nworkspace: {{slug: acme, timezone: {spelling}}}\n")
    result = invoke("validate", str(cfg))
    assert result.exit_code == 1
    assert result.stderr == (
        f"{cfg}:2:35: workspace.timezone: '${{env:HOOK_HOST}}' is not an IANA time zone "
        "(e.g. 'America/Chicago')\n"
        "Error: 1 problem in 1 file (1 file checked)\n"
    )


def test_env_host_in_a_url_is_masked_in_any_case(tmp_path: Path) -> None:
    """`url: https://${env:HOOK_HOST}/x`: the error shows the reference, never the host,
    although the rule quotes hosts lower-cased."""
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(
        "version: 1\nworkspace: {slug: acme}\nwebhooks:\n"
        "  - {name: h, url: 'https://${env:HOOK_HOST}.local/x'}\n"
    )
    result = invoke("validate", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{cfg}:4:20: webhooks[0].url: '${{env:HOOK_HOST}}.local' is a private host name; "
        "webhooks must reach a public address"
    )
    assert_nothing_leaked(result)


@pytest.mark.parametrize(("url", "message"), sorted(HOSTILE.items()))
def test_hostile_webhook_url_in_a_config(tmp_path: Path, url: str, message: str) -> None:
    cfg = tmp_path / "ws.yaml"
    quoted = url.replace("'", "''")
    cfg.write_text(
        f"version: 1\nworkspace: {{slug: acme}}\nwebhooks:\n  - name: h\n    url: '{quoted}'\n"
    )
    result = invoke("validate", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{cfg}:5:10: webhooks[0].url: {message}"
    assert result.stderr.splitlines()[-1] == "Error: 1 problem in 1 file (1 file checked)"


# value written for call_rules.rule.duration.at_least -> the exact message
NUMBERS: dict[str, str] = {
    "99999999999999999999999999999999999": (
        "must be at most 86,400, not 99999999999999999999999999999999999"
    ),
    "1e308": "must be at most 86,400, not 1e+308",
    "-1": "must be at least 0, not -1",
    "true": "must be a number, not true (a boolean)",
    '"60"': "must be a number, not the text '60'",
}


@pytest.mark.parametrize(("written", "message"), sorted(NUMBERS.items()))
def test_out_of_range_or_non_numeric_number(tmp_path: Path, written: str, message: str) -> None:
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(
        f"version: 1\nworkspace: {{slug: acme}}\ncall_rules:\n"
        f"  rule: {{duration: {{at_least: {written}}}}}\n"
    )
    result = invoke("validate", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{cfg}:4:31: call_rules.rule.duration.at_least: {message}"
    )
    assert result.stderr.splitlines()[-1] == "Error: 1 problem in 1 file (1 file checked)"


@pytest.mark.parametrize("written", [".inf", "-.Inf", ".nan"])
def test_non_finite_number(tmp_path: Path, written: str) -> None:
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(
        f"version: 1\nworkspace: {{slug: acme}}\ncall_rules:\n"
        f"  rule: {{ai_score: {{at_most: {written}}}}}\n"
    )
    result = invoke("validate", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{cfg}:4:30: infinity and NaN are not allowed: numbers must be finite"
    )
