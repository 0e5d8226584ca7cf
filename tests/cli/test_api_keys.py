"""API keys through the CLI against a real sandbox: every refusal with its exact message and
exit code, and secret hygiene end to end (a new key's secret is written to --new-secrets-to
FILE, mode 0600, and nowhere else: not in any output format, plan file or the audit log)."""

from __future__ import annotations

import json
import logging
import stat

import httpx
import pytest

from .runner import invoke


@pytest.fixture
def setup(served_workspace):
    return served_workspace


def config(ws, keys: str) -> str:
    return f"version: 1\nworkspace: {{slug: {ws.slug}}}\napi_keys:\n{keys}"


CRM = "  - {name: crm, mode: live, scopes: [contacts:read, calls:read], description: CRM}\n"
REFUSAL = (
    "1 API key would get a new secret (crm), shown once: give --new-secrets-to FILE to write "
    "it to a file (mode 0600)"
)


def test_a_new_key_needs_new_secrets_to_in_every_format(setup):
    ws, path = setup
    path.write_text(config(ws, CRM))
    text = invoke("plan", str(path))
    assert text.exit_code == 1
    assert f"  ✗ {ws.slug}: {REFUSAL}" in text.stdout.splitlines()
    assert text.stderr == "Error: apply would refuse this plan (1 refusal, listed above)\n"
    md = invoke("plan", "--format", "markdown", str(path))
    assert md.exit_code == 1
    assert f"- `{ws.slug}`: {REFUSAL} (`new_secret_file`)" in md.stdout
    js = invoke("plan", "--format", "json", str(path))
    assert js.exit_code == 1
    (refusal,) = json.loads(js.stdout)["refusals"]
    assert refusal == {
        "code": "new_secret_file",
        "targets": [ws.slug],
        "message": REFUSAL,
        "allowed_by": "--new-secrets-to",
    }
    saved = invoke("plan", "-o", "plan.json", str(path))
    assert saved.exit_code == 1
    assert "plan.json was not saved" in saved.stderr
    applied = invoke("apply", "--auto-approve", str(path))
    assert applied.exit_code == 1
    assert applied.stderr == f"Error: the plan is unsafe:\n  - {ws.slug}: {REFUSAL}\n"
    assert httpx.get(f"{ws.url}/settings", headers=ws.headers).json()["api_keys"] == []


def test_an_existing_secrets_file_needs_force(setup):
    ws, path = setup
    path.write_text(config(ws, CRM))
    kept = path.parent / "secrets.env"
    kept.write_text("other=value\n")
    message = (
        "Error: --new-secrets-to secrets.env: the file exists; pass --force to overwrite it "
        "(nothing was written)\n"
    )
    for args in (["plan"], ["apply", "--auto-approve"]):
        result = invoke(*args, str(path), "--new-secrets-to", "secrets.env")
        assert result.exit_code == 1
        assert result.stderr.endswith(message), result.stderr
    assert kept.read_text() == "other=value\n"
    assert httpx.get(f"{ws.url}/settings", headers=ws.headers).json()["api_keys"] == []
    done = invoke(
        "apply", "--auto-approve", str(path), "--new-secrets-to", "secrets.env", "--force"
    )
    assert done.exit_code == 0, done.output
    assert "Wrote 1 API key secret(s) to secrets.env (mode 0600)." in done.stderr
    lines = kept.read_text().splitlines()
    assert lines[0] == "other=value" and lines[1].startswith("crm=wscfg_")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_the_key_wscfg_runs_with_is_never_revoked_or_rotated(setup, monkeypatch):
    ws, path = setup
    deploy = "  - {name: deploy, mode: live, scopes: [settings:read, settings:write]}\n"
    path.write_text(config(ws, deploy))
    assert invoke("apply", "--auto-approve", str(path), "--new-secrets-to", "s.env").exit_code == 0
    secret = (path.parent / "s.env").read_text().strip().split("=", 1)[1]
    monkeypatch.setenv("WSCFG_TOKEN", secret)  # wscfg now runs with the managed key

    path.write_text(config(ws, deploy.replace("]}", "], rotation: 1}")))
    rotate = invoke("plan", str(path), "--new-secrets-to", "s2.env")
    assert rotate.exit_code == 1
    # (the first apply was made with another key, which this run does not count as its own:
    # docs/drift.md, "Which writes are wscfg's"; the line also says whose write it reverts)
    assert any(
        line.startswith(
            "      rotation: 0 → 1   (re-issues the key: a new secret, the old key revoked)"
        )
        for line in rotate.stdout.splitlines()
    )
    assert (
        f"  ✗ {ws.slug}: API key 'deploy' is the key wscfg runs with; a plan never rotates it "
        "(run with another key to rotate it)"
    ) in rotate.stdout.splitlines()

    path.write_text(config(ws, CRM))
    revoke = invoke("apply", "--auto-approve", str(path), "--new-secrets-to", "s3.env")
    assert revoke.exit_code == 1
    assert revoke.stderr == (
        f"Error: the plan is unsafe:\n  - {ws.slug}: API key 'deploy' is the key wscfg runs "
        "with; a plan never revokes it (keep it declared, or run with another key to revoke it)\n"
    )
    assert not (path.parent / "s3.env").exists()
    names = httpx.get(f"{ws.url}/settings", headers=ws.headers).json()["api_keys"]
    assert [k["name"] for k in names] == ["deploy"]


def test_a_saved_plan_applied_with_the_key_it_revokes_is_refused(setup, monkeypatch):
    ws, path = setup
    deploy = "  - {name: deploy, mode: live, scopes: [settings:read, settings:write]}\n"
    path.write_text(config(ws, deploy))
    assert invoke("apply", "--auto-approve", str(path), "--new-secrets-to", "s.env").exit_code == 0
    path.write_text(config(ws, "").replace("api_keys:\n", "api_keys: []\n"))
    monkeypatch.setenv("WSCFG_PLAN_KEY", "one-plan-key-for-both-jobs")  # docs/ci.md: two keys
    made = invoke("plan", "-o", "plan.json", str(path))  # made with the workspace's own key
    assert made.exit_code == 0, made.output
    secret = (path.parent / "s.env").read_text().strip().split("=", 1)[1]
    monkeypatch.setenv("WSCFG_TOKEN", secret)
    refused = invoke("apply", "--auto-approve", "plan.json")
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: the plan is unsafe:\n  - {ws.slug}: API key 'deploy' is the key wscfg runs "
        "with; a plan never revokes it (keep it declared, or run with another key to revoke it)\n"
    )
    assert httpx.get(ws.url, headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def crowd(ws, path, sandbox) -> None:
    """8 keys wscfg does not manage (7 and the workspace's own), and a config declaring 3 new
    ones (k0, k1, k2): 11 at once, one over the limit."""
    for i in range(7):
        sandbox.issue_key(workspace=ws.slug, name=f"other {i}")
    keys = "".join(f"  - {{name: k{i}, mode: test, scopes: [calls:read]}}\n" for i in range(3))
    path.write_text(config(ws, keys))


def test_more_than_ten_active_keys_are_refused(setup, sandbox):
    ws, path = setup
    crowd(ws, path, sandbox)
    result = invoke("plan", str(path), "--new-secrets-to", "s.env")
    assert result.exit_code == 1
    assert (
        f"  ✗ {ws.slug}: the plan needs 11 active API keys at once (8 active, 8 of them not "
        "managed by wscfg, 3 new before 0 revoked); a workspace can have at most 10"
    ) in result.stdout.splitlines()
    assert not (path.parent / "s.env").exists()


def test_declaring_more_than_ten_is_a_validate_error(tmp_path):
    keys = "".join(f"  - {{name: k{i}, mode: live, scopes: [calls:read]}}\n" for i in range(11))
    path = tmp_path / "many.yaml"
    path.write_text(f"version: 1\nworkspace: {{slug: acme}}\napi_keys:\n{keys}")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:4:3: api_keys: a workspace can have at most 10 active API keys; 11 are declared"
    )


def test_a_saved_plan_needs_new_secrets_to_again_at_apply(setup):
    ws, path = setup
    path.write_text(config(ws, CRM))
    made = invoke("plan", "-o", "plan.json", str(path), "--new-secrets-to", "s.env")
    assert made.exit_code == 0, made.output
    assert not (path.parent / "s.env").exists()  # plan writes no secrets file
    refused = invoke("apply", "--auto-approve", "plan.json")
    assert refused.exit_code == 1
    assert refused.stderr == f"Error: the plan is unsafe:\n  - {ws.slug}: {REFUSAL}\n"
    done = invoke("apply", "--auto-approve", "plan.json", "--new-secrets-to", "s.env")
    assert done.exit_code == 0, done.output
    assert (path.parent / "s.env").read_text().startswith("crm=wscfg_")


def test_secret_hygiene_end_to_end(setup, caplog):
    """Create, plan files, every output format, rotate, export, the log records (DEBUG, every
    logger, httpx and httpcore included), the audit log: each secret is in the secrets file
    (mode 0600) and nowhere else."""
    caplog.set_level(logging.DEBUG)
    ws, path = setup
    folder = path.parent
    path.write_text(config(ws, CRM))
    seen: list[str] = []

    def run(*args: str) -> None:
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        seen.append(result.stdout + result.stderr)

    for fmt in ("text", "json", "markdown"):
        run("plan", "--format", fmt, str(path), "--new-secrets-to", "new.env")
    run("plan", "-o", "create.json", str(path), "--new-secrets-to", "new.env")
    run("apply", "--auto-approve", "create.json", "--new-secrets-to", "new.env")
    secrets_file = folder / "new.env"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    first = secrets_file.read_text()
    assert first.startswith("crm=wscfg_") and first.count("\n") == 1
    created = first.strip().split("=", 1)[1]

    path.write_text(config(ws, CRM.replace("CRM}", "CRM, rotation: 1}")))
    for fmt in ("text", "json", "markdown"):
        run("plan", "--format", fmt, str(path), "--new-secrets-to", "new.env", "--force")
    run("plan", "-o", "rotate.json", str(path), "--new-secrets-to", "new.env", "--force")
    run("show", "rotate.json")
    run("apply", "--auto-approve", str(path), "--new-secrets-to", "new.env", "--force")
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    rotated = secrets_file.read_text().strip().split("=", 1)[1]
    assert rotated != created and secrets_file.read_text() == f"crm={rotated}\n"
    # the old key is revoked, the new one works
    assert httpx.get(ws.url, headers={"Authorization": f"Bearer {created}"}).status_code == 401
    # (authenticated: 403, the key has no settings:read scope)
    assert httpx.get(ws.url, headers={"Authorization": f"Bearer {rotated}"}).status_code == 403

    for fmt in ("text", "json", "markdown"):
        run("plan", "--format", fmt, "--detailed-exitcode", str(path))
    run("export", "--workspace", ws.slug, "-o", "exported.yaml")
    seen.append((folder / "exported.yaml").read_text())
    seen += [(folder / f).read_text() for f in ("create.json", "rotate.json")]
    audit = httpx.get(f"{ws.url}/audit", headers=ws.headers, params={"limit": 5000})
    seen.append(audit.text)
    assert '"kind": "api_keys"' in audit.text
    assert "wscfg.api" in {r.name for r in caplog.records}  # the client did log, at DEBUG
    seen.append(caplog.text)
    everything = "\n".join(seen)
    for secret in (created, rotated):
        assert secret not in everything
    others = [p for p in folder.iterdir() if p.is_file() and p.name != "new.env"]
    for other in others:
        assert created not in other.read_text() and rotated not in other.read_text()


def test_the_example_shows_a_valid_api_keys_block(tmp_path):
    """examples/workspace.yaml keeps api_keys commented out (a create needs --new-secrets-to,
    and the README's main job runs with no options); uncommented, the block is valid."""
    from pathlib import Path

    lines = (Path(__file__).parents[2] / "examples" / "workspace.yaml").read_text().splitlines()
    start = lines.index("# api_keys:")
    block = [line.removeprefix("# ") for line in lines[start:]]
    path = tmp_path / "keys.yaml"
    path.write_text("version: 1\nworkspace: {slug: acme}\n" + "\n".join(block) + "\n")
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.output


def test_a_fleet_writes_one_file_with_slug_prefixed_lines(sandbox, monkeypatch, tmp_path):
    from wscfg.sandbox.testing import unique

    agency = sandbox.new_agency()
    slugs = sorted(unique("fleet") for _ in range(2))
    for slug in slugs:
        sandbox.create_workspace(slug, agency=agency.name)
        (tmp_path / f"{slug}.yaml").write_text(
            f"version: 1\nworkspace: {{slug: {slug}}}\napi_keys:\n{CRM}"
        )
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.chdir(tmp_path)
    done = invoke("apply", "--auto-approve", str(tmp_path), "--new-secrets-to", "fleet.env")
    assert done.exit_code == 0, done.output
    assert "Wrote 2 API key secret(s) to fleet.env (mode 0600)." in done.stderr
    lines = (tmp_path / "fleet.env").read_text().splitlines()
    assert sorted(line.split("=", 1)[0] for line in lines) == [f"{s}/crm" for s in slugs]
    assert all(line.split("=", 1)[1].startswith("wscfg_") for line in lines)
    assert stat.S_IMODE((tmp_path / "fleet.env").stat().st_mode) == 0o600


def test_clone_copies_no_api_keys(sandbox, monkeypatch, tmp_path):
    from wscfg.sandbox.testing import unique

    agency = sandbox.new_agency()
    source, target = unique("src"), unique("dst")
    for slug in (source, target):
        sandbox.create_workspace(slug, agency=agency.name)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src.yaml").write_text(
        f"version: 1\nworkspace: {{slug: {source}}}\napi_keys:\n{CRM}"
    )
    made = invoke("apply", "--auto-approve", "src.yaml", "--new-secrets-to", "s.env")
    assert made.exit_code == 0, made.output
    done = invoke("clone", "--from", source, "--to", target, "--auto-approve")
    assert done.exit_code == 0, done.output
    assert "API key" not in done.stdout
    url = f"{sandbox.url}/v1/workspaces/{target}/settings"
    headers = {"Authorization": f"Bearer {agency.key}"}
    assert httpx.get(url, headers=headers).json()["api_keys"] == []


def test_only_leaves_out_the_key_checks_of_changes_it_does_not_select(setup, monkeypatch):
    """--only call_tags applies no API key change: the key wscfg runs with, revoked by the
    full plan, is no reason to refuse the partial one."""
    ws, path = setup
    deploy = "  - {name: deploy, mode: live, scopes: [settings:read, settings:write]}\n"
    path.write_text(config(ws, deploy))
    assert invoke("apply", "--auto-approve", str(path), "--new-secrets-to", "s.env").exit_code == 0
    secret = (path.parent / "s.env").read_text().strip().split("=", 1)[1]
    monkeypatch.setenv("WSCFG_TOKEN", secret)
    path.write_text(
        config(ws, "").replace("api_keys:\n", "api_keys: []\ncall_tags: [{name: spam}]\n")
    )
    for args in (["plan"], ["apply", "--auto-approve"]):
        result = invoke(*args, str(path), "--only", "call_tags")
        assert result.exit_code == 0, result.output
        assert "is the key wscfg runs with" not in result.output
    live = httpx.get(f"{ws.url}/settings", headers=ws.headers).json()
    assert [t["name"] for t in live["call_tags"]] == ["spam"]
    assert [k["name"] for k in live["api_keys"]] == ["deploy"]


def test_only_counts_the_new_keys_it_selects_against_the_limit(setup, sandbox):
    ws, path = setup
    crowd(ws, path, sandbox)
    result = invoke("plan", str(path), "--only", "api_keys:k0", "--new-secrets-to", "s.env")
    assert result.exit_code == 0, result.output
    assert "active API keys" not in result.output


def test_the_secrets_file_is_written_through_no_planted_temporary_file(setup):
    """A link planted where the temporary file would go does not carry the secret elsewhere:
    the secret lands in FILE, a regular file of mode 0600, and the link's target is unchanged."""
    import os

    ws, path = setup
    path.write_text(config(ws, CRM))
    elsewhere = path.parent / "elsewhere.txt"
    elsewhere.write_text("untouched\n")
    elsewhere.chmod(0o644)
    (path.parent / f".s.env.{os.getpid()}.tmp").symlink_to(elsewhere)
    done = invoke("apply", "--auto-approve", str(path), "--new-secrets-to", "s.env")
    assert done.exit_code == 0, done.output
    kept = path.parent / "s.env"
    assert not kept.is_symlink()
    assert kept.read_text().startswith("crm=wscfg_")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert elsewhere.read_text() == "untouched\n"
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o644


def test_a_dangling_link_at_the_secrets_file_needs_force(setup):
    """FILE as a link to a file not there yet is an existing FILE: not replaced without --force."""
    ws, path = setup
    path.write_text(config(ws, CRM))
    link = path.parent / "s.env"
    link.symlink_to(path.parent / "not-yet.env")
    result = invoke("apply", "--auto-approve", str(path), "--new-secrets-to", "s.env")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --new-secrets-to s.env: the file exists; pass --force to overwrite it "
        "(nothing was written)\n"
    )
    assert link.is_symlink()
    assert httpx.get(f"{ws.url}/settings", headers=ws.headers).json()["api_keys"] == []


def test_a_secrets_file_that_cannot_be_written_is_refused_before_any_key_is_issued(setup):
    """Where FILE cannot be written (procfs takes no new file, even from root), apply stops
    before the key is created: a secret issued and then lost would be a key nobody holds."""
    ws, path = setup
    path.write_text(config(ws, CRM))
    result = invoke("apply", "--auto-approve", str(path), "--new-secrets-to", "/proc/wscfg.env")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --new-secrets-to /proc/wscfg.env: cannot write a file in /proc (No such file "
        "or directory); nothing was written\n"
    )
    assert httpx.get(f"{ws.url}/settings", headers=ws.headers).json()["api_keys"] == []


def test_a_fleet_with_a_target_skipped_still_prefixes_its_lines(sandbox, monkeypatch, tmp_path):
    """The lines are SLUG/NAME=value whenever the run has several target workspaces, even
    when --skip-unsafe leaves all but one out: which ones apply does not change the format."""
    from wscfg.sandbox.testing import unique

    agency = sandbox.new_agency()
    good, refused = unique("good"), unique("refused")
    for slug in (good, refused):
        sandbox.create_workspace(slug, agency=agency.name)
    (tmp_path / "good.yaml").write_text(
        f"version: 1\nworkspace: {{slug: {good}}}\napi_keys:\n{CRM}"
    )
    (tmp_path / "refused.yaml").write_text(
        f"version: 1\nworkspace: {{slug: {refused}}}\nintegrations: {{required: [hubspot]}}\n"
        f"api_keys:\n{CRM}"
    )
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.chdir(tmp_path)
    done = invoke(
        "apply", "--auto-approve", "--skip-unsafe", str(tmp_path), "--new-secrets-to", "fleet.env"
    )
    assert done.exit_code == 3, done.output
    lines = (tmp_path / "fleet.env").read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [f"{good}/crm"]
