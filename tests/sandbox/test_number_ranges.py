"""The sandbox refuses out-of-range, non-numeric and non-finite numbers in bodies (the shared
models' ranges), and stores nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from wscfg.sandbox.testing import SandboxWorkspace

from .conftest import problem

LOC = ["body", "rule", "duration", "duration", "at_least"]


@pytest.mark.parametrize(
    ("value", "loc"),
    [
        # past ±(2**53 - 1): refused as the body is parsed, before any model sees it
        (99999999999999999999999999999999999, ["body"]),
        (1e308, LOC),
        (-1, LOC),
        (True, LOC),
        ("60", LOC),
    ],
)
def test_call_rule_number_is_refused(
    api: httpx.Client, workspace: SandboxWorkspace, value: Any, loc: list[str]
) -> None:
    url = f"/v1/workspaces/{workspace.slug}/call-rules"
    before = api.get(url).json()
    doc = problem(api.patch(url, json={"rule": {"duration": {"at_least": value}}}), 422)
    assert [e["loc"] for e in doc["errors"]] == [loc]
    assert api.get(url).json() == before


def test_whole_number_round_trips_as_written(
    api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    url = f"/v1/workspaces/{workspace.slug}/call-rules"
    r = api.patch(url, json={"rule": {"duration": {"at_least": 60, "at_most": 86_400}}})
    assert r.status_code == 200, r.text
    assert r.json()["rule"] == {"duration": {"at_least": 60, "at_most": 86_400}}


@pytest.mark.parametrize("value", [86_401, True, 1.5])
def test_webhook_filter_duration_is_refused(
    api: httpx.Client, workspace: SandboxWorkspace, value: Any
) -> None:
    base = f"/v1/workspaces/{workspace.slug}/webhooks"
    body = {"name": "h", "url": "https://hooks.example.com/h", "filters": {"min_duration": value}}
    doc = problem(api.post(base, json=body), 422)
    assert [e["loc"] for e in doc["errors"]] == [["body", "filters", "min_duration"]]
    assert api.get(f"{base}/h").status_code == 404
