"""`wscfg sandbox serve --access-log`: one line per request, `METHOD PATH STATUS key=… rid=…
Nms`, with no secret, no query string and no character that could break a line; operators and
tests count 304s and 429s from it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose
from wscfg.sandbox.testing import served, unique

LINE = re.compile(
    r"^(?P<method>[A-Z]+) (?P<path>[\x21-\x7e]+) (?P<status>\d{3}|-) "
    r"key=(?P<key>key_[0-9a-f]{16}|-) rid=(?P<rid>[0-9a-f]{32}) (?P<ms>\d+)ms$"
)


def test_one_line_per_request_without_secrets(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    slug = unique("logged")
    key = admin.create_workspace(db_url, slug)
    dispose(db_url)
    log = tmp_path / "serve.log"
    argv = ["sandbox", "serve", "--port", "0", "--db", db_url, "--rate-limit", "0.1:3"]
    with served([*argv, "--access-log"], log) as (_proc, url):
        auth = {"Authorization": f"Bearer {key}"}
        base = f"{url}/v1/workspaces/{slug}"
        sent = [
            httpx.get(f"{base}/call-tags", params={"cursor": "hunter2-secret"}, headers=auth),
            httpx.get(f"{base}/members/a b\u00e9%0a@x.example", headers=auth),
            httpx.get(base),  # no key: 401
            httpx.get(base, headers={"Authorization": "Bearer wscfg_not-a-real-key"}),
        ]
        sent += [httpx.get(base, headers=auth) for _ in range(4)]  # a bucket of 3 runs dry
        rids = [r.headers["x-request-id"] for r in sent]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = log.read_text()
            if all(rid in text for rid in rids):
                break
            time.sleep(0.05)
    text = log.read_text()
    assert key not in text and "hunter2" not in text and "not-a-real-key" not in text
    lines = [m for m in map(LINE.match, text.splitlines()) if m]
    by_rid = {m["rid"]: m for m in lines}
    assert all(rid in by_rid for rid in rids)  # one line each
    got = [by_rid[rid] for rid in rids]
    assert [m["status"] for m in got] == [str(r.status_code) for r in sent]
    assert got[0]["path"] == f"/v1/workspaces/{slug}/call-tags"  # the query left out
    assert got[1]["path"] == f"/v1/workspaces/{slug}/members/a%20b%C3%A9%0a@x.example"
    assert got[2]["key"] == "-" and got[2]["status"] == "401"
    assert got[3]["key"] == "-"  # an unknown key is not named at all
    assert {m["key"] for m in got[4:]} == {got[0]["key"]} != {"-"}
    assert sum(1 for m in got if m["status"] == "429") >= 1
    assert [m["method"] for m in got] == ["GET"] * len(sent)


def test_no_access_log_unless_asked(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    slug = unique("quiet")
    key = admin.create_workspace(db_url, slug)
    dispose(db_url)
    log = tmp_path / "serve.log"
    with served(["sandbox", "serve", "--port", "0", "--db", db_url], log) as (_proc, url):
        r = httpx.get(f"{url}/v1/workspaces/{slug}", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200
    assert r.headers["x-request-id"] not in log.read_text()
