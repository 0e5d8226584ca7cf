"""The committed OpenAPI document is the served one, and the server keeps its promises.

schemathesis generates requests from the served document (with a real key and a real
workspace, so requests get past authentication) and checks every answer: no 5xx, statuses,
content types, headers and bodies as documented.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from wscfg.sandbox import openapi_document
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / "openapi.json"


def test_committed_openapi_is_in_sync(sandbox: SandboxServer) -> None:
    generated = openapi_document()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == generated, (
        "schemas/openapi.json is out of date; regenerate it with `wscfg schema` (or write "
        "wscfg.sandbox.openapi_text() to it)"
    )
    served = httpx.get(sandbox.url + "/openapi.json", timeout=120).json()  # busy machines
    assert served == generated


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            out += _refs(value)
        return out
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_reference_resolves_and_errors_are_problems() -> None:
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert "ApiKey" in str(op.get("security")), (method, path)
            for code, answer in op["responses"].items():
                if code[0] in "45" or code == "default":
                    assert list(answer["content"]) == ["application/problem+json"], (method, path)


# --- schemathesis -----------------------------------------------------------------------------

schemathesis = pytest.importorskip("schemathesis")


@pytest.fixture(scope="module")
def fuzz_target(sandbox: SandboxServer) -> SandboxWorkspace:
    ws = sandbox.new_workspace("fuzz")
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.post("/call-tags", json={"name": "spam"})
        c.post("/roles", json={"name": "front-desk"})
    return ws


# Statuses a schema-valid request may get: the document cannot express every platform rule
# (a rule naming a tag that does not exist: 422; a stale If-Match: 412; a taken name: 409; a
# cursor this server never gave out: 422).
ACCEPTED_VALID = ["2xx", "401", "403", "404", "409", "412", "422", "429"]


@pytest.fixture(scope="module")
def api_schema(sandbox: SandboxServer) -> Any:
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_dict(
        {
            "base-url": sandbox.url,
            "seed": 20240601,
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_VALID}},
        }
    )
    return schemathesis.openapi.from_url(sandbox.url + "/openapi.json", config=config)


def test_fuzz_every_operation(api_schema: Any, fuzz_target: SandboxWorkspace) -> None:
    """`--checks all` in both modes (schema-valid and schema-violating requests) on every
    operation: no 5xx, every answer as documented, invalid data refused (unknown query
    parameters included), valid data accepted unless a platform rule says otherwise."""
    import requests
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import CHECKS
    from schemathesis.generation import GenerationMode

    checks = CHECKS.get_all()
    assert len(checks) >= 14  # every check schemathesis ships, as `--checks all`
    auth = {"Authorization": f"Bearer {fuzz_target.key}"}
    session = requests.Session()
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 35
    for operation in operations:
        for mode, examples in ((GenerationMode.POSITIVE, 10), (GenerationMode.NEGATIVE, 10)):
            params = {"ws": fuzz_target.slug} if "{ws}" in operation.path else None
            strategy = operation.as_strategy(mode, path_parameters=params)

            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                case.call_and_validate(session=session, headers=auth, checks=checks)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"
                )
    assert not failures, "\n\n".join(failures)


def validator_for(doc: dict[str, Any], name: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    )


def response_schema_name(doc: dict[str, Any], method: str, path: str, status: str) -> str:
    content = doc["paths"][path][method]["responses"][status]["content"]
    ref: str = content["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def test_successful_answers_match_the_documented_schemas(
    sandbox: SandboxServer, http: httpx.Client
) -> None:
    """Deep, realistic data through every read: bodies conform to the committed schemas."""
    doc = openapi_document()
    agency = sandbox.new_agency()
    ah = {"Authorization": f"Bearer {agency.key}"}
    created = http.post(
        sandbox.url + "/v1/workspaces",
        json={
            "slug": f"{agency.name}-sub"[:63].rstrip("-"),
            "name": "Sub",
            "timezone": "Europe/Paris",
            "owner": "Boss@Sub.example",
        },
        headers=ah,
    )
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    assert created.headers["wscfg-workspace"] == slug
    base = f"{sandbox.url}/v1/workspaces/{slug}"
    writes = [
        (
            "post",
            "/v1/workspaces/{ws}/roles",
            "/roles",
            {"name": "desk", "description": "Front desk", "permissions": ["call_log:read"]},
        ),
        ("post", "/v1/workspaces/{ws}/call-tags", "/call-tags", {"name": "lead", "color": "#0f0"}),
        ("post", "/v1/workspaces/{ws}/call-tags", "/call-tags", {"name": "spam"}),
        (
            "post",
            "/v1/workspaces/{ws}/members",
            "/members",
            {
                "email": "a@sub.example",
                "role": "desk",
                "notifications": {"billing": {"email": False}},
            },
        ),
        (
            "post",
            "/v1/workspaces/{ws}/webhooks",
            "/webhooks",
            {
                "name": "crm",
                "url": "https://hooks.example.com/c",
                "events": ["call.completed"],
                "enabled": True,
                "filters": {"tags": ["lead"], "min_duration": 30, "qualified_only": True},
                "secret": "s3cr3t-value",
            },
        ),
        (
            "post",
            "/v1/workspaces/{ws}/blocked-callers",
            "/blocked-callers",
            {"number": "+442071838750", "note": "uk"},
        ),
        (
            "post",
            "/v1/workspaces/{ws}/blocked-callers:batch",
            "/blocked-callers:batch",
            {"add": ["+15550100100"]},
        ),
        (
            "patch",
            "/v1/workspaces/{ws}/call-rules",
            "/call-rules",
            {
                "auto_unqualify": True,
                "rule": {
                    "any": [
                        {
                            "all": [
                                {"duration": {"at_least": 60}},
                                {"ai_score": {"at_least": 50.5, "at_most": 100}},
                            ]
                        },
                        {"tag": "lead"},
                        {"not_tag": "spam"},
                    ]
                },
            },
        ),
        (
            "patch",
            "/v1/workspaces/{ws}/notifications",
            "/notifications",
            {"security": {"in_app": False}},
        ),
        (
            "patch",
            "/v1/workspaces/{ws}",
            "",
            {
                "business_profile": {
                    "company": "Sub",
                    "services": ["a"],
                    "audience": "b",
                    "brand_voice": "c",
                }
            },
        ),
        (
            "post",
            "/v1/workspaces/{ws}/api-keys",
            "/api-keys",
            {"name": "ci", "scopes": ["settings:read"]},
        ),
        (
            "post",
            "/v1/workspaces/{ws}/members/{email}/resend",
            "/members/a@sub.example/resend",
            None,
        ),
    ]
    for method, template, suffix, body in writes:
        r = http.request(method.upper(), base + suffix, json=body, headers=ah)
        assert r.status_code in (200, 201), (suffix, r.text)
        name = response_schema_name(doc, method, template, str(r.status_code))
        validator_for(doc, name).validate(r.json())
    reads = [
        ("/v1/workspaces", sandbox.url + "/v1/workspaces"),
        ("/v1/workspaces/{ws}", base),
        ("/v1/workspaces/{ws}/settings", base + "/settings"),
        ("/v1/workspaces/{ws}/call-rules", base + "/call-rules"),
        ("/v1/workspaces/{ws}/notifications", base + "/notifications"),
        ("/v1/workspaces/{ws}/api-keys", base + "/api-keys"),
        ("/v1/workspaces/{ws}/audit", base + "/audit"),
        ("/v1/workspaces/{ws}/roles", base + "/roles"),
        ("/v1/workspaces/{ws}/roles/{key}", base + "/roles/desk"),
        ("/v1/workspaces/{ws}/call-tags", base + "/call-tags"),
        ("/v1/workspaces/{ws}/call-tags/{key}", base + "/call-tags/lead"),
        ("/v1/workspaces/{ws}/members", base + "/members"),
        ("/v1/workspaces/{ws}/members/{key}", base + "/members/boss@sub.example"),
        ("/v1/workspaces/{ws}/webhooks", base + "/webhooks"),
        ("/v1/workspaces/{ws}/webhooks/{key}", base + "/webhooks/crm"),
        ("/v1/workspaces/{ws}/blocked-callers", base + "/blocked-callers"),
        ("/v1/workspaces/{ws}/blocked-callers/{key}", base + "/blocked-callers/%2B442071838750"),
    ]
    for template, url in reads:
        r = http.get(url, headers=ah)
        assert r.status_code == 200, (url, r.text)
        validator_for(doc, response_schema_name(doc, "get", template, "200")).validate(r.json())
    snap = http.get(base + "/settings", headers=ah).json()
    assert [m["email"] for m in snap["members"]] == ["a@sub.example", "boss@sub.example"]
    assert "s3cr3t-value" not in json.dumps(snap)
