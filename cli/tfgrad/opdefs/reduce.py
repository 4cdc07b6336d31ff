"""Reductions over axes: ``reduce_sum``, ``reduce_mean``.

``axis`` is TF's: None (every axis), an int, or a list of ints, negative
counting from the end; ``keepdims`` keeps the reduced axes as size 1.
"""

from __future__ import annotations

from ..tensor import Node, ew, fill, reduce
from .common import keepdims, norm_axes
from .spec import TENSOR, Ctx, OpDef, Param, register

_PARAMS = (Param("input_tensor", TENSOR), Param("axis", "axis", None), Param("keepdims", "bool", False))


def reduced_shape(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("input_tensor")
    axes = norm_axes(ctx, ctx.a("axis"), x.rank)
    if ctx.a("keepdims"):
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _identity_if_same(ctx: Ctx, r: Node) -> Node:
    # Reducing over no axes is the input itself; the op still needs a node
    # of its own (an x may name it).
    return ew("identity", r) if r is ctx.x("input_tensor") else r


def _sum(ctx: Ctx) -> Node:
    x = ctx.x("input_tensor")
    axes = norm_axes(ctx, ctx.a("axis"), x.rank)
    r = reduce("sum", axes, x)
    if ctx.a("keepdims"):
        r = keepdims(r, axes, x.shape)
    return _identity_if_same(ctx, r)


def _mean(ctx: Ctx) -> Node:
    x = ctx.x("input_tensor")
    axes = norm_axes(ctx, ctx.a("axis"), x.rank)
    count = 1
    for a in axes:
        count *= x.shape[a]
    r = reduce("sum", axes, x)
    # TF's Mean kernel divides the sum by the count; _MeanGrad divides the
    # broadcast cotangent by it: the same division, in the same dtype.
    r = ew("divide", r, fill(count, r.shape, r.dtype))
    if ctx.a("keepdims"):
        r = keepdims(r, axes, x.shape)
    return r


register(OpDef(
    "reduce_sum", _PARAMS, "sum over axis (every axis when null)", reduced_shape, _sum,
    "dx += G broadcast back over the reduced axes", "math_grad.py _SumGrad", "reduce",
    errors=("TG202",),
))
register(OpDef(
    "reduce_mean", _PARAMS, "mean over axis (every axis when null)", reduced_shape, _mean,
    "dx += (G broadcast back over the reduced axes) ⊘ n", "math_grad.py _MeanGrad", "reduce",
    errors=("TG202",),
))
