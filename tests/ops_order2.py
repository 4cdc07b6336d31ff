"""Second-order gradients of one op, as TF computes them: the gradient of
``z = sum(V * dy/dx)`` with ``dy/dx`` itself built by the sweep (TF's
``GradientTape`` nested twice). Used by tests/test_ops_linalg.py and
tests/test_ops_conv.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from ops_harness import leaves
from tfgrad.autodiff import backprop
from tfgrad.engine import apply
from tfgrad.plan import Plan
from tfgrad.tensor import Node, ew, reduce, tensor


def _total(y: Node, c: Node) -> Node:
    return reduce("sum", tuple(range(y.rank)), ew("multiply", y, c)) if y.rank else ew("multiply", y, c)


def grads12(op: str, inputs: dict[str, Any], attrs: dict | None, cot: Any, wrt: str,
            v: Any, dtype: str = "float64") -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
    """(first-order gradient of sum(cot * op(...)) w.r.t. ``wrt``, second-order
    gradients of sum(v * that gradient) w.r.t. every input)."""
    nodes, env = leaves(inputs, dtype)
    y = apply(op, nodes, attrs, dtype)
    env["__cot"] = np.asarray(cot, dtype=dtype).reshape(y.shape)
    env["__v"] = np.asarray(v, dtype=dtype).reshape(nodes[wrt].shape)
    cnode = tensor("__cot", y.shape, dtype, "constant")
    (g,) = backprop([(y, cnode)], [nodes[wrt]])
    vnode = tensor("__v", g.shape, dtype, "constant")
    z = _total(g, vnode)
    one = tensor("__one", (), dtype, "seed")
    env["__one"] = np.ones((), dtype=dtype)
    keys = list(nodes)
    g2 = backprop([(z, one)], [nodes[k] for k in keys])
    roots = [g] + [x for x in g2 if x is not None]
    vals = Plan(roots).run(env)
    it = iter(vals[1:])
    return vals[0], {k: (np.asarray(next(it)) if x is not None else None) for k, x in zip(keys, g2)}


