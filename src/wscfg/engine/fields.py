"""Field-level rules shared by diff and apply: what a config manages inside one item.

A config manages only the fields it sets. Inside a nested model (``business_profile``,
``notifications.system``, webhook ``filters``) that rule applies again, field by field; any other
value (lists, rule trees) is one value, compared and replaced whole.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from ..model.base import submodels


@cache
def submodels_of(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """:func:`wscfg.model.base.submodels`, computed once per model."""
    return submodels(model)


def project(live: Any, desired: Any, model: type[BaseModel]) -> Any:
    """The part of ``live`` that ``desired`` manages (keys the config does not set dropped)."""
    if not isinstance(desired, dict):
        return live
    live = live if isinstance(live, dict) else {}
    subs = submodels_of(model)
    out = {}
    for k, v in desired.items():
        if k in subs and isinstance(v, dict):
            out[k] = project(live.get(k), v, subs[k])
        else:
            out[k] = live.get(k)
    return out


def overlay(base: Any, top: Any, model: type[BaseModel]) -> Any:
    """``top`` written over ``base``: nested models merge, every other value replaces."""
    if not isinstance(top, dict) or not isinstance(base, dict):
        return top
    subs = submodels_of(model)
    merged = dict(base)
    for k, v in top.items():
        merged[k] = overlay(base.get(k), v, subs[k]) if k in subs else v
    return merged
