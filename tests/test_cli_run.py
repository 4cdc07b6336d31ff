"""``tfgrad run`` as a user meets it: output, exit codes, JSON, stdin, flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tfgrad import __version__
from tfgrad.commands import cli

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = str(ROOT / "graphs" / "01-tutorial.yaml")
GRAD_YS = str(ROOT / "graphs" / "02-tutorial-grad-ys.yaml")
UNCONNECTED = str(ROOT / "graphs" / "04-tutorial-unconnected.yaml")


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_text_output_names_shapes_and_values():
    r = invoke("run", GRAD_YS)
    assert r.exit_code == 0
    assert r.output.splitlines() == ["w1  (1, 2) = [[6, 9]]", "w2  (1, 2) = [[19, 17]]"]


def test_unconnected_prints_none():
    r = invoke("run", UNCONNECTED)
    assert r.exit_code == 0
    assert r.output.splitlines()[1] == "w2  (1, 2) = None"
    r = invoke("run", UNCONNECTED, "--unconnected", "zero")
    assert r.output.splitlines()[1] == "w2  (1, 2) = [[0, 0]]"


def test_json_output():
    r = invoke("run", TUTORIAL, "--format", "json")
    assert r.exit_code == 0
    doc = json.loads(r.output)
    assert doc["xs"] == ["w1", "w2"]
    assert doc["gradients"] == [[[4, 5]], [[11, 11]]]
    assert all(isinstance(v, int) for v in doc["gradients"][0][0])


def test_json_none_and_non_finite_values_stay_valid_json():
    text = "variables:\n  x: [0, 4]\n  u: 1\nops:\n  y: sqrt(x)\nys: y\nxs: [x, u]\n"
    r = invoke("run", "-", "--format", "json", input=text)
    assert r.exit_code == 0
    doc = json.loads(r.output)  # strict: no NaN/Infinity literals
    assert doc["gradients"] == [["inf", 0.25], None]
    text = "variables:\n  x: 0\n  y: 0\nops:\n  z: x ** y\nys: z\nxs: [x, y]\n"
    doc = json.loads(invoke("run", "-", "--format", "json", input=text).output)
    assert doc["gradients"] == ["nan", 0]


def test_stdin():
    r = invoke("run", "-", input=Path(GRAD_YS).read_text())
    assert r.exit_code == 0 and "[[19, 17]]" in r.output


def test_precision():
    text = "variables: {x: 2.0}\nops:\n  y: log(x)\nys: y\nxs: x\n"
    assert invoke("run", "-", input=text).output.strip() == "x  () = 0.5"
    text = "variables: {x: 3.0}\nops:\n  y: log(x)\nys: y\nxs: x\n"
    assert invoke("run", "-", input=text).output.strip() == "x  () = 0.3333333333333333"
    assert invoke("run", "-", "--precision", "3", input=text).output.strip() == "x  () = 0.333"


def test_overrides():
    r = invoke("run", TUTORIAL, "--ys", "res2a")
    assert r.output.splitlines() == ["w1  (1, 2) = [[2, 1]]", "w2  (1, 2) = [[3, 5]]"]
    r = invoke("run", TUTORIAL, "--set", "w1=[[0, 0]]", "--xs", "w2")
    assert r.output.splitlines() == ["w2  (1, 2) = [[11, 11]]"]
    r = invoke("run", TUTORIAL, "--ys", "p", "--xs", "w1,w2", "--unconnected", "zero")
    assert r.output.splitlines() == ["w1  (1, 2) = [[2, 4]]", "w2  (1, 2) = [[0, 0]]"]
    # stop p: res2b's path through p is cut, so w1 only sees res2a.
    r = invoke("run", TUTORIAL, "--stop", "p")
    assert r.output.splitlines()[0] == "w1  (1, 2) = [[2, 1]]"


def test_bad_override_is_a_located_error():
    r = invoke("run", TUTORIAL, "--set", "w3=[[1, 2]]")
    assert r.exit_code == 2
    assert r.output.startswith("<--set w3>:1:1: error: ")
    r = invoke("run", TUTORIAL, "--set", "w1")
    assert r.exit_code == 2 and "NAME=VALUE" in r.output


def test_invalid_file_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("variables:\n  w1: [[1, 2]]\nops:\n  y: matmul(w1, w11)\nys: y\nxs: w1\n")
    r = invoke("run", str(bad))
    assert r.exit_code == 2
    assert r.output == f"{bad}:4:17: error: unknown name 'w11' in op 'y' (did you mean 'w1'?)\n"
    assert "Traceback" not in r.output


@pytest.mark.parametrize("content", [b"\xff\xfe\x00binary", b"", b"[1, 2", b"- 1\n- 2\n"])
def test_junk_files_exit_2(tmp_path, content):
    f = tmp_path / "junk.yaml"
    f.write_bytes(content)
    r = invoke("run", str(f))
    assert r.exit_code == 2
    assert r.output.startswith(f"{f}:") and ": error: " in r.output


def test_missing_file_is_a_usage_error():
    r = invoke("run", "/nonexistent/graph.yaml")
    assert r.exit_code == 2


def test_version():
    r = invoke("--version")
    assert r.exit_code == 0 and __version__ in r.output


def test_python_dash_m_and_real_exit_status():
    p = subprocess.run([sys.executable, "-m", "tfgrad", "run", GRAD_YS], capture_output=True, text=True)
    assert p.returncode == 0 and "[[19, 17]]" in p.stdout
    p = subprocess.run([sys.executable, "-m", "tfgrad", "run", "-"], input="ys: [", capture_output=True,
                       text=True)
    assert p.returncode == 2 and p.stderr.startswith("<stdin>:") and "Traceback" not in p.stderr


def test_large_tensors_show_their_corners_unless_full():
    rows = [[i * 40 + j for j in range(40)] for i in range(30)]
    text = f"variables:\n  w: {rows}\nops:\n  y: w * w\nys: y\nxs: w\n"
    out = invoke("run", "-", input=text).output.splitlines()
    assert out[0] == "w  (30, 40)  (1,200 values, corners shown; --full prints all) ="
    assert out[1] == "  [[   0,    2,    4, ...,   74,   76,   78],"  # 2w
    assert out[4] == "   ..."
    assert out[-1] == "   [2320, 2322, 2324, ..., 2394, 2396, 2398]]"
    assert len(out) == 8
    full = invoke("run", "-", "--full", input=text).output.splitlines()
    assert len(full) == 31 and "..." not in "".join(full)
    assert full[-1].endswith("2398]]")
