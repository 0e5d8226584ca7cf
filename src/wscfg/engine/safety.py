"""What apply refuses, computed once and read by every renderer and by the exit code.

A :class:`Refusal` has a machine-readable ``code``, the workspaces it concerns and the flag
that allows it (``""`` when nothing does). :func:`refusals` lists them for a set of plans
under the :class:`Allowances` a run was given; a saved plan records those allowances, so
`apply plan.json` refuses exactly what `plan` showed.

Codes:

- ``last_owner``          the plan removes or demotes the last active owner (never allowed);
- ``in_use``              a role or call tag is deleted while something kept still uses it;
- ``mass_delete``         more than 30% of a kind holding 10+ items deleted (--allow-mass-changes);
- ``mass_update``         the same for updates (--allow-mass-changes);
- ``fleet_delete_share``  too many targets of a fleet delete items (--allow-mass-changes);
- ``unknown_recipient``   a usage alert names a member or role that neither the config nor the
  live workspace has (never allowed; see :mod:`wscfg.engine.checks`);
- ``integration_not_connected``  ``integrations.required`` names an integration that is not
  connected in the live workspace (never allowed; connect it in the UI);
- ``new_secret_file``     API keys would be created or re-issued, and the run has no
  ``--new-secrets-to FILE`` to write their secrets to (each is shown once);
- ``own_api_key``         the plan revokes or rotates the API key wscfg runs with (never);
- ``api_key_limit``       the plan needs more active API keys than a workspace may have (never;
  see :mod:`wscfg.engine.apikeys`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .changes import Change

FLEET_DELETE_SHARE = 0.25
FLEET_MINIMUM = 4
# Plan reports (the CLI's and wscfg.render's, one format) and plan files name what allows a
# refusal by its flag: "pass --allow-mass-changes if intended", "allowed_by" (a fixed part of
# their format, docs/architecture.md). Errors name the field of Allowances instead.
ALLOW_MASS = "--allow-mass-changes"
NEW_SECRETS = "--new-secrets-to"
ALLOWANCE_OF = {ALLOW_MASS: "mass_changes", NEW_SECRETS: "new_secrets"}


@dataclass(frozen=True)
class Allowances:
    """The opt-ins a plan or apply ran with (recorded in a saved plan)."""

    mass_changes: bool = False
    fleet_delete_share: float = FLEET_DELETE_SHARE
    skip_unsafe: bool = False
    new_secrets: bool = False  # --new-secrets-to FILE was given (apply must be given it again)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mass_changes": self.mass_changes,
            "fleet_delete_share": self.fleet_delete_share,
            "skip_unsafe": self.skip_unsafe,
            "new_secrets": self.new_secrets,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Allowances:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise TypeError("allowances is not an object")
        share = data.get("fleet_delete_share", FLEET_DELETE_SHARE)
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ValueError("allowances.fleet_delete_share is not a share between 0 and 1")
        return cls(
            mass_changes=data.get("mass_changes") is True,
            fleet_delete_share=float(share),
            skip_unsafe=data.get("skip_unsafe") is True,
            new_secrets=data.get("new_secrets") is True,
        )


@dataclass(frozen=True)
class Refusal:
    """One thing apply would refuse to do."""

    code: str
    message: str
    targets: tuple[str, ...]
    allowed_by: str = ""  # the flag that allows it, as reports and plan files say; "" if none

    @property
    def allowance(self) -> str:
        """The field of :class:`Allowances` that allows it (``""`` when nothing does)."""
        return ALLOWANCE_OF.get(self.allowed_by, "")

    def line(self) -> str:
        """``slug: message`` (a fleet-wide refusal names no single workspace)."""
        if self.code == "fleet_delete_share":
            return f"fleet: {self.message}"
        return f"{', '.join(self.targets)}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "targets": list(self.targets),
            "message": self.message,
            "allowed_by": self.allowed_by or None,
        }


class Plan(Protocol):
    """What safety reads of a workspace's plan (:class:`wscfg.engine.plan.Plan` is one)."""

    @property
    def slug(self) -> str: ...

    @property
    def changes(self) -> Sequence[Change]: ...

    def counts(self) -> dict[str, int]: ...

    def refusals(self, *, allow_mass_changes: bool = False) -> list[Refusal]: ...


def refusals(plans: Sequence[Plan], allow: Allowances) -> list[Refusal]:
    """Every refusal apply would make for ``plans`` under ``allow``: per workspace, then fleet."""
    out = [r for p in plans for r in p.refusals(allow_mass_changes=allow.mass_changes)]
    if not allow.new_secrets:
        out += [r for p in plans if (r := new_secret_refusal(p)) is not None]
    if not allow.mass_changes:
        out += fleet_refusals(plans, allow.fleet_delete_share)
    return out


def fleet_refusals(
    plans: Sequence[Plan], share: float = FLEET_DELETE_SHARE, *, minimum: int = FLEET_MINIMUM
) -> list[Refusal]:
    """Fleet-wide safety: too many targets deleting at once smells like a broken template."""
    if len(plans) < minimum:
        return []
    deleting = [p.slug for p in plans if p.counts()["delete"]]
    if len(deleting) <= share * len(plans):
        return []
    shown = ", ".join(deleting[:5]) + (", …" if len(deleting) > 5 else "")
    message = (
        f"{len(deleting)} of {len(plans)} workspaces would delete items (more than "
        f"{share:.0%}: {shown}); pass {ALLOW_MASS} if intended"
    )
    return [Refusal("fleet_delete_share", message, tuple(deleting), ALLOW_MASS)]


def refused_targets(found: Sequence[Refusal]) -> set[str]:
    """The workspaces ``--skip-unsafe`` leaves out: every one a refusal names."""
    return {t for r in found for t in r.targets}


def new_secret_refusal(plan: Plan) -> Refusal | None:
    """API keys would get a secret (shown once) and the run has nowhere to write it."""
    from .apikeys import NEW_SECRETS_FLAG, secret_keys

    names = secret_keys(plan.changes)
    if not names:
        return None
    n = len(names)
    message = (
        f"{n} API key{'s' if n != 1 else ''} would get a new secret ({', '.join(names)}), shown "
        f"once: give {NEW_SECRETS_FLAG} to write {'them' if n != 1 else 'it'} to a file "
        "(mode 0600)"
    )
    return Refusal("new_secret_file", message, (plan.slug,), NEW_SECRETS)
