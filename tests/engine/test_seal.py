"""The seal over a whole saved-plan document (DESIGN §6.13): any single edit of the document,
anywhere, is refused; a key mismatch is told apart from an edit."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wscfg.engine.apply import secrets_from_desired
from wscfg.engine.plan import make_plan, plans_to_document
from wscfg.engine.safety import Allowances
from wscfg.engine.seal import (
    CHANGED,
    SealCheck,
    Sealer,
    canonical,
    check_seal,
    document_hmac,
    inspect_seal,
    key_id,
    seal_document,
)
from wscfg.errors import PlanFileError

from .helpers import desired, live

KEY = b"the-plan-key"


def sealed_document() -> dict[str, Any]:
    d = desired(
        {
            "webhooks": [{"name": "w", "url": "https://h.example.com/", "secret": "s3cret-value"}],
            "members": [{"email": "owner@acme.example", "role": "owner"}],
            "call_tags": [{"name": "spam", "color": "#ff0000"}],
        }
    )
    now = live(
        {
            "webhooks": [{"name": "w", "url": "https://h.example.com/", "secret": "old"}],
            "call_tags": [{"name": "spam", "color": "#00ff00"}, {"name": "gone"}],
        }
    )
    now.workspace_id = "ws_0123456789abcdef"
    plan = make_plan(d, now)
    lookup = secrets_from_desired(d)
    return plans_to_document(
        [plan],
        server="http://127.0.0.1:8080",
        allowances=Allowances(),
        sealer=Sealer(KEY, lambda slug: lookup),
        only=("call_tags", "webhooks", "members"),
    )


SEALED = sealed_document()


def test_the_document_as_written_verifies():
    assert SEALED["seal"] == {"key_id": key_id(KEY), "hmac": document_hmac(KEY, SEALED)}
    assert inspect_seal(SEALED, KEY) == SealCheck("verified", key_id(KEY), key_id(KEY))
    check_seal(SEALED, KEY)  # no error
    assert SEALED["targets"][0]["workspace_id"] == "ws_0123456789abcdef"
    assert list(SEALED)[-1] == "seal"


def test_key_order_and_spacing_are_not_edits():
    again = json.loads(json.dumps(dict(reversed(list(SEALED.items()))), indent=7))
    assert inspect_seal(again, KEY).status == "verified"


@pytest.mark.parametrize(
    ("a", "b"), [(1, 1.0), (1, True), (0, False), (None, "null"), ("1", 1), ([], {})]
)
def test_canonical_form_keeps_types_apart(a, b):
    assert canonical({"v": a}) != canonical({"v": b})


def test_the_seal_is_not_in_what_it_covers():
    assert canonical(SEALED) == canonical({k: v for k, v in SEALED.items() if k != "seal"})
    resealed = seal_document(SEALED, KEY)
    assert resealed == SEALED


def test_a_value_json_cannot_carry_is_refused():
    with pytest.raises(PlanFileError) as err:
        canonical({"v": float("nan")})
    assert str(err.value) == f"{CHANGED} (it holds a value JSON cannot carry)"


def test_another_key_is_named_and_no_key_is_said():
    found = inspect_seal(SEALED, b"other")
    assert found == SealCheck("other_key", key_id(KEY), key_id(b"other"))
    assert found.message() == (
        f"the plan file was sealed with another plan key (key id {key_id(KEY)}; this job's is "
        f"{key_id(b'other')}): set the same WSCFG_PLAN_KEY in the plan and the apply job. If the "
        "keys are the same, the plan file was changed after it was written"
    )
    none = inspect_seal(SEALED, None)
    assert none == SealCheck("no_key", key_id(KEY))
    assert none.message().startswith("the plan file's seal could not be checked: no plan key")


@pytest.mark.parametrize(
    "seal",
    [
        None,
        "x",
        [],
        {},
        {"key_id": key_id(KEY)},
        {"key_id": key_id(KEY), "hmac": 1},
        {"key_id": 1, "hmac": "x"},
        {"key_id": key_id(KEY), "hmac": "x", "extra": "x"},
    ],
)
def test_a_damaged_seal_is_an_edit(seal):
    doc = {**SEALED, "seal": seal}
    assert inspect_seal(doc, KEY).status == "changed"
    with pytest.raises(PlanFileError) as err:
        check_seal(doc, KEY)
    assert str(err.value) == f"{CHANGED}; make the plan again and review it"


def test_no_seal_at_all():
    doc = {k: v for k, v in SEALED.items() if k != "seal"}
    for key in (KEY, None):
        assert inspect_seal(doc, key).status == "missing"
    with pytest.raises(PlanFileError) as err:
        check_seal(doc, KEY)
    assert str(err.value) == (
        f"the plan file is not sealed: it was written by an older wscfg, or {CHANGED}; "
        "make the plan again"
    )


# --- any single edit, anywhere --------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=4,
)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@given(data=st.data())
def test_any_single_edit_is_refused(data):
    doc = copy.deepcopy(SEALED)
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    node = _at(doc, path)
    ops = ["replace"] if path else []
    if isinstance(node, (dict, list)):
        ops += ["add", "delete"] if node else ["add"]
        if isinstance(node, list) and len(node) > 1:
            ops.append("swap")
    op = data.draw(st.sampled_from(ops), label="op")
    if op == "replace":
        parent = _at(doc, path[:-1])
        parent[path[-1]] = data.draw(JSON_VALUES, label="value")
    elif op == "add" and isinstance(node, dict):
        name = data.draw(st.text(max_size=12).filter(lambda k: k not in node), label="key")
        node[name] = data.draw(JSON_VALUES, label="value")
    elif op == "add":
        at = data.draw(st.integers(0, len(node)), label="index")
        node.insert(at, data.draw(JSON_VALUES, label="value"))
    elif op == "delete" and isinstance(node, dict):
        del node[data.draw(st.sampled_from(sorted(node)), label="key")]
    elif op == "delete":
        node.pop(data.draw(st.integers(0, len(node) - 1), label="index"))
    else:
        i, j = data.draw(
            st.lists(st.integers(0, len(node) - 1), min_size=2, max_size=2, unique=True)
        )
        node[i], node[j] = node[j], node[i]
    if _same(doc, SEALED):
        return  # the "edit" left the document as it was (a value replaced by itself)
    with pytest.raises(PlanFileError) as err:
        check_seal(doc, KEY)
    assert CHANGED in str(err.value)
