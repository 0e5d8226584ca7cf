"""API keys in a plan: which changes issue a secret, and what the platform would refuse.

A key's secret exists once: the platform returns it in the answer that creates or re-issues
(``rotation`` changed) the key. The engine never holds it longer than it takes to hand it to
the caller of :func:`wscfg.engine.apply.apply_plan` (``on_secret``); only the CLI writes it,
to ``--new-secrets-to FILE``.

Checks (``(code, message)`` pairs, made refusals by :mod:`wscfg.engine.safety`):

- ``own_api_key``     the plan revokes or re-issues the managed key wscfg runs with;
- ``api_key_limit``   the plan needs more active keys than the workspace may have (creates
  run before revocations, so the count is live keys plus the new ones).
"""

from __future__ import annotations

from collections.abc import Sequence

from .changes import Change, Create, Delete, Update
from .state import LiveState

KIND = "api_keys"
NEW_SECRETS_FLAG = "--new-secrets-to FILE"
CODES = ("own_api_key", "api_key_limit")  # the codes of :func:`key_checks`


def issues_secret(change: Change) -> bool:
    """Creates a key or re-issues one (its ``rotation`` changes): a new secret comes back."""
    if change.kind != KIND:
        return False
    if isinstance(change, Create):
        return True
    return isinstance(change, Update) and any(f.path == "rotation" for f in change.fields)


def secret_keys(changes: Sequence[Change]) -> list[str]:
    """The names of the keys whose new secret a plan's apply receives."""
    return [c.key for c in changes if issues_secret(c)]


def key_checks(changes: Sequence[Change], live: LiveState) -> list[tuple[str, str]]:
    use = live.key_use
    out: list[tuple[str, str]] = []
    caller = use.get("caller")
    for c in changes:
        if c.kind != KIND or c.key != caller:
            continue
        if isinstance(c, Delete):
            out.append(
                (
                    "own_api_key",
                    f"API key '{caller}' is the key wscfg runs with; a plan never revokes it "
                    "(keep it declared, or run with another key to revoke it)",
                )
            )
        elif issues_secret(c):
            out.append(
                (
                    "own_api_key",
                    f"API key '{caller}' is the key wscfg runs with; a plan never rotates it "
                    "(run with another key to rotate it)",
                )
            )
    limit = use.get("limit")
    if isinstance(limit, int) and any(c.kind == KIND for c in changes):
        managed = len(live.items.get(KIND, {}))
        others = int(use.get("unmanaged") or 0)
        new = sum(1 for c in changes if c.kind == KIND and isinstance(c, Create))
        peak = managed + others + new
        if new and peak > limit:
            gone = sum(1 for c in changes if c.kind == KIND and isinstance(c, Delete))
            out.append(
                (
                    "api_key_limit",
                    f"the plan needs {peak} active API keys at once ({managed + others} active, "
                    f"{others} of them not managed by wscfg, {new} new before {gone} revoked); "
                    f"a workspace can have at most {limit}",
                )
            )
    return out
