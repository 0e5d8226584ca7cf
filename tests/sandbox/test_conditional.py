"""Conditional reads of the snapshot and the audit log (RFC 9110 §13.1.2): a strong ETag over
the whole answer, ``If-None-Match`` answered ``304`` (weak comparison, ``*``, lists, several
fields), no body on a 304, and a 304 not counted by the rate limiter; the access log shows it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscfg.sandbox.conditional import body_etag, none_match
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server

STRONG = re.compile(r'^"[0-9a-f]{32}"$')


@pytest.mark.parametrize("which", ["settings", "audit"])
def test_etag_and_304(sandbox: SandboxServer, workspace: SandboxWorkspace, which: str) -> None:
    url = f"{workspace.url}/{which}"
    with httpx.Client(headers=workspace.headers, timeout=30) as http:
        first = http.get(url)
        assert first.status_code == 200
        tag = first.headers["etag"]
        assert STRONG.match(tag)
        if which == "audit":
            assert tag == body_etag(first.content)  # over the whole body, byte for byte
        assert http.get(url).headers["etag"] == tag  # nothing changed: the same tag

        for header in (
            tag,
            "W/" + tag,  # weak comparison
            f'"nope", {tag}',  # a list
            f'"nope" ,, W/{tag}',  # whitespace and empty list elements
            "*",
        ):
            got = http.get(url, headers={"If-None-Match": header})
            assert got.status_code == 304, header
            assert got.content == b""
            assert got.headers["etag"] == tag
            assert "content-type" not in got.headers
        # several fields are one list
        two = http.get(url, headers=[("If-None-Match", '"nope"'), ("If-None-Match", tag)])
        assert two.status_code == 304

        for header in ('"nope"', tag[1:-1], f"{tag} junk", f"{tag}, nope", "", "W/", f"*, {tag}"):
            got = http.get(url, headers={"If-None-Match": header})
            assert got.status_code == 200, header  # no match, or unreadable: the full answer
            assert got.content == first.content

        # a change: a new tag, and the old one no longer answers 304
        made = http.post(f"{workspace.url}/call-tags", json={"name": "changed", "color": "#123456"})
        assert made.status_code == 201
        after = http.get(url, headers={"If-None-Match": tag})
        assert after.status_code == 200
        assert after.headers["etag"] != tag


def test_304_not_counted_and_logged() -> None:
    """A bucket of 3 that never refills: 304s do not empty it; the access log shows them."""
    lines: list[str] = []
    with running_server(
        rate_limit=0.001, rate_burst=3, ticker=lambda: 0.0, access_log=lines.append
    ) as server:
        ws = server.new_workspace("cond")
        with httpx.Client(headers=ws.headers, timeout=30) as http:
            full = http.get(f"{ws.url}/settings")  # 1 of 3
            tag = full.headers["etag"]
            cond = [
                http.get(f"{ws.url}/settings", headers={"If-None-Match": tag}) for _ in range(8)
            ]
            assert [r.status_code for r in cond] == [304] * 8
            assert cond[-1].headers["ratelimit"].startswith('"default";r=2;')
            rest = [http.get(f"{ws.url}/settings") for _ in range(3)]
    assert [r.status_code for r in rest] == [200, 200, 429]
    snapshot_lines = [ln.split()[2] for ln in lines if f"/{ws.slug}/settings " in ln]
    assert snapshot_lines == ["200"] + ["304"] * 8 + ["200", "200", "429"]


ops = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["create", "set", "delete"]), st.sampled_from(["a", "b"])),
        st.tuples(st.just("name"), st.sampled_from(["one", "two"])),
        st.tuples(st.just("invite"), st.sampled_from(["x@clinic.example", "y@clinic.example"])),
        st.tuples(st.just("later"), st.sampled_from([0.5, 1.0, 2.0])),  # hours pass
        st.tuples(st.sampled_from(["key", "revoke"]), st.just("")),
        # writes by others: the platform (an integration connected in the UI), another key
        st.tuples(st.just("integration"), st.sampled_from(["connected", "disconnected"])),
        st.tuples(st.just("other"), st.sampled_from(["a", "c"])),
        st.tuples(st.just("read"), st.just("")),
    ),
    max_size=10,
)


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_snapshot_tag_changes_exactly_with_its_bytes(
    snapshot_server: tuple[SandboxServer, list[datetime]], steps: list[tuple[str, object]]
) -> None:
    """The snapshot's tag is read without building it (one scan of what its bytes are made
    of): for any edits (by this key, another key or the platform), invitations expiring as
    time passes (read as ``expired``) and keys changing ``api_key_use``, two reads have the
    same tag exactly when they have the same bytes, and a 304 is given exactly when the bytes
    did not change (a 304 is answered from the tag kept at the workspace's revision)."""
    server, now = snapshot_server
    ws = server.new_workspace("tag")
    seen: dict[str, bytes] = {}
    keys: list[str] = []
    writer = server.issue_key(workspace=ws.slug)  # another key of the workspace
    with httpx.Client(headers=ws.headers, timeout=30) as http:
        last = http.get(f"{ws.url}/settings")
        for op, arg in [*steps, ("read", "")]:
            tags = f"{ws.url}/call-tags"
            if op == "create":
                http.post(tags, json={"name": arg, "color": "#123456"})
            elif op == "set":
                http.patch(f"{tags}/{arg}", json={"color": "#654321"})
            elif op == "delete":
                http.delete(f"{tags}/{arg}")
            elif op == "name":
                http.patch(ws.url, json={"name": f"Clinic {arg}"})
            elif op == "invite":
                http.post(f"{ws.url}/members", json={"email": arg, "role": "member"})
            elif op == "later":
                now[0] += timedelta(hours=float(arg))  # type: ignore[arg-type]
            elif op == "key":
                keys.append(server.issue_key(workspace=ws.slug, scopes=["settings:read"]))
            elif op == "revoke" and keys:
                server.revoke_key(keys.pop())
            elif op == "integration":
                server.set_integration(ws.slug, "slack", str(arg))
            elif op == "other":
                other = {"Authorization": f"Bearer {writer}"}
                httpx.post(tags, json={"name": arg, "color": "#777777"}, headers=other)
            got = http.get(f"{ws.url}/settings", headers={"If-None-Match": last.headers["etag"]})
            if got.status_code == 304:
                assert got.headers["etag"] == last.headers["etag"]
                assert http.get(f"{ws.url}/settings").content == last.content
                continue
            assert got.status_code == 200
            assert got.content != last.content  # no 304 only when the bytes changed
            last = got
            tag = got.headers["etag"]
            assert STRONG.match(tag)
            assert seen.setdefault(tag, got.content) == got.content  # one tag, one body
            assert list(seen.values()).count(got.content) == 1  # one body, one tag


@pytest.fixture(scope="module")
def snapshot_server(db_url: str | None) -> Iterator[tuple[SandboxServer, list[datetime]]]:
    """A sandbox whose clock the test moves (invitations last an hour)."""
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    with running_server(db_url, clock=lambda: now[0], invite_ttl=3600) as server:
        yield server, now


_tag_text = st.text(st.sampled_from('abcAB09-_.!#~"W/ ,*\t'), max_size=30)


@given(tags=st.lists(st.text(st.sampled_from("ab01"), min_size=1, max_size=4), max_size=4))
def test_none_match_lists(tags: list[str]) -> None:
    """A well-formed list matches exactly when one of its tags (weak or strong) is ours."""
    ours = '"ab"'
    for weak in (False, True):
        header = ", ".join(("W/" if weak else "") + f'"{t}"' for t in tags)
        assert none_match([header], ours) is ("ab" in tags)


@given(header=_tag_text)
def test_none_match_never_raises(header: str) -> None:
    """Any field text: an answer, never an exception; a match only when ours is in it."""
    got = none_match([header], '"ab"')
    assert got in (True, False)
    if got:
        assert header.strip(" \t") == "*" or '"ab"' in header
