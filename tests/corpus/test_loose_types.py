"""The hostile corpus for loose types (#21 item 8), the client's side: a boolean is exactly
true or false, a whole number is a whole number, the format version is written ``1``, and a
key's ``expires`` is a date (not a date and time) after today. Each case fails
``wscfg validate`` with exit 1 and the exact message at file:line:column.

The tables name every boolean, integer, number and date field of the config's models:
:func:`test_the_tables_cover_every_typed_field` fails when a model gains one that is not here.
The server's side is tests/sandbox/test_strict_bodies.py.
"""

from __future__ import annotations

import datetime
import inspect
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel

from wscfg.cli import cli
from wscfg.model import WorkspaceConfig
from wscfg.model.base import NotNull

HEAD = "version: 1\nworkspace: {slug: acme, name: Acme}\n"
HOOK = "{name: h, url: 'https://hooks.example.com/x', events: [call.completed], "
KEY = "{name: k, mode: live, scopes: [calls:read], "

# (model, field) -> (the path in messages, the lines after HEAD with {v} where the value goes)
BOOLEANS: dict[tuple[str, str], tuple[str, str]] = {
    ("Invitations", "resend_expired"): (
        "invitations.resend_expired",
        "invitations: {resend_expired: {v}}\n",
    ),
    ("Channels", "in_app"): (
        "members[0].notifications.system.in_app",
        "members:\n  - {email: o@acme.example, role: owner,\n"
        "     notifications: {system: {in_app: {v}}}}\n",
    ),
    ("Channels", "email"): (
        "notifications.billing.email",
        "notifications:\n  billing: {email: {v}}\n",
    ),
    ("EmailOnly", "email"): (
        "notifications.assigned_tickets.email",
        "notifications: {assigned_tickets: {email: {v}}}\n",
    ),
    ("CallRules", "auto_unqualify"): (
        "call_rules.auto_unqualify",
        "call_rules: {auto_unqualify: {v}}\n",
    ),
    ("WebhookFilters", "qualified_only"): (
        "webhooks[0].filters.qualified_only",
        "webhooks:\n  - " + HOOK + "filters: {qualified_only: {v}}}\n",
    ),
    ("Webhook", "enabled"): ("webhooks[0].enabled", "webhooks:\n  - " + HOOK + "enabled: {v}}\n"),
    ("Security", "require_2fa"): ("security.require_2fa", "security:\n  require_2fa: {v}\n"),
}
YAML11 = "wscfg reads YAML 1.2): write true/false"
# a value written where a boolean stands -> what the message says after the path
NOT_BOOLEANS: dict[str, str] = {
    "yes": f"must be true or false, not the text 'yes' (YAML 1.1's word for true; {YAML11}",
    "Yes": f"must be true or false, not the text 'Yes' (YAML 1.1's word for true; {YAML11}",
    "NO": f"must be true or false, not the text 'NO' (YAML 1.1's word for false; {YAML11}",
    "on": f"must be true or false, not the text 'on' (YAML 1.1's word for true; {YAML11}",
    "Off": f"must be true or false, not the text 'Off' (YAML 1.1's word for false; {YAML11}",
    "y": f"must be true or false, not the text 'y' (YAML 1.1's word for true; {YAML11}",
    "N": f"must be true or false, not the text 'N' (YAML 1.1's word for false; {YAML11}",
    "1": "must be true or false, not the number 1: write true/false",
    "0": "must be true or false, not the number 0: write true/false",
    "1.0": "must be true or false, not the number 1.0: write true/false",
    "0x1": "must be true or false, not the number 1: write true/false",
    '"true"': "must be true or false, not the text 'true': write true/false without quotes",
    "'False'": "must be true or false, not the text 'False': write true/false without quotes",
    "[true]": "must be true or false, not a list: write true/false",
}

INTEGERS: dict[tuple[str, str], tuple[str, str]] = {
    ("WebhookFilters", "min_duration"): (
        "webhooks[0].filters.min_duration",
        "webhooks:\n  - " + HOOK + "filters: {min_duration: {v}}}\n",
    ),
    ("UsageAlert", "threshold"): (
        "usage_alerts[0].threshold",
        "usage_alerts:\n  - {threshold: {v}}\n",
    ),
    ("ApiKey", "rotation"): ("api_keys[0].rotation", "api_keys:\n  - " + KEY + "rotation: {v}}\n"),
}
NOT_INTEGERS: dict[str, str] = {
    "80.0": "must be a whole number, not the number 80.0",
    "8e1": "must be a whole number, not the number 80.0",
    "true": "must be a whole number, not true (a boolean)",
    "'80'": "must be a whole number, not the text '80'",
    "yes": "must be a whole number, not the text 'yes'",
}
# Numbers that may have a fraction (rule ranges): tests/corpus/test_hostile.py
# (test_out_of_range_or_non_numeric_number) has their cases.
NUMBERS = {
    ("Range", "at_least"),
    ("Range", "at_most"),
    ("ScoreRange", "at_least"),
    ("ScoreRange", "at_most"),
}
DATES = {("ApiKey", "expires")}
# Fields that are not settings of this kind: free values, a JSON Schema, a read-only field.
OTHERS = {("WorkspaceConfig", "vars"), ("Policy", "schema_"), ("Member", "two_factor")}


def invoke(tmp_path: Path, body: str) -> tuple[Path, Result]:
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(HEAD + body)
    return cfg, CliRunner().invoke(cli, ["validate", str(cfg)])


def place(template: str, value: str) -> tuple[str, int, int]:
    """The config text with ``value`` in place and the line and column it is at."""
    before = (HEAD + template).split("{v}")[0].split("\n")
    return template.replace("{v}", value), len(before), len(before[-1]) + 1


def assert_refused(tmp_path: Path, template: str, value: str, message: str) -> None:
    body, line, col = place(template, value)
    cfg, result = invoke(tmp_path, body)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"{cfg}:{line}:{col}: {message}"
    assert lines[-1] == "Error: 1 problem in 1 file (1 file checked)"
    assert "Traceback" not in result.output


@pytest.mark.parametrize("value", sorted(NOT_BOOLEANS))
@pytest.mark.parametrize("field", sorted(BOOLEANS))
def test_a_boolean_is_exactly_true_or_false(
    tmp_path: Path, field: tuple[str, str], value: str
) -> None:
    path, template = BOOLEANS[field]
    assert_refused(tmp_path, template, value, f"{path}: {NOT_BOOLEANS[value]}")


@pytest.mark.parametrize("value", ["true", "false"])
@pytest.mark.parametrize("field", sorted(BOOLEANS))
def test_true_and_false_are_booleans(tmp_path: Path, field: tuple[str, str], value: str) -> None:
    body, _, _ = place(BOOLEANS[field][1], value)
    _, result = invoke(tmp_path, body)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value", sorted(NOT_INTEGERS))
@pytest.mark.parametrize("field", sorted(INTEGERS))
def test_a_whole_number_is_a_whole_number(
    tmp_path: Path, field: tuple[str, str], value: str
) -> None:
    path, template = INTEGERS[field]
    assert_refused(tmp_path, template, value, f"{path}: {NOT_INTEGERS[value]}")


WRITTEN = "version: the format version is written `version: 1`, not"
# how version is written -> the message
VERSIONS: dict[str, str] = {
    "1.0": f"{WRITTEN} `1.0`",
    "1e0": f"{WRITTEN} `1e0`",
    "0x1": f"{WRITTEN} `0x1`",
    "0o1": f"{WRITTEN} `0o1`",
    "01": f"{WRITTEN} `01`",
    "+1": f"{WRITTEN} `+1`",
    "&v 1.0": f"{WRITTEN} `1.0`",
    "!!int 0x1": f"{WRITTEN} `0x1`",
    "!!float 1": "version: the format version is written `version: 1`, a whole number without "
    "a tag",
    # the value itself is not quoted: a file whose version is not 1 is not known to be a config
    "'1'": "version: unsupported format version (text); this wscfg reads `version: 1`",
    "true": "version: unsupported format version (true/false); this wscfg reads `version: 1`",
    "2": "version: unsupported format version (a number other than 1); this wscfg reads "
    "`version: 1`",
}


@pytest.mark.parametrize(("written", "message"), sorted(VERSIONS.items()))
def test_the_version_is_written_1(tmp_path: Path, written: str, message: str) -> None:
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(f"version: {written}\nworkspace: {{slug: acme}}\n")
    result = CliRunner().invoke(cli, ["validate", str(cfg)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{cfg}:1:10: {message}"


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\n",
        "version: 1  # the format\n",
        "{version: 1}\n",
        "version: &v 1\n",
        "x-v: &v 1\nversion: *v\n",
        "version: !!int 1\n",
    ],
)
def test_1_is_1_however_the_line_is_laid_out(tmp_path: Path, text: str) -> None:
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(text)
    result = CliRunner().invoke(cli, ["validate", str(cfg)])
    assert result.exit_code == 0, result.output


NOT_A_DATE = "api_keys[0].expires: must be a date written YYYY-MM-DD, e.g. 2027-12-31"
EXPIRES: dict[str, str] = {
    "2027-12-31T00:00:00": f"{NOT_A_DATE} (not a date and time)",
    "'2027-12-31T00:00:00Z'": f"{NOT_A_DATE} (not a date and time)",
    "2027-12-31 00:00:00": f"{NOT_A_DATE} (not a date and time)",
    "20271231": NOT_A_DATE,
    "2027-1-31": NOT_A_DATE,
    "true": NOT_A_DATE,
}


@pytest.mark.parametrize(("written", "message"), sorted(EXPIRES.items()))
def test_expires_is_a_date_not_a_date_and_time(tmp_path: Path, written: str, message: str) -> None:
    assert_refused(tmp_path, "api_keys:\n  - " + KEY + "expires: {v}}\n", written, message)


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


@pytest.mark.parametrize("days", [-20_000, -1, 0])
def test_expires_is_after_today(tmp_path: Path, days: int) -> None:
    """``expires: 1970-01-01`` created a key that never worked; today's date, one that stops
    working within hours. Both are refused; tomorrow is the first day allowed."""
    today = _today()
    day = (today + datetime.timedelta(days=days)).isoformat()
    assert_refused(
        tmp_path,
        "api_keys:\n  - " + KEY + "expires: {v}}\n",
        day,
        f"api_keys[0].expires: must be in the future (after {today.isoformat()}, today in "
        f"UTC), not {day}",
    )
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    body, _, _ = place("api_keys:\n  - " + KEY + "expires: {v}}\n", tomorrow)
    assert invoke(tmp_path, body)[1].exit_code == 0


# --- the tables cover every typed field -------------------------------------------------------


def _leaves(tp: Any) -> list[Any]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType, list, dict):
        return [leaf for arg in get_args(tp) for leaf in _leaves(arg)]
    if origin is Annotated:
        return _leaves(get_args(tp)[0])
    return [tp]


def typed_fields() -> dict[tuple[str, str], Any]:
    """(model, field) -> the field's info, for every bool, int, float or date leaf."""
    out: dict[tuple[str, str], Any] = {}
    seen: set[type] = set()

    def walk(model: type[BaseModel]) -> None:
        seen.add(model)
        for name, info in model.model_fields.items():
            for leaf in _leaves(info.annotation):
                if isinstance(leaf, type) and issubclass(leaf, BaseModel):
                    if leaf not in seen:
                        walk(leaf)
                elif leaf in (bool, int, float, datetime.date):
                    owner = next(m for m in model.__mro__ if name in inspect.get_annotations(m))
                    out[(owner.__name__, name)] = info

    walk(WorkspaceConfig)
    return out


def test_the_tables_cover_every_typed_field() -> None:
    assert set(typed_fields()) == set(BOOLEANS) | set(INTEGERS) | NUMBERS | DATES | OTHERS


def test_every_optional_boolean_or_number_refuses_null() -> None:
    """What the API refuses for ``{"require_2fa": null}`` (tests/sandbox/test_strict_bodies.py)
    is the models' rule: an optional boolean or number setting carries NotNull."""
    fields = typed_fields()
    for key in set(BOOLEANS) | set(INTEGERS) | NUMBERS:
        info = fields[key]
        if not info.is_required() and key != ("Invitations", "resend_expired"):
            assert NotNull in info.metadata, key


REMOVE = "call_tags[0].$remove: $remove must be true"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("yes", f"{REMOVE} (YAML 1.1's word for true; wscfg reads YAML 1.2): write true"),
        ("On", f"{REMOVE} (YAML 1.1's word for true; wscfg reads YAML 1.2): write true"),
        ("1", f"{REMOVE}: write true"),
        ('"true"', f"{REMOVE}: write true without quotes"),
        ("false", REMOVE),
    ],
)
def test_remove_is_exactly_true(tmp_path: Path, written: str, message: str) -> None:
    """``$remove:`` in a file that extends another takes true and nothing else."""
    (tmp_path / "base.yaml").write_text("version: 1\ncall_tags: [{name: a}]\n")
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(
        f"version: 1\nextends: base.yaml\nworkspace: {{slug: acme}}\n"
        f"call_tags:\n  - {{name: a, $remove: {written}}}\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(cfg)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{cfg}:5:24: {message}"
