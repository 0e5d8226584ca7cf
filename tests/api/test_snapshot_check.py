"""check_snapshot's quick identity pass (api/workspace.py) decides exactly as checking every
item with the worded check does: the same snapshots accepted, the same error (same words)
for the rest — dict subclasses, bools, huge ints, floats, missing or odd etags included."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscfg.api.wire import Response
from wscfg.api.workspace import _require_identity, check_snapshot
from wscfg.errors import ProtocolError
from wscfg.model.kinds import COLLECTIONS, OBSERVED, SINGLETONS

URL = "http://127.0.0.1:1/v1/workspaces/acme/settings"


class Sub(dict[str, Any]):
    """A mapping that is a dict by isinstance but not by type (the quick pass's `type is`)."""


def _reference(data: dict[str, Any]) -> None:
    """What check_snapshot did before its quick pass: the worded check of every item."""
    for kind in (*COLLECTIONS, *OBSERVED):
        for item in data.get(kind.name, []):
            _require_identity(kind, item, URL, what="snapshot")


def _outcome(check: Any, data: dict[str, Any]) -> str:
    try:
        check(data)
    except ProtocolError as e:
        return f"refused: {e}"
    return "accepted"


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**40, max_value=10**60),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.binary(max_size=2),
)
field_names = st.sampled_from(["name", "email", "number", "threshold", "id", "etag", "color"])


@st.composite
def items(draw: st.DrawFn) -> Any:
    body = draw(st.dictionaries(field_names, scalars, max_size=4))
    shape = draw(st.sampled_from(["dict", "dict", "dict", "sub", "list", "scalar"]))
    if shape == "sub":
        return Sub(body)
    if shape == "list":
        return list(body.items())
    if shape == "scalar":
        return draw(scalars)
    return body


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_quick_pass_decides_as_the_worded_check(data: st.DataObject) -> None:
    snapshot: dict[str, Any] = {}
    for kind in SINGLETONS:
        snapshot[kind.name] = {"slug": "acme"} if kind.name == "workspace" else {}
    for kind in (*COLLECTIONS, *OBSERVED):
        snapshot[kind.name] = data.draw(st.lists(items(), max_size=4))
    resp = Response("GET", URL, 200, httpx.Headers(), b"", 1)
    got = _outcome(lambda d: check_snapshot(d, "acme", resp), snapshot)
    assert got == _outcome(_reference, snapshot)
