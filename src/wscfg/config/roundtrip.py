"""The ruamel.yaml round-trip set-up that ``adopt`` edits a config file with: quotes kept, the
indentation guessed from the file, and two repairs of ruamel.yaml (0.19.1, the newest) for
layouts a person writes, each of which an edit would otherwise break.

The emitter remembers "just wrote `- `: the next key stays on this line" (``no_newline``) and
forgets it only in some paths. A flow collection with an end-of-line comment
(``- {number: "+1", note: robo}  # robo``) ends its line without forgetting it; when that state
was set (the list has a comment above its first item, or after its key), the next block
mapping item lost a line break::

    blocked_callers:
      # callers we block
      - {number: "+15550100100", note: robo}  # robo
      - number: "+15550100101"
        note: spam

was written back with ``- number: "+15550100101" note: spam`` on one line: not YAML. A line
break ends "just after `- `", always: :class:`_Emitter` forgets it there (the emitter's own
uses of the state set it after the break, so they are unchanged).

The reader gave a flow collection the comment after it in place of the comment lines above it:
in ``- {name: a}`` / ``# about b`` / ``- {name: b}  # b``, ``# about b`` was dropped by any
edit of the file. :func:`_keep_above` keeps both.
"""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ruamel.yaml.composer import Composer


def round_trip_yaml(text: str) -> Any:
    """A ``ruamel.yaml.YAML`` that writes ``text``'s document back in ``text``'s style."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.Composer = _composer()
    yaml.Emitter = _emitter()
    yaml.preserve_quotes = True
    yaml.width = 4096
    mapping, offset = guess_indent(text)
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


@functools.cache
def _emitter() -> type:
    from ruamel.yaml.emitter import RoundTripEmitter

    class _Emitter(RoundTripEmitter):
        def write_line_break(self, data: Any = None) -> None:
            super().write_line_break(data)
            self.no_newline = False  # a new line: no longer just after `- `

    return _Emitter


@functools.cache
def _composer() -> type[Composer]:
    from ruamel.yaml.composer import Composer

    class _Composer(Composer):
        def compose_sequence_node(self, anchor: Any) -> Any:
            return _keep_above(self, super().compose_sequence_node, anchor)

        def compose_mapping_node(self, anchor: Any) -> Any:
            return _keep_above(self, super().compose_mapping_node, anchor)

    return _Composer


def _keep_above(composer: Any, compose: Any, anchor: Any) -> Any:
    """``compose(anchor)``, keeping the comment lines above a flow collection when it also
    has an end-of-line comment (ruamel replaces the first with the second)."""
    start = composer.parser.peek_event()
    above = start.comment[1] if start.comment and len(start.comment) > 1 else None
    node = compose(anchor)
    ended = node.comment
    if above and ended is not None and ended is not start.comment and ended[1:2] == [None]:
        node.comment = [ended[0], above, *ended[2:]]
    return node


def guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, offset of a block sequence's dash) as the file writes them."""
    mapping: int | None = None
    offset: int | None = None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for here, nxt in itertools.pairwise(lines):
        head = here.split(" #", 1)[0].rstrip()
        if not head.endswith(":"):
            continue
        col = len(here) - len(here.lstrip())
        if head.lstrip().startswith("- "):
            col += 2
        depth = len(nxt) - len(nxt.lstrip()) - col
        if depth < 0:
            continue
        if nxt.lstrip().startswith("- "):
            offset = depth if offset is None else offset
        elif depth > 0:
            mapping = depth if mapping is None else mapping
    return mapping or 2, offset or 0
