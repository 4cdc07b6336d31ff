"""Issue 13's dtypes: float32 as TensorFlow computes it, integer tensors.

* Conformance: every graph under tests/tfref (and the gallery) is run in
  float32 and compared with TF 2.21's committed float32 results
  (``results.float32`` of ``NAME.tf.json``): same None gradients, same
  non-finite numbers in the same places, finite numbers within 1e-5
  relative (plus 1e-6 of the gradient's largest magnitude, plus twice TF's
  own float32 error against its float64 answer, for values that are zero
  in exact arithmetic), every float gradient float32.
* Subnormals flush to zero as TF's CPU kernels do (issue 13's norm).
* Integer xs get None (zeros with unconnected_gradients: zero), with a
  reason on the derivation for explain.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tfgrad import engine
from tfgrad.graph import GraphError
from tfgrad.parse import Overrides, parse_graph
from tfgrad.plan import flush32

from helpers import norm_graph

ROOT = Path(__file__).resolve().parent.parent
TFREF = ROOT / "tests" / "tfref"

# TF's CPU kernels refuse dilated convolution gradients; tfgrad computes them.
TF_ONLY_ERRORS = {"conv1d-dilated", "conv2d-dilated", "conv2d-dilated-filter-only"}


def _cases() -> list[tuple[str, Path, Path]]:
    out = []
    for y in sorted((ROOT / "graphs").glob("*.yaml")):
        out.append((f"gallery/{y.stem}", y, TFREF / "gallery" / f"{y.stem}.tf.json"))
    for y in sorted((TFREF / "graphs").rglob("*.yaml")):
        if y.name.endswith(".tfref.yaml"):
            continue
        ref = y.with_name(y.stem + ".tf.json")
        out.append((str(y.relative_to(TFREF / "graphs").with_suffix("")), y, ref))
    return [c for c in out if c[2].exists()]


CASES = _cases()


def _array(v) -> np.ndarray:
    def conv(x):
        if isinstance(x, list):
            return [conv(e) for e in x]
        return float(x) if isinstance(x, str) else x
    return np.array(conv(v), dtype=np.float64)


def _agree(got: np.ndarray, want: np.ndarray, exact: np.ndarray | None = None) -> str | None:
    """None when ``got`` matches TF's float32 ``want``; ``exact`` (TF's
    float64 answer, when there is one) adds TF's own float32 rounding error
    to the tolerance, for values that are zero in exact arithmetic."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return "nan in different places"
    inf = np.isinf(want)
    if not np.array_equal(np.isinf(got), inf) or not np.array_equal(got[inf], want[inf]):
        return "inf in different places"
    fin = np.isfinite(want)
    scale = float(np.max(np.abs(want[fin]))) if fin.any() else 0.0
    tol = 1e-5 * np.abs(want[fin]) + 1e-6 * max(scale, 1e-30)
    if exact is not None and exact.shape == want.shape:
        with np.errstate(invalid="ignore"):
            own = np.abs(want[fin] - exact[fin])
        tol = tol + 2 * np.where(np.isfinite(own), own, 0)
    bad = np.abs(got[fin] - want[fin]) > tol
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        return f"{got[fin][k]!r} != {want[fin][k]!r}"
    return None


@pytest.mark.parametrize("name,path,ref", CASES, ids=[c[0] for c in CASES])
def test_float32_matches_tf(name, path, ref):
    want = json.loads(ref.read_text())["results"].get("float32")
    if want is None:
        pytest.skip("no float32 reference (a value with its own float64 dtype)")
    try:
        graph = parse_graph(path.read_text(), str(path), Overrides(dtype="float32"))
    except GraphError as e:
        pytest.skip(f"not parsed here: {e.message[:80]}")
    if "error" in want:
        if path.stem in TF_ONLY_ERRORS:
            return
        with pytest.raises(GraphError):
            engine.compute(engine.derive(graph))
        return
    try:
        r = engine.compute(engine.derive(graph))
    except GraphError as e:
        try:  # a graph the engine cannot run in float64 either is no dtype problem
            engine.compute(engine.derive(parse_graph(path.read_text(), str(path),
                                                     Overrides(dtype="float64"))))
        except GraphError:
            pytest.skip(f"not computed here in float64 either: {e.message[:80]}")
        raise
    assert len(r.gradients) == len(want["gradients"])
    f64 = json.loads(ref.read_text())["results"].get("float64") or {}
    exact = f64.get("gradients") or [None] * len(r.gradients)
    for i, (g, w) in enumerate(zip(r.gradients, want["gradients"])):
        x = graph.xs[i].name
        assert (g is None) == (w is None), f"{x}: None in one only"
        if g is None:
            continue
        if g.dtype.kind == "f":
            assert g.dtype == np.float32, f"{x}: {g.dtype}"
        why = _agree(g, _array(w), None if exact[i] is None else _array(exact[i]))
        assert why is None, f"{x}: {why}"


def test_conformance_covers_most_references():
    assert len(CASES) >= 450


@pytest.mark.parametrize("dtype,last", [("float32", np.inf), ("float64", 1.0)])
def test_issue_13_norm(dtype, last):
    r = engine.compute(engine.derive(parse_graph(norm_graph(dtype))))
    g = r.gradients[0]
    assert g.dtype == np.dtype(dtype)
    assert g[0, 0] == 1 and np.isnan(g[1, 0]) and g[2, 0] == 1 and g[3, 0] == last


def test_flush32_keeps_signs_and_leaves_others():
    a = np.float32([1e-40, -1e-40, 1.2e-38, np.inf, np.nan, -0.0, 3.0])
    f = flush32(a)
    assert f.dtype == np.float32
    assert np.signbit(f[:2]).tolist() == [False, True] and (f[:2] == 0).all()
    assert f[2] == a[2] and np.isinf(f[3]) and np.isnan(f[4]) and f[6] == 3
    b = np.float64([1e-320])
    assert flush32(b) is b
    c = np.float32([1.0, 2.0])
    assert flush32(c) is c


def test_float32_overflows_where_tf_does():
    text = "dtype: float32\nvariables:\n  x: [1.0, 100.0]\nops:\n  y: reduce_sum(exp(x))\nys: y\nxs: x\n"
    g = engine.compute(engine.derive(parse_graph(text))).gradients[0]
    assert g.dtype == np.float32 and np.isinf(g[1]) and abs(g[0] - np.e) < 1e-6


INT = """\
variables:
  x: [1.0, 2.0, 3.0]
ops:
  j: cast(x, int32)
  y: reduce_sum(x * cast(j, float64))
  k: reduce_sum(j)
ys: y
xs: [x, j]
"""


def test_integer_x_gets_none_with_a_reason():
    d = engine.derive(parse_graph(INT))
    r = engine.compute(d)
    assert r.gradients[0].tolist() == [1.0, 2.0, 3.0] and r.gradients[1] is None
    assert set(d.none_reasons) == {1} and "int32" in d.none_reasons[1]
    assert "not differentiable" in d.none_reasons[1]


def test_integer_x_gets_integer_zeros_with_unconnected_zero():
    d = engine.derive(parse_graph(INT, overrides=Overrides(unconnected="zero")))
    g = engine.compute(d).gradients[1]
    assert g.dtype == np.int32 and g.tolist() == [0, 0, 0]
    assert 1 in d.none_reasons  # why it would be None, for explain


def test_integer_ys_give_no_gradient():
    d = engine.derive(parse_graph(INT, overrides=Overrides(ys=("k",))))
    assert engine.compute(d).gradients == [None, None]
    assert "'k' is int32" in d.none_reasons[0]


def test_unconnected_reason():
    text = "variables:\n  a: 1.0\n  b: 2.0\nops:\n  y: a * 2\nys: y\nxs: [a, b]\n"
    d = engine.derive(parse_graph(text))
    assert d.none_reasons == {1: "no y depends on 'b'"}


def test_mixed_float32_float64_is_an_error_naming_both():
    text = ("dtype: float32\nvariables:\n  a: [1.0, 2.0]\nops:\n  b: cast(a, float64)\n"
            "  y: reduce_sum(a * b)\nys: y\nxs: a\n")
    with pytest.raises(GraphError) as e:
        engine.derive(parse_graph(text))
    assert "float32" in e.value.message and "float64" in e.value.message


def test_cast_converts_between_float_dtypes():
    text = ("dtype: float32\nvariables:\n  a: [1.0, 2.0]\nops:\n  b: cast(a, float64)\n"
            "  y: reduce_sum(b * b)\nys: y\nxs: a\n")
    g = engine.compute(engine.derive(parse_graph(text))).gradients[0]
    assert g.dtype == np.float32 and g.tolist() == [2.0, 4.0]


def test_every_plan_step_stays_float32_on_the_gallery():
    from tfgrad.plan import Plan
    from tfgrad.tensor import walk

    for path in sorted((ROOT / "graphs").glob("*.yaml")):
        d = engine.derive(parse_graph(path.read_text(), str(path), Overrides(dtype="float32")))
        roots = [g for g in d.gradients if g is not None]
        for n in walk(roots):
            assert n.dtype in ("float32", "bool", "int32", "int64"), (path.name, n)
        for v in Plan(roots).run(d.lowered.env):
            assert v.dtype == np.float32
