"""`policies:` and `locked:` on the config side: inheritance, located violations, both
severities, both validation paths (models and the schema quick path), bad and hostile schemas."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscfg.config.validate import check_paths

from .helpers import write

BASE = """\
version: 1
policies:
  - name: require-2fa
    description: Every sub-account requires two-factor sign-in.
    schema:
      required: [security]
      properties:
        security: {required: [require_2fa], properties: {require_2fa: {const: true}}}
  - name: hooks-to-our-crm
    description: Webhooks may only call the agency's CRM.
    severity: warning
    schema:
      properties:
        webhooks: {items: {properties: {url: {pattern: "^https://hooks\\\\.crm\\\\.example/"}}}}
locked: [security]
security: {require_2fa: true}
"""

TARGET = """\
version: 1
extends: base.yaml
workspace: {slug: clinic, name: Clinic}
members: [{email: owner@clinic.example, role: owner}]
"""

HOOK = """\
webhooks:
  - name: crm
    url: https://evil.example/hook
    events: [call.completed]
    secret: ${env:HOOK_SECRET}
"""


def run(tmp_path: Path, *names: str, models: bool = True, env: dict[str, str] | None = None):
    return check_paths(
        [str(tmp_path / n) for n in names],
        environ={"HOOK_SECRET": "hook-secret-value-123", **(env or {})},
        models=models,
    )


def heads(diags, root: Path) -> list[str]:
    return [d.headline().removeprefix(str(root) + "/") for d in diags]


@pytest.mark.parametrize("models", [True, False], ids=["models", "quick-path"])
def test_a_conforming_target_is_valid_and_inherits_the_policies(
    tmp_path: Path, models: bool
) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "clinic.yaml", TARGET)
    report = run(tmp_path, "base.yaml", "clinic.yaml", models=models)
    assert report.ok, heads(report.diagnostics, tmp_path)
    assert report.warnings == []
    if models:
        assert [p.name for p in report.configs[0].policies] == ["require-2fa", "hooks-to-our-crm"]


@pytest.mark.parametrize("models", [True, False], ids=["models", "quick-path"])
def test_error_and_warning_violations_are_located_at_the_offending_value(
    tmp_path: Path, models: bool
) -> None:
    base = BASE.replace("locked: [security]\n", "")
    write(tmp_path, "base.yaml", base)
    write(tmp_path, "clinic.yaml", TARGET + "security: {require_2fa: false}\n" + HOOK)
    report = run(tmp_path, "clinic.yaml", models=models)
    assert heads(report.diagnostics, tmp_path) == [
        "clinic.yaml:5:25: security.require_2fa: must be true; policy 'require-2fa' "
        "(Every sub-account requires two-factor sign-in.)"
    ]
    assert report.diagnostics[0].rule == "require-2fa"
    assert heads(report.warnings, tmp_path) == [
        "clinic.yaml:8:10: webhooks[0].url: must match the pattern "
        "`^https://hooks\\.crm\\.example/`; policy 'hooks-to-our-crm' "
        "(Webhooks may only call the agency's CRM.)"
    ]
    assert report.warnings[0].rule == "hooks-to-our-crm"
    assert report.targets == []


def test_a_warning_alone_keeps_the_target_valid(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "clinic.yaml", TARGET + HOOK)
    report = run(tmp_path, "clinic.yaml")
    assert report.ok
    assert [d.rule for d in report.warnings] == ["hooks-to-our-crm"]
    assert [t.slug for t in report.targets] == ["clinic"]


def test_a_missing_key_is_named_and_located_at_its_parent(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE.replace("security: {require_2fa: true}\n", ""))
    write(tmp_path, "clinic.yaml", TARGET)
    report = run(tmp_path, "clinic.yaml")
    assert heads(report.diagnostics, tmp_path) == [
        "clinic.yaml:1:1: security: is missing (the policy requires it); policy 'require-2fa' "
        "(Every sub-account requires two-factor sign-in.)"
    ]


def test_a_locked_key_set_below_names_the_lock_and_its_line(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "mid.yaml", "version: 1\nextends: base.yaml\n")
    write(
        tmp_path,
        "clinic.yaml",
        TARGET.replace("base.yaml", "mid.yaml") + "security:\n  require_2fa: true\n",
    )
    report = run(tmp_path, "clinic.yaml")
    base = tmp_path / "base.yaml"
    assert heads(report.diagnostics, tmp_path) == [
        f"clinic.yaml:5:1: security: `security` is locked (`locked: [security]` at {base}:15:10); "
        f"only {base} and the files it extends may set it"
    ]


def test_the_file_that_locks_a_key_may_set_it_and_so_may_its_bases(tmp_path: Path) -> None:
    write(tmp_path, "root.yaml", "version: 1\nsecurity: {require_2fa: true}\n")
    write(tmp_path, "base.yaml", "extends: root.yaml\n" + BASE)
    write(tmp_path, "clinic.yaml", TARGET)
    assert run(tmp_path, "clinic.yaml").ok


def test_a_sibling_later_in_the_chain_cannot_override_a_lock(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "other.yaml", "version: 1\nsecurity: {require_2fa: false}\n")
    write(
        tmp_path,
        "clinic.yaml",
        TARGET.replace("extends: base.yaml", "extends: [base.yaml, other.yaml]"),
    )
    report = run(tmp_path, "clinic.yaml")
    assert [(Path(d.file).name, d.line, d.path) for d in report.diagnostics] == [
        ("other.yaml", 2, "security"),
        ("other.yaml", 2, "security.require_2fa"),
    ]


LOCKING = """\
version: 1
vars: {billing_mail: false}
notifications:
  security: {in_app: true, email: true}
  billing: {in_app: true, email: "${var.billing_mail}"}
webhooks:
  - name: agency
    url: https://hooks.agency.example/calls
    events: [call.completed]
locked: [notifications, webhooks]
"""


def lock_message(tmp_path: Path, key: str, col: int) -> str:
    base = tmp_path / "base.yaml"
    return (
        f"`{key}` is locked (`locked: [{key}]` at {base}:10:{col}); only {base} and the files "
        "it extends may set it"
    )


def test_a_sibling_before_the_locking_file_cannot_set_a_locked_key(tmp_path: Path) -> None:
    """Listed before the locking file, a sibling's keys are overridden only where the locking
    file sets them: what it adds (a webhook, a notification event) would survive the merge."""
    write(tmp_path, "base.yaml", LOCKING)
    write(
        tmp_path,
        "other.yaml",
        "version: 1\nnotifications: {contacts: {in_app: false}}\nwebhooks:\n"
        "  - {name: mine, url: https://evil.example/, events: [call.completed]}\n",
    )
    write(
        tmp_path,
        "clinic.yaml",
        TARGET.replace("extends: base.yaml", "extends: [other.yaml, base.yaml]"),
    )
    report = run(tmp_path, "clinic.yaml")
    assert heads(report.diagnostics, tmp_path) == [
        f"other.yaml:2:1: notifications: {lock_message(tmp_path, 'notifications', 10)}",
        f"other.yaml:3:1: webhooks: {lock_message(tmp_path, 'webhooks', 25)}",
    ]


def test_a_variable_set_below_the_lock_cannot_reach_into_a_locked_key(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", LOCKING)
    write(tmp_path, "clinic.yaml", TARGET + "vars: {billing_mail: true, other: 1}\n")
    report = run(tmp_path, "clinic.yaml")
    assert heads(report.diagnostics, tmp_path) == [
        "clinic.yaml:5:22: vars.billing_mail: `${var.billing_mail}` is used in the locked key "
        f"`notifications` (at {tmp_path / 'base.yaml'}:5:34), so setting it sets "
        f"`notifications`: {lock_message(tmp_path, 'notifications', 10)}"
    ]
    # A variable the locking file's own chain sets is its business.
    write(tmp_path, "clinic.yaml", TARGET + "vars: {other: 1}\n")
    assert run(tmp_path, "clinic.yaml").ok


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ("manage: {webhooks: additive}\n", "5:10: manage.webhooks"),
        ("ignore:\n  webhooks: [agency]\n", "6:3: ignore.webhooks"),
    ],
)
def test_manage_or_ignore_of_a_locked_key_below_the_lock_is_an_error(
    tmp_path: Path, extra: str, where: str
) -> None:
    """`additive` would keep webhooks the locked list does not have, `ignore` would leave the
    locked webhook unenforced: both change what the locked key means on the live workspace."""
    write(tmp_path, "base.yaml", LOCKING)
    write(tmp_path, "clinic.yaml", TARGET + extra)
    report = run(tmp_path, "clinic.yaml")
    outer = where.split(": ")[1]
    assert heads(report.diagnostics, tmp_path) == [
        f"clinic.yaml:{where}: `{outer}` changes how the locked key `webhooks` is applied: "
        + lock_message(tmp_path, "webhooks", 25)
    ]
    # ... while a kind that is not locked stays the clinic's to manage.
    write(tmp_path, "clinic.yaml", TARGET + extra.replace("webhooks", "members"))
    assert run(tmp_path, "clinic.yaml").ok


def test_a_target_cannot_reorder_the_files_a_lock_depends_on(tmp_path: Path) -> None:
    """base.yaml merges b then a (a wins); a clinic naming a before b would make b win and
    change the locked value without writing it (found by the property below)."""
    write(tmp_path, "a.yaml", "version: 1\nnotifications: {billing: {email: true}}\n")
    write(tmp_path, "b.yaml", "version: 1\nnotifications: {billing: {email: false}}\n")
    write(tmp_path, "base.yaml", "version: 1\nextends: [b.yaml, a.yaml]\nlocked: [notifications]\n")
    write(
        tmp_path,
        "clinic.yaml",
        TARGET.replace("extends: base.yaml", "extends: [a.yaml, b.yaml, base.yaml]"),
    )
    report = run(tmp_path, "clinic.yaml")
    base = tmp_path / "base.yaml"
    assert heads(report.diagnostics, tmp_path) == [
        f"clinic.yaml:2:10: extends: `notifications` is locked (`locked: [notifications]` at "
        f"{base}:3:10); only {base} and the files it extends may set it; this target merges "
        f"{tmp_path / 'a.yaml'} before {tmp_path / 'b.yaml'}, which {base} merges the other "
        "way round, and the later one wins: list them in its order, or not at all"
    ]
    write(
        tmp_path,
        "clinic.yaml",
        TARGET.replace("extends: base.yaml", "extends: [b.yaml, a.yaml, base.yaml]"),
    )
    assert run(tmp_path, "clinic.yaml").ok


def test_remove_on_a_policy_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(
        tmp_path,
        "clinic.yaml",
        TARGET + "policies:\n  - {name: require-2fa, $remove: true}\n",
    )
    report = run(tmp_path, "clinic.yaml")
    assert heads(report.diagnostics, tmp_path) == [
        "clinic.yaml:6:25: policies[0].$remove: a policy cannot be removed: every file that "
        "extends the one declaring it inherits it ($remove is not allowed on policies)"
    ]


def test_redefining_an_inherited_policy_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    weaker = (
        "policies:\n  - name: require-2fa\n    description: weaker\n    severity: warning\n"
        "    schema: true\n"
    )
    write(tmp_path, "clinic.yaml", TARGET + weaker)
    report = run(tmp_path, "clinic.yaml")
    assert heads(report.diagnostics, tmp_path) == [
        f"clinic.yaml:6:11: policies: policy 'require-2fa' is already defined at "
        f"{tmp_path / 'base.yaml'}:3:5; policy names are unique across an extends chain, and "
        "a file cannot redefine (or weaken) a policy it inherits"
    ]


def test_a_sibling_listed_before_the_template_cannot_weaken_its_policy(tmp_path: Path) -> None:
    """`extends: [weak.yaml, base.yaml]`: weak.yaml's policy of the same name comes first in
    the merge; the target is refused, and the message does not say base.yaml inherits it."""
    write(tmp_path, "base.yaml", BASE)
    weak = "version: 1\npolicies:\n  - {name: require-2fa, description: weak, schema: true}\n"
    write(tmp_path, "weak.yaml", weak)
    write(
        tmp_path,
        "clinic.yaml",
        TARGET.replace("extends: base.yaml", "extends: [weak.yaml, base.yaml]"),
    )
    report = run(tmp_path, "clinic.yaml")
    assert heads(report.diagnostics, tmp_path) == [
        f"base.yaml:3:11: policies: policy 'require-2fa' is already defined at "
        f"{tmp_path / 'weak.yaml'}:3:5, in another file this target extends (neither extends "
        "the other); policy names are unique across an extends chain: one cannot replace (or "
        "weaken) the other"
    ]


def test_a_duplicate_name_in_one_file_is_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        "version: 1\npolicies:\n  - {name: a, description: x, schema: true}\n"
        "  - {name: a, description: y, schema: true}\n",
    )
    report = run(tmp_path, "base.yaml")
    assert heads(report.diagnostics, tmp_path) == [
        "base.yaml:4:12: policies[1].name: duplicate policy name 'a' (first at line 3)"
    ]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            "{name: a, description: x, severity: fatal, schema: true}",
            "base.yaml:3:41: policies[0].severity: must be error or warning",
        ),
        (
            "{name: a, description: x, schema: true, sevrity: warning}",
            "base.yaml:3:45: policies[0].sevrity: unknown key 'sevrity'; did you mean 'severity'?",
        ),
        (
            "{name: a, schema: true}",
            "base.yaml:3:5: policies[0]: missing required key 'description'",
        ),
        (
            "{name: 'a b', description: x, schema: true}",
            "base.yaml:3:12: policies[0].name: a policy name is 1 to 64 letters, digits, '.', "
            "'_' or '-', starting with a letter or digit",
        ),
        (
            "{name: a, description: x, schema: [1]}",
            "base.yaml:3:39: policies[0].schema: a policy's schema is a JSON Schema: a mapping "
            "(or true/false)",
        ),
        (
            "{name: a, description: x, schema: {properties: {a: {type: strin}}}}",
            "base.yaml:3:63: policies[0].schema.properties.a.type: invalid policy schema: must "
            "be a JSON type (array, boolean, integer, null, number, object or string) or a list "
            "of them",
        ),
        (
            "{name: a, description: x, schema: {minLength: -1}}",
            "base.yaml:3:51: policies[0].schema.minLength: invalid policy schema: must be a "
            "number of at least 0 here",
        ),
        (
            "{name: a, description: x, schema: {pattern: '(a'}}",
            "base.yaml:3:49: policies[0].schema.pattern: invalid policy schema: this pattern "
            "is not a valid regular expression",
        ),
        (
            "{name: a, description: x, schema: {patternProperties: {'[a': true}}}",
            "base.yaml:3:60: policies[0].schema.patternProperties['[a']: invalid policy schema: "
            "this pattern is not a valid regular expression",
        ),
        (
            "{name: a, description: x, schema: {patternProperties: {'(?<=a)b': true}}}",
            "base.yaml:3:60: policies[0].schema.patternProperties['(?<=a)b']: invalid policy "
            "schema: this pattern cannot be used: policies run regular expressions in linear "
            "time (no lookaround, no backreferences, at most 1 MB compiled)",
        ),
        (
            "{name: a, description: x, schema: {pattern: '(?=a)b'}}",
            "base.yaml:3:49: policies[0].schema.pattern: invalid policy schema: this pattern "
            "cannot be used: policies run regular expressions in linear time (no lookaround, "
            "no backreferences, at most 1 MB compiled)",
        ),
        (
            "{name: a, description: x, schema: {$schema: 'http://json-schema.org/draft-04/schema#'}}",
            "base.yaml:3:49: policies[0].schema.$schema: invalid policy schema: policies use "
            "JSON Schema 2020-12; `$schema` may only be https://json-schema.org/draft/2020-12/schema",
        ),
    ],
)
def test_a_bad_policy_is_an_error_at_its_line(tmp_path: Path, policy: str, expected: str) -> None:
    write(tmp_path, "base.yaml", f"version: 1\npolicies:\n  - {policy}\n")
    report = run(tmp_path, "base.yaml")
    assert heads(report.diagnostics, tmp_path) == [expected]


@pytest.mark.parametrize(
    "ref",
    [
        "https://example.invalid/schema.json",
        "http://127.0.0.1:9/x.json",
        "file:///etc/passwd",
        "/etc/passwd",
        "other.yaml",
        "other.yaml#/a",
    ],
)
def test_a_reference_that_leaves_the_schema_is_refused_without_fetching(
    tmp_path: Path, ref: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("a policy tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    write(tmp_path, "other.yaml", "version: 1\na: SECRET-CONTENT\n")
    write(
        tmp_path,
        "base.yaml",
        f"version: 1\npolicies:\n  - name: a\n    description: x\n    schema:\n"
        f"      properties: {{x: {{$ref: '{ref}'}}}}\n",
    )
    report = run(tmp_path, "base.yaml")
    assert heads(report.diagnostics, tmp_path) == [
        "base.yaml:6:30: policies[0].schema.properties.x.$ref: invalid policy schema: a policy "
        "may only refer inside its own schema (`#/$defs/NAME`); wscfg never fetches a schema "
        "from a URL or reads one from a file"
    ]


def test_the_rust_engine_itself_refuses_to_retrieve() -> None:
    """Second line of defence: the compiled validator's retriever refuses any URI."""
    from wscfg.config.policy_schema import compile_schema as _rust

    for ref in ("https://example.invalid/x.json", "file:///etc/passwd"):
        validator, problem = _rust({"$ref": ref})
        assert validator is None
        assert problem == ((), "not a schema wscfg can compile")


def test_local_references_work_and_cycles_and_blowups_are_refused(tmp_path: Path) -> None:
    local = (
        "{name: a, description: x, schema: {$defs: {on: {const: true}}, properties: "
        "{security: {properties: {require_2fa: {$ref: '#/$defs/on'}}}}}}"
    )
    write(tmp_path, "base.yaml", f"version: 1\npolicies:\n  - {local}\n")
    write(tmp_path, "t.yaml", TARGET + "security: {require_2fa: false}\n")
    report = run(tmp_path, "t.yaml")
    assert [d.path for d in report.diagnostics] == ["security.require_2fa"]

    cycle = (
        "{name: a, description: x, schema: {$defs: {a: {$ref: '#/$defs/b'}, "
        "b: {not: {$ref: '#/$defs/a'}}}, $ref: '#/$defs/a'}}"
    )
    write(tmp_path, "base.yaml", f"version: 1\npolicies:\n  - {cycle}\n")
    report = run(tmp_path, "base.yaml")
    assert [d.message for d in report.diagnostics] == [
        "invalid policy schema: the references of this schema form a cycle; a policy cannot "
        "refer to itself"
    ]
    # ... at the reference that closes it, by its place in the schema
    assert [(d.path, d.column) for d in report.diagnostics] == [
        ("policies[0].schema.$defs.b.not.$ref", 88)
    ]

    # 2**40 nodes once expanded, in 40 definitions: refused before compiling
    defs = ", ".join(
        f"d{i}: {{allOf: [{{$ref: '#/$defs/d{i + 1}'}}, {{$ref: '#/$defs/d{i + 1}'}}]}}"
        for i in range(40)
    )
    bomb = (
        f"{{name: a, description: x, schema: {{$defs: {{{defs}, d40: true}}, $ref: '#/$defs/d0'}}}}"
    )
    write(tmp_path, "base.yaml", f"version: 1\npolicies:\n  - {bomb}\n")
    started = time.monotonic()
    report = run(tmp_path, "base.yaml")
    assert [d.message for d in report.diagnostics] == [
        "invalid policy schema: too large: 20,000 nodes at most, counting each reference as "
        "the schema it points at"
    ]
    assert time.monotonic() - started < 60  # a hang, not a timing budget


def test_a_regex_bomb_runs_in_linear_time(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        "version: 1\npolicies:\n  - name: a\n    description: x\n    schema:\n"
        "      properties: {workspace: {properties: {name: {pattern: '^(a+)+$'}}}}\n",
    )
    write(tmp_path, "t.yaml", TARGET.replace("name: Clinic", "name: " + "a" * 90 + "!"))
    started = time.monotonic()
    report = run(tmp_path, "t.yaml")
    assert [(d.path, d.rule) for d in report.diagnostics] == [("workspace.name", "a")]
    assert time.monotonic() - started < 60  # backtracking would take longer than the universe


def test_a_violation_never_quotes_the_value_nor_an_env_value(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        "version: 1\npolicies:\n  - name: a\n    description: no hooks\n    schema:\n"
        "      properties: {webhooks: {items: {properties: {url: {not: {pattern: token}}}}}}\n",
    )
    hook = HOOK.replace("https://evil.example/hook", "https://evil.example/${env:TOKEN}")
    write(tmp_path, "t.yaml", TARGET + hook)
    report = run(tmp_path, "t.yaml", env={"TOKEN": "token-very-secret-987"})
    assert [d.path for d in report.diagnostics] == ["webhooks[0].url"]
    for d in report.diagnostics:
        text = d.headline() + d.source_line
        assert "token-very-secret-987" not in text
        assert "evil.example" not in d.message


@pytest.mark.parametrize("secret", ["a-secret-value-123", "z-secret-value-123"])
def test_a_policy_never_sees_a_secret(tmp_path: Path, secret: str) -> None:
    """A webhook's secret is write-only, absent from the live document: a policy does not see
    it on the config either (else each policy would tell one bit of it in a CI log)."""
    probe = (
        "version: 1\npolicies:\n  - name: probe\n    description: x\n    schema:\n"
        "      properties: {webhooks: {items: {properties: {secret: {pattern: '^a'}}}}}\n"
    )
    write(tmp_path, "base.yaml", probe)
    write(tmp_path, "clinic.yaml", TARGET + HOOK)
    report = run(tmp_path, "clinic.yaml", env={"HOOK_SECRET": secret})
    assert report.ok and report.diagnostics == [] and report.warnings == []
    assert report.configs[0].config.webhooks[0].secret is not None  # the config keeps it


def test_unset_env_in_validate_is_not_checked_against_policies(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        "version: 1\npolicies:\n  - name: a\n    description: x\n    schema:\n"
        "      properties: {workspace: {properties: {name: {const: Clinic}}}}\n",
    )
    write(tmp_path, "t.yaml", TARGET.replace("name: Clinic", "name: '${env:NAME}'"))
    report = check_paths([str(tmp_path / "t.yaml")], environ={}, unset_env_is_warning=True)
    assert report.ok
    assert [d.rule for d in report.warnings] == [""]


@pytest.mark.parametrize(
    ("locked", "message"),
    [
        ("[securty]", "'securty' is not a top-level key; did you mean 'security'?"),
        ("[version]", "'version' cannot be locked; lockable: "),
        # not a list: the file is not known to be a config until it is (nothing quoted)
        ("security", "must be a list, not text (until this is fixed, the file is not known"),
    ],
)
def test_a_bad_lock_is_an_error(tmp_path: Path, locked: str, message: str) -> None:
    write(tmp_path, "base.yaml", f"version: 1\nlocked: {locked}\n")
    report = run(tmp_path, "base.yaml")
    assert len(report.diagnostics) == 1
    assert report.diagnostics[0].message.startswith(message)


def test_every_recipe_in_the_docs_compiles(tmp_path: Path) -> None:
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", docs, flags=re.S)
    recipes = [b for b in blocks if "- name:" in b]
    assert len(recipes) >= 6
    for n, block in enumerate(recipes):
        text = block if "policies:" in block else "policies:\n" + block
        if "version:" not in text:
            text = "version: 1\n" + text
        write(tmp_path, f"r{n}.yaml", text)
        report = run(tmp_path, f"r{n}.yaml")
        assert report.diagnostics == [], (block, heads(report.diagnostics, tmp_path))


DOMAINS = ("acme.example", "other.example")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    two_factor=st.sampled_from([True, False, None]),
    emails=st.lists(
        st.tuples(st.sampled_from(("a", "b", "c", "d")), st.sampled_from(DOMAINS)),
        min_size=1,
        max_size=4,
        unique_by=lambda x: x[0],
    ),
    severity=st.sampled_from(["error", "warning"]),
)
def test_a_violation_is_reported_exactly_when_the_document_breaks_the_schema(
    tmp_path_factory: pytest.TempPathFactory,
    two_factor: bool | None,
    emails: list[tuple[str, str]],
    severity: str,
) -> None:
    """Invariant 17, config side: for any document, each policy is reported (at the right
    place, with its severity) exactly when the JSON Schema standard says the document breaks
    it (checked with the Python jsonschema library as the reference)."""
    import jsonschema

    schemas = {
        "two-factor": {
            "properties": {"security": {"properties": {"require_2fa": {"const": True}}}}
        },
        "domains": {
            "properties": {
                "members": {"items": {"properties": {"email": {"pattern": "@acme\\.example$"}}}}
            }
        },
    }
    root = tmp_path_factory.mktemp("prop")
    lines = ["version: 1", "policies:"]
    for name, schema in schemas.items():
        policy = {"name": name, "description": "x", "severity": severity, "schema": schema}
        lines.append(f"  - {json.dumps(policy)}")
    write(root, "base.yaml", "\n".join(lines) + "\n")
    doc: dict = {"version": 1, "workspace": {"slug": "clinic"}}
    doc["members"] = [{"email": f"{u}@{d}", "role": "owner"} for u, d in emails]
    if two_factor is not None:
        doc["security"] = {"require_2fa": two_factor}
    write(root, "t.yaml", json.dumps({**doc, "extends": "base.yaml"}) + "\n")
    report = run(root, "t.yaml")
    found = report.diagnostics if severity == "error" else report.warnings
    got = sorted((d.rule, d.path) for d in found)
    want = []
    for name, schema in schemas.items():
        for err in jsonschema.Draft202012Validator(schema).iter_errors(doc):
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
            want.append((name, path.lstrip(".")))
    assert got == sorted(want)
    assert (report.ok or severity == "error") and (not report.ok) == bool(
        want and severity == "error"
    )


@st.composite
def lock_chains(draw: st.DrawFn) -> dict:
    """Three templates (each may extend earlier ones), one of which locks `notifications`
    and uses `${var.m}` in it; a target extending some of them in any order; every file may
    set `notifications` itself or the variable `m`."""
    n = 3
    bases = [
        draw(st.lists(st.integers(0, i - 1), unique=True, max_size=i)) if i else []
        for i in range(n)
    ]
    target = draw(st.lists(st.integers(0, n - 1), unique=True, min_size=1, max_size=n))
    return {
        "bases": bases,
        "target": target,
        "lock": draw(st.integers(0, n - 1)),
        "sets_key": draw(st.lists(st.booleans(), min_size=n + 1, max_size=n + 1)),
        "sets_var": draw(st.lists(st.booleans(), min_size=n + 1, max_size=n + 1)),
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=lock_chains())
def test_an_accepted_target_resolves_a_locked_key_as_the_locking_file_does(
    tmp_path_factory: pytest.TempPathFactory, case: dict
) -> None:
    """Invariant 17, locks: whatever the extends arrangement (levels, siblings on either side
    of the locking file), a target that validates resolves the locked key exactly as the
    locking file's own chain does; a file outside that chain writing the key is refused."""
    from wscfg.config.resolve import FileCache, resolve

    root = tmp_path_factory.mktemp("locks")
    lock = case["lock"]
    allowed: set[int] = {lock}
    stack = [lock]
    while stack:
        for b in case["bases"][stack.pop()]:
            if b not in allowed:
                allowed.add(b)
                stack.append(b)
    for i in range(4):
        doc: dict = {"version": 1}
        extends = case["bases"][i] if i < 3 else case["target"]
        if extends:
            doc["extends"] = [f"t{b}.yaml" for b in extends]
        notifications: dict = {}
        if i == lock:
            doc["locked"] = ["notifications"]
            notifications["security"] = {"email": "${var.m}"}
        if case["sets_key"][i]:
            notifications["billing"] = {"email": i % 2 == 0}
        if notifications:
            doc["notifications"] = notifications
        if case["sets_var"][i] or i == lock:
            doc["vars"] = {"m": i == lock}
        if i == 3:
            doc["workspace"] = {"slug": "clinic", "name": "Clinic"}
            doc["members"] = [{"email": "owner@clinic.example", "role": "owner"}]
        write(root, "clinic.yaml" if i == 3 else f"t{i}.yaml", json.dumps(doc) + "\n")

    chain: list[int] = []  # the documented linearization: bases first, each file once

    def walk(i: int) -> None:
        for b in case["bases"][i] if i < 3 else case["target"]:
            if b not in chain:
                walk(b)
        chain.append(i)

    walk(3)
    report = run(root, "clinic.yaml")
    if lock not in chain:
        assert report.ok
        return
    writers = [i for i in chain if case["sets_key"][i] and i not in allowed]
    if writers:
        assert not report.ok
    if report.ok:
        got = resolve(str(root / "clinic.yaml"), "clinic.yaml", FileCache(), {}).data
        own = resolve(str(root / f"t{lock}.yaml"), "t.yaml", FileCache(), {}).data
        assert got["notifications"] == own["notifications"]


def test_policies_are_compiled_once_per_run_however_many_targets_extend_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 4: 30 clinics extending one template (through a middle file) compile its two
    policies twice in all, not 60 times, and every clinic is checked by them."""
    from wscfg.config import policies

    calls: list[object] = []
    real = policies.compile_schema

    def counted(schema: object):
        calls.append(schema)
        return real(schema)

    monkeypatch.setattr(policies, "compile_schema", counted)
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "mid.yaml", "version: 1\nextends: base.yaml\n")
    names = []
    for n in range(30):
        name = f"c{n:02d}.yaml"
        text = TARGET.replace("extends: base.yaml", "extends: mid.yaml")
        write(tmp_path, name, text.replace("slug: clinic", f"slug: c{n:02d}") + HOOK)
        names.append(name)
    report = run(tmp_path, *names)
    assert len(calls) == 2
    assert report.ok and len(report.warnings) == 30  # each clinic's hook, one warning each
    assert {d.rule for d in report.warnings} == {"hooks-to-our-crm"}
