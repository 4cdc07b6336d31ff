"""explain's notation: index letters never collide with the user's names
(trial finding 11), the classic matrix-calculus results of det and inv
(issue 12), convolution and pooling gradients in index notation (issue 12).

Each printed formula is checked by a second method: the ASCII form is
evaluated with NumPy (matrix notation) or summed by a small index-notation
evaluator written here (index notation), and compared with ``run``'s numbers.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from explain_eval import evaluate_explanation, matrix_eval
from helpers import cli_output, write_graph


_run, _write = cli_output, write_graph


def _grads(path: str) -> dict[str, np.ndarray]:
    doc = json.loads(_run(["run", path, "--format", "json"]))
    return {x: np.array(g, dtype=float) for x, g in zip(doc["xs"], doc["gradients"])}


ATTENTION = """\
variables:
  q: {random: normal, shape: [1, 2, 2, 2], seed: 1}
  k: {random: normal, shape: [1, 2, 3, 2], seed: 2}
  v: {random: normal, shape: [1, 2, 3, 2], seed: 3}
ops:
  attn: softmax(matmul(q, k, transpose_b=True))
  out: matmul(attn, v)
  loss: reduce_sum(out * out)
ys: loss
xs: [v]
"""


def _index_letters(formula: str) -> set[str]:
    """Every letter used as an index: inside X[...] and under Σ."""
    out: set[str] = set()
    for inside in re.findall(r"\[([^\[\]]*)\]", formula):
        out |= set(re.findall(r"(?<![A-Za-z0-9_])([A-Za-z_]\w*)(?![A-Za-z0-9_(])", inside))
    for sub in re.findall(r"sum_\{([^}]*)\}|sum_(\w)", formula):
        out |= {x for part in sub for x in part.split(",") if x}
    return out


def test_index_letters_avoid_node_names(tmp_path):
    # trial finding 11: a variable named k; explain used k as an index too
    path = _write(tmp_path, ATTENTION)
    doc = json.loads(_run(["explain", path, "--format", "json", "--ascii", "--no-elementwise"]))
    names = {"q", "k", "v", "attn", "out", "loss", "g1"}
    (x,) = doc["xs"]
    assert x["notation"] == "index"
    texts = [x["lhs"], x["matrix"]] + [d["expr"] for d in doc["definitions"]]
    for t in texts:
        assert not (_index_letters(t) & names), t
    # the letters the lhs binds are the ones the right side uses
    free = x["lhs"][x["lhs"].index("[") + 1: -1].split(",")
    assert len(free) == 4 and "k" not in free and "q" not in free and "v" not in free


def test_index_letters_avoid_every_single_letter_name(tmp_path):
    # every letter of the pool's start taken by a node: the formula still reads
    names = ["i", "j", "l", "m", "n"]
    lines = ["variables:"] + [f"  {n}: {{random: normal, shape: [2, 2, 2], seed: {k}}}"
                              for k, n in enumerate(names)]
    lines += ["ops:", "  y: reduce_sum(einsum('abc,acd->abd', i, j) * l * m * n)", "ys: y",
              "xs: [i, j]"]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    doc = json.loads(_run(["explain", path, "--format", "json", "--ascii", "--no-elementwise"]))
    for x in doc["xs"]:
        assert not (_index_letters(x["lhs"] + " " + x["matrix"]) & set(names)), x["matrix"]


# ---------------------------------------------------------------- det and inv


DET_INV = """\
variables:
  A: [[2.0, 1.0, 0.5], [1.0, 3.0, -1.0], [0.0, 1.0, 4.0]]
ops:
  d: det(A)
  B: inv(A)
ys: [d, B]
xs: [A]
"""


@pytest.mark.parametrize("ys,text,ascii_", [
    ("d", "∂L/∂A = g1·d·A⁻ᵀ", "g1 * d * inv(A).T"),
    ("B", "∂L/∂A = -Bᵀ·g1·Bᵀ", "-B.T @ g1 @ B.T"),
])
def test_det_and_inv_in_matrix_notation(tmp_path, ys, text, ascii_):
    path = _write(tmp_path, DET_INV)
    out = _run(["explain", path, "--ys", ys, "--no-elementwise"])
    assert text in out
    doc = json.loads(_run(["explain", path, "--ys", ys, "--format", "json", "--ascii"]))
    (x,) = doc["xs"]
    assert x["notation"] == "matrix" and x["matrix"] == ascii_
    A = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, -1.0], [0.0, 1.0, 4.0]])
    env = {"A": A, "d": np.linalg.det(A), "B": np.linalg.inv(A),
           "g1": np.array(doc["seeds"][0]["value"], dtype=float)}
    got = matrix_eval(x["matrix"], env)
    np.testing.assert_allclose(got, np.array(x["value"]), rtol=1e-12)
    run = json.loads(_run(["run", path, "--ys", ys, "--format", "json"]))
    np.testing.assert_allclose(got, np.array(run["gradients"][0]), rtol=1e-12)


def test_inline_det_and_inv_print_as_matrix_calculus(tmp_path):
    path = _write(tmp_path, """\
variables:
  A: [[2.0, 1.0], [1.0, 3.0]]
ops:
  loss: reduce_sum(inv(A)) + 3 * det(A)
ys: loss
xs: [A]
""")
    out = _run(["explain", path, "--no-elementwise"])
    assert "∂L/∂A = -A⁻ᵀ·(g1·𝟙)·A⁻ᵀ + 3·g1·det(A)·A⁻ᵀ" in out
    doc = json.loads(_run(["explain", path, "--format", "json", "--ascii"]))
    (x,) = doc["xs"]
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    assert x["matrix"] == "-inv(A).T @ (g1 * ones(2,2)) @ inv(A).T + 3 * g1 * det(A) * inv(A).T"
    got = matrix_eval(x["matrix"], {"A": A, "g1": 1.0})
    run = json.loads(_run(["run", path, "--format", "json"]))
    np.testing.assert_allclose(got, np.array(run["gradients"][0]), rtol=1e-12)
    latex = _run(["explain", path, "--format", "latex", "--no-elementwise"])
    assert r"-{A^{-\top}} \cdot \left(g_{1} \, \mathbf{1}\right) \cdot {A^{-\top}}" in latex


# ---------------------------------------------------------------- convolution and pooling



def _same_counts(xhw: tuple, k: tuple, s: tuple, pads: tuple):
    """N(i, j): the number of window (i, j)'s elements inside the input."""
    def n(i, j):
        if float(i) != int(i) or float(j) != int(j):
            return 1.0
        rows = [r for r in range(int(i) * s[0] - pads[0], int(i) * s[0] - pads[0] + k[0]) if 0 <= r < xhw[0]]
        cols = [c for c in range(int(j) * s[1] - pads[1], int(j) * s[1] - pads[1] + k[1]) if 0 <= c < xhw[1]]
        return float(len(rows) * len(cols)) or 1.0
    return n


def _check_explained(path: str, extra_env: dict | None = None) -> dict:
    """Every formula of the explanation (x's and pieces') evaluated by the
    test's own index/matrix evaluator equals run's numbers."""
    doc = json.loads(_run(["explain", path, "--format", "json", "--ascii", "--no-elementwise"]))
    got = evaluate_explanation(doc, extra_env)
    run = _grads(path)
    for x in doc["xs"]:
        for bad in ("conv2d_backprop", "max_pool_grad(", "avg_pool_grad(", "conv2d(", "max_pool("):
            assert bad not in x["matrix"], x["matrix"]
        np.testing.assert_allclose(got[x["name"]].reshape(run[x["name"]].shape), run[x["name"]],
                                   rtol=1e-10, atol=1e-12)
    return doc



CONV_SAME_S2 = """\
variables:
  input: {random: normal, shape: [1, 5, 5, 1], seed: 1}
  filters: {random: normal, shape: [3, 3, 1, 2], seed: 2}
ops:
  c: conv2d(input, filters, strides=2, padding='SAME')
  loss: reduce_sum(c * c)
ys: loss
xs: [input, filters]
"""

CONV_VALID_DILATED = """\
variables:
  input: {random: normal, shape: [2, 6, 5, 2], seed: 3}
  filters: {random: normal, shape: [2, 2, 2, 3], seed: 4}
ops:
  y: conv2d(input, filters, strides=1, padding='VALID', dilations=2)
  loss: reduce_sum(tanh(y))
ys: loss
xs: [input, filters]
"""

CONV1D = """\
variables:
  x: {random: normal, shape: [2, 7, 2], seed: 5}
  w: {random: normal, shape: [3, 2, 2], seed: 6}
ops:
  y: conv1d(x, w, stride=2, padding='SAME')
  loss: reduce_sum(y * y)
ys: loss
xs: [x, w]
"""

POOLS = """\
variables:
  x: {random: normal, shape: [1, 5, 5, 2], seed: 7}
ops:
  m: max_pool2d(x, 3, 2, 'SAME')
  a: avg_pool2d(x, 2, 1, 'VALID')
  loss: reduce_sum(m * m) + reduce_sum(a * a)
ys: loss
xs: [x]
"""

AVG_SAME = """\
variables:
  x: {random: normal, shape: [1, 4, 5, 1], seed: 8}
ops:
  a: avg_pool2d(x, 3, 2, 'SAME')
  loss: reduce_sum(a * a)
ys: loss
xs: [x]
"""


def test_conv2d_gradients_in_index_notation(tmp_path):
    path = _write(tmp_path, CONV_SAME_S2)
    out = _run(["explain", path, "--no-elementwise"])
    # issue 12's form: ∂L/∂filters[i,j,c,k] = Σ_{b,y,x} input[b, y·s+i·d−p, x·s+j·d−p, c]·G[b,y,x,k]
    # (a batch of one reads index 0; SAME with stride 2 pads one row and column before)
    assert "∂L/∂filters[i,j,k,l] = Σₘₙ input[0,2·m+i−1,2·n+j−1,k]·" in out
    assert "∂L/∂input[i,j,k,l] = Σₘₙₚ t1[i,(j+1−m)/2,(k+1−n)/2,p]·filters[m,n,l,p]" in out
    assert "c[i,j,k,l] = Σₘₙ input[i,2·j+m−1,2·k+n−1,0]·filters[m,n,0,l]" in out
    assert "conv2d_backprop" not in out.split("note:")[0]
    assert "a tensor read at an index outside it (padding) is 0" in out
    _check_explained(path)


@pytest.mark.parametrize("graph", [CONV_VALID_DILATED, CONV1D], ids=["valid-dilated", "conv1d"])
def test_conv_index_formulas_evaluate_to_run(tmp_path, graph):
    doc = _check_explained(_write(tmp_path, graph))
    if graph is CONV1D:
        # conv1d reads as one-dimensional: no index for the height of one
        (xx, ww) = doc["xs"]
        assert xx["lhs"] == "dL/dx[i,j,k]" and ww["lhs"] == "dL/dw[i,j,k]"
        assert re.search(r"x\[\w,2\*\w\+i-1,j\]", ww["matrix"]), ww["matrix"]
    else:
        assert "2*" in doc["xs"][1]["matrix"]  # the dilation


def test_pooling_in_index_notation_with_the_winner(tmp_path):
    path = _write(tmp_path, POOLS)
    out = _run(["explain", path, "--no-elementwise"])
    assert "m[i,j,k,l] = max_{n<3,p<3} x[i,2·j+n−1,2·k+p−1,l]" in out
    assert "a[i,j,k,l] = Σ_{n<2,p<2} x[i,j+n,k+p,l]/4" in out
    # the winner indicator of MaxPoolGrad, and AvgPoolGrad's shares
    assert re.search(r"\[\(j,k\) = \(2·\w\+\w−1,2·\w\+\w−1\) at \w,\w = argmax_\{\w<3,\w<3\} x\[", out), out
    assert "argmax" in out and "first maximum in row-major order on ties" in out
    _check_explained(path)


def test_same_average_pooling_divides_by_the_elements_inside(tmp_path):
    path = _write(tmp_path, AVG_SAME)
    out = _run(["explain", path, "--no-elementwise"])
    assert "/N(j,k)" in out and "N(i,j) is the number of window (i,j)'s elements inside" in out
    # SAME, 3x3 windows, stride 2 over 4x5: pads (0, 1) rows and (1, 1) columns
    _check_explained(path, {"N": _same_counts((4, 5), (3, 3), (2, 2), (0, 1))})


def test_conv_latex_and_ascii_have_the_index_form(tmp_path):
    path = _write(tmp_path, CONV_SAME_S2)
    latex = _run(["explain", path, "--format", "latex", "--no-elementwise"])
    assert r"\sum_{m,n} \mathit{input}[0,2 \cdot m+i-1,2 \cdot n+j-1,k]" in latex or \
        r"\sum_{m,n} input[0,2 \cdot m+i-1,2 \cdot n+j-1,k]" in latex, latex
    ascii_ = _run(["explain", path, "--ascii", "--no-elementwise"])
    assert "dL/dfilters[i,j,k,l] = sum_{m,n} input[0,2*m+i-1,2*n+j-1,k] * " in ascii_
