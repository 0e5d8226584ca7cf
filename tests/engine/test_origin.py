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
    assert change.origin.attribution == "default" and not change.origin.drift
    assert change.fields[0].origin.note() == "replaces the platform's default"


def test_a_value_the_platform_set_is_its_default():
    change = update("timezone")
    created = {**entry("system", []), "actor": {"type": "system", "name": "admin"}}
    attribute([change], [created])
    assert change.origin.attribution == "default"


def test_a_person_after_the_platform_is_drift_and_wscfg_is_config():
    people = update("timezone", "name")
    system = {**entry("system", []), "actor": {"type": "system", "name": "admin"}, "id": 1}
    ui = {**entry("user", ["timezone"]), "at": "2026-11-28T10:00:00Z", "id": 2}
    ours = {
        **entry("api_key", ["name"], client="zapier/1", via="api"),
        "actor": {"type": "api_key", "name": "deploy", "key_id": "key_deploy"},
        "at": "2026-11-28T11:00:00Z",
        "id": 3,
    }
    attribute([people], [system, ui, ours], {"key_deploy"})
    by_path = {f.path: f.origin.attribution for f in people.fields}
    assert by_path == {"timezone": "drift", "name": "config"}
    assert people.origin.attribution == "drift"


def test_wscfg_is_decided_by_the_key_that_wrote_never_the_user_agent():
    """#21 item 6: a foreign key sending `User-Agent: wscfg/0.1.0` is drift by that key; a
    wscfg key with any User-Agent is config; an entry without a key id is never wscfg's."""
    spoof = {
        **entry("api_key", ["name"], client="wscfg/0.1.0", via="api"),
        "actor": {"type": "api_key", "name": "zapier", "key_id": "key_zapier"},
    }
    change = update("name")
    attribute([change], [spoof], {"key_run", "key_deploy"})
    origin = change.fields[0].origin
    assert (origin.attribution, origin.actor_name, origin.client) == (
        "drift",
        "zapier",
        "wscfg/0.1.0",
    )
    ours = {**spoof, "actor": {**spoof["actor"], "key_id": "key_run"}, "client": "curl/8"}
    change = update("name")
    attribute([change], [ours], {"key_run"})
    assert change.origin.attribution == "config"
    ui = {**ours, "via": "ui"}  # a member's key (the UI) is a person, even with wscfg's id
    change = update("name")
    attribute([change], [ui], {"key_run"})
    assert change.origin.attribution == "drift"
    no_id = {**spoof, "actor": {"type": "api_key", "name": "zapier"}}
    change = update("name")
    attribute([change], [no_id], {"key_run"})
    assert change.origin.attribution == "drift"
