"""The recipes of docs/policies.md, exactly as written there, do what they say: on the config
(`wscfg validate`) and on a live workspace (`wscfg drift` against the sandbox over HTTP), each
catches what it is about and lets through what it allows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from wscfg.cli import cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policies.md"
OWNER = "owner@brightsmile.example"


def recipes() -> dict[str, Any]:
    """The Recipes section's YAML blocks joined into one template (as an agency would)."""
    section = DOCS.read_text().split("## Recipes", 1)[1]
    template: dict[str, Any] = {"version": 1, "policies": []}
    for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.S):
        doc = YAML(typ="safe").load(block if "policies:" in block else "policies:\n" + block)
        template["policies"] += doc.pop("policies")
        template.update(doc)
    return template


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def test_the_recipes_section_holds_the_five_agency_recipes() -> None:
    template = recipes()
    assert [p["name"] for p in template["policies"]] == [
        "require-2fa",
        "webhook-hosts",
        "member-domains",
        "api-key-scopes",
        "live-keys-expire",
        "no-billing-write",
    ]
    assert template["locked"] == ["security"]
    assert template["security"] == {"require_2fa": True}


CLINIC = {"version": 1, "extends": "base.yaml", "workspace": {"slug": "north", "name": "North"}}
GOOD = {
    "members": [
        {"email": OWNER, "role": "owner"},
        {"email": "desk@north.brightsmile-clinics.example", "role": "member"},
    ],
    "webhooks": [
        {"name": "crm", "url": "https://crm.brightsmile.example/in", "events": ["call.completed"]}
    ],
    "api_keys": [
        {"name": "reporting", "mode": "live", "scopes": ["calls:read"], "expires": "2099-01-01"},
        {"name": "staging", "mode": "test", "scopes": ["contacts:read"]},
    ],
}


def hook(url: str) -> dict[str, Any]:
    return {"webhooks": [{"name": "crm", "url": url, "events": ["call.completed"]}]}


def key(**fields: Any) -> dict[str, Any]:
    return {"api_keys": [{"name": "k", "mode": "test", "scopes": ["calls:read"], **fields}]}


def member(email: str) -> dict[str, Any]:
    return {"members": [{"email": OWNER, "role": "owner"}, {"email": email, "role": "member"}]}


@pytest.mark.parametrize(
    ("change", "errors", "warnings"),
    [
        ({}, [], []),
        # 2FA: the template sets it and locks the key; a clinic cannot even write it.
        ({"security": {"require_2fa": True}}, [("", "security")], []),
        (hook("https://evil.example/in"), [("webhook-hosts", "webhooks[0].url")], []),
        (
            hook("https://brightsmile.example.evil.example/"),
            [("webhook-hosts", "webhooks[0].url")],
            [],
        ),
        (
            hook("https://evil.example/brightsmile.example/"),
            [("webhook-hosts", "webhooks[0].url")],
            [],
        ),
        (hook("https://brightsmile.example/x"), [], []),
        (member("a@evil.example"), [("member-domains", "members[1].email")], []),
        (
            member("a@brightsmile.example.evil.example"),
            [("member-domains", "members[1].email")],
            [],
        ),
        (member("a@evil.brightsmile-clinics.example"), [], []),
        (key(scopes=["calls:write"]), [("api-key-scopes", "api_keys[0].scopes[0]")], []),
        (
            key(scopes=["calls:read", "billing:write"]),
            [
                ("no-billing-write", "api_keys[0].scopes"),
                ("api-key-scopes", "api_keys[0].scopes[1]"),
            ],
            [],
        ),
        (key(mode="live"), [], [("live-keys-expire", "api_keys[0].expires")]),
        (key(mode="live", expires="2099-12-31"), [], []),
    ],
)
def test_each_recipe_on_the_config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, Any],
    errors: list[tuple[str, str]],
    warnings: list[tuple[str, str]],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text(json.dumps(recipes()))
    (tmp_path / "north.yaml").write_text(json.dumps({**CLINIC, **GOOD, **change}))
    got = invoke("validate", "north.yaml", "--format", "json")
    report = json.loads(got.stdout)
    assert [(d.get("rule", ""), d["path"]) for d in report["diagnostics"]] == errors
    assert [(d.get("rule", ""), d["path"]) for d in report["warnings"]] == warnings
    assert got.exit_code == (1 if errors else 0)


def test_each_recipe_on_the_live_workspace(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Changes made outside wscfg, in kinds the clinic's file does not manage: drift reports
    each recipe that they break, and nothing for a workspace that keeps to them."""
    bad = sandbox.new_workspace("north", owner=OWNER)
    good = sandbox.new_workspace("south", owner=OWNER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    (tmp_path / "base.yaml").write_text(json.dumps(recipes()))

    def post(ws: Any, path: str, body: dict[str, Any]) -> None:
        httpx.post(f"{ws.url}/{path}", json=body, headers=ws.headers).raise_for_status()

    events = ["call.completed"]
    post(bad, "webhooks", {"name": "zap", "url": "https://hooks.zap.example/1", "events": events})
    post(bad, "members", {"email": "temp@gmail.example", "role": "member"})
    post(bad, "api-keys", {"name": "billing-bot", "mode": "live", "scopes": ["billing:write"]})
    post(
        good,
        "webhooks",
        {"name": "crm", "url": "https://crm.brightsmile.example/", "events": events},
    )
    post(good, "members", {"email": "desk@south.brightsmile-clinics.example", "role": "member"})
    body = {"name": "r", "mode": "live", "scopes": ["calls:read"], "expires": "2099-01-01"}
    post(good, "api-keys", body)
    sandbox.set_two_factor(good.slug, OWNER)
    response = httpx.patch(f"{good.url}/security", json={"require_2fa": True}, headers=good.headers)
    response.raise_for_status()

    found = {}
    for ws in (bad, good):
        target = {"version": 1, "extends": "base.yaml", "workspace": {"slug": ws.slug}}
        (tmp_path / f"{ws.slug}.yaml").write_text(json.dumps(target))
        monkeypatch.setenv("WSCFG_TOKEN", ws.key)
        got = invoke("drift", f"{ws.slug}.yaml", "--format", "json")
        found[ws.slug] = (
            got.exit_code,
            [(v["policy"], v["severity"], v["path"]) for v in json.loads(got.stdout)["violations"]],
        )
    assert found[bad.slug] == (
        2,
        [
            ("require-2fa", "error", "security.require_2fa"),
            ("webhook-hosts", "error", "webhooks[0].url"),
            ("member-domains", "error", "members[1].email"),
            ("api-key-scopes", "error", "api_keys[0].scopes[0]"),
            ("live-keys-expire", "warning", "api_keys[0].expires"),
            ("no-billing-write", "error", "api_keys[0].scopes"),
        ],
    )
    assert found[good.slug] == (0, [])


def test_the_agency_example_uses_two_policies_and_one_lock_and_its_clinics_keep_them() -> None:
    base = YAML(typ="safe").load(
        (DOCS.parents[1] / "examples" / "agency" / "base.yaml").read_text()
    )
    assert [(p["name"], p.get("severity", "error")) for p in base["policies"]] == [
        ("require-2fa", "error"),
        ("webhook-hosts", "warning"),
    ]
    assert base["locked"] == ["security"]
    got = invoke("validate", str(DOCS.parents[1] / "examples" / "agency"), "--format", "json")
    report = json.loads(got.stdout)
    assert (got.exit_code, report["diagnostics"]) == (0, [])
    assert [d.get("rule") for d in report["warnings"] if d.get("rule")] == []
