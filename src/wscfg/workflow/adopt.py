"""Adopt as ``wscfg adopt`` does it: plan the targets of a selection, then edit their YAML so
it declares the live values (:func:`wscfg.config.adopt.adopt` edits one file, comments
kept), writing each edited file atomically unless ``dry_run``.

Nothing here prints or exits: what adopt says along the way comes back as
:class:`~.results.Notice` values (``on_notice``) and one :class:`FileEdit` per file
(``on_file``, after its diff went to ``on_diff`` and it was written), in the order they
happen; workspaces that could not be read come back in
:attr:`AdoptRun.failures`, before anything is edited.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .keys import masked
from .results import Notice

if TYPE_CHECKING:
    from ..engine.envmask import EnvMask
    from ..engine.render import Failure
    from .selection import Selection
    from .settings import Settings


@dataclass
class FileEdit:
    """One file adopt edited (or would, ``dry_run``): the unified diff of the edit
    (environment values masked; empty when nothing changed), notes, a message per value not
    adopted, and how many changes were adopted."""

    file: str
    diff: str
    notes: list[str]
    not_adopted: list[str]
    adopted: int


@dataclass
class AdoptRun:
    """What adopt did: the workspaces it could not read (then nothing was edited) and the
    number of values it did not adopt."""

    failures: list[Failure] = field(default_factory=list)
    not_adopted: int = 0


def adopt(
    settings: Settings,
    selection: Selection,
    *,
    only: Sequence[str] = (),
    into_template: bool = False,
    allow_fleet_change: bool = False,
    dry_run: bool = False,
    on_notice: Callable[[Notice], None] | None = None,
    on_diff: Callable[[str], None] | None = None,
    on_file: Callable[[FileEdit], None] | None = None,
) -> AdoptRun:
    """Write the live values of the selected targets (``only``: of these items) into their
    config files. ``into_template``: edit the template that declared a value instead of
    writing an override (refused when other targets use it, unless ``allow_fleet_change``)."""
    from ..config.adopt import AdoptError, split_by_file
    from ..config.adopt import adopt as adopt_file
    from ..errors import Worded, WscfgError
    from ..files import write_file
    from .keys import run_env_mask
    from .run import Events, plan_targets
    from .selection import check_only, parse_only, selected

    say = on_notice or (lambda _notice: None)
    picked = parse_only(only)
    run, _server, _ = plan_targets(settings, selection, events=Events(notice=on_notice))
    if run.failures:
        return AdoptRun(list(run.failures))
    check_only(only, run.desired, run.live)
    mask = run_env_mask(run, settings.key)
    edits: list[tuple[str, Any, list[Any]]] = []  # (file, target config, changes)
    held: dict[str, list[str]] = {}  # file -> what is not adopted before editing it
    for plan in run.plans:
        target = run.desired[plan.slug].target_config
        assert target is not None  # planned from config files
        changes = [c for c in plan.changes if selected(c, picked)]
        changes, rotated = _rotated(mask, plan.slug, changes)
        held.setdefault(target.file, []).extend(rotated)
        if not changes:
            say(Notice("adopt", f"{target.file}: nothing to adopt."))
            continue
        if not into_template:
            edits.append((target.file, target, changes))
            continue
        for file, part in split_by_file(target, changes, target.file).items():
            if file != target.file:
                users = _users(file, plan.slug, selection)
                n = len(users)
                said = f"{file} is used by {n} other target(s) in PATHS and its folder"
                said += f": {', '.join(users)}" if users else ""
                said += "; adopting into it changes them too." if users else ""
                said += "" if users else "; only this target changes."
                say(Notice("adopt", said))
                if users and not allow_fleet_change:
                    raise WscfgError(
                        Worded(
                            f"refusing to edit {file}: {n} other target(s) use it; "
                            + "give {allow_fleet_change} to change them too, or adopt without "
                            "{into_template} (an override in the target's own file)",
                            {
                                "allow_fleet_change": "allow_fleet_change",
                                "into_template": "into_template",
                            },
                        )
                    )
            edits.append((file, target, part))
    done = AdoptRun()
    for file, target, changes in edits:
        try:
            old = Path(file).read_text(encoding="utf-8")
            result = adopt_file(old, file, target, changes, _read)
        except (OSError, UnicodeDecodeError) as exc:
            raise WscfgError(f"cannot read {file}: {type(exc).__name__}") from None
        except AdoptError as exc:
            raise WscfgError(f"{file}: {exc}") from None
        diff = masked(mask, _diff(old, result.text, file)) if result.text != old else ""
        if diff and on_diff is not None:
            on_diff(diff)
        if diff and not dry_run:
            write_file(file, result.text, keep_mode=True)
        refused = [masked(mask, r.message()) for r in result.not_adopted]
        refused += held.pop(file, [])
        if on_file is not None:
            notes = [masked(mask, n) for n in result.notes]
            on_file(FileEdit(file, diff, notes, refused, len(result.adopted)))
        done.not_adopted += len(refused)
    for file, refused in held.items():  # files with nothing else to adopt
        if refused and on_file is not None:
            on_file(FileEdit(file, "", [], refused, 0))
        done.not_adopted += len(refused)
    return done


ROTATED = (
    "cannot adopt {address}: its identity has the shape of one the config sets from the "
    "environment, so it may be the variable's earlier value; adopting would write it into "
    "the file in clear: delete it, or edit the file by hand"
)


def _rotated(mask: EnvMask | None, slug: str, changes: list[Any]) -> tuple[list[Any], list[str]]:
    """``changes`` without the deletes of items that may carry an environment variable's
    earlier value (a rotated member email or blocked number: see
    :meth:`wscfg.engine.envmask.EnvMask.plans`), and a message for each left out."""
    if mask is None or not changes:
        return changes, []
    from ..engine.plan import Plan

    shown = mask.plans([Plan(slug, changes=list(changes))])[0].changes
    kept, refused = [], []
    for change, seen in zip(changes, shown, strict=True):
        if change.action == "delete" and seen.key != change.key:
            refused.append(ROTATED.format(address=seen.address))
        else:
            kept.append(change)
    return kept, refused


def _users(template: str, slug: str, selection: Selection) -> list[str]:
    """The other targets, in the selection's paths and in the template's folder, whose
    config reads it."""
    from ..config.adopt import users_of
    from ..config.validate import load_targets

    folder = os.path.dirname(template) or "."
    loaded = load_targets([*selection.paths, folder], config_roots=selection.config_roots)
    return sorted({s for s in users_of(template, loaded) if s != slug})


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _diff(old: str, new: str, file: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{file}",
        tofile=f"b/{file}",
    )
    return "".join(lines)
