"""Export (live settings → YAML that plans to zero changes) and clone (one workspace's
settings planned onto others), as the library does them: ``wscfg export`` and ``wscfg clone``
print what these return; :meth:`wscfg.Session.export` is :func:`export_one`.

Nothing here prints or exits: the embedded-sandbox notice goes to ``on_notice``; workspaces
that cannot be exported come back in :attr:`Exported.skipped`, webhooks whose secret clone
cannot copy in :attr:`Clone.uncopied`."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .results import NoticeHook, embedded_notice

if TYPE_CHECKING:
    from ..engine.safety import Allowances
    from ..errors import Diagnostic
    from .results import PlanSet
    from .settings import Settings


@dataclass
class Exported:
    """YAML per workspace slug, and why each workspace left out was left out."""

    documents: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def export(
    settings: Settings,
    slug: str | None = None,
    *,
    base: dict[str, Any] | None = None,
    by: str = "wscfg",
    on_notice: NoticeHook | None = None,
) -> Exported:
    """The live settings of workspace ``slug`` (None: of every workspace the key reaches) as
    configs; ``base``: a template document, so each writes only what differs from it. ``by``
    names the exporter in each file's header."""
    return settings.run(_export(settings, slug, base, by, on_notice))


async def _export(
    settings: Settings,
    slug: str | None,
    base: dict[str, Any] | None,
    by: str,
    on_notice: NoticeHook | None,
) -> Exported:
    from ..model.base import SLUG_RE

    out = Exported()
    async with settings.connection() as conn:
        if conn.embedded and on_notice is not None:
            on_notice(embedded_notice(conn.server))
        slugs = [slug] if slug else sorted(w["slug"] for w in await conn.client.list_workspaces())
        for s in slugs:
            if not isinstance(s, str) or not SLUG_RE.match(s):
                # --all names files after slugs: a server's "../../x" must not become a path
                out.skipped.append(f"skipped workspace {_printable(s)}: not a valid workspace slug")
                continue
            out.documents[s] = await export_one(
                conn.client, conn.server, s, base=base, by=by, environ=settings.environ
            )
    return out


async def export_one(
    client: Any,
    server: str,
    slug: str,
    *,
    base: dict[str, Any] | None = None,
    by: str = "wscfg",
    environ: Mapping[str, str] = os.environ,
) -> str:
    """One workspace's live settings as a config (YAML): environment values it holds written
    as references to them; secrets never (a webhook with one gets a comment)."""
    from ..config.dump import to_yaml
    from ..engine.envrefs import env_references
    from ..engine.export import export_live
    from ..fleet import read_live

    live = await read_live(client, slug)
    result = export_live(live, base=base)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"Exported from {server}, workspace {slug}, on {stamp} by {by}.",
        "Plans to zero changes against the same workspace. Secrets are never exported.",
    ]
    document = env_references(result.document, environ)
    return to_yaml(
        document, header=header, secrets=result.secrets, footer=result.read_only_section()
    )


def _printable(value: Any) -> str:
    text = repr(value)
    return "".join(c if c.isprintable() else "?" for c in text[:80])


def load_base(path: str) -> dict[str, Any]:
    """The template ``path`` (``--extends``) as a document."""
    from ..config.template import load_template_document

    return load_template_document(path)


def rebase(text: str, base: str | None, dest: Path) -> str:
    """Insert `extends:` pointing at the template, relative to where the file is written."""
    if not base:
        return text
    rel = os.path.relpath(Path(base).resolve(), dest.resolve().parent)
    return text.replace("version: 1\n", f"version: 1\nextends: {rel}\n", 1)


def check_exported(paths: Sequence[Path], base: str) -> list[Diagnostic]:
    """The problems of files exported with a template: what the template leaves open
    (variables each target must define) export cannot guess. The template was named, so its
    folder is a config root too."""
    from ..config.validate import check_paths

    report = check_paths([str(p) for p in paths], config_roots=[os.path.dirname(base) or "."])
    return list(report.diagnostics)


def write(docs: Mapping[str, str], base: str | None, dest: Path, *, folder: bool) -> list[Path]:
    """Write the exported documents, each rebased on the template ``base``: into the folder
    ``dest`` (made if missing) as SLUG.yaml, or the one document to the file ``dest``."""
    from ..files import write_file

    if folder:
        dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in docs.items():
        written.append(dest / f"{name}.yaml" if folder else dest)
        write_file(written[-1], rebase(text, base, written[-1]))
    return written


def open_problems(paths: Sequence[Path], base: str | None) -> list[str]:
    """With a template, a warning if the files need something it leaves open (variables each
    target must define): export cannot guess their values."""
    problems = check_exported(paths, base) if base and paths else []
    if not problems:
        return []
    return [
        f"Warning: {len(problems)} problem(s) in the exported files; the template "
        "needs values only you know (e.g. its variables under `vars:`):",
        *(f"  {d.headline()}" for d in problems[:10]),
    ]


# --- clone -----------------------------------------------------------------------------------


def clone(
    settings: Settings,
    source: str,
    to: Sequence[str] = (),
    target_patterns: Sequence[str] = (),
    shard: tuple[int, int] | None = None,
    *,
    allow: Allowances | None = None,
    on_notice: NoticeHook | None = None,
) -> tuple[PlanSet, list[str]]:
    """Plan copying workspace ``source``'s settings onto the workspaces ``to`` (none: every
    workspace the key reaches but the source, narrowed by the slug globs ``target_patterns`` and
    ``shard``): (the plans, to apply with :func:`wscfg.workflow.run.apply`; a warning per
    webhook whose secret cannot be copied, by what each target has). Members, invitations
    and API keys are not copied; each target keeps its slug and name."""
    from ..engine.safety import Allowances
    from .keys import desired_secrets, env_mask, environment_values
    from .results import PlanSet

    run, server, uncopied = settings.run(
        _clone_plans(settings, source, list(to), target_patterns, shard, on_notice)
    )
    warnings = [line for name in uncopied for line in uncopied_secret(name, run.live)]
    # live values may hold environment values: masked as a config's would be
    mask = env_mask(environment_values(settings.environ), settings.key)
    ps = PlanSet(
        run.plans,
        run.failures,
        server,
        allow if allow is not None else Allowances(),
        mask=mask,
        secrets=desired_secrets(run),
        key=settings.key,
    )
    return ps, warnings


async def _clone_plans(
    settings: Settings,
    source: str,
    named: list[str],
    globs: Sequence[str],
    shard: tuple[int, int] | None,
    on_notice: NoticeHook | None,
) -> tuple[Any, str, list[str]]:
    from ..config.desired import TargetConfig
    from ..engine.export import export_live
    from ..engine.state import desired_state
    from ..errors import Worded, WscfgError
    from ..fleet import plan_fleet, read_live, select
    from ..model import WorkspaceConfig

    async with settings.connection() as conn:
        if conn.embedded and on_notice is not None:
            on_notice(embedded_notice(conn.server))
        if named:
            pool = named
        else:
            listed = await conn.client.list_workspaces()
            pool = sorted(str(w["slug"]) for w in listed if w.get("slug") != source)
        chosen = select(pool, list(globs), shard)
        if not chosen:
            names = ", ".join(pool[:5]) + (" …" if len(pool) > 5 else "") if pool else "(none)"
            raise WscfgError(
                Worded(
                    "no workspace to copy onto: {target_patterns}/{shard} matched none of " + names,
                    {"target_patterns": "target patterns", "shard": "shard"},
                )
            )
        exported = export_live(await read_live(conn.client, source))
        doc = exported.document
        doc.pop("members", None)  # people belong to each workspace, not to its settings
        doc.pop("invitations", None)
        doc.pop("api_keys", None)  # a key belongs to its workspace; its secret exists once
        profile = {k: v for k, v in doc.get("workspace", {}).items() if k not in ("slug", "name")}
        states = []
        for slug in chosen:
            body = dict(doc, workspace={"slug": slug, **profile})
            config = WorkspaceConfig.model_validate(body)
            states.append(desired_state(TargetConfig(f"clone of {source}", config)))
        run = await plan_fleet(conn.client, states, parallel=settings.parallel)
        return run, conn.server, sorted(exported.secrets)


def uncopied_secret(name: str, live: Mapping[str, Any]) -> list[str]:
    """What clone says of a webhook whose secret it cannot copy, by what each target has: its
    own secret (kept), or no secret at all (the webhook is created or left without one)."""
    keeps: list[str] = []
    bare: list[str] = []
    for slug, state in sorted(live.items()):
        hook = (state.items.get("webhooks") or {}).get(name) or {}
        (keeps if hook.get("secret_fingerprint") else bare).append(slug)
    head = f"Warning: the secret of webhook {name} cannot be copied (it is write-only); "
    out = []
    if keeps:
        out.append(
            head + f"{', '.join(keeps)} keep{'s' if len(keeps) == 1 else ''} "
            "its own secret: set it there if it differs"
        )
    if bare:
        out.append(
            head + f"{', '.join(bare)} get{'s' if len(bare) == 1 else ''} the webhook without a "
            "secret: set one there (secret: ${env:NAME} in its config)"
        )
    return out
