"""Every error a wscfg user can meet.

The CLI has exactly one handler: it catches :class:`WscfgError`, prints ``Error: <message>``
(plus any diagnostics) and exits with the error's ``exit_code``. Anything else is a bug and is
reported as such (with a traceback only under ``--debug``).

Error tree::

    WscfgError                     exit 1 unless noted
    ├── ConfigError                bad YAML, schema, references, vars or env (carries Diagnostics)
    ├── PlanError
    │   ├── UnsafePlanError        last owner removed, mass changes not allowed (.allowances)
    │   ├── StalePlanError         a saved plan no longer matches the live workspace
    │   └── PlanFileError          a plan file that is unreadable or of another version
    ├── ApiError                   talking to the platform failed; carries the request
    │   ├── TransportError         connection refused/reset, timeout (after retries)
    │   ├── ProtocolError          another workspace's data, bad JSON, foreign redirect, too big
    │   └── HTTPStatusError        a problem+json answer (status, title, detail, field errors)
    │       ├── AuthError          401 / 403
    │       ├── NotFoundError      404
    │       ├── ConflictError      409 (role in use, last owner, already exists)
    │       ├── PreconditionFailed 412 (the item changed since it was read)
    │       └── RateLimitedError   429 after the retry budget was spent
    ├── ApplyError                 apply stopped part-way; exit 3 when something was written
    └── SetupError                 missing optional dependency, bad server URL, no token

Messages never contain secret values: webhook secrets and API keys are only ever referred to
by their ``${env:NAME}`` reference or fingerprint.

A message that names an option of the API (what allows a refused plan, where new API key
secrets go…) is :class:`Worded`: ``str(error)`` words each option as the library spells it,
:meth:`WscfgError.worded` as a front end does (the CLI passes its flags; cli/__init__.py),
and :attr:`WscfgError.options` lists the options named. No library message spells a CLI flag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

_OPTION_FIELD = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


@dataclass(frozen=True)
class Worded:
    """A message that names options of the API: ``template`` holds a ``{name}`` field for
    each, ``options`` maps each name to the library's words for it (``{"new_secrets":
    "on_secret"}``). Any other brace in the template is text."""

    template: str
    options: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.worded({})

    def worded(self, words: Mapping[str, str]) -> str:
        """The message with each option in ``words`` (a front end's own, e.g. its flags), the
        others in the library's words."""

        def one(match: re.Match[str]) -> str:
            name = match[1]
            if name not in self.options:
                return match[0]
            return words.get(name, self.options[name])

        return _OPTION_FIELD.sub(one, self.template)


class WscfgError(Exception):
    """Base of every error wscfg reports to a user."""

    exit_code = 1

    def __init__(self, message: str | Worded) -> None:
        self._worded = message if isinstance(message, Worded) else None
        text = str(message)
        super().__init__(text)
        self.message = text

    def __str__(self) -> str:
        return self.message

    @property
    def options(self) -> tuple[str, ...]:
        """The options of the API the message names (see :class:`Worded`)."""
        return tuple(self._worded.options) if self._worded is not None else ()

    def worded(self, words: Mapping[str, str]) -> str:
        """The message with the options it names in ``words`` (the CLI: its flags)."""
        return self._worded.worded(words) if self._worded is not None else self.message


@dataclass(frozen=True)
class Diagnostic:
    """One problem in one input file, located as precisely as we can."""

    file: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    path: str  # e.g. "members[3].role"; "" for the document itself
    message: str
    source_line: str = ""  # the offending line of the file (a window of a long one), for display
    source_column: int = 0  # the caret's column within source_line; 0: same as ``column``
    rule: str = ""  # the policy a violation breaks (its name is the rule id in CI reports)

    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file

    def headline(self) -> str:
        where = self.location()
        if self.path:
            return f"{where}: {self.path}: {self.message}"
        return f"{where}: {self.message}"

    def shown(self) -> list[str]:
        """The problem as text shows it: its headline, then its source line and a caret under
        the column, each escaped (:func:`wscfg.escape.text`) to one line."""
        from .escape import text

        lines = [text(self.headline())]
        if self.source_line:
            lines.append(f"    {text(self.source_line.rstrip())}")
            caret = self.source_column or self.column
            if caret:
                lines.append("    " + " " * (caret - 1) + "^")
        return lines

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }
        if self.rule:
            out["rule"] = self.rule
        return out


class ConfigError(WscfgError):
    """One or more input files are invalid; ``diagnostics`` lists every problem found."""

    def __init__(self, diagnostics: Sequence[Diagnostic], message: str | None = None) -> None:
        self.diagnostics = list(diagnostics)
        n = len(self.diagnostics)
        super().__init__(
            message or f"{n} problem{'s' if n != 1 else ''} found in the configuration"
        )


class PlanError(WscfgError):
    """A plan cannot be made, saved, loaded or applied as asked."""


class UnsafePlanError(PlanError):
    """The plan would do something that needs an explicit opt-in (or is never allowed).
    ``allowances``: the fields of :class:`wscfg.engine.safety.Allowances` that would allow
    every refusal named (empty when some refusal is never allowed, or none is allowed)."""

    def __init__(self, reasons: Sequence[str], *, allowances: Sequence[str] = ()) -> None:
        self.reasons = list(reasons)
        self.allowances = tuple(allowances)
        super().__init__("the plan is unsafe:\n  - " + "\n  - ".join(self.reasons))


class StalePlanError(PlanError):
    """The live workspace changed since the saved plan was made; nothing was written."""

    def __init__(self, changed: Sequence[str], *, applied: bool = False) -> None:
        self.changed = list(changed)
        self.applied = applied  # every item already reads as the plan would leave it
        if applied:
            super().__init__(
                "the saved plan was already applied (or someone made the same changes since): "
                "every item it touches is as it would leave it; nothing was written.\n"
                "Run `wscfg plan` again for a new plan."
            )
            return
        super().__init__(
            "the saved plan is stale: these items changed since it was made, nothing was written:"
            "\n  - " + "\n  - ".join(self.changed) + "\nRun `wscfg plan` again and review it."
        )


class PlanFileError(PlanError):
    """A saved plan file is unreadable, corrupt or of an unknown format version."""


class ApiError(WscfgError):
    """Talking to the Workspace Settings API failed. ``method``/``url`` name the request.

    ``maybe_applied`` is true for a write that may have landed although it failed: an attempt
    reached the server and its outcome was never heard (a reset, a timeout, a 5xx answer)."""

    maybe_applied: bool = False

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        where = f" ({method} {shown_url(url)})" if method else ""
        super().__init__(f"{message}{where}")


# The embedded sandbox is reached at this base URL in-process (no network; `.wscfg` is no real
# top-level domain). Messages name it as the embedded sandbox, not as a URL nobody can open.
EMBEDDED_BASE_URL = "http://embedded.wscfg"


def shown_url(url: str) -> str:
    """``url`` as a message shows it: a request to the embedded sandbox by its path."""
    if url.startswith(EMBEDDED_BASE_URL + "/"):
        return url.removeprefix(EMBEDDED_BASE_URL) + " on the embedded sandbox"
    return url


class TransportError(ApiError):
    """The request did not get an answer (refused, reset, timed out), after retries.

    ``maybe_applied`` is true for a write whose request was sent: it may have landed."""


class ProtocolError(ApiError):
    """The answer cannot be trusted: another workspace's data, bad JSON, a foreign redirect."""


class HTTPStatusError(ApiError):
    """The server answered with an RFC 9457 problem. ``request_id`` is the server's id for it."""

    request_id: str = ""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        errors: Sequence[dict[str, Any]] = (),
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        text = f"{status} {title}"
        if detail:
            text += f": {detail}"
        for err in self.errors:
            loc = ".".join(str(p) for p in err.get("loc", []) if p != "body")
            text += f"\n  - {loc}: {err.get('msg', '')}" if loc else f"\n  - {err.get('msg', '')}"
        super().__init__(text, method=method, url=url)


class AuthError(HTTPStatusError):
    """401 or 403: the key is missing, wrong, revoked, or lacks the scope or workspace."""


class NotFoundError(HTTPStatusError):
    """404: no such workspace or item (or not visible to this key)."""


class ConflictError(HTTPStatusError):
    """409: a platform rule refused the write (role in use, last owner, already exists)."""


class PreconditionFailed(HTTPStatusError):
    """412: If-Match did not match; someone changed the item since it was read."""


class RateLimitedError(HTTPStatusError):
    """429 after the retry budget was spent."""


STATUS_ERRORS: dict[int, type[HTTPStatusError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailed,
    429: RateLimitedError,
}


class ApplyError(WscfgError):
    """Apply stopped before finishing. ``partial`` tells whether anything was written."""

    def __init__(self, message: str, *, partial: bool, results: Any = None) -> None:
        self.partial = partial
        self.results = results
        super().__init__(message)
        self.exit_code = 3 if partial else 1


class SetupError(WscfgError):
    """wscfg is not set up to do what was asked (dependency, server URL, token)."""


class OptionError(WscfgError):
    """An argument of a library call cannot be used (an unknown kind in ``only``, a selection
    of no workspace). ``option`` names it as the API spells it (``only``, ``targets``),
    ``value`` is the one value at fault (``None``: the argument as a whole) and ``reason``
    says what is wrong without naming the option, so the CLI can word it with its flag."""

    def __init__(self, option: str, reason: str, *, value: str | None = None) -> None:
        self.option = option
        self.reason = reason
        self.value = value
        shown = option if value is None else f"{option} {value!r}"
        super().__init__(f"{shown}: {reason}")


class DeadlineError(WscfgError):
    """The run's time (``connect(timeout=...)``) ran out. ``partial``: it ran out while
    applying, and some changes may have been made (exit 3)."""

    def __init__(self, seconds: float, *, partial: bool) -> None:
        self.seconds = seconds
        self.partial = partial
        if partial:
            text = (
                f"apply stopped after the timeout of {seconds:g} s; some changes may have been made"
            )
        else:
            text = f"gave up after the timeout of {seconds:g} s; nothing was written"
        super().__init__(text)
        self.exit_code = 3 if partial else 1


class ApplyCancelled(ApplyError):
    """The question before a write (``confirm``) was not answered yes; nothing was written
    since it was asked."""

    def __init__(self, question: str) -> None:
        self.question = question
        super().__init__("apply cancelled", partial=False)


def said(exc: WscfgError, words: Mapping[str, str]) -> str:
    """What a front end says of ``exc``, as printed: its message with ``words`` (the front
    end's own, e.g. the CLI's flags) for the options it names, the option of an
    :class:`OptionError` and the ``timeout`` of a :class:`DeadlineError` included; its own lines
    kept, every other control character, separator or bidi control in it escaped (it may quote
    a server or a config)."""
    from .escape import text

    return "\n".join(text(line) for line in _said(exc, words).split("\n"))


def _said(exc: WscfgError, words: Mapping[str, str]) -> str:
    """:func:`said` before escaping; an error that replaced another once workspaces were
    created (``replaced``) says that one's message, and what was written."""
    replaced = getattr(exc, "replaced", None)
    if replaced is not None:
        first = "apply stopped part-way" if isinstance(replaced, ApplyError) else None
        first = first or _said(replaced, words)
        return f"{first}\n{getattr(exc, 'written_note', '')}; run `wscfg plan` to see what is left"
    if isinstance(exc, DeadlineError):
        timeout = words.get("timeout", "timeout")
        if exc.partial:
            return (
                f"apply stopped after {timeout} {exc.seconds:g} s; some changes may have been "
                "made: run `wscfg plan` to see what is left"
            )
        return (
            f"gave up after {timeout} {exc.seconds:g} s; nothing was written (raise {timeout} "
            "for a slow server or a large fleet)"
        )
    if isinstance(exc, OptionError) and exc.value is not None:
        return f"{words.get(exc.option, exc.option)} {exc.value} {exc.reason}"
    return exc.worded(words)
