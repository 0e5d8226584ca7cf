"""A conditional read and the rate limiter, over real HTTP: a ``304`` never costs a token and is
never refused with ``429``, even at an empty bucket; a conditional read answered in full is
charged (a token lent when the bucket is empty: a debt of at most one burst, which the next
requests wait out), and the ``RateLimit`` fields say so.

The sandbox's steady clock is a list a test moves by hand (``ticker``), so no test depends on
how fast the machine is."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server

RATE = 1.0  # a token a second, on the hand-moved clock
BURST = 2


@dataclass
class Limited:
    server: SandboxServer
    clock: list[float]
    lines: list[str]

    def statuses(self, since: int, count: int) -> list[str]:
        """The statuses of the ``count`` requests logged after line ``since`` (a line is
        written just after its answer is sent: waited for, up to 30 s)."""
        deadline = time.monotonic() + 30
        while len(self.lines) < since + count and time.monotonic() < deadline:
            time.sleep(0.01)
        return [line.split()[2] for line in self.lines[since:]]


@pytest.fixture
def limited(db_url: str | None) -> Iterator[Limited]:
    clock = [1000.0]
    lines: list[str] = []
    with running_server(
        db_url,
        rate_limit=RATE,
        rate_burst=BURST,
        ticker=lambda: clock[0],
        access_log=lines.append,
    ) as server:
        yield Limited(server, clock, lines)


def _fresh(limited: Limited) -> tuple[SandboxWorkspace, httpx.Client]:
    ws = limited.server.new_workspace("rl")
    limited.clock[0] += 60.0  # the new key's bucket is full
    return ws, httpx.Client(headers=ws.headers, timeout=30)


@pytest.mark.parametrize("which", ["settings", "audit"])
def test_a_304_at_an_empty_bucket_is_answered_and_free(limited: Limited, which: str) -> None:
    ws, http = _fresh(limited)
    url = f"{ws.url}/{which}"
    with http:
        tag = http.get(url).headers["etag"]  # 1 of 2
        assert http.get(url).status_code == 200  # 2 of 2: the bucket is empty
        assert http.get(url).status_code == 429  # an unconditional read is refused
        mark = 3
        limited.statuses(0, mark)  # their lines are written (just after each answer)
        for header in (tag, "W/" + tag, f'"other", {tag}', "*"):
            got = http.get(url, headers={"If-None-Match": header})
            assert got.status_code == 304, header
            assert got.headers["ratelimit"] == '"default";r=0;t=2'  # it took nothing
        # a GET that carries a body is read by the middleware first: the same rule
        got = http.request("GET", url, content=b"{}", headers={"If-None-Match": tag})
        assert got.status_code == 304
        assert limited.statuses(mark, 5) == ["304"] * 5
        limited.clock[0] += 1.0  # one token refilled, none spent by the 304s
        assert http.get(url).status_code == 200
        assert http.get(url).status_code == 429


def test_a_full_answer_to_a_conditional_read_is_charged_as_debt(limited: Limited) -> None:
    ws, http = _fresh(limited)
    url = f"{ws.url}/settings"
    stale = '"0123456789abcdef0123456789abcdef"'
    with http:
        first = http.get(url, headers={"If-None-Match": stale})  # answered in full: 1 of 2
        assert first.status_code == 200
        assert first.headers["ratelimit"] == '"default";r=1;t=1'
        tag = first.headers["etag"]
        assert http.get(url, headers={"If-None-Match": stale}).status_code == 200  # 2 of 2
        # the bucket is empty: a full answer is still given, on a token lent (r=0 and the
        # bucket is full again only once the debt is paid: t counts it)
        lent = [http.get(url, headers={"If-None-Match": stale}) for _ in range(BURST)]
        assert [r.status_code for r in lent] == [200] * BURST
        assert [r.headers["ratelimit"] for r in lent] == ['"default";r=0;t=3', '"default";r=0;t=4']
        assert lent[-1].content == first.content
        # the debt is full (one burst): a full answer is refused, a 304 is still answered
        over = http.get(url, headers={"If-None-Match": stale})
        assert over.status_code == 429
        assert over.headers["retry-after"] == "3"  # until the bucket holds a token again
        assert http.get(url, headers={"If-None-Match": tag}).status_code == 304
        # the next requests wait the debt out: no token for 3 s, then one
        limited.clock[0] += 2.0
        assert http.get(url).status_code == 429
        assert http.get(url, headers={"If-None-Match": tag}).status_code == 304
        limited.clock[0] += 1.0
        assert http.get(url).status_code == 200
        assert http.get(url).status_code == 429


def test_a_conditional_read_answered_with_an_error_is_charged(limited: Limited) -> None:
    """A 404 (no such workspace) or a 422 (a ``since`` that is no time) is no 304: charged like
    a full answer, and refused with 429 once the debt is full, so If-None-Match is no way
    around the limit."""
    ws, http = _fresh(limited)
    cond = {"If-None-Match": '"0123456789abcdef0123456789abcdef"'}
    gone = f"{limited.server.url}/v1/workspaces/no-such-workspace/settings"
    bad = f"{ws.url}/audit?since=yesterday"
    with http:
        got = [http.get(url, headers=cond).status_code for url in (gone, bad, gone, bad, gone)]
        assert got == [404, 422, 404, 422, 429]
        assert http.get(f"{ws.url}/settings").status_code == 429  # the debt is the caller's


def test_if_none_match_on_a_read_that_has_no_304_is_counted_as_usual(limited: Limited) -> None:
    """Only the snapshot and the audit log answer 304; any other read takes its token first."""
    ws, http = _fresh(limited)
    url = f"{ws.url}/call-tags"
    with http:
        got = [http.get(url, headers={"If-None-Match": "*"}).status_code for _ in range(3)]
    assert got == [200, 200, 429]
