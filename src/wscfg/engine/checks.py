"""Checks of what must hold in the live workspace before a plan may run, beyond its own
changes (not the If-Match precondition of a write).

Each check returns ``(code, message)`` pairs; the plan turns them into refusals (see
:mod:`wscfg.engine.safety`), so every renderer and the exit code show them:

- ``unknown_recipient``  a usage alert names a member or role that neither the config nor the
  live workspace has;
- ``integration_not_connected``  ``integrations.required`` names an integration the live
  workspace has not connected (integrations are connected through OAuth in the UI).
"""

from __future__ import annotations

import difflib

from ..model import BUILTIN_ROLES
from .state import DesiredState, LiveState


def live_checks(desired: DesiredState, live: LiveState) -> list[tuple[str, str]]:
    """The failed checks of the live workspace (API keys have theirs: ``apikeys.key_checks``)."""
    return _recipients(desired, live) + _integrations(desired, live)


def _integrations(desired: DesiredState, live: LiveState) -> list[tuple[str, str]]:
    have = live.items.get("integrations") or {}
    out = []
    for name in desired.required_integrations:
        status = (have.get(name) or {}).get("status")
        if status == "connected":
            continue
        state = f"it is {status}" if status else "it is not set up"
        out.append(
            (
                "integration_not_connected",
                f"required integration '{name}' is not connected ({state}); connect it in "
                "Settings > Integrations before applying",
            )
        )
    return out


def _known(desired: DesiredState, live: LiveState, kind: str) -> set[str]:
    return set(desired.items.get(kind, {})) | set(live.items.get(kind, {}))


def _recipients(desired: DesiredState, live: LiveState) -> list[tuple[str, str]]:
    alerts = desired.items.get("usage_alerts")
    if not alerts:
        return []
    members = _known(desired, live, "members")
    roles = _known(desired, live, "roles") | set(BUILTIN_ROLES)
    out = []
    for key in sorted(alerts, key=int):
        for who in alerts[key].get("recipients") or []:
            is_email = "@" in who
            pool = members if is_email else roles
            if who in pool:
                continue
            what = "member" if is_email else "role"
            msg = (
                f"usage alert {key}%: recipient '{who}' is no {what} of the config or the live "
                "workspace"
            )
            close = difflib.get_close_matches(who, sorted(pool), n=1, cutoff=0.6)
            msg += f"; did you mean '{close[0]}'?" if close else ""
            out.append(("unknown_recipient", msg))
    return out
