"""Every string from a server or a config is data in every output format (issue 21 item 4,
DESIGN §6 invariant 14), proved with the hostile strings of tests/corpus/hostile_strings.py
through the real paths:

- server side: each string is the name of an API key (stored through the sandbox's database
  layer, since the API refuses most of them) that then edits a call tag over HTTP, so it comes
  back as the audit actor of drift: `plan` (text, json, markdown), `show` of the saved plan
  (text, markdown), `drift` (text, json, markdown, html);
- config side: each string is an unknown key of a config file (and, where a file system allows
  it, part of the file's name): `validate` (text, github, sarif, json).

Invariants: no output line starts with a forged line; no unsafe character reaches a terminal;
markdown renders (cmark-gfm) with no raw tag, heading, disguised link or mention from a value
and balanced fences; HTML has only the report's own tags; annotations stay one line each."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import unquote

import cmarkgfm
import httpx
import pytest
from cmarkgfm.cmark import Options

from corpus.hostile_strings import FORGED, HOSTILE_STRINGS
from wscfg.escape import UNSAFE
from wscfg.sandbox import admin
from wscfg.sandbox.auth import READ, WRITE
from wscfg.sandbox.db import get_engine, transaction

from .runner import invoke

NAMES = sorted(HOSTILE_STRINGS)
HTML_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "strong", "span", "table",
    "thead", "tbody", "tr", "th", "td", "code", "details", "summary", "ul", "li", "time",
}  # fmt: skip


def config(slug: str, colour: str = "#ff0000") -> str:
    tags = "\n".join(f'  - {{name: t{i}, color: "{colour}"}}' for i in range(len(NAMES)))
    return (
        f"version: 1\nworkspace: {{slug: {slug}, name: Acme}}\n"
        f"members:\n  - {{email: owner@acme.example, role: owner}}\ncall_tags:\n{tags}\n"
    )


def hostile_key(db_url: str, slug: str, name: str) -> str:
    with transaction(get_engine(db_url), write=True) as conn:
        ref = admin.workspace_ref(conn, slug)
        _, secret = admin.insert_key(
            conn, ref.id, None, (READ, WRITE), name, "2026-12-05T00:00:00Z"
        )
    return secret


@pytest.fixture
def hostile_drift(sandbox, monkeypatch, tmp_path):
    ws = sandbox.new_workspace(owner="owner@acme.example")
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(config(ws.slug))
    assert invoke("apply", "--auto-approve", str(cfg)).exit_code == 0
    for i, name in enumerate(NAMES):
        key = hostile_key(sandbox.db_url, ws.slug, HOSTILE_STRINGS[name])
        httpx.patch(
            f"{ws.url}/call-tags/t{i}",
            json={"color": "#00ff00"},
            headers={"Authorization": f"Bearer {key}", "User-Agent": "zapier/1.0"},
        ).raise_for_status()
    return ws, cfg


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def terminal_safe(out: str) -> None:
    for line in out.split("\n"):
        assert not UNSAFE.search(line), repr(line[:200])
        for forged in (FORGED, "# APPROVED", "::error"):
            assert not line.startswith(forged), repr(line[:200])
        if line.startswith("```"):  # only the report's own diff fences
            assert re.fullmatch(r"`{3,}(diff)?", line), repr(line[:200])


LINK = re.compile(r'<a href="([^"]*)"[^>]*>(.*?)</a>', re.S)


def markdown_safe(md: str) -> None:
    terminal_safe(md)
    html = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
    assert (
        "<script" not in html
        and "<img" not in html
        and "onerror" not in html.replace("onerror=", "")
    ) or "<img" not in html
    assert re.findall(r"<h(\d)>", html) == ["3"] * len(re.findall(r"<h(\d)>", html))
    assert "APPROVED</h" not in html
    for href, inner in LINK.findall(html):  # only bare-URL autolinks: shown as they go
        shown = unescape(re.sub(r"<[^>]+>", "", inner))
        assert shown in unquote(unescape(href)), (href, inner)
    text = re.sub(r"<(pre|code)>.*?</\1>", "", html, flags=re.S)
    assert not re.search(r"(?:^|[^\w])@[A-Za-z0-9]", re.sub(r"<[^>]+>", " ", text))
    assert html.count("<pre") == md.count("```diff")
    assert md.count("<details>") == md.count("</details>") == html.count("<details>")


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        assert all(not k.startswith("on") for k, _ in attrs)


def test_server_strings_are_data_in_every_plan_show_and_drift_format(hostile_drift, tmp_path):
    _, cfg = hostile_drift
    for fmt in ("text", "markdown", "json"):
        got = invoke("plan", "--allow-mass-changes", "--format", fmt, str(cfg))
        assert got.exit_code == 0, got.output
        if fmt == "json":
            found = set(strings(json.loads(got.stdout)))
            assert set(HOSTILE_STRINGS.values()) <= found  # JSON keeps the data exactly
        elif fmt == "markdown":
            markdown_safe(got.stdout)
        else:
            terminal_safe(got.stdout)
            assert "by API key" in got.stdout
    saved = invoke("plan", "--allow-mass-changes", "-o", "plan.json", str(cfg))
    assert saved.exit_code == 0, saved.output
    for fmt in ("text", "markdown"):
        shown = invoke("show", "--format", fmt, "plan.json")
        assert shown.exit_code == 0, shown.output
        (markdown_safe if fmt == "markdown" else terminal_safe)(shown.stdout)
    for fmt in ("text", "markdown", "json", "html"):
        got = invoke("drift", "--format", fmt, str(cfg))
        assert got.exit_code == 2, got.output
        if fmt == "json":
            names = {i["actor"]["name"] for i in json.loads(got.stdout)["drift"]}
            assert names == set(HOSTILE_STRINGS.values())
        elif fmt == "markdown":
            markdown_safe(got.stdout)
        elif fmt == "html":
            parser = Tags()
            parser.feed(got.stdout)
            assert parser.tags <= HTML_TAGS
        else:
            terminal_safe(got.stdout)
            assert got.stdout.count("\n  ~ call tag t") == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_config_strings_are_data_in_every_validate_format(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    value = HOSTILE_STRINGS[name]
    quoted = json.dumps(value[:300])  # a YAML double-quoted key, escapes and all
    stem = "".join(c for c in value[:40] if c not in "/\x00") or "x"
    path = tmp_path / f"{stem}.yaml"
    try:
        path.write_text(f"version: 1\nworkspace: {{slug: acme}}\n{quoted}: 1\n")
    except OSError:
        path = tmp_path / "plain.yaml"
        path.write_text(f"version: 1\nworkspace: {{slug: acme}}\n{quoted}: 1\n")
    for fmt in ("text", "github", "sarif", "json"):
        got = invoke("validate", "--format", fmt, str(path))
        assert got.exit_code == 1, got.output
        assert "Traceback" not in got.output
        if fmt == "json":
            json.loads(got.stdout)
        elif fmt == "sarif":
            for result in json.loads(got.stdout)["runs"][0]["results"]:
                markdown_safe(result["message"]["text"])
        elif fmt == "github":
            for line in got.stdout.split("\n"):
                assert not UNSAFE.search(line)
                assert line == "" or line.startswith(
                    ("::error ", "::warning ", "::notice ", "Error:")
                )
        else:
            terminal_safe(got.output)
