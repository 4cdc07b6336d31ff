"""Test helpers for op rules: apply one registered op to NumPy inputs, get
its value and its VJPs (TF's rules, through the engine's sweep), and compare
them with central finite differences. Used by the op-family tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfgrad.autodiff import backprop
from tfgrad.engine import apply
from tfgrad.plan import Plan
from tfgrad.tensor import Node, tensor


def leaves(inputs: dict[str, Any], dtype: str = "float64"):
    """Tensor leaves and an environment for ``inputs`` (arrays, or lists of
    arrays for ``tensors`` params). Integer and bool arrays keep their dtype."""
    env: dict[str, np.ndarray] = {}
    nodes: dict[str, Any] = {}

    def leaf(key: str, a: Any) -> Node:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            d = dtype
        elif a.dtype.kind == "b":
            d = "bool"
        else:
            d = str(a.dtype)
        env[key] = a.astype(d)
        return tensor(key, a.shape, d, "variable")

    for k, v in inputs.items():
        if isinstance(v, list) and v and isinstance(v[0], np.ndarray):
            nodes[k] = [leaf(f"{k}{i}", a) for i, a in enumerate(v)]
        else:
            nodes[k] = leaf(k, v)
    return nodes, env


def value(op: str, inputs: dict[str, Any], attrs: dict | None = None, dtype: str = "float64"):
    """The op's forward value(s) as arrays."""
    nodes, env = leaves(inputs, dtype)
    out = apply(op, nodes, attrs, dtype)
    outs = out if isinstance(out, list) else [out]
    vals = Plan(outs).run(env)
    return vals if isinstance(out, list) else vals[0]


def vjps(op: str, inputs: dict[str, Any], attrs: dict | None = None, cot: Any = None,
         dtype: str = "float64", output: int | None = None):
    """(value, {input key: gradient array or None}) of sum(cot * out) w.r.t.
    every float input (``key`` or ``key0``, ``key1``... for lists)."""
    nodes, env = leaves(inputs, dtype)
    out = apply(op, nodes, attrs, dtype)
    y = out[output or 0] if isinstance(out, list) else out
    c = np.ones(y.shape) if cot is None else np.asarray(cot, dtype=float)
    env["__cot"] = c.astype(y.dtype)
    seed = tensor("__cot", y.shape, y.dtype, "seed")
    flat = {}
    for k, v in nodes.items():
        if isinstance(v, list):
            flat.update((n.name, n) for n in v)
        else:
            flat[k] = v
    keys = list(flat)
    grads = backprop([(y, seed)], [flat[k] for k in keys])
    roots = [y] + [g for g in grads if g is not None]
    vals = Plan(roots).run(env)
    it = iter(vals[1:])
    return vals[0], {k: (np.asarray(next(it)) if g is not None else None) for k, g in zip(keys, grads)}


def finite_difference(op: str, inputs: dict[str, Any], attrs: dict | None = None, cot: Any = None,
                      key: str | None = None, eps: float = 1e-6, output: int | None = None) -> dict:
    """Central finite differences of sum(cot * out) w.r.t. each float input
    (float64), keyed as ``vjps`` keys them."""
    result = {}
    flat_inputs = {}
    for k, v in inputs.items():
        if isinstance(v, list) and v and isinstance(v[0], np.ndarray):
            for i, a in enumerate(v):
                flat_inputs[f"{k}{i}"] = (k, i)
        else:
            flat_inputs[k] = (k, None)

    def f(k: str, i: int | None, arr: np.ndarray) -> float:
        new = dict(inputs)
        if i is None:
            new[k] = arr
        else:
            lst = list(new[k])
            lst[i] = arr
            new[k] = lst
        out = value(op, new, attrs)
        y = out[output or 0] if isinstance(out, list) else out
        c = np.ones(np.shape(y)) if cot is None else np.asarray(cot, dtype=float)
        return float(np.sum(c * y))

    for fk, (k, i) in flat_inputs.items():
        if key is not None and fk != key:
            continue
        x0 = np.asarray(inputs[k] if i is None else inputs[k][i])
        if x0.dtype.kind != "f":
            continue
        x0 = x0.astype(np.float64)
        g = np.zeros_like(x0)
        for j in range(x0.size):
            up, down = x0.copy(), x0.copy()
            h = eps * max(1.0, abs(x0.flat[j]))
            up.flat[j] += h
            down.flat[j] -= h
            g.flat[j] = (f(k, i, up) - f(k, i, down)) / (2 * h)
        result[fk] = g
    return result


def assert_vjps_match_fd(op: str, inputs: dict[str, Any], attrs: dict | None = None, cot: Any = None,
                         rtol: float = 1e-5, atol: float = 1e-6, output: int | None = None) -> None:
    """Every float input's VJP equals the central finite difference."""
    _, got = vjps(op, inputs, attrs, cot, output=output)
    want = finite_difference(op, inputs, attrs, cot, output=output)
    for k, w in want.items():
        g = got[k]
        assert g is not None, f"{op}: no gradient for {k}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{op}: d/d{k}")
