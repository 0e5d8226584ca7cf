"""Refusals: one list with machine-readable codes, per workspace and fleet-wide (pure)."""

from __future__ import annotations

import json

import pytest

from wscfg.engine.plan import allowances_of, make_plan, plans_to_document
from wscfg.engine.safety import Allowances, Refusal, fleet_refusals, refusals, refused_targets
from wscfg.errors import PlanFileError

from .helpers import desired, live

OWNER = {"email": "owner@acme.example", "role": "owner", "status": "active"}


def fleet(deleting: int, total: int):
    out = []
    for i in range(total):
        slug = f"ws-{i}"
        keep = [] if i < deleting else [{"name": "x"}]
        d = desired({"workspace": {"slug": slug}, "call_tags": keep})
        out.append(make_plan(d, live({"call_tags": [{"name": "x"}]}, slug=slug)))
    return out


def test_too_many_workspaces_deleting_is_a_fleet_refusal():
    assert fleet_refusals(fleet(1, 4), 0.25) == []
    assert fleet_refusals(fleet(2, 4), 0.25) == [
        Refusal(
            "fleet_delete_share",
            "2 of 4 workspaces would delete items (more than 25%: ws-0, ws-1); "
            "pass --allow-mass-changes if intended",
            ("ws-0", "ws-1"),
            "--allow-mass-changes",
        )
    ]
    assert fleet_refusals(fleet(3, 3), 0.25) == []  # fewer than 4 targets
    assert fleet_refusals(fleet(2, 4), 0.5) == []


def test_refusals_carry_codes_and_the_allowing_flag():
    tags = [{"name": f"t{i}"} for i in range(10)]
    mass = make_plan(
        desired({"workspace": {"slug": "a"}, "call_tags": tags[:6]}),
        live({"call_tags": tags}, slug="a"),
    )
    owner = make_plan(
        desired(
            {"workspace": {"slug": "b"}, "members": [{"email": "n@x.example", "role": "owner"}]}
        ),
        live({"members": [OWNER]}, slug="b"),
    )
    found = refusals([mass, owner], Allowances())
    assert [(r.code, r.targets, r.allowed_by) for r in found] == [
        ("mass_delete", ("a",), "--allow-mass-changes"),
        ("last_owner", ("b",), ""),
    ]
    assert found[0].line() == (
        "a: deletes 4 of 10 call tags (more than 30%); pass --allow-mass-changes if intended"
    )
    # The flag allows the mass change, never the last owner.
    allowed = refusals([mass, owner], Allowances(mass_changes=True))
    assert [r.code for r in allowed] == ["last_owner"]
    assert refused_targets(found) == {"a", "b"}


def test_in_use_deletes_are_refusals():
    lv = live(
        {
            "roles": [{"name": "desk", "permissions": []}],
            "members": [OWNER, {"email": "d@x.example", "role": "desk", "status": "active"}],
        }
    )
    plan = make_plan(desired({"roles": []}), lv)  # members are not managed here
    assert [r.code for r in plan.refusals()] == ["in_use"]


def test_saved_document_records_allowances_and_refusals():
    plans = fleet(2, 4)
    doc = json.loads(json.dumps(plans_to_document(plans, server="s", allowances=Allowances())))
    assert doc["allowances"] == {
        "mass_changes": False,
        "fleet_delete_share": 0.25,
        "skip_unsafe": False,
        "new_secrets": False,
    }
    assert [r["code"] for r in doc["refusals"]] == ["fleet_delete_share"]
    assert allowances_of(doc) == Allowances()
    allowed = plans_to_document(plans, server="s", allowances=Allowances(mass_changes=True))
    assert allowed["refusals"] == []
    assert allowances_of(allowed) == Allowances(mass_changes=True)
    assert allowances_of({"format": "wscfg-plan"}) == Allowances()


@pytest.mark.parametrize("bad", [[], {"fleet_delete_share": 2}, {"fleet_delete_share": "x"}])
def test_damaged_allowances_are_a_plan_file_error(bad):
    with pytest.raises(PlanFileError):
        allowances_of({"allowances": bad})
