"""Engine structure: linear cost, each DAG node evaluated once, deep graphs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tfgrad import mexpr as m
from tfgrad.evaluate import Evaluator, _children, _product, evaluate, objective
from tfgrad.parse import parse_graph
from tfgrad.symbolic import derive

from helpers import derivation


def _dag_size(roots) -> int:
    seen: set[int] = set()
    stack = [r for r in roots if r is not None]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        stack.extend(_children(e))
    return len(seen)


def _reached(roots, ids: set[int]) -> int:
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        e = stack.pop()
        if id(e) not in seen:
            seen.add(id(e))
            stack.extend(_children(e))
    return len(seen & ids)


def _shared_graph(n: int) -> str:
    # Each op uses two earlier ops: a DAG with heavy sharing (a tree
    # expansion would be exponential).
    lines = ["variables:", "  x: [0.5, -0.25]", "ops:", "  h0: tanh(x)", "  h1: x * h0"]
    for i in range(2, n):
        lines.append(f"  h{i}: tanh(h{i - 1}) * 0.5 + h{i - 2} * 0.25")
    lines += [f"ys: h{n - 1}", "xs: x"]
    return "\n".join(lines) + "\n"


def test_each_node_of_the_dag_is_evaluated_once():
    d = derivation(_shared_graph(300))
    ev = evaluate(d)
    # Named leaves (variables, seeds) are looked up, not evaluated.
    leaves = {id(d.forward[n]) for n in d.leaf_names.values()} | {id(s.symbol) for s in d.seeds}
    assert ev.evaluator.computed == _dag_size(d.gradients) - _reached(d.gradients, leaves)


def test_evaluation_work_is_linear_in_ops():
    small = derivation(_shared_graph(200))
    large = derivation(_shared_graph(400))
    a, b = _dag_size(small.gradients), _dag_size(large.gradients)
    assert 1.8 < b / a < 2.2


def test_ten_thousand_deep_chain():
    lines = ["variables:", "  x: [0.1, 0.2, 0.3, 0.4]", "ops:", "  h0: tanh(x)"]
    for i in range(1, 10000):
        lines.append(f"  h{i}: tanh(h{i - 1}) * 0.999 + 0.001")
    lines += ["ys: h9999", "xs: x"]
    d = derive(parse_graph("\n".join(lines) + "\n"))
    g = evaluate(d).gradients[0]
    assert g.shape == (4,) and np.all(np.isfinite(g))


def test_objective_replaces_intermediate_values():
    d = derivation("variables: {x: [1, 2]}\nops:\n  h: identity(x)\n  y: h * h\nys: y\nxs: h\n")
    seeds = evaluate(d).seeds
    assert objective(d, {}, seeds) == 5.0
    # Replacing h leaves x alone: identity gets a node of its own.
    assert objective(d, {"h": np.array([3.0, 0.0])}, seeds) == 9.0


def test_returned_gradients_share_no_memory():
    # Callers may change the arrays they get: duplicate xs, an x that is a
    # y (its seed is an input array) and ordinary results must be distinct.
    d = derivation("variables: {x: [1, 2]}\nops:\n  y: x * x\nys: [y, x]\nxs: [x, x, y]\n"
                   "grad_ys: [null, [5, 7]]\n")
    ev = evaluate(d)
    a, b, c = ev.gradients
    assert a.tolist() == [7, 11] and b.tolist() == [7, 11] and c.tolist() == [1, 1]
    a += 100
    assert b.tolist() == [7, 11]
    assert evaluate(d).gradients[0].tolist() == [7, 11]
    d2 = derivation("variables: {x: [1, 2]}\nys: x\nxs: x\ngrad_ys: [[5, 7]]\n")
    g = evaluate(d2).gradients[0]
    g += 1
    assert evaluate(d2).gradients[0].tolist() == [5, 7]


def test_operands_come_before_consumers_when_a_node_is_met_twice():
    # R = B ∘ tanh(B): the walk meets B first as R's operand, then again
    # below tanh(B); B must still be computed before tanh(B).
    x = m.symbol("x", (2, 3))
    b = m.ew("exp", x)
    r = m.hadamard(b, m.ew("tanh", b))
    xv = np.arange(6.0).reshape(2, 3) / 10
    ev = Evaluator({"x": xv}, {id(x): xv})
    (got,) = ev.run_all([r])
    np.testing.assert_array_equal(got, np.exp(xv) * np.tanh(np.exp(xv)))
    assert ev.computed == 3


def test_intermediate_values_are_released_once_consumed():
    d = derivation(_shared_graph(60))
    ev = evaluate(d)
    leaves = {id(d.forward[n]) for n in d.leaf_names.values()} | {id(s.symbol) for s in d.seeds}
    roots = {id(g) for g in d.gradients if g is not None}
    assert ev.evaluator.computed > 100
    assert set(ev.evaluator.memo) <= leaves | roots
    # Forward values asked for afterwards are recomputed, not lost.
    assert np.isfinite(ev.values["h59"]).all()


def _operand(kind: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    r, c = shape
    if kind == "dense":
        return rng.normal(size=shape)
    if kind == "equal rows":  # 𝟙⋅v
        return np.broadcast_to(rng.normal(size=(1, c)), shape)
    if kind == "equal columns":  # u⋅𝟙ᵀ
        return np.broadcast_to(rng.normal(size=(r, 1)), shape)
    if kind == "constant":
        return np.broadcast_to(rng.normal(size=(1, 1)), shape)
    # the transpose of a broadcast, as ``A⋅Bᵀ`` evaluates it
    return np.broadcast_to(rng.normal(size=(c, 1)), (c, r)).T


KINDS = ["dense", "equal rows", "equal columns", "constant", "transposed"]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       st.sampled_from(KINDS), st.sampled_from(KINDS), st.integers(0, 2**32 - 1))
def test_products_of_broadcast_operands_equal_dense_products(m_, k, n, ka, kb, seed):
    rng = np.random.default_rng(seed)
    a, b = _operand(ka, (m_, k), rng), _operand(kb, (k, n), rng)
    got = _product(a, b)
    assert got.shape == (m_, n)
    np.testing.assert_allclose(got, np.array(a) @ np.array(b), rtol=1e-12, atol=1e-12)


def test_a_reduce_sum_cotangent_stays_one_row_through_a_matmul_chain():
    # d/dW of reduce_sum(X⋅W1⋅W2): the seed's broadcast is carried through
    # the products as a row (no n×n×n product against a matrix of ones),
    # and the numbers are still the dense ones.
    rng = np.random.default_rng(0)
    x, w1, w2 = (np.round(rng.normal(size=(5, 5)), 3) for _ in range(3))
    fmt = lambda a: str(a.tolist())  # noqa: E731
    d = derivation(f"variables: {{X: {fmt(x)}, W1: {fmt(w1)}, W2: {fmt(w2)}}}\n"
                   "ops:\n  y: reduce_sum(X @ W1 @ W2)\nys: y\nxs: [X, W1, W2]\n")
    gx, g1, g2 = evaluate(d).gradients
    ones = np.ones((5, 5))
    np.testing.assert_allclose(g2, (x @ w1).T @ ones, rtol=1e-12)
    np.testing.assert_allclose(g1, x.T @ ones @ w2.T, rtol=1e-12)
    np.testing.assert_allclose(gx, ones @ w2.T @ w1.T, rtol=1e-12)
    assert all(g.flags.c_contiguous and g.flags.writeable for g in (gx, g1, g2))
