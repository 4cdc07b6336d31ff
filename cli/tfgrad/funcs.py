"""Elementwise functions: one table, one entry per function.

Each ``Func`` holds everything about one elementwise function: its NumPy
kernel (with TensorFlow's edge semantics), its VJP as expression nodes (TF's
registered gradient, so that first *and* higher order match TF), its scalar
form as a SymPy expression (for explain's element formulas), its text and
LaTeX templates, its result dtype, its kinks (where ``check`` must not trust
finite differences) and the TF source it follows.

User-facing elementwise ops (``sqrt``, ``maximum``...) are generated from
this table by ``opdefs.elementwise``; TF's gradient kernels (``sqrt_grad``,
``tanh_grad``, ``select``...) live here too, unexposed, because a gradient of
a gradient differentiates them.

Kernels run under ``np.errstate(all="ignore")`` (the evaluator sets it): TF
returns inf and nan silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp

from .tensor import Node, const_like, ew, fill, is_fill, zeros

VjpFn = Callable[[Node, Node], list]


@dataclass(frozen=True)
class Func:
    """An elementwise function.

    ``arity`` is the number of operands (``-1``: one or more). ``np`` maps
    arrays (and the node's ``attrs``) to an array of the same shape.
    ``vjp(node, g)`` returns one cotangent node (or None) per operand, each of
    the operand's shape; ``vjp`` is None only for functions whose result is
    not differentiable (bool or integer results), which ``no_grad`` states.
    ``scalar`` maps SymPy scalars (and attrs) to the SymPy scalar form;
    ``text``/``latex`` are ``str.format`` templates over the operands' texts
    (``{0}``, ``{1}``; ``{args}`` for variadic) with ``prec`` the binding
    strength of the result (higher binds tighter). ``kinks(*arrays)`` gives a
    list of pairs of arrays that are equal exactly where the function is not
    differentiable (``[(x, 0)]`` for relu, ``[(x, y)]`` for maximum), which
    ``check`` tests with a tolerance.
    """

    name: str
    arity: int
    np: Callable[..., np.ndarray]
    vjp: VjpFn | None
    scalar: Callable[..., Any]
    text: str
    latex: str
    doc: str
    tf: str
    prec: int = 100
    out_dtype: str | None = None
    no_grad: bool = False
    kinks: Callable[..., list] | None = None
    kink_note: str = ""
    exposed: bool = False  # generated as a user-facing op of the same name
    smooth_domain: Callable[[np.ndarray], np.ndarray] | None = None  # for tests
    attrs: tuple[str, ...] = field(default=())


FUNCS: dict[str, Func] = {}


def register(f: Func) -> Func:
    if f.name in FUNCS:
        raise ValueError(f"elementwise function {f.name!r} registered twice")
    if f.vjp is None and not f.no_grad:
        raise ValueError(f"elementwise function {f.name!r} has no VJP (set no_grad if intended)")
    FUNCS[f.name] = f
    return f


# -- helpers for VJPs (each builds nodes of the operand's shape) --------------

def _mul(a: Node, b: Node) -> Node:
    return ew("multiply", a, b)


def _neg(a: Node) -> Node:
    return ew("negative", a)


def _select(c: Node, a: Node, b: Node) -> Node:
    return ew("select", c, a, b)


def _zeros_like(x: Node) -> Node:
    return zeros(x.shape, x.dtype)


def _c(x: Node, v: float) -> Node:
    return const_like(x, v)


# -- kernels with TF's edge semantics -----------------------------------------

def _np_add(*xs: np.ndarray) -> np.ndarray:
    if len(xs) == 2:
        return np.add(xs[0], xs[1])
    out = np.add(xs[0], xs[1])
    for x in xs[2:]:
        out += x
    return out


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-|x|) never overflows; both branches are the same function.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _np_sqrt_grad(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    # TF's scalar_sqrt_gradient_op: 0 where dy == 0, else (0.5 * dy) / y.
    return np.where(dy == 0, np.zeros_like(dy), (0.5 * dy) / y)


def _np_reciprocal_grad(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    # TF's scalar_inverse_gradient_op: 0 where dy == 0, else -y * y * dy.
    return np.where(dy == 0, np.zeros_like(dy), -y * y * dy)


def _np_relu_grad(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    # TF's ReluGrad: gradients * (features > 0), a product (inf * 0 is nan).
    return dy * (x > 0).astype(dy.dtype)


def _np_pow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.power(x, y)


# -- the table -----------------------------------------------------------------

def _vjp_add(n: Node, g: Node) -> list:
    return [g] * len(n.args)


register(Func(
    "add", -1, _np_add, _vjp_add, lambda *a: sp.Add(*a, evaluate=False),
    "{args}", r"{args}", "x + y (elementwise, after broadcasting)",
    "math_grad.py _AddGrad / _AddNGrad: the cotangent flows to every operand", prec=10,
))
register(Func(
    "subtract", 2, np.subtract, lambda n, g: [g, _neg(g)],
    lambda a, b: a - b, "{0} - {1}", "{0} - {1}", "x - y",
    "math_grad.py _SubGrad: (G, -G)", prec=10,
))
register(Func(
    "multiply", 2, np.multiply,
    lambda n, g: [_mul(g, n.args[1]), _mul(n.args[0], g)],
    lambda a, b: a * b, "{0}∘{1}", r"{0} \circ {1}", "x * y elementwise",
    "math_grad.py _MulGrad: (G * y, x * G)", prec=20,
))
register(Func(
    "divide", 2, np.true_divide,
    lambda n, g: [
        ew("divide", g, n.args[1]),
        _mul(g, ew("divide", ew("divide", _neg(n.args[0]), n.args[1]), n.args[1])),
    ],
    lambda a, b: a / b, "{0}⊘{1}", r"{0} \oslash {1}", "x / y elementwise",
    "math_grad.py _RealDivGrad: (G / y, G * ((-x / y) / y))", prec=20,
))
register(Func(
    "negative", 1, np.negative, lambda n, g: [_neg(g)], lambda a: -a,
    "-{0}", "-{0}", "-x", "math_grad.py _NegGrad: -G", prec=30,
))
register(Func(
    "identity", 1, lambda x: x, lambda n, g: [g], lambda a: a,
    "{0}", "{0}", "x", "array_grad.py _IdGrad: G",
))
register(Func(
    "stop_gradient", 1, lambda x: x, lambda n, g: [None], lambda a: a,
    "stop_gradient({0})", r"\operatorname{{sg}}({0})", "x forward; no gradient flows through",
    "array_grad.py: StopGradient is not differentiable (None)",
))


def _minmax_vjp(cmp: str) -> VjpFn:
    def vjp(n: Node, g: Node) -> list:
        x, y = n.args
        mask = ew(cmp, x, y)
        z = _zeros_like(g)
        return [_select(mask, g, z), _select(mask, z, g)]
    return vjp


def _tie_kinks(x: np.ndarray, y: np.ndarray) -> list:
    return [(x, y)]


register(Func(
    "maximum", 2, np.maximum, _minmax_vjp("greater_equal"),
    lambda a, b: sp.Max(a, b), "max({0}, {1})", r"\max({0}, {1})",
    "elementwise max; a tie sends the gradient to x",
    "math_grad.py _MaximumGrad: xmask = x >= y; (where(xmask, G, 0), where(xmask, 0, G))",
    kinks=_tie_kinks, kink_note="x == y",
))
register(Func(
    "minimum", 2, np.minimum, _minmax_vjp("less_equal"),
    lambda a, b: sp.Min(a, b), "min({0}, {1})", r"\min({0}, {1})",
    "elementwise min; a tie sends the gradient to x",
    "math_grad.py _MinimumGrad: xmask = x <= y; (where(xmask, G, 0), where(xmask, 0, G))",
    kinks=_tie_kinks, kink_note="x == y",
))


def _vjp_pow(n: Node, g: Node) -> list:
    # TF's _PowGrad: gx = G * y * pow(x, y - 1); gy = G * z * where(x > 0, log(where(x > 0, x, 1)), 0)
    x, y = n.args
    gx = _mul(_mul(g, y), ew("pow", x, ew("subtract", y, _c(y, 1))))
    mask = ew("greater", x, _c(x, 0))
    safe_x = _select(mask, x, _c(x, 1))
    log_x = _select(mask, ew("log", safe_x), _zeros_like(x))
    gy = _mul(_mul(g, n), log_x)
    return [gx, gy]


register(Func(
    "pow", 2, _np_pow, _vjp_pow, lambda a, b: sp.Pow(a, b, evaluate=False),
    "{0}^{1}", "{{{0}}}^{{{1}}}", "x ** y elementwise",
    "math_grad.py _PowGrad: (G * y * x^(y-1), G * z * log(x) where x > 0, else 0)", prec=40,
))
register(Func(
    "square", 1, np.square,
    lambda n, g: [_mul(g, _mul(n.args[0], _c(n.args[0], 2)))],
    lambda a: a**2, "{0}²", "{{{0}}}^{{2}}", "x ** 2",
    "math_grad.py _SquareGrad: G * (x * 2)", prec=40,
))
register(Func(
    "sqrt", 1, np.sqrt, lambda n, g: [ew("sqrt_grad", n, g)], sp.sqrt,
    "√{0}", r"\sqrt{{{0}}}", "square root",
    "math_grad.py _SqrtGrad: SqrtGrad(y, G)", prec=40,
    kinks=lambda x: [(x, 0.0)], kink_note="x == 0",
))
register(Func(
    "sqrt_grad", 2, _np_sqrt_grad,
    # TF's _SqrtGradGrad: ga = G / y; (-ga * s, 0.5 * ga) for s = sqrt_grad(y, dy)
    lambda n, g: (lambda ga: [_mul(_neg(ga), n), _mul(_c(ga, 0.5), ga)])(ew("divide", g, n.args[0])),
    lambda y, dy: sp.Piecewise((0, sp.Eq(dy, 0)), (dy / (2 * y), True)),
    "sqrt_grad({0}, {1})", r"\operatorname{{sqrt\_grad}}({0}, {1})",
    "TF's SqrtGrad kernel: 0 where dy == 0, else dy / (2y)",
    "cwise_ops_gradients.h scalar_sqrt_gradient_op; math_grad.py _SqrtGradGrad",
))
register(Func(
    "exp", 1, np.exp, lambda n, g: [_mul(g, n)], sp.exp,
    "exp({0})", r"e^{{{0}}}", "e ** x", "math_grad.py _ExpGrad: G * y",
))
register(Func(
    "log", 1, np.log, lambda n, g: [_mul(g, ew("reciprocal", n.args[0]))], sp.log,
    "log({0})", r"\log({0})", "natural logarithm",
    "math_grad.py _LogGrad: G * reciprocal(x)",
))
register(Func(
    "reciprocal", 1, np.reciprocal, lambda n, g: [ew("reciprocal_grad", n, g)],
    lambda a: 1 / a, "1⊘{0}", r"\frac{{1}}{{{0}}}", "1 / x",
    "math_grad.py _ReciprocalGrad: ReciprocalGrad(y, G)",
))
register(Func(
    "reciprocal_grad", 2, _np_reciprocal_grad,
    # TF's _ReciprocalGradGrad: (G * -2 * dy * y, ReciprocalGrad(y, G))
    lambda n, g: [
        _mul(_mul(_mul(g, _c(g, -2)), n.args[1]), n.args[0]),
        ew("reciprocal_grad", n.args[0], g),
    ],
    lambda y, dy: sp.Piecewise((0, sp.Eq(dy, 0)), (-y * y * dy, True)),
    "reciprocal_grad({0}, {1})", r"\operatorname{{reciprocal\_grad}}({0}, {1})",
    "TF's ReciprocalGrad kernel: 0 where dy == 0, else -y² dy",
    "cwise_ops_gradients.h scalar_inverse_gradient_op; math_grad.py _ReciprocalGradGrad",
))
register(Func(
    "tanh", 1, np.tanh, lambda n, g: [ew("tanh_grad", n, g)], sp.tanh,
    "tanh({0})", r"\tanh({0})", "hyperbolic tangent", "math_grad.py _TanhGrad: TanhGrad(y, G)",
))
register(Func(
    "tanh_grad", 2, lambda y, dy: dy * (1 - y * y),
    # TF's _TanhGradGrad: (G * -2.0 * dy * y, TanhGrad(y, G))
    lambda n, g: [
        _mul(_mul(_mul(g, _c(g, -2.0)), n.args[1]), n.args[0]),
        ew("tanh_grad", n.args[0], g),
    ],
    lambda y, dy: dy * (1 - y * y), "tanh_grad({0}, {1})", r"\operatorname{{tanh\_grad}}({0}, {1})",
    "TF's TanhGrad kernel: dy * (1 - y²)",
    "cwise_ops_gradients.h scalar_tanh_gradient_op; math_grad.py _TanhGradGrad",
))
register(Func(
    "sigmoid", 1, _np_sigmoid, lambda n, g: [ew("sigmoid_grad", n, g)],
    lambda a: 1 / (1 + sp.exp(-a)), "σ({0})", r"\sigma({0})", "1 / (1 + exp(-x))",
    "math_grad.py _SigmoidGrad: SigmoidGrad(y, G)",
))
register(Func(
    "sigmoid_grad", 2, lambda y, dy: dy * (y * (1 - y)),
    # TF's _SigmoidGradGrad: gb = G * dy; (gb - 2.0 * gb * y, SigmoidGrad(y, G))
    lambda n, g: (lambda gb: [
        ew("subtract", gb, _mul(_mul(_c(gb, 2.0), gb), n.args[0])),
        ew("sigmoid_grad", n.args[0], g),
    ])(_mul(g, n.args[1])),
    lambda y, dy: dy * y * (1 - y), "sigmoid_grad({0}, {1})",
    r"\operatorname{{sigmoid\_grad}}({0}, {1})", "TF's SigmoidGrad kernel: dy * y * (1 - y)",
    "cwise_ops_gradients.h scalar_sigmoid_gradient_op; math_grad.py _SigmoidGradGrad",
))
register(Func(
    "abs", 1, np.abs, lambda n, g: [_mul(g, ew("sign", n.args[0]))], sp.Abs,
    "|{0}|", r"\left|{0}\right|", "|x|; abs'(0) = 0", "math_grad.py _AbsGrad: G * sign(x)",
    kinks=lambda x: [(x, 0.0)], kink_note="x == 0",
))
register(Func(
    "sign", 1, np.sign, lambda n, g: [_zeros_like(n.args[0])], sp.sign,
    "sign({0})", r"\operatorname{{sign}}({0})", "-1, 0 or 1 (nan for nan)",
    "math_grad.py _SignGrad: zeros", kinks=lambda x: [(x, 0.0)], kink_note="x == 0",
))
register(Func(
    "relu", 1, lambda x: np.maximum(x, 0),
    lambda n, g: [ew("relu_grad", g, n)],
    lambda a: sp.Max(a, 0), "relu({0})", r"\operatorname{{relu}}({0})", "max(x, 0); relu'(0) = 0",
    "nn_grad.py _ReluGrad: ReluGrad(G, y)", kinks=lambda x: [(x, 0.0)], kink_note="x == 0",
))
register(Func(
    "relu_grad", 2, _np_relu_grad,
    # TF's _ReluGradGrad: (ReluGrad(G, x), zeros_like(x))
    lambda n, g: [ew("relu_grad", g, n.args[1]), _zeros_like(n.args[1])],
    lambda dy, x: sp.Piecewise((dy, x > 0), (0, True)), "relu_grad({0}, {1})",
    r"\operatorname{{relu\_grad}}({0}, {1})", "TF's ReluGrad kernel: dy * (x > 0)",
    "relu_op_functor.h ReluGrad; nn_grad.py _ReluGradGrad",
))


def _vjp_select(n: Node, g: Node) -> list:
    # TF's _SelectGradV2: (None, where(c, G, 0), where(c, 0, G))
    c = n.args[0]
    z = _zeros_like(g)
    return [None, _select(c, g, z), _select(c, z, g)]


register(Func(
    "select", 3, np.where, _vjp_select,
    lambda c, a, b: sp.Piecewise((a, c), (b, True)),
    "where({0}, {1}, {2})", r"\operatorname{{where}}({0}, {1}, {2})",
    "where(condition, x, y): x where condition is true, else y",
    "array_grad.py _SelectGradV2: (None, where(c, G, 0), where(c, 0, G))",
))


def _cmp(name: str, fn: Callable, sym: str, latex: str, rel: Callable) -> None:
    register(Func(
        name, 2, fn, None, rel, "{0} " + sym + " {1}", "{0} " + latex + " {1}",
        f"x {sym} y elementwise (bool)", "comparisons are not differentiable (None)",
        prec=5, out_dtype="bool", no_grad=True,
    ))


_cmp("greater", np.greater, ">", ">", lambda a, b: sp.Gt(a, b, evaluate=False))
_cmp("greater_equal", np.greater_equal, "≥", r"\geq", lambda a, b: sp.Ge(a, b, evaluate=False))
_cmp("less", np.less, "<", "<", lambda a, b: sp.Lt(a, b, evaluate=False))
_cmp("less_equal", np.less_equal, "≤", r"\leq", lambda a, b: sp.Le(a, b, evaluate=False))
_cmp("equal", np.equal, "=", "=", lambda a, b: sp.Eq(a, b, evaluate=False))
_cmp("not_equal", np.not_equal, "≠", r"\neq", lambda a, b: sp.Ne(a, b, evaluate=False))


EXPOSED_FORMAT1 = (
    "add subtract multiply divide maximum minimum pow negative identity "
    "square sqrt exp log tanh sigmoid abs relu stop_gradient"
).split()
