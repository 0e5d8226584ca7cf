"""wscfg.files: the one way wscfg writes a file, whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wscfg.errors import WscfgError
from wscfg.files import write_atomic, write_file


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_new_file_gets_the_mode_the_umask_leaves(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "a.txt", "héllo\n")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").read_bytes() == "héllo\n".encode()
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_a_mode_is_exact_whatever_the_umask(tmp_path):
    target = tmp_path / "s.env"
    target.write_text("old\n")
    target.chmod(0o644)
    old = os.umask(0o077)
    try:
        write_atomic(target, b"K=v\n", mode=0o600)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "K=v\n"


def test_keep_mode_keeps_the_mode_of_the_file_replaced(tmp_path):
    target = tmp_path / "ws.yaml"
    target.write_text("a: 1\n")
    target.chmod(0o751)
    write_atomic(target, "a: 2\n", keep_mode=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert target.read_text() == "a: 2\n"
    write_atomic(tmp_path / "new.yaml", "b: 1\n", keep_mode=True)  # none to keep: a new file's
    assert (tmp_path / "new.yaml").read_text() == "b: 1\n"


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("old\n")
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    (tmp_path / "into").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path / "into", "x")  # rename over a folder fails after the write
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_a_link_planted_at_the_old_temporary_names_is_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("untouched\n")
    for name in ("plan.json.tmp", f"plan.json.tmp{os.getpid()}"):
        (tmp_path / name).symlink_to(elsewhere)
    write_atomic(tmp_path / "plan.json", "{}\n")
    assert elsewhere.read_text() == "untouched\n"
    assert not (tmp_path / "plan.json").is_symlink()
    assert (tmp_path / "plan.json").read_text() == "{}\n"


def test_write_file_names_the_path_and_the_reason(tmp_path):
    missing = tmp_path / "missing" / "r.md"
    with pytest.raises(WscfgError) as caught:
        write_file(missing, "x")
    assert caught.value.message == f"cannot write {missing}: No such file or directory"
    assert type(caught.value) is WscfgError


@given(st.binary(max_size=2000))
def test_what_is_written_is_read_back(data):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f"
        write_atomic(path, data)
        assert path.read_bytes() == data
        assert leftovers(Path(folder)) == []
