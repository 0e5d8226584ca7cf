"""The bad-file corpus: every file in tests/corpus/bad/ fails `wscfg validate` with exit 1, at the
expected file:line:col, with a message a user can act on, and never with a traceback.

Files in bad/_bases/ are helpers that the cases extend; they are not cases themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from wscfg.cli import cli

HERE = Path(__file__).parent
BAD = HERE / "bad"
ROOT = HERE.parents[1]
REL = BAD.relative_to(ROOT).as_posix()

# case -> (file the problem is in, relative to bad/; line; column; fragment of the message)
EXPECTED: dict[str, tuple[str, int, int, str]] = {
    "bad_color.yaml": ("bad_color.yaml", 4, 25, "call_tags[0].color: must be a hex colour like"),
    "bad_email.yaml": (
        "bad_email.yaml",
        4,
        12,
        "members[0].email: 'owner.acme.example' is not a valid email address",
    ),
    "bad_phone.yaml": (
        "bad_phone.yaml",
        4,
        5,
        "blocked_callers[0]: '+1 555 010' is not a possible phone number",
    ),
    "bad_phone_unquoted.yaml": (
        "bad_phone_unquoted.yaml",
        4,
        5,
        'blocked_callers[0]: a blocked caller is a phone number in quotes (e.g. "+1 555 010 0100")',
    ),
    "bad_slug.yaml": ("bad_slug.yaml", 3, 9, "workspace.slug: must be 1-63 lower-case letters"),
    "bad_timezone.yaml": (
        "bad_timezone.yaml",
        4,
        13,
        "'America/Chicgo' is not an IANA time zone; did you mean 'America/Chicago'?",
    ),
    "builtin_role_redefined.yaml": (
        "builtin_role_redefined.yaml",
        4,
        11,
        "roles[0].name: 'admin' is a built-in role and cannot be redefined",
    ),
    "control_character.yaml": (
        "control_character.yaml",
        4,
        14,
        "control character U+0007 is not allowed in YAML",
    ),
    "text_bidi_override.yaml": (
        "text_bidi_override.yaml",
        3,
        31,
        "workspace.name: must not contain line breaks, tabs, control characters, line or "
        "paragraph separators or bidirectional controls (found U+202E at character 5)",
    ),
    "text_line_separator.yaml": (
        "text_line_separator.yaml",
        7,
        46,
        "call_tags[0].description: must not contain line breaks, tabs, control characters, "
        "line or paragraph separators or bidirectional controls (found U+2028 at character 3)",
    ),
    "duplicate_email_case.yaml": (
        "duplicate_email_case.yaml",
        5,
        13,
        "members[1].email: duplicate member 'owner@acme.example' (first at line 4); emails are "
        "compared case-insensitively",
    ),
    "duplicate_identity_in_remove.yaml": (
        "duplicate_identity_in_remove.yaml",
        5,
        32,
        "an item with $remove: true names only its email; remove 'role'",
    ),
    "duplicate_phone_format.yaml": (
        "duplicate_phone_format.yaml",
        5,
        13,
        "duplicate blocked caller '+15550100100' (first at line 4)",
    ),
    "empty.yaml": (
        "empty.yaml",
        1,
        1,
        "the file is empty; a config file needs at least `version: 1`",
    ),
    "extends_cycle.yaml": (
        "_bases/cycle_b.yaml",
        2,
        10,
        f"extends: these files extend each other in a cycle: {REL}/extends_cycle.yaml → "
        f"{REL}/_bases/cycle_b.yaml → {REL}/extends_cycle.yaml",
    ),
    "extends_missing_base.yaml": (
        "extends_missing_base.yaml",
        2,
        10,
        "extends: cannot extend 'templates/base.yaml': no such file",
    ),
    "extends_remove_not_inherited.yaml": (
        "extends_remove_not_inherited.yaml",
        5,
        13,
        "nothing to remove: no inherited member 'nobody@acme.example'",
    ),
    "extends_self.yaml": ("extends_self.yaml", 2, 10, "extends: a file cannot extend itself"),
    "missing_version.yaml": ("missing_version.yaml", 1, 1, "missing `version: 1`"),
    "no_owner.yaml": (
        "no_owner.yaml",
        3,
        1,
        "members: no member has the owner role; a workspace must keep at least one owner",
    ),
    "not_utf8.yaml": (
        "not_utf8.yaml",
        4,
        12,
        "the file is not valid UTF-8 text: byte 0xe9 cannot be decoded",
    ),
    "null_collection.yaml": (
        "null_collection.yaml",
        3,
        9,
        "members: has no value: write `members: []` to manage an empty list",
    ),
    "only_comments.yaml": ("only_comments.yaml", 1, 1, "the document is empty (only comments)"),
    "read_only_field.yaml": (
        "read_only_field.yaml",
        6,
        5,
        "members[0].status: status is set by the platform and cannot be configured",
    ),
    "rule_node_two_keys.yaml": (
        "rule_node_two_keys.yaml",
        6,
        5,
        "call_rules.rule: a rule node is a mapping with exactly one of: all, any, duration",
    ),
    "top_level_list.yaml": (
        "top_level_list.yaml",
        1,
        1,
        "the top level must be a mapping of settings (version: 1, workspace: …), not a list",
    ),
    "undefined_role.yaml": (
        "undefined_role.yaml",
        5,
        38,
        "members[1].role: 'front-desk' is not a role; use a built-in role (owner, admin, member, "
        "client) or declare it under `roles:` in this config",
    ),
    "undefined_tag_filter.yaml": (
        "undefined_tag_filter.yaml",
        6,
        22,
        "webhooks[0].filters.tags[0]: 'new-patient' is not a declared call tag",
    ),
    "undefined_tag_rule.yaml": (
        "undefined_tag_rule.yaml",
        9,
        18,
        "call_rules.rule.all[1].not_tag: 'spamm' is not a declared call tag; did you mean 'spam'?",
    ),
    "undefined_var.yaml": (
        "undefined_var.yaml",
        5,
        9,
        "workspace.name: variable 'clinc' is not defined; did you mean 'clinic'?",
    ),
    "unknown_key_nested.yaml": (
        "unknown_key_nested.yaml",
        4,
        3,
        "workspace.timzone: unknown key 'timzone'; did you mean 'timezone'?",
    ),
    "unknown_key_typo.yaml": (
        "unknown_key_typo.yaml",
        3,
        1,
        "a top-level key no wscfg config has; did you mean 'members'? (until this is fixed, "
        "the file is not known to be a wscfg config: none of its content is shown)",
    ),
    "unknown_kind.yaml": (
        "unknown_kind.yaml",
        3,
        1,
        "a top-level key no wscfg config has (until this is fixed, the file is not known to be "
        "a wscfg config: none of its content is shown)",
    ),
    "unknown_permission.yaml": (
        "unknown_permission.yaml",
        5,
        34,
        "roles[0].permissions[1]: 'contacts:wirte' is not one of the allowed values; did you mean "
        "'contacts:write'?",
    ),
    "unknown_reference.yaml": (
        "unknown_reference.yaml",
        4,
        9,
        "workspace.name: unknown reference ${clinic}; use ${var.name} or ${env:NAME}",
    ),
    "webhook_http.yaml": (
        "webhook_http.yaml",
        5,
        10,
        "webhooks[0].url: webhook URLs must use https://",
    ),
    "webhook_literal_secret.yaml": (
        "webhook_literal_secret.yaml",
        6,
        13,
        "webhooks[0].secret: a secret must be written as ${env:NAME}",
    ),
    "webhook_localhost.yaml": (
        "webhook_localhost.yaml",
        5,
        10,
        "webhooks[0].url: 'localhost' is a private host name",
    ),
    "webhook_private_ip.yaml": (
        "webhook_private_ip.yaml",
        5,
        10,
        "webhooks[0].url: 192.168.1.20 is a private address; webhooks must reach a public address",
    ),
    "webhook_unknown_event.yaml": (
        "webhook_unknown_event.yaml",
        6,
        30,
        "webhooks[0].events[1]: 'call.complete' is not one of the allowed values; did you mean "
        "'call.completed'?",
    ),
    "wrong_type_bool.yaml": (
        "wrong_type_bool.yaml",
        6,
        14,
        "webhooks[0].enabled: must be true or false, not the text 'maybe'",
    ),
    "wrong_type_list.yaml": (
        "wrong_type_list.yaml",
        4,
        3,
        "members: must be a list, not a mapping (until this is fixed, the file is not known to "
        "be a wscfg config: none of its content is shown)",
    ),
    "wrong_type_number.yaml": (
        "wrong_type_number.yaml",
        5,
        26,
        "call_rules.rule.duration.at_least: must be a number, not the text 'a minute'",
    ),
    "wrong_version.yaml": (
        "wrong_version.yaml",
        1,
        10,
        "version: unsupported format version (a number other than 1); this wscfg reads "
        "`version: 1`",
    ),
    "yaml_alias_bomb.yaml": (
        "yaml_alias_bomb.yaml",
        8,
        10,
        "YAML aliases here expand to more than 100,000 nodes; refusing the document",
    ),
    "yaml_bad_indentation.yaml": (
        "yaml_bad_indentation.yaml",
        4,
        8,
        "unexpected ':' here: check the indentation of this line",
    ),
    "yaml_colon_in_value.yaml": (
        "yaml_colon_in_value.yaml",
        4,
        13,
        "put quotes around a value that contains ': '",
    ),
    "yaml_deep_nesting.yaml": (
        "yaml_deep_nesting.yaml",
        3,
        226,
        "nesting is deeper than 64 levels",
    ),
    "yaml_duplicate_key.yaml": (
        "yaml_duplicate_key.yaml",
        5,
        3,
        "duplicate key (first defined at line 4); a key may appear only once in a mapping",
    ),
    "yaml_tabs.yaml": (
        "yaml_tabs.yaml",
        3,
        1,
        "tab character: YAML indentation must use spaces, not tabs",
    ),
    "yaml_two_documents.yaml": (
        "yaml_two_documents.yaml",
        3,
        1,
        "a second YAML document ('---') starts here; a config file holds exactly one document",
    ),
    "yaml_unclosed_bracket.yaml": (
        "yaml_unclosed_bracket.yaml",
        5,
        1,
        "unclosed '{': expected ',' or '}' ('{' opened at line 4, column 5)",
    ),
    "yaml_undefined_alias.yaml": (
        "yaml_undefined_alias.yaml",
        4,
        5,
        "this alias refers to an anchor not defined above",
    ),
}

CASES = sorted(p.name for p in BAD.glob("*.yaml"))


def test_every_case_has_an_expectation() -> None:
    assert sorted(EXPECTED) == CASES
    assert len(CASES) >= 30


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("case", CASES)
def test_bad_file(case: str, in_root: None) -> None:
    file, line, column, fragment = EXPECTED[case]
    result = CliRunner().invoke(cli, ["validate", f"{REL}/{case}"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert "Traceback" not in result.output
    assert "internal error" not in err
    first = err.splitlines()[0]
    assert first.startswith(f"{REL}/{file}:{line}:{column}: "), first
    assert fragment in first, first
    assert err.rstrip().splitlines()[-1].startswith("Error: 1 problem in 1 file"), err


@pytest.mark.parametrize("case", CASES)
def test_bad_file_json(case: str, in_root: None) -> None:
    import json

    file, line, column, fragment = EXPECTED[case]
    result = CliRunner().invoke(cli, ["validate", "--format", "json", f"{REL}/{case}"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    (d,) = report["diagnostics"]
    assert (d["file"], d["line"], d["column"]) == (f"{REL}/{file}", line, column)
    assert fragment in (f"{d['path']}: " if d["path"] else "") + d["message"]


def test_whole_corpus_in_one_run_in_a_subprocess() -> None:
    """All files together, as a user would run it: every problem reported, exit 1, no
    traceback, nothing on stdout."""
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "wscfg", "validate", REL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    headlines = [ln for ln in proc.stderr.splitlines() if ln.startswith(f"{REL}/")]
    for case, (file, line, column, _) in EXPECTED.items():
        if case == "extends_cycle.yaml":
            continue  # reported once, at whichever file of the cycle is checked first
        assert any(h.startswith(f"{REL}/{file}:{line}:{column}: ") for h in headlines), file
    assert sum("extend each other in a cycle" in h for h in headlines) == 1
    assert proc.stderr.rstrip().splitlines()[-1].startswith("Error: ")
