"""`wscfg adopt` end to end over HTTP: wscfg applies a config; a person changes a call tag, a
member's role and notifications, creates a tag and deletes one in the UI (a second key);
`adopt` writes the live values back into the YAML (comments, quoting and flow/block style
kept; untouched lines byte-identical); then `plan` shows no changes and `validate` passes.
Write-only secrets and ${env:X} values are refused by name."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner

from wscfg.cli import cli

from .runner import invoke

JANE = "jane@acme.example"
SECRET = "whsec-adopt-never-print-me"


def config(slug: str) -> str:
    return f"""\
# The Acme workspace: reviewed in pull requests.
version: 1
workspace: {{slug: {slug}, name: Acme, timezone: UTC}}
members:
  - {{email: {JANE}, role: owner}}   # the owner
  - email: desk@acme.example
    role: member
call_tags:
  - {{name: spam, color: "#ff0000"}}
  # sales leads
  - name: sales
    color: '#1f8a70'
  - {{name: old, color: "#000000"}}
webhooks:
  - name: crm
    url: https://hooks.example.com/acme
    events: [call.completed]
    secret: ${{env:ADOPT_HOOK_SECRET}}
notifications:
  billing: {{email: true, in_app: true}}   # finance reads these
"""


@pytest.fixture
def setup(sandbox, monkeypatch, tmp_path):
    ws = sandbox.new_workspace(owner=JANE)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.setenv("ADOPT_HOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(config(ws.slug))

    def run(*args: str):
        result = invoke(*args)
        assert SECRET not in result.output
        return result

    got = run("apply", "--auto-approve", "ws.yaml")
    assert got.exit_code == 0, got.output
    return ws, cfg, run


def ui_key(sandbox, slug: str) -> str:
    got = CliRunner().invoke(
        cli, ["sandbox", "key", "--db", sandbox.db_url, "--workspace", slug, "--as-user", JANE]
    )
    assert got.exit_code == 0, got.output
    return got.stdout.strip()


def ui_edits(sandbox, ws) -> None:
    key = ui_key(sandbox, ws.slug)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=ws.url, headers=headers) as c:
        c.patch("/call-tags/spam", json={"color": "#00ff00"}).raise_for_status()
        c.patch("/members/desk@acme.example", json={"role": "admin"}).raise_for_status()
        c.patch(
            "/notifications", json={"billing": {"email": False, "in_app": True}}
        ).raise_for_status()
        c.post("/call-tags", json={"name": "vip", "color": "#123456"}).raise_for_status()
        c.delete("/call-tags/old").raise_for_status()


EXPECTED_DIFF = """\
--- a/ws.yaml
+++ b/ws.yaml
@@ -4,17 +4,17 @@
 members:
   - {{email: jane@acme.example, role: owner}}   # the owner
   - email: desk@acme.example
-    role: member
+    role: admin
 call_tags:
-  - {{name: spam, color: "#ff0000"}}
+  - {{name: spam, color: "#00ff00"}}
   # sales leads
   - name: sales
     color: '#1f8a70'
-  - {{name: old, color: "#000000"}}
+  - {{name: vip, color: "#123456"}}
 webhooks:
   - name: crm
     url: https://hooks.example.com/acme
     events: [call.completed]
     secret: ${{env:ADOPT_HOOK_SECRET}}
 notifications:
-  billing: {{email: true, in_app: true}}   # finance reads these
+  billing: {{email: false, in_app: true}}  # finance reads these
"""


def test_adopt_writes_live_values_then_plan_is_empty(sandbox, setup):
    ws, cfg, run = setup
    ui_edits(sandbox, ws)
    before = cfg.read_text()

    dry = run("adopt", "ws.yaml", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == EXPECTED_DIFF.format(slug=ws.slug)
    assert "ws.yaml: Would adopt 5 change(s); 0 refused." in dry.stderr
    assert cfg.read_text() == before

    got = run("adopt", "ws.yaml")
    assert got.exit_code == 0, got.output
    assert got.stdout == EXPECTED_DIFF.format(slug=ws.slug)
    assert "ws.yaml: Adopted 5 change(s); 0 refused." in got.stderr
    after = cfg.read_text()
    # Every line the edit did not need is byte-identical.
    changed = {"    role: member", '  - {name: spam, color: "#ff0000"}'}
    changed |= {'  - {name: old, color: "#000000"}'}
    changed |= {"  billing: {email: true, in_app: true}   # finance reads these"}
    kept = [line for line in before.splitlines() if line not in changed]
    assert [line for line in after.splitlines() if line in kept] == kept

    plan = run("plan", "ws.yaml", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert run("validate", "ws.yaml").exit_code == 0

    again = run("adopt", "ws.yaml")
    assert again.exit_code == 0
    assert again.stdout == ""
    assert "ws.yaml: nothing to adopt." in again.stderr
    assert cfg.read_text() == after


def test_adopt_only_one_item(sandbox, setup):
    ws, _cfg, run = setup
    ui_edits(sandbox, ws)
    got = run("adopt", "ws.yaml", "--only", "call_tags:spam")
    assert got.exit_code == 0, got.output
    assert got.stdout == (
        "--- a/ws.yaml\n+++ b/ws.yaml\n@@ -6,7 +6,7 @@\n"
        "   - email: desk@acme.example\n     role: member\n call_tags:\n"
        '-  - {name: spam, color: "#ff0000"}\n+  - {name: spam, color: "#00ff00"}\n'
        "   # sales leads\n   - name: sales\n     color: '#1f8a70'\n"
    )


def test_adopt_refuses_write_only_secret(sandbox, setup):
    ws, cfg, run = setup
    key = ui_key(sandbox, ws.slug)
    httpx.patch(
        f"{ws.url}/webhooks/crm",
        json={"secret": "rotated-in-the-ui"},
        headers={"Authorization": f"Bearer {key}"},
    ).raise_for_status()
    before = cfg.read_text()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 1
    assert got.stdout == ""
    assert got.stderr.splitlines()[-2:] == [
        "Error: cannot adopt webhooks[crm].secret: it is write-only (the platform never "
        "shows it); the reference is left as it is",
        "ws.yaml: Adopted 0 change(s); 1 refused.",
    ]
    assert cfg.read_text() == before
    assert "rotated-in-the-ui" not in got.output


def test_adopt_refuses_env_value(sandbox, setup, monkeypatch):
    ws, cfg, run = setup
    monkeypatch.setenv("ADOPT_SALES_COLOR", "#1f8a70")
    text = cfg.read_text().replace("color: '#1f8a70'", "color: ${env:ADOPT_SALES_COLOR}")
    cfg.write_text(text)
    key = ui_key(sandbox, ws.slug)
    httpx.patch(
        f"{ws.url}/call-tags/sales",
        json={"color": "#abcdef"},
        headers={"Authorization": f"Bearer {key}"},
    ).raise_for_status()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 1
    assert got.stdout == ""
    assert got.stderr.splitlines()[-2:] == [
        "Error: cannot adopt call_tags[sales].color: its value comes from an environment "
        "variable (${env:…}); adopting would write that value into the file in clear: "
        "change the variable, or edit the file by hand",
        "ws.yaml: Adopted 0 change(s); 1 refused.",
    ]
    assert cfg.read_text() == text


def test_adopt_bad_only_is_a_usage_error(setup):
    _ws, _cfg, run = setup
    got = run("adopt", "ws.yaml", "--only", "tags:spam")
    assert got.exit_code == 1
    assert "unknown kind 'tags'" in got.output


def test_adopt_block_style_append_and_remove_keeps_comments(sandbox, setup):
    ws, _cfg, run = setup
    key = ui_key(sandbox, ws.slug)
    with httpx.Client(base_url=ws.url, headers={"Authorization": f"Bearer {key}"}) as c:
        c.delete("/call-tags/spam").raise_for_status()
        c.post(
            "/webhooks",
            json={
                "name": "billing",
                "url": "https://hooks.example.com/billing",
                "events": ["call.completed"],
                "secret": "ui-made-secret",
            },
        ).raise_for_status()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 0, got.output
    assert "ui-made-secret" not in got.output
    assert got.stdout == (
        "--- a/ws.yaml\n+++ b/ws.yaml\n@@ -6,7 +6,6 @@\n"
        "   - email: desk@acme.example\n     role: member\n call_tags:\n"
        '-  - {name: spam, color: "#ff0000"}\n'
        "   # sales leads\n   - name: sales\n     color: '#1f8a70'\n"
        "@@ -16,5 +15,8 @@\n"
        "     url: https://hooks.example.com/acme\n     events: [call.completed]\n"
        "     secret: ${env:ADOPT_HOOK_SECRET}\n"
        "+  - name: billing\n+    url: https://hooks.example.com/billing\n"
        "+    events: [call.completed]\n"
        " notifications:\n   billing: {email: true, in_app: true}   # finance reads these\n"
    )
    assert "Note: webhooks[billing]: its secret is write-only and was not adopted; add " in (
        got.stderr
    )
    assert run("plan", "ws.yaml", "--detailed-exitcode").exit_code == 0


@pytest.mark.parametrize("eol", ["", "   # numbers we refuse"])
def test_adopt_empties_a_list_whose_first_item_has_a_comment(setup, eol):
    """The last item goes and the list reads `[]`: the comments above the first item go with
    it (left in place they printed between `blocked_callers:` and `[]`, which does not read
    back)."""
    ws, cfg, run = setup
    text = config(ws.slug) + f'blocked_callers:{eol}\n  # a robocaller\n  - "+15550100100"\n'
    cfg.write_text(text)
    assert run("apply", "--auto-approve", "ws.yaml").exit_code == 0
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.post("/blocked-callers:batch", json={"remove": ["+15550100100"]}).raise_for_status()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 0, got.output
    assert got.stdout == (
        "--- a/ws.yaml\n+++ b/ws.yaml\n@@ -18,6 +18,4 @@\n"
        "     secret: ${env:ADOPT_HOOK_SECRET}\n"
        " notifications:\n"
        "   billing: {email: true, in_app: true}   # finance reads these\n"
        f"-blocked_callers:{eol}\n-  # a robocaller\n"
        '-  - "+15550100100"\n'
        # an end-of-line comment stays, at its column where the line leaves room
        + ("+blocked_callers: [] # numbers we refuse\n" if eol else "+blocked_callers: []\n")
    )
    assert got.stderr == "ws.yaml: Adopted 1 change(s); 0 refused.\n"
    assert run("plan", "ws.yaml", "--detailed-exitcode").exit_code == 0
    assert run("validate", "ws.yaml").exit_code == 0


def test_adopt_removes_single_line_items_keeping_the_comments_below_them(setup):
    """A number (a scalar item) or a flow mapping removed: the comment lines below it belong
    to what follows, and stay (also below the last item, which used to be refused)."""
    ws, cfg, run = setup
    cfg.write_text(
        config(ws.slug) + "blocked_callers:\n"
        '  - "+15550100100"\n'
        "  # caller 101\n"
        '  - {number: "+15550100101", note: spam}\n'
        '  - "+15550100102"\n'
        "  # more to come\n"
    )
    assert run("apply", "--auto-approve", "ws.yaml").exit_code == 0
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        gone = {"remove": ["+15550100100", "+15550100102"]}
        c.post("/blocked-callers:batch", json=gone).raise_for_status()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 0, got.output
    assert got.stdout == (
        "--- a/ws.yaml\n+++ b/ws.yaml\n@@ -19,8 +19,6 @@\n"
        " notifications:\n"
        "   billing: {email: true, in_app: true}   # finance reads these\n"
        " blocked_callers:\n"
        '-  - "+15550100100"\n'
        "   # caller 101\n"
        '   - {number: "+15550100101", note: spam}\n'
        '-  - "+15550100102"\n'
        "   # more to come\n"
    )
    assert got.stderr == "ws.yaml: Adopted 2 change(s); 0 refused.\n"
    assert run("plan", "ws.yaml", "--detailed-exitcode").exit_code == 0


def test_adopt_target_edits_only_the_chosen_workspaces(sandbox, monkeypatch, tmp_path):
    agency = sandbox.new_agency()
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.chdir(tmp_path)
    slugs = [f"{agency.name}-north", f"{agency.name}-south"]
    files = {}
    for slug in slugs:
        sandbox.create_workspace(slug, agency=agency.name)
        files[slug] = tmp_path / f"{slug}.yaml"
        files[slug].write_text(
            f"version: 1\nworkspace: {{slug: {slug}}}\n"
            'call_tags:\n  - {name: spam, color: "#ff0000"}\n'
        )
    assert invoke("apply", "--auto-approve", str(tmp_path)).exit_code == 0
    headers = {"Authorization": f"Bearer {agency.key}"}
    for slug in slugs:
        httpx.patch(
            f"{sandbox.url}/v1/workspaces/{slug}/call-tags/spam",
            json={"color": "#00ff00"},
            headers=headers,
        ).raise_for_status()
    before = {slug: f.read_text() for slug, f in files.items()}
    done = invoke("adopt", str(tmp_path), "--target", "*-north")
    assert done.exit_code == 0, done.output
    assert files[slugs[0]].read_text() == before[slugs[0]].replace("#ff0000", "#00ff00")
    assert files[slugs[1]].read_text() == before[slugs[1]]


SECTIONED = """\
version: 1
workspace: {{slug: {slug}}}
members:
  - {{email: jane@acme.example, role: owner}}

# Tags staff put on calls.
call_tags:
  - name: spam
    color: "#6b7280"{eol}

# A call is qualified when it lasts at least a minute.
call_rules:
  auto_unqualify: true
  rule: {{duration: {{at_least: 60}}}}
blocked_callers:
  - "+15550100100"   # robocaller

  # numbers staff reported
{tail}"""


@pytest.mark.parametrize("eol", ["", "   # grey"])
def test_an_adopted_item_lands_in_its_own_list_not_under_the_next_keys_comment(
    sandbox, monkeypatch, tmp_path, eol
):
    """A tag and a blocked caller made in the UI are appended inside their own lists, before
    the blank line and comment that lead into the next key; every other byte is kept."""
    ws = sandbox.new_workspace(owner=JANE)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    tail = "manage: {blocked_callers: exact}\n"
    cfg.write_text(SECTIONED.format(slug=ws.slug, eol=eol, tail=tail))
    assert invoke("apply", "--auto-approve", "ws.yaml").exit_code == 0
    headers = {"Authorization": f"Bearer {ui_key(sandbox, ws.slug)}"}
    with httpx.Client(base_url=ws.url, headers=headers) as c:
        c.post("/call-tags", json={"name": "vip", "color": "#123456"}).raise_for_status()
        c.post(
            "/blocked-callers:batch", json={"add": [{"number": "+15550100199"}], "remove": []}
        ).raise_for_status()
    got = invoke("adopt", "ws.yaml")
    assert got.exit_code == 0, got.output
    assert cfg.read_text() == (
        f"version: 1\nworkspace: {{slug: {ws.slug}}}\nmembers:\n"
        "  - {email: jane@acme.example, role: owner}\n"
        "\n# Tags staff put on calls.\ncall_tags:\n"
        f'  - name: spam\n    color: "#6b7280"{eol}\n'
        '  - name: vip\n    color: "#123456"\n'
        "\n# A call is qualified when it lasts at least a minute.\ncall_rules:\n"
        "  auto_unqualify: true\n  rule: {duration: {at_least: 60}}\nblocked_callers:\n"
        '  - "+15550100100"   # robocaller\n'
        "  - '+15550100199'\n"
        "\n  # numbers staff reported\n" + tail
    )
    assert invoke("plan", "--detailed-exitcode", "ws.yaml").exit_code == 0


TEMPLATED = """\
version: 1
vars: {{domain: acme.example}}
workspace: {{slug: {slug}}}
members:
  - {{email: "jane@${{var.domain}}", role: owner}}
  - email: frontdesk@${{var.domain}}   # the front desk
    role: member
  - {{email: "old@${{var.domain}}", role: member}}
"""


def test_adopt_finds_an_identity_written_with_a_reference(sandbox, monkeypatch, tmp_path):
    """`frontdesk@${var.domain}` changed in the UI: adopt resolves the identity as plan does
    and writes the change where the item is declared, keeping the `${var.…}` text; a member
    removed in the UI is removed from the file."""
    ws = sandbox.new_workspace(owner=JANE)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(TEMPLATED.format(slug=ws.slug))
    assert invoke("apply", "--auto-approve", "ws.yaml").exit_code == 0
    headers = {"Authorization": f"Bearer {ui_key(sandbox, ws.slug)}"}
    with httpx.Client(base_url=ws.url, headers=headers) as c:
        c.patch("/members/frontdesk@acme.example", json={"role": "admin"}).raise_for_status()
        c.delete("/members/old@acme.example").raise_for_status()
    got = invoke("adopt", "ws.yaml")
    assert (got.exit_code, got.stderr.splitlines()[-1]) == (
        0,
        "ws.yaml: Adopted 2 change(s); 0 refused.",
    ), got.output
    assert cfg.read_text() == (
        "version: 1\nvars: {domain: acme.example}\n"
        f"workspace: {{slug: {ws.slug}}}\nmembers:\n"
        '  - {email: "jane@${var.domain}", role: owner}\n'
        "  - email: frontdesk@${var.domain}   # the front desk\n"
        "    role: admin\n"
    )
    assert invoke("plan", "--detailed-exitcode", "ws.yaml").exit_code == 0


def test_adopt_removes_two_items_and_the_comment_between_them(sandbox, monkeypatch, tmp_path):
    """Both items deleted in the UI: the comment that stood above the second went with it,
    so removing the first drops nothing else (found by the adopt property run)."""
    ws = sandbox.new_workspace(owner=JANE)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    head = f"# kept\nversion: 1\nworkspace: {{slug: {ws.slug}}}\n"
    cfg.write_text(
        head + "call_tags:\n  - name: tag0\n    color: '#ff0000'\n  # about tag1\n"
        "  - name: tag1\n    color: '#ff0000'\n"
    )
    assert invoke("apply", "--auto-approve", str(cfg)).exit_code == 0
    for name in ("tag0", "tag1"):
        httpx.delete(f"{ws.url}/call-tags/{name}", headers=ws.headers).raise_for_status()
    done = invoke("adopt", str(cfg))
    assert done.exit_code == 0, done.output
    assert cfg.read_text() == head + "call_tags: []\n"
    assert invoke("plan", "--detailed-exitcode", str(cfg)).exit_code == 0
