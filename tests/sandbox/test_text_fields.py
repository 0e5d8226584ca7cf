"""The platform refuses, in every free-text field, the characters that could forge a line or
reorder one on screen (wscfg.escape.UNSAFE: control characters, line/paragraph separators,
bidi controls): 422 from the API, an error from the admin layer, a located error from
`wscfg validate`. One rule (wscfg.model.values.single_line / prose) for all of them."""

from __future__ import annotations

import httpx
import pytest

from corpus.hostile_strings import ACCEPTED, HOSTILE_STRINGS
from wscfg.errors import WscfgError
from wscfg.escape import UNSAFE
from wscfg.sandbox import admin
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace

from .conftest import problem

REFUSED = {k: v for k, v in HOSTILE_STRINGS.items() if k not in ACCEPTED}
# (method, path, body) of every free-text field the API takes; {} is the string
FIELDS = [
    ("POST", "/api-keys", {"name": "{}"}),
    ("POST", "/api-keys", {"name": "ci", "description": "{}"}),
    ("PATCH", "", {"name": "{}"}),
    ("PATCH", "", {"business_profile": {"company": "{}"}}),
    ("PATCH", "", {"business_profile": {"services": ["{}"]}}),
    ("POST", "/call-tags", {"name": "t1", "color": "#ff0000", "description": "{}"}),
    ("POST", "/roles", {"name": "r1", "permissions": ["billing:read"], "description": "{}"}),
    ("POST", "/blocked-callers", {"number": "+15550100999", "note": "{}"}),
]


def _fill(body: dict, value: str) -> dict:
    out: dict = {}
    for k, v in body.items():
        if isinstance(v, dict):
            out[k] = _fill(v, value)
        else:
            out[k] = value if v == "{}" else [value] if v == ["{}"] else v
    return out


def test_the_class_is_exactly_what_the_corpus_says() -> None:
    for name, value in HOSTILE_STRINGS.items():
        assert bool(UNSAFE.search(value)) == (name not in ACCEPTED), name


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.parametrize(("method", "path", "body"), FIELDS, ids=lambda f: str(f))
def test_the_api_refuses_the_class_in_every_text_field(
    api: httpx.Client, workspace: SandboxWorkspace, name: str, method: str, path: str, body: dict
) -> None:
    url = f"/v1/workspaces/{workspace.slug}{path}"
    doc = problem(api.request(method, url, json=_fill(body, REFUSED[name])), 422)
    (error,) = doc["errors"]
    assert "must not contain" in error["msg"]
    assert "line or paragraph separators or bidirectional controls" in error["msg"]


def test_the_message_names_the_character_and_where(
    api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    url = f"/v1/workspaces/{workspace.slug}/api-keys"
    doc = problem(api.post(url, json={"name": "ops\u2028boss"}), 422)
    assert doc["errors"][0]["msg"].endswith("(found U+2028 at character 4)")
    doc = problem(api.post(url, json={"name": "ops\nboss"}), 422)
    assert doc["errors"][0]["msg"].endswith("(found a line break at character 4)")


def test_prose_fields_take_lines_and_tabs_but_not_the_rest(
    api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    url = f"/v1/workspaces/{workspace.slug}"

    def profile(**fields: str) -> httpx.Response:
        return api.patch(url, json={"business_profile": fields})

    ok = profile(audience="families\n\tand kids")
    assert ok.status_code == 200, ok.text
    problem(profile(brand_voice="warm\u202eplain"), 422)
    problem(profile(audience="a\x1b[2Kb"), 422)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_text_without_the_class_is_accepted_as_written(
    api: httpx.Client, workspace: SandboxWorkspace, name: str
) -> None:
    value = HOSTILE_STRINGS[name][:100]
    got = api.post(f"/v1/workspaces/{workspace.slug}/api-keys", json={"name": value})
    assert got.status_code == 201, got.text
    assert got.json()["name"] == value.strip()


def test_the_admin_layer_refuses_the_class_in_key_names(
    sandbox: SandboxServer, workspace: SandboxWorkspace
) -> None:
    with pytest.raises(WscfgError) as err:
        admin.issue_key(sandbox.db_url, workspace=workspace.slug, name="ops\u2029boss")
    assert str(err.value) == (
        "a key's name must not contain line breaks, tabs, control characters, line or "
        "paragraph separators or bidirectional controls (found U+2029 at character 4)"
    )
