"""The changed-field walk of the diff names exactly the fields deepdiff reports, once deepdiff's
paths are cut at the first value that is not a nested model (DESIGN §7: field-level detail
inside one object, ``threshold_to_diff_deeper=0``)."""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from wscfg.engine.diff import field_changes
from wscfg.model import Member, Notifications, Webhook, Workspace
from wscfg.model.base import submodels


def deepdiff_paths(before: dict[str, Any], after: dict[str, Any], model: type[BaseModel]) -> set:
    dd = DeepDiff(before, after, threshold_to_diff_deeper=0, view="tree")
    out = set()
    for group in dd.values():
        for node in group:
            names: list[str] = []
            current: type[BaseModel] | None = model
            for p in node.path(output_format="list"):
                if current is None or isinstance(p, int):
                    break
                names.append(str(p))
                current = submodels(current).get(str(p))
            out.add(".".join(names))
    return out


# Booleans only as whole field values: deepdiff itself tells True from 1 in a mapping but
# not inside a list (items are compared by hash), and no model mixes the two in one list.
SCALARS = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5]),
    st.sampled_from(["", "a", "b"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xyz"), inner),
    max_leaves=6,
)


FIELD = JSON | st.booleans()


def item(model: type[BaseModel], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts keyed by the model's fields; a nested model's field holds such a dict or a
    value of another type."""
    subs = submodels(model)
    values = {
        name: st.one_of(item(subs[name], depth + 1), JSON) if name in subs else FIELD
        for name in model.model_fields
    }
    return st.fixed_dictionaries({}, optional=values)


MODELS = [Workspace, Notifications, Member, Webhook]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_walk_names_the_fields_deepdiff_reports(data):
    model = data.draw(st.sampled_from(MODELS))
    before = data.draw(item(model), label="before")
    after = data.draw(st.one_of(item(model), st.just(before)), label="after")
    ours = {f.path for f in field_changes(before, after, model)}
    assert ours == deepdiff_paths(before, after, model)


def test_nested_models_are_named_field_by_field():
    before = {"name": "A", "business_profile": {"company": "X", "services": ["a"]}}
    after = {"name": "A", "business_profile": {"company": "Y", "services": ["a", "b"]}}
    changes = field_changes(before, after, Workspace)
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("business_profile.company", "X", "Y"),
        ("business_profile.services", ["a"], ["a", "b"]),
    ]
