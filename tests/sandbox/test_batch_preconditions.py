"""Per-number preconditions on the blocked-callers batch: what If-Match is for one item."""

from __future__ import annotations


def test_a_number_changed_since_it_was_read_is_left_alone_and_reported(api, workspace):
    base = f"/v1/workspaces/{workspace.slug}"
    api.post(
        f"{base}/blocked-callers:batch",
        json={
            "add": [
                {"number": "+15550100100", "note": "a"},
                {"number": "+15550100101", "note": "b"},
            ]
        },
    )
    old_a = api.get(f"{base}/blocked-callers/%2B15550100100").json()["etag"]
    old_b = api.get(f"{base}/blocked-callers/%2B15550100101").json()["etag"]
    api.patch(f"{base}/blocked-callers/%2B15550100100", json={"note": "UI"})  # a changes
    body = {
        "add": [{"number": "+15550100100", "note": "wscfg"}, {"number": "+15550100102"}],
        "remove": ["+15550100101"],
        "if_match": {"+15550100100": old_a, "+15550100101": old_b, "+15550100102": None},
    }
    result = api.post(f"{base}/blocked-callers:batch", json=body).json()
    assert result == {
        "added": 1,
        "updated": 0,
        "unchanged": 0,
        "removed": 1,
        "conflicts": ["+15550100100"],
    }
    assert api.get(f"{base}/blocked-callers/%2B15550100100").json()["note"] == "UI"


def test_a_number_already_as_wanted_is_no_conflict(api, workspace):
    base = f"/v1/workspaces/{workspace.slug}"
    api.post(f"{base}/blocked-callers:batch", json={"add": [{"number": "+15550100100"}]})
    body = {
        "add": [{"number": "+15550100100"}],  # someone else already added it, the same way
        "remove": ["+15550100199"],  # someone else already removed it
        "if_match": {"+15550100100": None, "+15550100199": "0123456789abcdef"},
    }
    result = api.post(f"{base}/blocked-callers:batch", json=body).json()
    assert result == {"added": 0, "updated": 0, "unchanged": 1, "removed": 0}
