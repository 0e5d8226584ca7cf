"""Strings from a server or a config, made safe for each output format: one function per format.

Every renderer (plan and drift text, markdown and HTML, validate's GitHub annotations and SARIF,
``show``, export's comments, the job summary) passes every string it did not write itself
through the function of its format, so a value is always data: it never starts a line, closes
a fence, opens a tag or a link, mentions someone, or moves the cursor (DESIGN §6 invariant 14).

The characters no output shows raw are one class, :data:`UNSAFE`: control characters (Unicode
``Cc``: C0, DEL and C1, with tab, newline, CR and NEL U+0085), the line and paragraph separators
(U+2028, U+2029) and the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
U+2066–U+2069). The sandbox refuses the same class in every single-line text field
(:func:`wscfg.model.values.single_line`), so a value that reaches an output with one came from a
hostile or foreign server, and is shown escaped (``\\n``, ``\\u2028``, ``\\x1b``).

Imports nothing of wscfg: every floor may use it.
"""

from __future__ import annotations

import re
from html import escape as _html_escape

_SEPARATORS_AND_BIDI = (
    "\u2028\u2029"  # line and paragraph separators (Zl, Zp)
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # Bidi_Control
)
# Cc: C0 (tab, LF, CR, ESC…), DEL, C1 (NEL U+0085, CSI U+009B…)
UNSAFE_CLASS = "\x00-\x1f\x7f-\x9f" + _SEPARATORS_AND_BIDI
UNSAFE = re.compile(f"[{UNSAFE_CLASS}]")
# A multi-line text field (a business's audience) may hold LF and tab, nothing else of the class.
UNSAFE_IN_PROSE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_SEPARATORS_AND_BIDI}]")

MAX_TEXT = 2000  # characters of one value shown; the rest is counted, not shown
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Characters that open inline markup in GitHub markdown (a value is never at a line start, so
# block markers such as #, -, + and 1. stay plain): escapes, code, emphasis, links and images,
# raw HTML and entities, table pipes, strikethrough, math.
_MD_ACTIVE = re.compile(r"[\\`*_\[\]<>&!|~$]")
_MENTION = re.compile(r"(?<!\w)@")  # GitHub mentions: an @ not after a letter or digit
_WORD_JOINER = "\u2060"
_BACKTICKS = re.compile(r"`+")


def describe(char: str) -> str:
    """``U+2028`` for a character of the class (for messages)."""
    return f"U+{ord(char):04X}"


def _escaped(match: re.Match[str]) -> str:
    c = match.group()
    if c in _NAMED:
        return _NAMED[c]
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def _cut(value: str, limit: int | None) -> str:
    if limit is None or len(value) <= limit:
        return value
    return f"{value[:limit]}…({len(value) - limit} more characters)"


def text(value: object, *, limit: int | None = MAX_TEXT) -> str:
    """Terminal and log text: every character of :data:`UNSAFE` shown as an escape (``\\n``,
    ``\\x1b``, ``\\u202e``), so a value stays on its line and moves no cursor (ANSI CSI and OSC
    sequences start with ESC or C1); longer than ``limit``, cut and counted."""
    return UNSAFE.sub(_escaped, _cut(str(value), limit))


def md_text(value: object, *, limit: int | None = MAX_TEXT) -> str:
    """Inline markdown, in prose or a table cell (GitHub flavoured; never at a line start):
    :func:`text`, then every character that opens inline markup backslash-escaped (no
    emphasis, code span, link, image, table pipe, strikethrough or math can start), ``<``,
    ``>`` and ``&`` as character references (no raw HTML, no entity), and an ``@`` that
    could mention someone followed by a word joiner (U+2060)."""
    out = _MD_ACTIVE.sub(_md_punct, text(value, limit=limit))
    return _MENTION.sub("@" + _WORD_JOINER, out)


def _md_punct(match: re.Match[str]) -> str:
    c = match.group()
    if c in "<>&":
        return {"<": "&lt;", ">": "&gt;", "&": "&amp;"}[c]
    return "\\" + c


def md_code(value: object, *, cell: bool = False, limit: int | None = MAX_TEXT) -> str:
    """A markdown code span holding ``value`` literally: :func:`text`, delimited by a run of
    backticks that does not occur in it (CommonMark), padded when it starts or ends with a
    backtick. ``cell``: inside a table row, where a ``|`` must be written ``\\|``."""
    body = text(value, limit=limit)
    if cell:
        body = body.replace("|", "\\|")
    runs = {len(m) for m in _BACKTICKS.findall(body)}
    n = 1
    while n in runs:
        n += 1
    if body.strip(" ") and (body.startswith("`") or body.endswith("`")):
        body = f" {body} "  # CommonMark strips one space each side
    elif not body:
        body = " "  # an empty value: a code span holds at least one character
    fence = "`" * n
    return f"{fence}{body}{fence}"


def md_fence(body: str, info: str = "") -> str:
    """A fenced code block holding ``body`` (already :func:`text`-escaped lines): the fence is
    longer than any run of backticks in it, so no line of the body can close it."""
    longest = max((len(m) for m in _BACKTICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def html(value: object, *, limit: int | None = MAX_TEXT) -> str:
    """HTML text or a quoted attribute value: :func:`text`, then ``& < > " '`` escaped."""
    return _html_escape(text(value, limit=limit), quote=True)


def md_html(value: object, *, limit: int | None = MAX_TEXT) -> str:
    """Text inside raw HTML of a markdown document (a ``<summary>``), where markdown escapes
    do not apply: :func:`html`, and an ``@`` that could mention someone followed by a word
    joiner (U+2060), as :func:`md_text` does."""
    return _MENTION.sub("@" + _WORD_JOINER, html(value, limit=limit))


def gh_data(value: object) -> str:
    """The message of a GitHub workflow command (``::error …::MESSAGE``): :func:`text` (one
    line), then ``%``, CR and LF percent-encoded as the runner expects."""
    return text(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_prop(value: object) -> str:
    """A property value of a GitHub workflow command (``file=…,title=…``): :func:`gh_data`,
    plus ``:`` and ``,``, which end a property."""
    return gh_data(value).replace(":", "%3A").replace(",", "%2C")


def sarif_text(value: object) -> str:
    """SARIF ``message.text``: plain text that GitHub code scanning renders as markdown and
    SARIF viewers scan for embedded links (``[text](id)``, SARIF 2.1.0 §3.11.6): :func:`text`,
    then every character that opens inline markup (as for :func:`md_text`, ``<``, ``>`` and
    ``&`` included) backslash-escaped, which plain-text viewers show as written, and no
    ``@`` mention."""
    out = _MD_ACTIVE.sub(lambda m: "\\" + m.group(), text(value))
    return _MENTION.sub("@" + _WORD_JOINER, out)


def first_unsafe(value: str, *, prose: bool = False) -> str | None:
    """The first character of the class in ``value`` (newlines and tabs allowed in
    ``prose``), or None."""
    found = (UNSAFE_IN_PROSE if prose else UNSAFE).search(value)
    return found.group() if found else None
