"""Issue 13's output: float32 values print with float32's shortest
round-trip digits (text and JSON), JSON says each gradient's dtype, JSON is
written from whole arrays with or without orjson, --save-npz round-trips,
--dtype overrides the file's dtype."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tfgrad import render
from tfgrad.commands import cli

from helpers import norm_graph

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
TUTORIAL = str(GRAPHS / "01-tutorial.yaml")
MLP = str(GRAPHS / "18-mlp-mse.yaml")

NORM32 = norm_graph("float32")


def run(*args: str, input: str | None = None):
    r = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return r.exit_code, r.output


def _values(rng: np.random.Generator, n: int) -> np.ndarray:
    a = rng.standard_normal(n) * 10.0 ** rng.integers(-40, 39, n)
    return a.astype(np.float32)


def test_float32_text_round_trips_bit_exactly():
    a = np.concatenate([_values(np.random.default_rng(0), 2000),
                        np.float32([0.1, 1e-45, -1e-45, 3.4028235e38, -0.0, 1e-5, 1e16, 7.0])])
    for v in a:
        s = render.fmt_number(v)
        assert np.float32(s).tobytes() == v.tobytes(), (v, s)
        assert len(s.replace("-", "").replace(".", "").split("e")[0].lstrip("0")) <= 9


def test_float32_shortest_digits_not_float64s():
    assert render.fmt_number(np.float32(0.1)) == "0.1"
    assert render.array_json(np.float32([0.1, 0.2])) == "[0.1, 0.2]"
    assert render.fmt_array(np.float32([[0.1, 1.5]])) == ["[[0.1, 1.5]]"]


@pytest.mark.parametrize("orjson", [True, False])
def test_json_round_trips_bit_exactly(monkeypatch, orjson):
    if not orjson:
        monkeypatch.setattr(render, "_orjson", None)
    elif render._orjson is None:
        pytest.skip("orjson is not installed")
    rng = np.random.default_rng(1)
    for dt in (np.float32, np.float64):
        a = _values(rng, 3000).astype(dt).reshape(10, 30, 10)
        a[0, 0, :4] = [np.nan, np.inf, -np.inf, -0.0]
        doc = json.loads(render.run_json(["x"], [a.shape], [a], [False]))
        back = np.array([[[{"nan": np.nan, "inf": np.inf, "-inf": -np.inf}.get(v, v) if isinstance(v, str)
                           else v for v in row] for row in m] for m in doc["gradients"][0]], dtype=dt)
        assert doc["dtypes"] == [np.dtype(dt).name]
        assert back.tobytes() == a.tobytes()


def test_json_spacing_integers_ranks_and_none():
    assert render.run_json(["w1", "w2"], [(1, 2), (1, 2)], [np.array([[6.0, 9.0]]), None],
                           [True, False]) == (
        '{"xs": ["w1", "w2"], "gradients": [[[6, 9]], null], "shapes": [[1, 2], [1, 2]], '
        '"dtypes": ["float64", null]}')
    assert render.array_json(np.float64(2.5)) == "2.5"
    assert render.array_json(np.float32(np.nan)) == '"nan"'
    assert render.array_json(np.zeros((2, 0))) == "[[], []]"
    assert render.array_json(np.array([1, 2], np.int32)) == "[1, 2]"
    assert render.array_json(np.array([True, False])) == "[true, false]"
    assert render.array_json(np.array([1.23456, np.inf]), precision=3) == '[1.23, "inf"]'
    assert render.array_json(np.array([1e300, -0.0]), integral=True) == \
        "[" + str(int(1e300)) + ", 0]"


def test_issue_13_norm_float32_and_float64(tmp_path):
    p = tmp_path / "norm.yaml"
    p.write_text(NORM32)
    code, out = run("run", str(p), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["gradients"] == [[[1.0], ["nan"], [1.0], ["inf"]]] and doc["dtypes"] == ["float32"]
    code, out = run("run", str(p), "--format", "json", "--dtype", "float64")
    doc = json.loads(out)
    assert doc["gradients"] == [[[1.0], ["nan"], [1.0], [1.0]]] and doc["dtypes"] == ["float64"]


def test_dtype_override_on_run_explain_check(tmp_path):
    code, out = run("run", MLP, "--dtype", "float32", "--format", "json")
    assert code == 0 and json.loads(out)["dtypes"] == ["float32"] * 4
    code, out = run("run", TUTORIAL, "--dtype", "float32")
    assert code == 0 and "[[4.0, 5.0]]" in out  # float32: no format-1 integer printing
    code, out = run("run", TUTORIAL)
    assert code == 0 and "[[4, 5]]" in out
    code, out = run("explain", TUTORIAL, "--dtype", "float32")
    assert code == 0
    code, out = run("check", MLP, "--dtype", "float32")
    assert code == 0, out
    code, out = run("run", TUTORIAL, "--dtype", "float16")
    assert code == 2 and "float16" in out


def test_float32_file_overridden_to_float64(tmp_path):
    p = tmp_path / "n.yaml"
    p.write_text(NORM32)
    code, out = run("run", str(p), "--dtype", "float64")
    assert code == 0 and "inf" not in out


def test_save_npz_round_trip(tmp_path):
    out = tmp_path / "g.npz"
    code, text = run("run", MLP, "--dtype", "float32", "--save-npz", str(out), "--format", "json")
    assert code == 0
    doc = json.loads(text)
    z = np.load(out)
    meta = json.loads(str(z["tfgrad.meta"]))
    assert meta["xs"] == doc["xs"] and meta["none"] == [] and meta["dtype"] == "float32"
    for name, g in zip(doc["xs"], doc["gradients"]):
        assert z[name].dtype == np.float32
        assert z[name].tobytes() == np.array(g, dtype=np.float32).tobytes()
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tfgrad-")]


def test_save_npz_lists_none_and_replaces_atomically(tmp_path):
    out = tmp_path / "g.npz"
    out.write_bytes(b"old")
    os.chmod(out, 0o640)
    code, _ = run("run", str(GRAPHS / "04-tutorial-unconnected.yaml"), "--save-npz", str(out))
    assert code == 0
    z = np.load(out)
    meta = json.loads(str(z["tfgrad.meta"]))
    assert meta["none"] == ["w2"] and "w2" not in z.files and z["w1"].tolist() == [[2.0, 4.0]]
    assert os.stat(out).st_mode & 0o777 == 0o640


def test_save_npz_unwritable_is_exit_2(tmp_path):
    code, out = run("run", TUTORIAL, "--save-npz", str(tmp_path / "no" / "such" / "g.npz"))
    assert code == 2 and "cannot write" in out


def test_json_of_a_million_numbers_round_trips():
    # its speed is benchmarks/run.py's json case
    import json

    a = np.random.default_rng(2).standard_normal((1000, 1000))
    s = render.run_json(["x"], [a.shape], [a], [False])
    back = np.array(json.loads(s)["gradients"][0])
    assert back.shape == a.shape and np.array_equal(back, a)


def test_cli_json_from_a_pipe_is_valid():
    p = subprocess.run([sys.executable, "-m", "tfgrad", "run", MLP, "--dtype", "float32",
                        "--format", "json"], capture_output=True, text=True)
    assert p.returncode == 0
    assert json.loads(p.stdout)["dtypes"] == ["float32"] * 4


def test_to_nested_writes_float32_digits_through_json_dumps():
    assert json.dumps(render.to_nested(np.float32([[0.1, 1e-5]]))) == "[[0.1, 1e-05]]"
    assert render.outputs_json([("o", np.float32([0.1]), False)]) == {"o": "[0.1]"}


def test_run_json_bytes_is_run_json_and_escapes_fall_back(capsys):
    from tfgrad.commands import emit_json_bytes

    a = np.float32([[0.1, -0.0], [1e-8, 3.0]])
    b = np.array([[6.0, 9.0]])
    args = (["x", "w"], [a.shape, b.shape], [a, b], [False, True])
    assert render.run_json_bytes(*args) == render.run_json(*args).encode("ascii")
    emit_json_bytes(render.run_json_bytes(*args))
    assert capsys.readouterr().out == render.run_json(*args) + "\n"
    # bytes that are not plain printable ASCII go through emit's escaping
    emit_json_bytes(b'{"a\x1b[31m": 1}')
    assert capsys.readouterr().out == '{"a\\u001b[31m": 1}\n'
