"""Tests for the mutants an outside mutation run found alive in the guards (issue 21, "Proof").

Each test names the broken guard it catches; docs/testing.md ("Mutation run") has the run and
its figures. The URL rule's survivors (ports, IPv6 ports, Teredo, unparseable hosts, invalid
labels) are rows of tests/corpus/hostile_urls.py.
"""

from __future__ import annotations

import pytest

from wscfg.engine.diff import field_changes
from wscfg.engine.plan import make_plan
from wscfg.engine.safety import (
    FLEET_DELETE_SHARE,
    Allowances,
    Refusal,
    fleet_refusals,
    new_secret_refusal,
    refusals,
)
from wscfg.errors import UnsafePlanError
from wscfg.model import BY_NAME

from .helpers import desired, live

OWNER = {"email": "owner@acme.example", "role": "owner", "status": "active"}
LAST_OWNER = (
    "the plan removes or demotes the last active owner (owner@acme.example); keep an owner "
    "until a new one has accepted their invitation"
)


# --- engine/plan.py: the last-owner rule ----------------------------------------------------


def test_promoting_a_pending_member_does_not_replace_the_last_active_owner():
    """Mutant: the rule reads the wrong status key of the promoted member, so a pending
    invitee promoted to owner counts as an owner while the last active owner is demoted."""
    d = desired(
        {
            "members": [
                {"email": "owner@acme.example", "role": "admin"},
                {"email": "p@acme.example", "role": "owner"},
            ]
        }
    )
    lv = live(
        {"members": [OWNER, {"email": "p@acme.example", "role": "client", "status": "pending"}]}
    )
    plan = make_plan(d, lv)
    assert sorted((c.action, c.key) for c in plan.changes) == [
        ("update", "owner@acme.example"),
        ("update", "p@acme.example"),
    ]
    assert plan.refusal_messages(allow_mass_changes=True) == [LAST_OWNER]


def test_promoting_an_active_member_while_demoting_the_owner_is_fine():
    d = desired(
        {
            "members": [
                {"email": "owner@acme.example", "role": "admin"},
                {"email": "a@acme.example", "role": "owner"},
            ]
        }
    )
    lv = live(
        {"members": [OWNER, {"email": "a@acme.example", "role": "client", "status": "active"}]}
    )
    assert make_plan(d, lv).refusal_messages() == []


def test_a_member_without_a_status_counts_as_active():
    d = desired(
        {
            "members": [
                {"email": "owner@acme.example", "role": "admin"},
                {"email": "a@acme.example", "role": "owner"},
            ]
        }
    )
    lv = live(
        {
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "a@acme.example", "role": "client"},
            ]
        }
    )
    assert make_plan(d, lv).refusal_messages() == []


# --- engine/plan.py: mass changes -------------------------------------------------------------


@pytest.mark.parametrize("n", [10, 11, 25])
def test_a_kind_of_ten_or_more_live_items_and_no_changes_is_no_refusal(n):
    """Mutant: the mass rule indexes the change counts of a kind that has none (a crash)."""
    tags = [{"name": f"t{i}"} for i in range(n)]
    plan = make_plan(desired({"call_tags": tags}), live({"call_tags": tags}))
    assert plan.empty
    assert plan.refusals() == []


def test_mass_updates_are_counted_apart_from_deletes():
    tags = [{"name": f"t{i}", "color": "#111111"} for i in range(10)]
    want = [{**t, "color": "#222222"} if i < 4 else t for i, t in enumerate(tags)]
    plan = make_plan(desired({"call_tags": want}), live({"call_tags": tags}))
    found = plan.refusals()
    assert [(r.code, r.message) for r in found] == [
        (
            "mass_update",
            "updates 4 of 10 call tags (more than 30%); pass --allow-mass-changes if intended",
        )
    ]
    assert plan.refusals(allow_mass_changes=True) == []


# --- engine/plan.py: in-use checks ------------------------------------------------------------


def _role_live(extra_members=()):
    return live(
        {
            "roles": [{"name": "desk", "permissions": []}, {"name": "ops", "permissions": []}],
            "members": [
                OWNER,
                {"email": "d@acme.example", "role": "desk", "status": "active"},
                *extra_members,
            ],
        }
    )


def test_deleting_a_role_whose_member_is_reassigned_in_the_same_plan_is_fine():
    d = desired(
        {
            "roles": [{"name": "ops", "permissions": []}],
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "d@acme.example", "role": "ops"},
            ],
        }
    )
    plan = make_plan(d, _role_live())
    assert ("delete", "roles", "desk") in [(c.action, c.kind, c.key) for c in plan.changes]
    assert plan.in_use == []


def test_deleting_a_role_a_member_created_in_the_same_plan_uses_is_refused():
    d = desired(
        {
            "manage": {"members": "additive"},  # the kept members are not named here
            "roles": [{"name": "ops", "permissions": []}],
            "members": [
                {"email": "d@acme.example", "role": "ops"},
                {"email": "n@acme.example", "role": "desk"},
            ],
        }
    )
    plan = make_plan(d, _role_live())
    assert ("create", "members", "n@acme.example") in [
        (c.action, c.kind, c.key) for c in plan.changes
    ]
    assert plan.in_use == [
        "role desk is deleted but member n@acme.example keeps it; manage that member's role "
        "here, or keep the role"
    ]


def test_deleting_a_tag_whose_webhook_drops_it_in_the_same_plan_is_fine():
    hook = {"name": "w", "url": "https://h.example.com/", "events": ["call.completed"]}
    d = desired(
        {
            "call_tags": [{"name": "keep"}],
            "webhooks": [{**hook, "filters": {"tags": ["keep"]}}],
        }
    )
    lv = live(
        {
            "call_tags": [{"name": "keep"}, {"name": "spam"}],
            "webhooks": [{**hook, "filters": {"tags": ["spam"]}}],
        }
    )
    plan = make_plan(d, lv)
    assert ("delete", "call_tags", "spam") in [(c.action, c.kind, c.key) for c in plan.changes]
    assert plan.in_use == []


def test_deleting_a_tag_a_webhook_created_in_the_same_plan_filters_on_is_refused():
    hook = {"name": "new", "url": "https://h.example.com/", "events": ["call.completed"]}
    d = desired(
        {
            "call_tags": [{"name": "keep"}],
            "webhooks": [{**hook, "filters": {"tags": ["spam"]}}],
        }
    )
    lv = live({"call_tags": [{"name": "keep"}, {"name": "spam"}]})
    assert make_plan(d, lv).in_use == [
        "call tag spam is deleted but webhook new still filters on it"
    ]


def test_deleting_a_tag_while_the_webhook_using_it_is_deleted_is_fine():
    hook = {"name": "w", "url": "https://h.example.com/", "events": ["call.completed"]}
    d = desired({"call_tags": [{"name": "keep"}], "webhooks": []})
    lv = live(
        {
            "call_tags": [{"name": "keep"}, {"name": "spam"}],
            "webhooks": [{**hook, "filters": {"tags": ["spam"]}}],
        }
    )
    assert make_plan(d, lv).in_use == []


def test_deleting_a_tag_that_new_call_rules_use_is_refused():
    d = desired({"call_tags": [{"name": "keep"}], "call_rules": {"rule": {"tag": "spam"}}})
    lv = live({"call_tags": [{"name": "keep"}, {"name": "spam"}]})
    assert make_plan(d, lv).in_use == ["call tag spam is deleted but the call rules still use it"]


# --- engine/safety.py -----------------------------------------------------------------------


@pytest.mark.parametrize("share", [0, 1, 0.0, 1.0, 0.5])
def test_share_bounds_0_and_1_are_allowed(share):
    allow = Allowances.from_dict({"fleet_delete_share": share})
    assert allow.fleet_delete_share == float(share)
    assert isinstance(allow.fleet_delete_share, float)


@pytest.mark.parametrize("share", [-0.01, 1.01, -1, 2, True, False, "0.5", None, [0.5]])
def test_shares_outside_0_and_1_and_non_numbers_are_refused(share):
    with pytest.raises(ValueError) as exc:
        Allowances.from_dict({"fleet_delete_share": share})
    assert str(exc.value) == "allowances.fleet_delete_share is not a share between 0 and 1"


def test_a_saved_allowance_is_exactly_true():
    assert Allowances.from_dict(
        {"mass_changes": True, "skip_unsafe": True, "new_secrets": True}
    ) == Allowances(mass_changes=True, skip_unsafe=True, new_secrets=True)
    assert (
        Allowances.from_dict({"mass_changes": "true", "skip_unsafe": 1, "new_secrets": "yes"})
        == Allowances()
    )
    assert Allowances.from_dict({}) == Allowances()
    assert Allowances.from_dict(None) == Allowances()
    assert Allowances.from_dict({}).fleet_delete_share == FLEET_DELETE_SHARE == 0.25
    with pytest.raises(TypeError) as exc:
        Allowances.from_dict([])
    assert str(exc.value) == "allowances is not an object"
    for allow in (Allowances(new_secrets=True), Allowances(skip_unsafe=True, mass_changes=True)):
        assert Allowances.from_dict(allow.to_dict()) == allow


def _key_plan(*names, slug="acme"):
    keys = [{"name": n, "mode": "live", "scopes": ["calls:read"]} for n in names]
    return make_plan(desired({"workspace": {"slug": slug}, "api_keys": keys}), live({}, slug=slug))


def test_a_saved_new_secrets_true_allows_new_key_secrets():
    plan = _key_plan("crm")
    message = (
        "1 API key would get a new secret (crm), shown once: give --new-secrets-to FILE to "
        "write it to a file (mode 0600)"
    )
    assert new_secret_refusal(plan) == Refusal(
        "new_secret_file", message, ("acme",), "--new-secrets-to"
    )
    assert [r.code for r in refusals([plan], Allowances())] == ["new_secret_file"]
    saved = Allowances.from_dict({"new_secrets": True})
    assert refusals([plan], saved) == []
    assert refusals([plan], Allowances.from_dict({"new_secrets": "true"})) != []


def test_several_new_key_secrets_are_named_in_one_refusal():
    found = new_secret_refusal(_key_plan("a", "b"))
    assert found is not None
    assert found.message == (
        "2 API keys would get a new secret (a, b), shown once: give --new-secrets-to FILE to "
        "write them to a file (mode 0600)"
    )
    assert found.line() == f"acme: {found.message}"
    assert found.to_dict() == {
        "code": "new_secret_file",
        "targets": ["acme"],
        "message": found.message,
        "allowed_by": "--new-secrets-to",
    }
    assert new_secret_refusal(_key_plan()) is None


def _fleet(deleting, total):
    out = []
    for i in range(total):
        slug = f"ws-{i}"
        keep = [] if i < deleting else [{"name": "x"}]
        d = desired({"workspace": {"slug": slug}, "call_tags": keep})
        out.append(make_plan(d, live({"call_tags": [{"name": "x"}]}, slug=slug)))
    return out


def test_fleet_share_bounds():
    assert fleet_refusals(_fleet(1, 4), 0) != []  # share 0: any delete is too many
    assert fleet_refusals(_fleet(0, 4), 0) == []
    assert fleet_refusals(_fleet(4, 4), 1) == []  # share 1: never
    assert fleet_refusals(_fleet(4, 4), 0.99) != []
    assert fleet_refusals(_fleet(1, 4), 0.25) == []  # exactly the share is allowed
    assert fleet_refusals(_fleet(2, 5), 0.4) == []
    assert fleet_refusals(_fleet(3, 5), 0.4) != []
    assert fleet_refusals(_fleet(3, 3), 0) == []  # fewer than 4 targets
    assert fleet_refusals(_fleet(4, 4), 0, minimum=5) == []
    assert fleet_refusals(_fleet(4, 4), 0, minimum=4) != []


def test_a_fleet_refusal_names_five_workspaces_then_an_ellipsis():
    (found,) = fleet_refusals(_fleet(6, 8), 0.25)
    assert found.message == (
        "6 of 8 workspaces would delete items (more than 25%: ws-0, ws-1, ws-2, ws-3, ws-4, …); "
        "pass --allow-mass-changes if intended"
    )
    assert found.targets == tuple(f"ws-{i}" for i in range(6))
    assert found.line() == f"fleet: {found.message}"
    assert found.to_dict()["allowed_by"] == "--allow-mass-changes"
    (five,) = fleet_refusals(_fleet(5, 8), 0.25)
    assert "(more than 25%: ws-0, ws-1, ws-2, ws-3, ws-4); pass" in five.message


def test_the_mass_flag_also_allows_the_fleet_share_and_the_share_is_read():
    plans = _fleet(2, 4)
    assert [r.code for r in refusals(plans, Allowances())] == ["fleet_delete_share"]
    assert refusals(plans, Allowances(mass_changes=True)) == []
    assert refusals(plans, Allowances(fleet_delete_share=0.5)) == []


def test_a_refusal_without_a_flag_says_so_as_none():
    found = Refusal("last_owner", "m", ("a", "b"))
    assert found.to_dict() == {
        "code": "last_owner",
        "targets": ["a", "b"],
        "message": "m",
        "allowed_by": None,
    }
    assert found.line() == "a, b: m"


# --- engine/diff.py -------------------------------------------------------------------------


def test_one_declared_item_matching_an_ignore_glob_leaves_the_other_creates():
    """Mutant: after the first declared-and-ignored key, the rest of the creates are dropped."""
    d = desired(
        {
            "call_tags": [{"name": "a-legacy"}, {"name": "b-new"}, {"name": "c-new"}],
            "ignore": {"call_tags": ["a-*"]},
        }
    )
    plan = make_plan(d, live({}))
    assert [(c.action, c.key) for c in plan.changes] == [("create", "b-new"), ("create", "c-new")]
    assert plan.reports["call_tags"].declared_ignored == ["a-legacy"]


def test_one_declared_item_matching_an_ignore_glob_leaves_the_other_updates():
    live_tags = [{"name": n, "color": "#111111"} for n in ("a-legacy", "b", "c")]
    d = desired(
        {
            "call_tags": [{"name": n, "color": "#222222"} for n in ("a-legacy", "b", "c")],
            "ignore": {"call_tags": ["A-*"]},
        }
    )
    plan = make_plan(d, live({"call_tags": live_tags}))
    assert [(c.action, c.key) for c in plan.changes] == [("update", "b"), ("update", "c")]
    assert plan.reports["call_tags"].declared_ignored == ["a-legacy"]
    assert plan.reports["call_tags"].ignored == 1


def test_a_change_two_models_deep_is_named_to_its_field():
    """Mutant: a change inside a model inside a model is named one level too high."""
    model = BY_NAME["members"].model
    before = {"email": "a@x.example", "notifications": {"system": {"email": True, "in_app": True}}}
    after = {"email": "a@x.example", "notifications": {"system": {"email": False, "in_app": True}}}
    assert [(c.path, c.before, c.after) for c in field_changes(before, after, model)] == [
        ("notifications.system.email", True, False)
    ]


# --- engine/plan.py: the rest of the refusal functions (found by scripts/mutation) ----------


def test_a_member_reassigned_to_a_role_created_in_the_same_plan_frees_the_old_one():
    """The role create comes first in the plan: the in-use check must still read the member
    update after it (mutant: `continue` became `break`)."""
    d = desired(
        {
            "roles": [{"name": "new-desk", "permissions": []}],
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "d@acme.example", "role": "new-desk"},
            ],
        }
    )
    lv = live(
        {
            "roles": [{"name": "desk", "permissions": []}],
            "members": [OWNER, {"email": "d@acme.example", "role": "desk", "status": "active"}],
        }
    )
    plan = make_plan(d, lv)
    assert next((c.action, c.kind) for c in plan.changes) == ("create", "roles")
    assert plan.in_use == []


def test_an_unrelated_update_of_a_webhook_keeps_its_filter_on_a_deleted_tag():
    """The webhook's update does not name `filters` (unmanaged): what it keeps comes from the
    live item (mutants: the overlay started from nothing; the webhook counted twice)."""
    hook = {"name": "w", "url": "https://h.example.com/", "events": ["call.completed"]}
    d = desired(
        {
            "call_tags": [{"name": "keep"}],
            "webhooks": [{**hook, "url": "https://h2.example.com/"}],
        }
    )
    lv = live(
        {
            "call_tags": [{"name": "keep"}, {"name": "spam"}],
            "webhooks": [{**hook, "filters": {"tags": ["spam"]}}],
        }
    )
    plan = make_plan(d, lv)
    assert ("update", "webhooks", "w") in [(c.action, c.kind, c.key) for c in plan.changes]
    assert plan.in_use == ["call tag spam is deleted but webhook w still filters on it"]


def test_updating_a_role_or_tag_in_use_is_not_deleting_it():
    lv = live(
        {
            "roles": [{"name": "desk", "permissions": []}],
            "call_tags": [{"name": "spam", "color": "#111111"}],
            "members": [
                OWNER,
                {"email": "d@acme.example", "role": "desk", "status": "active"},
                {"email": "gone@acme.example", "role": "desk", "status": "active"},
            ],
            "webhooks": [
                {
                    "name": "w",
                    "url": "https://h.example.com/",
                    "events": ["call.completed"],
                    "filters": {"tags": ["spam"]},
                }
            ],
            "call_rules": {"rule": {"tag": "spam"}},
        }
    )
    d = desired(
        {
            "roles": [{"name": "desk", "permissions": ["reports:read"]}],
            "call_tags": [{"name": "spam", "color": "#222222"}],
            "members": [
                {"email": "owner@acme.example", "role": "owner"},
                {"email": "d@acme.example", "role": "desk"},
            ],
        }
    )
    plan = make_plan(d, lv)
    assert sorted((c.action, c.kind) for c in plan.changes) == [
        ("delete", "members"),
        ("update", "call_tags"),
        ("update", "roles"),
    ]
    assert plan.in_use == []


@pytest.mark.parametrize("missing", ["members", "webhooks", "call_rules"])
def test_the_in_use_check_reads_a_kind_the_live_state_does_not_hold(missing):
    lv = live(
        {
            "roles": [{"name": "desk", "permissions": []}],
            "call_tags": [{"name": "keep"}, {"name": "spam"}],
            "members": [OWNER],
        }
    )
    del lv.items[missing]
    plan = make_plan(desired({"roles": [], "call_tags": [{"name": "keep"}]}), lv)
    assert {(c.action, c.key) for c in plan.changes} == {("delete", "desk"), ("delete", "spam")}
    assert plan.in_use == []


def test_checks_and_in_use_refusals_name_their_workspace():
    d = desired({"integrations": {"required": ["slack"]}, "roles": []})
    lv = live(
        {
            "roles": [{"name": "desk", "permissions": []}],
            "members": [OWNER, {"email": "d@acme.example", "role": "desk", "status": "active"}],
        }
    )
    found = make_plan(d, lv).refusals()
    assert [r.to_dict() for r in found] == [
        {
            "code": "in_use",
            "targets": ["acme"],
            "message": "role desk is deleted but member d@acme.example keeps it; manage that "
            "member's role here, or keep the role",
            "allowed_by": None,
        },
        {
            "code": "integration_not_connected",
            "targets": ["acme"],
            "message": "required integration 'slack' is not connected (it is not set up); "
            "connect it in Settings > Integrations before applying",
            "allowed_by": None,
        },
    ]


def test_raise_if_unsafe_honours_the_mass_flag():
    tags = [{"name": f"t{i}"} for i in range(10)]
    plan = make_plan(desired({"call_tags": tags[:6]}), live({"call_tags": tags}))
    with pytest.raises(UnsafePlanError) as exc:
        plan.raise_if_unsafe()
    assert exc.value.reasons == [
        "acme: deletes 4 of 10 call tags (more than 30%); pass --allow-mass-changes if intended"
    ]
    plan.raise_if_unsafe(allow_mass_changes=True)


def test_an_unsafe_plan_names_the_allowance_only_when_every_refusal_has_one():
    """Mutants (raise_if_unsafe): the error's ``allowances`` always empty, never empty, or
    inverted. A mass change alone can be allowed (``mass_changes``); with a last-owner refusal
    beside it, which no flag allows, nothing can."""
    tags = [{"name": f"t{i}"} for i in range(10)]
    mass = make_plan(desired({"call_tags": tags[:6]}), live({"call_tags": tags}))
    with pytest.raises(UnsafePlanError) as exc:
        mass.raise_if_unsafe()
    assert exc.value.allowances == ("mass_changes",)
    both = make_plan(
        desired(
            {"call_tags": tags[:6], "members": [{"email": "owner@acme.example", "role": "admin"}]}
        ),
        live({"call_tags": tags, "members": [{"email": "owner@acme.example", "role": "owner"}]}),
    )
    with pytest.raises(UnsafePlanError) as exc:
        both.raise_if_unsafe()
    assert exc.value.allowances == ()
    assert len(exc.value.reasons) == 2


def test_an_owner_without_a_status_is_an_active_owner():
    d = desired({"members": [{"email": "owner@acme.example", "role": "admin"}]})
    plan = make_plan(d, live({"members": [{"email": "owner@acme.example", "role": "owner"}]}))
    assert plan.live_owners == {"owner@acme.example"}
    assert plan.refusal_messages() == [LAST_OWNER]


def test_updating_the_last_owner_without_demoting_them_is_fine():
    d = desired(
        {
            "members": [
                {
                    "email": "owner@acme.example",
                    "role": "owner",
                    "notifications": {"system": {"email": False}},
                }
            ]
        }
    )
    plan = make_plan(d, live({"members": [OWNER]}))
    assert [(c.action, c.key) for c in plan.changes] == [("update", "owner@acme.example")]
    assert plan.refusal_messages() == []


def test_the_last_owner_message_names_only_the_owners_lost():
    d = desired({"members": [{"email": "c@acme.example", "role": "admin"}]})
    lv = live(
        {
            "members": [
                OWNER,
                {"email": "b@acme.example", "role": "owner", "status": "active"},
                {"email": "c@acme.example", "role": "client", "status": "active"},
                {"email": "x@acme.example", "role": "client", "status": "active"},
            ]
        }
    )
    assert make_plan(d, lv).refusal_messages() == [
        "the plan removes or demotes the last active owner (b@acme.example, owner@acme.example)"
        "; keep an owner until a new one has accepted their invitation"
    ]


def test_a_created_webhook_is_read_when_the_live_state_lacks_webhooks():
    """Mutant: the created-items part of the in-use walk read `live.items.get(kind, None)`."""
    lv = live({"call_tags": [{"name": "keep"}, {"name": "spam"}]})
    del lv.items["webhooks"]
    hook = {"name": "new", "url": "https://h.example.com/", "events": ["call.completed"]}
    d = desired(
        {"call_tags": [{"name": "keep"}], "webhooks": [{**hook, "filters": {"tags": ["spam"]}}]}
    )
    assert make_plan(d, lv).in_use == [
        "call tag spam is deleted but webhook new still filters on it"
    ]
