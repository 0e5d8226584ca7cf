"""Writing a file whole or not at all: the one way wscfg writes a file.

A file is written to a new temporary file beside it (created with ``O_EXCL``, under a random
name nobody could plant a link at beforehand), flushed to disk, then renamed over the path:
a reader sees the old file or the new one, never half of one, and a failure leaves the old
file as it was and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from .errors import WscfgError

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_NEW_FILE_MODE = 0o666  # less the umask, as open(path, "w") makes it


def temp_beside(path: str | os.PathLike[str], mode: int | None = None) -> tuple[int, str]:
    """A new, empty temporary file in the folder of ``path``: (open descriptor, its name).
    ``mode``: exactly these permission bits (default: a new file's, as the umask leaves them).
    Raises OSError."""
    target = Path(path)
    for _ in range(100):
        name = str(target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp"))
        try:
            fd = os.open(name, _FLAGS, _NEW_FILE_MODE if mode is None else mode)
        except FileExistsError:
            continue
        if mode is not None:
            try:
                os.fchmod(fd, mode)  # exactly: the umask may have taken bits away
            except OSError:
                os.close(fd)
                os.unlink(name)
                raise
        return fd, name
    raise FileExistsError(f"no free temporary file name beside {target}")


def write_atomic(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    mode: int | None = None,
    keep_mode: bool = False,
) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step. Raises OSError.

    ``mode``: the permission bits of the file (e.g. ``0o600`` for secrets), whatever the
    umask; ``keep_mode``: those of the file being replaced, when it exists (a config
    rewritten in place); neither: a new file's."""
    if keep_mode:
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(os.stat(path).st_mode)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = temp_beside(path, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_file(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    mode: int | None = None,
    keep_mode: bool = False,
) -> None:
    """:func:`write_atomic`, a failure raised as ``WscfgError("cannot write PATH: why")``."""
    try:
        write_atomic(path, data, mode=mode, keep_mode=keep_mode)
    except OSError as exc:
        raise WscfgError(f"cannot write {path}: {why(exc)}") from None


def why(exc: OSError) -> str:
    """What an OSError says, without the file name it may carry (the message names it)."""
    return exc.strerror or type(exc).__name__
