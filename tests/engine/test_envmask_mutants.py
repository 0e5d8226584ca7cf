"""engine/envmask.py: behaviour the mutation run (scripts/mutation engine/envmask.py,
docs/testing.md) found untested. Each test names the broken code it catches. (The module's own
tests are tests/engine/test_envmask.py and test_envmask_rotation.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from wscfg.engine.envmask import EnvMask, env_fingerprint, resolve_live, unmask
from wscfg.engine.envrefs import env_references, referable
from wscfg.engine.plan import make_plan
from wscfg.engine.state import LiveState

from .helpers import desired, live

KEY = b"plan-key"
VALUE = "SecretVal7Qk2"


def _marker(name: str, value: str, form: str = "") -> str:
    return (
        f"(from ${{env:{name}}}{' ' + form if form else ''}, sha256:{env_fingerprint(KEY, value)})"
    )


# --- EnvMask: is there anything to mask? ------------------------------------------------------


def test_a_mask_with_values_or_with_positions_is_something_to_apply():
    """Mutants: ``or`` → ``and``, and the positions read as nothing."""
    positions = {"acme": {("call_tags", "a"): [(("description",), (("D", "ab"),))]}}
    assert bool(EnvMask({"A": VALUE}, KEY)) is True
    assert bool(EnvMask({}, KEY, positions)) is True
    assert bool(EnvMask({"A": "ab"}, KEY)) is False  # too short for free text, no positions
    assert bool(EnvMask({}, KEY)) is False


# --- EnvMask.document: any shape of document --------------------------------------------------


def test_a_document_without_targets_is_masked_as_data():
    """Mutants: the shape test's ``or`` → ``and`` (a list crashed, a dict without targets
    lost), and the masked data replaced by ``None``."""
    mask = EnvMask({"A": VALUE}, KEY)
    assert mask.document({"message": f"x {VALUE}"}) == {"message": f"x {_marker('A', VALUE)}"}
    assert mask.document([VALUE]) == [_marker("A", VALUE)]
    assert mask.document({"targets": VALUE}) == {"targets": _marker("A", VALUE)}


def test_each_target_is_masked_whatever_its_shape_and_none_is_dropped():
    """Mutants: a target that is not a dict read with ``.get`` (a crash), a target without a
    change list replaced by ``None`` or dropped with every target after it (``break``)."""
    mask = EnvMask({"A": VALUE}, KEY)
    doc = {
        "targets": [
            f"text {VALUE}",
            {"slug": "acme", "error": f"refused {VALUE}"},
            {"slug": "beta", "changes": [{"action": "delete", "key": VALUE}]},
        ],
        "server": VALUE,
    }
    assert mask.document(doc) == {
        "targets": [
            f"text {_marker('A', VALUE)}",
            {"slug": "acme", "error": f"refused {_marker('A', VALUE)}"},
            {"slug": "beta", "changes": [{"action": "delete", "key": _marker("A", VALUE)}]},
        ],
        "server": _marker("A", VALUE),
    }


# --- unmask -----------------------------------------------------------------------------------


def test_a_short_value_masked_at_a_value_position_is_put_back():
    """Mutant: the form looked up even for the value itself (``forms`` keeps no spelling under
    4 characters, so a short value read as a damaged mask)."""
    mask = EnvMask({}, KEY)
    masked = mask.at("ab", (("SHORT", "ab"),))
    assert masked == _marker("SHORT", "ab")
    used: dict[str, str] = {}
    assert unmask({"name": masked}, {"SHORT": "ab"}, KEY, used) == {"name": "ab"}
    assert used == {"SHORT": "ab"}


# --- resolve_live -----------------------------------------------------------------------------


def test_a_masked_identity_stays_masked_when_the_live_state_lacks_its_kind():
    """Mutant: ``state.items.get(kind, {})`` → ``get(kind)`` (a crash on a live state without
    that kind)."""
    plan = make_plan(desired({"call_tags": []}), live({"call_tags": [{"name": VALUE}]}))
    (change,) = plan.changes
    masked = EnvMask({}, KEY).live_marker(["TAG"], VALUE)
    change.key = masked
    assert resolve_live([plan], {"acme": LiveState("acme")}, KEY) == []
    assert change.key == masked
    found = resolve_live([plan], {"acme": live({"call_tags": [{"name": VALUE}]})}, KEY)
    assert found == [(["TAG"], VALUE)]
    assert change.key == VALUE


# --- export: referable values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "hidden"),
    [
        ("TOKEN", "abcdefgh", True),  # 8 characters: the shortest referenced
        ("TOKEN", "abcdefg", False),
        ("TOOL_HOME", "/opt/tool/bin", False),  # file paths
        ("CONF", "~/.config/tool", False),
        ("REL", "./relative/dir", False),
        ("LC_ALL", "en_US.UTF-8", False),  # locale and desktop settings
        ("XDG_SESSION_TYPE", "wayland-session", False),
        ("TZ", "Europe/Paris", False),
    ],
)
def test_what_export_references(name: str, value: str, hidden: bool) -> None:
    """Mutants: ``>= 8`` → ``> 8``, each prefix (``/``, ``~``, ``.``, ``LC_``, ``XDG_``)
    misspelled."""
    assert referable(name, value) is hidden
    doc = {"v": f"x {value} y", "list": [value]}
    want = f"${{env:{name}}}" if hidden else value
    assert env_references(doc, {name: value}) == {"v": f"x {want} y", "list": [want]}


def test_export_with_no_referable_value_only_escapes_dollar_braces():
    """Mutant: the pattern compiled from no values (it matched the empty string everywhere)."""
    doc = {"a": "b ${x}", "l": ["${y}"], "n": 3}
    assert env_references(doc, {"TZ": "Europe/Paris"}) == {
        "a": "b $${x}",
        "l": ["$${y}"],
        "n": 3,
    }


def test_export_prefers_the_longer_of_two_values_sharing_a_start():
    """Mutants: the values tried shortest first (the shorter one matched inside the longer)."""
    environ = {"SHORT": "abcdefgh", "LONG": "abcdefgh-ijkl"}
    assert env_references("abcdefgh-ijkl and abcdefgh", environ) == ("${env:LONG} and ${env:SHORT}")


# --- live values learnt: masked everywhere but where apply writes -----------------------------

OLD = "OldValue99"


def _learnt() -> EnvMask:
    mask = EnvMask({"A": VALUE}, KEY)
    mask.add_live([(["A"], OLD)])
    return mask


def test_data_masks_learnt_live_values_by_default_and_in_keys_and_lists():
    """Mutants: ``data``'s ``live`` default flipped, and ``live`` not passed on to the keys of a
    dict or the items of a list."""
    mask = _learnt()
    hidden = mask.live_marker(["A"], OLD)
    assert mask.data(f"x {OLD}") == f"x {hidden}"
    assert mask.data({OLD: [OLD]}) == {hidden: [hidden]}
    assert mask.data({OLD: [OLD, VALUE]}, live=False) == {OLD: [OLD, _marker("A", VALUE)]}


def test_a_plan_document_masks_live_values_except_where_apply_writes():
    """Mutants in ``_change_data``: the key of a change that is not a delete masked as a live
    value (it is what apply writes), the fields' ``after`` likewise, the fields dropped or
    replaced, a field or a change that is not a dict lost."""
    mask = _learnt()
    hidden = mask.live_marker(["A"], OLD)
    env = _marker("A", VALUE)
    update = {
        "action": "update",
        "key": OLD,
        "before": {"v": OLD},
        "after": {"v": f"{OLD}/{VALUE}"},
        "fields": [{"path": "v", "before": OLD, "after": f"{OLD}/{VALUE}"}, f"odd {OLD}"],
    }
    delete = {"action": "delete", "key": OLD, "before": {"v": OLD}}
    doc = {"targets": [{"slug": "acme", "changes": [update, delete, f"odd {OLD}"]}]}
    (target,) = mask.document(doc)["targets"]
    assert target["changes"] == [
        {
            "action": "update",
            "key": OLD,
            "before": {"v": hidden},
            "after": {"v": f"{OLD}/{env}"},
            "fields": [{"path": "v", "before": hidden, "after": f"{OLD}/{env}"}, f"odd {hidden}"],
        },
        {"action": "delete", "key": hidden, "before": {"v": hidden}},
        f"odd {hidden}",
    ]


# --- the shape of a value set from the environment (a rotated identity, a live value's parts) -


def test_the_shape_of_a_value_cuts_out_every_spelling_of_its_variables():
    """Mutants in ``_shape``: only the value as written cut out (an E.164 number holds only the
    digits), the spellings joined with a wrong separator, the shorter of two values sharing a
    start cut out first."""
    from wscfg.engine.envmask import _shape

    phone = _shape("+15550100199", (("P", "01-00199"),))
    assert phone is not None
    assert phone.fullmatch("+15550100111").groups() == ("0100111",)
    spaced = _shape("pre-Ab Cd-post", (("A", "Ab Cd"),))
    assert spaced is not None
    assert spaced.fullmatch("pre-other-post").groups() == ("other",)
    # any letter case, and any character (a line break too) in the variable's part
    assert spaced.fullmatch("PRE-a\nb-POST").groups() == ("a\nb",)
    two = _shape("pre-acme-support-post", (("ORG", "acme"), ("TEAM", "acme-support")))
    assert two is not None
    assert two.fullmatch("pre-zeta-post").groups() == ("zeta",)
    assert _shape("no variable here", (("A", "abcd"),)) is None
    assert _shape({"not": "a string"}, (("A", "abcd"),)) is None


def test_the_live_values_found_in_a_field():
    """Mutants in ``_live_found``: the strings inside a dict or a list (or the whole live value)
    not walked, the shape matched against a value that is not a string, or when there is no
    shape."""
    from wscfg.engine.envmask import _live_found

    pairs = (("A", "abcd"),)
    assert _live_found(["A"], {"x": "old1", "l": ["old2", 3]}, {"x": "abcd"}, pairs) == [
        (["A"], "old1"),
        (["A"], "old2"),
    ]
    assert _live_found(["A"], None, "pre-abcd-post", pairs) == []
    assert _live_found(["A"], ["pre-zz-post"], "pre-abcd-post", pairs) == [(["A"], "pre-zz-post")]
    assert _live_found(["A"], "pre-zz-post", "pre-abcd-post", pairs) == [
        (["A"], "pre-zz-post"),
        (["A"], "zz"),
    ]


def test_a_live_marker_names_each_variable_once_and_hashes_any_value_stably():
    """Mutants in ``live_marker``: a value that is not a string hashed as ``null``, as itself
    (a crash) or with its keys in the server's order; the names joined wrongly."""
    import json

    mask = EnvMask({}, KEY)
    value = {"b": 1, "a": [2, "x"]}
    fp = env_fingerprint(KEY, json.dumps({"a": [2, "x"], "b": 1}))
    assert mask.live_marker(["A", "B", "A"], value) == (
        f"(live value hidden: set from ${{env:A}}, ${{env:B}}, sha256:{fp})"
    )
    assert mask.live_marker(["A", "B"], {"a": [2, "x"], "b": 1}) == mask.live_marker(
        ["A", "B"], value
    )
    assert mask.live_marker(["A"], 5) == (
        f"(live value hidden: set from ${{env:A}}, sha256:{env_fingerprint(KEY, '5')})"
    )


def test_a_live_value_learnt_twice_keeps_the_first_variables_named():
    """Mutant: ``and`` → ``or`` in ``add_live`` (a value learnt again replaced the first)."""
    mask = EnvMask({}, KEY)
    mask.add_live([(["A"], OLD)])
    mask.add_live([(["B"], OLD)])
    assert mask.text(f"x {OLD}") == f"x {mask.live_marker(['A'], OLD)}"


def test_put_replaces_the_value_at_a_path_and_nothing_else():
    """Mutants in ``_put``: the function applied to ``None``, a level skipped, the rest of the
    path lost."""
    from wscfg.engine.envmask import _put

    item = {"a": {"b": "x", "c": "y"}, "d": "z"}
    assert _put(item, ("a", "b"), str.upper) == {"a": {"b": "X", "c": "y"}, "d": "z"}
    assert _put(item, ("d",), str.upper) == {"a": {"b": "x", "c": "y"}, "d": "Z"}
    assert _put(item, ("a", "missing"), str.upper) == item
    assert _put("text", (), str.upper) == "TEXT"


# --- EnvMask.plans: the fields set from the environment -----------------------------------------


def _shown(doc: dict, now: dict, where: dict, values: dict[str, str]):
    plan = make_plan(desired(doc), live(now))
    mask = EnvMask(values, KEY, {"acme": where})
    return mask, mask.plans([plan])[0]


def test_only_the_field_set_from_the_environment_is_masked_in_a_change():
    """Mutants in ``_change``: ``after`` dropped or masked whole (the short value is masked only
    at its position: the colour ``#aabbcc`` holds ``ab`` too), every field matched (``!=`` /
    ``or``), a field without variables masked."""
    where = {("call_tags", "vip"): [(("description",), (("D", "ab"),))]}
    mask, shown = _shown(
        {"call_tags": [{"name": "vip", "description": "ab", "color": "#aabbcc"}]},
        {"call_tags": [{"name": "vip", "description": "old-d", "color": "#000000"}]},
        where,
        {"D": "ab"},
    )
    (change,) = shown.changes
    assert change.key == "vip"
    assert change.after == {"name": "vip", "description": _marker("D", "ab"), "color": "#aabbcc"}
    assert change.before is not None
    assert change.before["description"] == mask.live_marker(["D"], "old-d")
    assert change.before["color"] == "#000000"
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("color", "#000000", "#aabbcc"),
        ("description", mask.live_marker(["D"], "old-d"), _marker("D", "ab")),
    ]


def test_an_identity_set_from_the_environment_is_masked_in_the_key_and_its_old_one_too():
    """Mutants in ``_change``: the identity not found (``ident`` None, a whole-item position not
    read as the identity), the key masked for the wrong cut, set to None; and in ``_rotated``."""
    phone = "+1 555 010 0199"
    where = {("blocked_callers", "+15550100199"): [((), (("PHONE", phone),))]}
    mask, shown = _shown(
        {"blocked_callers": [phone]},
        {"blocked_callers": [{"number": "+15550100100"}]},
        where,
        {"PHONE": phone},
    )
    create, delete = shown.changes
    digits = _marker("PHONE", phone, "digits")
    assert (create.action, create.key, create.after) == (
        "create",
        f"+{digits}",
        {"number": f"+{digits}"},
    )
    old = mask.live_marker(["PHONE"], "+15550100100")
    assert (delete.action, delete.key, delete.before) == ("delete", old, {"number": old})


def test_a_field_inside_a_rule_tree_is_masked_in_the_tree_that_changed():
    """Mutant: ``or`` → ``and`` in the field match: a rule tree is one changed field
    (``rule``), and the variable's position (``rule.tag``) lies inside it."""
    where = {("call_rules", ""): [(("rule", "tag"), (("TAG", "vip-tag"),))]}
    mask, shown = _shown(
        {"call_tags": [{"name": "vip-tag"}], "call_rules": {"rule": {"tag": "vip-tag"}}},
        {"call_tags": [{"name": "vip-tag"}], "call_rules": {"rule": {"duration": {"at_least": 5}}}},
        where,
        {"TAG": "vip-tag"},
    )
    (change,) = shown.changes
    before = {"duration": {"at_least": 5}}
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("rule", mask.live_marker(["TAG"], before), {"tag": _marker("TAG", "vip-tag")})
    ]


def test_a_field_set_from_the_environment_that_the_live_side_lacks_stays_empty_there():
    """Mutant: a missing live value shown as the mask of ``null``."""
    where = {("call_tags", "vip"): [(("description",), (("D", "Descr-value"),))]}
    _, shown = _shown(
        {"call_tags": [{"name": "vip", "description": "Descr-value"}]},
        {"call_tags": [{"name": "vip"}]},
        where,
        {"D": "Descr-value"},
    )
    (change,) = shown.changes
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("description", None, _marker("D", "Descr-value"))
    ]


ROTATED = {
    ("members", "new-a@one.example"): [((), (("A", "new-a"),))],
    ("members", "new-b@two.example"): [((), (("B", "new-b"),))],
    ("members", "keep@acme.example"): [((), (("K", "keep"),))],
}


def _rotation(origin: str | None = None) -> tuple[EnvMask, list]:
    from wscfg.engine.changes import Origin

    d = {
        "workspace": {"slug": "acme", "name": "New name"},
        "members": [
            {"email": "owner@acme.example", "role": "owner"},
            {"email": "keep@acme.example", "role": "admin"},
            {"email": "new-a@one.example", "role": "member"},
            {"email": "new-b@two.example", "role": "member"},
        ],
        "call_tags": [{"name": "plain"}],
    }
    now = {
        "workspace": {"slug": "acme", "name": "acme"},
        "members": [
            {"email": "owner@acme.example", "role": "owner", "status": "active"},
            {"email": "keep@acme.example", "role": "member", "status": "active"},
            {"email": "old-b@two.example", "role": "member", "status": "active"},
            {"email": "other@acme.example", "role": "member", "status": "active"},
        ],
    }
    plan = make_plan(desired(d), live(now))
    if origin is not None:
        for ch in plan.changes:
            if ch.action == "delete":
                ch.origin = Origin(origin)
    mask = EnvMask({"A": "new-a", "B": "new-b", "K": "keep"}, KEY, {"acme": ROTATED})
    return mask, mask.plans([plan])[0].changes


def test_only_creates_give_the_shape_of_a_rotated_identity_and_every_shape_is_tried():
    """Mutants in ``_rotated``: an update's identity taken as a shape (``or`` → ``and``: the
    unrotated keep@acme.example would make other@acme.example's delete masked), the walk
    stopped at the first change that is not a create (``break``: the workspace update comes
    first), a create without positions read with ``where.get(…)`` and no default (a crash),
    the walk over the shapes stopped at the first that does not match (new-a@one.example's)."""
    mask, changes = _rotation()
    assert changes[0].kind == "workspace"
    deletes = {c.key: c for c in changes if c.action == "delete"}
    old = mask.live_marker(["B"], "old-b@two.example")
    assert set(deletes) == {old, "other@acme.example"}
    assert deletes[old].before is not None and deletes[old].before["email"] == old
    other = deletes["other@acme.example"].before
    assert other is not None and other["email"] == "other@acme.example"
    assert "plain" in [c.key for c in changes if c.action == "create"]


@pytest.mark.parametrize(("origin", "learnt"), [(None, True), ("config", True), ("drift", False)])
def test_a_rotated_identity_is_learnt_only_when_wscfg_wrote_it(
    origin: str | None, learnt: bool
) -> None:
    """Mutant: ``_from_config(ch.origin)`` → ``_from_config(None)`` (a delete someone else made
    taught its identity to every text)."""
    mask, _ = _rotation(origin)
    hidden = mask.live_marker(["B"], "old-b@two.example")
    said = mask.text("gone: old-b@two.example")
    assert said == (f"gone: {hidden}" if learnt else "gone: old-b@two.example")


# --- env_positions: the fields a config set from the environment -------------------------------


def _loaded(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, body: str, **env: str) -> Any:
    import wscfg

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    f = tmp_path / "ws.yaml"
    f.write_text("version: 1\nworkspace: {slug: acme}\n" + body)
    [state] = wscfg.load([str(f)])
    return state


def test_positions_skip_sections_that_are_not_kinds_and_secrets_and_go_on(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutants in ``env_positions``: a section that is no kind (``ignore:``) read as one (a
    crash) or ending the walk (``break``), a secret ending it, a list index inside a field
    ending the whole function (``return``)."""
    from wscfg.engine.envmask import env_positions

    state = _loaded(
        tmp_path,
        monkeypatch,
        "ignore: {members: ['${env:IGN}']}\n"
        "webhooks:\n"
        "  - {name: w, secret: '${env:S}', url: 'https://h.example.com/${env:U}',\n"
        "     events: [call.qualified, '${env:EV}']}\n"
        "call_tags:\n  - {name: '${env:T}'}\n",
        IGN="legacy-*",
        S="secret-1234",
        U="PathVal99",
        EV="call.completed",
        T="tag-val-1",
    )
    assert env_positions(state) == {
        ("webhooks", "w"): [
            (("url",), (("U", "PathVal99"),)),
            (("events",), (("EV", "call.completed"),)),
        ],
        ("call_tags", "tag-val-1"): [(("name",), (("T", "tag-val-1"),))],
    }


def test_a_desired_state_without_a_config_has_no_positions():
    """Mutant: ``or`` → ``and`` in the first test (a state without a config crashed)."""
    from wscfg.engine.envmask import env_positions
    from wscfg.engine.state import DesiredState

    assert env_positions(DesiredState(slug="acme")) == {}


# --- colours, and masking at a value position -------------------------------------------------


@pytest.mark.parametrize(("value", "colour"), [("#F80", "#ff8800"), ("#f80", "#ff8800")])
def test_a_short_hex_colour_has_its_long_form(value: str, colour: str) -> None:
    """Mutants in ``_colour``: lower-case hex digits not read as a colour, the ``#`` cut off."""
    from wscfg.engine.envmask import forms

    assert forms(value)["colour"] == colour


def test_colour_digits_of_a_variable_are_masked_and_put_back():
    """Mutants: the form of the digits of ``#${env:C}`` misnamed (then not put back), and not
    spelled at a value position when the variable has no ``#``."""
    mask = EnvMask({"C": "F80"}, KEY)
    masked = mask.text("colour #ff8800")
    assert masked == f"colour #{_marker('C', 'F80', 'colour-digits')}"
    assert unmask(masked, {"C": "F80"}, KEY, {}) == "colour #ff8800"
    at = EnvMask({}, KEY).at("#ff8800", (("C", "F80"),))
    assert at == f"#{_marker('C', 'F80', 'colour-digits')}"


def test_at_masks_every_variable_longest_first_in_lists_and_after_an_empty_one():
    """Mutants in ``at``: an empty variable ending the walk (``break``), the spellings tried
    shortest first, the items of a list lost, a case-folded spelling named as a form (then put
    back case-folded)."""
    mask = EnvMask({}, KEY)
    pairs = (("E", ""), ("A", "abcd"), ("B", "abcdef"))
    assert mask.at("abcdef/abcd", pairs) == f"{_marker('B', 'abcdef')}/{_marker('A', 'abcd')}"
    assert mask.at(["abcd", {"k": "abcd"}, 1], pairs) == [
        _marker("A", "abcd"),
        {"k": _marker("A", "abcd")},
        1,
    ]
    folded = mask.at("strasse-1", (("S", "Straße"),))
    assert folded == f"{_marker('S', 'Straße')}-1"


def test_a_phone_value_using_every_phone_character_has_its_digits_form():
    """Mutant: ``<=`` → ``<`` (a value made of every phone character was not a phone)."""
    from wscfg.engine.envmask import forms

    assert forms("+1 (234) 567-890.0")["digits"] == "12345678900"
