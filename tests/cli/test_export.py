"""`wscfg export` and `wscfg clone` against a real sandbox over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from .runner import invoke

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "export-secret-never-shown"


@pytest.fixture
def env(sandbox, monkeypatch, tmp_path):
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SMILE_WEBHOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def example_for(slug: str, tmp_path: Path) -> Path:
    text = (EXAMPLES / "workspace.yaml").read_text().replace("slug: acme-dental", f"slug: {slug}")
    path = tmp_path / "source.yaml"
    path.write_text(text)
    return path


def test_export_plans_to_zero_changes_and_hides_secrets(env, sandbox, tmp_path):
    ws = sandbox.new_workspace(owner="dr.patel@acme-dental.example")
    env.setenv("WSCFG_TOKEN", ws.key)
    source = example_for(ws.slug, tmp_path)
    assert invoke("apply", "--auto-approve", str(source)).exit_code == 0
    out = tmp_path / "exported.yaml"
    result = invoke("export", "--workspace", ws.slug, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Exported {ws.slug} to {out}\n"
    text = out.read_text()
    assert SECRET not in text
    assert "to manage it: secret: ${env:WSCFG_" in text
    assert text.startswith(f"# Exported from {sandbox.url}, workspace {ws.slug}, on ")
    plan = invoke("plan", "--detailed-exitcode", str(out))
    assert plan.exit_code == 0, plan.output
    stdout = invoke("export", "--workspace", ws.slug)
    assert stdout.stdout.splitlines()[2:] == text.splitlines()[2:]


TEMPLATE = """\
version: 1
roles:
  - {name: front-desk, permissions: [call_log:read]}
call_tags:
  - {name: new-patient, color: "#1f8a70"}
  - {name: spam, color: "#6b7280"}
notifications:
  billing: {in_app: false, email: false}
"""


def test_export_all_with_extends_writes_only_differences(env, sandbox, tmp_path):
    agency = sandbox.new_agency()
    env.setenv("WSCFG_TOKEN", agency.key)
    clinics = tmp_path / "clinics"
    clinics.mkdir()
    (clinics / "base.yaml").write_text(TEMPLATE)
    slugs = [f"{agency.name}-{n}" for n in ("north", "lakeside")]
    for i, slug in enumerate(slugs):
        sandbox.create_workspace(slug, agency=agency.name)
        extra = f"call_tags:\n  - {{name: local-{i}}}\n" if i == 0 else ""
        (clinics / f"{slug}.yaml").write_text(
            f"version: 1\nextends: base.yaml\nworkspace: {{slug: {slug}}}\n{extra}"
        )
    assert invoke("apply", "--auto-approve", str(clinics)).exit_code == 0
    out = tmp_path / "out"
    result = invoke("export", "--all", "-o", str(out), "--extends", str(clinics / "base.yaml"))
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{s}.yaml" for s in slugs)
    north = (out / f"{slugs[0]}.yaml").read_text()
    assert "extends: ../clinics/base.yaml" in north
    assert "new-patient" not in north  # inherited from the template, not repeated
    assert "local-0" in north  # what the clinic adds
    # the template is outside the export folder: name its folder as a config root
    files = (str(out / f"{s}.yaml") for s in slugs)
    plan = invoke("plan", "--detailed-exitcode", "--config-root", str(clinics), *files)
    assert plan.exit_code == 0, plan.output


def test_export_extends_warns_about_template_variables(env, sandbox, tmp_path):
    agency = sandbox.new_agency()
    env.setenv("WSCFG_TOKEN", agency.key)
    slug = f"{agency.name}-north"
    sandbox.create_workspace(slug, agency=agency.name, owner="ops@smilegroup.example")
    base = tmp_path / "base.yaml"
    shutil.copy(EXAMPLES / "agency" / "base.yaml", base)
    result = invoke(
        "export", "--workspace", slug, "-o", str(tmp_path / "n.yaml"), "--extends", str(base)
    )
    assert result.exit_code == 0
    assert "Warning: " in result.stderr
    assert "variable 'manager' is not defined" in result.stderr


def test_clone_copies_settings_but_not_people(env, sandbox, tmp_path):
    agency = sandbox.new_agency()
    env.setenv("WSCFG_TOKEN", agency.key)
    src, a, b = (f"{agency.name}-{n}" for n in ("src", "a", "b"))
    for slug in (src, a, b):
        sandbox.create_workspace(slug, agency=agency.name)
    headers = {"Authorization": f"Bearer {agency.key}"}
    base = f"{sandbox.url}/v1/workspaces"
    httpx.post(
        f"{base}/{src}/call-tags", json={"name": "vip", "color": "#abcdef"}, headers=headers
    ).raise_for_status()
    httpx.post(
        f"{base}/{src}/members", json={"email": "x@src.example", "role": "member"}, headers=headers
    ).raise_for_status()
    refused = invoke("clone", "--from", src, "--to", f"{a},{b}")
    assert refused.exit_code == 1
    assert "refusing to apply without confirmation" in refused.stderr
    done = invoke("clone", "--from", src, "--to", f"{a},{b}", "--auto-approve")
    assert done.exit_code == 0, done.output
    for slug in (a, b):
        snap = httpx.get(f"{base}/{slug}/settings", headers=headers).json()
        assert [(t["name"], t["color"]) for t in snap["call_tags"]] == [("vip", "#abcdef")]
        assert [m["email"] for m in snap["members"]] == [f"owner@{slug}.example"]
        assert snap["workspace"]["name"] == slug


def test_export_needs_a_workspace_or_all(env, sandbox):
    env.setenv("WSCFG_TOKEN", sandbox.new_workspace().key)
    result = invoke("export")
    assert result.exit_code == 1
    assert "Error: give either --workspace SLUG or --all" in result.stderr


def test_export_to_a_folder_that_does_not_exist_is_a_clear_error(env, sandbox, workspace, tmp_path):
    env.setenv("WSCFG_TOKEN", workspace.key)
    out = tmp_path / "no-such-folder" / "x.yaml"
    result = invoke("export", "--workspace", workspace.slug, "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.endswith(f"Error: cannot write {out}: No such file or directory\n")


def agency_with(sandbox, env, *names: str):
    """A new agency (wscfg runs with its key) and one sub-account per name: (slugs, headers)."""
    agency = sandbox.new_agency()
    env.setenv("WSCFG_TOKEN", agency.key)
    slugs = [f"{agency.name}-{n}" for n in names]
    for slug in slugs:
        sandbox.create_workspace(slug, agency=agency.name)
    return slugs, {"Authorization": f"Bearer {agency.key}"}


def add_vip_tag(sandbox, slug: str, headers: dict[str, str]) -> None:
    httpx.post(
        f"{sandbox.url}/v1/workspaces/{slug}/call-tags",
        json={"name": "vip", "color": "#abcdef"},
        headers=headers,
    ).raise_for_status()


def test_export_writes_the_identity_first_then_the_config_order(env, sandbox, tmp_path):
    """An exported item reads like a hand-written one: `- name: x` then the other fields in
    the order docs/config.md uses (the model's), not alphabetically (`color` before `name`)."""
    from ruamel.yaml import YAML

    from wscfg.model.kinds import KINDS

    ws = sandbox.new_workspace(owner="dr.patel@acme-dental.example")
    env.setenv("WSCFG_TOKEN", ws.key)
    assert invoke("apply", "--auto-approve", str(example_for(ws.slug, tmp_path))).exit_code == 0
    text = invoke("export", "--workspace", ws.slug).stdout
    assert "call_tags:\n  - name: emergency\n    color: '#d64545'\n" in text
    assert f"workspace:\n  slug: {ws.slug}\n  name: " in text
    doc = YAML(typ="safe").load(text)
    checked = 0
    for kind in KINDS:
        order = list(kind.model.model_fields)
        entries = doc.get(kind.name)
        items = [entries] if kind.singleton else (entries or [])
        for item in items:
            if not isinstance(item, dict):
                continue
            keys = list(item)
            if kind.identity:
                assert keys[0] == kind.identity, (kind.name, keys)
            rest = [k for k in keys if k != kind.identity]
            assert rest == sorted(rest, key=order.index), (kind.name, keys)
            checked += 1
    assert checked > 10


def test_clone_onto_itself_is_refused(env, sandbox):
    (src, other), _ = agency_with(sandbox, env, "src", "b")
    result = invoke("clone", "--from", src, "--to", f"{other},{src}", "--auto-approve")
    assert result.exit_code == 1
    refused = f"Error: --to names {src}, the workspace --from copies: it cannot be cloned onto"
    assert refused + " itself" in result.stderr
    twice = invoke("clone", "--from", src, "--to", f"{other},{other}", "--auto-approve")
    assert twice.exit_code == 1
    assert f"Error: --to names {other} twice" in twice.stderr


def test_clone_says_which_targets_keep_a_secret_and_which_have_none(env, sandbox):
    (src, keeps, bare), headers = agency_with(sandbox, env, "src", "keeps", "bare")
    hook = {
        "name": "crm",
        "url": "https://hooks.example.com/crm",
        "events": ["call.completed"],
        "secret": "source-secret-never-shown",
    }
    for slug in (src, keeps):
        httpx.post(
            f"{sandbox.url}/v1/workspaces/{slug}/webhooks", json=hook, headers=headers
        ).raise_for_status()
    result = invoke("clone", "--from", src, "--to", f"{keeps},{bare}", "--auto-approve")
    assert result.exit_code == 0, result.output
    head = "Warning: the secret of webhook crm cannot be copied (it is write-only); "
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        head + f"{keeps} keeps its own secret: set it there if it differs",
        head + f"{bare} gets the webhook without a secret: set one there "
        "(secret: ${env:NAME} in its config)",
    ]
    assert "source-secret-never-shown" not in result.output


def test_clone_picks_its_targets_by_glob_and_shard(env, sandbox):
    """Without --to, clone copies onto every workspace the key reaches that --target matches
    (never the source), split by --shard like plan and apply."""
    from wscfg.fleet import parse_shard, select

    slugs, headers = agency_with(sandbox, env, "src", "other", *(f"clinic-{i}" for i in range(6)))
    src, other, clinics = slugs[0], slugs[1], slugs[2:]
    base = f"{sandbox.url}/v1/workspaces"
    add_vip_tag(sandbox, src, headers)
    pattern = src.removesuffix("-src") + "-clinic-*"
    done = invoke("clone", "--from", src, "--target", pattern, "--shard", "1/2", "--auto-approve")
    assert done.exit_code == 0, done.output
    chosen = set(select(sorted(clinics), [pattern], parse_shard("1/2")))
    assert chosen and chosen != set(clinics)
    for slug in (other, *clinics):
        tags = httpx.get(f"{base}/{slug}/call-tags", headers=headers).json()["items"]
        assert [t["name"] for t in tags] == (["vip"] if slug in chosen else []), slug
    none = invoke("clone", "--from", src, "--target", "nothing-*", "--auto-approve")
    assert none.exit_code == 1
    assert none.stderr.splitlines()[-1].startswith(
        "Error: no workspace to copy onto: --target/--shard matched none of "
    )
    neither = invoke("clone", "--from", src)
    assert neither.exit_code == 1
    assert neither.stderr.endswith(
        "\nError: name the workspaces to copy onto: --to SLUG (repeatable) or --target GLOB\n"
    )


def test_clone_to_is_repeatable(env, sandbox):
    (src, a, b), headers = agency_with(sandbox, env, "src", "a", "b")
    add_vip_tag(sandbox, src, headers)
    done = invoke("clone", "--from", src, "--to", a, "--to", b, "--auto-approve")
    assert done.exit_code == 0, done.output
    for slug in (a, b):
        tags = httpx.get(f"{sandbox.url}/v1/workspaces/{slug}/call-tags", headers=headers).json()
        assert [t["name"] for t in tags["items"]] == ["vip"]
