"""What a fleet run says names at most ten workspaces on a line; the rest are counted, and
every name stays in the notice's ``slugs`` (a 500-workspace race would otherwise print one
line of 500 names in a CI log or a PR comment)."""

from __future__ import annotations

from wscfg.workflow.results import ApplyResult, creation_notices


def test_created_meanwhile_names_ten_and_counts_the_rest() -> None:
    slugs = [f"clinic-{i:03d}" for i in range(25)]
    notices = creation_notices([], [], slugs)
    (meanwhile,) = [n for n in notices if n.code == "created-meanwhile"]
    assert meanwhile.text == (
        "25 workspace(s) created meanwhile by another run (a create answered 409; this key "
        "reaches them): " + ", ".join(slugs[:10]) + " and 15 more"
    )
    assert meanwhile.slugs == tuple(slugs)


def test_skipped_unsafe_names_ten_and_counts_the_rest() -> None:
    slugs = [f"clinic-{i:03d}" for i in range(12)]
    error = ApplyResult(skipped=slugs).error()
    assert error is not None
    assert str(error).startswith(
        "skipped 12 unsafe workspace(s): " + ", ".join(slugs[:10]) + " and 2 more"
    )


def test_a_short_list_is_named_whole() -> None:
    notices = creation_notices(["a"], [], ["b", "c"])
    assert [n.text for n in notices] == [
        "Created 1 workspace(s).",
        "2 workspace(s) created meanwhile by another run (a create answered 409; this key "
        "reaches them): b, c",
    ]
