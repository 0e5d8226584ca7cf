"""Stateful fuzzing of the sandbox with schemathesis (issue 6 §5): sequences of calls where
each step uses what an earlier one returned (create → read → update with its ETag → delete →
read the deleted item), as a client would, beyond tests/sandbox/test_openapi.py's one-request
fuzzing of every operation.

The served OpenAPI document names items by natural key, which schemathesis cannot infer, so
this test adds OpenAPI links to a copy of it (create → get/update/delete, get → update/delete,
update → get/delete, delete → get, member create → resend, singleton get → update). Every
answer is checked (no 5xx; status, headers, content type and body as documented; a created
item is readable; a deleted one is gone) and after each scenario the workspace must still be
valid: every stored item validates with its model and an active owner remains.
Bounded for CI with a fixed seed.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import httpx
import pytest

from wscfg.sandbox.testing import SandboxServer

from .checks import integrity_violations

schemathesis = pytest.importorskip("schemathesis")

COLLECTIONS = {
    "roles": "name",
    "call-tags": "name",
    "members": "email",
    "webhooks": "name",
    "blocked-callers": "number",
}
SINGLETONS = {"": "workspace", "/call-rules": "call_rules", "/notifications": "notifications"}
SCENARIOS = int(os.environ.get("WSCFG_STATEFUL_EXAMPLES", "60"))


# Rules the server enforces that the document cannot state (real phone numbers, public https
# URLs…), written as patterns in the test's copy so most generated bodies are accepted and the
# sequences reach deep; invalid input is the stateless run's job (tests/sandbox).
REALISTIC: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,12}$"},
    "email": {"type": "string", "pattern": "^[a-z]{1,8}@stateful\\.example$"},
    "number": {"type": "string", "pattern": "^\\+1555010[0-9]{4}$"},
    "color": {"type": "string", "pattern": "^#[0-9a-f]{6}$"},
    "url": {"type": "string", "pattern": "^https://hooks\\.example\\.com/[a-z]{1,8}$"},
    "role": {"type": "string", "enum": ["admin", "member", "client", "desk"]},
}


def realistic(doc: dict[str, Any]) -> None:
    for name, schema in doc["components"]["schemas"].items():
        if not name.startswith(("CallTag", "Role", "Member", "BlockedCaller", "Webhook")):
            continue
        for field, prop in schema.get("properties", {}).items():
            if field in REALISTIC and not prop.get("readOnly"):
                if (name.startswith("Webhook") and field == "name") or field != "name":
                    schema["properties"][field] = dict(REALISTIC[field])
                else:
                    schema["properties"][field] = dict(REALISTIC["name"])
    for path in [p for p in doc["paths"] if "/api-keys" in p]:
        del doc["paths"][path]  # keys are fuzzed statelessly; here they would revoke our own


def with_links(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    realistic(doc)
    paths = doc["paths"]
    ws = "$request.path.ws"

    def item_links(key: str, *, get: bool = True, etag: bool = True) -> dict[str, Any]:
        links: dict[str, Any] = {}
        for verb in ("get", "update", "delete"):
            if verb == "get" and not get:
                continue
            params = {"ws": ws, "key": key}
            if verb != "get" and etag:
                params["header.If-Match"] = "$response.header.ETag"
            links[verb.title()] = {"operationId": f"{verb}_{name}", "parameters": params}
        return links

    for path, ident in COLLECTIONS.items():
        name = path.replace("-", "_")
        coll, item = f"/v1/workspaces/{{ws}}/{path}", f"/v1/workspaces/{{ws}}/{path}/{{key}}"
        body_key = f"$response.body#/{ident}"
        paths[coll]["post"]["responses"]["201"]["links"] = item_links(body_key)
        paths[item]["get"]["responses"]["200"]["links"] = item_links(body_key, get=False)
        paths[item]["patch"]["responses"]["200"]["links"] = item_links(body_key)
        paths[item]["delete"]["responses"]["204"]["links"] = {
            "GetDeleted": {
                "operationId": f"get_{name}",
                "parameters": {"ws": ws, "key": "$request.path.key"},
            }
        }
    paths["/v1/workspaces/{ws}/members"]["post"]["responses"]["201"]["links"]["Resend"] = {
        "operationId": "resend_invitation",
        "parameters": {"ws": ws, "email": "$response.body#/email"},
    }
    for suffix, name in SINGLETONS.items():
        path = f"/v1/workspaces/{{ws}}{suffix}"
        op = "workspace" if name == "workspace" else name
        paths[path]["get"]["responses"]["200"]["links"] = {
            "Update": {
                "operationId": f"update_{op}",
                "parameters": {"ws": ws, "header.If-Match": "$response.header.ETag"},
            }
        }
    return doc


@pytest.mark.timeout(900)
def test_stateful_sequences_keep_every_promise(sandbox: SandboxServer) -> None:
    from hypothesis import HealthCheck, Phase, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.config import SchemathesisConfig
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        ensure_resource_availability,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
        use_after_free,
    )

    # The checks of test_openapi.py's stateless run, plus the two stateful ones. Not
    # positive_data_acceptance: the document cannot express every rule (a phone number must
    # be a real one), so a schema-valid body may rightly get 422.
    CHECKS = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        use_after_free,
        ensure_resource_availability,
    ]
    doc = with_links(httpx.get(sandbox.url + "/openapi.json").json())
    config = SchemathesisConfig.from_dict({"base-url": sandbox.url, "seed": 20240607})
    schema = schemathesis.openapi.from_dict(doc, config=config)
    base = schema.as_state_machine()
    seen: dict[str, int] = {}
    workspaces: list[str] = []

    class Workflow(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            self.ws = sandbox.new_workspace("stateful")
            workspaces.append(self.ws.slug)
            with httpx.Client(base_url=self.ws.url, headers=self.ws.headers) as c:
                c.post("/call-tags", json={"name": "spam"}).raise_for_status()
                c.post("/roles", json={"name": "desk"}).raise_for_status()

        def before_call(self, case: Any) -> None:
            if case.path_parameters and "ws" in case.path_parameters:
                case.path_parameters["ws"] = self.ws.slug

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {self.ws.key}"}}

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            label = f"{case.method} {case.path} {response.status_code}"
            seen[label] = seen.get(label, 0) + 1

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(
                response, checks=CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder
            )

        def teardown(self) -> None:
            problems = integrity_violations(sandbox.db_url, self.ws.slug)
            assert problems == [], problems
            super().teardown()

    Workflow.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
    )
    # The sequences did reach deep: items created, then read, changed and deleted by key.
    hits = {k.rsplit(" ", 1)[0] for k, v in seen.items() if k.endswith((" 200", " 201", " 204"))}
    for path in ("call-tags", "members", "blocked-callers"):
        assert f"POST /v1/workspaces/{{ws}}/{path}" in hits, sorted(hits)
        assert f"GET /v1/workspaces/{{ws}}/{path}/{{key}}" in hits, sorted(hits)
    assert any(h.startswith("PATCH ") and h.endswith("/{key}") for h in hits), sorted(hits)
    assert any(h.startswith("DELETE ") and h.endswith("/{key}") for h in hits), sorted(hits)
    assert len(workspaces) >= SCENARIOS // 2
