"""The one atomic writer (tfgrad.atomic.write_atomic) behind ``run
--save-npz`` and ``check -o``: the permissions ``open(path, "w")`` would
leave, no temporary file left behind, links and devices kept."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tfgrad.atomic import write_atomic
from tfgrad.commands import cli

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = str(ROOT / "graphs" / "01-tutorial.yaml")


@pytest.fixture
def umask027():
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def _save_npz(out: Path) -> None:
    r = CliRunner().invoke(cli, ["run", TUTORIAL, "--save-npz", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output


def _check_o(out: Path) -> None:
    r = CliRunner().invoke(cli, ["check", TUTORIAL, "-o", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output


WRITERS = {"save-npz": _save_npz, "check -o": _check_o,
           "helper": lambda out: write_atomic(str(out), lambda f: f.write(b"data\n"))}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_new_file_gets_0o666_less_the_umask_as_open_gives(tmp_path, umask027, writer):
    out = tmp_path / "new.out"
    WRITERS[writer](out)
    assert _mode(out) == 0o640
    with open(tmp_path / "by-open", "w"):
        pass
    assert _mode(tmp_path / "by-open") == 0o640
    assert sorted(os.listdir(tmp_path)) == ["by-open", "new.out"]


@pytest.mark.parametrize("writer", WRITERS)
def test_an_existing_file_keeps_its_permission_bits_but_not_setuid_or_setgid(tmp_path, writer):
    out = tmp_path / "old.out"
    out.write_bytes(b"old")
    os.chmod(out, 0o751)
    WRITERS[writer](out)
    assert _mode(out) == 0o751
    os.chmod(out, 0o6751)  # setuid and setgid: a rewritten file does not keep them
    WRITERS[writer](out)
    assert _mode(out) == 0o751 and out.read_bytes() != b"old"
    assert sorted(os.listdir(tmp_path)) == ["old.out"]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_link_to_a_regular_file_stays_a_link(tmp_path, writer):
    target = tmp_path / "target.out"
    target.write_bytes(b"old")
    link = tmp_path / "link.out"
    os.symlink(target.name, link)
    WRITERS[writer](link)
    assert os.path.islink(link) and target.read_bytes() != b"old"


def test_the_npz_written_is_the_archive(tmp_path):
    out = tmp_path / "g.npz"
    _save_npz(out)
    z = np.load(out)
    assert json.loads(str(z["tfgrad.meta"]))["xs"] == ["w1", "w2"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "keep.out"
    out.write_bytes(b"old")

    def boom(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomic(str(out), boom)
    assert out.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["keep.out"]
    with pytest.raises(OSError):
        write_atomic(str(tmp_path / "no" / "dir.out"), lambda f: f.write(b"x"))


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_a_device_is_written_directly_and_stays_a_device():
    write_atomic("/dev/null", lambda f: f.write(b"x"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
