"""The CLI ends without the interpreter's teardown (commands._fast_exit):
exit statuses, and everything written to standard output and error, must
be exactly what a normal exit gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tfgrad import commands

from helpers import write_graph

TUTORIAL = str(Path(__file__).resolve().parent.parent / "graphs" / "01-tutorial.yaml")


def tfgrad(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfgrad", *args], capture_output=True, text=True,
                          timeout=120, **kw)


def test_statuses_and_output_of_the_real_process(tmp_path):
    ok = tfgrad("run", TUTORIAL)
    assert ok.returncode == 0 and ok.stdout.startswith("w1  (1, 2) = [[4, 5]]\n"), ok.stderr
    bad = tfgrad("run", "-", input="ys: [")
    assert bad.returncode == 2 and ":1:" in bad.stderr and bad.stdout == ""
    usage = tfgrad("run", "--no-such-flag", TUTORIAL)
    assert usage.returncode == 2 and "No such option" in usage.stderr
    assert tfgrad("--version").returncode == 0
    wrong = write_graph(tmp_path, "variables: {x: 2.0}\nops: {y: x * x}\nys: [y]\nxs: [x]\n"
                                  "expect: {x: 5.0}\n")
    failed = tfgrad("check", wrong)
    assert failed.returncode == 1 and "1 failed" in failed.stdout


def test_a_large_output_is_written_whole_when_the_process_ends(tmp_path):
    # 200,000 numbers of JSON (several MB through a pipe): nothing may be
    # lost in a buffer when the process ends without Python's final flush
    path = write_graph(tmp_path, "variables: {x: {fill: 0.5, shape: [400, 500]}}\n"
                       "ops: {y: reduce_sum(x * x)}\nys: [y]\nxs: [x]\n")
    r = tfgrad("run", path, "--format", "json")
    assert r.returncode == 0, r.stderr
    grad = json.loads(r.stdout)["gradients"][0]  # 2x = 1 everywhere
    assert len(grad) == 400 and all(row == [1] * 500 for row in grad)


class _Exited(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@pytest.fixture
def exits(monkeypatch):
    def fake_exit(code: int) -> None:
        raise _Exited(code)

    monkeypatch.setattr(commands.os, "_exit", fake_exit)
    monkeypatch.setattr(commands, "_atexit_handlers", lambda: 0)  # pytest registers some
    return monkeypatch


@pytest.mark.parametrize("status, code", [(None, 0), (0, 0), (1, 1), (2, 2), (3, 3)])
def test_fast_exit_keeps_the_status(exits, status, code):
    with pytest.raises(_Exited) as e:
        commands._fast_exit(status)
    assert e.value.code == code


def test_fast_exit_of_a_message_prints_it_and_exits_1(exits, capsys):
    with pytest.raises(_Exited) as e:
        commands._fast_exit("tfgrad: something went wrong")
    assert e.value.code == 1
    assert "tfgrad: something went wrong" in capsys.readouterr().err


def test_an_atexit_handler_gets_a_normal_exit(exits):
    # a handler some library registered would be skipped by os._exit
    exits.setattr(commands, "_atexit_handlers", lambda: 1)
    with pytest.raises(SystemExit) as e:
        commands._fast_exit(3)
    assert e.value.code == 3
