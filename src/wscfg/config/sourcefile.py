"""One input file as messages quote it: its name, its text, and a diagnostic at a line and
column that shows the offending line safely (no control characters, a long line cut to a
window around the column); or, for a file not known to be a wscfg config, an
:class:`Unquoted` diagnostic that shows nothing of the file (see :mod:`wscfg.config.guard`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import Diagnostic

# Characters YAML does not allow in a stream (it allows TAB, LF, CR, NEL and printable text).
FORBIDDEN_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")


class SourceFile:
    """One input file: the name used in messages and its text, for quoting offending lines."""

    __slots__ = ("_lines", "name", "real", "text")

    def __init__(self, name: str, real: str, text: str = "") -> None:
        self.name = name
        self.real = real
        self.text = text
        self._lines: list[str] | None = None

    def line(self, number: int) -> str:
        """The 1-based line ``number`` of the file, or "" when out of range."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return ""

    def diagnostic(self, line: int, column: int, message: str, path: str = "") -> Diagnostic:
        shown, at = _shown(self.line(line), column)
        return Diagnostic(self.name, line, column, path, message, shown, at)

    def unquoted(self, line: int, column: int, problem: str, path: str = "") -> Unquoted:
        """A diagnostic at ``line``:``column`` that quotes nothing of the file: no source line,
        and ``problem`` and ``path`` are wscfg's own words (``path`` a key of the format, such
        as ``version``, never a key read from the file)."""
        return Unquoted(self.name, line, column, path, problem)


@dataclass(frozen=True)
class Unquoted(Diagnostic):
    """A diagnostic whose message is wscfg's own words only: it quotes no line, key or value of
    its file, so it may be shown for a file not known to be a wscfg config. Build one only
    with fixed text (numbers such as line numbers are fine), never with text from the file."""


SHOWN_BEFORE = 80  # characters of a long line shown before the error's column
SHOWN_AFTER = 40  # and after it


def _shown(line: str, column: int) -> tuple[str, int]:
    """A source line as safe to print, and the caret's column in it: no control characters (a
    tab counts as one column, so it becomes one space and the caret stays aligned); a long
    line is cut to a window around the column, marked with "…" where it was cut."""
    line = FORBIDDEN_RE.sub("\ufffd", line).replace("\t", " ")
    if len(line) <= max(200, column + SHOWN_AFTER) and column <= 200:
        return line, column
    start = max(0, column - 1 - SHOWN_BEFORE)
    end = column - 1 + SHOWN_AFTER
    head = "… " if start else ""
    tail = " …" if end < len(line) else ""
    return head + line[start:end] + tail, column - start + len(head)
