"""Defects the second new-user trial found in ``tfgrad explain`` (trial 2's
findings 16 and 18): a piece built anew for each use was defined once per
copy, a comparison with a number printed the number as ``0·𝟙``, and scan
attributes were garbled in text and dropped in LaTeX. Every printed formula
is also evaluated by a second method (tests/explain_eval.py) against run."""

from __future__ import annotations

import json
import re

import numpy as np

from explain_eval import evaluate_explanation
from helpers import cli_output, write_graph


def run(*args: str) -> str:
    return cli_output(list(args))


write = write_graph


# --- 16: the same piece is named once ---------------------------------------

# finding 16's graph without divide_no_nan (which the test's evaluator lacks) and
# sqrt (whose kernel is 0 where its formula is nan):
# four where(x > 0, ...) and one where(x >= 0, ...), each condition a node of
# its own in the graph
WHERES = """\
variables:
  x: [1.0, -1.0, 0.0, 4.0, -2.5]
ops:
  a: where(x > 0, x * x, zeros_like(x))
  b: where(x > 0, log(x), x)
  c: where(x >= 0, x, 1.0 / x)
  safe: where(x > 0, x, ones_like(x))
  d: where(x > 0, log(safe), -x)
  loss: reduce_sum(a) + reduce_sum(b) + reduce_sum(c) + reduce_sum(d)
ys: [loss, a, d]
xs: [x]
"""


def _definitions(out: str) -> dict[str, str]:
    """name -> right side of each `where` line of text explain."""
    where = out.split("\nwhere\n", 1)[1]
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^  (\w+) = (.*?)(?:  +\S.*)?$", where, re.M)}


def test_the_same_condition_is_one_definition_used_by_every_where(tmp_path):
    path = write(tmp_path, WHERES)
    out = run("explain", path, "--no-elementwise")
    defs = _definitions(out)
    gt = [n for n, e in defs.items() if e == "x > 0"]
    ge = [n for n, e in defs.items() if e == "x ≥ 0"]
    assert len(gt) == 1 and len(ge) == 1, defs
    (t,) = gt
    # a's where (1 use), b's two, safe's definition and its where, d's two
    assert re.search(rf"^  {t} = x > 0 +\(5,\), used 7 times$", out, re.M), out
    formula = out.split("\n")[3]
    assert formula.startswith("∂L/∂x = ") and "x > 0" not in formula and "0·𝟙" not in out
    # each of the 7 uses is a where over that one name (in the formula or a definition)
    assert out.split("\nlegend")[0].count(f"where({t},") == 7 and defs["safe"] == f"where({t}, x, 𝟙)"


def test_one_definition_in_ascii_latex_json_and_steps(tmp_path):
    path = write(tmp_path, WHERES)
    ascii_ = run("explain", path, "--ascii", "--no-elementwise")
    assert len(re.findall(r"^  t\d+ = x > 0 ", ascii_, re.M)) == 1 and "0 * ones(5)" not in ascii_
    latex = run("explain", path, "--format", "latex", "--no-elementwise")
    assert len(re.findall(r"t_\{\d+\} &= x > 0 &&", latex)) == 1
    assert r"0 \, \mathbf{1}" not in latex and latex.count(r"&= x \geq 0 &&") == 1
    doc = json.loads(run("explain", path, "--format", "json"))
    assert [p["expr"] for p in doc["definitions"]].count("x > 0") == 1
    steps = run("explain", path, "--steps", "--no-elementwise")
    (t,) = [n for n, e in _definitions(steps.split("\nbackward pass")[0]).items() if e == "x > 0"]
    sweep = steps.split("\nbackward pass", 1)[1]
    assert "x > 0" not in sweep and sweep.count(f"where({t},") >= 6


def test_formulas_with_one_definition_evaluate_to_runs_gradient(tmp_path):
    path = write(tmp_path, WHERES)
    doc = json.loads(run("explain", path, "--format", "json", "--ascii", "--no-elementwise"))
    with np.errstate(all="ignore"):
        (got,) = evaluate_explanation(doc).values()
    got = got.reshape(-1)
    want = np.array(json.loads(run("run", path, "--format", "json"))["gradients"][0], dtype=float)
    # TF 2.21: the same program in float64 under tf.GradientTape,
    # tape.gradient([loss, a, d], x).numpy() -> [8.0, -2.0, nan, 17.75, -1.16]
    np.testing.assert_allclose(want, [8.0, -2.0, np.nan, 17.75, -1.16], rtol=1e-12)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_copy_of_a_forward_value_prints_by_its_name_and_two_forward_values_stay_apart(tmp_path):
    # silu's gradient builds sigmoid(1·x) anew: it is s, the user's sigmoid(x);
    # a and b are the same expression but two graph nodes, each printed by name
    path = write(tmp_path, """\
variables:
  x: [0.5, -1.0, 2.0]
  w: 2.0
ops:
  s: sigmoid(x)
  a: x * 2.0
  b: x * 2.0
  y: reduce_sum(silu(x)) + reduce_sum(s) + reduce_sum(a * b) + reduce_sum(where(x > w, x, w * x))
ys: y
xs: [x, w]
""")
    out = run("explain", path, "--no-elementwise")
    defs = _definitions(out)
    assert defs["a"] == "2·x" and defs["b"] == "2·x" and defs["s"] == "σ(x)"
    assert "σ(x)" not in out.split("\nwhere\n")[0] and list(defs.values()).count("σ(x)") == 1
    assert list(defs.values()).count("x > w") == 1  # a scalar variable prints bare too
    doc = json.loads(run("explain", path, "--format", "json", "--ascii", "--no-elementwise"))
    got = evaluate_explanation(doc)
    grads = json.loads(run("run", path, "--format", "json"))["gradients"]
    for x, want in zip(doc["xs"], grads):
        np.testing.assert_allclose(got[x["name"]].reshape(np.shape(want)), want, rtol=1e-12)


# --- 18: attributes print as TF's arguments ----------------------------------

CUMPROD = """\
variables:
  x: [1.0, 0.0, 2.0]
ops:
  a: cumprod(x)
  y: reduce_sum(a)
ys: y
xs: [x]
"""

SCANS = """\
variables:
  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
ops:
  a: cumsum(x, axis=1, exclusive=true)
  b: cumprod(x, axis=1, reverse=true)
  y: reduce_sum(a * b)
ys: y
xs: [x]
"""


def _evaluated(path: str) -> list[np.ndarray]:
    doc = json.loads(run("explain", path, "--format", "json", "--ascii", "--no-elementwise"))
    return list(evaluate_explanation(doc).values())


def test_cumprods_gradient_reads_as_tfs_call_in_every_format(tmp_path):
    # TF 2.21's _CumprodGrad: div_no_nan(cumsum(cumprod(x) * G, reverse=True), x)
    path = write(tmp_path, CUMPROD)
    out = run("explain", path)
    assert "∂L/∂x = div_no_nan(cumsum(g1·a, reverse=True), x)" in out
    assert "  a = cumprod(x) " in out and "exclusive" not in out and "axis" not in out
    ascii_ = run("explain", path, "--ascii")
    assert "dL/dx = div_no_nan(cumsum(g1 * a, reverse=True), x)" in ascii_
    latex = run("explain", path, "--format", "latex")
    assert (r"\operatorname{div\_no\_nan}(\operatorname{cumsum}(g_{1} \, a, "
            r"\text{reverse}=\text{True}), x)") in latex
    doc = json.loads(run("explain", path, "--format", "json"))
    assert doc["xs"][0]["matrix"] == "div_no_nan(cumsum(g1·a, reverse=True), x)"
    # TF 2.21: x = tf.constant([1., 0., 2.], tf.float64); under GradientTape
    # y = tf.reduce_sum(tf.math.cumprod(x)); tape.gradient(y, x) -> [1.0, 0.0, 0.0]
    (got,) = _evaluated(path)
    np.testing.assert_allclose(got.reshape(-1), [1.0, 0.0, 0.0], rtol=1e-12)


def test_scan_attributes_other_than_tfs_defaults_are_printed_in_every_format(tmp_path):
    path = write(tmp_path, SCANS)
    out = run("explain", path, "--no-elementwise", "--steps")
    assert "cumsum(g1·b, axis=1, exclusive=True, reverse=True)" in out
    assert "cumsum(b∘(g1·a), axis=1)" in out
    assert "  a = cumsum(x, axis=1, exclusive=True) " in out
    assert "  b = cumprod(x, axis=1, reverse=True) " in out
    assert "b = cumprod(x, axis=1, reverse=True)\n" in out  # the step's call, as TF writes it
    latex = run("explain", path, "--format", "latex", "--no-elementwise")
    assert (r"\operatorname{cumsum}(x, \text{axis}=1, \text{exclusive}=\text{True})") in latex
    assert (r"\operatorname{cumprod}(x, \text{axis}=1, \text{reverse}=\text{True})") in latex
    # TF 2.21, float64 under GradientTape: a = tf.math.cumsum(x, axis=1,
    # exclusive=True), b = tf.math.cumprod(x, axis=1, reverse=True),
    # tape.gradient(tf.reduce_sum(a * b), x) -> [[9, 6, 5], [36, 30, 29]]
    (got,) = _evaluated(path)
    np.testing.assert_allclose(got, [[9.0, 6.0, 5.0], [36.0, 30.0, 29.0]], rtol=1e-12)


ATTRS = """\
variables:
  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
constants:
  idx: {value: [2, 0], dtype: int32}
ops:
  m: argmax(x, axis=1)
  oh: one_hot(m, 3, on_value=2.0)
  r: reverse(x, [1])
  p: pad(x, [[1, 0], [0, 2]])
  q: pad(x, [[1, 0], [0, 2]], mode='REFLECT')
  gth: gather(x, idx, axis=1)
  d: diag_part(x)
  y: reduce_sum(oh * x) + reduce_sum(r * p[0:2, 0:3]) + reduce_sum(q) + reduce_sum(gth) + reduce_sum(d)
ys: y
xs: [x]
"""


def test_every_kernel_with_attributes_prints_them_as_tfs_arguments(tmp_path):
    path = write(tmp_path, ATTRS)
    out = run("explain", path, "--no-elementwise")
    for text in ("m = argmax(x, axis=1) ", "oh = one_hot(m, 3, on_value=2.0) ",
                 "r = reverse(x, axis=(1,)) ", "p = pad(x, ((1, 0), (0, 2))) ",
                 "mirror_pad_grad(g1·𝟙, ((1, 0), (0, 2)), mode='REFLECT')",
                 "scatter_add(g1·𝟙, idx, axis=1)", "matrix_diag(g1·𝟙, num_rows=2, num_cols=3)",
                 "unslice(g1·r, [0:2, 0:3], shape=(3, 5))"):
        assert text in out, (text, out)
    assert " = " not in out.split("\n")[3].split("=", 1)[1]  # no 'axis, exclusive = ...'
    latex = run("explain", path, "--format", "latex", "--no-elementwise")
    for text in (r"\operatorname{argmax}(x, \text{axis}=1)", r"\text{mode}=\text{'REFLECT'}",
                 r"\operatorname{scatter}(g_{1} \, \mathbf{1}, \mathit{idx}, \text{axis}=1)",
                 r"\operatorname{rev}(x, \text{axis}=(1,))", r"\text{on\_value}=2.0",
                 r"p[0:2, 0:3]"):
        assert text in latex, (text, latex)
