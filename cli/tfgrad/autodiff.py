"""Reverse mode over expression nodes: TF's ``tf.gradients`` sweep.

``vjp(node, g)`` dispatches to the VJP of the node's kind (``funcs`` for
elementwise functions, ``moves`` for movement and kernels, the contraction
and reduction rules here). ``backprop`` is the sweep: cotangents enter at
seed nodes, each node's VJP runs once on the sum of its cotangents, in
reverse topological order, only for nodes that depend on some target
(TF prunes the same way), never through a stop node, never into integer or
boolean tensors. The same sweep serves first order (over the lowered
forward graph) and higher order (over expressions that already contain
gradients): every node kind and every named kernel has a VJP.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterable, Sequence

import numpy as np

from .funcs import FUNCS, field_table
from .graph import GraphError
from .moves import MOVES, Prim, expand_over, register
from .tensor import (
    FLOAT_DTYPES, Contract, Ew, Kernel, Move, Node, Reduce, add, broadcast_to, contract,
    marked_walk, prim, reshape, transpose,
)


# -- contraction -------------------------------------------------------------------

def _embed_np(x: np.ndarray, src: str, dst: str, shape: tuple) -> np.ndarray:
    out = np.zeros(shape, dtype=x.dtype)
    np.einsum(f"{dst}->{src}", out)[...] = x
    return out


register(Prim(
    "diag_embed",
    lambda ops, a: (a[2], ops[0].dtype),
    _embed_np,
    lambda n, g: [contract(f"{n.attrs[1]}->{n.attrs[0]}", g)],
    "diag_embed({0})", r"\operatorname{{diag}}({0})",
    "places x on the diagonal of repeated subscripts (zeros elsewhere): the VJP of a trace or diagonal",
    "special_math_ops.py _EinsumGrad (repeated subscripts)",
))


@lru_cache(maxsize=4096)
def _contract_vjp_plan(spec: str) -> tuple:
    """Per operand k of an einsum ``spec``: how its cotangent is built (the
    string work depends on the spec only, so it is done once per spec)."""
    ins_s, out = spec.split("->")
    ins = ins_s.split(",")
    plans = []
    for k, sk in enumerate(ins):
        others = [j for j in range(len(ins)) if j != k]
        subs = [ins[j] for j in others] + [out]
        uniq = "".join(dict.fromkeys(sk))
        avail = set("".join(subs))
        t = "".join(ch for ch in uniq if ch in avail)
        if len(subs) == 1 and subs[0] == t:
            how: tuple = ("same",)
        elif len(subs) == 1 and sorted(subs[0]) == sorted(t) and len(set(t)) == len(t) \
                and len(set(subs[0])) == len(subs[0]):
            how = ("transpose", tuple(subs[0].index(ch) for ch in t))
        else:
            how = ("contract", ",".join(subs) + "->" + t)
        plans.append((tuple(others), how, t, uniq, sk))
    return tuple(plans)


def contract_vjp(n: Contract, g: Node) -> list:
    """Operand k's cotangent: the einsum of G with the other operands onto
    k's subscripts; axes summed only within k are broadcast back, repeated
    subscripts (traces, diagonals) are embedded on the diagonal."""
    args = n.args
    result = []
    for others, how, t, uniq, sk in _contract_vjp_plan(n.spec):
        if how[0] == "same":
            r = g
        elif how[0] == "transpose":
            r = transpose(g, how[1])
        else:
            r = contract(how[1], *[args[j] for j in others], g)
        k = len(result)
        if t != uniq:
            sizes = dict(zip(sk, args[k].shape))
            r = reshape(r, tuple(sizes[ch] if ch in t else 1 for ch in uniq))
            r = broadcast_to(r, tuple(sizes[ch] for ch in uniq))
        if uniq != sk:
            r = prim("diag_embed", r, attrs=(uniq, sk, tuple(args[k].shape)))
        result.append(r)
    return result


# -- reductions ----------------------------------------------------------------------

def _sum_vjp(n: Reduce, g: Node) -> list:
    return [expand_over(g, n.axes, n.args[0].shape)]


def _np_sum(x: np.ndarray, axes: tuple) -> np.ndarray:
    return sum_kernel(x.shape, axes)(x)


@lru_cache(maxsize=4096)
def sum_kernel(shape: tuple, axes: tuple) -> Callable[[np.ndarray], np.ndarray]:
    """The kernel of ``reduce_sum`` over ``axes`` of arrays of ``shape``
    (the plan compiles each Reduce node's once, so that the axes and the
    result shape are not worked out again on every call, and calls
    ``np.add.reduce``, which ``np.sum`` wraps in Python).

    TF's Sum (ReductionHelper::Simplify): axes of size 1 are dropped, and a
    reduction left with no axes is a copy, so a lone -0.0 stays -0.0; a real
    sum starts from 0 (NumPy's too): -0.0 + -0.0 gives +0.0. Integers keep
    their dtype (NumPy would widen int32 to int64)."""
    real = tuple(a for a in axes if shape[a] != 1)
    out_shape = tuple(d for i, d in enumerate(shape) if i not in axes)
    reshape, add = np.reshape, np.add.reduce
    if not real:
        return lambda x: reshape(x, out_shape)
    if len(real) == len(axes) and out_shape:  # add.reduce's result has out_shape
        return lambda x: add(x, axis=real, dtype=x.dtype)
    return lambda x: reshape(add(x, axis=real, dtype=x.dtype), out_shape)


# kind -> (NumPy kernel(x, axes), VJP). Families add their reductions here.
REDUCTIONS: dict[str, tuple[Callable[[np.ndarray, tuple], np.ndarray], Callable[[Reduce, Node], list]]] = {
    "sum": (_np_sum, _sum_vjp),
}


# -- dispatch ----------------------------------------------------------------------

def vjp(n: Node, g: Node) -> list:
    """One cotangent (or None) per operand of ``n``, given ``g`` for ``n``."""
    t = type(n)
    if t is Ew:
        f = FUNCS[n.fn].vjp
        if f is None:
            return [None] * len(n.args)
        return f(n, g)
    if t is Contract:
        return contract_vjp(n, g)
    if t is Reduce:
        return REDUCTIONS[n.kind][1](n, g)
    if t is Move or t is Kernel:
        f = MOVES[n.kind].vjp
        if f is None:
            return [None] * len(n.args)
        return f(n, g)
    return []


Recorder = Callable[[Node, Node, list], None]


def backprop(seeds: Sequence[tuple[Node, Node]], wrt: Sequence[Node],
             stop: Iterable[Node] = (), record: Recorder | None = None) -> list[Node | None]:
    """``tf.gradients`` over expression nodes: the cotangent of each ``wrt``
    node given cotangents ``seeds`` (node, cotangent) entering the graph, or
    None where no path carries one.

    ``stop`` nodes receive cotangents but pass none on (TF's
    ``stop_gradients``); integer and boolean nodes never carry one.
    ``record(node, total, [(operand, cotangent), ...])`` sees every VJP the
    sweep runs, in order (explain's ``--steps``).
    Raises ``AssertionError`` when a VJP returns a cotangent of the wrong
    shape (a rule bug, never a user error)."""
    # tensor.walk's post-order over the ys (marked_walk), fused with the
    # reach pass: a node is finished after its operands, so whether it
    # depends on a wrt node is known then (one pass instead of two over deep
    # graphs). Per-node state is kept on the node, not in sets or dicts:
    # ``_mark`` is None for a node no wrt node reaches, else True, or the
    # cotangent it has received (a Node), or the list of those (several).
    gen = object()
    wrt_ids = {id(w) for w in wrt}
    stop_ids = {id(s) for s in stop}
    order: list[Node] = []
    append = order.append
    floats = FLOAT_DTYPES
    for node in marked_walk([s for s, _ in seeds], gen):
        append(node)
        node._mark = None
        if node.dtype not in floats:
            continue
        i = id(node)
        if i in wrt_ids:
            node._mark = True
        elif i not in stop_ids:
            for a in node._args:
                if a._mark is not None:
                    node._mark = True
                    break
    for node, g in seeds:
        m = node._mark
        if m is True:
            node._mark = g
        elif type(m) is list:
            m.append(g)
        elif m is not None:
            node._mark = [m, g]
    result: dict[int, Node] = {}
    vjp_of = field_table("vjp")
    parts_of = field_table("vjp_parts")
    for n in reversed(order):
        parts = n._mark
        if parts is None or parts is True:
            continue
        if n._walk is not gen:
            raise AssertionError("a walk over these nodes ran inside the sweep and cleared its marks")
        n._mark = True  # reached, its cotangents consumed
        total = add(*parts) if type(parts) is list else parts
        i = id(n)
        if i in wrt_ids:
            result[i] = total
        args = n._args
        if not args or i in stop_ids:
            continue
        try:
            if type(n) is Ew:  # vjp()'s first case, inline: most nodes of a deep graph
                each = parts_of[n.fn]
                if each and (args[0]._mark is None or args[-1]._mark is None):
                    # TF's skip_input_indices: no cotangent for an operand
                    # that leads to no x (x * a with a constant builds no g * x)
                    cots = [None if a._mark is None else p(n, total) for p, a in zip(each, args)]
                else:
                    f = vjp_of[n.fn]
                    cots = [None] * len(args) if f is None else f(n, total)
            else:
                cots = vjp(n, total)
        except GraphError as e:  # e.g. a kernel TF gives no gradient: locate it at n's op
            if getattr(e, "node", None) is None:
                e.node = n
            raise
        contributions = [] if record is not None else None
        for a, c in zip(args, cots):
            if c is None:
                continue
            m = a._mark
            if m is None:  # no wrt node below a
                continue
            if a._walk is not gen:
                raise AssertionError("a walk over these nodes ran inside the sweep and cleared its marks")
            if c.shape != a.shape:
                raise AssertionError(
                    f"VJP of {type(n).__name__} {n.params()} gave a cotangent of shape {c.shape} "
                    f"for an operand of shape {a.shape}")
            if m is True:  # the first cotangent is kept as is, a list from the second
                a._mark = c
            elif type(m) is list:
                m.append(c)
            else:
                a._mark = [m, c]
            if contributions is not None:
                contributions.append((a, c))
        if record is not None:
            record(n, total, contributions)
    return [result.get(id(w)) for w in wrt]

