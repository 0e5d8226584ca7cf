"""Library errors name options of the API, never CLI flags; the CLI words each option with its
flag (errors.Worded, cli.FLAGS), so what it prints is unchanged (docs/architecture.md;
tests/cli/test_embedded.py holds the printed text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wscfg.cli import FLAGS
from wscfg.connection import check_embedded_allowed
from wscfg.engine.apply import apply_plan
from wscfg.engine.plan import make_plan
from wscfg.errors import PlanError, SetupError, UnsafePlanError, Worded, WscfgError
from wscfg.sandbox import admin

from .helpers import desired, live


def test_a_worded_message_names_options_in_the_words_asked_for() -> None:
    w = Worded("pass {allow} if intended; `manage: {members: additive}` stays", {"allow": "x=1"})
    assert str(w) == "pass x=1 if intended; `manage: {members: additive}` stays"
    assert w.worded({"allow": "--allow"}) == (
        "pass --allow if intended; `manage: {members: additive}` stays"
    )
    assert w.worded({"other": "--other"}) == str(w)
    error = WscfgError(w)
    assert (error.message, error.options) == (str(w), ("allow",))
    assert error.worded({"allow": "--allow"}) == w.worded({"allow": "--allow"})
    plain = WscfgError("pass --allow if intended")
    assert (plain.options, plain.worded({"allow": "-a"})) == ((), "pass --allow if intended")


def test_the_cli_has_a_flag_for_every_option_a_library_error_names() -> None:
    named = {"server", "embedded", "new_secrets", "as_user"}
    assert named <= FLAGS.keys()
    assert all(flag.startswith("--") for flag in FLAGS.values())


def test_the_embedded_refusal_names_connect_options() -> None:
    with pytest.raises(SetupError) as info:
        check_embedded_allowed({"WSCFG_TOKEN": "wscfg_x"})
    assert info.value.message == (
        "WSCFG_TOKEN is set but no server is: pass server=URL or set WSCFG_SERVER to the "
        "platform this key belongs to (pass embedded=True to use the local sandbox anyway)"
    )
    assert info.value.options == ("server", "embedded")
    with pytest.raises(SetupError) as info:
        check_embedded_allowed({"GITHUB_ACTIONS": "true"})
    assert "--" not in info.value.message
    assert info.value.worded(FLAGS) == (
        "no server is configured and this looks like a CI job (GITHUB_ACTIONS is set): pass "
        "--server URL or set WSCFG_SERVER (pass --embedded to use a throw-away local sandbox "
        "in CI)"
    )


def test_apply_with_nowhere_for_new_secrets_names_on_secret() -> None:
    keys = [{"name": "crm", "mode": "live", "scopes": ["calls:read"]}]
    plan = make_plan(desired({"workspace": {"slug": "acme"}, "api_keys": keys}), live({}))
    import asyncio

    # refused before any write: the writer is never reached
    with pytest.raises(PlanError) as info:
        asyncio.run(apply_plan(plan, None, lambda *a: ""))  # type: ignore[arg-type]
    assert info.value.message == (
        "acme: API keys would get a new secret and there is nowhere to write it (on_secret); "
        "nothing was written"
    )
    assert info.value.worded(FLAGS) == (
        "acme: API keys would get a new secret and there is nowhere to write it "
        "(--new-secrets-to FILE); nothing was written"
    )


def test_an_agency_key_written_as_a_member_names_as_user(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    admin.create_agency(db, "Acme Agency")
    request = admin.KeyRequest(agency="Acme Agency", as_user="jane@acme.example")
    with pytest.raises(WscfgError) as info:
        admin.new_key(db, request)
    assert info.value.message == "as_user issues a key of one workspace, not of an agency"
    assert info.value.worded(FLAGS) == "--as-user issues a key of one workspace, not of an agency"


def test_an_unsafe_plan_says_which_allowance_would_allow_it() -> None:
    tags = [{"name": f"t{i}"} for i in range(10)]
    mass = make_plan(
        desired({"workspace": {"slug": "a"}, "call_tags": tags[:6]}),
        live({"call_tags": tags}, slug="a"),
    )
    with pytest.raises(UnsafePlanError) as info:
        mass.raise_if_unsafe()
    assert info.value.allowances == ("mass_changes",)
    assert [r.allowance for r in mass.refusals()] == ["mass_changes"]
    mass.raise_if_unsafe(allow_mass_changes=True)
