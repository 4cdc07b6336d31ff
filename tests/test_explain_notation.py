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
from click.testing import CliRunner

from tfgrad.commands import cli


def _run(args: list[str]) -> str:
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def _write(tmp_path, text: str, name: str = "g.yaml") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


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


def _np_eval(expr: str, env: dict) -> np.ndarray:
    """Evaluate an ASCII matrix-notation formula with NumPy (tests only)."""
    ns = {"inv": np.linalg.inv, "det": np.linalg.det, "ones": lambda *s: np.ones(s),
          "zeros": lambda *s: np.zeros(s), "np": np}
    ns.update(env)
    return np.asarray(eval(expr, {"__builtins__": {}}, ns), dtype=float)  # noqa: S307


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
    got = _np_eval(x["matrix"], env)
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
    got = _np_eval(x["matrix"], {"A": A, "g1": 1.0})
    run = json.loads(_run(["run", path, "--format", "json"]))
    np.testing.assert_allclose(got, np.array(run["gradients"][0]), rtol=1e-12)
    latex = _run(["explain", path, "--format", "latex", "--no-elementwise"])
    assert r"-{A^{-\top}} \cdot \left(g_{1} \, \mathbf{1}\right) \cdot {A^{-\top}}" in latex
