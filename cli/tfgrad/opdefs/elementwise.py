"""Elementwise ops: math, activations, and format 1's arithmetic.

Each op applies one function of ``funcs.FUNCS`` to its inputs after NumPy
broadcasting; the gradient is that function's VJP (TF's registered
gradient), summed back over broadcast axes by the ``broadcast`` node's VJP.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Node, add, broadcast_to, ew, fill, is_float
from .common import broadcast_shape, ew_op, same_dtype, weak_literals
from .spec import TENSOR, TENSORS, Ctx, OpDef, Param, fmt_shape, register

ew_op("add", "x y", doc="x + y, broadcasting", rule="dx += G; dy += G",
      tf="math_grad.py _AddGrad")
ew_op("subtract", "x y", doc="x - y, broadcasting", rule="dx += G; dy -= G",
      tf="math_grad.py _SubGrad")
ew_op("multiply", "x y", doc="x * y elementwise, broadcasting", rule="dx += G∘y; dy += x∘G",
      tf="math_grad.py _MulGrad")
ew_op("divide", "x y", doc="x / y elementwise, broadcasting",
      rule="dx += G⊘y; dy += G∘((-x⊘y)⊘y)", tf="math_grad.py _RealDivGrad", ints="float64")
ew_op("maximum", "x y", doc="elementwise max; a tie sends the gradient to x",
      rule="dx += where(x ≥ y, G, 0); dy += where(x ≥ y, 0, G)",
      tf="math_grad.py _MaximumGrad (a select, so the loser gets an exact 0)")
ew_op("minimum", "x y", doc="elementwise min; a tie sends the gradient to x",
      rule="dx += where(x ≤ y, G, 0); dy += where(x ≤ y, 0, G)",
      tf="math_grad.py _MinimumGrad (a select, so the loser gets an exact 0)")
ew_op("pow", "x y", doc="x ** y elementwise; d/dy uses log(x) only where x > 0",
      rule="dx += G∘y∘x^(y-1); dy += G∘z∘log(x) where x > 0, else 0",
      tf="math_grad.py _PowGrad")
ew_op("negative", "x", doc="-x", rule="dx -= G", tf="math_grad.py _NegGrad")
ew_op("identity", "input", doc="x", rule="dx += G", tf="array_grad.py _IdGrad", bools=True)
ew_op("stop_gradient", "input", doc="x forward; no gradient flows through",
      rule="none: the input receives no gradient", tf="array_grad.py: not differentiable", bools=True)
ew_op("square", "x", doc="x ** 2", rule="dx += G∘(x∘2)", tf="math_grad.py _SquareGrad")
ew_op("sqrt", "x", doc="square root; TF's gradient is 0 where G is 0",
      rule="dx += sqrt_grad(y, G) = ½·G⊘y (0 where G = 0)",
      tf="math_grad.py _SqrtGrad -> SqrtGrad kernel", ints="refuse")
ew_op("exp", "x", doc="e ** x", rule="dx += G∘y", tf="math_grad.py _ExpGrad", ints="refuse")
ew_op("log", "x", doc="natural logarithm", rule="dx += G∘(1⊘x)", tf="math_grad.py _LogGrad",
      ints="refuse")
ew_op("tanh", "x", doc="hyperbolic tangent", rule="dx += tanh_grad(y, G) = G∘(1 - y²)",
      tf="math_grad.py _TanhGrad -> TanhGrad kernel", ints="refuse")
ew_op("sigmoid", "x", doc="1 / (1 + exp(-x))", rule="dx += sigmoid_grad(y, G) = G∘y∘(1 - y)",
      tf="math_grad.py _SigmoidGrad -> SigmoidGrad kernel", ints="refuse")
ew_op("abs", "x", doc="|x|; abs'(0) = 0", rule="dx += G∘sign(x)", tf="math_grad.py _AbsGrad")
ew_op("relu", "features", doc="max(x, 0); relu'(0) = 0",
      rule="dx += relu_grad(G, y) = G∘[y > 0]", tf="nn_grad.py _ReluGrad -> ReluGrad kernel")


def _add_n_shape(ctx: Ctx) -> tuple[int, ...]:
    xs = ctx.xs("inputs")
    if not xs:
        raise ctx.error("inputs is an empty list; add_n needs at least one tensor",
                        "TG203", "inputs")
    first = xs[0].shape
    for i, x in enumerate(xs[1:], 1):
        if x.shape != first:
            raise ctx.error(
                f"{ctx.label('inputs', i)} has shape {fmt_shape(x.shape)} but "
                f"{ctx.label('inputs', 0)} has {fmt_shape(first)}; add_n takes tensors of one "
                "shape (use add to broadcast)",
                "TG202",
                "inputs",
            )
    return first


def _add_n(ctx: Ctx) -> Node:
    xs = list(ctx.xs("inputs"))
    if len(xs) == 1:
        return ew("identity", xs[0])
    names = [f"inputs[{i}]" for i in range(len(xs))]
    ctx.inputs.update(zip(names, xs))
    ctx.labels.update(zip(names, ctx.labels.get("inputs", names)))
    weak_literals(ctx, names)
    same_dtype(ctx, names)
    return add(*[ctx.x(n) for n in names])


def _add_n_fast(xs: list[Node]) -> Node | None:
    # inputs of one shape and one dtype: _add_n without its checks and labels
    if not xs:
        return None
    shape, dtype = xs[0].shape, xs[0].dtype
    for x in xs:
        if x.shape != shape or x.dtype != dtype:
            return None
    return ew("identity", xs[0]) if len(xs) == 1 else add(*xs)


register(OpDef(
    "add_n", (Param("inputs", TENSORS),), "sum of one or more tensors of the same shape",
    _add_n_shape, _add_n, "each input += G", "math_grad.py _AddNGrad", "elementwise",
    errors=("TG202", "TG203"), varargs=True, fast=_add_n_fast,
))


# -- issue 11: TF's elementwise math and activations ----------------------------------
# Parameter names and defaults are TF 2's Python signatures (tf.math.*, tf.nn.*).

ew_op("sign", "x", doc="-1, 0 or 1 (nan for nan; sign(-0.0) is 0)", rule="dx += 0 (zeros)",
      tf="math_grad.py _SignGrad: zeros_like(x)")
ew_op("reciprocal", "x", doc="1 / x", rule="dx += reciprocal_grad(y, G) = -G∘y² (0 where G = 0)",
      tf="math_grad.py _ReciprocalGrad -> ReciprocalGrad kernel", ints="refuse")
ew_op("rsqrt", "x", doc="1 / sqrt(x)", rule="dx += rsqrt_grad(y, G) = -½·G∘y³ (0 where G = 0)",
      tf="math_grad.py _RsqrtGrad -> RsqrtGrad kernel", ints="refuse")
ew_op("expm1", "x", doc="exp(x) - 1", rule="dx += G∘exp(x)", tf="math_grad.py _Expm1Grad",
      ints="refuse")
ew_op("log1p", "x", doc="log(1 + x)", rule="dx += G∘(1⊘(1 + x))", tf="math_grad.py _Log1pGrad",
      ints="refuse")
ew_op("sin", "x", doc="sine", rule="dx += G∘cos(x)", tf="math_grad.py _SinGrad", ints="refuse")
ew_op("cos", "x", doc="cosine", rule="dx += -G∘sin(x)", tf="math_grad.py _CosGrad", ints="refuse")
ew_op("tan", "x", doc="tangent", rule="dx += (1⊘cos(x))²∘G", tf="math_grad.py _TanGrad",
      ints="refuse")
ew_op("asin", "x", doc="inverse sine", rule="dx += G∘(1⊘√(1 - x²))", tf="math_grad.py _AsinGrad",
      ints="refuse")
ew_op("acos", "x", doc="inverse cosine", rule="dx += -G∘(1⊘√(1 - x²))", tf="math_grad.py _AcosGrad",
      ints="refuse")
ew_op("atan", "x", doc="inverse tangent", rule="dx += G∘(1⊘(1 + x²))", tf="math_grad.py _AtanGrad",
      ints="refuse")
ew_op("sinh", "x", doc="hyperbolic sine", rule="dx += G∘cosh(x)", tf="math_grad.py _SinhGrad",
      ints="refuse")
ew_op("cosh", "x", doc="hyperbolic cosine", rule="dx += G∘sinh(x)", tf="math_grad.py _CoshGrad",
      ints="refuse")
ew_op("asinh", "x", doc="inverse hyperbolic sine", rule="dx += G⊘cosh(y)", tf="math_grad.py _AsinhGrad",
      ints="refuse")
ew_op("acosh", "x", doc="inverse hyperbolic cosine", rule="dx += G⊘sinh(y)",
      tf="math_grad.py _AcoshGrad", ints="refuse")
ew_op("atanh", "x", doc="inverse hyperbolic tangent", rule="dx += G∘(1⊘(1 - x²))",
      tf="math_grad.py _AtanhGrad", ints="refuse")
ew_op("erf", "x", doc="the error function", rule="dx += G∘(2/√π)∘exp(-x²)", tf="math_grad.py _ErfGrad",
      ints="refuse")
ew_op("erfc", "x", doc="1 - erf(x)", rule="dx += G∘(-2/√π)∘exp(-x²)", tf="math_grad.py _ErfcGrad",
      ints="refuse")
ew_op("floor", "x", doc="largest integer <= x", rule="none: TF registers None (no gradient)",
      tf="math_grad.py _FloorGrad", ints="refuse")
ew_op("ceil", "x", doc="smallest integer >= x", rule="none: TF registers None (no gradient)",
      tf="math_grad.py _CeilGrad", ints="refuse")
ew_op("round", "x", doc="nearest integer, half to even (banker's rounding)",
      rule="none: TF registers None (no gradient)", tf="math_grad.py _RoundGrad")
ew_op("softplus", "features", doc="log(1 + exp(x)), with TF's thresholds at the tails",
      rule="dx += G∘σ(x)", tf="nn_grad.py _SoftplusGrad", ints="refuse")
ew_op("softsign", "features", doc="x / (1 + |x|)",
      rule="dx += softsign_grad(G, x) = G⊘(1 + |x|)²; TF has no second derivative (an error)",
      tf="nn_grad.py _SoftsignGrad -> SoftsignGrad kernel (itself without a gradient)",
      ints="refuse")
ew_op("relu6", "features", doc="min(max(x, 0), 6)",
      rule="dx += relu6_grad(G, y) = G∘[0 < y < 6] (a product: inf∘0 is nan)",
      tf="nn_grad.py _Relu6Grad -> Relu6Grad kernel")
ew_op("elu", "features", doc="x if x >= 0 else exp(x) - 1",
      rule="dx += elu_grad(G, y) = y < 0 ? G∘(y + 1) : G", tf="nn_grad.py _EluGrad -> EluGrad kernel",
      ints="refuse")
ew_op("selu", "features", doc="scale·x if x >= 0 else scale·alpha·(exp(x) - 1)",
      rule="dx += selu_grad(G, y) = y < 0 ? G∘(y + scale·alpha) : G·scale",
      tf="nn_grad.py _SeluGrad -> SeluGrad kernel", ints="refuse")


def _float32_attr(name: str):
    # TF stores float attributes as float32: leaky_relu's alpha=0.2 is 0.20000000298023224.
    def values(ctx: Ctx) -> tuple:
        v = ctx.a(name)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ctx.error(f"{name} must be a number, not {v!r}", "TG203", name)
        return (float(np.float32(v)),)
    return values


ew_op("leaky_relu", "features", doc="x if x > 0 else alpha·x",
      rule="dx += leaky_relu_grad(G, x) = x > 0 ? G : alpha·G (a select)",
      tf="nn_grad.py _LeakyReluGrad -> LeakyReluGrad kernel",
      attrs=(Param("alpha", "float", 0.2),), attr_values=_float32_attr("alpha"), ints="float32")
ew_op("silu", "features",
      doc="x·sigmoid(beta·x) (swish); beta is a number here, not a tensor, and as in TF it "
      "becomes a float32 tensor before the cast to x's dtype",
      rule="dx += G∘(s∘(1 + (beta·x)∘(1 - s))), s = σ(beta·x)",
      tf="nn_impl.py swish (custom_gradient)",
      attrs=(Param("beta", "float", 1.0),), attr_values=_float32_attr("beta"), ints="refuse")
ew_op("squared_difference", "x y", doc="(x - y)², broadcasting",
      rule="dx += 2G∘(x - y); dy -= 2G∘(x - y)", tf="math_grad.py _SquaredDifferenceGrad")
ew_op("atan2", "y x", doc="the angle of (x, y), broadcasting: atan2(y, x)",
      rule="dy += G∘x⊘(y² + x²); dx += G∘-y⊘(y² + x²)", tf="math_grad.py _Atan2Grad", ints="refuse")
ew_op("divide_no_nan", "x y", doc="x / y, and 0 where y == 0, broadcasting",
      rule="dx += div_no_nan(G, y); dy += G∘div_no_nan(div_no_nan(-x, y), y)",
      tf="math_grad.py _DivNoNanGrad", ints="float64")
ew_op("multiply_no_nan", "x y", doc="x * y, and 0 where y == 0, broadcasting",
      rule="dx += mul_no_nan(G, y); dy += mul_no_nan(x, G)", tf="math_grad.py _MulNoNanGrad",
      ints="refuse")


# -- gelu: TF's Python composition (nn_ops.py gelu) ------------------------------------

_F32_COEFF = float(np.float32(0.044715))
_F32_RSQRT2 = float(np.float32(0.7071067811865476))

def _gelu(ctx: Ctx) -> Node:
    x = ctx.x("features")
    if not is_float(x.dtype):
        raise ctx.error(f"{ctx.label('features')} is {x.dtype}; gelu takes a float tensor",
                        "TG202", "features")

    def c(v: float) -> Node:
        return fill(v, x.shape, x.dtype)

    # math_ops.cast(0.044715, dtype) and cast(0.7071067811865476, dtype) convert
    # the Python float to a float32 tensor first: the constants are float32's.
    half_x = ew("multiply", c(0.5), x)
    if ctx.a("approximate"):
        # 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * pow(x, 3))))
        cubic = ew("multiply", c(_F32_COEFF), ew("pow", x, c(3)))
        inner = ew("multiply", c(0.7978845608028654), ew("add", x, cubic))
        return ew("multiply", half_x, ew("add", c(1.0), ew("tanh", inner)))
    # 0.5 * x * erfc(-x * 0.7071067811865476)
    return ew("multiply", half_x, ew("erfc", ew("multiply", ew("negative", x), c(_F32_RSQRT2))))


register(OpDef(
    "gelu", (Param("features", TENSOR), Param("approximate", "bool", False)),
    "Gaussian error linear unit: 0.5·x·erfc(-x/√2), or the tanh approximation",
    lambda ctx: ctx.x("features").shape, _gelu,
    "TF's composition, differentiated op by op: 0.5·x·erfc(-x·0.70710678...) "
    "(approximate: 0.5·x·(1 + tanh(0.79788456·(x + 0.044715·x³))))",
    "nn_ops.py gelu (a Python composition: Mul, Erfc / Tanh, Pow)", "elementwise",
    errors=("TG202",),
))


# -- clip_by_value: TF's Python composition (clip_ops.py) ------------------------------

def _clip_shape(ctx: Ctx) -> tuple[int, ...]:
    t = ctx.x("t")
    shape = broadcast_shape(ctx, ["t", "clip_value_min", "clip_value_max"])
    if shape != t.shape:
        big = "clip_value_min" if broadcast_shape(ctx, ["t", "clip_value_min"]) != t.shape \
            else "clip_value_max"
        raise ctx.error(
            f"{ctx.label(big)} has shape {fmt_shape(ctx.x(big).shape)}, which would broadcast "
            f"{ctx.label('t')} (shape {fmt_shape(t.shape)}) to {fmt_shape(shape)}; "
            "clip_by_value's bounds must broadcast to t's shape", "TG202", big)
    return shape


def _clip(ctx: Ctx) -> Node:
    params = ["t", "clip_value_min", "clip_value_max"]
    weak_literals(ctx, params)
    same_dtype(ctx, params)
    shape = _clip_shape(ctx)
    t = ctx.x("t")
    lo = broadcast_to(ctx.x("clip_value_min"), shape)
    hi = broadcast_to(ctx.x("clip_value_max"), shape)
    return ew("maximum", ew("minimum", t, hi), lo)


def _clip_kinks(values: dict) -> list:
    t = values["t"]
    return [(t, values["clip_value_min"]), (t, values["clip_value_max"])]


register(OpDef(
    "clip_by_value", (Param("t", TENSOR), Param("clip_value_min", TENSOR), Param("clip_value_max", TENSOR)),
    "t limited to [clip_value_min, clip_value_max]: maximum(minimum(t, max), min)",
    _clip_shape, _clip,
    "TF's composition: maximum(minimum(t, max), min), each routing G with a select "
    "(a tie with a bound sends G to t)",
    "clip_ops.py clip_by_value (Minimum then Maximum; _MinimumGrad, _MaximumGrad)", "elementwise",
    kinks=_clip_kinks, kink_note="t == clip_value_min or t == clip_value_max", errors=("TG202",),
))
