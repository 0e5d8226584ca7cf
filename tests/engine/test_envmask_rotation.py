"""#21 item 7, the engine's part: fields set from ``${env:…}`` are masked on both sides of a
diff (EnvMask.plans), the live values found there everywhere else, a rotated identity's
delete too; a plan document stays reversible; messages keep their words.

Configs are loaded for real (``wscfg.load`` with the environment set), so the positions come
from interpolation as in a run; live states are snapshots as the server sends them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wscfg
from wscfg.engine.changes import Origin
from wscfg.engine.envmask import (
    LIVE_RE,
    EnvMask,
    env_positions,
    resolve_live,
    unmask,
)
from wscfg.engine.envrefs import env_references
from wscfg.engine.plan import Plan, make_plan, plans_to_document
from wscfg.engine.state import DesiredState

from .helpers import live

KEY = b"plan-key"
LIVE = re.compile(r"\(live value hidden: set from \$\{env:[A-Z_]+\}, sha256:[0-9a-f]{16}\)")


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, **env: str) -> DesiredState:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    f = tmp_path / "ws.yaml"
    head = "" if body.startswith("workspace:") else "workspace: {slug: acme}\n"
    f.write_text("version: 1\n" + head + body)
    [state] = wscfg.load([str(f)])
    return state


def mask_for(state: DesiredState) -> EnvMask:
    assert state.target_config is not None
    return EnvMask(state.target_config.env_values, KEY, {"acme": env_positions(state)})


def test_partial_interpolation_in_a_url_is_masked_on_both_sides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = load(
        tmp_path,
        monkeypatch,
        "webhooks:\n  - {name: crm, url: 'https://h.example.com/${env:P}/x'}\n",
        P="NewPathVal8Zz3",
    )
    old = {"webhooks": [{"name": "crm", "url": "https://h.example.com/PathSecretVal7Qk2/x"}]}
    plan = make_plan(state, live(old))
    mask = mask_for(state)
    [shown] = mask.plans([plan])
    [change] = shown.changes
    assert change.fields[0].before == mask.live_marker(["P"], old["webhooks"][0]["url"])
    assert change.fields[0].after == f"https://h.example.com/{mask.marker('P')}/x"
    assert change.before is not None and LIVE.fullmatch(change.before["url"])
    # the real plan is untouched: apply writes from it
    assert plan.changes[0].fields[0].before == "https://h.example.com/PathSecretVal7Qk2/x"
    # the old value (the variable's part of the live URL) is masked in any other text too
    said = mask.text("server: path pathsecretval7qk2 is unknown; see PathSecretVal7Qk2")
    assert "pathsecretval7qk2" not in said.lower()
    assert said.startswith("server: path (live value hidden: set from ${env:P}, sha256:")


def test_a_whole_value_field_hides_any_live_value_however_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live side is masked whatever it holds: a 2-character value, or a platform default
    (the live name), which is masked where it stands but not learnt as a secret."""
    state = load(
        tmp_path,
        monkeypatch,
        "call_tags:\n  - {name: vip, description: '${env:D}'}\n",
        D="Newer-Descr-1",
    )
    plan = make_plan(state, live({"call_tags": [{"name": "vip", "description": "ab"}]}))
    mask = mask_for(state)
    [change] = mask.plans([plan])[0].changes
    [field] = change.fields
    assert (field.path, field.before) == ("description", mask.live_marker(["D"], "ab"))
    assert field.after == mask.marker("D")
    assert mask.text("a table") == "a table"  # "ab" is too short to hide inside text


def test_a_value_that_is_a_substring_of_another_field_is_masked_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = load(
        tmp_path,
        monkeypatch,
        "workspace: {slug: acme, business_profile: {company: '${env:CO}'}}\n"
        "call_tags:\n  - {name: vip, description: 'see oldcorp-77 files'}\n",
        CO="NewCorp-88",
    )
    live_state = live(
        {
            "workspace": {"slug": "acme", "business_profile": {"company": "OldCorp-77"}},
            "call_tags": [{"name": "vip", "description": "x"}],
        }
    )
    plan = make_plan(state, live_state)
    mask = mask_for(state)
    shown = mask.plans([plan])[0]
    text = json.dumps([c.to_dict() for c in shown.changes])
    assert "newcorp-88" not in mask.text(text).lower()
    assert "oldcorp-77" not in mask.text(text).lower()
    # a plan document keeps what apply writes reversible: the desired description holds the
    # old value literally (the config wrote it), so it is not masked there
    doc = plans_to_document([plan], server="s", mask=mask.document)
    tag = next(c for c in doc["targets"][0]["changes"] if c["kind"] == "call_tags")
    assert tag["after"]["description"] == "see oldcorp-77 files"
    ws = next(c for c in doc["targets"][0]["changes"] if c["kind"] == "workspace")
    assert LIVE.fullmatch(ws["before"]["business_profile"]["company"])
    assert unmask(doc, {"CO": "NewCorp-88"}, KEY, {})["targets"][0]["changes"][0]["after"][
        "business_profile"
    ] == {"company": "NewCorp-88"}


@pytest.mark.parametrize(
    ("body", "env", "old_key", "kind"),
    [
        (
            "members:\n  - {email: 'owner@acme.example', role: owner}\n"
            "  - {email: '${env:MGR}@clinic.example', role: admin}\n",
            {"MGR": "Ops.Leader88"},
            "mgr.person77@clinic.example",
            "members",
        ),
        (
            "blocked_callers:\n  - '+1 (555) ${env:P}'\n",
            {"P": "0100277"},
            "+15550100199",
            "blocked_callers",
        ),
    ],
)
def test_a_rotated_identity_is_masked_in_its_delete_and_put_back_from_the_live_workspace(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    env: dict[str, str],
    old_key: str,
    kind: str,
) -> None:
    state = load(tmp_path, monkeypatch, body, **env)
    items: dict[str, Any] = {
        "members": [
            {"email": "owner@acme.example", "role": "owner", "status": "active"},
            {"email": old_key, "role": "admin", "status": "active"},
        ],
        "blocked_callers": [{"number": old_key}],
    }
    live_state = live({kind: items[kind]})
    plan = make_plan(state, live_state)
    mask = mask_for(state)
    shown = mask.plans([plan])[0]
    [delete] = [c for c in shown.changes if c.action == "delete"]
    assert delete.key == mask.live_marker(list(env), old_key)
    doc = plans_to_document([plan], server="s", mask=mask.document)
    assert old_key not in json.dumps(doc)
    # read back: the delete's key is found again by its fingerprint among the live items
    from wscfg.engine.plan import plans_from_document

    saved, _ = plans_from_document(unmask(doc, env, KEY, {}))
    found = resolve_live(saved, {"acme": live_state}, KEY)
    [back] = [c for c in saved[0].changes if c.action == "delete"]
    assert back.key == old_key and found == [(list(env), old_key)]
    assert LIVE_RE.fullmatch(delete.key)


@pytest.mark.parametrize(("origin", "learnt"), [("config", True), ("default", False)])
def test_only_a_live_value_wscfg_wrote_is_masked_beyond_its_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, origin: str, learnt: bool
) -> None:
    """A new workspace's name is its slug (the platform's default): masked in the name's diff,
    but not hidden everywhere else (the slug is in every output)."""
    state = load(
        tmp_path, monkeypatch, "workspace: {slug: acme, name: '${env:N}'}\n", N="Clinic North"
    )
    plan = make_plan(state, live({"workspace": {"slug": "acme", "name": "acme-clinic"}}))
    [change] = plan.changes
    change.fields = [dataclasses.replace(f, origin=Origin(origin)) for f in change.fields]
    mask = mask_for(state)
    [field] = mask.plans([plan])[0].changes[0].fields
    assert field.before == mask.live_marker(["N"], "acme-clinic")
    assert ("acme-clinic" not in mask.text("workspace acme-clinic")) is learnt


def test_an_identity_not_rotated_leaves_deletes_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a create of an identity set from the environment, no delete is masked."""
    state = load(
        tmp_path,
        monkeypatch,
        "members:\n  - {email: 'owner@acme.example', role: owner}\n"
        "  - {email: '${env:MGR}@clinic.example', role: admin}\n",
        MGR="ops.leader88",
    )
    members = [
        {"email": "owner@acme.example", "role": "owner", "status": "active"},
        {"email": "ops.leader88@clinic.example", "role": "admin", "status": "active"},
        {"email": "bob@clinic.example", "role": "admin", "status": "active"},
    ]
    plan = make_plan(state, live({"members": members}))
    [delete] = mask_for(state).plans([plan])[0].changes
    assert (delete.action, delete.key) == ("delete", "bob@clinic.example")


def test_a_boolean_word_is_masked_at_its_value_position_only() -> None:
    mask = EnvMask({"TFA": "true", "X": "None"}, KEY)
    said = 'enabled: true → false, "null" (none)'
    assert mask.text(said) == said
    assert mask.at("true", (("TFA", "true"),)) == mask.marker("TFA")


def test_a_mask_already_in_the_text_is_never_masked_again() -> None:
    mask = EnvMask({"V": "from", "W": "sha256"}, KEY)
    marker = mask.marker("V")
    assert mask.text(f"{marker} from") == f"{marker} {marker}"


def test_validate_keeps_the_words_of_its_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The known wart: TFA=true garbled "must be true or false" into "${env:TFA} or false"."""
    from click.testing import CliRunner

    from wscfg.cli import cli

    monkeypatch.setenv("TFA", "true")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.yaml").write_text(
        "version: 1\nworkspace: {slug: w1}\nsecurity: {require_2fa: '${env:TFA}'}\n"
    )
    result = CliRunner().invoke(cli, ["validate", "--format", "json", "w.yaml"])
    assert result.exit_code == 1
    [d] = json.loads(result.stdout)["diagnostics"]
    assert d["message"] == (
        "must be true or false, not the text '${env:TFA}': write true/false without quotes"
    )


@pytest.mark.parametrize(
    ("message", "env", "want"),
    [
        ("not 'true': write true/false", {"T": "true"}, "not '${env:T}': write true/false"),
        ("'ab' is in a table", {"A": "ab"}, "'${env:A}' is in a table"),
        ("'+1 (555) 990100277' bad", {"P": "0100277"}, "'+1 (555) 99${env:P}' bad"),
        ("host HOOKS.EXAMPLE.COM", {"H": "hooks.example.com"}, "host ${env:H}"),
        ("env:x and abcd", {"E": "env:", "F": "abcd"}, "${env:E}x and ${env:F}"),
        ("'Acme Hidden Co' is taken", {"CO": "  Acme Hidden Co  "}, "'${env:CO}' is taken"),
    ],
)
def test_the_message_rule(message: str, env: dict[str, str], want: str) -> None:
    from wscfg.config.validate import _redact
    from wscfg.errors import Diagnostic

    d = Diagnostic("f.yaml", 1, 1, "p", message, None)
    assert _redact(d, env).message == want


def test_message_words_and_mask_words_are_the_same() -> None:
    from wscfg.config.validate import MESSAGE_WORDS, SHORT_VALUE
    from wscfg.engine.envmask import MIN_MASKED, WORDS

    assert (MESSAGE_WORDS, SHORT_VALUE) == (WORDS, MIN_MASKED)


def test_export_references_a_phone_numbers_part() -> None:
    """A 7-digit suffix is too short to reference in any text, but an E.164 number ending in
    its digits gets the reference; a machine setting never does."""
    environ = {"PHONE_SUFFIX": "0100199", "P2": "(01) 00-188", "SHLVL": "0100177"}
    doc = {"b": ["+15550100199", "+15550100188", "+15550100177", "+15550100198"], "n": "0100199"}
    assert env_references(doc, environ) == {
        "b": ["+1555${env:PHONE_SUFFIX}", "+1555${env:P2}", "+15550100177", "+15550100198"],
        "n": "0100199",
    }


def test_export_references_any_spelling_of_a_value() -> None:
    environ = {"MGR": "Ops.Leader88", "PATHV": "a b/c?d-long"}
    doc = {"email": "ops.leader88@clinic.example", "url": "https://x.example/a%20b%2Fc%3Fd-long"}
    assert env_references(doc, environ) == {
        "email": "${env:MGR}@clinic.example",
        "url": "https://x.example/${env:PATHV}",
    }


# --- the property: a rotated value never shows ------------------------------------------------

word = st.from_regex(r"[A-Za-z][A-Za-z0-9]{7,13}", fullmatch=True)
FIELDS: dict[str, tuple[str, st.SearchStrategy[str]]] = {
    # kind of field -> (config with ${env:V}, values of V)
    "url path": (
        "webhooks:\n  - {name: crm, url: 'https://hooks.example.com/p/${env:V}/x'}\n",
        word,
    ),
    "url-shaped value in a url": (
        "webhooks:\n  - {name: db, url: 'https://hooks.example.com/in?from=${env:V}'}\n",
        word.map(lambda w: f"postgres://admin:{w}@db/prod"),
    ),
    "text inside longer text": (
        "workspace: {slug: acme, business_profile: {company: 'Clinic ${env:V} Ltd'}}\n",
        st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{6,12}[A-Za-z0-9]", fullmatch=True),
    ),
    "whole value": ("call_tags:\n  - {name: vip, description: '${env:V}'}\n", word),
    "workspace name": ("workspace: {slug: acme, name: '${env:V}'}\n", word),
    "member email": (
        "members:\n  - {email: 'owner@acme.example', role: owner}\n"
        "  - {email: '${env:V}@clinic.example', role: admin}\n",
        word,
    ),
    "blocked number": (
        "blocked_callers:\n  - {number: '+1 (555) ${env:V}', note: spam}\n",
        st.integers(0, 99999).map(lambda n: f"01{n:05d}"),
    ),
}


def spellings(value: str) -> set[str]:
    """Every spelling of ``value`` an output could show, lower-cased."""
    from urllib.parse import quote, quote_plus, unquote

    if value.isdigit():  # a bare digit run may occur in any hex fingerprint: its E.164 context
        return {f"555{value}", f"(555) {value}"}
    out = {value, value.casefold(), quote(value, safe=""), quote(value), quote_plus(value)}
    out |= {unquote(value), json.dumps(value)[1:-1]}
    if value.startswith("postgres://"):
        out.add(value.split(":")[2].split("@")[0])
    return {s.lower() for s in out if len(s) >= 4}


def live_of(state: DesiredState) -> Any:
    """The live workspace once ``state`` was applied (the platform keeps what the models
    normalized), as its snapshot."""
    doc: dict[str, Any] = {}
    for kind, items in state.items.items():
        if kind == "workspace":
            doc[kind] = dict(items[""])
        else:
            doc[kind] = [dict(v) for v in items.values()]
    for m in doc.get("members", []):
        m["status"] = "active"
    return live(doc)


def outputs(plan: Plan, mask: EnvMask) -> list[str]:
    """Everything a run shows of ``plan``: text, markdown and JSON plans, the saved plan, and
    its drift (every change taken as drift) in text, JSON, markdown and HTML."""
    from wscfg.engine import drift_html
    from wscfg.engine.drift import DriftReport, report_json, report_markdown, report_text
    from wscfg.workflow.keys import masked
    from wscfg.workflow.report import plans_json, plans_markdown, plans_text

    out = [
        plans_text([plan], [], mask=mask, full=True),
        plans_markdown([plan], [], budget=60_000, where="x", mask=mask),
        plans_json([plan], [], "http://s", mask=mask),
    ]
    drifted = dataclasses.replace(plan, changes=[copy.copy(c) for c in plan.changes])
    for c in drifted.changes:
        c.origin = Origin("drift", "user", "jane@acme.example", "ui")
        c.fields = [dataclasses.replace(f, origin=c.origin) for f in c.fields]
    report = DriftReport.of(mask.plans([drifted]), [], set())
    assert report.new  # the search below is not vacuous
    for text in (
        report_text(report),
        report_json(report, server="http://s", run=None),
        report_markdown(report, 60_000, full="x"),
        drift_html.report_html(report, server="http://s"),
    ):
        out.append(masked(mask, text))
    return out


@settings(max_examples=60)
@given(data=st.data(), kind=st.sampled_from(sorted(FIELDS)))
def test_a_rotated_value_never_shows(data: st.DataObject, kind: str) -> None:
    """A random value in a random kind of field is applied, the variable rotated to another
    random value, and the plan shown every way: neither value, in any spelling, shows."""
    body, values = FIELDS[kind]
    old = data.draw(values, label="old")
    new = data.draw(values.filter(lambda v: v.lower() != old.lower()), label="new")
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "ws.yaml"
        head = "" if body.startswith("workspace:") else "workspace: {slug: acme}\n"
        f.write_text("version: 1\n" + head + body)
        applied = load_with(f, {"V": old})
        state = load_with(f, {"V": new})
    plan = make_plan(state, live_of(applied))
    assert plan.changes
    mask = mask_for(state)
    for text in outputs(plan, mask):
        low = text.lower()
        assert [s for s in spellings(old) | spellings(new) if s in low] == []


def load_with(path: Path, env: dict[str, str]) -> DesiredState:
    from wscfg.config.validate import load_targets
    from wscfg.engine.state import desired_state

    [target] = load_targets([str(path)], environ=env)
    return desired_state(target)


@pytest.mark.parametrize(
    ("body", "env", "kept"),
    [
        # a text field keeps a value without its outer spaces
        (
            "workspace: {slug: acme, business_profile: {company: '${env:CO}'}}\n",
            {"CO": "  Acme Hidden Co  "},
            "Acme Hidden Co",
        ),
        # a colour is kept as #rrggbb
        ("call_tags:\n  - {name: vip, color: '${env:C}'}\n", {"C": "#F80"}, "#ff8800"),
        ("call_tags:\n  - {name: vip, color: '#${env:C}'}\n", {"C": "F80"}, "#ff8800"),
    ],
)
def test_a_value_the_models_normalize_is_masked_and_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, env: dict[str, str], kept: str
) -> None:
    state = load(tmp_path, monkeypatch, body, **env)
    plan = make_plan(state, live({}))
    mask = mask_for(state)
    doc = plans_to_document(mask.plans([plan]), server="s", mask=mask.document)
    shown = json.dumps(doc) + mask.text(f"the value {kept} is live")
    assert kept.lower() not in shown.lower()
    back = unmask(doc, env, KEY, {})
    assert kept in json.dumps(back)
