"""DESIGN §6.2 — export round-trip: plan(export(L), L) is empty, for random live states L.

L is made through the API; export goes through YAML text and back through the real loader."""

from __future__ import annotations

import asyncio
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscfg.api.client import ApiClient
from wscfg.config.dump import to_yaml
from wscfg.config.validate import load_targets
from wscfg.engine.apply import apply_plan, secrets_from_desired
from wscfg.engine.export import export_live
from wscfg.engine.plan import make_plan
from wscfg.engine.state import desired_state
from wscfg.fleet import read_live
from wscfg.sandbox.testing import unique

from .helpers import desired
from .strategies import INTEGRATIONS, workspace_doc

EXAMPLES = int(os.environ.get("WSCFG_EXPORT_EXAMPLES", "60"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_export_plans_to_zero_changes(sandbox, tmp_path_factory, data):
    slug = unique("exp")
    key = sandbox.create_workspace(slug)
    live_doc = data.draw(workspace_doc(slug), label="live")
    # integrations are read-only: connected (or not) in the UI, listed by export as comments
    statuses = st.sampled_from(["connected", "setup_incomplete", "disconnected"])
    connected = data.draw(st.dictionaries(st.sampled_from(INTEGRATIONS), statuses), label="ui")
    for name in INTEGRATIONS:
        sandbox.set_integration(slug, name, connected.get(name, "connected"))
    folder = tmp_path_factory.mktemp("export")

    async def run():
        async with ApiClient(sandbox.url, key) as client:
            d = desired(live_doc)
            setup = await apply_plan(
                make_plan(d, await read_live(client, slug)),
                client.workspace(slug),
                secrets_from_desired(d),
                on_secret=lambda name, secret: None,  # new API keys: not what this tests
            )
            assert setup.complete
            live = await read_live(client, slug)
            exported = export_live(live)
            path = folder / f"{slug}.yaml"
            footer = exported.read_only_section()
            text = to_yaml(exported.document, secrets=exported.secrets, footer=footer)
            path.write_text(text)
            (target,) = load_targets([str(path)], environ={})
            return make_plan(desired_state(target), live), exported

    plan, exported = asyncio.run(run())
    assert plan.empty, [c.to_dict() for c in plan.changes]
    assert plan.failed_checks == []
    assert exported.integrations == {n: connected.get(n, "connected") for n in INTEGRATIONS}
    hooks = {h["name"] for h in exported.document.get("webhooks", [])}
    assert set(exported.secrets) <= hooks
