"""YAML syntax errors from libyaml, reworded for people and placed at the right line.

A file with a syntax error is not known to be a wscfg config (:mod:`wscfg.config.guard`), so
the diagnostic quotes nothing of it: wscfg's own words, or libyaml's problem text only when it
is plain words (libyaml's C messages are fixed strings; the pure-Python parser's may quote a
character), and never the line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sourcefile import SourceFile, Unquoted

# libyaml's problem texts that can be shown as they are: plain words, nothing quoted
_PLAIN_WORDS_RE = re.compile(r"[A-Za-z ,<>-]+")


_REWRITES: tuple[tuple[str, str], ...] = (
    (
        "mapping values are not allowed",
        "unexpected ':' here: check the indentation of this line, and put quotes around a value "
        "that contains ': '",
    ),
    (
        "did not find expected key",
        "bad indentation or a missing ':'; each line of this mapping must be `key: value` aligned "
        "with the keys above",
    ),
    (
        "did not find expected '-' indicator",
        "expected a list item ('- …') aligned with the items above",
    ),
    ("did not find expected ',' or ']'", "unclosed '[': expected ',' or ']'"),
    ("did not find expected ',' or '}'", "unclosed '{': expected ',' or '}'"),
    ("found unexpected end of stream", "the file ends inside a quoted string; close the quote"),
    ("found undefined alias", "alias refers to an anchor that is not defined above"),
    ("found duplicate anchor", "the same anchor is defined twice; give each anchor its own name"),
    (
        "could not find expected ':'",
        "expected ':' after a key (a key and its value are written `key: value`)",
    ),
    ("found unknown escape character", "unknown escape sequence in a double-quoted string"),
    ("did not find expected node content", "a value is missing here"),
    ("did not find expected <document start>", "unexpected content after the document"),
    (
        "found character that cannot start any token",
        "this character cannot start a YAML value; quote the value",
    ),
    (
        "found unexpected ':'",
        "unexpected ':' here; a value that contains ':' must be quoted",
    ),
)


def syntax_diagnostic(exc: Exception, src: SourceFile) -> Unquoted:
    """Turn a PyYAML error into a plain-language diagnostic at the problem's position."""
    problem = str(getattr(exc, "problem", "") or "")
    context = str(getattr(exc, "context", "") or "")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:  # a reader error or something unexpected: no position
        return src.unquoted(0, 0, _plain("invalid YAML", problem))
    line, col = mark.line + 1, mark.column + 1
    row = src.line(line)
    here = row[col - 1] if 0 < col <= len(row) else ""
    if "\t" in problem or "tab" in problem or here == "\t" or _tab_in_indent(row):
        tab_col = row.find("\t") + 1 if "\t" in row else col
        return src.unquoted(
            line, tab_col, "tab character: YAML indentation must use spaces, not tabs"
        )
    for needle, plain in _REWRITES:
        if needle in problem:
            message = plain
            break
    else:
        message = _plain("invalid YAML", problem or context)
    if getattr(mark, "index", 0) >= len(src.text.rstrip()) and "quoted" not in context:
        message = "the file ends in the middle of a value (an unclosed '[' or '{'?)"
    cmark = getattr(exc, "context_mark", None)
    if cmark is not None and context and (cmark.line, cmark.column) != (mark.line, mark.column):
        opened = {"flow sequence": "'['", "flow mapping": "'{'", "quoted scalar": "the quote"}
        what = next((v for k, v in opened.items() if k in context), "")
        if what:
            message += f" ({what} opened at line {cmark.line + 1}, column {cmark.column + 1})"
        elif "block mapping" in context or "block collection" in context:
            message += f" (the enclosing block starts at line {cmark.line + 1})"
    return src.unquoted(line, col, message)


def _plain(prefix: str, text: str) -> str:
    """``prefix: text`` when ``text`` is plain words (quotes nothing), else ``prefix``."""
    return f"{prefix}: {text}" if _PLAIN_WORDS_RE.fullmatch(text) else prefix


def _tab_in_indent(row: str) -> bool:
    stripped = row.lstrip(" \t")
    return "\t" in row[: len(row) - len(stripped)]
