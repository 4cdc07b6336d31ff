"""``tfgrad explain --hessian`` (issue 14): tf.hessians' Hessian as a formula.

Every printed formula is evaluated by a second method (tests/explain_eval.py:
the ASCII matrix form with NumPy, the index form element by element) and
compared with ``tfgrad hessian``'s numbers, which are TF's (test_higher_tfref).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from explain_eval import evaluate_explanation, matrix_eval
from tfgrad.commands import cli
from helpers import cli_output, write_graph


_run, _write = cli_output, write_graph


def _hessians(path: str) -> dict[str, np.ndarray]:
    doc = json.loads(_run(["hessian", path, "--format", "json"]))
    return {x: np.array(h, dtype=float) for x, h in zip(doc["xs"], doc["hessians"])}


def _check(path: str) -> dict:
    doc = json.loads(_run(["explain", path, "--hessian", "--format", "json", "--ascii"]))
    assert doc["order"] == 2
    tf = _hessians(path)
    got = evaluate_explanation(doc)
    for x in doc["xs"]:
        want = tf[x["name"]]
        np.testing.assert_allclose(got[x["name"]].reshape(want.shape), want, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(np.array(x["value"]).reshape(want.shape), want, rtol=0, atol=0)
    return doc


LINEAR = """\
name: a linear model's squared error
variables:
  w: [[1.0], [2.0]]
constants:
  X: [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
ops:
  loss: reduce_sum(square(X @ w))
ys: loss
xs: [w]
"""

MLP = """\
variables:
  W1: [[0.5, -0.3, 0.8], [0.2, 0.4, -0.6]]
  b1: [0.1, -0.2, 0.05]
  W2: [[0.7], [-0.5], [0.3]]
constants:
  x: [[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7]]
  t: [[1.0], [0.0], [0.5]]
ops:
  h: tanh(x @ W1 + b1)
  out: h @ W2
  loss: reduce_mean(square(out - t))
ys: loss
xs: [W1, b1, W2]
"""

POW_CHAIN = """\
variables:
  x: [0.5, 1.5, 2.0]
ops:
  a: pow(x, 3.0)
  b: pow(a + 1.0, 0.5)
  y: reduce_sum(b * x)
ys: y
xs: [x]
"""

RELU_SIGMOID = """\
variables:
  w: [0.3, -0.8, 1.2]
constants:
  A: [[1.0, -1.0, 0.5], [0.2, 0.3, -0.4]]
ops:
  z: matmul(A, expand_dims(w, 1))
  loss: reduce_sum(relu(z) * sigmoid(z)) + 0.5 * reduce_sum(sqrt(w * w + 1.0))
ys: loss
xs: [w]
"""


def test_linear_model_is_two_x_transpose_x(tmp_path):
    path = _write(tmp_path, LINEAR)
    out = _run(["explain", path, "--hessian"])
    assert "tf.hessians returns ∂²L/∂x² for each x, where L = loss" in out
    assert "∂²L/∂w² = 2·Xᵀ·X\n" in out
    assert "= [[70.0, 88.0], [88.0, 112.0]]" in out
    assert "shape (2, 1, 2, 1), w.shape + w.shape" in out
    doc = _check(path)
    assert doc["xs"][0]["matrix"] == "2 * X.T @ X" and doc["xs"][0]["notation"] == "matrix"
    latex = _run(["explain", path, "--hessian", "--format", "latex"])
    assert r"\frac{\partial^{2} L}{\partial w^{2}} &= 2 \, X^{\top} \cdot X" in latex
    assert r"\texttt{tf.hessians}" in latex


def test_mlp_loss_in_index_and_matrix_notation(tmp_path):
    path = _write(tmp_path, MLP)
    out = _run(["explain", path, "--hessian"])
    # the output layer's weights: a vector, a matrix form over the hidden layer h
    assert "∂²L/∂W2² = 2·(1⊘3)·hᵀ·h\n" in out
    # the first layer's: rank 4, one element in index notation
    assert "∂²L/∂W1[i,j]∂W1[k,l] = " in out and "∂²L/∂b1[i]∂b1[j] = " in out
    assert "h = tanh(x·W1 + 𝟙·b1ᵀ)" in out  # forward values by their names
    doc = _check(path)
    assert [x["notation"] for x in doc["xs"]] == ["index", "index", "matrix"]


def test_pow_chain_is_diagonal(tmp_path):
    path = _write(tmp_path, POW_CHAIN)
    out = _run(["explain", path, "--hessian"])
    assert "∂²L/∂x² = " in out and "diag(" in out
    assert "diag(a) the diagonal matrix with a on its diagonal" in out
    doc = _check(path)
    h = np.array(doc["xs"][0]["value"])
    assert np.count_nonzero(h - np.diag(np.diag(h))) == 0  # elementwise ops: diagonal


def test_kernels_relu_sigmoid_sqrt(tmp_path):
    _check(_write(tmp_path, RELU_SIGMOID))


def test_no_closed_form_shows_the_hessian_times_a_direction(tmp_path):
    path = _write(tmp_path, """\
variables:
  x: [1.0, 2.0, 3.0]
ops:
  y: reduce_sum(square(x[0:2]) * x[1:3])
ys: y
xs: [x]
""")
    out = _run(["explain", path, "--hessian"])
    assert "∂²L/∂x²·u = " in out
    assert "u" in out and "a direction of x's shape" in out
    assert "tfgrad hessian` prints its values" in out
    doc = json.loads(_run(["explain", path, "--hessian", "--format", "json", "--ascii"]))
    x = doc["xs"][0]
    assert x["lhs"] == "d2L/dx2 @ u" and x["value"] is None
    assert x["notation"] == "matrix" and "u[0:2]" in x["matrix"]  # linear in u, as built


def test_x_option_and_none_gradient(tmp_path):
    path = _write(tmp_path, MLP)
    doc = json.loads(_run(["explain", path, "--hessian", "--x", "W2", "--format", "json"]))
    assert [x["name"] for x in doc["xs"]] == ["W2"]
    bad = _write(tmp_path, "variables:\n  x: [1.0, 2.0]\n  z: 3.0\nops:\n  y: reduce_sum(x)\nys: y\nxs: [x, z]\n")
    out = _run(["explain", bad, "--hessian"], code=2)
    assert "None values not supported" in out


def test_gradient_penalty_reads_without_seed_noise(tmp_path):
    # nested gradients in a first-order explain: the ones seeding gradients(...) are not printed
    path = _write(tmp_path, """\
variables:
  W: [[1.0, -2.0], [0.5, 1.5]]
constants:
  x: [[1.0, 2.0], [3.0, -1.0]]
ops:
  D: reduce_sum(tanh(x @ W))
  gx: gradients(D, x)
  pen: reduce_mean(square(norm(gx, axis=1) - 1))
ys: pen
xs: [W]
""")
    out = _run(["explain", path, "--no-elementwise"])
    assert "(1·𝟙)" not in out and "gx = " in out
    doc = json.loads(_run(["explain", path, "--format", "json", "--ascii"]))
    (got,) = evaluate_explanation(doc).values()
    run = json.loads(_run(["run", path, "--format", "json"]))
    want = np.array(run["gradients"][0])
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-10)


def test_steps_walk_the_second_sweep(tmp_path):
    path = _write(tmp_path, LINEAR)
    out = _run(["explain", path, "--hessian", "--steps"])
    sweep = out[out.index("second sweep for w"):]
    # the sweep over ∂L/∂w = Xᵀ·(2·(X·w)), seeded with u, node by node
    assert "1. s1 = Xᵀ·s2\n     G = u\n     ds2 += X·u" in sweep
    assert "s3 = X·w" in sweep and "dw += Xᵀ·ds3" in sweep
    assert "at w: ∂²L/∂w²·u = Xᵀ·ds3" in sweep
    doc = json.loads(_run(["explain", path, "--hessian", "--steps", "--format", "json", "--ascii"]))
    (sw,) = doc["second_sweeps"]
    assert sw["x"] == "w" and sw["direction"] == "u"
    assert [s["name"] for s in sw["steps"]] == ["s1", "s2", "s3"]
    # the sweep's result, evaluated at a direction, is the Hessian times it
    env = {"X": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), "u": np.array([[0.5], [-2.0]])}
    for s in sw["steps"]:
        if s["cotangent_name"]:
            env[s["cotangent_name"]] = matrix_eval(s["cotangent"], env)
    hu = matrix_eval(sw["hessian_times_direction"], env)
    np.testing.assert_allclose(hu.reshape(2), _hessians(path)["w"].reshape(2, 2) @ [0.5, -2.0])
    latex = _run(["explain", path, "--hessian", "--steps", "--format", "latex"])
    assert r"\textbf{Second sweep for $w$}" in latex and r"\mathit{ds2} \mathrel{+}= X \cdot u" in latex


def test_zero_hessian_of_a_piecewise_linear_graph(tmp_path):
    path = _write(tmp_path, """\
variables:
  w: [0.5, -1.0]
constants:
  A: [[1.0, 2.0], [3.0, -4.0]]
ops:
  loss: reduce_sum(relu(matmul(A, expand_dims(w, 1))))
ys: loss
xs: [w]
""")
    out = _run(["explain", path, "--hessian"])
    assert "∂²L/∂w² = 𝟎\n" in out
    _check(path)


def _numbers(v) -> np.ndarray:
    def num(e):
        return [num(a) for a in e] if isinstance(e, list) else float(e)
    return np.array(num(v), dtype=float)


GALLERY = sorted(p for p in (Path(__file__).parent.parent / "graphs").rglob("*.yaml")
                 if "invalid" not in p.parts)


@pytest.mark.parametrize("path", GALLERY, ids=[p.name for p in GALLERY])
def test_gallery_explains_its_hessian_or_says_why_not(path):
    """Every gallery graph: explain --hessian never fails where tfgrad hessian
    works, and its values are hessian's (formulas evaluated for small ones)."""
    res = CliRunner().invoke(cli, ["hessian", str(path), "--format", "json"])
    if res.exit_code != 0:
        out = _run(["explain", "--hessian", str(path)], code=res.exit_code)
        assert "error" in out
        return
    want = json.loads(res.output)
    doc = json.loads(_run(["explain", "--hessian", str(path), "--format", "json", "--ascii"]))
    f32 = "float32" in path.read_text()
    for x, h in zip(doc["xs"], want["hessians"]):
        if x["value"] is not None:
            # JSON writes non-finite numbers as strings; explain's float32 values in float64 digits
            got, ref = _numbers(x["value"]).reshape(np.shape(h)), _numbers(h)
            np.testing.assert_allclose(got, ref, rtol=1e-6 if f32 else 0, atol=0)
    finite = all(np.all(np.isfinite(_numbers(h))) for h in want["hessians"])
    if not finite:
        assert "can put nan in other places than TF's sweeps do" in \
            _run(["explain", "--hessian", str(path)])
    if sum(np.size(h) for h in want["hessians"]) <= 64 and not f32 and finite and \
            all(x["notation"] == "matrix" and x["value"] is not None for x in doc["xs"]) and \
            all(d["notation"] == "matrix" for d in doc["definitions"]):
        got = evaluate_explanation(doc)
        for x, h in zip(doc["xs"], want["hessians"]):
            if x["value"] is not None:
                np.testing.assert_allclose(got[x["name"]].reshape(np.shape(h)), _numbers(h),
                                           rtol=1e-9, atol=1e-12)


def test_hessian_explain_is_explain_hessian(tmp_path):
    path = _write(tmp_path, MLP)
    assert _run(["hessian", path, "--explain"]) == _run(["explain", path, "--hessian"])
    assert json.loads(_run(["hessian", path, "--explain", "--format", "json"])) == \
        json.loads(_run(["explain", path, "--hessian", "--format", "json"]))
