"""Property tests: every op's gradient against central finite differences,
on random values and broadcasting shapes, and smooth elementwise derivatives
against ``sympy.diff`` of the scalar function (a second, independent method).
"""

from __future__ import annotations

import numpy as np
import sympy
from hypothesis import given, settings, strategies as st

from tfgrad.engine import compute as evaluate
from tfgrad.engine import derive, objective
from tfgrad.parse import parse_graph

# Pairs of shapes that broadcast together (ranks 0-2).
BROADCAST_PAIRS = [
    ((), ()), ((3,), ()), ((), (3,)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)),
    ((2, 3), (2, 3)), ((2, 1), (1, 3)), ((2, 3), (2, 1)), ((1, 3), (2, 3)), ((2, 3), ()),
    ((4, 1), (3,)), ((1, 1), (2, 2)),
]

# Domains that keep each op away from its kinks and poles.
BINARY = {
    "add": ((-3, 3), (-3, 3)),
    "subtract": ((-3, 3), (-3, 3)),
    "multiply": ((-3, 3), (-3, 3)),
    "divide": ((-3, 3), (0.5, 3)),
    "maximum": ((-3, 3), (-3, 3)),
    "minimum": ((-3, 3), (-3, 3)),
    "pow": ((0.5, 2), (-2, 2)),
}
UNARY = {
    "negative": (-3, 3), "identity": (-3, 3), "square": (-3, 3), "sqrt": (0.5, 4),
    "exp": (-2, 2), "log": (0.5, 4), "tanh": (-2, 2), "sigmoid": (-3, 3),
    "abs": (0.2, 3), "relu": (0.2, 3), "transpose": (-3, 3),
}


def _lit(a: np.ndarray) -> str:
    return repr(a.tolist())


def _values(draw, shape, lo, hi, elements=None):
    n = int(np.prod(shape)) if shape else 1
    xs = draw(st.lists(elements or st.floats(lo, hi), min_size=n, max_size=n))
    return np.array(xs, dtype=float).reshape(shape)


def _fd_check(text: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    d = derive(parse_graph(text, "prop.yaml"))
    ev = evaluate(d)
    for x, g in zip(d.graph.xs, ev.gradients):
        assert g is not None
        base = ev.values[x.name]
        flat = base.reshape(-1)
        for k in range(flat.size):
            h = 1e-6 * max(1.0, abs(flat[k]))
            plus, minus = flat.copy(), flat.copy()
            plus[k] += h
            minus[k] -= h
            fp = objective(d, {x.name: plus.reshape(base.shape)}, ev.seeds)
            fm = objective(d, {x.name: minus.reshape(base.shape)}, ev.seeds)
            fd = (fp - fm) / (2 * h)
            assert np.isclose(g.reshape(-1)[k], fd, rtol=rtol, atol=atol), (text, x.name, k, fd)


@st.composite
def binary_graphs(draw):
    op = draw(st.sampled_from(sorted(BINARY)))
    sx, sy = draw(st.sampled_from(BROADCAST_PAIRS))
    (lx, hx), (ly, hy) = BINARY[op]
    x = _values(draw, sx, lx, hx)
    y = _values(draw, sy, ly, hy)
    if op in ("maximum", "minimum"):  # keep ties out: they are a kink, tested by hand
        xb, yb = np.broadcast_arrays(x, y)
        if np.any(np.abs(xb - yb) < 1e-2):
            y = y + 0.5
            xb, yb = np.broadcast_arrays(x, y)
            if np.any(np.abs(xb - yb) < 1e-2):
                y = y + 0.25
    out = np.broadcast_shapes(sx, sy)
    seed = _values(draw, out, -2, 2)
    return (f"variables:\n  x: {_lit(x)}\n  y: {_lit(y)}\nops:\n  z: {op}(x, y)\n"
            f"ys: z\nxs: [x, y]\ngrad_ys: [{_lit(seed)}]\n")


@st.composite
def unary_graphs(draw):
    op = draw(st.sampled_from(sorted(UNARY)))
    shape = draw(st.sampled_from([(), (3,), (2, 3), (1, 1)]))
    lo, hi = UNARY[op]
    x = _values(draw, shape, lo, hi)
    out = shape[::-1] if op == "transpose" else shape
    seed = _values(draw, out, -2, 2)
    return f"variables:\n  x: {_lit(x)}\nops:\n  z: {op}(x)\nys: z\nxs: x\ngrad_ys: [{_lit(seed)}]\n"


@st.composite
def reduce_graphs(draw):
    op = draw(st.sampled_from(["reduce_sum", "reduce_mean"]))
    shape = draw(st.sampled_from([(), (3,), (2, 3), (1, 3), (2, 1)]))
    axes = [None] + (list(range(-len(shape), len(shape))) if shape else [])
    axis = draw(st.sampled_from(axes))
    keep = draw(st.booleans())
    x = _values(draw, shape, -3, 3)
    out = np.sum(np.zeros(shape), axis=axis, keepdims=keep).shape
    seed = _values(draw, out, -2, 2)
    ax = "null" if axis is None else axis
    return (f"variables:\n  x: {_lit(x)}\nops:\n  z: {op}(x, axis={ax}, keepdims={str(keep).lower()})\n"
            f"ys: z\nxs: x\ngrad_ys: [{_lit(seed)}]\n")


@st.composite
def matmul_graphs(draw):
    n, k, p = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ta, tb = draw(st.booleans()), draw(st.booleans())
    a = _values(draw, (k, n) if ta else (n, k), -2, 2)
    b = _values(draw, (p, k) if tb else (k, p), -2, 2)
    seed = _values(draw, (n, p), -2, 2)
    return (f"variables:\n  a: {_lit(a)}\n  b: {_lit(b)}\nops:\n"
            f"  z: matmul(a, b, transpose_a={str(ta).lower()}, transpose_b={str(tb).lower()})\n"
            f"ys: z\nxs: [a, b]\ngrad_ys: [{_lit(seed)}]\n")


@settings(max_examples=150, deadline=None)
@given(binary_graphs())
def test_binary_ops_match_finite_differences(text):
    _fd_check(text)


@settings(max_examples=80, deadline=None)
@given(unary_graphs())
def test_unary_ops_match_finite_differences(text):
    _fd_check(text)


@settings(max_examples=60, deadline=None)
@given(reduce_graphs())
def test_reductions_match_finite_differences(text):
    _fd_check(text)


@settings(max_examples=40, deadline=None)
@given(matmul_graphs())
def test_matmul_matches_finite_differences(text):
    _fd_check(text)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["tanh", "sigmoid", "exp", "square", "negative"]), min_size=1,
                max_size=6), st.floats(-1, 1))
def test_composed_chains_match_finite_differences(chain, x0):
    lines = ["variables:", f"  x: [[{x0!r}, 0.5]]", "ops:"]
    prev = "x"
    for i, op in enumerate(chain):
        # Damped so that composed exps and squares stay in a range where
        # central differences are accurate.
        lines.append(f"  h{i}: {op}({prev}) * 0.1 + {prev} * 0.5")
        prev = f"h{i}"
    lines += [f"ys: {prev}", "xs: x"]
    _fd_check("\n".join(lines) + "\n", rtol=1e-4, atol=1e-6)


SCALAR = {
    "square": lambda t: t**2, "sqrt": sympy.sqrt, "exp": sympy.exp, "log": sympy.log,
    "tanh": sympy.tanh, "sigmoid": lambda t: 1 / (1 + sympy.exp(-t)),
}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(SCALAR)), st.floats(0.1, 3))
def test_smooth_unary_ops_match_sympy_diff(op, x0):
    t = sympy.Symbol("t")
    expected = float(sympy.diff(SCALAR[op](t), t).subs(t, x0))
    d = derive(parse_graph(f"variables: {{x: {x0!r}}}\nops:\n  y: {op}(x)\nys: y\nxs: x\n"))
    assert np.isclose(float(evaluate(d).gradients[0]), expected, rtol=1e-12, atol=1e-14)
