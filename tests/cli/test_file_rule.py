"""The one file rule (issue 21 item 2): every file wscfg reads as config — named on the
command line, found by a folder or glob scan, or reached through ``extends`` — must be a
regular file of at most 50 MB (FIFOs, devices and sockets are refused without blocking), and
a symbolic link counts only when it resolves inside the config root."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from wscfg.config import guard
from wscfg.config.validate import guess_target_slugs

from .runner import invoke

SECRET = "ghp_SECRETtok3n9Qx"
FORMATS = ("text", "json", "github", "sarif")
CONFIG = "version: 1\nworkspace: {name: Base, timezone: UTC}\n"


@pytest.fixture
def scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "git-credentials").write_text(f"https://bob:{SECRET}@github.com\n")
    folder = tmp_path / "scan"
    folder.mkdir()
    (folder / "ok.yaml").write_text(CONFIG)
    return folder


@pytest.mark.timeout(120)
def test_a_fifo_in_a_scanned_folder_is_refused_without_blocking(scan: Path) -> None:
    os.mkfifo(scan / "zz.yaml")  # nobody ever writes to it: opening it to read would hang
    got = invoke("validate", "scan/")
    assert (got.exit_code, got.stderr) == (
        1,
        "scan/zz.yaml: is a FIFO (named pipe), not a regular file; only regular files are read "
        "as config\nError: 1 problem in 1 file (2 files checked)\n",
    )
    assert guess_target_slugs(["scan/"]) == []  # plan's early hint reader does not block either


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_scanned_link_out_of_the_root_is_not_read(scan: Path, fmt: str) -> None:
    (scan / "gitc.yaml").symlink_to("../outside/git-credentials")
    got = invoke("validate", "--format", fmt, "scan/")
    assert got.exit_code == 1
    assert SECRET not in got.output and "bob" not in got.output
    if fmt == "text":
        assert got.stderr == (
            f"scan/gitc.yaml: is a symbolic link to a file outside the config root {scan}; it is "
            "not read (pass --config-root DIR to allow another)\n"
            "Error: 1 problem in 1 file (2 files checked)\n"
        )


def test_a_named_link_out_of_its_folder_is_not_read(scan: Path) -> None:
    (scan / "gitc.yaml").symlink_to("../outside/git-credentials")
    got = invoke("validate", "scan/gitc.yaml")
    assert got.exit_code == 1
    assert got.stderr == (
        f"scan/gitc.yaml: is a symbolic link to a file outside the config root {scan}; it is "
        "not read (pass --config-root DIR to allow another)\n"
        "Error: 1 problem in 1 file (1 file checked)\n"
    )


def test_a_link_inside_the_root_is_read(scan: Path) -> None:
    (scan / "sub").mkdir()
    (scan / "sub" / "real.yaml").write_text(CONFIG)
    (scan / "alias.yaml").symlink_to("sub/real.yaml")
    got = invoke("validate", "scan/alias.yaml")
    assert got.exit_code == 0, got.output


def test_devices_sockets_and_directories_are_refused_unopened(tmp_path: Path) -> None:
    assert guard.read_config_bytes("/dev/null") == (
        None,
        "is a device, not a regular file; only regular files are read as config",
    )
    path = str(tmp_path / "s.yaml")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        assert guard.read_config_bytes(path) == (
            None,
            "is a socket, not a regular file; only regular files are read as config",
        )
    finally:
        sock.close()
    assert guard.read_config_bytes(str(tmp_path)) == (None, "is a directory, not a file")
    assert guard.read_config_bytes(str(tmp_path / "none.yaml")) == (None, "no such file")


def test_the_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"x" * 64)
    monkeypatch.setattr(guard, "MAX_FILE_BYTES", 64)
    assert guard.read_config_bytes(str(path)) == (b"x" * 64, None)
    monkeypatch.setattr(guard, "MAX_FILE_BYTES", 63)
    assert guard.read_config_bytes(str(path)) == (
        None,
        "the file is larger than 0 MB (64 bytes); refusing to read it",
    )
