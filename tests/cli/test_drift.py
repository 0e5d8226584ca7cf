"""Drift that explains itself, end to end over HTTP: wscfg applies a config; a person changes a
call tag, a member's role and a webhook URL in the UI (an `--as-user` key); another
integration's key changes a notification; the config changes a fourth item. `plan` classes
each difference `config` or `drift` with who, via and when; `wscfg drift` reports only drift,
and a baseline accepts known drift so that only new drift exits 2."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from wscfg.cli import cli
from wscfg.sandbox import admin

from .runner import invoke

JANE = "jane@acme.example"
SECRET = "whsec-drift-never-print-me"


def config(slug: str, sales: str = "#1f8a70") -> str:
    return f"""\
version: 1
workspace: {{slug: {slug}, name: Acme, timezone: UTC}}
members:
  - {{email: {JANE}, role: owner}}
  - {{email: desk@acme.example, role: member}}
call_tags:
  - {{name: spam, color: "#ff0000"}}
  - {{name: sales, color: "{sales}"}}
webhooks:
  - name: crm
    url: https://hooks.example.com/acme
    events: [call.completed]
    secret: ${{env:DRIFT_HOOK_SECRET}}
notifications:
  billing: {{email: true, in_app: true}}
"""


@pytest.fixture
def setup(sandbox, monkeypatch, tmp_path):
    ws = sandbox.new_workspace(owner=JANE)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.setenv("DRIFT_HOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(config(ws.slug))

    def run(*args: str):
        result = invoke(*args)
        assert SECRET not in result.output
        return result

    assert run("apply", "--auto-approve", str(cfg)).exit_code == 0
    return ws, cfg, run


def ui_key(sandbox, slug: str) -> str:
    got = CliRunner().invoke(
        cli, ["sandbox", "key", "--db", sandbox.db_url, "--workspace", slug, "--as-user", JANE]
    )
    assert got.exit_code == 0, got.output
    return got.stdout.strip()


def patch(url: str, key: str, body: dict, agent: str) -> None:
    headers = {"Authorization": f"Bearer {key}", "User-Agent": agent}
    httpx.patch(url, json=body, headers=headers).raise_for_status()


def when(ws, kind: str, key: str) -> str:
    """The audit time of the newest write of an item, as the reports print it."""
    entries = httpx.get(
        f"{ws.url}/audit", params={"kind": kind, "key": key}, headers=ws.headers
    ).json()["items"]
    at = entries[0]["at"]
    return f"{at[:10]} {at[11:16]} UTC"


def foreign_edits(sandbox, ws) -> str:
    """A person in the UI and another integration change four items; returns the UI key."""
    ui = ui_key(sandbox, ws.slug)
    browser = "Mozilla/5.0 (X11; Linux x86_64)"
    patch(f"{ws.url}/call-tags/spam", ui, {"color": "#00ff00"}, browser)
    patch(f"{ws.url}/members/desk@acme.example", ui, {"role": "admin"}, browser)
    patch(f"{ws.url}/webhooks/crm", ui, {"url": "https://evil.example.com/x"}, browser)
    other = admin.new_key(sandbox.db_url, admin.KeyRequest(workspace=ws.slug, name="zapier"))
    patch(
        f"{ws.url}/notifications",
        other.secret,
        {"billing": {"email": False, "in_app": True}},
        "zapier-sync/2.1",
    )
    return ui


def test_plan_and_drift_attribute_each_difference(sandbox, setup):
    ws, cfg, run = setup
    foreign_edits(sandbox, ws)
    cfg.write_text(config(ws.slug, sales="#3b82f6"))  # the config changes a fourth item
    t_tag, t_member = when(ws, "call_tags", "spam"), when(ws, "members", "desk@acme.example")
    t_hook, t_notif = when(ws, "webhooks", "crm"), when(ws, "notifications", "")

    plan = run("plan", str(cfg))
    assert plan.exit_code == 0, plan.output
    lines = plan.stdout.splitlines()
    assert f'      role: "admin" → "member"  (reverts a UI change by {JANE}, {t_member})' in lines
    assert f'      color: "#00ff00" → "#ff0000"  (reverts a UI change by {JANE}, {t_tag})' in lines
    assert (
        f'      url: "https://evil.example.com/x" → "https://hooks.example.com/acme"  '
        f"(reverts a UI change by {JANE}, {t_hook})"
    ) in lines
    assert (
        f'      billing.email: false → true  (reverts an API change by API key "zapier", {t_notif})'
    ) in lines
    assert '      color: "#1f8a70" → "#3b82f6"' in lines  # config: no note
    assert "  Origins: 1 from the config, 4 drift." in lines

    doc = json.loads(run("plan", "--format", "json", str(cfg)).stdout)
    origins = {(c["kind"], c["key"]): c["origin"] for p in doc["targets"] for c in p["changes"]}
    assert origins[("call_tags", "sales")] == {"source": "config"}
    ui = {"type": "user", "name": JANE}
    for item in (("call_tags", "spam"), ("members", "desk@acme.example"), ("webhooks", "crm")):
        assert (origins[item]["source"], origins[item]["actor"], origins[item]["via"]) == (
            "drift",
            ui,
            "ui",
        )
    assert origins[("notifications", "")]["actor"] == {"type": "api_key", "name": "zapier"}
    assert origins[("notifications", "")]["client"] == "zapier-sync/2.1"

    drift = run("drift", "--format", "json", str(cfg))
    assert drift.exit_code == 2, drift.output
    found = json.loads(drift.stdout)["drift"]
    assert [(d["kind"], d["key"], d["field"], d["actor"], d["via"]) for d in found] == [
        ("call_tags", "spam", "color", ui, "ui"),
        ("members", "desk@acme.example", "role", ui, "ui"),
        ("webhooks", "crm", "url", ui, "ui"),
        ("notifications", "", "billing.email", {"type": "api_key", "name": "zapier"}, "api"),
    ]
    assert all(d["at"].endswith("Z") for d in found)

    text = run("drift", str(cfg))
    assert text.exit_code == 2
    assert text.stdout == (
        f"Workspace {ws.slug}: 4 new drift\n"
        f'  ~ call tag spam  color: "#00ff00" (config: "#ff0000")  changed in the UI by {JANE}, '
        f"{t_tag}\n"
        f'  ~ member desk@acme.example  role: "admin" (config: "member")  changed in the UI by '
        f"{JANE}, {t_member}\n"
        f'  ~ webhook crm  url: "https://evil.example.com/x" (config: '
        f'"https://hooks.example.com/acme")  changed in the UI by {JANE}, {t_hook}\n'
        f"  ~ notifications  billing.email: false (config: true)  changed through the API by "
        f'API key "zapier", {t_notif}\n'
        "4 new drift in 1 of 1 workspace(s).\n"
    )


def test_a_baseline_accepts_known_drift_and_new_drift_exits_2(sandbox, setup):
    ws, cfg, run = setup
    ui = foreign_edits(sandbox, ws)
    base = "drift-baseline.json"
    missing = run("drift", "--baseline", base, str(cfg))
    assert missing.exit_code == 1
    assert missing.stderr == (
        f"Error: no baseline file {base}; write one with --baseline {base} --update-baseline\n"
    )
    updated = run("drift", "--baseline", base, "--update-baseline", str(cfg))
    assert updated.exit_code == 0, updated.output
    assert updated.stderr.endswith(f"Wrote 4 fingerprint(s) of known drift to {base}.\n")
    assert updated.stdout == f"No new drift: 4 accepted into the baseline {base} just now.\n"
    same = run("drift", "--baseline", base, str(cfg))
    assert (same.exit_code, same.stdout) == (
        0,
        "No new drift; 4 known (in the baseline), not shown.\n",
    )
    patch(f"{ws.url}/call-tags/sales", ui, {"color": "#abcdef"}, "Mozilla/5.0")
    t_tag = when(ws, "call_tags", "sales")
    new = run("drift", "--baseline", base, str(cfg))
    assert new.exit_code == 2
    assert new.stdout == (
        f"Workspace {ws.slug}: 1 new drift\n"
        f'  ~ call tag sales  color: "#abcdef" (config: "#1f8a70")  changed in the UI by '
        f"{JANE}, {t_tag}\n"
        "1 new drift in 1 of 1 workspace(s); 4 known (in the baseline), not shown.\n"
    )
    md = run("drift", "--baseline", base, "--format", "markdown", "-o", "drift.md", str(cfg))
    assert md.exit_code == 2
    report = (cfg.parent / "drift.md").read_text()
    assert (
        f'| `{ws.slug}` | call tag sales | `color` | `"#abcdef"` | `"#1f8a70"` | {JANE} | ui | '
        f"{t_tag} |" in report
    )
    (cfg.parent / base).write_text('{"format": "something-else"}')
    bad = run("drift", "--baseline", base, str(cfg))
    assert bad.exit_code == 1
    assert bad.stderr.startswith(f"Error: {base} is not a drift baseline")


def test_config_side_changes_are_not_drift(setup):
    ws, cfg, run = setup
    cfg.write_text(config(ws.slug, sales="#3b82f6"))
    result = run("drift", str(cfg))
    assert (result.exit_code, result.stdout) == (0, "No new drift.\n")


def test_one_audit_read_per_workspace_with_differences(sandbox, setup):
    from wscfg.api.client import ApiClient
    from wscfg.config.validate import load_targets
    from wscfg.engine.state import desired_state
    from wscfg.fleet import plan_fleet

    cfg = setup[1]
    agency = sandbox.new_agency()
    slugs = []
    for n in range(3):
        slug = f"{agency.name}-{n}"
        sandbox.create_workspace(slug, agency=agency.name, owner=JANE)
        slugs.append(slug)
        (cfg.parent / f"{slug}.yaml").write_text(config(slug))
    paths = [str(cfg.parent / f"{s}.yaml") for s in slugs]
    states = [desired_state(d) for d in load_targets(paths)]

    async def plan_all(only: list[str]):
        async with ApiClient(sandbox.url, agency.key) as client:
            got = await plan_fleet(client, [s for s in states if s.slug in only])
            return got, client.stats.routes["GET audit"]

    # Three workspaces with differences: one audit read each.
    done, reads = asyncio.run(plan_all(slugs))
    assert not done.failures and reads == 3

    async def apply_all():
        from wscfg.engine.apply import apply_plan, secrets_from_desired

        async with ApiClient(sandbox.url, agency.key) as client:
            for p in done.plans:
                await apply_plan(
                    p, client.workspace(p.slug), secrets_from_desired(done.desired[p.slug])
                )

    asyncio.run(apply_all())
    # In sync: no audit read at all; one drifted: exactly one.
    patch(
        f"{sandbox.url}/v1/workspaces/{slugs[1]}/call-tags/spam",
        agency.key,
        {"color": "#000000"},
        "curl/8.0",
    )
    again, reads = asyncio.run(plan_all(slugs))
    assert [p.slug for p in again.plans if not p.empty] == [slugs[1]]
    assert reads == 1


def test_the_same_drift_across_a_fleet_is_one_row(sandbox, monkeypatch, tmp_path):
    agency = sandbox.new_agency()
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.setenv("DRIFT_HOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    slugs = [f"{agency.name}-{n}" for n in range(3)]
    for slug in slugs:
        sandbox.create_workspace(slug, agency=agency.name, owner=JANE)
        (tmp_path / f"{slug}.yaml").write_text(config(slug))
    runner = CliRunner()
    assert runner.invoke(cli, ["apply", "--auto-approve", str(tmp_path)]).exit_code == 0
    times = []
    for slug in slugs[:2]:
        url = f"{sandbox.url}/v1/workspaces/{slug}"
        patch(f"{url}/call-tags/spam", ui_key(sandbox, slug), {"color": "#00ff00"}, "Mozilla/5.0")
        entries = httpx.get(
            f"{url}/audit",
            params={"kind": "call_tags"},
            headers={"Authorization": f"Bearer {agency.key}"},
        ).json()["items"]
        times.append(entries[0]["at"][:10])
    result = runner.invoke(cli, ["drift", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = result.stdout.splitlines()
    assert lines[-2:] == [
        f"  call tag spam: color changed in 2 of 3 workspaces, by 1 person; first {min(times)}, "
        f"last {max(times)}",
        "2 new drift in 2 of 3 workspace(s).",
    ]
    assert lines[-3] == "Across the fleet:"
    md = runner.invoke(cli, ["drift", "--format", "markdown", str(tmp_path)])
    assert md.exit_code == 2
    folded = ", ".join(f"<code>{s}</code>" for s in sorted(slugs[:2]))
    assert f"| <details><summary>2</summary>{folded}</details> |" in md.stdout
    # shards split the fleet: each drifted workspace is reported by exactly one shard
    seen: list[str] = []
    for i in (1, 2, 3):
        part = runner.invoke(cli, ["drift", "--format", "json", "--shard", f"{i}/3", str(tmp_path)])
        assert part.exit_code in (0, 2), part.output
        seen += [d["workspace"] for d in json.loads(part.stdout)["drift"]]
    assert sorted(seen) == sorted(slugs[:2])
    bad = runner.invoke(cli, ["drift", "--shard", "5/4", str(tmp_path)])
    assert bad.exit_code == 1


def test_a_markdown_report_fits_an_issue():
    from wscfg.engine.changes import Origin
    from wscfg.engine.drift import DriftItem, DriftReport, report_markdown

    jane = Origin("drift", "user", JANE, "ui", "2026-11-27T14:03:09Z", "Mozilla/5.0", "update")
    items = [
        DriftItem(
            f"clinic-{n:03}",
            "call_tags",
            f"tag-{k}",
            f"call tag tag-{k}",
            "color",
            "changed",
            "#00ff00",
            "#ff0000",
            jane,
        )
        for n in range(500)
        for k in range(4)
    ]
    text = report_markdown(DriftReport(items, 0, [f"clinic-{n:03}" for n in range(500)], []))
    assert len(text) <= 65_535
    assert text.rstrip().endswith(
        "detail block(s); the full report: `wscfg drift … --format markdown -o FILE` (or "
        "`--format json`) writes every row._"
    )
    assert "| call tag tag-0: color changed in 500 of 500 workspaces, by 1 person; first " in text


def fleet_report(workspaces: int, per: int) -> Any:
    from wscfg.engine.changes import Origin
    from wscfg.engine.drift import DriftItem, DriftReport

    jane = Origin("drift", "user", JANE, "ui", "2026-11-27T14:03:09Z", "Mozilla/5.0", "update")
    slugs = [f"clinic-{n:03}" for n in range(workspaces)]
    items = [
        DriftItem(
            s,
            "call_tags",
            f"tag-{k}",
            f"call tag tag-{k}",
            "color",
            "changed",
            "#00ff00",
            "<b>#ff0000</b>",
            jane,
        )
        for s in slugs[: workspaces // 2]
        for k in range(per)
    ]
    return DriftReport(items, 0, slugs, [])


def test_the_html_report_is_one_self_contained_page():
    from wscfg.engine.drift_html import report_html

    page = report_html(fleet_report(500, 4))
    assert len(page.encode()) < 3_000_000
    lowered = page.lower()
    for external in ("<script", "src=", "href=", "@import", "url("):
        assert external not in lowered
    assert page.count('<td class="s drift"') == 250  # 250 drifted workspaces × call_tags
    assert page.count("<tr><th><code>clinic-") == 500
    assert "&lt;b&gt;#ff0000&lt;/b&gt;" in page and "<b>#ff0000" not in page
    assert "call tag tag-0: color changed in 250 of 500 workspaces, by 1 person" in page


def test_bad_drift_input_is_one_clear_line(setup, tmp_path):
    _, cfg, run = setup
    no_base = run("drift", "--update-baseline", str(cfg))
    assert no_base.exit_code == 1
    assert no_base.stderr.endswith("Error: --update-baseline needs --baseline FILE\n")
    (tmp_path / "b.json").write_text("[1, 2")
    broken = run("drift", "--baseline", "b.json", str(cfg))
    assert (broken.exit_code, broken.stderr) == (
        1,
        "Error: b.json is not a drift baseline (not JSON)\n",
    )
    (tmp_path / "b.json").write_text(
        '{"format": "wscfg-drift-baseline", "version": 9, "fingerprints": []}'
    )
    newer = run("drift", "--baseline", "b.json", str(cfg))
    assert (newer.exit_code, newer.stderr) == (1, "Error: b.json: baseline version 9 is not 1\n")
    nowhere = run("drift", "-o", str(tmp_path / "missing" / "r.md"), str(cfg))
    assert nowhere.exit_code == 1
    assert nowhere.stderr.startswith(f"Error: cannot write {tmp_path / 'missing' / 'r.md'}: ")


def test_a_rotated_secret_is_drift_named_never_shown(sandbox, setup):
    ws, cfg, run = setup
    clicked = "whsec-typed-in-the-ui-never-shown"
    patch(f"{ws.url}/webhooks/crm", ui_key(sandbox, ws.slug), {"secret": clicked}, "Mozilla/5.0")
    t_hook = when(ws, "webhooks", "crm")
    plan = run("plan", str(cfg))
    assert (
        "      secret: changed (sensitive, from ${env:DRIFT_HOOK_SECRET})  "
        f"(reverts a UI change by {JANE}, {t_hook})"
    ) in plan.stdout.splitlines()
    drift = run("drift", "--format", "json", str(cfg))
    assert drift.exit_code == 2
    (found,) = json.loads(drift.stdout)["drift"]
    assert (found["field"], found["live"], found["config"], found["actor"]["name"]) == (
        "secret",
        "(sensitive)",
        "(sensitive)",
        JANE,
    )
    for result in (plan, drift):
        assert clicked not in result.output


def test_drift_only_reports_the_selected_items(sandbox, setup):
    ws, cfg, run = setup
    foreign_edits(sandbox, ws)
    full = run("drift", str(cfg))
    assert full.exit_code == 2
    some = run("drift", "--only", "call_tags", "--only", "webhooks:crm", str(cfg))
    assert some.exit_code == 2
    assert "call tag spam" in some.stdout and "webhook crm" in some.stdout
    assert "member desk@acme.example" in full.stdout
    assert "member" not in some.stdout and "notifications" not in some.stdout
    assert some.stderr.endswith(
        "Partial drift report (--only call_tags, webhooks:crm): other drift is not shown.\n"
    )
    typo = run("drift", "--only", "call_tags:spma", str(cfg))
    assert typo.exit_code == 1
    assert typo.stderr.endswith(
        "Error: --only call_tags:spma matches no declared or live item; "
        "did you mean 'call_tags:spam'?\n"
    )
    both = run(
        "drift", "--only", "call_tags", "--baseline", "b.json", "--update-baseline", str(cfg)
    )
    assert both.exit_code == 1
    assert "--update-baseline cannot be given with --only" in both.stderr
    assert not (cfg.parent / "b.json").exists()
