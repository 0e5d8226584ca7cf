"""Hypothesis strategies for random, valid workspace configs (used for desired AND live)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from wscfg.model import CATEGORIES, EVENTS, HELPDESK, PERMISSIONS

ROLE_NAMES = ["desk", "billing", "nurse"]
TAG_NAMES = ["lead", "spam", "vip", "follow-up"]
EMAILS = ["ann@acme.example", "Bob@Acme.example", "cy@clinic.example", "dee@clinic.example"]
NUMBERS = ["+1 555 010 0100", "+15550100101", "+44 20 7183 8750", "+15550100199", "+4930123456"]
HOOKS = ["crm", "zap", "slack"]
SECRETS = ["alpha-secret-1", "beta-secret-2"]
TIMEZONES = ["UTC", "America/Chicago", "Europe/Berlin"]
THRESHOLDS = [1, 50, 80, 100, 1000]
INTEGRATIONS = ["hubspot", "wordpress", "slack"]  # the tests connect them all (read-only kind)
KEY_NAMES = ["crm", "ci", "reports-export"]  # with the workspace's own key: 4 of 10 at most
KEY_SCOPES = ["calls:read", "contacts:write", "settings:read", "settings:write"]
EXPIRY = ["2099-12-31", "2100-06-01"]

text = st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), max_size=12).map(
    str.strip
)


def subset(pool: list[str], min_size: int = 0) -> st.SearchStrategy[list[str]]:
    if not pool:
        return st.just([])
    return st.lists(st.sampled_from(pool), min_size=min_size, max_size=len(pool), unique=True)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(None), strategy)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def rule_tree(draw: Any, tags: list[str], depth: int = 2) -> dict[str, Any]:
    leaves = [
        st.builds(lambda n: {"duration": {"at_least": n}}, st.integers(0, 600)),
        st.builds(
            lambda lo, hi: {"ai_score": {"at_least": lo, "at_most": lo + hi}},
            st.integers(0, 50),
            st.integers(0, 50),
        ),
    ]
    if tags:
        leaves.append(st.sampled_from(tags).map(lambda t: {"tag": t}))
        leaves.append(st.sampled_from(tags).map(lambda t: {"not_tag": t}))
    if depth == 0 or draw(st.booleans()):
        return draw(st.one_of(leaves))
    children = draw(st.lists(rule_tree(tags, depth - 1), min_size=1, max_size=3))
    return {draw(st.sampled_from(["all", "any"])): children}


channels = st.builds(
    lambda a, b: _drop_none({"in_app": a, "email": b}), maybe(st.booleans()), maybe(st.booleans())
).filter(bool)
email_only = st.builds(lambda b: {"email": b}, st.booleans())
notifications = st.builds(
    lambda a, b: a | b,
    st.dictionaries(st.sampled_from(list(CATEGORIES)), channels, max_size=3),
    st.dictionaries(st.sampled_from(list(HELPDESK)), email_only, max_size=2),
)


@st.composite
def workspace_doc(draw: Any, slug: str) -> dict[str, Any]:
    """A valid config for ``slug``; kinds that reference each other are managed together so
    every plan is one the platform accepts (the refusals have their own tests)."""
    doc: dict[str, Any] = {
        "workspace": _drop_none(
            {
                "slug": slug,
                "name": draw(maybe(text.filter(bool))),
                "timezone": draw(maybe(st.sampled_from(TIMEZONES))),
            }
        )
    }
    roles = draw(subset(ROLE_NAMES))
    manage_roles = draw(st.booleans())
    if manage_roles:
        doc["roles"] = [
            _drop_none(
                {
                    "name": r,
                    "permissions": draw(maybe(subset(list(PERMISSIONS)))),
                    "description": draw(maybe(text)),
                }
            )
            for r in roles
        ]
    if manage_roles or draw(st.booleans()):
        usable = ["admin", "member", "client"] + (roles if manage_roles else [])
        members = [{"email": f"owner@{slug}.example", "role": "owner"}]
        for email in draw(subset(EMAILS)):
            m = {"email": email, "role": draw(st.sampled_from(usable))}
            if draw(st.booleans()):
                m["notifications"] = draw(notifications)
            members.append(m)
        doc["members"] = members
    tags = draw(subset(TAG_NAMES))
    if draw(st.booleans()):
        doc["call_tags"] = [
            _drop_none(
                {
                    "name": t,
                    "color": draw(maybe(st.sampled_from(["#abc", "#1F8A70"]))),
                    "description": draw(maybe(text)),
                }
            )
            for t in tags
        ]
        doc["call_rules"] = _drop_none(
            {
                "auto_unqualify": draw(maybe(st.booleans())),
                "rule": draw(maybe(rule_tree(tags))),
            }
        ) | {"rule": draw(maybe(rule_tree(tags)))}
        hooks = []
        for name in draw(subset(HOOKS)):
            hook = _drop_none(
                {
                    "name": name,
                    "url": f"https://hooks.example.com/{name}",
                    "events": draw(maybe(subset(list(EVENTS), min_size=1))),
                    "enabled": draw(maybe(st.booleans())),
                    "secret": draw(maybe(st.sampled_from(SECRETS))),
                }
            )
            # Filters name tags: a config that manages tags manages the filters too.
            hook["filters"] = draw(
                maybe(
                    st.builds(
                        lambda t, d: {"tags": t} | _drop_none({"min_duration": d}),
                        maybe(subset(tags)),
                        maybe(st.integers(0, 300)),
                    )
                )
            )
            hooks.append(hook)
        doc["webhooks"] = hooks
    if draw(st.booleans()):
        doc["blocked_callers"] = [
            n if draw(st.booleans()) else {"number": n, "note": draw(text)}
            for n in draw(subset(NUMBERS))
        ]
    if draw(st.booleans()):
        doc["notifications"] = draw(notifications)
    if draw(st.booleans()):
        doc["security"] = _drop_none({"require_2fa": draw(maybe(st.booleans()))})
    if draw(st.booleans()):
        # Recipients exist in any live workspace (built-in roles, the first owner) or are
        # declared in this config; unknown ones are a refusal with its own test.
        who = ["admin", "owner", "member", f"owner@{slug}.example"]
        who += roles if manage_roles else []
        doc["usage_alerts"] = [
            _drop_none(
                {
                    "threshold": t,
                    "channels": draw(maybe(subset(["email", "in_app"]))),
                    "recipients": draw(maybe(subset(who))),
                }
            )
            for t in draw(st.lists(st.sampled_from(THRESHOLDS), unique=True, max_size=3))
        ]
    if draw(st.booleans()):
        doc["integrations"] = {"required": draw(subset(INTEGRATIONS))}
    if draw(st.booleans()):
        doc["api_keys"] = [
            _drop_none(
                {
                    "name": name,
                    "mode": draw(st.sampled_from(["live", "test"])),
                    "scopes": draw(subset(KEY_SCOPES, min_size=1)),
                    "description": draw(maybe(text)),
                    "expires": draw(maybe(st.sampled_from(EXPIRY))),
                    "rotation": draw(maybe(st.integers(0, 3))),
                }
            )
            for name in draw(subset(KEY_NAMES))
        ]
    if draw(st.booleans()):
        kinds = ("blocked_callers", "call_tags", "webhooks", "usage_alerts", "api_keys")
        additive = draw(subset([k for k in kinds if k in doc]))
        if additive:
            doc["manage"] = dict.fromkeys(additive, "additive")
    return doc
