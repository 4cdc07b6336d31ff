"""The rank-N engine (tensor nodes, op registry, sweep, flat plan) against
hand-written NumPy and central finite differences."""

from __future__ import annotations

import glob

import numpy as np
import pytest

from tfgrad.engine import compute, derive
from tfgrad.parse import parse_graph


def run(text: str):
    d = derive(parse_graph(text, "t.yaml"))
    return compute(d)


@pytest.mark.parametrize("path", sorted(glob.glob("graphs/*.yaml")))
def test_gallery_expect(path):
    g = parse_graph(open(path).read(), path)
    r = compute(derive(g))
    for e in g.expect:
        i = [x.name for x in g.xs].index(e.name)
        got = r.gradients[i]
        if e.value is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, e.value.array, rtol=g.rtol, atol=g.atol)


def test_gradient_dtype_and_shape_follow_x():
    r = run("variables: {x: [1.0, 2.0]}\nops: {y: reduce_sum(x * x)}\nys: y\nxs: x\n")
    (g,) = r.gradients
    assert g.shape == (2,) and g.dtype == np.float64
    np.testing.assert_array_equal(g, [2.0, 4.0])


def test_sqrt_grad_is_zero_where_the_cotangent_is_zero():
    # TF's SqrtGrad returns 0 where dy == 0: square(sqrt(0)) has gradient 0.
    r = run("variables: {t: [0.0, 4.0]}\nops: {loss: square(sqrt(t))}\nys: loss\nxs: t\n")
    np.testing.assert_array_equal(r.gradients[0], [0.0, 1.0])


def test_maximum_routes_with_select_so_the_loser_gets_exact_zero():
    r = run("variables: {w: 1.0}\nconstants: {c: 0.0}\nops: {y: \"maximum(w, 2.0) * log(c)\"}\n"
            "ys: y\nxs: w\n")
    assert r.gradients[0] == 0.0 and not np.signbit(r.gradients[0])


def test_deep_chain_10000():
    ops = "\n".join(f"  t{i}: tanh(t{i - 1})" for i in range(1, 10001))
    r = run(f"variables: {{t0: 0.5}}\nops:\n{ops}\nys: t10000\nxs: t0\n")
    x = 0.5
    d = 1.0
    for _ in range(10000):
        y = np.tanh(x)
        d *= 1 - y * y
        x = y
    np.testing.assert_allclose(r.gradients[0], d, rtol=1e-12)
