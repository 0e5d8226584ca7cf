"""Policies on live workspaces, end to end over HTTP against the sandbox (SQLite, and
PostgreSQL on the postgres runs): plan and drift check each workspace's live document (the
shape of `wscfg export`, unmanaged items included) and report violations in every format;
drift exits 2 on a new error violation and baselines cover violations; a violation never
makes plan or apply write anything; no secret or environment value is printed."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from wscfg.cli import cli

OWNER = "jane@acme.example"
HOOK_SECRET = "whsec-policy-never-print-me"
PATH_VALUE = "path-from-env-4711"

BASE = """\
version: 1
policies:
  - name: require-2fa
    description: Every clinic requires two-factor sign-in.
    schema:
      properties:
        security: {properties: {require_2fa: {const: true}}}
  - name: webhook-hosts
    description: Webhooks call only the agency's hosts.
    severity: warning
    schema:
      properties:
        webhooks: {items: {properties: {url: {pattern: "^https://hooks\\\\.example\\\\.com/"}}}}
  - name: member-domains
    description: Members sign in with an acme.example address.
    schema:
      properties:
        members: {items: {properties: {email: {pattern: "@acme\\\\.example$"}}}}
"""


def target(slug: str) -> str:
    # Manages call tags and one webhook only: members, security and other webhooks are not
    # managed, and still checked (the live document holds them).
    return f"""\
version: 1
extends: base.yaml
workspace: {{slug: {slug}}}
manage: {{webhooks: additive}}
call_tags:
  - {{name: spam, color: "#ff0000"}}
webhooks:
  - name: ours
    url: https://hooks.example.com/${{env:HOOK_PATH}}
    events: [call.completed]
"""


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    for secret in (HOOK_SECRET, PATH_VALUE):
        assert secret not in result.output, args
    return result


@pytest.fixture
def clinic(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    ws = sandbox.new_workspace(owner=OWNER)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.setenv("HOOK_PATH", PATH_VALUE)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "clinic.yaml").write_text(target(ws.slug))
    assert invoke("apply", "--auto-approve", "clinic.yaml").exit_code == 0
    return ws


def add_webhook(ws: Any, name: str, url: str) -> None:
    body = {"name": name, "url": url, "events": ["call.completed"], "secret": HOOK_SECRET}
    httpx.post(f"{ws.url}/webhooks", json=body, headers=ws.headers).raise_for_status()


def add_member(ws: Any, email: str) -> None:
    body = {"email": email, "role": "member"}
    httpx.post(f"{ws.url}/members", json=body, headers=ws.headers).raise_for_status()


def violations(result: Result) -> list[tuple[str, str, str, Any]]:
    doc = json.loads(result.stdout)
    return [(v["policy"], v["severity"], v["path"], v["live"]) for v in doc["violations"]]


def test_plan_reports_live_violations_in_every_format_and_writes_nothing(
    sandbox: Any, clinic: Any
) -> None:
    ws = clinic
    add_webhook(ws, "zapier", "https://evil.example.net/hook")
    before = sandbox.item_rows(ws.slug)

    got = invoke("plan", "clinic.yaml", "--format", "json")
    assert got.exit_code == 0
    doc = json.loads(got.stdout)
    assert doc["violations"] == [
        {
            "workspace": ws.slug,
            "policy": "require-2fa",
            "severity": "error",
            "path": "security.require_2fa",
            "message": "must be true",
            "live": False,
            "key": "",
        },
        {
            "workspace": ws.slug,
            "policy": "webhook-hosts",
            "severity": "warning",
            "path": "webhooks[1].url",
            "message": "must match the pattern `^https://hooks\\.example\\.com/`",
            "live": "https://evil.example.net/hook",
            "key": "zapier",
        },
    ]

    text = invoke("plan", "clinic.yaml")
    assert text.exit_code == 0
    assert text.stdout.splitlines()[-5:] == [
        "Policy violations on the live workspaces: 2 policy violations (1 error) in 1 of 1 "
        "workspace(s)",
        "  policy require-2fa (error): Every clinic requires two-factor sign-in. — 1 of 1 "
        "workspace(s)",
        f"    {ws.slug}: security.require_2fa: must be true (live: false)",
        "  policy webhook-hosts (warning): Webhooks call only the agency's hosts. — 1 of 1 "
        "workspace(s)",
        f"    {ws.slug}: webhooks[1].url: must match the pattern `^https://hooks\\.example\\.com/` "
        '(live: "https://evil.example.net/hook")',
    ]

    md = invoke("plan", "clinic.yaml", "--format", "markdown")
    assert md.exit_code == 0
    assert "#### Policy violations (live)" in md.stdout
    assert f"| `{ws.slug}` | `security.require_2fa` | must be true | `false` |" in md.stdout

    # A saved plan carries them (sealed): `wscfg show` lists them as plan did.
    saved = invoke("plan", "clinic.yaml", "-o", "p.json")
    assert saved.exit_code == 0, saved.output
    shown = invoke("show", "p.json")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[-5:] == text.stdout.splitlines()[-5:]
    shown_md = invoke("show", "p.json", "--format", "markdown")
    assert f"| `{ws.slug}` | `security.require_2fa` | must be true | `false` |" in shown_md.stdout

    # Policies check; they never add changes: apply lists them, has nothing to do and writes
    # nothing.
    applied = invoke("apply", "--auto-approve", "clinic.yaml")
    assert applied.exit_code == 0
    assert "Policy violations on the live workspaces: 2 policy violations" in applied.stdout
    assert sandbox.item_rows(ws.slug) == before


def test_the_live_value_from_an_env_value_is_shown_as_its_reference(clinic: Any) -> None:
    """The managed webhook's live URL holds ${env:HOOK_PATH}'s value: a policy against it
    shows the reference, never the value (in every format)."""
    (Path("base.yaml")).write_text(
        BASE.replace("^https://hooks\\\\.example\\\\.com/", "^https://hooks\\\\.example\\\\.com/x")
    )
    for fmt in ("text", "json", "markdown"):
        got = invoke("plan", "clinic.yaml", "--format", fmt)
        assert "${env:HOOK_PATH}" in got.stdout, fmt
    for fmt in ("text", "json", "markdown", "html"):
        got = invoke("drift", "clinic.yaml", "--format", fmt)
        assert "${env:HOOK_PATH}" in got.stdout, fmt


def test_drift_exits_2_on_a_new_error_violation_and_baselines_cover_violations(
    clinic: Any,
) -> None:
    ws = clinic
    got = invoke("drift", "clinic.yaml", "--format", "json")
    assert got.exit_code == 2
    assert violations(got) == [("require-2fa", "error", "security.require_2fa", False)]

    assert (
        invoke("drift", "clinic.yaml", "--baseline", "b.json", "--update-baseline").exit_code == 0
    )
    known = invoke("drift", "clinic.yaml", "--baseline", "b.json", "--format", "json")
    assert known.exit_code == 0
    assert violations(known) == []
    assert json.loads(known.stdout)["known_violations"] == 1

    # A new warning violation is reported; it does not fail the run.
    add_webhook(ws, "zapier", "https://evil.example.net/hook")
    warned = invoke("drift", "clinic.yaml", "--baseline", "b.json", "--format", "json")
    assert warned.exit_code == 0
    assert violations(warned) == [
        ("webhook-hosts", "warning", "webhooks[1].url", "https://evil.example.net/hook")
    ]

    # A new error violation (an unmanaged member from another domain) exits 2.
    add_member(ws, "intruder@other.example")
    failed = invoke("drift", "clinic.yaml", "--baseline", "b.json", "--format", "json")
    assert failed.exit_code == 2
    assert [v[:3] for v in violations(failed)] == [
        ("webhook-hosts", "warning", "webhooks[1].url"),
        ("member-domains", "error", "members[0].email"),
    ]


def test_a_baselined_violation_stays_known_when_other_items_move_it_in_the_list(
    clinic: Any,
) -> None:
    """A violation is known by the item it is about (its identity), not by its index in the
    live list: a compliant member added before it leaves it known; the same value on another
    member is new."""
    ws = clinic
    add_member(ws, "mallory@other.example")
    assert (
        invoke("drift", "clinic.yaml", "--baseline", "b.json", "--update-baseline").exit_code == 0
    )
    add_member(ws, "aaron@acme.example")  # sorts first: mallory moves from members[1] to [2]
    moved = invoke("drift", "clinic.yaml", "--baseline", "b.json", "--format", "json")
    assert (moved.exit_code, violations(moved)) == (0, [])
    assert json.loads(moved.stdout)["known_violations"] == 2
    add_member(ws, "eve@other.example")
    new = invoke("drift", "clinic.yaml", "--baseline", "b.json", "--format", "json")
    assert new.exit_code == 2
    assert violations(new) == [("member-domains", "error", "members[1].email", "eve@other.example")]
    assert json.loads(new.stdout)["violations"][0]["key"] == "eve@other.example"


def place_fingerprint(workspace: str, policy: str, path: str, live: Any) -> str:
    """A violation's fingerprint as baselines were written before items were known by identity
    (the on-disk format of a baseline file users keep in git)."""
    raw = json.dumps(["violation", workspace, policy, path, live], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def test_a_baseline_written_before_identity_keys_still_covers_its_violations(
    clinic: Any,
) -> None:
    """Baselines in git outlive a wscfg upgrade: one whose fingerprints are by place covers the
    same violations (drift exits 0); --update-baseline keeps a place-only violation's
    fingerprint (security.require_2fa) and writes the member's by identity."""
    ws = clinic
    add_member(ws, "mallory@other.example")
    found = json.loads(invoke("drift", "clinic.yaml", "--format", "json").stdout)["violations"]
    assert sorted((v["policy"], v["path"], v["key"]) for v in found) == [
        ("member-domains", "members[1].email", "mallory@other.example"),
        ("require-2fa", "security.require_2fa", ""),
    ]
    old = sorted(place_fingerprint(ws.slug, v["policy"], v["path"], v["live"]) for v in found)
    doc = {"format": "wscfg-drift-baseline", "version": 1, "fingerprints": old}
    Path("old.json").write_text(json.dumps(doc))
    got = invoke("drift", "clinic.yaml", "--baseline", "old.json", "--format", "json")
    assert (got.exit_code, violations(got), json.loads(got.stdout)["known_violations"]) == (
        0,
        [],
        2,
    )
    updated = invoke("drift", "clinic.yaml", "--baseline", "new.json", "--update-baseline")
    assert updated.exit_code == 0
    written = set(json.loads(Path("new.json").read_text())["fingerprints"])
    two_fa = next(v for v in found if v["policy"] == "require-2fa")
    member = next(v for v in found if v["policy"] == "member-domains")
    assert place_fingerprint(ws.slug, "require-2fa", two_fa["path"], two_fa["live"]) in written
    assert place_fingerprint(ws.slug, "member-domains", member["path"], member["live"]) not in (
        written
    )


HOSTILE = "Evil @agency-team <script>x</script> | `t` [l](http://e)\\n\\u2028::error::x"


def test_a_hostile_policy_description_stays_data_in_every_format(clinic: Any) -> None:
    """The description heads each group of violations; it is the template author's text and
    reaches PR comments and pages: never markup, a mention, a control or bidi character."""
    hostile = BASE.replace(
        "description: Every clinic requires two-factor sign-in.", f'description: "{HOSTILE}"'
    )
    Path("base.yaml").write_text(hostile)
    outputs = {}
    for fmt in ("text", "json", "markdown", "html"):
        got = invoke("drift", "clinic.yaml", "--format", fmt)
        assert got.exit_code == 2, got.output
        outputs[fmt] = got.stdout
        for raw in ("\x1b", "\u202e", "\u2028"):
            assert raw not in got.stdout, (fmt, raw)
        if fmt in ("markdown", "html"):
            assert "<script>" not in got.stdout
    assert "@agency-team" not in outputs["markdown"]
    assert (
        "<summary>policy require-2fa (error): Evil @\u2060agency-team &lt;script&gt;"
        in (outputs["markdown"])
    )
    assert "<h3>policy require-2fa (error): Evil @agency-team &lt;script&gt;x" in outputs["html"]
    assert (
        "  policy require-2fa (error): Evil @agency-team <script>x</script> | `t` [l](http://e) "
        "::error::x — 1 of 1 workspace(s)"
    ) in outputs["text"].splitlines()
    doc = json.loads(outputs["json"])
    assert doc["violations"][0]["description"].startswith("Evil @agency-team <script>")


def test_adopt_does_not_write_a_live_change_of_a_locked_key_into_the_target(
    clinic: Any,
) -> None:
    """The template locks `notifications`: adopting a change made in the UI would write an
    override the lock forbids (and the next validate would fail). It is refused by name; the
    rest is adopted."""
    ws = clinic
    Path("base.yaml").write_text(
        BASE + "notifications:\n  billing: {in_app: true, email: true}\nlocked: [notifications]\n"
    )
    assert invoke("apply", "--auto-approve", "clinic.yaml").exit_code == 0
    body = {"billing": {"in_app": False, "email": False}}
    httpx.patch(f"{ws.url}/notifications", json=body, headers=ws.headers).raise_for_status()
    httpx.delete(f"{ws.url}/call-tags/spam", headers=ws.headers).raise_for_status()
    before = Path("clinic.yaml").read_text()
    got = invoke("adopt", "clinic.yaml")
    assert got.exit_code == 1, got.output
    lock = "`notifications` is locked (`locked: [notifications]` at base.yaml:21:10)"
    assert (
        f"Error: cannot adopt notifications: {lock}; only base.yaml and the files it extends "
        "may set it: change it back in the workspace, or in base.yaml"
    ) in got.output.splitlines()
    after = Path("clinic.yaml").read_text()
    assert "notifications" not in after and after != before  # the call tag was adopted
    assert invoke("validate", "clinic.yaml").exit_code == 0


def test_a_violation_of_a_whole_kind_or_document_describes_a_large_live_value(
    clinic: Any,
) -> None:
    """A rule over the whole document (or a kind of thousands of items) would copy all of it
    into every report of every workspace: past 2,000 characters it is described instead."""
    Path("base.yaml").write_text(
        "version: 1\npolicies:\n  - name: tiny\n    description: x\n    severity: warning\n"
        "    schema: {maxProperties: 1}\n  - name: few-tags\n    description: y\n"
        "    severity: warning\n    schema: {properties: {call_tags: {maxItems: 0}}}\n"
    )
    for n in range(40):
        add_member(clinic, f"member-{n:02d}@acme.example")
    got = invoke("drift", "clinic.yaml", "--format", "json")
    found = {v["policy"]: (v["path"], v["live"]) for v in json.loads(got.stdout)["violations"]}
    assert found["tiny"][0] == ""
    assert re.fullmatch(r"\(a mapping of \d+ keys\)", found["tiny"][1])
    assert found["few-tags"] == ("call_tags", [{"name": "spam", "color": "#ff0000"}])
    assert invoke("drift", "clinic.yaml").stdout.count("(a mapping of") == 1


def test_an_item_named_from_the_environment_is_not_named_in_a_violation(
    clinic: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A violation's `key` is the item's identity: one that came from ${env:X} is shown as
    that reference (masked like every other output), in every format."""
    name = "hook-name-from-env-9931"
    monkeypatch.setenv("HOOK_NAME", name)
    Path("clinic.yaml").write_text(
        Path("clinic.yaml").read_text().replace("name: ours", "name: ${env:HOOK_NAME}")
        + "  - name: other\n    url: https://hooks.example.com/x\n    events: [call.completed]\n"
    )
    Path("base.yaml").write_text(BASE.replace("hooks\\\\.example", "hooks\\\\.elsewhere"))
    assert invoke("apply", "--auto-approve", "clinic.yaml").exit_code == 0
    for fmt in ("text", "json", "markdown", "html"):
        got = invoke("drift", "clinic.yaml", "--format", fmt)
        assert name not in got.output, fmt
    doc = json.loads(invoke("drift", "clinic.yaml", "--format", "json").stdout)
    keys = sorted(v["key"] for v in doc["violations"] if v["policy"] == "webhook-hosts")
    assert keys[1] == "other" and keys[0].startswith("(from ${env:HOOK_NAME}, sha256:")


def applied_fleet(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Any]:
    """Two clinics of one agency, configured in tmp_path (the base and a target each) and
    applied; the environment points wscfg at the agency's key."""
    agency = sandbox.new_agency()
    spaces = [sandbox.new_workspace("clinic", agency=agency.name, owner=OWNER) for _ in range(2)]
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.setenv("HOOK_PATH", PATH_VALUE)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text(BASE)
    for ws in spaces:
        (tmp_path / f"{ws.slug}.yaml").write_text(target(ws.slug))
    assert invoke("apply", "--auto-approve", ".").exit_code == 0
    return spaces


def test_drift_text_markdown_and_html_group_violations_by_policy_across_a_fleet(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two clinics of one agency in one run: each format groups violations by policy."""
    spaces = applied_fleet(sandbox, monkeypatch, tmp_path)
    first, second = sorted(ws.slug for ws in spaces)
    bad = next(ws for ws in spaces if ws.slug == second)
    add_webhook(bad, "zapier", "https://evil.example.net/hook")

    text = invoke("drift", ".")
    assert text.exit_code == 2
    lines = text.stdout.splitlines()
    head = lines.index(
        "Policy violations on the live workspaces: 3 policy violations (2 errors) in 2 of 2 "
        "workspace(s)"
    )
    assert lines[head + 1 : head + 6] == [
        "  policy require-2fa (error): Every clinic requires two-factor sign-in. — 2 of 2 "
        "workspace(s)",
        f"    {first}: security.require_2fa: must be true (live: false)",
        f"    {second}: security.require_2fa: must be true (live: false)",
        "  policy webhook-hosts (warning): Webhooks call only the agency's hosts. — 1 of 2 "
        "workspace(s)",
        f"    {second}: webhooks[1].url: must match the pattern "
        '`^https://hooks\\.example\\.com/` (live: "https://evil.example.net/hook")',
    ]
    md = invoke("drift", ".", "--format", "markdown").stdout
    assert md.index("policy require-2fa (error)") < md.index("policy webhook-hosts (warning)")
    assert md.count("| `security.require_2fa` | must be true | `false` |") == 2
    assert f"| `{second}` | `webhooks[1].url` |" in md
    page = invoke("drift", ".", "--format", "html").stdout
    assert "<h2>Policy violations</h2>" in page
    assert page.index("<h3>policy require-2fa (error)") < page.index(
        "<h3>policy webhook-hosts (warning)"
    )


def test_the_markdown_section_fits_its_budget() -> None:
    from wscfg.engine.violations import Violation, report_markdown

    found = [
        Violation(f"clinic-{i:04d}", "p", "error", "d", "members[0].email", "must match", "x" * 50)
        for i in range(5000)
    ]
    lines = report_markdown(found, 5000, budget=20_000)
    text = "\n".join(lines)
    assert len(text) <= 20_000
    assert text.count("<details>") == text.count("</details>") == 1
    assert lines[-1].endswith("more lines not shown; see the JSON report._")
    assert len("\n".join(report_markdown(found, 5000))) > 20_000


def test_show_gives_back_a_drift_report_with_its_violations(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`wscfg show` of a saved drift report prints what `wscfg drift` printed, the live
    policy violations and the count of known ones included (they were dropped)."""
    spaces = applied_fleet(sandbox, monkeypatch, tmp_path)
    add_webhook(spaces[1], "zapier", "https://evil.example.net/hook")
    first = spaces[0].slug
    (tmp_path / f"{first}.yaml").unlink()  # not a target of the baselined run
    assert invoke("drift", ".", "--baseline", "b.json", "--update-baseline").exit_code == 0
    (tmp_path / f"{first}.yaml").write_text(target(first))
    (tmp_path / "report.json").write_text(
        invoke("drift", ".", "--baseline", "b.json", "--format", "json").stdout
    )
    for fmt in ("text", "markdown", "json"):
        said = invoke("drift", ".", "--baseline", "b.json", "--format", fmt)
        assert said.exit_code == 2, said.output
        shown = invoke("show", "report.json", "--format", fmt)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout == said.stdout, fmt
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["known_violations"] == 2 and len(report["violations"]) == 1
