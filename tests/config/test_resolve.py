"""extends, vars, ${env:...} and merging by identity, seen through the public API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wscfg.config.desired import Source, TargetConfig
from wscfg.config.validate import load_targets
from wscfg.errors import ConfigError

from .helpers import check, lines, write


def dump(d: TargetConfig) -> dict[str, Any]:
    return d.config.model_dump(mode="json", exclude_unset=True, exclude={"vars"})


def one(tmp_path: Path, name: str, env: dict[str, str] | None = None) -> TargetConfig:
    (d,) = load_targets([str(tmp_path / name)], environ=env or {})
    return d


BASE = """\
    version: 1
    vars: {group: Smile}
    workspace:
      name: "${var.group} ${var.clinic}"
      timezone: America/Chicago
      business_profile: {company: Smile LLC, services: [cleanings, implants]}
    roles:
      - {name: front-desk, permissions: [call_log:read, contacts:read]}
    members:
      - {email: ops@smile.example, role: owner}
      - {email: desk@smile.example, role: front-desk, notifications: {system: {email: false}}}
    call_tags: [{name: spam, color: "#6b7280"}, {name: new-patient}]
    call_rules:
      auto_unqualify: true
      rule: {all: [{duration: {at_least: 60}}, {not_tag: spam}]}
    blocked_callers: ["+1 202 555 0111", {number: "+12025550112", note: robocaller}]
    manage: {members: exact, call_tags: additive}
    ignore: {members: ["*@sso.smile.example"]}
    """


def test_mappings_deep_merge_and_collections_merge_by_identity(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(
        tmp_path,
        "north.yaml",
        """\
        version: 1
        extends: base.yaml
        vars: {clinic: North}
        workspace:
          slug: smile-north
          business_profile: {services: [orthodontics]}
        members:
          - {email: DESK@smile.example, notifications: {system: {in_app: true}}}
          - {email: new@smile.example, role: member}
        call_rules:
          rule: {tag: new-patient}
        blocked_callers:
          - {number: "+1 (202) 555-0111", note: still a robocaller}
          - {number: "+12025550112", $remove: true}
        manage: {call_tags: exact}
        ignore: {members: ["*@other.example"]}
        """,
    )
    d = one(tmp_path, "north.yaml")
    assert dump(d) == {
        "version": 1,
        "workspace": {
            "name": "Smile North",
            "timezone": "America/Chicago",
            "business_profile": {"company": "Smile LLC", "services": ["orthodontics"]},
            "slug": "smile-north",
        },
        "roles": [{"name": "front-desk", "permissions": ["call_log:read", "contacts:read"]}],
        "members": [
            {"email": "ops@smile.example", "role": "owner"},
            {
                "email": "desk@smile.example",
                "role": "front-desk",
                "notifications": {"system": {"email": False, "in_app": True}},
            },
            {"email": "new@smile.example", "role": "member"},
        ],
        "call_tags": [{"name": "spam", "color": "#6b7280"}, {"name": "new-patient"}],
        "call_rules": {"auto_unqualify": True, "rule": {"tag": "new-patient"}},
        "blocked_callers": [{"number": "+12025550111", "note": "still a robocaller"}],
        "manage": {"members": "exact", "call_tags": "exact"},
        "ignore": {"members": ["*@other.example"]},
    }
    base = str(tmp_path / "base.yaml")
    north = str(tmp_path / "north.yaml")
    assert d.file == north
    assert d.sources[("workspace", "timezone")] == Source(base, 5, 3)
    assert d.sources[("workspace", "slug")] == Source(north, 5, 3)
    assert d.sources[("members", 0, "role")] == Source(base, 10, 32)  # the key
    assert d.sources[("members", 1)] == Source(north, 8, 5)  # the child declared the item
    assert d.sources[("members", 1, "role")] == Source(base, 11, 33)  # inherited field
    assert d.sources[("members", 1, "notifications", "system", "in_app")].file == north
    assert d.sources[("members", 1, "notifications", "system", "email")].file == base
    assert d.sources[("call_rules", "auto_unqualify")].file == base
    assert d.sources[("call_rules", "rule")].file == north
    assert d.source_of(("members", 2, "role", "nope")) == Source(north, 9, 32)


def test_every_value_and_item_has_a_source(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(
        tmp_path,
        "c.yaml",
        "version: 1\nextends: base.yaml\nvars: {clinic: C}\nworkspace: {slug: c}\n",
    )
    d = one(tmp_path, "c.yaml")

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if path:
            assert path in d.sources, path
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*path, i))

    data = d.config.model_dump(mode="json", exclude_unset=True)
    data["blocked_callers"][0] = "+1 202 555 0111"  # written as a bare string
    walk(data, ())


def test_list_order_follows_the_merged_document(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "version: 1\ncall_tags: [{name: a}, {name: b}, {name: c}]\n")
    write(
        tmp_path,
        "t.yaml",
        """\
        version: 1
        extends: base.yaml
        workspace: {slug: t}
        call_tags: [{name: d}, {name: b, color: "#FFF"}, {name: a, $remove: true}]
        """,
    )
    d = one(tmp_path, "t.yaml")
    assert [t.name for t in d.config.call_tags or []] == ["b", "c", "d"]
    assert d.config.call_tags is not None and d.config.call_tags[0].color == "#ffffff"
    assert d.sources[("call_tags", 2)].line == 4


def test_extends_list_chain_and_diamond(tmp_path: Path) -> None:
    write(tmp_path, "common.yaml", "version: 1\nworkspace: {name: common, timezone: UTC}\n")
    write(tmp_path, "a.yaml", "version: 1\nextends: common.yaml\nworkspace: {name: a}\n")
    write(
        tmp_path,
        "sub/b.yaml",
        "version: 1\nextends: ../common.yaml\nworkspace: {timezone: Europe/Paris}\n",
    )
    write(tmp_path, "t.yaml", "version: 1\nextends: [a.yaml, sub/b.yaml]\nworkspace: {slug: t}\n")
    d = one(tmp_path, "t.yaml")
    # common once, then a, then b (later wins), then t
    assert dump(d)["workspace"] == {"name": "a", "timezone": "Europe/Paris", "slug": "t"}
    assert d.sources[("workspace", "timezone")].file == str(tmp_path / "sub/b.yaml")


def test_vars_child_wins_and_whole_string_keeps_type(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """\
        version: 1
        vars: {min: 30, hooks: false, clinic: Base}
        workspace: {name: "Clinic ${var.clinic} ($${literal}) ${var.min}s"}
        call_tags: [{name: spam}]
        call_rules: {rule: {duration: {at_least: "${var.min}"}}}
        webhooks:
          - {name: h, url: "https://h.example.com/${var.clinic}", enabled: "${var.hooks}"}
        """,
    )
    write(
        tmp_path,
        "t.yaml",
        "version: 1\nextends: base.yaml\nvars: {min: 45, hooks: true}\nworkspace: {slug: t}\n",
    )
    d = one(tmp_path, "t.yaml")
    data = dump(d)
    assert data["workspace"]["name"] == "Clinic Base (${literal}) 45s"
    assert data["call_rules"] == {"rule": {"duration": {"at_least": 45}}}
    assert data["webhooks"][0]["enabled"] is True
    assert data["webhooks"][0]["url"] == "https://h.example.com/Base"
    assert d.config.vars == {"min": 45, "hooks": True, "clinic": "Base"}


def test_env_and_secret_refs(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        """\
        version: 1
        workspace: {slug: t, name: "Acme ${env:ACME_REGION}"}
        webhooks:
          - {name: a, url: "https://a.example.com/x", secret: "${env:A_SECRET}"}
          - {name: b, url: "https://b.example.com/x"}
          - {name: c, url: "https://c.example.com/x", secret: "${env:C_SECRET}"}
        """,
    )
    env = {"ACME_REGION": "West", "A_SECRET": "s3cret-a", "C_SECRET": "s3cret-c"}
    d = one(tmp_path, "t.yaml", env)
    assert d.secret_refs == {
        ("webhooks", 0, "secret"): "A_SECRET",
        ("webhooks", 2, "secret"): "C_SECRET",
    }
    hooks = d.config.webhooks or []
    assert hooks[0].secret is not None and hooks[0].secret.get_secret_value() == "s3cret-a"
    assert d.config.workspace is not None and d.config.workspace.name == "Acme West"
    assert d.sources[("webhooks", 0, "secret")] == Source(str(tmp_path / "t.yaml"), 4, 47)
    assert "s3cret" not in repr(d.sources)


def test_env_values_never_appear_in_diagnostics(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        """\
        version: 1
        workspace: {slug: t, timezone: "${env:TZ_VALUE}", name: "${env:LONG_NAME}"}
        members: [{email: "${env:EMAIL}", role: owner}]
        webhooks: [{name: a, url: "${env:HOOK_URL}"}]
        """,
    )
    env = {
        "TZ_VALUE": "Mars/Olympus",
        "LONG_NAME": "x" * 200,
        "EMAIL": "not-an-email",
        "HOOK_URL": "http://internal.example.com/p",
    }
    report = check(tmp_path, "t.yaml", env=env)
    text = "\n".join(lines(report, tmp_path))
    # email-validator's own reason follows ours; its wording is the library's, not asserted
    ours = re.sub(r"(is not a valid email address): \S[^\n]*", r"\1: …", text)
    assert ours == (
        "t.yaml:2:32: workspace.timezone: '${env:TZ_VALUE}' is not an IANA time zone (e.g. "
        "'America/Chicago')\n"
        "t.yaml:2:57: workspace.name: must be at most 120 characters (it has 200)\n"
        "t.yaml:3:19: members[0].email: '${env:EMAIL}' is not a valid email address: …\n"
        "t.yaml:4:27: webhooks[0].url: webhook URLs must use https://"
    )
    for value in env.values():
        assert value not in text
        assert all(value not in d.source_line for d in report.diagnostics)


def test_short_env_values_are_not_redacted_elsewhere(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        "version: 1\nworkspace: {slug: t, name: 'x${env:P}'}\n"
        "members: [{email: a@b.example, role: top}]\n",
    )
    report = check(tmp_path, "t.yaml", env={"P": "o"})
    assert lines(report, tmp_path) == [
        "t.yaml:3:1: members: no member has the owner role; a workspace must keep at least one "
        "owner. Add one, or use `manage: {members: additive}` to leave undeclared live members "
        "alone",
        "t.yaml:3:38: members[0].role: 'top' is not a role; use a built-in role (owner, admin, "
        "member, client) or declare it under `roles:` in this config",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: '${var.nope}'",
            "workspace.name: variable 'nope' is not defined; define it under `vars:`",
        ),
        ("name: '${env:NOPE_X}'", "workspace.name: environment variable NOPE_X is not set"),
        ("name: '${ var.a }'", "workspace.name: unknown reference ${ var.a } (no spaces;"),
        ("name: '${vars.a}'", "'var.' with a dot, 'env:' with a colon"),
        ("name: 'a ${var.a'", "workspace.name: unterminated ${ (write $${ for a literal ${)"),
        ("name: '${}'", "workspace.name: unknown reference ${}"),
    ],
)
def test_reference_errors(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "t.yaml", f"version: 1\nvars: {{a: 1}}\nworkspace:\n  slug: t\n  {text}\n")
    (line,) = lines(check(tmp_path, "t.yaml"), tmp_path)
    assert line.startswith("t.yaml:5:9: "), line
    assert message in line


def test_vars_shape_errors(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        """\
        version: 1
        vars:
          ok: 1
          2bad: x
          list: [1]
          nested: "${var.ok}"
          empty:
        workspace: {slug: t}
        """,
    )
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "t.yaml:4:3: vars: '2bad' is not a valid variable name (letters, digits and '_', not "
        "starting with a digit)",
        "t.yaml:5:9: vars.list: a variable's value must be text, a number or true/false",
        "t.yaml:6:11: vars.nested: a variable's value cannot contain ${...} references (write $${ "
        "for a literal ${)",
        "t.yaml:7:9: vars.empty: has no value",
    ]


def test_undefined_var_of_a_template_is_reported_for_the_target(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "version: 1\nworkspace: {name: 'Smile ${var.clinic}'}\n")
    write(tmp_path, "t.yaml", "version: 1\nextends: base.yaml\nworkspace: {slug: t}\n")
    report = check(tmp_path, "base.yaml", "t.yaml")
    assert lines(report, tmp_path) == [
        f"base.yaml:2:19: workspace.name: variable 'clinic' is not defined; {tmp_path}/t.yaml "
        "extends this file and must define it under `vars:`"
    ]
    assert report.templates == [str(tmp_path / "base.yaml")]


def test_template_with_slug_from_a_var(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "version: 1\nworkspace: {slug: 'smile-${var.clinic}'}\n")
    write(tmp_path, "n.yaml", "version: 1\nextends: base.yaml\nvars: {clinic: north}\n")
    report = check(tmp_path, "base.yaml", "n.yaml")
    assert report.ok, lines(report, tmp_path)
    assert [t.slug for t in report.configs] == ["smile-north"]
    assert report.templates == [str(tmp_path / "base.yaml")]


def test_remove_rules(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "version: 1\ncall_tags: [{name: a}]\n")
    write(
        tmp_path,
        "t.yaml",
        """\
        version: 1
        extends: base.yaml
        workspace: {slug: t}
        call_tags:
          - {name: a, $remove: yes}
          - {$remove: true}
          - {name: z, $remove: true}
        """,
    )
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "t.yaml:5:24: call_tags[0].$remove: $remove must be true (YAML 1.1's word for true; "
        "wscfg reads YAML 1.2): write true",
        "t.yaml:6:5: call_tags[1]: $remove: true needs the name of the item to remove",
        "t.yaml:7:12: call_tags[2].name: nothing to remove: no inherited call tag 'z' (only items "
        "of a file this one extends can be removed)",
    ]


def test_remove_elsewhere_is_an_unknown_key(tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", "version: 1\nworkspace: {slug: t, $remove: true}\n")
    (line,) = lines(check(tmp_path, "t.yaml"), tmp_path)
    assert line == (
        "t.yaml:2:22: workspace.$remove: $remove: true is only allowed on an item of roles, "
        "members, call_tags, blocked_callers or webhooks in a file that extends another"
    )


def test_x_keys_hold_anchors_and_are_ignored(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        """\
        version: 1
        x-admin: &admin {role: admin, notifications: {billing: {email: true}}}
        workspace: {slug: t}
        members:
          - {email: o@t.example, role: owner}
          - {<<: *admin, email: a@t.example}
        """,
    )
    d = one(tmp_path, "t.yaml")
    assert dump(d)["members"][1] == {
        "email": "a@t.example",
        "role": "admin",
        "notifications": {"billing": {"email": True}},
    }
    assert "x-admin" not in d.config.model_fields_set


def test_broken_base_reports_its_own_problems_once(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "version: 1\nworkspace: [\n")
    for n in ("a", "b"):
        write(tmp_path, f"{n}.yaml", f"version: 1\nextends: base.yaml\nworkspace: {{slug: {n}}}\n")
    report = check(tmp_path, "a.yaml", "b.yaml")
    refused = (
        f"extends: cannot extend '{tmp_path / 'base.yaml'}': it is not known to be a wscfg "
        "config (the problems reported in it say why); none of its content is shown"
    )
    assert lines(report, tmp_path) == [
        f"a.yaml:2:10: {refused}",
        f"b.yaml:2:10: {refused}",
        "base.yaml:3:1: the file ends in the middle of a value (an unclosed '[' or '{'?)",
    ]
    with pytest.raises(ConfigError) as exc:
        load_targets([str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")], environ={})
    assert len(exc.value.diagnostics) == 3


def test_extends_shape_errors(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        "version: 1\nextends: [5, '', '${var.x}.yaml', .]\nworkspace: {slug: t}\n",
    )
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "t.yaml:2:11: extends[0]: must be a file path (text) or a list of file paths",
        "t.yaml:2:14: extends[1]: must be a file path (text) or a list of file paths",
        "t.yaml:2:18: extends[2]: extends paths cannot use ${...} references",
        f"t.yaml:2:35: extends[3]: cannot extend '.': is a directory ({tmp_path})",
    ]


@pytest.mark.parametrize(("text", "kind"), [("[1]", "a list"), ("{v: 1}", "a mapping")])
def test_a_version_that_is_a_list_or_mapping_is_named_not_dumped(
    tmp_path: Path, text: str, kind: str
) -> None:
    write(tmp_path, "t.yaml", f"version: {text}\nworkspace: {{slug: acme}}\n")
    first = lines(check(tmp_path, "t.yaml"), tmp_path)
    assert first == [f"t.yaml:1:10: version: the format version must be 1, not {kind}"]
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == first  # no object address in it


def test_flattening_records_every_kind_of_value(tmp_path: Path) -> None:
    # The flattener takes a plain scalar as it is; every other value is recorded: its
    # environment and variable references, its secret, a null, an undefined variable.
    from wscfg.config.resolve import FileCache, resolve

    path = write(
        tmp_path,
        "t.yaml",
        """\
        version: 1
        vars: {n: 5, region: West}
        workspace: {slug: t, name: "Acme ${env:REGION} ${var.region}", notes: "${var.nope}"}
        call_tags: [{name: "${var.region}-x", color: null}]
        webhooks:
          - {name: a, url: "https://a.example.com/x", secret: "${env:A_SECRET}"}
        usage_alerts: [{threshold: "${var.n}"}]
        """,
    )
    env = {"REGION": "North", "A_SECRET": "s3cret-a"}
    r = resolve(path, path, FileCache(), env)
    assert r.data["workspace"] == {"slug": "t", "name": "Acme North West", "notes": "${var.nope}"}
    assert r.data["usage_alerts"] == [{"threshold": 5}]
    assert r.data["call_tags"] == [{"name": "West-x", "color": None}]
    assert r.env_paths == {
        ("workspace", "name"): (("REGION", "North"),),
        ("webhooks", 0, "secret"): (("A_SECRET", "s3cret-a"),),
    }
    assert r.var_paths == {
        ("workspace", "name"): ("region",),
        ("call_tags", 0, "name"): ("region",),
        ("usage_alerts", 0, "threshold"): ("n",),
    }
    assert r.secret_refs == {("webhooks", 0, "secret"): "A_SECRET"}
    assert r.nulls == [("call_tags", 0, "color")]
    assert list(r.unresolved) == [("workspace", "notes")]
    assert r.unresolved[("workspace", "notes")][1] == ("nope",)
    assert ("workspace", "notes") in r.quiet
    assert r.sources[("usage_alerts", 0, "threshold")] == Source(path, 7, 17)
    assert r.sources[("workspace", "slug")] == Source(path, 3, 13)


def test_a_template_edited_between_two_loads_is_read_again(tmp_path: Path) -> None:
    # Each load reads every file afresh (nothing of a load outlives it, in memory or on disk).
    base = write(tmp_path, "base.yaml", "version: 1\ncall_tags: [{name: old}]\n")
    for slug in ("a", "b"):
        write(
            tmp_path,
            f"{slug}.yaml",
            f"version: 1\nextends: base.yaml\nworkspace: {{slug: {slug}}}\n",
        )
    first = load_targets([str(tmp_path)])
    Path(base).write_text("version: 1\ncall_tags: [{name: new}, {name: other}]\n")
    second = load_targets([str(tmp_path)])
    assert [[t.name for t in d.config.call_tags or []] for d in first] == [["old"], ["old"]]
    assert [[t.name for t in d.config.call_tags or []] for d in second] == [
        ["new", "other"],
        ["new", "other"],
    ]
    Path(base).write_text("version: 1\ncall_tags: [{name: Bad}]\n")
    with pytest.raises(ConfigError) as exc:
        load_targets([str(tmp_path)])
    assert [d.headline().removeprefix(str(tmp_path) + "/") for d in exc.value.diagnostics] == [
        "base.yaml:2:20: call_tags[0].name: must be 1-64 lower-case letters, digits, '-', '_' or "
        "'.', starting and ending with a letter or digit (e.g. 'front-desk')"
    ]


def test_source_is_a_frozen_value(tmp_path: Path) -> None:
    import dataclasses
    import pickle

    s = Source("a.yaml", 3, 7)
    assert (s.file, s.line, s.column) == ("a.yaml", 3, 7)
    assert s == Source(file="a.yaml", line=3, column=7) and hash(s) == hash(Source("a.yaml", 3, 7))
    assert s != Source("a.yaml", 3, 8)
    assert str(s) == "a.yaml:3" and repr(s) == "Source(file='a.yaml', line=3, column=7)"
    assert dataclasses.replace(s, line=4) == Source("a.yaml", 4, 7)
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.line = 5  # type: ignore[misc]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("+0123456789 ().-\u00a0\u2007²٣x\t"), max_size=16))
def test_a_caller_identity_drops_exactly_spaces_dots_dashes_and_brackets(raw: str) -> None:
    from wscfg.config.resolve import identity_key

    assert identity_key("blocked_callers", raw) == re.sub(r"[\s().\-]", "", raw)
