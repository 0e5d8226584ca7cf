"""Invariant 12, property-tested against the real sandbox: for any sequence of wscfg applies
and foreign edits (a person in the UI, another integration's API key), every difference of the
next plan is classed `config` or `drift` correctly, with the foreign actor.

The model remembers who last wrote each call tag's colour and who created or deleted each tag;
the plan's attribution (from the audit log) must agree with it. wscfg applies with the run's
key or with a deploy key named in ``apply_keys`` (WSCFG_APPLY_KEY_IDS); foreign writers may
send wscfg's own User-Agent, which must change nothing (#21 item 6: decided from the key)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wscfg.api.client import ApiClient
from wscfg.api.exchange import USER_AGENT
from wscfg.config.validate import load_targets
from wscfg.engine.apply import apply_plan, secrets_from_desired
from wscfg.engine.state import desired_state
from wscfg.fleet import plan_fleet
from wscfg.sandbox import admin

JANE = "jane@acme.example"
TAGS = ("a", "b", "c")
COLOURS = ("#111111", "#222222", "#333333")
WSCFG = ("wscfg", None)
UI = ("user", JANE)
OTHER = ("api_key", "zapier")

configs = st.dictionaries(st.sampled_from(TAGS), st.sampled_from(COLOURS), max_size=3)
foreign = st.tuples(
    st.sampled_from(["ui", "other"]),
    st.sampled_from(["set", "create", "delete"]),
    st.sampled_from(TAGS),
    st.sampled_from(COLOURS),
    st.sampled_from([USER_AGENT, "wscfg", "Mozilla/5.0", "zapier-sync/2.1"]),  # any claim
)
applies = st.tuples(st.just("apply"), configs, st.sampled_from(["run", "deploy"]))
steps = st.lists(st.one_of(applies, foreign, foreign), max_size=6)


def yaml_of(slug: str, tags: dict[str, str]) -> str:
    lines = [
        "version: 1",
        f"workspace: {{slug: {slug}, name: {slug}, timezone: UTC}}",
        "call_tags:" + ("" if tags else " []"),
    ]
    lines += [f'  - {{name: {t}, color: "{c}"}}' for t, c in sorted(tags.items())]
    return "\n".join(lines) + "\n"


class Model:
    """Live call tags and, per tag, who wrote its colour last and who made it exist (or not)."""

    def __init__(self) -> None:
        self.colour: dict[str, str] = {}
        self.colour_by: dict[str, tuple[str, str | None]] = {}
        self.exists_by: dict[str, tuple[str, str | None]] = {}  # creator, or deleter if gone

    def create(self, tag: str, colour: str, who: tuple[str, str | None]) -> None:
        self.colour[tag] = colour
        self.colour_by[tag] = self.exists_by[tag] = who

    def set(self, tag: str, colour: str, who: tuple[str, str | None]) -> None:
        if self.colour[tag] != colour:
            self.colour[tag] = colour
            self.colour_by[tag] = who

    def delete(self, tag: str, who: tuple[str, str | None]) -> None:
        del self.colour[tag]
        self.exists_by[tag] = who

    def expected(self, change: Any) -> tuple[str, str | None]:
        """(source, actor name) the plan must show for ``change``."""
        if change.action == "update":
            who = self.colour_by[change.key]
        elif change.action == "create":
            who = self.exists_by.get(change.key, WSCFG)  # never existed: the config adds it
        else:
            who = self.exists_by[change.key]
        return ("config", None) if who == WSCFG else ("drift", who[1])


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps, final=configs)
def test_every_difference_is_classed_with_its_actor(sandbox, history, final):
    ws = sandbox.new_workspace("prop", owner=JANE)
    ui = admin.new_key(sandbox.db_url, admin.KeyRequest(workspace=ws.slug, as_user=JANE)).secret
    other = admin.new_key(sandbox.db_url, admin.KeyRequest(workspace=ws.slug, name="zapier")).secret
    deploy = admin.new_key(sandbox.db_url, admin.KeyRequest(workspace=ws.slug, name="deploy"))
    model = Model()
    with tempfile.TemporaryDirectory() as tmp, httpx.Client(base_url=ws.url) as http:
        cfg = Path(tmp) / "ws.yaml"

        def plan_for(tags: dict[str, str]) -> Any:
            cfg.write_text(yaml_of(ws.slug, tags))
            state = desired_state(load_targets([str(cfg)])[0])

            async def go() -> Any:
                async with ApiClient(sandbox.url, ws.key, apply_keys=[deploy.id]) as client:
                    run = await plan_fleet(client, [state])
                    return run.plans[0], state

            return asyncio.run(go())

        def wscfg_apply(tags: dict[str, str], with_key: str) -> None:
            plan, state = plan_for(tags)
            key = ws.key if with_key == "run" else deploy.secret

            async def go() -> None:
                async with ApiClient(sandbox.url, key, apply_keys=()) as client:
                    report = await apply_plan(
                        plan, client.workspace(ws.slug), secrets_from_desired(state)
                    )
                    assert report.complete

            asyncio.run(go())
            for tag in list(model.colour):
                if tag not in tags:
                    model.delete(tag, WSCFG)
            for tag, colour in tags.items():
                if tag in model.colour:
                    model.set(tag, colour, WSCFG)
                else:
                    model.create(tag, colour, WSCFG)

        for step in history:
            if step[0] == "apply":
                wscfg_apply(step[1], step[2])
                continue
            actor, op, tag, colour, agent = step
            key, who = (ui, UI) if actor == "ui" else (other, OTHER)
            event(f"foreign write claiming {agent}")
            headers = {"Authorization": f"Bearer {key}", "User-Agent": agent}
            if tag not in model.colour:  # every foreign step lands: what exists decides the op
                r = http.post("/call-tags", json={"name": tag, "color": colour}, headers=headers)
                r.raise_for_status()
                model.create(tag, colour, who)
            elif op in ("set", "create"):
                r = http.patch(f"/call-tags/{tag}", json={"color": colour}, headers=headers)
                r.raise_for_status()
                model.set(tag, colour, who)
            else:
                http.delete(f"/call-tags/{tag}", headers=headers).raise_for_status()
                model.delete(tag, who)

        plan, _ = plan_for(final)
        got = {}
        for change in plan.changes:
            assert change.origin is not None
            origin = change.origin
            got[(change.action, change.key)] = (origin.attribution, origin.actor_name)
            event(f"{change.action} from {origin.attribution}")
        want = {(c.action, c.key): model.expected(c) for c in plan.changes}
        assert got == want
        expected_live = set(model.colour)
        assert {c.key for c in plan.changes if c.action == "delete"} == expected_live - set(final)
