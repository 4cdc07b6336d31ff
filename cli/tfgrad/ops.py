"""The op table's symbolic side: shape rules, forward expressions, TF's VJPs.

Input: an op node's argument expressions and shapes (``Call``). Output: the
node's shape (``OPS[name].shape``), its forward matrix expression
(``.forward``) and, for each argument, the cotangent contribution
(``.vjp``) — TensorFlow's gradient function for that op, transcribed from
``tensorflow/python/ops/math_grad.py``/``nn_grad.py`` so that the numbers
agree at the awkward points too (relu'(0) = 0, abs'(0) = 0, ties to the first
argument of maximum/minimum, pow's log masked to x > 0, sqrt'(0) = inf).

Elementwise binary ops return cotangents of the *output's* shape; the sweep
in ``symbolic.py`` sums them back to each input's shape in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sympy import Basic, Integer, Number, Rational

from . import mexpr as m
from .graph import GraphError, Node, Pos, Shape
from .opspec import SPECS


def to2(shape: Shape) -> m.Shape2:
    """The 2-D matrix shape that stands for a NumPy shape of rank 0-2."""
    n = len(shape)
    if n == 2:
        return shape  # type: ignore[return-value]
    return (1, 1) if n == 0 else (1, shape[0])


class Call:
    """One application of an op, as the rules see it."""

    # A plain slotted class with caches made on first use: derive makes one
    # per op, and most ops never need the caches.
    __slots__ = ("node", "args", "shapes", "attrs", "out_shape", "out2", "out", "_b", "_m")

    def __init__(self, node: Node, args: list[Basic], shapes: list[Shape],
                 attrs: dict[str, Any] | None = None) -> None:
        self.node = node
        self.args = args
        self.shapes = shapes
        self.attrs: dict[str, Any] = attrs if attrs is not None else {}
        self.out_shape: Shape = ()
        self.out2: m.Shape2 = (1, 1)  # set with out_shape, by ``set_shape``
        self.out: Basic | None = None
        self._b: dict[int, Basic] | None = None
        self._m: dict[int, Basic] | None = None

    def set_shape(self, shape: Shape) -> None:
        self.out_shape = shape
        self.out2 = to2(shape)

    def m(self, i: int) -> Basic:
        """Argument i as a matrix (a number becomes ``c⋅𝟙``), one node shared
        by the forward pass and the VJPs."""
        a = self.args[i]
        if not isinstance(a, Number):
            return a
        if self._m is None:
            self._m = {}
        if i not in self._m:
            self._m[i] = m.as_matrix(a, to2(self.shapes[i]))
        return self._m[i]

    def b(self, i: int) -> Basic:
        """Argument i broadcast to the output's shape (numbers stay numbers)."""
        # Cached so that the forward pass and every VJP share one node.
        if self._b is None:
            self._b = {}
        elif i in self._b:
            return self._b[i]
        a = self.args[i]
        self._b[i] = a if isinstance(a, Number) else m.broadcast(a, to2(self.shapes[i]), self.out2)
        return self._b[i]

    def error(self, message: str, arg: int | None = None) -> GraphError:
        pos: Pos = self.node.pos
        if arg is not None and arg < len(self.node.arg_pos):
            pos = self.node.arg_pos[arg]
        return GraphError(message, pos)


@dataclass(frozen=True)
class Op:
    name: str
    shape: Callable[[Call], Shape]
    forward: Callable[[Call], Basic]
    vjp: Callable[[Call, Basic, int], Basic] | None  # None: no gradient (stop_gradient)
    rule: str  # the VJP as a person writes it, for `explain --steps`
    elementwise: bool = False  # cotangents come back in the output's shape


# ---------------------------------------------------------------- shape rules


def _fmt(shape: Shape) -> str:
    return "()" if not shape else "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def broadcast_shapes(c: Call) -> Shape:
    """NumPy's rule over ranks 0-2, with an error naming both shapes."""
    sx, sy = c.shapes
    if sx == sy:
        return sx
    n = max(len(sx), len(sy))
    px = (1,) * (n - len(sx)) + sx
    py = (1,) * (n - len(sy)) + sy
    out = []
    for dx, dy in zip(px, py):
        if dx != dy and 1 not in (dx, dy):
            raise c.error(
                f"{c.node.op}: shapes {_fmt(sx)} and {_fmt(sy)} do not broadcast "
                f"(dimension {dx} vs {dy}; each pair must be equal or one of them 1)"
            )
        out.append(max(dx, dy) if 1 in (dx, dy) else dx)
    return tuple(out)


def _same(c: Call) -> Shape:
    return c.shapes[0]


def _matmul_shape(c: Call) -> Shape:
    sa, sb = c.shapes
    for i, s in enumerate((sa, sb)):
        if len(s) != 2:
            raise c.error(
                f"matmul: argument {'ab'[i]} has shape {_fmt(s)} (rank {len(s)}); "
                "matmul takes rank-2 tensors (write a row as [[1, 2]])",
                i,
            )
    ra, ka = (sa[1], sa[0]) if c.attrs.get("transpose_a") else sa
    kb, cb = (sb[1], sb[0]) if c.attrs.get("transpose_b") else sb
    if ka != kb:
        ta = "ᵀ" if c.attrs.get("transpose_a") else ""
        tb = "ᵀ" if c.attrs.get("transpose_b") else ""
        raise c.error(
            f"matmul: inner dimensions differ: a{ta} is {ra}x{ka} and b{tb} is {kb}x{cb} "
            f"(shapes {_fmt(sa)} and {_fmt(sb)}); a's columns must equal b's rows"
        )
    return (ra, cb)


def _transpose_shape(c: Call) -> Shape:
    return tuple(reversed(c.shapes[0]))


def _axis(c: Call) -> int | None:
    """The reduced axis of the 2-D form (0 rows, 1 columns), None for all."""
    axis = c.attrs.get("axis")
    rank = len(c.shapes[0])
    if axis is None:
        return None
    if not -rank <= axis < rank:
        raise GraphError(
            f"{c.node.op}: axis {axis} is out of range for a tensor of rank {rank} "
            f"(shape {_fmt(c.shapes[0])}); valid axes: "
            + (", ".join(str(a) for a in range(-rank, rank)) if rank else "only null"),
            c.node.attr_pos.get("axis", c.node.pos),
        )
    return 1 if rank == 1 else axis % 2


def _reduce_shape(c: Call) -> Shape:
    s = c.shapes[0]
    axis = c.attrs.get("axis")
    keep = c.attrs.get("keepdims", False)
    _axis(c)
    if axis is None:
        return (1,) * len(s) if keep else ()
    a = axis % len(s)
    if keep:
        return tuple(1 if i == a else d for i, d in enumerate(s))
    return tuple(d for i, d in enumerate(s) if i != a)


def _add_n_shape(c: Call) -> Shape:
    first = c.shapes[0]
    for i, s in enumerate(c.shapes[1:], 1):
        if s != first:
            raise c.error(
                f"add_n: argument {i + 1} has shape {_fmt(s)} but argument 1 has "
                f"{_fmt(first)}; add_n takes tensors of one shape (use add to broadcast)",
                i,
            )
    return first


# ---------------------------------------------------------------- forwards


def _args2(c: Call) -> tuple[Basic, Basic]:
    """Both arguments broadcast; when both are numbers, the first becomes a
    matrix so that the result is one."""
    x, y = c.b(0), c.b(1)
    if m.is_num(x) and m.is_num(y):
        x = m.as_matrix(x, c.out2)
    return x, y


def _fw_add(c: Call) -> Basic:
    x, y = _args2(c)
    return m.add(m.as_matrix(x, c.out2), m.as_matrix(y, c.out2))


def _fw_subtract(c: Call) -> Basic:
    x, y = _args2(c)
    return m.add(m.as_matrix(x, c.out2), m.as_matrix(m.neg(y), c.out2))


def _fw_multiply(c: Call) -> Basic:
    x, y = _args2(c)
    return m.hadamard(x, y)


def _fw_ew2(name: str) -> Callable[[Call], Basic]:
    def fw(c: Call) -> Basic:
        return m.ew(name, *_args2(c))

    return fw


def _fw_ew1(name: str) -> Callable[[Call], Basic]:
    def fw(c: Call) -> Basic:
        return m.ew(name, c.m(0))

    return fw


def _fw_matmul(c: Call) -> Basic:
    a, b = c.m(0), c.m(1)
    if c.attrs.get("transpose_a"):
        a = m.transpose(a)
    if c.attrs.get("transpose_b"):
        b = m.transpose(b)
    return m.new(m.MatMul, a, b)


def _fw_transpose(c: Call) -> Basic:
    x = c.m(0)
    return m.transpose(x) if len(c.shapes[0]) == 2 else m.ident(x)


def _sum_parts(c: Call) -> tuple[m.Shape2, m.Shape2]:
    """(2-D shape of the sum with dims kept, 2-D shape of the result)."""
    r, k = to2(c.shapes[0])
    axis = _axis(c)
    kept = (1, 1) if axis is None else ((1, k) if axis == 0 else (r, 1))
    return kept, c.out2


def _fw_reduce_sum(c: Call) -> Basic:
    x = c.m(0)
    kept, out2 = _sum_parts(c)
    s = m.sum_to(x, to2(c.shapes[0]), kept)
    if s is x:
        s = m.ident(x)
    return m.transpose(s) if kept != out2 else s


def _count(c: Call) -> int:
    n = 1
    for d in c.shapes[0]:
        n *= d
    for d in c.out_shape:
        n //= d
    return n


def _fw_reduce_mean(c: Call) -> Basic:
    return m.scale(Rational(1, _count(c)), _fw_reduce_sum(c))


def _fw_add_n(c: Call) -> Basic:
    return m.add(*[c.m(i) for i in range(len(c.args))])


def _fw_negative(c: Call) -> Basic:
    return m.neg(c.m(0))


def _fw_identity(c: Call) -> Basic:
    return m.ident(c.m(0))


# ---------------------------------------------------------------- VJPs


def _vjp_add(c: Call, g: Basic, i: int) -> Basic:
    return g


def _vjp_subtract(c: Call, g: Basic, i: int) -> Basic:
    return g if i == 0 else m.neg(g)


def _vjp_multiply(c: Call, g: Basic, i: int) -> Basic:
    # TF: grad * y for x, x * grad for y.
    return m.hadamard(g, c.b(1)) if i == 0 else m.hadamard(c.b(0), g)


def _vjp_divide(c: Call, g: Basic, i: int) -> Basic:
    x, y = c.b(0), c.b(1)
    if i == 0:
        return m.ew("divide", g, y)
    # TF: grad * ((-x / y) / y), in that order.
    return m.hadamard(g, m.ew("divide", m.ew("divide", m.neg(x), y), y))


def _vjp_minmax(first: str, second: str) -> Callable[[Call, Basic, int], Basic]:
    def vjp(c: Call, g: Basic, i: int) -> Basic:
        # TF's _MaximumMinimumGrad: the mask is computed once and the tie
        # (equality) goes to x.
        return m.hadamard(g, m.ew(first if i == 0 else second, c.b(0), c.b(1)))

    return vjp


def _vjp_pow(c: Call, g: Basic, i: int) -> Basic:
    x, y = c.b(0), c.b(1)
    if i == 0:
        # TF: grad * y * pow(x, y - 1); 0**0 gives 0 * inf = nan, as in TF.
        y1 = y - 1 if m.is_num(y) else m.add(y, m.neg(m.ones(c.out2)))
        return m.hadamard(g, y, m.ew("pow", x, y1))
    # TF: grad * z * where(x > 0, log(x), 0).
    return m.hadamard(g, c.out, m.ew("logpos", x))


def _vjp_negative(c: Call, g: Basic, i: int) -> Basic:
    return m.neg(g)


def _vjp_identity(c: Call, g: Basic, i: int) -> Basic:
    return g


def _vjp_matmul(c: Call, g: Basic, i: int) -> Basic:
    a, b = c.m(0), c.m(1)
    ta, tb = bool(c.attrs.get("transpose_a")), bool(c.attrs.get("transpose_b"))
    t = m.transpose
    # TF's _MatMulGrad, all four cases.
    if not ta and not tb:
        return m.new(m.MatMul, g, t(b)) if i == 0 else m.new(m.MatMul, t(a), g)
    if ta and not tb:
        return m.new(m.MatMul, b, t(g)) if i == 0 else m.new(m.MatMul, a, g)
    if not ta and tb:
        return m.new(m.MatMul, g, b) if i == 0 else m.new(m.MatMul, t(g), a)
    return m.new(m.MatMul, t(b), t(g)) if i == 0 else m.new(m.MatMul, t(g), t(a))


def _vjp_transpose(c: Call, g: Basic, i: int) -> Basic:
    return m.transpose(g) if len(c.shapes[0]) == 2 else g


def _vjp_reduce_sum(c: Call, g: Basic, i: int) -> Basic:
    kept, out2 = _sum_parts(c)
    if kept != out2:
        g = m.transpose(g)
    return m.broadcast(g, kept, to2(c.shapes[0]))


def _vjp_reduce_mean(c: Call, g: Basic, i: int) -> Basic:
    return m.scale(Rational(1, _count(c)), _vjp_reduce_sum(c, g, i))


def _vjp_square(c: Call, g: Basic, i: int) -> Basic:
    return m.hadamard(g, m.scale(Integer(2), c.m(0)))  # TF: grad * (2 * x)


def _vjp_sqrt(c: Call, g: Basic, i: int) -> Basic:
    return m.ew("divide", m.scale(m.half(), g), c.out)  # TF sqrt_grad: 0.5 * dy / y


def _vjp_exp(c: Call, g: Basic, i: int) -> Basic:
    return m.hadamard(g, c.out)


def _vjp_log(c: Call, g: Basic, i: int) -> Basic:
    return m.ew("divide", g, c.m(0))


def _vjp_tanh(c: Call, g: Basic, i: int) -> Basic:
    return m.hadamard(g, m.one_minus(m.hadamard(c.out, c.out), c.out2))  # tanh_grad


def _vjp_sigmoid(c: Call, g: Basic, i: int) -> Basic:
    return m.hadamard(g, c.out, m.one_minus(c.out, c.out2))  # sigmoid_grad


def _vjp_abs(c: Call, g: Basic, i: int) -> Basic:
    return m.hadamard(g, m.ew("sign", c.m(0)))


def _vjp_relu(c: Call, g: Basic, i: int) -> Basic:
    return m.hadamard(g, m.ew("pos", c.m(0)))  # relu_grad: g where x > 0


def _op(name: str, shape, forward, vjp, rule: str, elementwise: bool = False) -> Op:
    assert name in SPECS, name
    return Op(name, shape, forward, vjp, rule, elementwise)


_B = broadcast_shapes
OPS: dict[str, Op] = {
    o.name: o
    for o in [
        _op("add", _B, _fw_add, _vjp_add, "dX += G, dY += G", True),
        _op("subtract", _B, _fw_subtract, _vjp_subtract, "dX += G, dY += −G", True),
        _op("multiply", _B, _fw_multiply, _vjp_multiply, "dX += G∘Y, dY += X∘G", True),
        _op("divide", _B, _fw_ew2("divide"), _vjp_divide, "dX += G⊘Y, dY += G∘(−X⊘Y⊘Y)", True),
        _op("maximum", _B, _fw_ew2("maximum"), _vjp_minmax("ge", "lt"),
            "dX += G∘[X ≥ Y], dY += G∘[X < Y]", True),
        _op("minimum", _B, _fw_ew2("minimum"), _vjp_minmax("le", "gt"),
            "dX += G∘[X ≤ Y], dY += G∘[X > Y]", True),
        _op("pow", _B, _fw_ew2("pow"), _vjp_pow,
            "dX += G∘Y∘X^(Y−1), dY += G∘Z∘log(X)·[X > 0]", True),
        _op("negative", _same, _fw_negative, _vjp_negative, "dX += −G"),
        _op("identity", _same, _fw_identity, _vjp_identity, "dX += G"),
        _op("matmul", _matmul_shape, _fw_matmul, _vjp_matmul, "dA += G·Bᵀ, dB += Aᵀ·G"),
        _op("transpose", _transpose_shape, _fw_transpose, _vjp_transpose, "dX += Gᵀ"),
        _op("reduce_sum", _reduce_shape, _fw_reduce_sum, _vjp_reduce_sum,
            "dX += G broadcast back over the summed axes"),
        _op("reduce_mean", _reduce_shape, _fw_reduce_mean, _vjp_reduce_mean,
            "dX += G/N broadcast back over the averaged axes"),
        _op("square", _same, _fw_ew1("square"), _vjp_square, "dX += G∘(2X)"),
        _op("sqrt", _same, _fw_ew1("sqrt"), _vjp_sqrt, "dX += ½G⊘Z"),
        _op("exp", _same, _fw_ew1("exp"), _vjp_exp, "dX += G∘Z"),
        _op("log", _same, _fw_ew1("log"), _vjp_log, "dX += G⊘X"),
        _op("tanh", _same, _fw_ew1("tanh"), _vjp_tanh, "dX += G∘(1 − Z∘Z)"),
        _op("sigmoid", _same, _fw_ew1("sigmoid"), _vjp_sigmoid, "dX += G∘Z∘(1 − Z)"),
        _op("abs", _same, _fw_ew1("abs"), _vjp_abs, "dX += G∘sign(X)"),
        _op("relu", _same, _fw_ew1("relu"), _vjp_relu, "dX += G∘[X > 0]"),
        _op("add_n", _add_n_shape, _fw_add_n, _vjp_add, "dXᵢ += G"),
        _op("stop_gradient", _same, _fw_ew1("stop_gradient"), None, "no gradient flows"),
    ]
}
assert set(OPS) == set(SPECS)
