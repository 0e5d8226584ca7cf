"""Environment values written as references in configs made from live data (export, clone).

``wscfg export`` has no config to say which fields came from the environment: it reads the
whole environment, and writes ``${env:NAME}`` wherever a value of it (long enough not to be a
common word, not a machine setting) appears in any of its spellings
(:func:`wscfg.engine.envmask.forms`), so the export shows no environment value and plans to
zero changes where the variable is set. See docs/reliability.md, "Environment values".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .envmask import PHONE_CHARS, forms, map_strings

MIN_REFERENCED = 8  # export: environment values at least this long become ${env:NAME}
# export: a variable of phone characters with at least this many digits becomes ${env:NAME}
# where an E.164 number ends in its digits ("+1 (555) ${env:PHONE_SUFFIX}" → +15550100199)
E164_PART_MIN = 6
# Variables that describe the machine, not a secret or a config value: their values (a time
# zone, a locale, a user name) legitimately appear in settings and are left alone.
SYSTEM_VARIABLES = frozenset(
    (  # noqa: SIM905 (a list of 25 words, one a line, would be 25 lines)
        "TZ LANG LANGUAGE TERM COLORTERM SHELL USER LOGNAME USERNAME HOSTNAME HOME PWD OLDPWD PATH "
        "EDITOR VISUAL PAGER DISPLAY TERM_PROGRAM HOSTTYPE OSTYPE MACHTYPE SHLVL TMPDIR CI"
    ).split()
)


def referable(name: str, value: str) -> bool:
    """Whether an environment value is hidden in output made from live data (export, clone):
    long enough not to be a common word, not a file path, not a machine setting."""
    return (
        len(value) >= MIN_REFERENCED
        and not value.startswith(("/", "~", "."))
        and not _machine(name)
    )


def _machine(name: str) -> bool:
    return name in SYSTEM_VARIABLES or name.startswith(("LC_", "XDG_"))


def env_references(value: Any, environ: Mapping[str, str]) -> Any:
    """Exported data with every :func:`referable` environment value written as
    ``${env:NAME}``, in any of its :func:`forms` (the platform may keep a value lower-cased,
    as E.164 digits or percent-encoded: ``MGR=Ann.Lee`` in ``ann.lee@x.example``), and every
    literal ``${`` as ``$${``, so the export shows no environment value and still plans to
    zero changes where that variable is set (a normalized spelling may plan as a change of
    spelling, shown masked). A phone number's part shorter than that (a 7-digit suffix) is
    referenced where an E.164 number ends in it (:data:`E164_PART_MIN`)."""
    names: dict[str, str] = {}
    parts: dict[str, str] = {}  # digits of a phone number's part -> name (see E164_PART_MIN)
    for name, text in sorted(environ.items(), key=lambda kv: (not kv[1].isdigit(), kv[0])):
        if referable(name, text):
            for form in forms(text).values():
                if len(form) >= MIN_REFERENCED:
                    names.setdefault(form.lower(), name)
        digits = "".join(c for c in text if c.isdigit())
        if set(text) <= PHONE_CHARS and len(digits) >= E164_PART_MIN and not _machine(name):
            parts.setdefault(digits, name)
    phone = (
        re.compile(r"\+\d+?(" + "|".join(sorted(parts, key=len, reverse=True)) + r")\Z")
        if parts
        else None
    )
    pattern = (
        re.compile(
            "|".join(re.escape(v) for v in sorted(names, key=len, reverse=True)), re.IGNORECASE
        )
        if names
        else None
    )

    def one(text: str) -> str:
        text = text.replace("${", "$${")
        m = phone.fullmatch(text) if phone is not None else None
        if m is not None:  # an E.164 number ending in a variable's digits
            return text[: m.start(1)] + "${env:" + parts[m.group(1)] + "}"
        if pattern is None:
            return text
        return pattern.sub(lambda m: "${env:" + names[m.group().lower()] + "}", text)

    return map_strings(value, one)
