"""Elementwise ops: math, activations, and format 1's arithmetic.

Each op applies one function of ``funcs.FUNCS`` to its inputs after NumPy
broadcasting; the gradient is that function's VJP (TF's registered
gradient), summed back over broadcast axes by the ``broadcast`` node's VJP.
"""

from __future__ import annotations

from ..tensor import Node, add, ew
from .common import ew_op, same_dtype, weak_literals
from .spec import TENSORS, Ctx, OpDef, Param, fmt_shape, register

ew_op("add", "x y", doc="x + y, broadcasting", rule="dx += G; dy += G",
      tf="math_grad.py _AddGrad")
ew_op("subtract", "x y", doc="x - y, broadcasting", rule="dx += G; dy -= G",
      tf="math_grad.py _SubGrad")
ew_op("multiply", "x y", doc="x * y elementwise, broadcasting", rule="dx += G∘y; dy += x∘G",
      tf="math_grad.py _MulGrad")
ew_op("divide", "x y", doc="x / y elementwise, broadcasting",
      rule="dx += G⊘y; dy += G∘((-x⊘y)⊘y)", tf="math_grad.py _RealDivGrad")
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
ew_op("identity", "input", doc="x", rule="dx += G", tf="array_grad.py _IdGrad")
ew_op("stop_gradient", "input", doc="x forward; no gradient flows through",
      rule="none: the input receives no gradient", tf="array_grad.py: not differentiable")
ew_op("square", "x", doc="x ** 2", rule="dx += G∘(x∘2)", tf="math_grad.py _SquareGrad")
ew_op("sqrt", "x", doc="square root; TF's gradient is 0 where G is 0",
      rule="dx += sqrt_grad(y, G) = ½·G⊘y (0 where G = 0)",
      tf="math_grad.py _SqrtGrad -> SqrtGrad kernel")
ew_op("exp", "x", doc="e ** x", rule="dx += G∘y", tf="math_grad.py _ExpGrad")
ew_op("log", "x", doc="natural logarithm", rule="dx += G∘(1⊘x)", tf="math_grad.py _LogGrad")
ew_op("tanh", "x", doc="hyperbolic tangent", rule="dx += tanh_grad(y, G) = G∘(1 - y²)",
      tf="math_grad.py _TanhGrad -> TanhGrad kernel")
ew_op("sigmoid", "x", doc="1 / (1 + exp(-x))", rule="dx += sigmoid_grad(y, G) = G∘y∘(1 - y)",
      tf="math_grad.py _SigmoidGrad -> SigmoidGrad kernel")
ew_op("abs", "x", doc="|x|; abs'(0) = 0", rule="dx += G∘sign(x)", tf="math_grad.py _AbsGrad")
ew_op("relu", "features", doc="max(x, 0); relu'(0) = 0",
      rule="dx += relu_grad(G, y) = G∘[y > 0]", tf="nn_grad.py _ReluGrad -> ReluGrad kernel")


def _add_n_shape(ctx: Ctx) -> tuple[int, ...]:
    xs = ctx.xs("inputs")
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


register(OpDef(
    "add_n", (Param("inputs", TENSORS),), "sum of one or more tensors of the same shape",
    _add_n_shape, _add_n, "each input += G", "math_grad.py _AddNGrad", "elementwise",
    errors=("TG202",), varargs=True,
))
