"""engine/diff.py: behaviour the mutation run (scripts/mutation engine/diff.py, docs/testing.md)
found untested. Each test names the broken code it catches."""

from __future__ import annotations

from typing import Any

from wscfg.config.desired import Source, TargetConfig
from wscfg.engine.changes import Create, Delete, Resend, Update
from wscfg.engine.diff import diff
from wscfg.engine.plan import make_plan
from wscfg.engine.state import DesiredState, LiveState, desired_state
from wscfg.model import WorkspaceConfig

from .helpers import desired, live

OWNER = {"email": "owner@acme.example", "role": "owner", "status": "active"}


def _with_sources(doc: dict[str, Any], sources: dict[tuple[Any, ...], Source]) -> DesiredState:
    config = WorkspaceConfig.model_validate({"version": 1, "workspace": {"slug": "acme"}, **doc})
    return desired_state(TargetConfig("ws.yaml", config, sources=sources))


def test_a_create_update_and_resend_carry_the_source_of_their_own_item():
    """Mutants: the source of a create/update/resend looked up for the wrong kind or key, or
    dropped."""
    d = desired(
        {
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "up@acme.example", "role": "admin"},
                {"email": "new@acme.example", "role": "member"},
                {"email": "exp@acme.example", "role": "member"},
            ]
        }
    )
    lv = live(
        {
            "members": [
                OWNER,
                {"email": "up@acme.example", "role": "member", "status": "active"},
                {"email": "exp@acme.example", "role": "member", "status": "expired"},
            ]
        }
    )
    changes, _ = diff(d, lv)
    found = {(type(c).__name__, c.key): c.source for c in changes}
    assert found == {
        ("Update", "up@acme.example"): "ws.yaml:11",
        ("Create", "new@acme.example"): "ws.yaml:12",
        ("Resend", "exp@acme.example"): "ws.yaml:13",
    }


def test_a_field_change_carries_the_source_of_its_field():
    """Mutants: a field's source looked up for the wrong kind, key or path (it then falls back to
    the item's line or to nothing)."""
    d = _with_sources(
        {
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "up@acme.example", "role": "admin"},
            ]
        },
        {
            ("members", 1): Source("ws.yaml", 7, 5),
            ("members", 1, "role"): Source("ws.yaml", 8, 11),
        },
    )
    lv = live(
        {"members": [OWNER, {"email": "up@acme.example", "role": "member", "status": "active"}]}
    )
    (change,) = make_plan(d, lv).changes
    assert change.source == "ws.yaml:7"
    assert [(f.path, f.source) for f in change.fields] == [("role", "ws.yaml:8")]


def test_a_resend_carries_both_sides_and_the_live_etag():
    """Mutants: Resend built without (or with None for) before, after or etag."""
    d = desired(
        {
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "n@acme.example", "role": "member"},
            ]
        }
    )
    expired = {"email": "n@acme.example", "role": "member", "status": "expired"}
    (change,) = make_plan(d, live({"members": [OWNER, expired]})).changes
    assert isinstance(change, Resend)
    assert change.before == expired
    assert change.after == {"email": "n@acme.example", "role": "member"}
    assert change.etag == "members-1"


def test_a_delete_carries_the_live_item_it_removes():
    """Mutants: Delete built without (or with None for) ``before``."""
    gone = {"name": "gone", "color": "#222222"}
    (change,) = make_plan(desired({"call_tags": []}), live({"call_tags": [gone]})).changes
    assert isinstance(change, Delete)
    assert change.before == gone
    assert change.etag == "call_tags-0"


def test_ignore_globs_spare_only_the_undeclared_items_they_match():
    """Mutants: ``globs and ignored(key)`` → ``globs or ignored(key)`` (every undeclared item kept
    once any glob exists), and ``continue`` → ``break`` (after the first ignored undeclared item
    the remaining deletes are dropped)."""
    d = desired({"call_tags": [{"name": "keep"}], "ignore": {"call_tags": ["a-*"]}})
    lv = live(
        {"call_tags": [{"name": n} for n in ("a-legacy", "b-gone", "c-gone", "keep")]},
    )
    plan = make_plan(d, lv)
    assert [(c.action, c.key) for c in plan.changes] == [
        ("delete", "b-gone"),
        ("delete", "c-gone"),
    ]
    assert plan.reports["call_tags"].ignored == 1


def test_declared_ignored_thresholds_are_listed_in_numeric_order():
    """Mutants: the creates / matched items walked in text order (``10`` before ``9``) instead
    of key order; the note lists the skipped items in the order the config's keys sort."""
    alerts = [{"threshold": t, "channels": ["email"]} for t in (100, 9, 10)]
    d = desired({"usage_alerts": alerts, "ignore": {"usage_alerts": ["*"]}})
    created = make_plan(d, live({}))
    assert created.empty
    assert created.reports["usage_alerts"].declared_ignored == ["9", "10", "100"]
    matched = make_plan(d, live({"usage_alerts": alerts}))
    assert matched.reports["usage_alerts"].declared_ignored == ["9", "10", "100"]
    assert "declared but matching ignore, not touched: usage alerts 9, 10, 100" in matched.notes()


def test_the_workspace_slug_is_its_identity_never_a_changed_field():
    """Mutants: ``slug`` left in (or another key popped from) the compared workspace item, and
    ``pop(None)`` (a KeyError on any workspace update)."""
    d = desired({"workspace": {"slug": "acme", "name": "New name"}})
    lv = live({"workspace": {"slug": "acme-old", "name": "Old name"}})
    (change,) = make_plan(d, lv).changes
    assert isinstance(change, Update)
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("name", "Old name", "New name")
    ]


def test_a_singleton_the_live_state_lacks_is_an_update_from_nothing():
    """Mutant: ``have.get("", {})`` → ``have.get("")``: a snapshot without the kind crashed."""
    d = desired({"security": {"require_2fa": True}})
    lv = LiveState.from_snapshot("acme", {"workspace": {"slug": "acme", "name": "acme"}})
    assert lv.items["security"] == {}
    (change,) = make_plan(d, lv).changes
    assert isinstance(change, Update) and change.kind == "security"
    assert [(f.path, f.before, f.after) for f in change.fields] == [("require_2fa", None, True)]


def test_a_field_set_to_null_clears_a_live_value():
    """Mutants: the quick "unchanged" check reading ``None`` instead of the live value (at the
    top level and inside a nested model), so a null in the config matched any live value."""
    tag = make_plan(
        desired({"call_tags": [{"name": "a", "description": None}]}),
        live({"call_tags": [{"name": "a", "description": "from the UI"}]}),
    )
    (change,) = tag.changes
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("description", "from the UI", None)
    ]
    ws = make_plan(
        desired({"workspace": {"slug": "acme", "business_profile": {"company": None}}}),
        live({"workspace": {"slug": "acme", "name": "acme", "business_profile": {"company": "X"}}}),
    )
    (change,) = ws.changes
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("business_profile.company", "X", None)
    ]


def test_a_create_keeps_the_declared_item():
    """The create carries the desired item as the config wrote it (and no live side)."""
    (change,) = make_plan(desired({"call_tags": [{"name": "n"}]}), live({})).changes
    assert isinstance(change, Create)
    assert (change.before, change.after) == (None, {"name": "n"})
