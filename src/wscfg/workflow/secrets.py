"""The secrets file (the CLI's ``--new-secrets-to FILE``): where the secret of a new or
re-issued API key is written, once.

The file is ``NAME=value`` lines (``SLUG/NAME=value`` when a run reaches several workspaces),
mode 0600, rewritten whole through a temporary file of mode 0600 after each secret arrives,
so a run stopped half-way keeps the secrets already issued. An existing file is refused
unless ``force`` is given; with it, its lines for other keys are kept and a re-issued key's
line replaced. Nothing else in wscfg ever sees a secret: it is not printed, logged or saved.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Worded, WscfgError
from ..files import temp_beside, write_atomic

if TYPE_CHECKING:
    from ..engine.plan import Plan

SECRETS_MODE = 0o600
# the options an error about the file names (the CLI words them as its flags)
OPTIONS = {"secrets_file": "secrets file", "force": "force"}


def _at(path: Path, what: str) -> Worded:
    """A message about the secrets file at ``path`` (``what`` may name ``{force}``)."""
    return Worded(f"{{secrets_file}} {path}: {what}", OPTIONS)


class SecretsFile:
    """The secrets file of one run."""

    def __init__(self, path: str, *, force: bool, prefixed: bool) -> None:
        self.path = Path(path)
        self.force = force
        self.prefixed = prefixed
        self.values: dict[str, str] = {}  # the file's lines: kept ones (--force) and new ones
        self.written = 0  # secrets this run wrote

    def check(self) -> None:
        """Before anything is written: refuse an existing file without ``force``."""
        if not self.path.parent.is_dir():
            raise WscfgError(_at(self.path, f"the folder {self.path.parent} does not exist"))
        if self.path.is_dir():
            raise WscfgError(_at(self.path, "is a folder"))
        if os.path.lexists(self.path) and not self.force:  # a link, even to nothing, too
            raise WscfgError(
                _at(
                    self.path, "the file exists; pass {force} to overwrite it (nothing was written)"
                )
            )

    def open(self) -> None:
        """Check, make sure a file can be written there (a secret issued and then not saved is
        lost), and keep the lines of an existing file (``force``)."""
        self.check()
        try:
            fd, tmp = self._temp()
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise WscfgError(
                _at(
                    self.path,
                    f"cannot write a file in {self.path.parent} ({exc.strerror}); nothing was "
                    "written",
                )
            ) from None
        if self.path.exists():
            try:
                text = self.path.read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise WscfgError(_at(self.path, f"cannot read it ({exc})")) from None
            for line in text.splitlines():
                name, sep, value = line.partition("=")
                if sep and name:
                    self.values[name] = value

    def add(self, slug: str, name: str, secret: str) -> None:
        from ..api import redact

        redact.register(secret)  # any later log line (httpx, httpcore, wscfg.api) hides it
        self.values[f"{slug}/{name}" if self.prefixed else name] = secret
        try:
            self._write()
            self.written += 1
        except OSError as exc:  # the key's change fails (named by apply); the run goes on
            raise WscfgError(
                f"the key was issued but its secret could not be written to {self.path} "
                f"({exc.strerror}); raise its rotation to issue another"
            ) from None

    def _temp(self) -> tuple[int, str]:
        return temp_beside(self.path, SECRETS_MODE)

    def _write(self) -> None:
        write_atomic(
            self.path, "".join(f"{k}={v}\n" for k, v in self.values.items()), mode=SECRETS_MODE
        )


def secrets_file(
    path: str | None, force: bool, plans: list[Plan], *, opening: bool, targets: int = 0
) -> SecretsFile | None:
    """The run's secrets file when a plan issues a secret and a path was given; checked (and,
    with ``opening``, its kept lines read) before anything is written. ``targets``: how many
    target workspaces the run has (those skipped or not planned too; at least ``plans``):
    with several, the lines are ``SLUG/NAME=value``."""
    from ..engine.apikeys import secret_keys

    issuing = [p.slug for p in plans if secret_keys(p.changes)]
    if path is None or not issuing:
        return None
    out = SecretsFile(path, force=force, prefixed=max(targets, len(plans)) > 1)
    if opening:
        out.open()
    else:
        out.check()
    return out


class SecretsHook:
    """A run's ``open_secrets`` event (:class:`wscfg.workflow.run.Events`) for the secrets
    file ``path`` (``None``: none given): it opens the file when a plan issues a secret, and
    keeps it as ``file`` to say how many secrets it took."""

    def __init__(self, path: str | None, force: bool = False) -> None:
        self.path, self.force = path, force
        self.file: SecretsFile | None = None

    def __call__(self, plans: list[Plan], targets: int) -> Callable[[str, str, str], None] | None:
        opened = secrets_file(self.path, self.force, plans, opening=True, targets=targets)
        self.file = self.file or opened
        return opened.add if opened is not None else None
