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


def test_check_reports_a_file_over_the_limit(monkeypatch, tmp_path):
    monkeypatch.setattr(source, "MAX_TEXT_BYTES", 100)
    monkeypatch.setattr(source.read_text, "__defaults__", (100,))
    p = tmp_path / "big.yaml"
    p.write_text("#" * 101)
    r = CliRunner().invoke(cli, ["check", str(p)])
    assert r.exit_code == 1 and f"{p}:1:1: TG101 input has more than 100 bytes" in r.output


@pytest.mark.parametrize("cmd", [["run"], ["explain"]])
def test_dev_zero_fails_fast_in_bounded_memory(cmd, tmp_path):
    if not os.path.exists("/dev/zero") or not hasattr(os, "wait4"):
        pytest.skip("no /dev/zero or os.wait4")
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen([sys.executable, "-m", "tfgrad", *cmd, "/dev/zero"], stdout=fo, stderr=fe)
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            p.returncode = 0  # reaped by wait4: Popen must not wait for it again
    text = out.read_text() + err.read_text()
    assert os.waitstatus_to_exitcode(status) == 2, text
    assert "limited to" in text
    # Bounded memory is the property (speed is measured in benchmarks/, not in tests).
    assert usage.ru_maxrss // 1024 < 2 * source.MAX_TEXT_BYTES // 2**20, text


def test_endless_stdin_fails_fast():
    yes = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
    try:
        # a reader that kept going would never return: the timeout fails the test then
        r = subprocess.run([sys.executable, "-m", "tfgrad", "run", "-"], stdin=yes.stdout,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "<stdin>:1:1: error: input has more than" in r.stderr
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


# --- write failures and closed pipes --------------------------------------------

COMMANDS = [["run", str(TUTORIAL)], ["explain", "--format", "json", str(TUTORIAL)],
            ["check", "--format", "junit", str(TUTORIAL)], ["schema"]]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_full_disk_is_a_write_error_exit_2(args):
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "tfgrad", *args], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr == "tfgrad: error: cannot write output: No space left on device\n"


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_closed_pipe_ends_quietly(args):
    p = subprocess.Popen([sys.executable, "-m", "tfgrad", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before the first byte (| head -0)
    err = p.stderr.read().decode()
    status = p.wait(timeout=60)
    assert err == "" and status == 0, err


def test_head_1_reads_one_line_and_tfgrad_exits_quietly():
    r = subprocess.run(f"'{sys.executable}' -m tfgrad schema | head -1; echo \"${{PIPESTATUS[0]}}\"",
                       shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60)
    assert r.stdout == "{\n0\n" and r.stderr == ""


# --- any output encoding ----------------------------------------------------------


OMEGA = "variables:\n  ω: 1.0\nys: ω\nxs: ω\n"
NAMED = 'name: "Ωmega ∂ ☃ 😀"\nvariables:\n  w: [[1.0, 2.0]]\nops:\n  y: reduce_sum(w @ transpose(w))\nys: y\nxs: w\n'


@pytest.mark.parametrize("encoding", ["latin-1", "ascii", "cp1252", "utf-8"])
@pytest.mark.parametrize("graph", ["tutorial", "omega", "named"])
def test_output_survives_any_encoding(tmp_path, encoding, graph):
    if graph == "tutorial":
        path = TUTORIAL
    else:
        path = tmp_path / "g.yaml"
        path.write_text(OMEGA if graph == "omega" else NAMED, encoding="utf-8")
    runner = CliRunner(charset=encoding)  # stdout and stderr in this encoding
    for args in (["explain"], ["explain", "--steps"], ["explain", "--format", "latex"],
                 ["explain", "--format", "json"], ["run"], ["check", "-v"], ["check", "--format", "github"]):
        r = runner.invoke(cli, [*args, str(path)])
        assert "internal error" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
        if graph == "omega":  # not an ASCII name: reported cleanly, in the encoding
            assert r.exit_code in (1, 2) and "invalid name" in r.output, (args, r.output)
        else:
            assert r.exit_code == 0, (args, r.output)
        if encoding != "utf-8" and args == ["explain"] and graph != "omega":
            assert "dL/dw" in r.output  # the ASCII form when the encoding lacks the symbols
        if graph == "named" and encoding == "latin-1" and args[0] == "explain" and "json" not in args:
            assert "\\u03a9mega" in r.output, (args, r.output)


def test_pythonioencoding_latin_1():
    env = {**os.environ, "PYTHONIOENCODING": "latin-1"}
    for cmd in ("explain", "check"):
        r = subprocess.run([sys.executable, "-m", "tfgrad", cmd, str(TUTORIAL)], capture_output=True,
                           env=env, timeout=60)
        assert r.returncode == 0 and r.stderr == b"", r.stderr
        r.stdout.decode("latin-1")


# --- invalid UTF-8 in file names ----------------------------------------------------


@pytest.mark.skipif(sys.platform == "darwin", reason="the file system refuses undecodable names")
@pytest.mark.parametrize("fmt", ["text", "json", "github", "junit"])
@pytest.mark.parametrize("raw", [b"bad\xff.yaml", b"\xc3(.yaml", b"caf\xe9.yaml", b"x\xed\xa0\x80.yaml"])
def test_undecodable_file_names_are_reported_with_escapes(tmp_path, fmt, raw):
    d = os.path.join(os.fsencode(tmp_path), b"graphs")
    os.mkdir(d)
    with open(os.path.join(d, raw), "w") as f:
        f.write(GOOD + "expect:\n  w: [5, 5]\n")  # a failing expect: the name is printed
    out = tmp_path / "out.txt"
    r = CliRunner().invoke(cli, ["check", os.fsdecode(d), "--format", fmt, "-o", str(out)])
    assert r.exit_code == 1 and r.output == "", r.output
    text = out.read_bytes().decode("utf-8")  # valid UTF-8, whatever the name's bytes
    shown = raw.decode("utf-8", "backslashreplace").replace("\\", "\\\\" if fmt == "json" else "\\")
    assert shown in text
    r = CliRunner().invoke(cli, ["check", os.fsdecode(d), "--format", fmt])  # and on stdout
    assert r.exit_code == 1 and shown in r.output


def test_undecodable_file_name_with_o_in_a_real_process(tmp_path):
    d = os.fsencode(tmp_path)
    with open(os.path.join(d, b"bad\xff.yaml"), "w") as f:
        f.write(GOOD)
    r = tfgrad("check", str(tmp_path), "-o", str(tmp_path / "out.txt"))
    assert r.returncode == 0 and r.stderr == "", r.stderr


# --- -o to devices and FIFOs ------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_output_to_dev_null_writes_it_and_leaves_it_a_device(tmp_path):
    link = tmp_path / "null-link"
    os.symlink("/dev/null", link)
    for target in ("/dev/null", str(link)):
        r = tfgrad("check", str(TUTORIAL), "-o", target)
        assert r.returncode == 0, r.stderr
    import stat

    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and os.path.islink(link)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tfgrad")]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_output_to_dev_full_is_exit_2():
    r = tfgrad("check", str(TUTORIAL), "-o", "/dev/full")
    assert r.returncode == 2 and r.stderr == "tfgrad: error: cannot write /dev/full: No space left on device\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_output_to_a_fifo_is_written_through_it(tmp_path):
    import stat
    import threading

    fifo = tmp_path / "report"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    r = tfgrad("check", str(TUTORIAL), "-o", str(fifo))
    reader.join(30)
    assert r.returncode == 0 and got and got[0].endswith("1 file checked: 1 passed, 0 failed\n")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_to_a_regular_file_is_still_atomic(tmp_path):
    out = tmp_path / "r.txt"
    out.write_text("old\n")
    r = tfgrad("check", str(TUTORIAL), "-o", str(out))
    assert r.returncode == 0 and out.read_text().endswith("passed, 0 failed\n")
    assert sorted(os.listdir(tmp_path)) == ["r.txt"]


# --- signals ----------------------------------------------------------------------------


def _slow_tree(tmp_path, n=120):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(n):
        for g in sorted((ROOT / "graphs").glob("*.yaml")):
            (d / f"{i}-{g.name}").write_text(g.read_text())
    return d


def _children(pid: int) -> list[int]:
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and pgrep")
@pytest.mark.parametrize("sig, status", [("SIGINT", 130), ("SIGTERM", 143), ("SIGKILL", -9)])
def test_a_signal_stops_check_j2_and_its_workers_and_leaves_nothing(tmp_path, sig, status):
    import signal

    d = _slow_tree(tmp_path)
    out = tmp_path / "out.txt"
    p = subprocess.Popen([sys.executable, "-m", "tfgrad", "check", "-j", "2", str(d), "-o", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 30
    while len(_children(p.pid)) < 2 and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    workers = _children(p.pid)
    assert len(workers) >= 2 and p.poll() is None
    p.send_signal(getattr(signal, sig))
    assert p.wait(timeout=30) == status
    err = p.stderr.read()
    assert "Traceback" not in err and "Aborted" not in err, err
    deadline = time.time() + 10
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)  # no orphans
    assert not out.exists() and not [f for f in os.listdir(tmp_path) if f.startswith(".tfgrad")]


# --- terminal escapes -------------------------------------------------------------------

CONTROL = ["\x1b]0;pwned\x07", "\x1b[2J", "\x9b31m", "\r", "\x08", "\x7f", "\u202e", "\x00"]


def _yaml_escape(s: str) -> str:
    return "".join(c if c.isprintable() and c != '"' else f"\\u{ord(c):04x}" for c in s)


@pytest.mark.parametrize("ctl", CONTROL, ids=repr)
@pytest.mark.parametrize(
    "template",
    ['name: "{c}"\nvariables:\n  w: 1\nys: w\nxs: w\n',
     'description: "{c}"\nvariables:\n  w: 1\nys: w\nxs: w\n',
     'variables:\n  w: 1\nys: "{c}"\nxs: w\n',
     'variables:\n  w: 1\nys: w\nxs: ["{c}"]\n',
     'variables:\n  w: 1\nys: w\nxs: w\nunconnected_gradients: "{c}"\n',
     'variables:\n  w: 1\nops:\n  y: {{op: "{c}", args: [w]}}\nys: y\nxs: w\n',
     'variables:\n  w: 1\nops:\n  y: "w * {c}"\nys: y\nxs: w\n',
     'variables:\n  w: 1\n  "{c}": 2\nys: w\nxs: w\n',
     'variables:\n  w: 1\nys: w\nxs: w\ntolerance: {{"{c}": 1}}\n',
     'variables:\n  w: 1\nys: w\nxs: w\nexpect:\n  w: "{c}"\n'],
)
def test_control_characters_from_the_file_are_escaped_everywhere(tmp_path, ctl, template):
    p = tmp_path / "g.yaml"
    p.write_text(template.format(c=_yaml_escape(ctl)), encoding="utf-8")
    bad = {c for c in ctl if not c.isprintable()}
    for args in (["run"], ["explain", "--steps"], ["explain", "--format", "json"],
                 ["explain", "--format", "latex"], ["check", "-v"], ["check", "--format", "github"]):
        r = CliRunner().invoke(cli, [*args, str(p)], color=True)
        assert r.exit_code in (0, 1, 2), (args, r.output)
        printed = r.output  # stdout and stderr
        assert not bad & set(printed), (args, printed)


def test_control_characters_in_file_names_are_escaped(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "x\x1b[2J.yaml").write_text(GOOD + "expect:\n  w: [5, 5]\n")
    (d / "y\x07.yaml").write_text("variables: [")
    for fmt in ("text", "github", "json", "junit"):
        r = CliRunner().invoke(cli, ["check", "-v", "--format", fmt, str(d)], color=True)
        assert r.exit_code == 1 and "\x1b[2J" not in r.output and "\x07" not in r.output, fmt
    r = CliRunner().invoke(cli, ["run", str(d / "y\x07.yaml")])
    assert r.exit_code == 2 and "\x07" not in r.output and "y\\x07.yaml" in r.output


# --- no library warning reaches the user -------------------------------------------------

WARNS = [
    "variables:\n  w: 1000\nops:\n  o: exp(w)\n  y: o * 2\nys: y\nxs: o\n",  # the issue's
    "variables:\n  w: 0.0\nops:\n  y: log(w) + 1 / w\nys: y\nxs: w\n",  # divide by zero
    "variables:\n  w: -1.0\nops:\n  y: sqrt(w)\nys: y\nxs: w\n",  # invalid value
    "variables:\n  w: [1e308, 1e308]\nops:\n  y: reduce_sum(w * w)\nys: y\nxs: w\n",  # overflow
    "variables:\n  w: 0.0\nops:\n  y: pow(w, w) * w / w\nys: y\nxs: w\n",
]


@pytest.mark.parametrize("text", WARNS)
def test_no_library_warning_reaches_the_user(tmp_path, text):
    import warnings

    p = tmp_path / "g.yaml"
    p.write_text(text)
    for args in (["run"], ["explain", "--steps"], ["check"]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # as if the user asked for every warning
            r = CliRunner().invoke(cli, [*args, str(p)])
        assert r.exit_code in (0, 1), r.output
        assert not caught and "Warning" not in r.output, (args, [str(w.message) for w in caught])


def test_no_warning_from_check_workers(tmp_path):
    for i, text in enumerate(WARNS):
        (tmp_path / f"g{i}.yaml").write_text(text)
    env = {**os.environ, "PYTHONWARNINGS": "always"}
    r = subprocess.run([sys.executable, "-m", "tfgrad", "check", "-j", "2", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode in (0, 1) and r.stderr == "", r.stderr
