"""Numeric evaluation of a ``Derivation`` with NumPy.

Input: a ``Derivation`` (matrix expressions over named leaves). Output: an
``Evaluation`` — one float64 array (x's shape) or None per entry of xs, the
seeds, and on demand every node's forward value; and ``objective``, the
weighted sum of the ys with chosen nodes' values replaced, which the
finite-difference check perturbs.

The expression DAG is walked once, iteratively (10,000-deep graphs are
fine), memoizing every node by identity, so shared subexpressions are
computed once and the work equals a hand-written forward+backward pass;
each intermediate value is dropped once its last consumer has run.
``𝟙`` factors in products are broadcasts and sums, never materialised
matrix products, and a broadcast stays one row or column through later
products (``_product``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from typing import Callable

import numpy as np
from sympy import Basic, Number
from sympy.matrices.expressions import (
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixSymbol,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)
from sympy.matrices.immutable import ImmutableDenseMatrix

from .graph import Shape, gc_paused
from .mexpr import Elementwise, Ident
from .mexpr import is_neg as _is_neg
from .symbolic import Derivation


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a large positive number overflows; evaluate each side stably.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _logpos(x: np.ndarray) -> np.ndarray:
    pos = x > 0
    return np.where(pos, np.log(np.where(pos, x, 1.0)), 0.0)


def _mask(f: Callable) -> Callable:
    return lambda *a: f(*a).astype(np.float64)


ELEMENTWISE: dict[str, Callable[..., np.ndarray]] = {
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sign": np.sign,
    "square": np.square,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "stop_gradient": lambda x: x,
    "divide": np.divide,
    "pow": np.power,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "logpos": _logpos,
    "pos": _mask(lambda x: x > 0),
    "ge": _mask(np.greater_equal),
    "gt": _mask(np.greater),
    "le": _mask(np.less_equal),
    "lt": _mask(np.less),
}


def _children(e: Basic) -> list[Basic] | tuple[Basic, ...]:
    """The operands whose values ``_compute`` receives, in order."""
    t = type(e)
    if t is MatMul:
        # ``A⋅Bᵀ`` multiplies by B's transposed view: no separate node visit.
        # Coefficients are read off the node, and ``𝟙`` factors broadcast.
        kids = []
        for a in e._args:
            ta = type(a)
            if ta is Transpose:
                kids.append(a._args[0])
            elif ta is not OneMatrix and not a.is_Number:
                kids.append(a)
        return kids
    if t is Elementwise:
        return e._args[1:]
    if t is MatAdd:
        # ``A + (−1)⋅B`` is computed as A − B, and ``𝟙 + A`` as 1 + A: no
        # separate negation pass, no matrix of ones.
        return [a._args[1] if _is_neg(a) else a for a in e._args if type(a) is not OneMatrix]
    if t is HadamardProduct:
        return [a for a in e._args if type(a) is not OneMatrix]
    if t is Transpose or t is Ident:
        return e._args
    return ()


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b``, where an operand that is a broadcast (a zero stride: equal
    rows or equal columns, as ``𝟙⋅v`` and ``u⋅𝟙ᵀ`` evaluate) is multiplied
    through its one row or column instead of being expanded for BLAS.

    Each rule is the same sum, reassociated: ``(𝟙⋅v)⋅B = 𝟙⋅(v⋅B)`` keeps the
    result a broadcast, so a ``reduce_sum`` cotangent stays one row through
    a chain of products; ``(u⋅𝟙ᵀ)⋅B = u⋅(𝟙ᵀ⋅B)`` and ``A⋅(𝟙⋅v) = (A⋅𝟙)⋅v``
    are sums and an outer product.
    """
    sa, sb = a.strides, b.strides
    if 0 not in sa and 0 not in sb:
        return a @ b
    (m, k), n = a.shape, b.shape[1]
    if m > 1 and sa[0] == 0:
        return np.broadcast_to(_product(a[:1], b), (m, n))
    if n > 1 and sb[1] == 0:
        return np.broadcast_to(_product(a, b[:, :1]), (m, n))
    if k > 1 and sa[1] == 0:
        return a[:, :1] * b.sum(axis=0, keepdims=True)
    if k > 1 and sb[0] == 0:
        return a.sum(axis=1, keepdims=True) * b[:1]
    return a @ b


def _matmul(e: Basic, vals: list, env=None) -> np.ndarray:
    args = e._args
    if len(vals) == 2 and len(args) == 2:
        # The common case, a plain product of two matrices.
        a = vals[0].T if type(args[0]) is Transpose else vals[0]
        b = vals[1].T if type(args[1]) is Transpose else vals[1]
        return _product(a, b)
    # ``𝟙`` factors are kept as a placeholder and become sums and repeats
    # here. (Passing them to ``_product`` as broadcasts of 1.0 gives the same
    # numbers in fewer lines, but costs a small product per bias broadcast:
    # +0.04 on mlp-8's evaluate/NumPy ratio.)
    coeff = 1.0
    acc = None  # an array, or a ("ones", rows, cols) placeholder
    it = iter(vals)
    for f in e._args:
        if f.is_Number:
            coeff *= float(f)
            continue
        if type(f) is OneMatrix:
            p, q = int(f._args[0]), int(f._args[1])
            if acc is None:
                acc = ("ones", p, q)
            elif isinstance(acc, tuple):
                acc = ("ones", acc[1], q)
            else:  # A @ 1(p, q): each row's sum, repeated
                if p == 1:
                    acc = np.broadcast_to(acc, (acc.shape[0], q))
                else:
                    s = acc.sum(axis=1, keepdims=True)
                    acc = s if q == 1 else np.broadcast_to(s, (acc.shape[0], q))
            continue
        v = next(it)
        if type(f) is Transpose:
            v = v.T
        if acc is None:
            acc = v
        elif isinstance(acc, tuple):  # 1(r, p) @ B: each column's sum, repeated
            if v.shape[0] == 1:
                acc = np.broadcast_to(v, (acc[1], v.shape[1]))
            else:
                s = v.sum(axis=0, keepdims=True)
                # (a new array: returned as it is when no repeat is needed)
                acc = s if acc[1] == 1 else np.broadcast_to(s, (acc[1], v.shape[1]))
        else:
            acc = _product(acc, v)
    if isinstance(acc, tuple):
        acc = np.ones((acc[1], acc[2]))
    if acc is None:
        return np.full((1, 1), coeff)
    return acc * coeff if coeff != 1.0 else acc


def _matadd(e: Basic, vals: list, env=None) -> np.ndarray:
    total = None
    it = iter(vals)
    ones = None
    for t in e._args:
        if type(t) is OneMatrix:
            ones = t
            total = 1.0 if total is None else total + 1.0
            continue
        v = next(it)
        if total is None:
            total = -v if _is_neg(t) else v
        elif _is_neg(t):
            total = total - v
        else:
            total = total + v
    if not isinstance(total, np.ndarray):  # only ones were added
        return np.full((int(ones.shape[0]), int(ones.shape[1])), total)
    return total


def _leaf_symbol(e: Basic, vals: list, env: dict[str, np.ndarray]) -> np.ndarray:
    return env[e._args[0].name]


def _leaf_ones(e: Basic, vals: list, env) -> np.ndarray:
    return np.ones((int(e._args[0]), int(e._args[1])))


def _leaf_zeros(e: Basic, vals: list, env) -> np.ndarray:
    return np.zeros((int(e._args[0]), int(e._args[1])))


def _elementwise(e: Basic, vals: list, env=None) -> np.ndarray:
    return ELEMENTWISE[e._args[0].name](*vals)


def _hadamard(e: Basic, vals: list, env=None) -> np.ndarray:
    return vals[0] * vals[1] if len(vals) == 2 else reduce(np.multiply, vals)


def _transpose(e: Basic, vals: list, env=None) -> np.ndarray:
    return vals[0].T


def _same(e: Basic, vals: list, env=None) -> np.ndarray:
    return vals[0]


# Node type -> its NumPy step, called straight from the walk (one call a node).
_DISPATCH: dict[type, Callable] = {
    Elementwise: _elementwise,
    MatMul: _matmul,
    MatAdd: _matadd,
    HadamardProduct: _hadamard,
    Transpose: _transpose,
    Ident: _same,
    MatrixSymbol: _leaf_symbol,
    OneMatrix: _leaf_ones,
    ZeroMatrix: _leaf_zeros,
}


def _compute(e: Basic, vals: list, env: dict[str, np.ndarray]) -> np.ndarray:
    f = _DISPATCH.get(type(e))
    if f is not None:
        return f(e, vals, env)
    if isinstance(e, Number):
        return np.float64(float(e))
    if isinstance(e, ImmutableDenseMatrix):
        return np.array(e.tolist(), dtype=np.float64)
    raise TypeError(f"cannot evaluate {type(e).__name__}")


class Evaluator:
    """A memo over one set of leaf values, and one iterative walk: ``run``
    keeps every value it computed, ``run_all`` only the roots'. Callers set
    ``np.errstate`` (once, around all their runs)."""

    def __init__(self, env: dict[str, np.ndarray], memo: dict[int, np.ndarray] | None = None,
                 compute: Callable = _compute):
        self.env = env
        self.memo: dict[int, np.ndarray] = memo if memo is not None else {}
        self.computed = 0  # node evaluations, for the visits-each-node-once test
        # The per-node backend: NumPy here; ``explain`` passes a SymPy one
        # (explicit matrices of scalar symbols) to the same walk.
        self.compute = compute

    def run(self, root: Basic) -> np.ndarray:
        """The value of ``root``, keeping every value computed on the way."""
        return self._walk([root], release=False)[0]

    def run_all(self, roots: list[Basic]) -> list[np.ndarray]:
        """The values of ``roots``, dropping each intermediate value as soon
        as its last consumer has been computed: memory stays at what a
        hand-written backward pass holds, and freed buffers are reused while
        still in cache."""
        return self._walk(roots, release=True)

    def _walk(self, roots: list[Basic], release: bool) -> list[np.ndarray]:
        memo, env, compute = self.memo, self.env, self.compute
        # Plan: a post-order of the nodes to compute, and how many times each
        # is consumed. Stack entries are nodes to expand, or (node, operands)
        # tuples (never a SymPy node) once their operands are on the way.
        order: list[tuple[Basic, list]] = []
        uses: dict[int, int] = {}
        seen: set[int] = set()
        stack: list = [r for r in reversed(roots) if id(r) not in memo]
        pop, push, see, children = stack.pop, stack.append, seen.add, _children
        while stack:
            e = pop()
            if type(e) is tuple:
                order.append(e)
                continue
            k = id(e)
            if k in seen:
                continue
            see(k)
            kids = children(e)
            push((e, kids))
            for c in kids:
                kc = id(c)
                if kc in memo:
                    continue
                uses[kc] = uses.get(kc, 0) + 1
                # Pushed again even if pending deeper in the stack: it must
                # be computed before this node, which now comes first.
                if kc not in seen:
                    push(c)
        steps = _DISPATCH if compute is _compute else {}
        if not release:
            for e, kids in order:
                memo[id(e)] = steps.get(type(e), compute)(e, [memo[id(c)] for c in kids], env)
        else:
            keep = {id(r) for r in roots}
            for e, kids in order:
                vals = []
                for c in kids:
                    kc = id(c)
                    vals.append(memo[kc])
                    n = uses.get(kc)
                    if n == 1:
                        if kc not in keep:
                            del memo[kc]
                    elif n is not None:
                        uses[kc] = n - 1
                memo[id(e)] = steps.get(type(e), compute)(e, vals, env)
        self.computed += len(order)
        return [memo[id(r)] for r in roots]


def _shaped(a: np.ndarray, shape: Shape, owned: bool = False) -> np.ndarray:
    """``a`` as a float64 array of ``shape`` that the caller may change:
    copied, unless ``owned`` says nothing else holds it (copying every
    gradient was a fifth of an MLP's evaluation)."""
    if owned and type(a) is np.ndarray and a.base is None and a.flags.c_contiguous:
        return a.reshape(shape)
    return np.array(a, dtype=np.float64, order="C").reshape(shape)


@dataclass(eq=False)
class Evaluation:
    derivation: Derivation
    gradients: list[np.ndarray | None]
    seeds: list[np.ndarray]
    integral: list[bool]
    evaluator: Evaluator
    _values: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Every node's forward value (x's shape), computed on first use."""
        if self._values is None:
            d = self.derivation
            with np.errstate(all="ignore"):
                self._values = {
                    n: _shaped(self.evaluator.run(e), d.shapes[n]) for n, e in d.forward.items()
                }
        return self._values


def _seed_env(d: Derivation, ev: Evaluator) -> list[np.ndarray]:
    seeds = []
    for s in d.seeds:
        shape2 = d.shape2(s.y)
        if s.grad_y is not None and s.grad_y.ref is not None:
            v = np.broadcast_to(ev.run(d.forward[s.grad_y.ref]), shape2)
        elif s.grad_y is not None and s.grad_y.value is not None:
            v = d.leaf_values[s.symbol.name]
        else:
            v = np.ones(shape2)
        ev.env[s.symbol.name] = v
        seeds.append(_shaped(v, d.shapes[s.y]))
    return seeds


def evaluate(d: Derivation) -> Evaluation:
    """Every gradient of ``d`` as NumPy arrays (None where unconnected)."""
    # TF returns inf/nan silently; so do we. (Set once here, not per root:
    # entering errstate costs microseconds, and an MLP has hundreds of xs.)
    with gc_paused(), np.errstate(all="ignore"):
        return _evaluate(d)


def _leaf_memo(d: Derivation, env: dict[str, np.ndarray]) -> dict[int, np.ndarray]:
    """The values of the named leaves, keyed as the walk looks them up, so
    that it never visits them."""
    memo = {id(d.forward[node]): env[sym] for sym, node in d.leaf_names.items()}
    memo.update((id(s.symbol), env[s.symbol.name]) for s in d.seeds if s.symbol.name in env)
    return memo


def _evaluate(d: Derivation) -> Evaluation:
    ev = Evaluator(dict(d.leaf_values))
    seeds = _seed_env(d, ev)
    ev.memo.update(_leaf_memo(d, ev.env))
    grads: list[np.ndarray | None] = []
    integral: list[bool] = []
    # Arrays the evaluator computed belong to no one else, except the
    # inputs themselves and a gradient returned twice (duplicate xs).
    taken = {id(v) for v in ev.env.values()}
    roots = [g for g in d.gradients if g is not None]
    values = iter(ev.run_all(roots))
    for x, g in zip(d.graph.xs, d.gradients):
        if g is None:
            grads.append(None)
            integral.append(False)
            continue
        r = next(values)
        a = _shaped(r, d.shapes[x.name], owned=id(r) not in taken)
        taken.add(id(r))
        grads.append(a)
        integral.append(
            d.integral and bool(np.all(np.isfinite(a))) and bool(np.all(a == np.round(a)))
        )
    return Evaluation(d, grads, seeds, integral, ev)


def objective(d: Derivation, replace: dict[str, np.ndarray], seeds: list[np.ndarray]) -> float:
    """``sum_i sum(seeds[i] * ys[i])`` with the named nodes' values replaced
    (their inputs ignored) — the function whose gradient ``tf.gradients``
    returns, for finite differences."""
    env = dict(d.leaf_values)
    memo = _leaf_memo(d, env)
    memo.update(
        (id(d.forward[name]), np.asarray(v, dtype=np.float64).reshape(d.shape2(name)))
        for name, v in replace.items()
    )
    ev = Evaluator(env, memo)
    total = 0.0
    with np.errstate(all="ignore"):
        for y, s in zip(d.graph.ys, seeds):
            total += float(np.sum(np.asarray(s).reshape(d.shape2(y.name)) * ev.run(d.forward[y.name])))
    return total
