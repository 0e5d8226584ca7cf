"""#21 item 6: "written by wscfg" is decided from the key that wrote (the key id the server
records with each write), never from the User-Agent the caller chose."""

from __future__ import annotations

import json

from wscfg.api.exchange import USER_AGENT
from wscfg.sandbox import admin

from .test_drift import config, patch, setup  # noqa: F401 (setup is a fixture)


def test_a_foreign_key_claiming_to_be_wscfg_is_drift_by_that_key(sandbox, setup):  # noqa: F811
    """The issue's reproduction: a `zapier` key sending `User-Agent: wscfg/0.1.0` changes a
    tag; plan and drift report it as drift by API key "zapier"."""
    ws, cfg, run = setup
    zapier = admin.new_key(sandbox.db_url, admin.KeyRequest(workspace=ws.slug, name="zapier"))
    patch(f"{ws.url}/call-tags/spam", zapier.secret, {"color": "#00ff00"}, "wscfg/0.1.0")
    patch(f"{ws.url}/call-tags/sales", zapier.secret, {"color": "#000000"}, USER_AGENT)
    plan = run("plan", str(cfg))
    assert plan.exit_code == 0, plan.output
    assert "  Origins: 0 from the config, 2 drift." in plan.stdout.splitlines()
    assert plan.stdout.count('(reverts an API change by API key "zapier", ') == 2
    drift = run("drift", str(cfg))
    assert drift.exit_code == 2, drift.output
    assert "zapier" in drift.stdout
    doc = json.loads(run("plan", "--format", "json", str(cfg)).stdout)
    origins = [c["origin"] for t in doc["targets"] for c in t["changes"]]
    assert [(o["source"], o["actor"]["name"], o["client"]) for o in origins] == [
        ("drift", "zapier", USER_AGENT),
        ("drift", "zapier", "wscfg/0.1.0"),
    ]


def test_a_deploy_key_is_wscfg_once_named(sandbox, setup, monkeypatch, tmp_path):  # noqa: F811
    """Plan and drift run with one key, apply with another (the deploy key): its writes are
    drift until WSCFG_APPLY_KEY_IDS names it, then config."""
    ws, cfg, run = setup
    deploy = admin.new_key(sandbox.db_url, admin.KeyRequest(workspace=ws.slug, name="deploy"))
    cfg.write_text(config(ws.slug, sales="#3b82f6"))
    monkeypatch.setenv("WSCFG_TOKEN", deploy.secret)
    assert run("apply", "--auto-approve", str(cfg)).exit_code == 0
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    cfg.write_text(config(ws.slug))  # back: the deploy key's value now differs
    plan = run("plan", str(cfg))
    assert '(reverts an API change by API key "deploy", ' in plan.stdout
    monkeypatch.setenv("WSCFG_APPLY_KEY_IDS", f"key_unrelated, {deploy.id}")
    plan = run("plan", str(cfg))
    assert plan.exit_code == 0, plan.output
    assert 'API key "deploy"' not in plan.stdout and "Origins:" not in plan.stdout
    assert '      color: "#3b82f6" → "#1f8a70"' in plan.stdout.splitlines()
    assert run("drift", str(cfg)).exit_code == 0


def test_a_malformed_list_of_apply_keys_is_refused_without_its_value(setup, monkeypatch):  # noqa: F811
    _, cfg, run = setup
    monkeypatch.setenv("WSCFG_APPLY_KEY_IDS", "key_ok, not/an id")
    result = run("plan", str(cfg))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: WSCFG_APPLY_KEY_IDS must list API key ids (key_…) separated by commas or spaces\n"
    )
