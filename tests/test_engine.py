"""Engine structure: linear cost, each DAG node evaluated once, deep graphs."""

from __future__ import annotations

import numpy as np

from tfgrad.evaluate import _children, evaluate, objective
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
