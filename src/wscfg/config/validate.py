"""Load, resolve and validate config files: the public entry points of :mod:`wscfg.config`.

- :func:`load_targets` gives the engine one :class:`TargetConfig` per target workspace, or raises
  :class:`ConfigError` carrying every problem of every file.
- :func:`check_paths` is ``wscfg validate``: it never raises for bad input and returns a
  :class:`ValidationReport`.

Validation of one resolved document, in order: values already reported while resolving
(missing env, bad references) are kept quiet; empty values and platform-set (read-only) fields
are refused; the pydantic models check keys, types and values; a target (a file whose resolved
``workspace.slug`` is set) is then checked for references (roles, call tags, variables), the
owner rule and duplicate identities after normalization. A template (no slug) skips the
target-only checks: each target extending it gets them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import glob
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, Diagnostic
from . import guard
from .desired import DocPath, TargetConfig
from .diagnostics import (
    combine_type_errors,
    did_you_mean,
    format_path,
    node_at,
    translate,
)
from .load import Node
from .resolve import IDENTITY, LABEL, FileCache, RealPaths, Resolved, resolve
from .sourcefile import Unquoted
from .targetchecks import check_duplicates, check_read_only, check_references

YAML_SUFFIXES = (".yaml", ".yml")
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class TargetFile:
    """A valid target file: the workspace it configures and, when the models ran (always
    for plan and apply), the validated settings."""

    file: str
    slug: str
    target_config: TargetConfig | None = None


@dataclass
class ValidationReport:
    """What ``wscfg validate`` found."""

    files: list[str] = field(default_factory=list)
    targets: list[TargetFile] = field(default_factory=list)  # every valid target
    configs: list[TargetConfig] = field(default_factory=list)  # their settings, when models ran
    templates: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)  # unset ${env:X}, in validate

    @property
    def ok(self) -> bool:
        return not self.diagnostics

    def summary(self) -> str:
        n = len(self.files)
        files = f"{n} file{'s' if n != 1 else ''}"
        if self.ok:
            t, p = len(self.targets), len(self.templates)
            w = len(self.warnings)
            warned = f" ({w} warning{'s' if w != 1 else ''})" if w else ""
            return (
                f"{files} valid: {t} target{'s' if t != 1 else ''}, "
                f"{p} template{'s' if p != 1 else ''}{warned}"
            )
        d = len(self.diagnostics)
        bad = len({x.file for x in self.diagnostics})
        return (
            f"{d} problem{'s' if d != 1 else ''} in {bad} file{'s' if bad != 1 else ''} "
            f"({files} checked)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "summary": self.summary(),
            "files": list(self.files),
            "targets": [{"file": t.file, "workspace": t.slug} for t in self.targets],
            "templates": list(self.templates),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "warnings": [d.to_dict() for d in self.warnings],
        }


def load_targets(
    paths: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    config_roots: Sequence[str] = (),
) -> list[TargetConfig]:
    """One :class:`TargetConfig` per target in ``paths`` (files, directories, globs), in order.

    Templates are validated but not returned. Raises :class:`ConfigError` with the problems of
    all files when anything is wrong.
    """
    report = check_paths(paths, environ=environ, config_roots=config_roots)
    if report.diagnostics:
        raise ConfigError(report.diagnostics)
    return report.configs


def check_paths(
    paths: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    config_roots: Sequence[str] = (),
    unset_env_is_warning: bool = False,
    models: bool = True,
) -> ValidationReport:
    """Validate every file under ``paths``; never raises for bad input.

    Without ``models`` (``wscfg validate``), a document the JSON Schema check finds valid is
    not given to the pydantic models (:mod:`wscfg.config.schemacheck`): the report then lists
    its target, not its settings. Every other document is validated by the models.

    ``extends`` stays inside each file's config root (see :mod:`wscfg.config.guard`) plus
    ``config_roots``; no diagnostic quotes a line holding an environment value. With
    ``unset_env_is_warning`` (``wscfg validate``, which must work in CI without secrets), an
    unset ``${env:X}`` is a located warning instead of an error; plan and apply keep it an
    error.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    real_env = env
    if unset_env_is_warning:
        env = LenientEnv(env, _UNSET_IN_VALIDATE)
    report = ValidationReport()
    with gc_paused():
        named: dict[str, str] = {}
        cache = FileCache()
        files, problems = expand_paths(paths, named, cache.real)
        report.diagnostics.extend(problems)
        slugs: dict[str, str] = {}
        roots_of: dict[str, tuple[str, ...]] = {}  # a directory named: one look-up, not per file
        for name in files:
            report.files.append(name)
            by = named.get(name, name)
            roots = roots_of.get(by)
            if roots is None:
                roots = roots_of[by] = guard.roots_for(by, config_roots)
            if not guard.inside(cache.real[name], roots):  # a link that leads out
                report.diagnostics.append(
                    Unquoted(name, 0, 0, "", guard.link_outside_message(roots))
                )
                continue
            resolved = resolve(name, name, cache, env, roots)
            if unset_env_is_warning:
                report.warnings.extend(_unset_env(resolved))
            target, is_template, diags = validate_resolved(resolved, models=models)
            report.warnings.extend(resolved.warnings)
            report.diagnostics.extend(diags)
            if is_template:
                report.templates.append(name)
            if target is None:
                continue
            other = slugs.get(target.slug)
            if other is not None:
                src = resolved.sources.get(("workspace", "slug"))
                report.diagnostics.append(
                    _at(
                        resolved,
                        ("workspace", "slug"),
                        f"workspace '{target.slug}' is already the target of {other}; "
                        "each workspace must be configured by one file",
                    )
                    if src
                    else Diagnostic(name, 0, 0, "workspace.slug", "duplicate target")
                )
                continue
            slugs[target.slug] = name
            report.targets.append(target)
            if target.target_config is not None:
                report.configs.append(target.target_config)
    report.diagnostics = shown(report.diagnostics, cache, real_env)
    report.warnings = shown(report.warnings, cache, real_env)
    return report


def shown(
    diagnostics: list[Diagnostic], cache: FileCache, environ: Mapping[str, str]
) -> list[Diagnostic]:
    """Diagnostics as they may be shown, every one of them, whatever made it: quoting nothing
    of a file not known to be a wscfg config (:func:`guard.unquoted_unless_known`), nor any
    environment value (:func:`guard.guard_diagnostics`); each once, in file order."""
    known, unknown = cache.shown_names()
    diagnostics = guard.unquoted_unless_known(diagnostics, known, unknown)
    return guard.guard_diagnostics(dedup(diagnostics), environ)


# What an unset variable reads as in validate: plain text that passes as a secret or a name.
_UNSET_IN_VALIDATE = "wscfg-unset-env-placeholder"


class LenientEnv(dict[str, str]):
    """The environment, where an unset variable reads as a placeholder instead of an error."""

    def __init__(self, environ: Mapping[str, str], placeholder: str) -> None:
        super().__init__(environ)
        self.placeholder = placeholder

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, self.placeholder)


def _unset_env(r: Resolved) -> list[Diagnostic]:
    """A warning per value that uses an unset ``${env:X}``; validation says nothing more about
    that value (it is only known in plan and apply)."""
    out = []
    for p, pairs in r.env_paths.items():
        names = [name for name, value in pairs if value == _UNSET_IN_VALIDATE]
        for name in dict.fromkeys(names):
            r.quiet.add(p)
            out.append(
                _at(r, p, f"environment variable {name} is not set; plan and apply will need it")
            )
    return out


def expand_paths(
    paths: Sequence[str],
    named: dict[str, str] | None = None,
    realpath: Mapping[str, str] | None = None,
) -> tuple[list[str], list[Diagnostic]]:
    """Files named by ``paths``: files as given, directories recursively (``*.yaml``/``*.yml``,
    hidden entries skipped, sorted), globs expanded (sorted). Each file once. ``named``, when
    given, maps each file to the path that named it (itself, or its directory); ``realpath``:
    the run's :class:`~wscfg.config.resolve.RealPaths`."""
    out: list[str] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    real_of = RealPaths() if realpath is None else realpath

    def add(name: str, by: str | None = None) -> None:
        real = real_of[name]
        if real not in seen:
            seen.add(real)
            out.append(name)
            if named is not None:
                named[name] = by or name

    for p in paths:
        if os.path.isdir(p):
            found = _walk(p)
            if not found:
                problems.append(Unquoted(p, 0, 0, "", "no .yaml or .yml files in this directory"))
            for f in found:
                add(f, p)
        elif os.path.exists(p):
            add(p)
        elif _GLOB_CHARS & set(p):
            matches = sorted(glob.glob(p, recursive=True))
            if not matches:
                problems.append(Unquoted(p, 0, 0, "", "no files match this pattern"))
            for m in matches:
                if os.path.isdir(m):
                    for f in _walk(m):
                        add(f, m)
                else:
                    add(m)
        else:
            problems.append(Unquoted(p, 0, 0, "", "no such file or directory"))
    return out, problems


def _walk(top: str) -> list[str]:
    """The YAML files under ``top``, sorted by their path below it, part by part."""
    found: list[tuple[list[str], str]] = []
    for here, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(here, top)  # once per directory, not per file
        parts = [] if rel == os.curdir else rel.split(os.sep)
        for n in sorted(names):
            if n.endswith(YAML_SUFFIXES) and not n.startswith("."):
                found.append(([*parts, n], os.path.normpath(os.path.join(here, n))))
    found.sort(key=lambda entry: entry[0])
    return [f for _parts, f in found]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Loading allocates many small objects and no cycles; the cyclic GC only slows it down."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def dedup(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, int, int, str]] = set()
    out: list[Diagnostic] = []
    for d in diagnostics:
        key = (d.file, d.line, d.column, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    out.sort(key=lambda d: (d.file, d.line, d.column))
    return out


# --- one resolved document -----------------------------------------------------------------


def _at(r: Resolved, path: DocPath, message: str, *, at_key: bool = False) -> Diagnostic:
    assert r.root is not None
    node, found = node_at(r.root, path)
    names = r.var_paths.get(path, ()) if found and not at_key else ()
    for name in dict.fromkeys(names):
        var = r.var_nodes.get(name)
        if var is not None:
            message += f" (${{var.{name}}} is set at {var.src.name}:{var.kline})"
    d = node.diagnostic(message, format_path(path), at_key=at_key and found)
    return _redact(d, _env_near(r, path))


GLOBAL_REDACT_MIN = 8  # values at least this long are redacted from every message


def _env_near(r: Resolved, path: DocPath) -> dict[str, str]:
    """Environment values a message about ``path`` could quote: those used at, above or below
    it, plus every long one (a safety net)."""
    out = {name: value for name, value in r.env_values.items() if len(value) >= GLOBAL_REDACT_MIN}
    n = len(path)
    for p, pairs in r.env_paths.items():
        if p[:n] == path or path[: len(p)] == p:
            out.update(pairs)
    return out


# Words messages are made of ("must be true or false"): an environment value that is one of them
# is replaced only where the message quotes it as a value ('true'), never in the wording (the
# same words as wscfg.engine.envmask.WORDS).
MESSAGE_WORDS = frozenset({"true", "false", "null", "none", "yes", "no", "on", "off", "unset"})
SHORT_VALUE = 4  # shorter values are replaced only as whole words (engine.envmask.MIN_MASKED)


def _redact(d: Diagnostic, env_values: Mapping[str, str]) -> Diagnostic:
    """Replace environment values in a message by their ${env:NAME} references, in one pass
    (a reference put in is never searched again), ignoring case (a host name is shown
    lower-cased). A value of SHORT_VALUE characters or more is replaced wherever it shows; a
    shorter one not inside a longer word (its letters not next to other letters: "ab" is not
    replaced in "table", "019" is in "+15550100199"); a word of MESSAGE_WORDS only where the
    message quotes it. See docs/reliability.md, "Environment values"."""
    msg = d.message
    names: dict[str, str] = {}
    patterns = []
    spelled = [(n, s) for n, v in env_values.items() for s in dict.fromkeys((v, v.strip()))]
    for name, value in sorted(spelled, key=lambda kv: -len(kv[1])):  # stripped: as text keeps it
        low = value.lower()
        if not value or low in names or low not in msg.lower():
            continue
        names[low] = name
        v = re.escape(value)
        if low in MESSAGE_WORDS:
            patterns.append(f"(?<=['\"]){v}(?=['\"])")
        elif len(value) < SHORT_VALUE:  # not inside a longer word ("ab" in "table")
            before = "(?<![^\\W\\d_])" if value[0].isalpha() else ""
            after = "(?![^\\W\\d_])" if value[-1].isalpha() else ""
            patterns.append(before + v + after)
        else:
            patterns.append(v)
    if not patterns:
        return d
    pattern = re.compile("|".join(patterns), re.IGNORECASE)
    msg = pattern.sub(lambda m: "${env:" + names[m.group().lower()] + "}", msg)
    if msg == d.message:
        return d
    return Diagnostic(d.file, d.line, d.column, d.path, msg, d.source_line, rule=d.rule)


def validate_resolved(
    r: Resolved, *, models: bool = True
) -> tuple[TargetFile | None, bool, list[Diagnostic]]:
    """(a valid target, whether the file is a template, problems). Without ``models``, a
    document the JSON Schema check accepts is not given to the models (see check_paths)."""
    long_env = _env_near(r, ("",))
    diags = [_redact(d, long_env) for d in r.diagnostics]
    if r.root is None:
        return None, False, diags
    data = r.data
    ws = data.get("workspace")
    slug = ws.get("slug") if isinstance(ws, dict) else None
    is_target = slug is not None and ("workspace", "slug") not in r.quiet
    quiet = set(r.quiet)

    def report(path: DocPath, message: str, *, at_key: bool = False) -> None:
        diags.append(_at(r, path, message, at_key=at_key))
        quiet.add(path)

    for path in r.nulls:
        report(path, _null_message(path))
    check_read_only(data, report)
    if is_target:
        for path, (node, names) in r.unresolved.items():
            for name in names:
                d = node.diagnostic(_undefined_var(r, node, name), format_path(path))
                diags.append(_redact(d, _env_near(r, path)))

    # The schema check answers for a valid document (it also finds no duplicate identities);
    # anything else goes to the models, which word every problem.
    if is_target and r.policies:
        _check_policies(r, data, diags, quiet)
    quick = not models and not diags and _conforms(data, is_target)
    config = None if quick else _model(r, data, quiet, is_target, diags)
    if is_target:
        check_references(data, report)
        if config is not None:
            check_duplicates(config, r, report, quiet)
    if not is_target or diags or (config is None and not quick):
        return None, not is_target, diags
    if config is None:
        return TargetFile(r.file, data["workspace"]["slug"].strip()), False, diags
    target_config = TargetConfig(
        r.file,
        config,
        r.sources,
        r.secret_refs,
        dict(r.env_values),
        frozenset(r.inherited),
        tuple(r.policies),
        env_paths=dict(r.env_paths),
        locks=tuple(r.locks),
    )
    return TargetFile(r.file, target_config.slug, target_config), False, diags


def _check_policies(
    r: Resolved, data: dict[str, Any], diags: list[Diagnostic], quiet: set[DocPath]
) -> None:
    """Each policy of the chain over the resolved document: a violation of an error policy is
    a diagnostic, of a warning policy a warning; both are located at the offending value and
    never quote it. A value already reported (e.g. an unset ${env:X}) is not checked again."""
    from .policies import policy_document

    document = policy_document(data)
    for policy in r.policies:
        for named, at, what in policy.violations(document):
            if any(named[:i] in quiet for i in range(1, len(named) + 1)):
                continue
            message = f"{what}; {policy.label()}"
            d = _at(r, at, message, at_key=at != named)
            d = dataclasses.replace(d, path=format_path(named), rule=policy.name)
            (diags if policy.severity == "error" else r.warnings).append(d)


def _conforms(data: dict[str, Any], is_target: bool) -> bool:
    from .schemacheck import conforms

    ws = data.get("workspace")
    if not is_target and isinstance(ws, dict) and "slug" not in ws:
        # A template has no slug, and the models' "slug is missing" is not reported for one.
        data = {**data, "workspace": {**ws, "slug": "template"}}
    return conforms(data)


def _null_message(path: DocPath) -> str:
    if len(path) == 1 and path[0] in IDENTITY:
        kind = path[0]
        return (
            f"has no value: write `{kind}: []` to manage an empty list (every live "
            f"{LABEL[kind]} would be deleted), or remove the key to leave {kind} unmanaged"
        )
    if path and isinstance(path[-1], int):
        return "empty list item"
    return "has no value; give one, or remove the key to leave it unmanaged"


def _undefined_var(r: Resolved, node: Node, name: str) -> str:
    msg = f"variable '{name}' is not defined"
    close = did_you_mean(name, r.var_names)
    if node.src.name != r.file:
        msg += f"; {r.file} extends this file and must define it under `vars:`"
    elif close:
        msg += f"; did you mean '{close}'?"
    else:
        msg += "; define it under `vars:`"
    return msg


def _model(
    r: Resolved, data: dict[str, Any], quiet: set[DocPath], is_target: bool, diags: list[Diagnostic]
) -> Any:
    from pydantic import ValidationError

    from ..model import WorkspaceConfig

    try:
        return WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    grouped: dict[DocPath, list[tuple[str, bool, bool]]] = {}
    for err in errors:
        t = translate(err, data, WorkspaceConfig)
        if t is None:
            continue
        path, message, at_key, is_type = t
        if any(path[:i] in quiet for i in range(len(path) + 1)):
            continue
        if not is_target and path == ("workspace",) and message == "missing required key 'slug'":
            continue
        if path == ("version",) or message == "missing required key 'version'":
            continue  # checked in every file of the chain while resolving
        grouped.setdefault(path, []).append((message, at_key, is_type))
    for path, entries in grouped.items():
        types_ = [m for m, _, is_type in entries if is_type]
        if len(types_) > 1:
            entries = [(combine_type_errors(types_), False, True)] + [
                e for e in entries if not e[2]
            ]
        seen: set[str] = set()
        for message, at_key, _ in entries:
            if message not in seen:
                seen.add(message)
                d = _at(r, path, message, at_key=at_key)
                if at_key:  # a key the format has not there: its line (its value) is not shown
                    d = dataclasses.replace(d, source_line="", source_column=0)
                diags.append(d)
    return None


_SLUG_LINE = re.compile(r"^\s*slug:\s*['\"]?([a-z0-9][a-z0-9-]*)['\"]?\s*(?:#.*)?$", re.M)
_SLUG_FLOW = re.compile(r"^workspace:\s*\{[^}\n]*\bslug:\s*['\"]?([a-z0-9][a-z0-9-]*)", re.M)


_TOP_LINE = re.compile(r"^(?![ \t#]|---|\.\.\.)(.*)$", re.M)  # a line at column 0, not a comment
_TOP_KEY = re.compile(r"""['"]?([A-Za-z0-9_$-]+)['"]?[ \t]*:(?:[ \t]|$)""")


def guess_target_slugs(paths: Sequence[str]) -> list[str]:
    """Slugs written literally in the files, found without parsing them (a hint for reading
    live state early while the real load runs; never a substitute for it). Only from a file
    that looks like a config on its face (every line at column 0 is a config's top-level key,
    one of them `version`): nothing of another file is sent to the server as a slug."""
    files, _ = expand_paths(paths)
    out: list[str] = []
    for name in files:
        data, _ = guard.read_config_bytes(name)  # never blocks on a FIFO
        if data is None:
            continue
        text = data[: 1 << 20].decode("utf-8", "replace")
        if not _looks_like_a_config(text):
            continue
        match = _SLUG_FLOW.search(text) or _SLUG_LINE.search(text)
        if match:
            out.append(match.group(1))
    return out


def _looks_like_a_config(text: str) -> bool:
    keys = []
    for line in _TOP_LINE.findall(text):
        if not line.strip():
            continue
        match = _TOP_KEY.match(line)
        if match is None or not guard.config_key(match.group(1)):
            return False
        keys.append(match.group(1))
    return "version" in keys
