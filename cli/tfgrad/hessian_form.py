"""The Hessian as a formula, for ``tfgrad explain --hessian``.

``tf.hessians(ys, xs)`` differentiates the gradient ``g = ∂L/∂x`` (``L`` the
sum of ys) once more. ``higher.hessians`` does it as TF does, one sweep per
entry of ``g``; a formula per entry is unreadable. Here the second sweep runs
once, seeded with a symbolic direction ``u`` of x's shape: it builds the
Hessian-vector product ``H·u`` (TF's ``gradients(g, x, grad_ys=u)``), an
expression linear in ``u``. Its derivative with respect to ``u`` is ``H``
itself, taken rule by rule (``hessian_of``):

- ``u`` gives the identity ``I``; a sum, difference or negation of terms in
  ``u`` gives the same of their derivatives;
- a product ``A∘E`` (A free of u) gives ``diag(A)·J(E)`` (``A·J(E)`` for a
  number A); a quotient ``E⊘A`` gives ``diag(1⊘A)·J(E)``; TF's gradient
  kernels, linear in their cotangent, give ``diag(kernel(𝟙))·J``;
- a contraction (matmul, einsum) gives the same contraction with ``J(E)`` in
  place of E, carrying u's axes through; a sum over axes sums ``J`` over the
  same axes; reshape, transpose and broadcast move ``J``'s leading axes.

Axes of length 1 are dropped on the way (a column ``w`` of shape (2, 1) is
the vector of its 2 elements), so a vector x gives a matrix ``H`` in matrix
notation: for ``reduce_sum(square(X @ w))``, ``2·Xᵀ·X``. A simplification
pass then writes it as a person would: products with 1 and with ``I``
dropped, numbers pulled to the front of a product.

Shapes: the result for x of shape S has shape ``squeeze(S) + squeeze(S)``
(``squeeze``: S without its 1s); its elements are ``tf.hessians``' in the
same row-major order (``reshape`` gives TF's ``S + S``).

Raises ``NoForm`` for an expression outside these rules (a convolution's
second sweep, a slice...): explain then prints ``H·u`` itself.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .autodiff import backprop
from .tensor import (
    Contract, Ew, Fill, Kernel, Move, Node, Reduce, Tensor, broadcast_to, contract, ew, fill,
    reshape, tensor, transpose, walk,
)

DIRECTION = "u"  # the symbolic direction's base name
IDENTITY = "I"

# TF's gradient kernels are linear in their cotangent operand (its index).
_COTANGENT_ARG = {"sqrt_grad": 1, "reciprocal_grad": 1, "tanh_grad": 1, "sigmoid_grad": 1,
                  "rsqrt_grad": 1, "relu_grad": 0, "softsign_grad": 0, "elu_grad": 0,
                  "selu_grad": 0, "leaky_relu_grad": 0}


class NoForm(Exception):
    """The Hessian-vector product uses an expression the rules do not cover."""


def squeeze(shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def _letters(n: int, start: int = 0) -> str:
    pool = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return pool[start: start + n]


class HessianForm:
    """``H`` of one x as an expression node (see the module doc).

    ``hvp``: the product ``H·u`` as the second sweep builds it; ``direction``:
    the leaf ``u`` (squeezed shape); ``node``: ``H`` simplified, or None when
    it has no form (``why`` says which node); ``identity``: the leaf ``I``
    (its value is ``eye``) when ``node`` uses it."""

    def __init__(self, grad: Node, x: Node, names: set[str],
                 literals: dict[str, float] | None = None,
                 identities: dict[tuple, Tensor] | None = None) -> None:
        self.x = x
        self.grad = grad
        self.su = squeeze(x.shape)
        self.n = int(np.prod(self.su)) if self.su else 1
        taken = names  # the caller's set: names given here are taken for the next x
        self.u_name = _fresh(DIRECTION, set(taken))  # each x's own u: the same name
        identities = {} if identities is None else identities
        if self.su not in identities:  # one identity per shape, shared by the xs
            identities[self.su] = tensor(_fresh(IDENTITY, taken), self.su + self.su, x.dtype,
                                         "identity")
        self.i_name = identities[self.su].name
        self.direction = tensor(self.u_name, self.su, x.dtype, "seed")
        self.records: list = []
        seed = reshape(self.direction, tuple(grad.shape))
        (hvp,) = backprop([(grad, seed)], [x],
                          record=lambda n, g, cs: self.records.append((n, g, cs)))
        self.hvp = hvp
        # kind "identity": printers write diag(a)·I as diag(a)
        self.identity = identities[self.su]
        self.uses_identity = False
        self.why: str | None = None
        self.node: Node | None = None
        if hvp is None:
            return
        try:
            raw = self._jac(hvp)
            _LITERALS.clear()
            _LITERALS.update(literals or {})
            _IDENTITIES.clear()
            _IDENTITIES.update(identities)
            _TAKEN.clear()
            _TAKEN.update(taken)
            try:
                self.node = simplify(raw, self.identity)
            finally:
                _LITERALS.clear()
                identities.update(_IDENTITIES)  # new smaller ones, for the next x too
                taken.update(_TAKEN)
                _IDENTITIES.clear()
                _TAKEN.clear()
        except NoForm as e:
            self.why = str(e)
        self.identities = [] if self.node is None else [
            n for n in walk([self.node]) if type(n) is Tensor and n.kind == "identity"]
        self.uses_identity = bool(self.identities)

    def env(self) -> dict[str, np.ndarray]:
        """Values of the identity leaves the form uses (u is never evaluated)."""
        return {t.name: identity_value(t) for t in self.identities}

    # -- J(E) = ∂E/∂u: shape squeeze(E.shape) + squeeze(u) ------------------------------
    def _jac(self, root: Node) -> Node:
        dep: set[int] = set()
        order = walk([root])
        for n in order:
            if n is self.direction or any(id(a) in dep for a in n._args):
                dep.add(id(n))
        if id(root) not in dep:  # H·u free of u: the Hessian is zero (a piecewise-linear graph)
            return fill(0, squeeze(root.shape) + self.su, root.dtype)
        memo: dict[int, Node] = {}
        for n in order:
            if id(n) in dep:
                memo[id(n)] = self._rule(n, dep, memo)
        return memo[id(root)]

    def _coef(self, a: Node, e_shape: tuple) -> Node:
        """A factor free of u, laid out against J's axes: shape
        ``squeeze(e_shape) + (1,)*len(su)`` broadcast to ``squeeze(e_shape) + su``."""
        se = squeeze(e_shape)
        a2 = reshape(a, se) if se != a.shape else a
        if not self.su:
            return a2
        lifted = reshape(a2, se + (1,) * len(self.su))
        return broadcast_to(lifted, se + self.su)

    def _rule(self, n: Node, dep: set[int], memo: dict[int, Node]) -> Node:
        su = self.su
        se = squeeze(n.shape)
        t = type(n)
        if n is self.direction:
            return self.identity if su else fill(1, (), n.dtype)
        args = n._args
        live = [k for k, a in enumerate(args) if id(a) in dep]
        if t is Ew:
            fn = n.fn
            if fn == "identity":
                return memo[id(args[0])]
            if fn in ("add", "subtract"):
                if len(live) != len(args):
                    raise NoForm(f"{fn} of a term free of the direction")
                parts = [memo[id(a)] for a in args]
                return ew(fn, *parts) if len(parts) > 1 else parts[0]
            if fn == "negative":
                return ew("negative", memo[id(args[0])])
            if len(live) != 1:
                raise NoForm(f"{fn} of two terms in the direction")
            k = live[0]
            j = memo[id(args[k])]
            if fn == "multiply":
                return _times(self._coef(args[1 - k], n.shape), j)
            if fn == "divide" and k == 0:
                return ew("divide", j, self._coef(args[1], n.shape))
            linear = _COTANGENT_ARG.get(fn) == k or (
                fn == "select" and k in (1, 2) and _fill_value(args[3 - k]) == 0)
            if linear:
                # linear in that operand, 0 at 0: its value at ones is the factor
                ones_args = list(args)
                ones_args[k] = fill(1, args[k].shape, args[k].dtype)
                factor = ew(fn, *ones_args, attrs=n.attrs)
                return _times(self._coef(factor, n.shape), j)
            raise NoForm(f"the elementwise {fn}")
        if t is Contract:
            if len(live) != 1:
                raise NoForm("a contraction of two factors in the direction")
            k = live[0]
            ins, out = n.subscripts
            used = set("".join(ins) + out)
            extra = "".join(ch for ch in _letters(52) if ch not in used)[: len(su)]
            new_ins, ops = [], []
            for m, (s, a) in enumerate(zip(ins, args)):
                keep = "".join(ch for ch, d in zip(s, a.shape) if d != 1)
                if m == k:
                    new_ins.append(keep + extra)
                    ops.append(memo[id(a)])
                else:
                    new_ins.append(keep)
                    ops.append(reshape(a, squeeze(a.shape)))
            sizes = {ch: d for s, a in zip(ins, args) for ch, d in zip(s, a.shape)}
            new_out = "".join(ch for ch in out if sizes[ch] != 1) + extra
            return contract(",".join(new_ins) + "->" + new_out, *ops)
        if t is Reduce:
            if n.kind != "sum":
                raise NoForm(f"reduce_{n.kind}")
            (a,) = args
            j = memo[id(a)]
            pos = [i for i, d in enumerate(a.shape) if d != 1]
            axes = tuple(pos.index(ax) for ax in n.axes if a.shape[ax] != 1)
            if not axes:
                return reshape(j, se + su)
            return _sum(j, axes)
        if t is Move and not isinstance(n, Kernel):
            (a,) = args[:1]
            j = memo[id(a)]
            if n.kind == "reshape":
                return reshape(j, se + su)
            if n.kind == "transpose":
                (perm,) = n.attrs
                kept = [ax for ax in perm if a.shape[ax] != 1]
                pos = [i for i, d in enumerate(a.shape) if d != 1]
                p = tuple(pos.index(ax) for ax in kept)
                return transpose(j, p + tuple(range(len(p), len(p) + len(su))))
            if n.kind == "broadcast":
                full = (1,) * (n.rank - a.rank) + tuple(a.shape)
                mid = tuple(1 if fa == 1 else d for fa, d in zip(full, n.shape) if d != 1)
                return broadcast_to(reshape(j, mid + su), se + su)
            raise NoForm(f"the movement {n.kind}")
        raise NoForm(f"the kernel {getattr(n, 'kind', type(n).__name__)}")


def _fresh(base: str, taken: set[str]) -> str:
    name = base
    k = 1
    while name in taken:
        k += 1
        name = f"{base}{k}"
    taken.add(name)
    return name


def _times(coef: Node, j: Node) -> Node:
    return ew("multiply", coef, j)


def _sum(j: Node, axes: tuple[int, ...]) -> Node:
    from .tensor import reduce

    return reduce("sum", axes, j)


# ================================================================ simplification


# identities by the shape of one half (shared by the xs of one explanation),
# and the names taken, while simplifying: a partly used identity leaves a smaller one
_IDENTITIES: dict[tuple, Tensor] = {}
_TAKEN: set[str] = set()


def _identity(half: tuple, dtype: str) -> Tensor:
    if half not in _IDENTITIES:
        _IDENTITIES[half] = tensor(_fresh(IDENTITY, _TAKEN), half + half, dtype, "identity")
    return _IDENTITIES[half]


def identity_value(t: Tensor) -> np.ndarray:
    """The value of an identity leaf: 1 where the two halves' indices agree."""
    half = t.shape[: t.rank // 2]
    n = int(np.prod(half)) if half else 1
    return np.eye(n, dtype=t.dtype if t.dtype.startswith("float") else "float64").reshape(t.shape)


# one-element literals by name (``pow(x, 3.0)``'s 3), while simplifying: they
# fold like numbers (3·𝟙 − 𝟙 is 2) without rebuilding the nodes that use them
_LITERALS: dict[str, float] = {}


def _fill_value(n: Node) -> float | None:
    """The number every element of ``n`` is, when ``n`` is a fill (or a
    one-element literal) seen through reshapes and broadcasts."""
    while type(n) is Move and n.kind in ("reshape", "broadcast"):
        n = n._args[0]
    if type(n) is Fill:
        return n.value
    if type(n) is Tensor and n.name in _LITERALS:
        v = _LITERALS[n.name]
        return int(v) if float(v).is_integer() else v
    return None


def _scalar_of(n: Node) -> Node | None:
    """The one-element node a broadcast spreads (``g1`` in ``g1·𝟙``)."""
    while type(n) is Move and n.kind in ("reshape", "broadcast"):
        if n._args[0].size == 1 and type(n._args[0]) is not Fill:
            return reshape(n._args[0], ())
        n = n._args[0]
    return None


def _diag_of(coef: Node, rows: int) -> Node | None:
    """``a`` when ``coef`` is ``a`` (a vector of the rows) broadcast along
    J's direction axes: the product ``coef∘J`` is ``diag(a)·J``."""
    if type(coef) is Move and coef.kind == "broadcast":
        inner = coef._args[0]
        if type(inner) is Move and inner.kind == "reshape" and squeeze(inner.shape) == (rows,) \
                and inner._args[0].rank == 1:
            return inner._args[0]
    return None


_FOLD = {"add": lambda *a: sum(a), "subtract": lambda a, b: a - b, "multiply": lambda a, b: a * b,
         "negative": lambda a: -a}


def _is_literal(n: Node) -> bool:
    """A one-element literal (kept as it is: forward values that use it stay
    the graph's own nodes, printed by their names)."""
    while type(n) is Move and n.kind in ("reshape", "broadcast"):
        n = n._args[0]
    return type(n) is Tensor


def simplify(root: Node, identity: Node) -> Node:
    """``root`` rewritten as a person writes it (see the module doc)."""
    memo: dict[int, Node] = {}
    for n in walk([root]):
        args = tuple(memo.get(id(a), a) for a in n._args)
        memo[id(n)] = _simplify_node(n, args, identity)
    return memo[id(root)]


def _rebuild(n: Node, args: tuple) -> Node:
    from .tensor import with_args

    if all(a is b for a, b in zip(args, n._args)):
        return n
    return with_args(n, args)


def _simplify_node(n: Node, args: tuple, identity: Node) -> Node:
    t = type(n)
    if t is Move and n.kind in ("reshape", "broadcast"):
        v = _fill_value(args[0])
        if v is not None and not _is_literal(args[0]):
            return fill(v, n.shape, n.dtype)
        if n.kind == "reshape" and type(args[0]) is Move and args[0].kind == "reshape":
            return reshape(args[0]._args[0], n.shape)
        return _rebuild(n, args)
    if t is Ew and n.fn == "multiply":
        a, b = args
        va, vb = _fill_value(a), _fill_value(b)
        if va is not None and vb is not None:
            return fill(va * vb, n.shape, n.dtype)
        if va == 1:
            return b
        if vb == 1:
            return a
        # a number times a product: the number joins the product (2·Xᵀ·X)
        for c, other, vc in ((a, b, va), (b, a, vb)):
            s = _scalar_of(c) if vc is None else fill(vc, (), n.dtype)
            if s is not None and type(other) is Contract:
                ins, out = other.subscripts
                c = contract(",".join([""] + ins) + "->" + out, s, *other._args)
                return _contract_simplified(c, c._args, identity)
        # diag(a)·J for a vector a against a matrix J
        if n.rank == 2:
            for c, other in ((a, b), (b, a)):
                d = _diag_of(c, n.shape[0])
                if d is not None:
                    c = contract("a,ab->ab", d, other)
                    return _contract_simplified(c, c._args, identity)
        return _rebuild(n, args)
    if t is Ew and n.fn in _FOLD and all(_fill_value(a) is not None for a in args):
        with np.errstate(all="ignore"):
            v = float(_FOLD[n.fn](*[np.float64(_fill_value(a)) for a in args]))
        if np.isfinite(v):
            return fill(int(v) if v.is_integer() else v, n.shape, n.dtype)
    if t is Ew and n.fn == "pow" and _fill_value(args[1]) == 1:
        return args[0]
    if t is Ew and n.fn == "divide" and n.rank == 2:
        d = _diag_of(args[1], n.shape[0])
        if d is not None:  # J⊘(a·𝟙ᵀ) = diag(𝟙⊘a)·J
            c = contract("a,ab->ab", ew("divide", fill(1, d.shape, d.dtype), d), args[0])
            return _contract_simplified(c, c._args, identity)
    if t is Ew and n.fn == "negative":
        (a,) = args
        v = _fill_value(a)
        if v is not None:
            return fill(-v, n.shape, n.dtype)
        if type(a) is Ew and a.fn == "negative":
            return a._args[0]
        return _rebuild(n, args)
    if t is Contract:
        return _contract_simplified(n, args, identity)
    return _rebuild(n, args)


def _contract_simplified(n: Contract, args: tuple, identity: Node) -> Node:
    out_node = _contract_rules(n, args, identity)
    if type(out_node) is Contract and out_node.spec == n.spec and len(out_node._args) == len(args) \
            and all(a is b for a, b in zip(out_node._args, args)):
        return _rebuild(n, args)  # unchanged: the graph's own node (a forward value keeps its name)
    return out_node


def _contract_rules(n: Contract, args: tuple, identity: Node) -> Node:
    ins, out = n.subscripts
    ins, args = list(ins), list(args)
    changed = True
    while changed:
        changed = False
        for k, (s, a) in enumerate(zip(ins, args)):
            v = _fill_value(a)
            # the identity I[a..,b..] = Π δ(aᵢ,bᵢ): rename one letter of each pair
            # not in the output; the pairs left are a smaller identity
            if type(a) is Tensor and a.kind == "identity" and len(ins) > 1:
                r = len(s) // 2
                pairs = list(zip(s[:r], s[r:]))
                free = [(p, q) for p, q in pairs if p not in out or q not in out]
                left = [(p, q) for p, q in pairs if p in out and q in out]
                if free:
                    rest = ins[:k] + ins[k + 1:]
                    for p, q in free:
                        keep, gone = (p, q) if q not in out else (q, p)
                        rest = [x.replace(gone, keep) for x in rest]
                    sub = "".join(p for p, _ in left) + "".join(q for _, q in left)
                    dims = tuple(a.shape[s.index(p)] for p, _ in left)
                    ok = all(len(set(x)) == len(x) for x in rest) and \
                        set(out) <= set("".join(rest) + sub)
                    if ok:
                        ins, args = rest, args[:k] + args[k + 1:]
                        if left:
                            ins.append(sub)
                            args.append(_identity(dims, a.dtype))
                        changed = True
                        break
            # a negated operand: -1 joins the product
            if type(a) is Ew and a.fn == "negative" and s and len(ins) > 1:
                args[k] = a._args[0]
                ins.append("")
                args.append(fill(-1, (), a.dtype))
                changed = True
                break
            # a number times a tensor as an operand: the number joins the product
            if type(a) is Ew and a.fn == "multiply" and s and len(ins) > 1:
                fa = [_fill_value(b) for b in a._args]
                sc = [_scalar_of(b) for b in a._args]
                for m in (0, 1):
                    num = fill(fa[m], (), a.dtype) if fa[m] is not None else sc[m]
                    if num is not None:
                        ins[k], args[k] = s, a._args[1 - m]
                        ins.append("")
                        args.append(num)
                        changed = True
                        break
                if changed:
                    break
            # a filled operand: its number joins the product, its axes become sums
            if v is not None and s and len(ins) > 1:
                others = "".join(x for j, x in enumerate(ins) if j != k)
                if all(ch in others for ch in s):
                    ins[k], args[k] = "", fill(v, (), a.dtype)
                    changed = True
                    break
            # a number times a product inside: flatten
            if type(a) is Contract and len(ins) > 1 and not s.strip() == "" and \
                    len(set(a.subscripts[1])) == len(a.subscripts[1]) and len(a.subscripts[1]) == len(s):
                inner_ins, inner_out = a.subscripts
                used = set("".join(ins) + out)
                mapping = dict(zip(inner_out, s))
                fresh = (ch for ch in _letters(52) if ch not in used and ch not in s)
                for x in inner_ins:
                    for ch in x:
                        if ch not in mapping:
                            mapping[ch] = next(fresh)
                            used.add(mapping[ch])
                new = ["".join(mapping[ch] for ch in x) for x in inner_ins]
                if any(len(set(x)) != len(x) for x in new):
                    continue
                ins = ins[:k] + new + ins[k + 1:]
                args = args[:k] + list(a._args) + args[k + 1:]
                changed = True
                break
    # numbers: multiply the filled ones together
    nums = [k for k, (s, a) in enumerate(zip(ins, args)) if s == "" and type(a) is Fill]
    if len(nums) > 1:
        v = 1.0
        for k in nums:
            v *= args[k].value
        keep = [k for k in range(len(ins)) if k not in nums]
        ins = [""] + [ins[k] for k in keep]
        args = [fill(v, (), n.dtype)] + [args[k] for k in keep]
    # diag(a)·diag(b)·M = diag(a∘b)·M
    if len(out) == 2:
        for side in (0, 1):
            vec = [k for k, x in enumerate(ins) if x == out[side]]
            if len(vec) > 1 and all(x in ("", out, out[side]) for x in ins):
                prod = args[vec[0]]
                for k in vec[1:]:
                    prod = ew("multiply", prod, args[k])
                keep = [k for k in range(len(ins)) if k not in vec[1:]]
                args[vec[0]] = prod
                ins, args = [ins[k] for k in keep], [args[k] for k in keep]
    order = sorted(range(len(ins)), key=lambda k: 0 if ins[k] == "" else 1)
    ins, args = [ins[k] for k in order], [args[k] for k in order]
    if len(args) == 1 and ins[0] == out:
        return args[0]
    if len(args) == 2 and ins[0] == "" and type(args[0]) is Fill and args[0].value == 1:
        if ins[1] == out:
            return args[1]
        ins, args = ins[1:], args[1:]
    return contract(",".join(ins) + "->" + out, *args)
