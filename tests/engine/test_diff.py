from wscfg.engine.changes import Create, Delete, Resend, Update
from wscfg.engine.plan import Plan, make_plan

from .helpers import desired, live

OWNER = {"email": "owner@acme.example", "role": "owner", "status": "active"}


def actions(plan):
    return [(c.action, c.kind, c.key) for c in plan.changes]


def test_creates_updates_and_deletes_are_matched_on_identity():
    d = desired(
        {"call_tags": [{"name": "new", "color": "#00FF00"}, {"name": "keep", "color": "#111"}]}
    )
    lv = live({"call_tags": [{"name": "keep", "color": "#222222"}, {"name": "gone"}]})
    plan = make_plan(d, lv)
    assert actions(plan) == [
        ("create", "call_tags", "new"),
        ("update", "call_tags", "keep"),
        ("delete", "call_tags", "gone"),
    ]
    update = plan.changes[1]
    assert [(f.path, f.before, f.after) for f in update.fields] == [("color", "#222222", "#111111")]
    assert update.etag == "call_tags-0"
    assert plan.summary() == "Plan: 1 to add, 1 to change, 1 to delete."


def test_fields_the_config_does_not_set_are_not_managed():
    d = desired({"call_tags": [{"name": "a"}], "workspace": {"slug": "acme", "name": "Acme"}})
    lv = live(
        {
            "call_tags": [{"name": "a", "color": "#123456", "description": "set in the UI"}],
            "workspace": {"slug": "acme", "name": "Acme", "timezone": "Europe/Paris"},
        }
    )
    assert make_plan(d, lv).empty


def test_normalized_values_compare_equal():
    d = desired(
        {
            "members": [{"email": "Owner@ACME.example", "role": "owner"}],
            "blocked_callers": ["+1 555 010 0100"],
            "webhooks": [
                {
                    "name": "w",
                    "url": "https://h.example.com/",
                    "events": ["call.qualified", "call.completed"],
                }
            ],
        }
    )
    lv = live(
        {
            "members": [OWNER],
            "blocked_callers": [{"number": "+15550100100"}],
            "webhooks": [
                {
                    "name": "w",
                    "url": "https://h.example.com/",
                    "events": ["call.completed", "call.qualified"],
                }
            ],
        }
    )
    assert make_plan(d, lv).empty


def test_additive_keeps_undeclared_items_and_says_so():
    d = desired(
        {
            "manage": {"members": "additive"},
            "members": [{"email": "owner@acme.example", "role": "owner"}],
        }
    )
    lv = live(
        {
            "members": [
                OWNER,
                {"email": "a@acme.example", "role": "member", "status": "active"},
                {"email": "b@acme.example", "role": "member", "status": "active"},
                {"email": "c@acme.example", "role": "member", "status": "active"},
            ]
        }
    )
    plan = make_plan(d, lv)
    assert plan.empty
    assert plan.notes() == [
        "3 undeclared members kept (manage: additive)",
    ]


def test_ignored_items_are_never_touched_even_when_declared():
    d = desired(
        {
            "ignore": {"members": ["*@sso.example"]},
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "x@sso.example", "role": "admin"},
            ],
        }
    )
    lv = live(
        {"members": [OWNER, {"email": "y@sso.example", "role": "member", "status": "active"}]}
    )
    plan = make_plan(d, lv)
    assert plan.empty
    assert "1 members ignored (ignore: patterns)" in plan.notes()
    assert any("x@sso.example" in n for n in plan.notes())


def test_secrets_compare_by_fingerprint_only():
    hook = {"name": "w", "url": "https://h.example.com/", "secret": "s3cret-value"}
    same = make_plan(desired({"webhooks": [hook]}), live({"webhooks": [dict(hook)]}))
    assert same.empty
    other = make_plan(
        desired({"webhooks": [hook | {"secret": "rotated"}]}), live({"webhooks": [dict(hook)]})
    )
    (change,) = other.changes
    assert isinstance(change, Update)
    assert change.body()["secret"] == {
        "env": "HOOK_SECRET",
        "fingerprint": change.after["secret"]["fingerprint"],
    }
    assert "rotated" not in repr(other.to_dict())


def test_expired_invitation_is_resent():
    d = desired(
        {
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "n@acme.example", "role": "member"},
            ]
        }
    )
    lv = live(
        {"members": [OWNER, {"email": "n@acme.example", "role": "member", "status": "expired"}]}
    )
    plan = make_plan(d, lv)
    (change,) = plan.changes
    assert isinstance(change, Resend) and change.key == "n@acme.example"
    assert plan.notes() == [
        "members in the config: 1 joined; 1 invitation expired (n@acme.example)",
        "expired invitations are re-sent (invitations.resend_expired: true)",
    ]


def test_resend_expired_false_leaves_expired_invitations_and_says_so():
    d = desired(
        {
            "invitations": {"resend_expired": False},
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "n@acme.example", "role": "member"},
                {"email": "p@acme.example", "role": "member"},
            ],
        }
    )
    lv = live(
        {
            "members": [
                OWNER,
                {"email": "n@acme.example", "role": "member", "status": "expired"},
                {"email": "p@acme.example", "role": "member", "status": "pending"},
            ]
        }
    )
    plan = make_plan(d, lv)
    assert plan.empty
    assert plan.notes() == [
        "members in the config: 1 joined; 1 invited, not joined yet (p@acme.example); "
        "1 invitation expired (n@acme.example)",
        "expired invitations are left as they are (invitations.resend_expired: false)",
    ]
    again = Plan.from_dict(plan.to_dict())
    assert (again.invitations, again.resend_expired) == (plan.invitations, False)


def test_order_creates_by_dependency_deletes_in_reverse():
    d = desired(
        {
            "roles": [{"name": "desk", "permissions": ["call_log:read"]}],
            "call_tags": [{"name": "lead"}],
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "d@acme.example", "role": "desk"},
            ],
            "call_rules": {"rule": {"tag": "lead"}},
        }
    )
    lv = live(
        {
            "roles": [{"name": "old"}],
            "call_tags": [{"name": "stale"}],
            "members": [OWNER, {"email": "x@acme.example", "role": "old", "status": "active"}],
            "call_rules": {"rule": {"tag": "stale"}},
        }
    )
    assert actions(make_plan(d, lv)) == [
        ("create", "roles", "desk"),
        ("create", "call_tags", "lead"),
        ("create", "members", "d@acme.example"),
        ("update", "call_rules", ""),
        ("delete", "members", "x@acme.example"),
        ("delete", "call_tags", "stale"),
        ("delete", "roles", "old"),
    ]


def test_new_owner_is_promoted_before_the_old_one_is_demoted():
    d = desired(
        {
            "members": [
                {"email": "a@acme.example", "role": "admin"},
                {"email": "b@acme.example", "role": "owner"},
            ]
        }
    )
    lv = live(
        {
            "members": [
                {"email": "a@acme.example", "role": "owner", "status": "active"},
                {"email": "b@acme.example", "role": "admin", "status": "active"},
            ]
        }
    )
    plan = make_plan(d, lv)
    assert [c.key for c in plan.changes] == ["b@acme.example", "a@acme.example"]
    assert plan.refusal_messages() == []


def test_update_body_sends_nested_objects_whole():
    d = desired({"notifications": {"system": {"email": False}}})
    lv = live(
        {"notifications": {"system": {"in_app": True, "email": True}, "billing": {"email": True}}}
    )
    (change,) = make_plan(d, lv).changes
    assert change.body() == {"system": {"in_app": True, "email": False}}
    assert [f.path for f in change.fields] == ["system.email"]


def test_delete_carries_the_live_etag():
    plan = make_plan(
        desired({"call_tags": []}), live({"call_tags": [{"name": "x", "etag": "abc"}]})
    )
    (change,) = plan.changes
    assert isinstance(change, Delete) and change.etag == "abc"


def test_create_only_sends_what_the_config_sets():
    plan = make_plan(desired({"call_tags": [{"name": "x"}]}), live({}))
    (change,) = plan.changes
    assert isinstance(change, Create) and change.body() == {"name": "x"}


def test_rule_trees_are_values_compared_and_sent_whole():
    d = desired({"call_rules": {"rule": {"all": [{"duration": {"at_least": 5}}]}}})
    lv = live({"call_rules": {"rule": {"duration": {"at_least": 5, "at_most": 10}}}})
    (change,) = make_plan(d, lv).changes
    assert change.body() == {"rule": {"all": [{"duration": {"at_least": 5}}]}}
    assert [f.path for f in change.fields] == ["rule"]
    narrower = desired({"call_rules": {"rule": {"duration": {"at_least": 5}}}})
    (change,) = make_plan(narrower, lv).changes
    assert change.body() == {"rule": {"duration": {"at_least": 5}}}


def test_only_changed_pairs_appear_in_key_order_among_many_equal_ones():
    # the pairs compared equal are passed over in any order; those that changed still come
    # in key order (numbers numerically), a Resend right after its member's Update
    tags = [{"name": f"t{i:03d}", "color": "#111111"} for i in range(60)]
    d = desired(
        {
            "call_tags": tags,
            "usage_alerts": [{"threshold": n, "channels": ["email"]} for n in (100, 9, 10, 55)],
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "late@acme.example", "role": "admin"},
                {"email": "idle@acme.example", "role": "member"},
            ],
        }
    )
    changed = {"t007", "t059", "t031"}
    lv = live(
        {
            "call_tags": [
                {**t, "color": "#222222" if t["name"] in changed else "#111111"}
                for t in reversed(tags)
            ],
            "usage_alerts": [
                {"threshold": n, "channels": ["in_app"] if n in (100, 9) else ["email"]}
                for n in (55, 10, 9, 100)
            ],
            "members": [
                OWNER,
                {"email": "late@acme.example", "role": "member", "status": "expired"},
                {"email": "idle@acme.example", "role": "member", "status": "expired"},
            ],
        }
    )
    plan = make_plan(d, lv)
    assert [(c.action, c.kind, c.key) for c in plan.changes if c.kind == "call_tags"] == [
        ("update", "call_tags", k) for k in ("t007", "t031", "t059")
    ]
    assert [c.key for c in plan.changes if c.kind == "usage_alerts"] == ["9", "100"]
    members = [(type(c).__name__, c.key) for c in plan.changes if c.kind == "members"]
    assert sorted(members) == [
        ("Resend", "idle@acme.example"),
        ("Resend", "late@acme.example"),
        ("Update", "late@acme.example"),
    ]
    assert plan.changes == sorted(plan.changes, key=lambda c: c.sort_key())


def test_a_snapshot_given_up_is_taken_over_not_copied():
    from wscfg.engine.state import LiveState

    def snapshot():
        return {
            "workspace": {"slug": "acme", "name": "acme", "etag": "w0"},
            "call_tags": [{"name": "a", "color": "#111111", "etag": "t1"}],
        }

    kept = snapshot()
    copied = LiveState.from_snapshot("acme", kept)
    assert kept == snapshot()  # not owned: left as it was
    given = snapshot()
    owned = LiveState.from_snapshot("acme", given, owned=True)
    assert owned == copied
    assert owned.items["call_tags"]["a"] is given["call_tags"][0]
    assert owned.items["call_tags"]["a"] == {"name": "a", "color": "#111111"}
    assert owned.etags == {
        "workspace": {"": "w0"},
        "call_tags": {"a": "t1"},
        **{k: v for k, v in copied.etags.items() if k not in ("workspace", "call_tags")},
    }
