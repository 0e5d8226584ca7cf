"""One escaping function per output format (wscfg.escape), checked against the real parsers:
GitHub's markdown (cmark-gfm, through cmarkgfm), Python's HTML parser, and the workflow-command
decoding GitHub's runner does. For any string: the value comes out as the same visible text,
and no markup, line, fence, mention or cursor movement comes out of it (DESIGN §6, 14)."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from wscfg import escape

HOSTILE_CHARS = (
    "\n\r\t\x00\x1b\x07\x08\x7f\x85\x9b\u2028\u2029\u202e\u2066\u200f\u061c"
    "`*_[]()<>&!|~$#@:%,=;'\"/\\-+.{} aZ09é漢😀\u200d"
)
hostile = st.text(alphabet=st.sampled_from(HOSTILE_CHARS), max_size=40) | st.text(max_size=40)
UNSAFE_OPT = Options.CMARK_OPT_UNSAFE  # raw HTML kept, so an injected tag would show
MENTION = re.compile(r"(?:^|\W)@\w", re.UNICODE)  # GitHub's mention rule, roughly


def gfm(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=UNSAFE_OPT)


def with_mentions_broken(value: str) -> str:
    return re.sub(r"(?<!\w)@", "@\u2060", value)


@given(hostile)
def test_text_shows_every_unsafe_character_as_an_escape(value: str) -> None:
    out = escape.text(value)
    assert not escape.UNSAFE.search(out)
    assert "\n" not in out and "\x1b" not in out
    if not escape.UNSAFE.search(value):
        assert out == value


def test_text_names_each_character_and_cuts_long_values() -> None:
    assert escape.text("a\nb\r\tc\x1b[31m\u2028\u202e\x85") == (
        "a\\nb\\r\\tc\\x1b[31m\\u2028\\u202e\\x85"
    )
    assert escape.text("x" * 2005) == "x" * 2000 + "…(5 more characters)"


@given(hostile)
@settings(max_examples=300)
def test_md_text_renders_as_its_own_text_and_nothing_else(value: str) -> None:
    html = gfm(f"before {escape.md_text(value)} after")
    assert html.startswith("<p>") and html.endswith("</p>\n")
    inner = html[3:-5]
    inner = re.sub(r'<a href="[^"<>]*">([^<]*)</a>', r"\1", inner)  # bare-URL autolinks
    assert "<" not in inner, html  # no tag, no raw HTML
    assert unescape(inner) == f"before {with_mentions_broken(escape.text(value))} after"
    assert not MENTION.search(unescape(inner))


@given(hostile, hostile)
@settings(max_examples=300)
def test_md_text_and_md_code_stay_in_their_table_cell(a: str, b: str) -> None:
    row = f"| {escape.md_text(a)} | {escape.md_code(b, cell=True)} |"
    html = gfm(f"| x | y |\n|---|---|\n{row}\n")
    cells = re.findall(r"<td>(.*?)</td>", html, re.S)
    assert len(cells) == 2, html
    first = re.sub(r'<a href="[^"<>]*">([^<]*)</a>', r"\1", cells[0])
    assert "<" not in first
    assert unescape(first) == with_mentions_broken(escape.text(a)).strip(" ")
    code = re.fullmatch(r"<code>([^<]*)</code>", cells[1])
    assert code, cells[1]
    shown = escape.text(b)
    assert unescape(code.group(1)) == (shown if shown.strip(" ") else " ")


@given(st.lists(hostile, max_size=6))
def test_a_fence_holds_any_lines(values: list[str]) -> None:
    body = "\n".join(f"+ {escape.text(v)}" for v in values) or "+"
    html = gfm(f"before\n\n{escape.md_fence(body, 'diff')}\n\n# after\n")
    blocks = re.findall(r"<pre[^>]*><code[^>]*>(.*?)</code></pre>", html, re.S)
    assert len(blocks) == 1, html
    assert unescape(blocks[0]) == body + "\n"
    assert html.rstrip().endswith("<h1>after</h1>")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


@given(hostile)
def test_html_escapes_text_and_attribute_values(value: str) -> None:
    page = f'<td title="{escape.html(value)}">{escape.html(value)}</td>'
    parser = _Collect()
    parser.feed(page)
    parser.close()
    assert parser.tags == [("td", {"title": escape.text(value)})]
    assert "".join(parser.data) == escape.text(value)


def _runner_decode(data: str, *, prop: bool) -> str:
    """What GitHub's runner does to a workflow command's data and property values."""
    pairs = [("%0D", "\r"), ("%0A", "\n")]
    if prop:
        pairs += [("%3A", ":"), ("%2C", ",")]
    for code, char in [*pairs, ("%25", "%")]:
        data = data.replace(code, char)
    return data


@given(hostile)
def test_workflow_command_values_are_one_line_and_decode_to_the_text(value: str) -> None:
    data, prop = escape.gh_data(value), escape.gh_prop(value)
    for out in (data, prop):
        assert "\n" not in out and "\r" not in out
    assert "," not in prop and ":" not in prop
    assert _runner_decode(data, prop=False) == escape.text(value)
    assert _runner_decode(prop, prop=True) == escape.text(value)


@given(hostile)
@settings(max_examples=300)
def test_sarif_text_renders_as_its_own_text_on_github(value: str) -> None:
    html = gfm(f"x {escape.sarif_text(value)}")
    inner = re.sub(r'<a href="[^"<>]*">([^<]*)</a>', r"\1", html[3:-5])
    assert "<" not in inner, html
    assert unescape(inner) == f"x {with_mentions_broken(escape.text(value))}".rstrip(" ")


def test_one_class_of_unsafe_characters_for_single_line_and_prose() -> None:
    assert escape.first_unsafe("ok name é 漢") is None
    assert escape.first_unsafe("a\u2028b") == "\u2028"
    assert escape.first_unsafe("two\nlines", prose=True) is None
    assert escape.first_unsafe("bidi\u202e", prose=True) == "\u202e"
