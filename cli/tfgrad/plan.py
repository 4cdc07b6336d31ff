"""Evaluation: expression DAG -> flat plan -> NumPy.

``Plan(roots)`` walks the DAG once and compiles each node into a step (a
NumPy callable, its input slots, its output slot, and the slots to release
after it: an intermediate is dropped as soon as its last consumer has run).
``Plan.run(env)`` executes the steps; ``env`` maps leaf names (variables,
constants, literals, seeds) to arrays of the leaf's dtype. Contractions of
two operands lower to ``np.matmul`` over reshaped views (generic
``np.einsum`` is 2-4x slower on small tensors); the rest go to ``np.einsum``.

The plan computes in each node's dtype: float32 graphs stay float32 (NumPy 2
keeps Python scalars weak), nothing is upcast.

Subnormal numbers: TF runs its CPU kernels with flush-to-zero and
denormals-are-zero set (``port::ScopedFlushDenormal`` in the executor), so
a float32 ``x * x`` that lands below 1.2e-38 is 0 in TF, not a subnormal
(issue 13: ``sqrt(reduce_sum(X * X))`` at X = 2e-20 has gradient inf in
float32). NumPy cannot set those CPU flags; the plan flushes instead: float32
leaves as they enter and the result of every float32 step that computes
(movement steps copy values and are left alone). Float64 is not flushed (TF
flushes it too, below 2.2e-308; no graph here gets there, and the extra
pass would cost float64 graphs time).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np

from .autodiff import REDUCTIONS, sum_kernel
from .funcs import FUNCS, field_table
from .graph import GraphError
from .moves import MOVES
from .tensor import Contract, Ew, Fill, Kernel, Move, Node, Reduce, Tensor, marked_walk


def _matmul3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for (nb, m, k) and (nb, k, n) arrays, keeping broadcast
    operands cheap: a cotangent that a sum broadcast (zero strides, as
    ``reduce_sum``'s VJP makes it) has equal rows or columns, so one row or
    column of the product is computed and broadcast, and a factor constant
    along the contracted axis becomes an outer product with a sum. The
    result is the same product (rows computed once instead of m times)."""
    nb, m, k = a.shape
    n = b.shape[2]
    rows = m > 1 and a.strides[1] == 0  # a's rows are equal
    cols = n > 1 and b.strides[2] == 0  # b's columns are equal
    if rows:
        a = a[:, :1, :]
    if cols:
        b = b[:, :, :1]
    if k > 1 and a.strides[2] == 0:  # a constant along k: a·b = a[..., :1] ∘ Σₖ b
        r = a[:, :, :1] * b.sum(axis=1, keepdims=True)
    elif k > 1 and b.strides[1] == 0:  # b constant along k
        r = a.sum(axis=2, keepdims=True) * b[:, :1, :]
    else:
        r = np.matmul(a, b)
    if rows or cols:
        return np.broadcast_to(r, (nb, m, n))
    return r


def _matmul2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``_matmul3`` for (m, k) and (k, n) arrays (no batch axis): the same
    broadcast shortcuts, without the reshapes to and from three axes."""
    m, k = a.shape
    n = b.shape[1]
    rows = m > 1 and a.strides[0] == 0
    cols = n > 1 and b.strides[1] == 0
    if rows:
        a = a[:1, :]
    if cols:
        b = b[:, :1]
    if k > 1 and a.strides[1] == 0:
        r = a[:, :1] * b.sum(axis=0, keepdims=True)
    elif k > 1 and b.strides[0] == 0:
        r = a.sum(axis=1, keepdims=True) * b[:1, :]
    else:
        r = np.matmul(a, b)
    if rows or cols:
        return np.broadcast_to(r, (m, n))
    return r


def _compile_contract(n: Contract) -> Callable[..., np.ndarray]:
    return _contract_kernel(n.spec, tuple(a.shape for a in n.args))


@lru_cache(maxsize=4096)
def _contract_kernel(spec: str, shapes: tuple) -> Callable[..., np.ndarray]:
    """The NumPy callable of an einsum ``spec`` on operands of ``shapes``
    (cached: a graph repeats the same few contractions)."""
    ins, out = spec.split("->")
    ins = ins.split(",")
    if len(ins) != 2 or any(len(set(s)) != len(s) for s in ins):
        if len(ins) == 1 and ins[0] == out:
            return lambda x: x
        optimize = len(ins) > 2
        return lambda *xs: np.einsum(spec, *xs, optimize=optimize)
    sa, sb = ins
    size = {}
    for s, sh in zip(ins, shapes):
        size.update(zip(s, sh))
    only_a = [c for c in sa if c not in sb and c not in out]
    only_b = [c for c in sb if c not in sa and c not in out]
    batch = [c for c in sa if c in sb and c in out]
    contr = [c for c in sa if c in sb and c not in out]
    free_a = [c for c in sa if c not in sb and c in out]
    free_b = [c for c in sb if c not in sa and c in out]
    a_keep = [c for c in sa if c not in only_a]
    b_keep = [c for c in sb if c not in only_b]
    a_sum = tuple(sa.index(c) for c in only_a)
    b_sum = tuple(sb.index(c) for c in only_b)
    a_perm = tuple(a_keep.index(c) for c in batch + free_a + contr)
    b_perm = tuple(b_keep.index(c) for c in batch + contr + free_b)
    a_id = a_perm == tuple(range(len(a_perm)))
    b_id = b_perm == tuple(range(len(b_perm)))

    def prod(cs: list[str]) -> int:
        p = 1
        for c in cs:
            p *= size[c]
        return p

    a3_shape = (prod(batch), prod(free_a), prod(contr))
    b3_shape = (prod(batch), prod(contr), prod(free_b))
    mid_letters = batch + free_a + free_b
    out_shape = tuple(size[c] for c in mid_letters)
    out_perm = tuple(mid_letters.index(c) for c in out)
    identity_out = out_perm == tuple(range(len(out_perm)))

    if not batch and not a_sum and not b_sum:
        # no batch axis (matmul and its VJPs): one 2-D product
        a2_shape, b2_shape = a3_shape[1:], b3_shape[1:]
        if list(out) == free_b + free_a and free_a and free_b:
            # the result wants b's free axes first (matmul's VJP for A,
            # G·Bᵀ = (B·Gᵀ)ᵀ): multiply the transposes, bᵀ·aᵀ, so that the
            # product comes out C-ordered; a transposed (F-ordered) result
            # made every elementwise op after it a strided loop, 20-30% of
            # an MLP's evaluation
            swapped_shape = tuple(size[c] for c in out)

            def run2t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
                a2 = (a if a_id else a.transpose(a_perm)).reshape(a2_shape)
                b2 = (b if b_id else b.transpose(b_perm)).reshape(b2_shape)
                return _reshaped(_matmul2(b2.T, a2.T), swapped_shape)

            return run2t

        def run2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            a2 = (a if a_id else a.transpose(a_perm)).reshape(a2_shape)
            b2 = (b if b_id else b.transpose(b_perm)).reshape(b2_shape)
            r = _reshaped(_matmul2(a2, b2), out_shape)
            return r if identity_out else r.transpose(out_perm)

        return run2

    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a_sum:
            a = a.sum(axis=a_sum)
        if b_sum:
            b = b.sum(axis=b_sum)
        a3 = (a if a_id else a.transpose(a_perm)).reshape(a3_shape)
        b3 = (b if b_id else b.transpose(b_perm)).reshape(b3_shape)
        r = _reshaped(_matmul3(a3, b3), out_shape)
        return r if identity_out else r.transpose(out_perm)

    return run


def _reshaped(r: np.ndarray, shape: tuple) -> np.ndarray:
    """``r`` itself when it already has ``shape`` (a matmul's result usually
    does): ``reshape`` would make a view, and ``engine.compute`` copies every
    view it hands out as a gradient (512 KB per weight of a 256-wide MLP)."""
    return r if r.shape == shape else r.reshape(shape)


_TINY32 = np.float32(np.finfo(np.float32).tiny)


def flush32(a: Any) -> Any:
    """``a`` with float32 subnormals replaced by zeros of their sign (TF's
    flush-to-zero); ``a`` itself when it has none."""
    if getattr(a, "dtype", None) != np.float32:
        return a
    small = np.abs(a) < _TINY32
    if not small.any():
        return a
    return np.where(small, np.copysign(np.float32(0), a), a)


def _flushing(f: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    return lambda *xs: flush32(f(*xs))


def _bind(f: Callable[..., np.ndarray], attrs: tuple) -> Callable[..., np.ndarray]:
    if not attrs:
        return f
    return lambda *xs: f(*xs, *attrs)


def compile_node(n: Node) -> Callable[..., np.ndarray]:
    """The NumPy callable that computes ``n`` from its operands' values."""
    t = type(n)
    if t is Ew:
        return _bind(FUNCS[n.fn].np, n.attrs)
    if t is Contract:
        return _compile_contract(n)
    if t is Reduce:
        if n.kind == "sum":
            return sum_kernel(n.args[0].shape, n.axes)
        f = REDUCTIONS[n.kind][0]
        axes = n.axes
        return lambda x: f(x, axes)
    if t is Move or t is Kernel:
        return _bind(MOVES[n.kind].np, n.attrs)
    if t is Fill:
        value = np.broadcast_to(np.asarray(n.value, dtype=n.dtype), n.shape)
        return lambda: value
    raise TypeError(f"no kernel for {type(n).__name__}")


class Plan:
    """A flat evaluation plan for ``roots`` (see the module doc).

    ``steps`` are ``(fn, input slots, output slot, slots to release)`` in
    the order of ``tensor.walk(roots)`` (operands first); ``leaves`` are
    ``(slot, name, dtype, shape)`` of the named leaves."""

    def __init__(self, roots: Sequence[Node]) -> None:
        # tensor.walk's post-order (marked_walk), fused with the slot numbering
        # and the compilation of each node: a node's operands have their slots
        # when it is finished, so its step is made then, and its operands'
        # last uses are recorded. A finished node's slot is its ``_mark``: no
        # dict keyed by id(). The steps are parallel lists, not a record each (the
        # first two input slots as ints, the inputs of a step with more or
        # none in ``nary``), and the releases are filled in by one pass over
        # the last uses: on deep graphs this constructor's per-node cost and
        # memory are most of evaluate's, so the common case (an elementwise
        # node without attributes) is compiled inline.
        gen = object()
        order: list[Node] = []
        last_use: list[int] = []
        leaves: list[tuple[int, str, str, tuple]] = []
        fns: list[Callable[..., np.ndarray]] = []
        in_a: list[int] = []  # first input slot (-1: see nary)
        in_b: list[int] = []  # second input slot (-1: one input)
        nary: dict[int, tuple[int, ...]] = {}  # output slot -> inputs, for 0 or 3+ inputs
        outs: list[int] = []
        order_append, last_append = order.append, last_use.append
        fns_append, a_append, b_append, outs_append = fns.append, in_a.append, in_b.append, outs.append
        ew_np = field_table("np")
        fills: dict[tuple, Callable[[], np.ndarray]] = {}
        for node in marked_walk(roots, gen):
            pos = len(order)
            node._mark = pos
            order_append(node)
            last_append(-1)
            t = type(node)
            if t is Tensor:
                leaves.append((pos, node.name, node.dtype, node.shape))
                continue
            args = node._args
            n_args = len(args)
            if n_args == 1:
                j = args[0]._mark
                last_use[j] = pos
                a_append(j)
                b_append(-1)
            elif n_args == 2:
                j, k = args[0]._mark, args[1]._mark
                last_use[j] = last_use[k] = pos
                a_append(j)
                b_append(k)
            else:
                ins = tuple([a._mark for a in args])
                for j in ins:
                    last_use[j] = pos
                nary[pos] = ins
                a_append(-1)
                b_append(-1)
            if t is Ew and not node.attrs:
                fn = ew_np[node.fn]
            elif t is Fill:
                # fills of one value, dtype and shape (a VJP's constants,
                # one per use) share one kernel and one read-only array
                # (-0.0 == 0.0, so the sign is part of the key)
                v = node.value
                key = (v, v == 0 and math.copysign(1.0, v) < 0, node.dtype, node.shape)
                fn = fills.get(key)
                if fn is None:
                    fn = fills[key] = compile_node(node)
            else:
                fn = compile_node(node)
            if node.dtype == "float32" and t is not Move and t is not Fill:
                fn = _flushing(fn)
            fns_append(fn)
            outs_append(pos)
        self.order = order  # slot -> node: names the node of a kernel's run-time error
        self.roots = [r._mark for r in roots]
        for r in self.roots:  # the roots are the result: never released
            last_use[r] = -1
        # each value is dropped after the step of its last use (a leaf too:
        # its array stays in the caller's env). slot -> the first slot its
        # step drops (-1: none), and the others in ``more``: an int per step,
        # not a tuple.
        rel = [-1] * len(order)
        more: dict[int, list[int]] = {}
        for node, p in zip(order, last_use):
            if p >= 0:
                if rel[p] < 0:
                    rel[p] = node._mark
                elif p in more:
                    more[p].append(node._mark)
                else:
                    more[p] = [node._mark]
        self.leaves = leaves
        self._fns, self._a, self._b, self._nary, self._outs = fns, in_a, in_b, nary, outs
        self._rel, self._more = rel, more
        self.size = len(order)

    @property
    def steps(self) -> list[tuple[Callable[..., np.ndarray], tuple[int, ...], int, tuple[int, ...]]]:
        """``(fn, input slots, output slot, slots released after it)`` per step."""
        return [(f, self._nary[o] if a < 0 else (a,) if b < 0 else (a, b), o, self._released(o))
                for f, a, b, o in zip(self._fns, self._a, self._b, self._outs)]

    def _released(self, out: int) -> tuple[int, ...]:
        first = self._rel[out]
        return () if first < 0 else (first, *self._more.get(out, ()))

    def run(self, env: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The roots' values (arrays of each root's shape and dtype)."""
        vals: list[Any] = [None] * self.size
        for s, name, dtype, shape in self.leaves:
            v = env[name]
            if v.dtype != dtype:
                v = v.astype(dtype)
            vals[s] = flush32(v) if dtype == "float32" else v
        rel, more, nary = self._rel, self._more, self._nary
        out = -1
        try:
            with np.errstate(all="ignore"):
                for fn, a, b, out in zip(self._fns, self._a, self._b, self._outs):
                    if b >= 0:
                        vals[out] = fn(vals[a], vals[b])
                    elif a >= 0:
                        vals[out] = fn(vals[a])
                    else:
                        vals[out] = fn(*[vals[i] for i in nary[out]])
                    r = rel[out]
                    if r >= 0:
                        vals[r] = None
                        if out in more:
                            for r in more[out]:
                                vals[r] = None
        except GraphError as e:
            # a kernel's run-time error (TF's InvalidArgumentError: a singular
            # matrix, an index out of range): Lowered.evaluate locates it at
            # the op that built this node
            if getattr(e, "node", None) is None and out >= 0:
                e.node = self.order[out]
            raise
        return [vals[r] for r in self.roots]


def evaluate(roots: Sequence[Node], env: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Evaluate ``roots`` once (see ``Plan``)."""
    return Plan(roots).run(env)
