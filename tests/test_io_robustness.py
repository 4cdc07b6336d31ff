"""Issue 10, reading and writing: the size limit applies while reading
(endless inputs fail fast in bounded memory), a directory walk never opens
a FIFO, socket or device, and a path with no graph file is an error."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tfgrad import source
from tfgrad.commands import cli
from tfgrad.graph import GraphError

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "graphs" / "01-tutorial.yaml"
GOOD = "variables:\n  w: [1.0, 2.0]\nops:\n  y: reduce_sum(w * w)\nys: y\nxs: w\n"


def tfgrad(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfgrad", *args], capture_output=True, text=True,
                          timeout=kw.pop("timeout", 60), **kw)


# --- the size limit while reading -----------------------------------------------


class Endless(io.RawIOBase):
    """An endless stream that counts the bytes it hands out."""

    def __init__(self, byte: bytes = b"a") -> None:
        self.byte, self.given = byte, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        b[:] = self.byte * len(b)
        self.given += len(b)
        return len(b)


@pytest.mark.parametrize("limit", [0, 1, 10, 1000, source.CHUNK - 1, source.CHUNK, 3 * source.CHUNK + 7])
def test_reading_stops_at_the_limit_plus_one_byte(limit):
    f = Endless()
    with pytest.raises(GraphError) as e:
        source.read_limited(f, limit)
    assert f.given == limit + 1
    assert f"{limit:,}" in e.value.message and e.value.code == "TG101"
    # at the limit exactly: the whole input
    data = b"x" * limit
    assert source.read_limited(io.BytesIO(data), limit) == data


def test_every_reader_uses_the_limit(monkeypatch, tmp_path):
    monkeypatch.setattr(source, "MAX_TEXT_BYTES", 100)
    p = tmp_path / "big.yaml"
    p.write_text("#" * 101)
    for call in (lambda: source.read_text(str(p), source.MAX_TEXT_BYTES),
                 lambda: source.decode(b"#" * 101, 100)):
        with pytest.raises(GraphError) as e:
            call()
        assert "100" in e.value.message
    p.write_text("#" * 100)
    assert source.read_text(str(p), 100) == "#" * 100


@pytest.mark.parametrize("cmd", [["run"], ["explain"], ["check"]])
def test_dev_zero_fails_fast_in_bounded_memory(cmd):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    code = (
        "import resource, sys, time\n"
        "from tfgrad.commands import main\n"
        f"sys.argv = ['tfgrad', *{cmd!r}, '/dev/zero']\n"
        "t = time.perf_counter()\n"
        "try:\n    main()\n"
        "except SystemExit as e:\n"
        "    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(e.code, round(time.perf_counter() - t, 2), rss // 1024, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    status, seconds, mb = r.stderr.split()[-3:]
    assert status == ("1" if cmd == ["check"] else "2"), r.stderr
    assert "limited to" in r.stdout + r.stderr
    # check imports the engine (SymPy, ~0.8 s) before it reads, to time files fairly
    assert float(seconds) < (1.0 if cmd != ["check"] else 2.5) and int(mb) < 2 * source.MAX_TEXT_BYTES // 2**20, r.stderr


def test_endless_stdin_fails_fast():
    yes = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
    try:
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "tfgrad", "run", "-"], stdin=yes.stdout,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "<stdin>:1:1: error: input has more than" in r.stderr
        assert time.perf_counter() - t < 5
    finally:
        yes.kill()
        yes.wait()


# --- directory walks never open non-regular files ----------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_socket_or_device_link_in_a_directory_is_skipped(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    os.mkfifo(tmp_path / "p.yaml")
    os.mkfifo(tmp_path / "q.yml")
    sub = tmp_path / "sub"
    sub.mkdir()
    os.mkfifo(sub / "deep.yaml")
    s = socket.socket(socket.AF_UNIX)
    sock = tmp_path / "s.yaml"
    try:
        if len(str(sock)) < 100:
            s.bind(str(sock))
        if os.path.exists("/dev/null"):
            os.symlink("/dev/null", tmp_path / "null.yaml")
        r = tfgrad("check", str(tmp_path), timeout=60)
    finally:
        s.close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.endswith("1 file checked: 1 passed, 0 failed\n")


# --- no graph file found ---------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    [[], ["notes.txt"], [".hidden.yaml"], ["sub/readme.md"], [".git/x.yaml"], ["p.yaml:fifo"]],
)
def test_a_directory_without_graph_files_is_a_usage_error(tmp_path, layout):
    for entry in layout:
        name, _, kind = entry.partition(":")
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if kind == "fifo":
            os.mkfifo(p)
        else:
            p.write_text(GOOD)
    r = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert r.exit_code == 2 and str(tmp_path) in r.output and "no graph files" in r.output


def test_everything_excluded_is_a_usage_error(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    for args in (["--exclude", "*.yaml", str(tmp_path)], ["--exclude", "a.yaml", str(tmp_path / "a.yaml")]):
        r = CliRunner().invoke(cli, ["check", *args])
        assert r.exit_code == 2 and "no graph files" in r.output, r.output
    r = CliRunner().invoke(cli, ["check", str(tmp_path), str(tmp_path / "empty")])
    assert r.exit_code == 2  # a path that does not exist, as before


def test_one_empty_directory_among_good_ones_is_named(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "g.yaml").write_text(GOOD)
    (tmp_path / "b").mkdir()
    r = CliRunner().invoke(cli, ["check", str(tmp_path / "a"), str(tmp_path / "b")])
    assert r.exit_code == 2 and f"'{tmp_path / 'b'}'" in r.output
