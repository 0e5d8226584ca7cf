"""GET /v1/key describes the calling key: scopes and what it belongs to, never its secret."""

from __future__ import annotations

import httpx

from wscfg.model import API_SCOPES
from wscfg.sandbox.testing import SandboxServer

from .conftest import bearer, problem


def test_describes_workspace_read_only_and_agency_keys(sandbox: SandboxServer) -> None:
    ws = sandbox.new_workspace()
    read_only = sandbox.issue_key(workspace=ws.slug, scopes=["settings:read"])
    agency = sandbox.new_agency()
    with httpx.Client(base_url=sandbox.url, timeout=30) as c:
        full = c.get("/v1/key", headers=ws.headers).json()
        assert (full["workspace"], full["agency"]) == (ws.slug, None)
        assert full["scopes"] == sorted(API_SCOPES)  # the platform's keys hold every scope
        ro = c.get("/v1/key", headers=bearer(read_only)).json()
        assert (ro["workspace"], ro["scopes"]) == (ws.slug, ["settings:read"])
        ag = c.get("/v1/key", headers=bearer(agency.key)).json()
        assert (ag["workspace"], ag["agency"]) == (None, agency.name)
        for body, key in ((full, ws.key), (ro, read_only), (ag, agency.key)):
            assert key not in str(body)
            assert body["id"].startswith("key_")
        problem(c.get("/v1/key"), 401)
