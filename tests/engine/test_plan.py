import json

import pytest

from wscfg.engine.plan import (
    Plan,
    check_fresh,
    make_plan,
    plans_from_document,
    plans_to_document,
)
from wscfg.errors import PlanFileError, StalePlanError, UnsafePlanError
from wscfg.model import secret_fingerprint

from .helpers import desired, live

OWNER = {"email": "owner@acme.example", "role": "owner", "status": "active"}


def tags(n, prefix="t"):
    return [{"name": f"{prefix}{i}"} for i in range(n)]


def test_removing_the_last_owner_is_refused_even_with_the_flag():
    d = desired({"members": [{"email": "new@acme.example", "role": "owner"}]})
    plan = make_plan(d, live({"members": [OWNER]}))
    with pytest.raises(UnsafePlanError) as err:
        plan.raise_if_unsafe(allow_mass_changes=True)
    assert "last active owner (owner@acme.example)" in str(err.value)


def test_a_pending_owner_does_not_count_as_an_owner():
    d = desired(
        {
            "members": [
                {"email": "owner@acme.example", "role": "admin"},
                {"email": "p@acme.example", "role": "owner"},
            ]
        }
    )
    lv = live(
        {"members": [OWNER, {"email": "p@acme.example", "role": "owner", "status": "pending"}]}
    )
    assert make_plan(d, lv).refusal_messages() != []


def test_keeping_another_active_owner_is_fine():
    d = desired({"members": [{"email": "b@acme.example", "role": "owner"}]})
    lv = live(
        {"members": [OWNER, {"email": "b@acme.example", "role": "owner", "status": "active"}]}
    )
    plan = make_plan(d, lv)
    assert [c.action for c in plan.changes] == ["delete"]
    plan.raise_if_unsafe()


@pytest.mark.parametrize(
    ("live_n", "keep", "unsafe"),
    [(10, 7, False), (10, 6, True), (9, 0, False), (100, 69, True), (100, 70, False)],
)
def test_mass_deletes_need_the_flag(live_n, keep, unsafe):
    plan = make_plan(desired({"call_tags": tags(keep)}), live({"call_tags": tags(live_n)}))
    assert bool(plan.refusal_messages()) is unsafe
    assert plan.refusal_messages(allow_mass_changes=True) == []
    if unsafe:
        n = live_n - keep
        reason = f"deletes {n} of {live_n} call tags (more than 30%)"
        assert plan.refusal_messages() == [f"{reason}; pass --allow-mass-changes if intended"]


def test_mass_updates_need_the_flag():
    d = desired({"call_tags": [{"name": f"t{i}", "color": "#000000"} for i in range(10)]})
    plan = make_plan(d, live({"call_tags": tags(10)}))
    assert plan.refusal_messages() == [
        "updates 10 of 10 call tags (more than 30%); pass --allow-mass-changes if intended"
    ]


def test_saved_plan_round_trips_and_holds_no_secret():
    d = desired(
        {
            "webhooks": [
                {"name": "w", "url": "https://h.example.com/", "secret": "very-secret-value"}
            ]
        }
    )
    plan = make_plan(d, live({}))
    text = json.dumps(plans_to_document([plan], server="http://x"))
    assert "very-secret-value" not in text
    assert secret_fingerprint("very-secret-value") not in text  # nothing to test guesses against
    (again,), server = plans_from_document(json.loads(text))
    assert server == "http://x"
    assert again.changes[0].after["secret"] == {"env": "HOOK_SECRET"}
    rest = {k: v for k, v in again.changes[0].after.items() if k != "secret"}
    assert rest == {k: v for k, v in plan.changes[0].after.items() if k != "secret"}


def test_stale_saved_plan_is_refused_naming_what_changed():
    before = live({"members": [OWNER], "call_tags": [{"name": "a", "etag": "1"}, {"name": "b"}]})
    plan = make_plan(
        desired(
            {
                "members": [{"email": "owner@acme.example", "role": "owner"}],
                "call_tags": [{"name": "a", "color": "#000"}, {"name": "c", "color": "#111"}],
            }
        ),
        before,
    )
    check_fresh(plan, before)  # nothing changed: fine
    after = live(
        {
            "members": [OWNER],
            "call_tags": [
                {"name": "a", "etag": "2"},
                {"name": "b"},
                {"name": "c", "color": "#222222"},
            ],
        }
    )
    with pytest.raises(StalePlanError) as err:
        check_fresh(plan, after)
    assert err.value.changed == [
        "acme: call_tags[c] was created by someone else",
        "acme: call_tags[a] changed (ETag 1 is now 2)",
    ]
    assert not err.value.applied


def test_a_plan_whose_every_item_is_in_place_was_applied_already():
    before = live({"members": [OWNER], "call_tags": [{"name": "a", "etag": "1"}, {"name": "b"}]})
    plan = make_plan(
        desired(
            {
                "members": [{"email": "owner@acme.example", "role": "owner"}],
                "call_tags": [{"name": "a", "color": "#000"}, {"name": "c", "color": "#111"}],
            }
        ),
        before,
    )
    assert {c.action for c in plan.changes} == {"create", "update", "delete"}
    applied = live(
        {
            "members": [OWNER],
            "call_tags": [
                {"name": "a", "color": "#000000", "etag": "2"},
                {"name": "c", "color": "#111111"},
            ],
        }
    )
    with pytest.raises(StalePlanError) as err:
        check_fresh(plan, applied)
    assert err.value.applied
    assert str(err.value).startswith("the saved plan was already applied")
    # one item not as planned (c's colour): stale, the others named as in place
    almost = live(
        {
            "members": [OWNER],
            "call_tags": [
                {"name": "a", "color": "#000000", "etag": "2"},
                {"name": "c", "color": "#999999"},
            ],
        }
    )
    with pytest.raises(StalePlanError) as err:
        check_fresh(plan, almost)
    assert not err.value.applied
    assert err.value.changed == [
        "acme: call_tags[c] was created by someone else",
        "acme: call_tags[a] is already as this plan would leave it",
        "acme: call_tags[b] is already as this plan would leave it",
    ]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"format": "other"}, 'not a wscfg plan file (missing "format": "wscfg-plan")'),
        ({"format": "wscfg-plan", "version": 99}, "plan file version 99 is not supported"),
        ({"format": "wscfg-plan", "version": 2, "targets": [{}]}, "the plan file is damaged"),
    ],
)
def test_bad_plan_files_are_refused(doc, message):
    with pytest.raises(PlanFileError) as err:
        plans_from_document(doc)
    assert message in str(err.value)


def test_empty_plan_summary():
    plan = Plan("acme")
    assert plan.empty and plan.summary() == "Plan: 0 to add, 0 to change, 0 to delete."


def test_deleting_a_role_a_kept_member_uses_is_refused_at_plan_time():
    d = desired({"roles": []})  # members are not managed here
    lv = live(
        {
            "roles": [{"name": "desk"}],
            "members": [OWNER, {"email": "d@acme.example", "role": "desk", "status": "active"}],
        }
    )
    assert make_plan(d, lv).refusal_messages(allow_mass_changes=True) == [
        "role desk is deleted but member d@acme.example keeps it; manage that member's role "
        "here, or keep the role"
    ]


def test_deleting_a_tag_still_used_by_rules_or_webhooks_is_refused():
    d = desired({"call_tags": [{"name": "keep"}]})
    lv = live(
        {
            "call_tags": [{"name": "keep"}, {"name": "spam"}],
            "call_rules": {"rule": {"all": [{"not_tag": "spam"}, {"tag": "keep"}]}},
            "webhooks": [
                {"name": "w", "url": "https://h.example.com/", "filters": {"tags": ["spam"]}}
            ],
        }
    )
    assert make_plan(d, lv).refusal_messages() == [
        "call tag spam is deleted but the call rules still use it",
        "call tag spam is deleted but webhook w still filters on it",
    ]


def test_deleting_a_tag_is_fine_when_the_rules_stop_using_it():
    d = desired({"call_tags": [{"name": "keep"}], "call_rules": {"rule": {"tag": "keep"}}})
    lv = live(
        {"call_tags": [{"name": "keep"}, {"name": "spam"}], "call_rules": {"rule": {"tag": "spam"}}}
    )
    plan = make_plan(d, lv)
    assert [c.action for c in plan.changes] == ["update", "delete"]
    assert plan.refusal_messages() == []
