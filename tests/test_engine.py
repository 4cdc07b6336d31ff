"""Engine structure: linear cost, each DAG node evaluated once, deep graphs,
intermediates released, broadcast cotangents kept cheap in products."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tfgrad.engine import compute, derive, objective
from tfgrad.parse import parse_graph
from tfgrad.plan import Plan, _matmul2, _matmul3
from tfgrad.tensor import Tensor, ew, tensor, walk

from helpers import derivation


def _dag_size(roots) -> int:
    return len(walk([r for r in roots if r is not None]))


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
    roots = [g for g in d.gradients if g is not None]
    plan = Plan(roots)
    # Named leaves (variables, seeds) are looked up, not evaluated; every
    # other node of the DAG is one step.
    leaves = sum(1 for n in walk(roots) if type(n) is Tensor)
    assert len(plan.steps) == _dag_size(roots) - leaves
    assert len({out for _, _, out, _ in plan.steps}) == len(plan.steps)


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
    g = compute(d).gradients[0]
    assert g.shape == (4,) and np.all(np.isfinite(g))


def test_objective_replaces_intermediate_values():
    d = derivation("variables: {x: [1, 2]}\nops:\n  h: identity(x)\n  y: h * h\nys: y\nxs: h\n")
    seeds = compute(d).seeds
    assert objective(d, {}, seeds) == 5.0
    # Replacing h leaves x alone: identity gets a node of its own.
    assert objective(d, {"h": np.array([3.0, 0.0])}, seeds) == 9.0


def test_returned_gradients_share_no_memory():
    # Callers may change the arrays they get: duplicate xs, an x that is a
    # y (its seed is an input array) and ordinary results must be distinct.
    d = derivation("variables: {x: [1, 2]}\nops:\n  y: x * x\nys: [y, x]\nxs: [x, x, y]\n"
                   "grad_ys: [null, [5, 7]]\n")
    ev = compute(d)
    a, b, c = ev.gradients
    assert a.tolist() == [7, 11] and b.tolist() == [7, 11] and c.tolist() == [1, 1]
    a += 100
    assert b.tolist() == [7, 11]
    assert compute(d).gradients[0].tolist() == [7, 11]
    d2 = derivation("variables: {x: [1, 2]}\nys: x\nxs: x\ngrad_ys: [[5, 7]]\n")
    g = compute(d2).gradients[0]
    g += 1
    assert compute(d2).gradients[0].tolist() == [5, 7]
    # computed gradients are handed out uncopied: none may share memory with
    # another, with a seed or with a leaf (identity chains pass arrays along)
    d3 = derivation("variables: {x: [[1, 2], [3, 4]], w: [[1, 0], [2, 1]]}\nops:\n"
                    "  y: matmul(x, w)\n  z: identity(y)\n  u: identity(z)\n"
                    "ys: [u, z]\nxs: [x, w, y, z, u, x]\n")
    ev = compute(d3)
    arrays = ev.gradients + ev.seeds + list(d3.lowered.env.values())
    for i, a in enumerate(ev.gradients):
        assert a.flags.c_contiguous and a.flags.owndata
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)


def test_operands_come_before_consumers_when_a_node_is_met_twice():
    # R = B ∘ tanh(B): the walk meets B first as R's operand, then again
    # below tanh(B); B must still be computed before tanh(B).
    x = tensor("x", (2, 3), "float64", "variable")
    b = ew("exp", x)
    r = ew("multiply", b, ew("tanh", b))
    xv = np.arange(6.0).reshape(2, 3) / 10
    plan = Plan([r])
    (got,) = plan.run({"x": xv})
    np.testing.assert_array_equal(got, np.exp(xv) * np.tanh(np.exp(xv)))
    assert len(plan.steps) == 3


def test_intermediate_values_are_released_once_consumed():
    d = derivation(_shared_graph(60))
    roots = [g for g in d.gradients if g is not None]
    plan = Plan(roots)
    released = {r for _, _, _, rel in plan.steps for r in rel}
    outputs = {out for _, _, out, _ in plan.steps}
    assert len(plan.steps) > 100
    # every intermediate is dropped after its last use; only the roots stay
    assert outputs - released == set(plan.roots)
    # Forward values asked for afterwards are recomputed, not lost.
    assert np.isfinite(compute(d).values["h59"]).all()


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
    got = _matmul3(a[None], b[None])[0]
    assert got.shape == (m_, n)
    np.testing.assert_allclose(got, np.array(a) @ np.array(b), rtol=1e-12, atol=1e-12)
    got2 = _matmul2(a, b)  # the same shortcuts without a batch axis
    assert got2.shape == (m_, n)
    np.testing.assert_array_equal(got2, got)


def test_a_reduce_sum_cotangent_stays_one_row_through_a_matmul_chain():
    # d/dW of reduce_sum(X⋅W1⋅W2): the seed's broadcast is carried through
    # the products as a row (no n×n×n product against a matrix of ones),
    # and the numbers are still the dense ones.
    rng = np.random.default_rng(0)
    x, w1, w2 = (np.round(rng.normal(size=(5, 5)), 3) for _ in range(3))
    fmt = lambda a: str(a.tolist())  # noqa: E731
    d = derivation(f"variables: {{X: {fmt(x)}, W1: {fmt(w1)}, W2: {fmt(w2)}}}\n"
                   "ops:\n  y: reduce_sum(X @ W1 @ W2)\nys: y\nxs: [X, W1, W2]\n")
    gx, g1, g2 = compute(d).gradients
    ones = np.ones((5, 5))
    np.testing.assert_allclose(g2, (x @ w1).T @ ones, rtol=1e-12)
    np.testing.assert_allclose(g1, x.T @ ones @ w2.T, rtol=1e-12)
    np.testing.assert_allclose(gx, ones @ w2.T @ w1.T, rtol=1e-12)
    assert all(g.flags.c_contiguous and g.flags.writeable for g in (gx, g1, g2))


def _structure(root) -> list:
    """Every node under ``root`` in walk order: kind, parameters, shape,
    dtype and the positions of its operands (structural identity)."""
    order = walk([root])
    pos = {id(n): i for i, n in enumerate(order)}
    return [(type(n).__name__, n.params(), n.shape, n.dtype, tuple(pos[id(a)] for a in n.args))
            for n in order]


_FAST_CASES = """\
variables:
  x: [0.5, -0.25, 2.0]
  m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
  f: {value: [1.5, 2.5, 3.5], dtype: float32}
  i: {value: [1, 2, 3], dtype: int32}
  w: [[1.0, -1.0], [0.5, 2.0], [3.0, 0.25]]
  t: [[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]]
ops:
  a: tanh(x) * x + x
  b: m * x - 2
  c: maximum(x, 0.5) / (x + 3)
  d: add_n([x, a, c])
  e: add_n([b, m])
  h: f * 2 + f
  k: add_n(x)
  j: i + i
  s: sigmoid(e) + relu(b) + identity(d) + stop_gradient(x) + exp(2.0)
  mm: matmul(m, w)
  mt: matmul(m, m, transpose_a=true)
  mb: matmul(m, t)
  mf: matmul(t, t, transpose_b=true)
  loss: reduce_sum(s) + reduce_sum(k) + reduce_sum(e) + reduce_sum(mm) + reduce_sum(mb) + x * [[1.0], [2.0]]
  l32: reduce_sum(h)
ys: [loss, l32]
xs: [x, m, f, i, w, t]
"""


def test_the_lowering_shortcut_builds_what_the_full_path_builds(monkeypatch):
    # OpDef.fast (equal shapes and dtypes) must build the node the shape rule
    # and forward build: same kinds, parameters, shapes, dtypes, operands.
    import tfgrad.engine as E

    graph = parse_graph(_FAST_CASES)
    fast = E.derive(graph)
    taken = []
    real = E._fast_entry

    def counting(op_name):  # each shortcut, wrapped to count what it built
        entry = real(op_name)
        if entry is None:
            return None

        def fast(xs, f=entry[0]):
            out = f(xs)
            taken.append(out is not None)
            return out

        return (fast, *entry[1:])

    monkeypatch.setattr(E, "_fast_entry", counting)
    E.derive(graph)
    assert sum(taken) >= 10 and not all(taken)  # both paths ran
    monkeypatch.setattr(E, "_fast_entry", lambda op_name: None)  # the full path only
    full = E.derive(graph)
    for name in graph.order:
        assert _structure(fast.node(name)) == _structure(full.node(name)), name
        # the same op owns each node (explain names broadcasts by their op)
        owners = [[n._owner for n in walk([d.node(name)])] for d in (fast, full)]
        assert owners[0] == owners[1], name
    none = [g is None for g in fast.gradients]
    assert none == [False, False, False, True, False, False]  # i: int32
    for gf, gs in zip(fast.gradients, full.gradients):
        assert gf is gs is None or _structure(gf) == _structure(gs)
    for a, b in zip(compute(fast).gradients, compute(full).gradients):
        assert a is b is None or np.array_equal(a, b)


def test_fills_share_a_kernel_but_keep_the_sign_of_zero():
    # the plan compiles equal fills once; -0.0 == 0.0 must not merge them
    # (TF's signs of zeros are part of its results)
    from tfgrad.tensor import fill

    nodes = [fill(0.0, (2,), "float64"), fill(-0.0, (2,), "float64"), fill(np.float64(-0.0), (2,), "float64"),
             fill(0.0, (2,), "float64"), fill(-0.0, (), "float64")]
    got = Plan(nodes).run({})
    assert [bool(np.signbit(v).all()) for v in got] == [False, True, True, False, True]
    assert [v.shape for v in got] == [(2,), (2,), (2,), (2,), ()]


def test_the_sweep_asks_only_for_cotangents_of_operands_that_lead_to_an_x(monkeypatch):
    # TF's skip_input_indices: in x * a, x - a and a / x with a constant a,
    # the sweep builds no cotangent for a; the gradient is unchanged
    import tfgrad.autodiff as A
    from tfgrad.funcs import field_table

    graph = parse_graph("variables: {x: [1.0, 2.0]}\nconstants: {a: [3.0, 4.0]}\n"
                        "ops: {y: reduce_sum(x * a - (a - x) + a / x)}\nys: [y]\nxs: [x]\n")
    asked = []

    def recording(field):
        table = field_table(field)
        if field != "vjp_parts":
            return table
        out = dict(table)
        for fn, parts in table.items():
            if parts:
                out[fn] = tuple((lambda n, g, p=p, k=k, fn=fn: asked.append((fn, k)) or p(n, g))
                                for k, p in enumerate(parts))
        return out

    monkeypatch.setattr(A, "field_table", recording)
    grad = compute(derive(graph)).gradients[0]
    assert sorted(asked) == [("divide", 1), ("multiply", 0), ("subtract", 1)]
    x, a = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_array_equal(grad, a + 1 - a / x ** 2)
