"""Property (issue 21 item 3): for any YAML or text file that is not a wscfg config, with a
random secret planted anywhere in it (a key, a value, a comment, the middle of a word, a line
with a syntax error, a tab line…), no output of validate (every --format) or plan (every
--format) contains the secret.

A generated file always holds a top-level key no config has, so it is not a config by
construction; a file that PyYAML (an independent reader) reads as a mapping holding only
config keys and `version: 1` is skipped, in case generation made one anyway.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscfg.cli import cli
from wscfg.config import guard

VALIDATE_FORMATS = ("text", "json", "github", "sarif", "gitlab")
PLAN_FORMATS = ("text", "json", "markdown")

# Lines a config has, lines a secrets file has, and noise that breaks YAML in many ways.
CONFIG_LINES = [
    "version: 1",
    "workspace: {slug: acme}",
    "workspace:",
    "  slug: acme",
    "  name: Acme",
    "members: []",
    "members:",
    "  - {email: a@acme.example, role: owner}",
    "x-note: &n hi",
    "security: {require_2fa: true}",
    "vars: {clinic: North}",
    "extends: base.yaml",
    "# a comment",
    "",
]
NOISE = st.text(
    alphabet=string.ascii_letters + string.digits + " :-[]{}#&*!|>'\",.\t=@/%?<",
    max_size=30,
)
FOREIGN_KEY = st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True).filter(
    lambda k: not guard.config_key(k)
)
SECRET = st.from_regex(r"[A-Za-z0-9]{20}", fullmatch=True).map(lambda s: "sk" + s)


@st.composite
def not_config_with_secret(draw: Any) -> tuple[str, str]:
    lines = draw(st.lists(st.one_of(st.sampled_from(CONFIG_LINES), NOISE), max_size=12))
    key = draw(FOREIGN_KEY)
    value = draw(st.one_of(NOISE, st.sampled_from(["", "{a: 1}", "[1, 2]", "|"])))
    lines.insert(draw(st.integers(0, len(lines))), f"{key}: {value}".rstrip())
    text = "\n".join(lines) + draw(st.sampled_from(["\n", ""]))
    secret = draw(SECRET)
    at = draw(st.integers(0, len(text)))
    return text[:at] + secret + text[at:], secret


def could_be_a_config(text: str) -> bool:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return (
        isinstance(doc, dict)
        and doc.get("version") == 1
        and all(isinstance(k, str) and guard.config_key(k) for k in doc)
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("not-config")


@pytest.fixture(scope="module")
def server_env(sandbox: Any) -> Iterator[dict[str, str]]:
    ws = sandbox.new_workspace("quoting")
    yield {"WSCFG_SERVER": sandbox.url, "WSCFG_TOKEN": ws.key}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=not_config_with_secret())
def test_no_output_of_a_file_that_is_not_a_config_contains_a_planted_secret(
    case: tuple[str, str], folder: Path, server_env: dict[str, str]
) -> None:
    text, secret = case
    if could_be_a_config(text):
        return
    path = folder / "secrets.yaml"
    path.write_text(text, encoding="utf-8", newline="")
    runner = CliRunner()
    runs = [("validate", "--format", fmt) for fmt in VALIDATE_FORMATS]
    runs += [("plan", "--format", fmt) for fmt in PLAN_FORMATS]
    for args in runs:
        result = runner.invoke(cli, [*args, str(path)], env=server_env)
        shown = result.stdout + result.stderr
        assert result.exit_code == 1, (args, shown)
        assert "Traceback" not in shown
        assert secret.lower() not in shown.lower(), (args, text, shown)
