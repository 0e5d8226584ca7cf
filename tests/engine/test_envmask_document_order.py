"""A masked plan document keeps its keys in the order they were written: the saved plan's bytes
(``-o plan.json``) are the same with and without environment values to mask, apart from the
masked values themselves (#23: the CLI's output is byte-identical)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from wscfg.engine.envmask import EnvMask

KEY = b"k" * 32
NAMES = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)


@given(
    top=st.lists(NAMES, min_size=1, max_size=6, unique=True),
    target=st.lists(NAMES, min_size=1, max_size=6, unique=True),
    change=st.lists(NAMES, min_size=1, max_size=6, unique=True),
    at=st.integers(min_value=0, max_value=6),
)
def test_a_masked_document_keeps_every_level_in_its_order(top, target, change, at):
    ch = {k: "x" for k in change} | {"after": "hooks.example.com/SecretPart99"}
    tg = {k: 1 for k in target if k != "changes"}
    tg = dict([*list(tg.items())[:at], ("changes", [ch]), *list(tg.items())[at:]])
    doc = {k: [] for k in top if k != "targets"}
    doc = dict([*list(doc.items())[:at], ("targets", [tg]), *list(doc.items())[at:]])
    masked = EnvMask({"P": "SecretPart99"}, KEY).document(doc)
    assert list(masked) == list(doc)
    assert list(masked["targets"][0]) == list(tg)
    assert list(masked["targets"][0]["changes"][0]) == list(ch)
    assert "SecretPart99" not in json.dumps(masked)
