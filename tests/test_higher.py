"""Higher order on the rank-N engine: gradients/hessians/jacobian/batch_jacobian
ops (built with ``engine.apply``), None gradients, forward mode; TF 2.21's
numbers where they are quoted (tests/tfref/graphs/higher)."""

from __future__ import annotations

import numpy as np
import pytest

from tfgrad import engine, higher
from tfgrad.graph import GraphError
from tfgrad.plan import Plan
from tfgrad.tensor import Absent, tensor


def leaf(name, value, env, kind="variable"):
    a = np.asarray(value, dtype=np.float64)
    env[name] = a
    return tensor(name, a.shape, "float64", kind)


def same(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, equal_nan=True)
    z = b == 0
    assert np.array_equal(np.signbit(a[z]), np.signbit(b[z])), (a, b)


def test_pow4_five_nested_gradients():
    env = {}
    x = leaf("x", [0.0, 1.0, -2.0], env)
    y = engine.apply("pow", {"x": x, "y": leaf("c", 4.0, env, "literal")})
    gs, cur = [], y
    for _ in range(5):
        cur = engine.apply("gradients", {"ys": cur, "xs": x})
        gs.append(cur)
    vals = Plan(gs).run(env)
    same(vals[0], [0, 4, -32])
    same(vals[1], [0, 12, 48])
    same(vals[2], [0, 24, -48])
    same(vals[3], [24, 24, 24])
    same(vals[4], [np.nan, 0.0, -0.0])  # TF 2.21: pow's gradient at 0 (log(0) * 0)


def test_list_of_xs_is_a_list_and_one_x_a_tensor():
    env = {}
    a = leaf("a", 2.0, env)
    b = leaf("b", [1.0, 3.0], env)
    y = engine.apply("multiply", {"x": a, "y": b})
    one = engine.apply("gradients", {"ys": y, "xs": a})
    listed = engine.apply("gradients", {"ys": y, "xs": [a]})
    assert not isinstance(one, list) and isinstance(listed, list) and len(listed) == 1
    same(Plan([one]).run(env)[0], 4.0)


def test_unconnected_is_absent_and_zero_gives_zeros():
    env = {}
    a = leaf("a", 2.0, env)
    b = leaf("b", [1.0, 3.0], env)
    y = engine.apply("square", {"x": a})
    ga, gb = engine.apply("gradients", {"ys": y, "xs": [a, b]})
    assert type(gb) is Absent and "does not depend" in gb.why
    gz = engine.apply("gradients", {"ys": y, "xs": b}, {"unconnected_gradients": "zero"})
    same(Plan([gz]).run(env)[0], [0.0, 0.0])


def test_stop_gradients_reason():
    env = {}
    a = leaf("a", 2.0, env)
    c = engine.apply("square", {"x": a})
    y = engine.apply("exp", {"x": c})
    g = engine.apply("gradients", {"ys": y, "xs": a, "stop_gradients": [c]})
    assert type(g) is Absent and "stop_gradients" in g.why


def test_grad_ys_length_mismatch_is_an_error():
    # TF: ValueError: Length mismatch. Passed 2 grad_ys for 1 ys
    env = {}
    a = leaf("a", 2.0, env)
    y = engine.apply("square", {"x": a})
    with pytest.raises(GraphError, match="grad_ys has 2 entries"):
        engine.apply("gradients", {"ys": y, "xs": a, "grad_ys": [leaf("s", 1.0, env), leaf("t", 1.0, env)]})


def test_hessians_of_linear_least_squares_is_2_xtx():
    env = {}
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    w = leaf("w", rng.standard_normal((3, 1)), env)
    xc = leaf("X", X, env, "constant")
    r = engine.apply("matmul", {"a": xc, "b": w})
    loss = engine.apply("reduce_sum", {"input_tensor": engine.apply("square", {"x": r})})
    h = engine.apply("hessians", {"ys": loss, "xs": w})
    assert h.shape == (3, 1, 3, 1)
    np.testing.assert_allclose(Plan([h]).run(env)[0].reshape(3, 3), 2 * X.T @ X, rtol=1e-12)


def test_jacobian_and_batch_jacobian_shapes_and_values():
    env = {}
    x = leaf("x", [[1.5, 1.0], [1.5, 1.5]], env)
    w = leaf("w", [[0.0, 1.0, 0.0], [-0.5, 0.0, 0.25]], env)
    y = engine.apply("tanh", {"x": engine.apply("matmul", {"a": x, "b": w})})
    j = engine.apply("jacobian", {"target": y, "source": x})
    bj = engine.apply("batch_jacobian", {"target": y, "source": x})
    assert j.shape == (2, 3, 2, 2) and bj.shape == (2, 3, 2)
    jv, bv = Plan([j, bj]).run(env)
    for b in range(2):
        np.testing.assert_allclose(bv[b], jv[b, :, b, :], rtol=1e-12)
    # TF 2.21 (tests/tfref/graphs/higher/jacobian-ops): bj[0, 0] = [0.0, -0.39322...]
    np.testing.assert_allclose(bv[0, 0], [0.0, -0.3932238664829637], rtol=1e-12)


def test_batch_jacobian_needs_equal_batch():
    env = {}
    x = leaf("x", [[1.0, 2.0]], env)
    y = leaf("y", [[1.0], [2.0]], env)
    with pytest.raises(GraphError, match="same first dimension"):
        engine.apply("batch_jacobian", {"target": y, "source": x})
