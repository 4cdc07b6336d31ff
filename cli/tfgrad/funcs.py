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

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp

from . import tensor as _tensor
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
    ``check`` tests with a tolerance. ``vjp_parts``, where given, has one
    function ``(node, g) -> cotangent`` per operand, each the matching entry
    of ``vjp``'s list: the sweep calls only those of operands that lead to
    some x, as TF's ``skip_input_indices`` skips the others (``x * a`` with
    ``a`` a constant builds no ``g * x``); ``vjp`` is then built from them.
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
    dtype_from: int = 0  # without out_dtype, the result has this operand's dtype
    no_grad: bool = False
    kinks: Callable[..., list] | None = None
    kink_note: str = ""
    exposed: bool = False  # generated as a user-facing op of the same name
    # (for tests) maps standard-normal samples to points where the function is
    # smooth and well-conditioned, for finite-difference checks
    smooth_domain: Callable[[np.ndarray], np.ndarray] | None = None
    attrs: tuple[str, ...] = field(default=())
    vjp_parts: tuple[Callable[[Node, Node], Node | None], ...] = field(default=())


# the dict tensor.ew reads (one object: ew then needs no import per call)
FUNCS: dict[str, Func] = _tensor._FUNCS

_FIELD_TABLES: dict[str, dict[str, Any]] = {}


def field_table(field: str) -> dict[str, Any]:
    """``{name: getattr(FUNCS[name], field)}`` (``"np"``: the kernels,
    ``"vjp"``: the VJPs), for the loops over every node of a deep graph,
    where a dict lookup beats the attribute of a record; rebuilt when a
    function was registered since (op families register theirs on import)."""
    table = _FIELD_TABLES.setdefault(field, {})
    if len(table) != len(FUNCS):
        table.clear()
        table.update({name: getattr(f, field) for name, f in FUNCS.items()})
    return table


def register(f: Func) -> Func:
    if f.name in FUNCS:
        raise ValueError(f"elementwise function {f.name!r} registered twice")
    if f.vjp_parts:
        if f.vjp is not None or len(f.vjp_parts) != f.arity:
            raise ValueError(f"elementwise function {f.name!r}: vjp_parts replaces vjp, one per operand")
        parts = f.vjp_parts
        f = dataclasses.replace(f, vjp=lambda n, g: [p(n, g) for p in parts])
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
    # Eigen's scalar_logistic_op, 1 / (1 + exp(-x)): three NumPy calls (a
    # branch on the sign costs six more, each as dear as the exp on the small
    # tensors of deep graphs). exp(-x) overflows to inf for x < -709 (float64)
    # or -88 (float32), giving 1 / inf = 0, the limit; the overflow warning is
    # silenced by the plan's errstate.
    return 1 / (1 + np.exp(-x))


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
    "subtract", 2, np.subtract, None,
    lambda a, b: a - b, "{0} - {1}", "{0} - {1}", "x - y",
    "math_grad.py _SubGrad: (G, -G)", prec=10,
    vjp_parts=(lambda n, g: g, lambda n, g: _neg(g)),
))
register(Func(
    "multiply", 2, np.multiply, None,
    lambda a, b: a * b, "{0}∘{1}", r"{0} \circ {1}", "x * y elementwise",
    "math_grad.py _MulGrad: (G * y, x * G)", prec=20,
    vjp_parts=(lambda n, g: _mul(g, n.args[1]), lambda n, g: _mul(n.args[0], g)),
))
register(Func(
    "divide", 2, np.true_divide, None,
    lambda a, b: a / b, "{0}⊘{1}", r"{0} \oslash {1}", "x / y elementwise",
    "math_grad.py _RealDivGrad: (G / y, G * ((-x / y) / y))", prec=20,
    vjp_parts=(
        lambda n, g: ew("divide", g, n.args[1]),
        lambda n, g: _mul(g, ew("divide", ew("divide", _neg(n.args[0]), n.args[1]), n.args[1])),
    ),
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
    "math_grad.py _ReciprocalGrad: ReciprocalGrad(y, G)", prec=20,
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
_TANH_CLAMP = {np.dtype(np.float32): 7.90531110763549805, np.dtype(np.float64): 17.6610191624600077}


# c², a little under: x² is rounded in x's dtype (and so is the sum), so an
# |x| just over c could square to just under c²; values that near the clamp
# take the exact path
_TANH_CLAMP2 = {dt: c * c * (1 - 1e-5) for dt, c in _TANH_CLAMP.items()}


def _np_tanh(x: np.ndarray) -> np.ndarray:
    # TF's Tanh kernel is Eigen's rational approximation (ptanh_double /
    # ptanh_float, a few ulps), exactly ±1 beyond the clamp where it reaches 1;
    # NumPy's tanh is not yet 1 there (float32 tanh(8) is 0.99999976), which
    # shows through 1 - y² in the gradient. The clamp is matched, not the ulps.
    # One NumPy call decides whether the clamp can apply: Σx² < c² means every
    # |x| < c (a nan, an inf or an overflow of the sum takes the slow path,
    # which is exact). On the deep thin graphs each call costs as much as the
    # tanh itself: abs + compare + any were three calls, np.vdot one but
    # three times a flat ndarray.dot's cost on small tensors.
    if type(x) is not np.ndarray:
        x = np.asarray(x)
    y = np.tanh(x)
    c2 = _TANH_CLAMP2.get(x.dtype)
    if c2 is not None:
        flat = x if x.ndim == 1 else x.reshape(-1)
        if not flat.dot(flat) < c2:
            c = _TANH_CLAMP[x.dtype]
            return np.where(np.abs(x) >= c, np.sign(x), y)
    return y if type(y) is np.ndarray else np.asarray(y)


register(Func(
    "tanh", 1, _np_tanh, lambda n, g: [ew("tanh_grad", n, g)], sp.tanh,
    "tanh({0})", r"\tanh({0})", "hyperbolic tangent", "math_grad.py _TanhGrad: TanhGrad(y, G)",
))
register(Func(
    # (1.0, not 1: a Python int operand costs NumPy a conversion per call)
    "tanh_grad", 2, lambda y, dy: dy * (1.0 - y * y),
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
    dtype_from=1,
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


# -- issue 11: elementwise math, activations, logic ---------------------------------
#
# Each rule below is TF 2.21's registered gradient, built from the same ops in
# the same order (math_grad.py / nn_grad.py), so that a gradient of a gradient
# differentiates what TF differentiates. Forward kernels follow TF's C++
# functors (cwise_ops.h, relu_op_functor.h, softplus_op.h) at their edges.

def _sub(a: Node, b: Node) -> Node:
    return ew("subtract", a, b)


def _addn(a: Node, b: Node) -> Node:
    return ew("add", a, b)


def _div(a: Node, b: Node) -> Node:
    return ew("divide", a, b)


def _recip(a: Node) -> Node:
    return ew("reciprocal", a)


def _square(a: Node) -> Node:
    return ew("square", a)


def _ufunc(f: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy kernel from a scalar ``math`` function (erf, erfc: NumPy has
    none), keeping the input's dtype."""
    uf = np.frompyfunc(f, 1, 1)

    def run(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return np.asarray(uf(x), dtype=np.float64).astype(x.dtype, copy=False)

    return run


def _gaussian(x: np.ndarray) -> np.ndarray:
    return x


def _open_unit(x: np.ndarray) -> np.ndarray:  # (-1, 1), away from the ends
    return np.tanh(x) * 0.9


def _positive(x: np.ndarray) -> np.ndarray:
    return np.abs(x) + 0.2


def _above_one(x: np.ndarray) -> np.ndarray:
    return np.abs(x) + 1.2


def _away_from(*points: float, gap: float = 0.1) -> Callable[[np.ndarray], np.ndarray]:
    """Samples pushed at least ``gap`` away from each kink in ``points``."""
    def f(x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float)
        for p in points:
            d = x - p
            x = np.where(np.abs(d) < gap, p + np.where(d < 0, -gap, gap), x)
        return x
    return f


def _unary(name: str, np_fn, vjp, scalar, text: str, latex: str, doc: str, tf: str, **kw) -> Func:
    return register(Func(name, 1, np_fn, vjp, scalar, text, latex, doc, tf, **kw))


def _fn_text(name: str) -> tuple[str, str]:
    return name + "({0})", r"\operatorname{{" + name.replace("_", r"\_") + "}}({0})"


# -- smooth unary math ---------------------------------------------------------------

_unary("expm1", np.expm1, lambda n, g: [_mul(g, ew("exp", n.args[0]))],
       lambda a: sp.exp(a) - 1, "expm1({0})", r"e^{{{0}}} - 1", "exp(x) - 1, accurate near 0",
       "math_grad.py _Expm1Grad: G * exp(x)", smooth_domain=_gaussian)
_unary("log1p", np.log1p,
       lambda n, g: [_mul(g, _recip(_addn(_c(n.args[0], 1), n.args[0])))],
       lambda a: sp.log(1 + a), "log1p({0})", r"\log(1 + {0})", "log(1 + x), accurate near 0",
       "math_grad.py _Log1pGrad: G * reciprocal(1 + x)", smooth_domain=lambda x: np.abs(x) - 0.8)
_unary("sin", np.sin, lambda n, g: [_mul(g, ew("cos", n.args[0]))], sp.sin,
       "sin({0})", r"\sin({0})", "sine", "math_grad.py _SinGrad: G * cos(x)",
       smooth_domain=_gaussian)
_unary("cos", np.cos, lambda n, g: [_mul(_neg(g), ew("sin", n.args[0]))], sp.cos,
       "cos({0})", r"\cos({0})", "cosine", "math_grad.py _CosGrad: -G * sin(x)",
       smooth_domain=_gaussian)
_unary("tan", np.tan, lambda n, g: [_mul(_square(_recip(ew("cos", n.args[0]))), g)], sp.tan,
       "tan({0})", r"\tan({0})", "tangent",
       "math_grad.py _TanGrad: square(reciprocal(cos(x))) * G", smooth_domain=_open_unit)


def _inv_sqrt_one_minus_sq(x: Node) -> Node:
    # TF: reciprocal(sqrt(1 - square(x)))
    return _recip(ew("sqrt", _sub(_c(x, 1), _square(x))))


_unary("asin", np.arcsin, lambda n, g: [_mul(g, _inv_sqrt_one_minus_sq(n.args[0]))], sp.asin,
       "asin({0})", r"\arcsin({0})", "inverse sine (nan outside [-1, 1])",
       "math_grad.py _AsinGrad: G * reciprocal(sqrt(1 - square(x)))",
       kinks=lambda x: [(np.abs(x), 1.0)], kink_note="|x| == 1", smooth_domain=_open_unit)
_unary("acos", np.arccos, lambda n, g: [_mul(_neg(g), _inv_sqrt_one_minus_sq(n.args[0]))], sp.acos,
       "acos({0})", r"\arccos({0})", "inverse cosine (nan outside [-1, 1])",
       "math_grad.py _AcosGrad: -G * reciprocal(sqrt(1 - square(x)))",
       kinks=lambda x: [(np.abs(x), 1.0)], kink_note="|x| == 1", smooth_domain=_open_unit)
_unary("atan", np.arctan,
       lambda n, g: [_mul(g, _recip(_addn(_c(n.args[0], 1), _square(n.args[0]))))], sp.atan,
       "atan({0})", r"\arctan({0})", "inverse tangent",
       "math_grad.py _AtanGrad: G * reciprocal(1 + square(x))", smooth_domain=_gaussian)
_unary("sinh", np.sinh, lambda n, g: [_mul(g, ew("cosh", n.args[0]))], sp.sinh,
       "sinh({0})", r"\sinh({0})", "hyperbolic sine", "math_grad.py _SinhGrad: G * cosh(x)",
       smooth_domain=_gaussian)
_unary("cosh", np.cosh, lambda n, g: [_mul(g, ew("sinh", n.args[0]))], sp.cosh,
       "cosh({0})", r"\cosh({0})", "hyperbolic cosine", "math_grad.py _CoshGrad: G * sinh(x)",
       smooth_domain=_gaussian)
_unary("asinh", np.arcsinh, lambda n, g: [_div(g, ew("cosh", n))], sp.asinh,
       "asinh({0})", r"\operatorname{{arsinh}}({0})", "inverse hyperbolic sine",
       "math_grad.py _AsinhGrad: G / cosh(y), y = asinh(x)", smooth_domain=_gaussian)
_unary("acosh", np.arccosh, lambda n, g: [_div(g, ew("sinh", n))], sp.acosh,
       "acosh({0})", r"\operatorname{{arcosh}}({0})", "inverse hyperbolic cosine (nan below 1)",
       "math_grad.py _AcoshGrad: G / sinh(y), y = acosh(x)",
       kinks=lambda x: [(x, 1.0)], kink_note="x == 1", smooth_domain=_above_one)
_unary("atanh", np.arctanh,
       lambda n, g: [_mul(g, _recip(_sub(_c(n.args[0], 1), _square(n.args[0]))))], sp.atanh,
       "atanh({0})", r"\operatorname{{artanh}}({0})", "inverse hyperbolic tangent (nan outside [-1, 1])",
       "math_grad.py _AtanhGrad: G * reciprocal(1 - square(x))",
       kinks=lambda x: [(np.abs(x), 1.0)], kink_note="|x| == 1", smooth_domain=_open_unit)

_TWO_OVER_ROOT_PI = 2 / np.sqrt(np.pi)


def _vjp_erf(sign: float) -> VjpFn:
    # TF: G * (±2/sqrt(pi)) * exp(-square(x)), left to right
    def vjp(n: Node, g: Node) -> list:
        x = n.args[0]
        return [_mul(_mul(g, _c(g, sign * _TWO_OVER_ROOT_PI)), ew("exp", _neg(_square(x))))]
    return vjp


_erf64 = _ufunc(math.erf)


def _np_erf(x: np.ndarray) -> np.ndarray:
    # TF 2.21's float64 Erf kernel gives nan at ±inf (float32's gives ±1).
    y = _erf64(x)
    if y.dtype == np.float64:
        y = np.where(np.isinf(x), np.nan, y)
    return y


_unary("erf", _np_erf, _vjp_erf(1.0), sp.erf, "erf({0})", r"\operatorname{{erf}}({0})",
       "the error function (TF's float64 kernel gives nan at ±inf)", "math_grad.py _ErfGrad: G * 2/sqrt(pi) * exp(-square(x))",
       smooth_domain=_gaussian)
_unary("erfc", _ufunc(math.erfc), _vjp_erf(-1.0), sp.erfc, "erfc({0})", r"\operatorname{{erfc}}({0})",
       "the complementary error function 1 - erf(x)",
       "math_grad.py _ErfcGrad: G * -2/sqrt(pi) * exp(-square(x))", smooth_domain=_gaussian)


# -- rsqrt and its gradient kernel -----------------------------------------------------

def _np_rsqrt(x: np.ndarray) -> np.ndarray:
    return 1 / np.sqrt(x)


def _np_rsqrt_grad(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    # TF's scalar_rsqrt_gradient_op: 0 where dy == 0, else -0.5 * (dy * y) * (y * y).
    return np.where(dy == 0, np.zeros_like(dy), -0.5 * (dy * y) * (y * y))


_unary("rsqrt", _np_rsqrt, lambda n, g: [ew("rsqrt_grad", n, g)], lambda a: 1 / sp.sqrt(a),
       "1⊘√{0}", r"\frac{{1}}{{\sqrt{{{0}}}}}", "1 / sqrt(x)",
       "math_grad.py _RsqrtGrad: RsqrtGrad(y, G)", prec=20,
       kinks=lambda x: [(x, 0.0)], kink_note="x == 0", smooth_domain=_positive)
register(Func(
    "rsqrt_grad", 2, _np_rsqrt_grad,
    # TF's _RsqrtGradGrad: (-1.5 * G * dy * square(y), RsqrtGrad(y, G))
    lambda n, g: [
        _mul(_mul(_mul(_c(g, -1.5), g), n.args[1]), _square(n.args[0])),
        ew("rsqrt_grad", n.args[0], g),
    ],
    lambda y, dy: sp.Piecewise((0, sp.Eq(dy, 0)), (-dy * y**3 / 2, True)),
    "rsqrt_grad({0}, {1})", r"\operatorname{{rsqrt\_grad}}({0}, {1})",
    "TF's RsqrtGrad kernel: 0 where dy == 0, else -½·dy·y³",
    "cwise_ops_gradients.h scalar_rsqrt_gradient_op; math_grad.py _RsqrtGradGrad",
))


# -- piecewise-constant functions: TF registers None as their gradient ----------------

def _vjp_none(n: Node, g: Node) -> list:
    return [None] * len(n.args)


_unary("floor", np.floor, _vjp_none, sp.floor, "⌊{0}⌋", r"\lfloor {0} \rfloor",
       "largest integer <= x; no gradient (None)", "math_grad.py _FloorGrad: [None]",
       kinks=lambda x: [(x, np.floor(x))], kink_note="x is an integer",
       smooth_domain=_gaussian)
_unary("ceil", np.ceil, _vjp_none, sp.ceiling, "⌈{0}⌉", r"\lceil {0} \rceil",
       "smallest integer >= x; no gradient (None)", "math_grad.py _CeilGrad: [None]",
       kinks=lambda x: [(x, np.ceil(x))], kink_note="x is an integer",
       smooth_domain=_gaussian)
class _round(sp.Function):
    """round(x), half to even, as TF's Round: evaluates at numbers (Python's
    round is also half to even), stays symbolic otherwise."""

    @classmethod
    def eval(cls, a):
        if a.is_Number:
            return sp.Integer(round(a))
        return None


_round.__name__ = "round"  # prints as round(x)

_unary("round", np.round, _vjp_none, lambda a: _round(a), *_fn_text("round"),
       "nearest integer, half to even (banker's rounding); no gradient (None)",
       "math_grad.py _RoundGrad: [None]; math_ops.round: Round kernel (half to even)",
       kinks=lambda x: [(x - np.floor(x), 0.5)], kink_note="x is halfway between integers",
       smooth_domain=_gaussian)


# -- activations --------------------------------------------------------------------

def _np_softplus(x: np.ndarray) -> np.ndarray:
    # TF's Softplus functor: x above -threshold, exp(x) below threshold, else
    # log1p(exp(x)), with threshold = log(eps) + 2 of the dtype.
    x = np.asarray(x)
    thr = np.log(np.finfo(x.dtype).eps) + 2 if x.dtype.kind == "f" else np.log(np.finfo(float).eps) + 2
    e = np.exp(x)
    return np.where(x > -thr, x, np.where(x < thr, e, np.log1p(e)))


_unary("softplus", _np_softplus, lambda n, g: [_mul(g, ew("sigmoid", n.args[0]))],
       lambda a: sp.log(1 + sp.exp(a)), *_fn_text("softplus"), "log(1 + exp(x))",
       "nn_grad.py _SoftplusGrad: G * sigmoid(x) (TF 2 does not call the SoftplusGrad kernel)",
       smooth_domain=_gaussian)


def _np_softsign(x: np.ndarray) -> np.ndarray:
    return x / (np.abs(x) + 1)


def _np_softsign_grad(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    return dy / np.square(np.abs(x) + 1)


def _vjp_unregistered(kernel: str) -> VjpFn:
    def vjp(n: Node, g: Node) -> list:
        from .graph import GraphError

        raise GraphError(
            f"TensorFlow registers no gradient for its {kernel} kernel, so a gradient of a "
            f"gradient through it is an error in TF (LookupError: No gradient defined for "
            f"operation ... (op type: {kernel}))", None, "TG203")
    return vjp


_unary("softsign", _np_softsign, lambda n, g: [ew("softsign_grad", g, n.args[0])],
       lambda a: a / (1 + sp.Abs(a)), *_fn_text("softsign"), "x / (1 + |x|)",
       "nn_grad.py _SoftsignGrad: SoftsignGrad(G, x)", smooth_domain=_gaussian)
register(Func(
    "softsign_grad", 2, _np_softsign_grad, _vjp_unregistered("SoftsignGrad"),
    lambda dy, x: dy / (1 + sp.Abs(x))**2, "softsign_grad({0}, {1})",
    r"\operatorname{{softsign\_grad}}({0}, {1})",
    "TF's SoftsignGrad kernel: dy / (1 + |x|)². TF registers no gradient for it: "
    "differentiating it is an error, as in TF",
    "softsign_op.h SoftsignGrad; no RegisterGradient('SoftsignGrad') in nn_grad.py",
    no_grad=True,
))


def _np_relu6(x: np.ndarray) -> np.ndarray:
    return np.minimum(np.maximum(x, 0), 6)


def _np_relu6_grad(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    # TF's Relu6Grad: a product with the mask (inf * 0 is nan), not a select.
    return dy * ((x > 0) & (x < 6)).astype(dy.dtype)


_unary("relu6", _np_relu6, lambda n, g: [ew("relu6_grad", g, n)],
       lambda a: sp.Min(sp.Max(a, 0), 6), *_fn_text("relu6"), "min(max(x, 0), 6); 0 gradient at 0 and 6",
       "nn_grad.py _Relu6Grad: Relu6Grad(G, y)",
       kinks=lambda x: [(x, 0.0), (x, 6.0)], kink_note="x == 0 or x == 6",
       smooth_domain=_away_from(0.0, 6.0))
register(Func(
    "relu6_grad", 2, _np_relu6_grad,
    # TF's _Relu6GradGrad: (Relu6Grad(G, x), zeros_like(x))
    lambda n, g: [ew("relu6_grad", g, n.args[1]), _zeros_like(n.args[1])],
    lambda dy, x: sp.Piecewise((dy, sp.And(x > 0, x < 6)), (0, True)),
    "relu6_grad({0}, {1})", r"\operatorname{{relu6\_grad}}({0}, {1})",
    "TF's Relu6Grad kernel: dy * (0 < x < 6)",
    "relu_op_functor.h Relu6Grad; nn_grad.py _Relu6GradGrad",
))


def _np_elu(x: np.ndarray) -> np.ndarray:
    # TF's Elu functor: x < 0 ? exp(x) - 1 : x (exp - 1, not expm1)
    return np.where(x < 0, np.exp(x) - 1, x)


def _np_elu_grad(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(y < 0, (y + 1) * dy, dy)


_unary("elu", _np_elu, lambda n, g: [ew("elu_grad", g, n)],
       lambda a: sp.Piecewise((sp.exp(a) - 1, a < 0), (a, True)), *_fn_text("elu"),
       "x if x >= 0 else exp(x) - 1", "nn_grad.py _EluGrad: EluGrad(G, y)",
       smooth_domain=_away_from(0.0))
register(Func(
    "elu_grad", 2, _np_elu_grad,
    # TF's _EluGradGrad: (EluGrad(G, y), where(y < 0, G * dy, 0))
    lambda n, g: [
        ew("elu_grad", g, n.args[1]),
        _select(ew("less", n.args[1], _c(n.args[1], 0)), _mul(g, n.args[0]), _zeros_like(n.args[1])),
    ],
    lambda dy, y: sp.Piecewise(((y + 1) * dy, y < 0), (dy, True)),
    "elu_grad({0}, {1})", r"\operatorname{{elu\_grad}}({0}, {1})",
    "TF's EluGrad kernel on the output y: y < 0 ? (y + 1)·dy : dy",
    "relu_op_functor.h EluGrad; nn_grad.py _EluGradGrad",
))

SELU_SCALE = 1.0507009873554804934193349852946
SELU_SCALE_ALPHA = 1.7580993408473768599402175208123


def _np_selu(x: np.ndarray) -> np.ndarray:
    return np.where(x < 0, SELU_SCALE_ALPHA * (np.exp(x) - 1), SELU_SCALE * x)


def _np_selu_grad(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(y < 0, dy * (y + SELU_SCALE_ALPHA), dy * SELU_SCALE)


_unary("selu", _np_selu, lambda n, g: [ew("selu_grad", g, n)],
       lambda a: sp.Piecewise((SELU_SCALE_ALPHA * (sp.exp(a) - 1), a < 0), (SELU_SCALE * a, True)),
       *_fn_text("selu"), "scale·x if x >= 0 else scale·alpha·(exp(x) - 1)",
       "nn_grad.py _SeluGrad: SeluGrad(G, y)",
       kinks=lambda x: [(x, 0.0)], kink_note="x == 0", smooth_domain=_away_from(0.0))
register(Func(
    "selu_grad", 2, _np_selu_grad,
    # TF's _SeluGradGrad: (SeluGrad(G, y), where(y < 0, G * dy, 0))
    lambda n, g: [
        ew("selu_grad", g, n.args[1]),
        _select(ew("less", n.args[1], _c(n.args[1], 0)), _mul(g, n.args[0]), _zeros_like(n.args[1])),
    ],
    lambda dy, y: sp.Piecewise((dy * (y + SELU_SCALE_ALPHA), y < 0), (dy * SELU_SCALE, True)),
    "selu_grad({0}, {1})", r"\operatorname{{selu\_grad}}({0}, {1})",
    "TF's SeluGrad kernel on the output y: y < 0 ? dy·(y + scale·alpha) : dy·scale",
    "relu_op_functor.h SeluGrad; nn_grad.py _SeluGradGrad",
))


def _np_leaky_relu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, x * alpha)


def _np_leaky_relu_grad(dy: np.ndarray, x: np.ndarray, alpha: float) -> np.ndarray:
    # TF's LeakyReluGrad: a select (x > 0 ? dy : dy * alpha)
    return np.where(x > 0, dy, dy * alpha)


register(Func(
    "leaky_relu", 1, _np_leaky_relu,
    lambda n, g: [ew("leaky_relu_grad", g, n.args[0], attrs=n.attrs)],
    lambda a, alpha=0.2: sp.Piecewise((a, a > 0), (alpha * a, True)),
    "leaky_relu({0})", r"\operatorname{{leaky\_relu}}({0})",
    "x if x > 0 else alpha·x (alpha is a float32 attribute in TF: 0.2 is 0.20000000298...)",
    "nn_grad.py _LeakyReluGrad: LeakyReluGrad(G, x, alpha)",
    kinks=lambda x: [(x, 0.0)], kink_note="x == 0", smooth_domain=_away_from(0.0),
    attrs=("alpha",),
))
register(Func(
    "leaky_relu_grad", 2, _np_leaky_relu_grad,
    # TF's _LeakyReluGradGrad: (LeakyReluGrad(G, x, alpha), zeros_like(x))
    lambda n, g: [ew("leaky_relu_grad", g, n.args[1], attrs=n.attrs), _zeros_like(n.args[1])],
    lambda dy, x, alpha=0.2: sp.Piecewise((dy, x > 0), (alpha * dy, True)),
    "leaky_relu_grad({0}, {1})", r"\operatorname{{leaky\_relu\_grad}}({0}, {1})",
    "TF's LeakyReluGrad kernel: x > 0 ? dy : alpha·dy (a select)",
    "relu_op_functor.h LeakyReluGrad; nn_grad.py _LeakyReluGradGrad", attrs=("alpha",),
))


def _np_silu(x: np.ndarray, beta: float) -> np.ndarray:
    return x * _np_sigmoid(beta * x)


def _vjp_silu(n: Node, g: Node) -> list:
    # nn_impl.py swish's custom gradient, built from the same ops (so a second
    # derivative differentiates them, as tf.gradients does in graph mode):
    #   s = sigmoid(beta * x); G * (s * (1 + (beta * x) * (1 - s)))
    x = n.args[0]
    beta = _c(x, n.attrs[0])
    s = ew("sigmoid", _mul(beta, x))
    act = _mul(s, _addn(_c(x, 1.0), _mul(_mul(beta, x), _sub(_c(x, 1.0), s))))
    return [_mul(g, act)]


register(Func(
    "silu", 1, _np_silu, _vjp_silu,
    lambda a, beta=1.0: a / (1 + sp.exp(-beta * a)), "silu({0})", r"\operatorname{{silu}}({0})",
    "x·sigmoid(beta·x) (swish)",
    "nn_impl.py swish: custom_gradient G * (s * (1 + (beta*x) * (1 - s))), s = sigmoid(beta*x)",
    smooth_domain=_gaussian, attrs=("beta",),
))


# -- binary math ---------------------------------------------------------------------

def _np_squared_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = x - y
    return d * d


def _vjp_squared_difference(n: Node, g: Node) -> list:
    # TF's _SquaredDifferenceGrad: xg = (2 * G) * (x - y); (xg, -xg)
    x, y = n.args
    xg = _mul(_mul(_c(g, 2.0), g), _sub(x, y))
    return [xg, _neg(xg)]


register(Func(
    "squared_difference", 2, _np_squared_difference, _vjp_squared_difference,
    lambda a, b: (a - b)**2, "({0} - {1})²", r"\left({0} - {1}\right)^{{2}}", "(x - y)²",
    "math_grad.py _SquaredDifferenceGrad: (2G·(x - y), -2G·(x - y))", prec=40,
    smooth_domain=_gaussian,
))


def _vjp_atan2(n: Node, g: Node) -> list:
    # TF's _Atan2Grad: gi = G / (square(y) + square(x)); (x * gi, -y * gi)
    y, x = n.args
    gi = _div(g, _addn(_square(y), _square(x)))
    return [_mul(x, gi), _mul(_neg(y), gi)]


register(Func(
    "atan2", 2, np.arctan2, _vjp_atan2, sp.atan2, "atan2({0}, {1})",
    r"\operatorname{{atan2}}({0}, {1})", "the angle of the point (x, y): atan2(y, x)",
    "math_grad.py _Atan2Grad: (G·x / (y² + x²), G·-y / (y² + x²))",
    kinks=lambda y, x: [(np.where(x <= 0, y, 1.0), 0.0)],
    kink_note="y == 0 with x <= 0 (the branch cut and the origin)", smooth_domain=_positive,
))


def _np_div_no_nan(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # TF's div_no_nan_op: y != 0 ? x / y : 0 (0 even when x is nan or inf)
    return np.where(y == 0, np.zeros_like(x / y), x / y)


def _np_mul_no_nan(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # TF's mul_no_nan_op: y != 0 ? x * y : 0 (0 even when x is nan or inf)
    p = x * y
    return np.where(y == 0, np.zeros_like(p), p)


register(Func(
    "divide_no_nan", 2, _np_div_no_nan,
    lambda n, g: [
        ew("divide_no_nan", g, n.args[1]),
        _mul(g, ew("divide_no_nan", ew("divide_no_nan", _neg(n.args[0]), n.args[1]), n.args[1])),
    ],
    lambda a, b: sp.Piecewise((0, sp.Eq(b, 0)), (a / b, True)), "div_no_nan({0}, {1})",
    r"\operatorname{{div\_no\_nan}}({0}, {1})", "x / y, and 0 where y == 0 (even for x nan or inf)",
    "math_grad.py _DivNoNanGrad: (div_no_nan(G, y), G * div_no_nan(div_no_nan(-x, y), y))",
    kinks=lambda x, y: [(y, 0.0)], kink_note="y == 0", smooth_domain=_positive,
))
register(Func(
    "multiply_no_nan", 2, _np_mul_no_nan,
    lambda n, g: [ew("multiply_no_nan", g, n.args[1]), ew("multiply_no_nan", n.args[0], g)],
    lambda a, b: sp.Piecewise((0, sp.Eq(b, 0)), (a * b, True)), "mul_no_nan({0}, {1})",
    r"\operatorname{{mul\_no\_nan}}({0}, {1})", "x * y, and 0 where y == 0 (even for x nan or inf)",
    "math_grad.py _MulNoNanGrad: (mul_no_nan(G, y), mul_no_nan(x, G))",
    smooth_domain=_positive,
))


# -- logic and casts ------------------------------------------------------------------

def _logic(name: str, arity: int, fn: Callable, sym: str, latex: str, rel: Callable, doc: str) -> None:
    text = sym + "{0}" if arity == 1 else "{0} " + sym + " {1}"
    ltx = latex + " {0}" if arity == 1 else "{0} " + latex + " {1}"
    register(Func(
        name, arity, fn, None, rel, text, ltx, doc,
        "math_grad.py: NotDifferentiable('%s')" % "".join(w.title() for w in name.split("_")),
        prec=5 if arity == 2 else 30, out_dtype="bool", no_grad=True,
    ))


_logic("logical_and", 2, np.logical_and, "∧", r"\land", lambda a, b: sp.And(a, b, evaluate=False),
       "x and y elementwise (bool)")
_logic("logical_or", 2, np.logical_or, "∨", r"\lor", lambda a, b: sp.Or(a, b, evaluate=False),
       "x or y elementwise (bool)")
_logic("logical_not", 1, np.logical_not, "¬", r"\lnot", lambda a: sp.Not(a, evaluate=False),
       "not x elementwise (bool)")


def _np_cast(x: np.ndarray, dtype: str) -> np.ndarray:
    return np.asarray(x).astype(dtype)


def _vjp_cast(n: Node, g: Node) -> list:
    # TF's _CastGrad: cast(G, source dtype) between float dtypes, else None
    from .tensor import is_float

    src = n.args[0].dtype
    if is_float(src) and is_float(n.dtype):
        return [ew("cast", g, attrs=(src,), dtype=src)]
    return [None]


register(Func(
    "cast", 1, _np_cast, _vjp_cast, lambda a, dtype="float64": a, "cast({0})",
    r"\operatorname{{cast}}({0})",
    "x converted to dtype (float to int truncates toward 0; to bool: x != 0)",
    "math_grad.py _CastGrad: cast(G, x.dtype) between float dtypes, None to or from int/bool",
    attrs=("dtype",),
))


EXPOSED_FORMAT1 = (
    "add subtract multiply divide maximum minimum pow negative identity "
    "square sqrt exp log tanh sigmoid abs relu stop_gradient"
).split()
