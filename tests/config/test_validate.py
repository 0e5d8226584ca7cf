"""check_paths / load_targets: paths, targets vs templates, cross-references, all errors at once."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from wscfg.config.validate import check_paths, expand_paths, load_targets
from wscfg.errors import ConfigError

from .helpers import HEADER, OWNER, check, lines, write

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ENV = {
    "ACME_WEBHOOK_SECRET": "example-secret-1",
    "SMILE_WEBHOOK_SECRET": "example-secret-2",
}


def test_examples_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    report = check_paths(["examples/workspace.yaml", "examples/agency/"], environ=EXAMPLE_ENV)
    assert report.diagnostics == []
    assert report.summary() == "5 files valid: 4 targets, 1 template"
    assert [(t.file, t.slug) for t in report.configs] == [
        ("examples/workspace.yaml", "acme-dental"),
        ("examples/agency/harbor.yaml", "smile-harbor"),
        ("examples/agency/lakeside.yaml", "smile-lakeside"),
        ("examples/agency/north.yaml", "smile-north"),
    ]
    assert report.templates == ["examples/agency/base.yaml"]


def test_example_uses_every_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    from wscfg.model.kinds import KINDS

    monkeypatch.chdir(ROOT)
    (d,) = load_targets(["examples/workspace.yaml"], environ=EXAMPLE_ENV)
    for kind in KINDS:
        if kind.name == "api_keys":
            # commented out: a key's creation needs --new-secrets-to, and the README's main
            # job runs with no options (tests/cli/test_api_keys.py validates the block)
            assert d.config.api_keys is None
            continue
        assert getattr(d.config, kind.name), kind.name
    assert d.config.manage is not None and d.config.ignore is not None
    first = (ROOT / "examples/workspace.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/workspace.schema.json"


def test_missing_secret_env_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(ConfigError) as exc:
        load_targets(["examples/workspace.yaml"], environ={})
    assert [d.headline() for d in exc.value.diagnostics] == [
        "examples/workspace.yaml:101:13: webhooks[0].secret: environment variable "
        "ACME_WEBHOOK_SECRET is not set"
    ]


def test_defaults_are_not_injected(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        HEADER + "webhooks: [{name: h}]\nnotifications: {system: {email: true}}\n",
    )
    (d,) = load_targets([str(tmp_path / "t.yaml")], environ={})
    assert d.config.model_dump(mode="json", exclude_unset=True) == {
        "version": 1,
        "workspace": {"slug": "acme"},
        "webhooks": [{"name": "h"}],
        "notifications": {"system": {"email": True}},
    }


def test_paths_files_dirs_globs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("b.yaml", "a.yml", "sub/c.yaml", "sub/deeper/d.yaml", ".hidden/x.yaml", "z.txt"):
        write(tmp_path, name, HEADER.replace("acme", name.split("/")[-1].split(".")[0]))
    write(tmp_path, "sub/.e.yaml", HEADER)
    files, problems = expand_paths([".", "b.yaml", "sub/*.yaml", "nope.yaml", "q*.yaml", "z.txt"])
    assert files == ["a.yml", "b.yaml", "sub/c.yaml", "sub/deeper/d.yaml", "z.txt"]
    assert [d.headline() for d in problems] == [
        "nope.yaml: no such file or directory",
        "q*.yaml: no files match this pattern",
    ]
    os.mkdir("empty")
    assert [d.headline() for d in expand_paths(["empty"])[1]] == [
        "empty: no .yaml or .yml files in this directory"
    ]


def test_all_errors_of_all_files_together(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", HEADER + "members: [{email: x, role: owner}]\n")
    write(tmp_path, "b.yaml", "version: 1\nworkspace: {slug: b, nme: B, timezone: Nowhere}\n")
    write(tmp_path, "c.yaml", HEADER.replace("acme", "c"))
    with pytest.raises(ConfigError) as exc:
        load_targets([str(tmp_path)], environ={})
    assert exc.value.message == "3 problems found in the configuration"
    prefix = str(tmp_path) + "/"
    # email-validator's own reason follows ours; its wording is the library's, not asserted
    reason = re.compile(r"(is not a valid email address): \S.*")
    headlines = [reason.sub(r"\1: …", d.headline()) for d in exc.value.diagnostics]
    assert [h.removeprefix(prefix) for h in headlines] == [
        "a.yaml:3:19: members[0].email: 'x' is not a valid email address: …",
        "b.yaml:2:22: workspace.nme: unknown key 'nme'; did you mean 'name'?",
        "b.yaml:2:40: workspace.timezone: 'Nowhere' is not an IANA time zone (e.g. "
        "'America/Chicago')",
    ]


def test_two_files_for_one_workspace(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", HEADER)
    write(tmp_path, "b.yaml", HEADER)
    report = check(tmp_path, "a.yaml", "b.yaml")
    assert lines(report, tmp_path) == [
        f"b.yaml:2:19: workspace.slug: workspace 'acme' is already the target of "
        f"{tmp_path}/a.yaml; each workspace must be configured by one file"
    ]
    assert [t.file for t in report.configs] == [str(tmp_path / "a.yaml")]


def test_same_file_twice_is_checked_once(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", HEADER)
    report = check_paths([str(tmp_path / "a.yaml"), str(tmp_path)], environ={})
    assert report.ok and len(report.configs) == 1 and len(report.files) == 1


def test_roles_must_be_builtin_or_declared(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        HEADER
        + """\
roles: [{name: front-desk}]
members:
  - {email: o@acme.example, role: owner}
  - {email: d@acme.example, role: front-desk}
  - {email: e@acme.example, role: front-dsk}
  - {email: f@acme.example, role: boss}
""",
    )
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "t.yaml:7:35: members[2].role: 'front-dsk' is not a role; did you mean 'front-desk'?",
        "t.yaml:8:35: members[3].role: 'boss' is not a role; valid: owner, admin, member, client, "
        "front-desk",
    ]


def test_tags_must_be_declared(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        HEADER
        + """\
call_tags: [{name: spam}, {name: vip}]
call_rules:
  rule:
    any:
      - {tag: vip}
      - all: [{not_tag: spam}, {tag: vipp}, {ai_score: {at_least: 80}}]
webhooks:
  - {name: h, url: "https://h.example.com", filters: {tags: [spam, gold]}}
""",
    )
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "t.yaml:8:38: call_rules.rule.any[1].all[1].tag: 'vipp' is not a declared call tag; did "
        "you mean 'vip'?",
        "t.yaml:10:68: webhooks[0].filters.tags[1]: 'gold' is not a declared call tag (declared: "
        "spam, vip)",
    ]


@pytest.mark.parametrize(
    ("extra", "ok"),
    [
        ("", False),
        ("manage: {members: additive}\n", True),
        ("manage: {members: exact}\n", False),
        ("ignore: {members: ['*@sso.acme.example']}\n", True),
    ],
)
def test_owner_rule(tmp_path: Path, extra: str, ok: bool) -> None:
    write(tmp_path, "t.yaml", HEADER + extra + "members: [{email: a@acme.example, role: admin}]\n")
    assert check(tmp_path, "t.yaml").ok is ok


def test_empty_members_list_needs_an_owner_too(tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", HEADER + "members: []\n")
    (line,) = lines(check(tmp_path, "t.yaml"), tmp_path)
    assert line.startswith("t.yaml:3:1: members: no member has the owner role")


def test_templates_skip_target_checks(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """\
        version: 1
        workspace: {timezone: UTC}
        members: [{email: a@x.example, role: front-desk}]
        call_rules: {rule: {tag: later}}
        """,
    )
    report = check(tmp_path, "base.yaml")
    assert report.ok and report.templates == [str(tmp_path / "base.yaml")] and report.configs == []
    write(tmp_path, "t.yaml", "version: 1\nextends: base.yaml\nworkspace: {slug: t}\n")
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "base.yaml:3:1: members: no member has the owner role; a workspace must keep at least one "
        "owner. Add one, or use `manage: {members: additive}` to leave undeclared live members "
        "alone",
        "base.yaml:3:38: members[0].role: 'front-desk' is not a role; use a built-in role (owner, "
        "admin, member, client) or declare it under `roles:` in this config",
        "base.yaml:4:26: call_rules.rule.tag: 'later' is not a declared call tag; declare it under "
        "`call_tags:` in this config",
    ]


def test_template_still_gets_type_errors(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "version: 1\nworkspace: {timezone: 5}\n")
    assert lines(check(tmp_path, "base.yaml"), tmp_path) == [
        "base.yaml:2:23: workspace.timezone: must be text, not the number 5"
    ]


def test_nulls_are_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        HEADER + OWNER + "webhooks:\n  -\n  - {name: h, url: ~}\nnotifications:\n",
    )
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "t.yaml:6:4: webhooks[0]: empty list item",
        "t.yaml:7:20: webhooks[1].url: has no value; give one, or remove the key to leave it "
        "unmanaged",
        "t.yaml:8:15: notifications: has no value; give one, or remove the key to leave it "
        "unmanaged",
    ]


def test_read_only_fields_are_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        HEADER
        + "members:\n  - {email: o@acme.example, role: owner, status: bogus, invited_at: x}\n"
        + "webhooks: [{name: h, secret_fingerprint: 'sha256:00'}]\n",
    )
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "t.yaml:4:42: members[0].status: status is set by the platform and cannot be configured",
        "t.yaml:4:57: members[0].invited_at: invited_at is set by the platform and cannot be "
        "configured",
        "t.yaml:5:22: webhooks[0].secret_fingerprint: secret_fingerprint is set by the platform "
        "and cannot be configured",
    ]


def test_duplicates_after_e164_normalization(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        HEADER + "blocked_callers: ['+44 20 7946 0958', '+442079460958', '+44 (0)20 7946 0958']\n",
    )
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "t.yaml:3:39: blocked_callers[1]: duplicate blocked caller '+442079460958' (first at line "
        "3); numbers are compared without spaces, dots, dashes and brackets",
        f"t.yaml:3:56: blocked_callers[2]: duplicate blocked caller '+442079460958' (same as "
        f"blocked_callers[0] at {tmp_path}/t.yaml:3); numbers are compared without spaces, dots, "
        "dashes and brackets",
    ]


def test_union_type_errors_are_combined(tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", HEADER + "call_rules: {rule: {duration: {at_least: [1]}}}\n")
    assert lines(check(tmp_path, "t.yaml"), tmp_path) == [
        "t.yaml:3:42: call_rules.rule.duration.at_least: must be a number, not a list"
    ]


def test_report_to_dict(tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", HEADER)
    assert check(tmp_path, "t.yaml").to_dict() == {
        "valid": True,
        "summary": "1 file valid: 1 target, 0 templates",
        "files": [str(tmp_path / "t.yaml")],
        "targets": [{"file": str(tmp_path / "t.yaml"), "workspace": "acme"}],
        "templates": [],
        "diagnostics": [],
        "warnings": [],
    }


def test_gc_state_is_restored() -> None:
    import gc

    check_paths(["/nonexistent"], environ={})
    assert gc.isenabled()


def test_load_template_document(monkeypatch: pytest.MonkeyPatch) -> None:
    from wscfg.config.template import load_template_document

    monkeypatch.chdir(ROOT)
    doc = load_template_document("examples/agency/base.yaml", environ={})
    # values that need the targets' vars, and the secret, are left out; the rest is normalized
    assert doc["workspace"] == {
        "business_profile": {
            "company": "Smile Group Dental Partners",
            "services": ["cleanings", "orthodontics", "implants"],
            "brand_voice": "Friendly and clear.",
        }
    }
    assert doc["members"] == [{"email": "ops@smilegroup.example", "role": "owner"}]
    assert doc["blocked_callers"][0] == {"number": "+12025550111", "note": "robocaller"}
    assert doc["webhooks"][0] == {
        "name": "agency-reporting",
        "url": "https://reports.smilegroup.example/hooks/calls",
        "events": ["call.completed", "call.qualified"],
        "enabled": True,
    }
    with pytest.raises(ConfigError):
        load_template_document("tests/corpus/bad/bad_color.yaml", environ={})


def test_a_folder_is_walked_in_path_order_part_by_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["a.yaml", "a/z.yaml", "a-b/c.yaml", "a/b/c.yml", "b.yaml", "a/b.yaml", "A.yaml"]
    for name in names:
        write(tmp_path, "top/" + name, HEADER)
    os.symlink(tmp_path / "top" / "b.yaml", tmp_path / "top" / "c.yaml")  # b.yaml again
    expected = ["A.yaml", "a/b/c.yml", "a/b.yaml", "a/z.yaml", "a-b/c.yaml", "a.yaml", "b.yaml"]
    files, problems = expand_paths([str(tmp_path / "top")])
    assert problems == []
    assert files == [str(tmp_path / "top" / n) for n in expected]
    monkeypatch.chdir(tmp_path / "top")
    assert expand_paths(["."])[0] == expected
    # a folder named first: its files first, then the rest, each file once
    assert expand_paths(["a", "."])[0] == [*expected[1:4], expected[0], *expected[4:]]
