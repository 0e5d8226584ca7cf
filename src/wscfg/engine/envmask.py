"""Values that came from ``${env:…}`` never appear in a plan, its files or apply's output.

Every output (text, markdown and JSON plans, saved plans, apply's lines) passes through an
:class:`EnvMask`: each environment value the configs used, in any letter case, is shown as
``(from ${env:NAME}, sha256:…)``, a reference and a fingerprint keyed by the plan key (see
:mod:`wscfg.engine.seal`), so the fingerprint cannot be checked against guesses either.
``apply plan.json`` puts the values back from the environment with :func:`unmask`, refusing
when one changed since the plan.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import PlanError

MIN_MASKED = 4  # shorter values ("1", "on", "us") are too common to hide inside other text
MARKER_RE = re.compile(
    r"\(from \$\{env:([A-Za-z_][A-Za-z0-9_]*)\}(?: ([a-z-]+))?, sha256:([0-9a-f]{16})\)"
)


PHONE_CHARS = frozenset("0123456789 +-().")


def forms(value: str) -> dict[str, str]:
    """The spellings of an environment value that output may show, by name (``""``: the value
    itself, which :func:`unmask` puts back), each at least :data:`MIN_MASKED` long: as written
    and case-folded (matching ignores case), inside JSON, percent-encoded (``quote``,
    ``quote_plus``) and percent-decoded, digits only (a phone number normalized to E.164 keeps
    only the digits of its part), and, for a URL, its password and ``user:password`` (a
    message may show a URL taken apart). A masked form says which it was, so that
    :func:`unmask` puts back that spelling."""
    from urllib.parse import quote, quote_plus, unquote, urlsplit

    out = {
        "": value,
        "casefolded": value.casefold(),
        "json": json.dumps(value, ensure_ascii=False)[1:-1],
        "percent-encoded": quote(value, safe=""),
        "path-encoded": quote(value),
        "form-encoded": quote_plus(value),
        "percent-decoded": unquote(value),
    }
    if set(value) <= PHONE_CHARS:
        out["digits"] = "".join(c for c in value if c.isdigit())
    if "://" in value:
        try:
            parts = urlsplit(value)
            password, user = parts.password, parts.username
        except ValueError:
            password = user = None
        if password:
            out["password"] = password
            out["decoded-password"] = unquote(password)
            if user:
                out["userinfo"] = f"{user}:{password}"
    seen: set[str] = set()
    kept: dict[str, str] = {}
    for tag, form in out.items():
        if len(form) >= MIN_MASKED and form.lower() not in seen:
            seen.add(form.lower())
            kept[tag] = form
    return kept


# spellings put back as the value itself (JSON escapes and letter case are undone by reading)
AS_VALUE = frozenset({"", "casefolded", "json"})


def env_fingerprint(key: bytes, value: str) -> str:
    return hmac.new(key, b"env\0" + value.encode(), hashlib.sha256).hexdigest()[:16]


class EnvMask:
    """Replaces environment values (``name -> value``) by their masked references."""

    def __init__(self, values: Mapping[str, str], key: bytes) -> None:
        self._key = key
        by_value: dict[str, tuple[str, str]] = {}
        for name, value in sorted(values.items()):
            if len(value) >= MIN_MASKED:
                for tag, form in forms(value).items():
                    by_value.setdefault(form.lower(), (name, "" if tag in AS_VALUE else tag))
        self._names = by_value
        self._values = dict(values)
        ordered = sorted(by_value, key=len, reverse=True)
        self._re = (
            re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE) if ordered else None
        )

    def __bool__(self) -> bool:
        return self._re is not None

    def marker(self, name: str, form: str = "") -> str:
        fp = env_fingerprint(self._key, self._values[name])
        return f"(from ${{env:{name}}}{' ' + form if form else ''}, sha256:{fp})"

    def text(self, text: str) -> str:
        if self._re is None or not text:
            return text
        return self._re.sub(lambda m: self.marker(*self._names[m.group().lower()]), text)

    def data(self, value: Any) -> Any:
        """``value`` (JSON-like data) with every string masked, keys included."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value


def unmask(value: Any, environ: Mapping[str, str], key: bytes, used: dict[str, str]) -> Any:
    """``value`` with every masked reference replaced by the environment's value, after
    checking its fingerprint; ``used`` collects the names and values put back."""

    def back(match: re.Match[str]) -> str:
        name, form, fp = match.group(1), match.group(2) or "", match.group(3)
        if name not in environ:
            raise PlanError(f"the plan uses ${{env:{name}}}, which is not set")
        current = environ[name]
        if env_fingerprint(key, current) != fp:
            raise PlanError(
                f"${{env:{name}}} holds another value than when the plan was made (or the plan "
                "key differs); make the plan again"
            )
        used[name] = current
        spelled = forms(current).get(form) if form else current
        if spelled is None:
            raise PlanError(
                f"the plan file's mask of ${{env:{name}}} is damaged; make the plan again"
            )
        return spelled

    if isinstance(value, str):
        return MARKER_RE.sub(back, value) if "(from ${env:" in value else value
    if isinstance(value, dict):
        return {
            unmask(k, environ, key, used): unmask(v, environ, key, used) for k, v in value.items()
        }
    if isinstance(value, list):
        return [unmask(v, environ, key, used) for v in value]
    return value


MIN_REFERENCED = 8  # export: environment values at least this long become ${env:NAME}
# Variables that describe the machine, not a secret or a config value: their values (a time
# zone, a locale, a user name) legitimately appear in settings and are left alone.
SYSTEM_VARIABLES = frozenset(
    {
        "TZ",
        "LANG",
        "LANGUAGE",
        "TERM",
        "COLORTERM",
        "SHELL",
        "USER",
        "LOGNAME",
        "USERNAME",
        "HOSTNAME",
        "HOME",
        "PWD",
        "OLDPWD",
        "PATH",
        "EDITOR",
        "VISUAL",
        "PAGER",
        "DISPLAY",
        "TERM_PROGRAM",
        "HOSTTYPE",
        "OSTYPE",
        "MACHTYPE",
        "SHLVL",
        "TMPDIR",
        "CI",
    }
)


def referable(name: str, value: str) -> bool:
    """Whether an environment value is hidden in output made from live data (export, clone):
    long enough not to be a common word, not a file path, not a machine setting."""
    return (
        len(value) >= MIN_REFERENCED
        and not value.startswith(("/", "~", "."))
        and name not in SYSTEM_VARIABLES
        and not name.startswith(("LC_", "XDG_"))
    )


def env_references(value: Any, environ: Mapping[str, str]) -> Any:
    """Exported data with every :func:`referable` environment value written as
    ``${env:NAME}``, and every literal ``${`` as ``$${``, so the export shows no environment
    value and still plans to zero changes where that variable is set."""
    names: dict[str, str] = {}
    for name, text in sorted(environ.items()):
        if referable(name, text):
            names.setdefault(text, name)
    pattern = (
        re.compile("|".join(re.escape(v) for v in sorted(names, key=len, reverse=True)))
        if names
        else None
    )

    def one(text: str) -> str:
        text = text.replace("${", "$${")
        if pattern is None:
            return text
        return pattern.sub(lambda m: "${env:" + names[m.group()] + "}", text)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return one(v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)
