"""Platform defaults are not drift: a value nobody wrote since the platform set it is the
platform's default, in the plan's notes, its Origins line and `wscfg drift`."""

from __future__ import annotations

from wscfg.engine.changes import FieldChange, Update
from wscfg.engine.origin import attribute


def update(*paths: str) -> Update:
    return Update(
        "workspace", "", before={}, after={}, fields=[FieldChange(p, 1, 2) for p in paths]
    )


def entry(actor_type: str, fields: list[str], client: str = "Mozilla/5.0", via: str = "ui"):
    return {
        "kind": "workspace",
        "key": "",
        "action": "update" if actor_type != "system" else "create",
        "fields": fields,
        "actor": {"type": actor_type, "name": "jane@acme.example"},
        "via": via,
        "client": client,
        "at": "2026-11-27T14:03:09Z",
        "id": 1,
    }


def test_a_field_nobody_wrote_is_the_platforms_default():
    change = update("timezone")
    attribute([change], [])
    assert change.origin.source == "default" and not change.origin.drift
    assert change.fields[0].origin.note() == "replaces the platform's default"


def test_a_value_the_platform_set_is_its_default():
    change = update("timezone")
    created = {**entry("system", []), "actor": {"type": "system", "name": "admin"}}
    attribute([change], [created])
    assert change.origin.source == "default"


def test_a_person_after_the_platform_is_drift_and_wscfg_is_config():
    people = update("timezone", "name")
    system = {**entry("system", []), "actor": {"type": "system", "name": "admin"}, "id": 1}
    ui = {**entry("user", ["timezone"]), "at": "2026-11-28T10:00:00Z", "id": 2}
    ours = {
        **entry("api_key", ["name"], client="wscfg/0.1", via="api"),
        "at": "2026-11-28T11:00:00Z",
        "id": 3,
    }
    attribute([people], [system, ui, ours])
    by_path = {f.path: f.origin.source for f in people.fields}
    assert by_path == {"timezone": "drift", "name": "config"}
    assert people.origin.source == "drift"
