"""The sandbox refuses every hostile webhook URL with the same reason the client gives: both
use wscfg.model.urls (the table is tests/corpus/hostile_urls.py)."""

from __future__ import annotations

import httpx
import pytest

from corpus.hostile_urls import ACCEPTED, HOSTILE
from wscfg.sandbox.testing import SandboxWorkspace

from .conftest import problem


@pytest.mark.parametrize(("url", "message"), sorted(HOSTILE.items()))
def test_create_and_patch_refuse_a_hostile_url(
    api: httpx.Client, workspace: SandboxWorkspace, url: str, message: str
) -> None:
    base = f"/v1/workspaces/{workspace.slug}/webhooks"
    doc = problem(api.post(base, json={"name": "hook", "url": url}), 422)
    assert doc["errors"] == [{"loc": ["body", "url"], "msg": message}]
    ok = api.post(base, json={"name": "ok", "url": ACCEPTED[0]})
    assert ok.status_code == 201, ok.text
    doc = problem(api.patch(f"{base}/ok", json={"url": url}), 422)
    assert [e["msg"] for e in doc["errors"]] == [message]
    assert api.get(f"{base}/ok").json()["url"] == ACCEPTED[0]


def test_public_urls_are_stored_as_written(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    base = f"/v1/workspaces/{workspace.slug}/webhooks"
    for i, url in enumerate(ACCEPTED):
        r = api.post(base, json={"name": f"hook{i}", "url": url})
        assert r.status_code == 201, r.text
        assert r.json()["url"] == url
