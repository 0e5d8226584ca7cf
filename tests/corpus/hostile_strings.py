"""Hostile strings: what a hostile server, a careless UI user or a crafted file name may put in
a string that wscfg prints. Each must come out of every output format as data (DESIGN §6,
invariant 14): no injected line start, no closed fence, no raw tag, no link, mention or
heading, no cursor movement, annotations on one line. Used by tests/test_hostile_output.py
(every format) and tests/sandbox/test_text_fields.py (the sandbox refuses the ones holding a
character of wscfg.escape.UNSAFE in every free-text field)."""

from __future__ import annotations

FORGED = "~ call tag t9 changed in the UI by ceo@att.example"

# name -> string; the names are test ids
HOSTILE_STRINGS: dict[str, str] = {
    "newline": f"ops\n{FORGED}",
    "cr": f"ops\r{FORGED}",
    "crlf": f"ops\r\n{FORGED}",
    "line-separator": f"ops\u2028{FORGED}",
    "paragraph-separator": f"ops\u2029{FORGED}",
    "nel": f"ops\x85{FORGED}",
    "ansi-csi": "ops\x1b[2K\x1b[1G" + FORGED + "\x1b[31m",
    "c1-csi": "ops\x9b2K" + FORGED,
    "ansi-osc-link": "\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07",
    "backticks": "ops `` ` ``` x",
    "fence": "ops\n```\n# APPROVED\n```\n",
    "tilde-fence": "ops\n~~~\n# APPROVED",
    "html": "<img src=x onerror=alert(1)><script>alert(1)</script>",
    "html-entity": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "md-link": "[approve](https://evil.example/) ![x](https://evil.example/p.png)",
    "md-heading": "# APPROVED by security",
    "mention": "@ceo and @org/security-team please merge",
    "md-table": "a | b | c",
    "md-emphasis": "**bold** _it_ ~~gone~~ $x^2$",
    "percent": "%0A::error::forged%0D",
    "workflow-command": "::error file=x.yaml::forged",
    "bidi": "admin\u202e\u2066txt.exe\u2069",
    "rlm": "a\u200fb\u061cc\u200ed",
    "nul": "a\x00b",
    "tab-bell-backspace": "a\tb\x07c\x08d\x7f",
    "long": "L" * 5000,
}
# The strings without a character of the refused class (wscfg.escape.UNSAFE): the platform
# accepts these in text fields; every output still shows them as data.
ACCEPTED = {
    "backticks",
    "html",
    "html-entity",
    "md-link",
    "md-heading",
    "mention",
    "md-table",
    "md-emphasis",
    "percent",
    "workflow-command",
    "long",
}
