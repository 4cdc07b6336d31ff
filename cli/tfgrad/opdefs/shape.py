"""Shape and movement: ``transpose``, ``reshape``, ``expand_dims``,
``squeeze``. Each lowers to ``reshape``/``transpose`` movement nodes whose
VJPs move the cotangent back."""

from __future__ import annotations

from ..tensor import Node, ew, reshape, transpose
from .common import norm_axes
from .spec import TENSOR, Ctx, OpDef, Param, fmt_shape, register


def _own(ctx: Ctx, param: str, r: Node) -> Node:
    # A movement that changes nothing is the input itself; the op still needs
    # a node of its own (an x may name it).
    return ew("identity", r) if r is ctx.x(param) else r


# -- transpose -----------------------------------------------------------------

def _perm(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("a")
    perm = ctx.a("perm")
    if perm is None:
        return tuple(reversed(range(x.rank)))
    perm = list(perm)
    if sorted(p % x.rank if x.rank and -x.rank <= p < x.rank else p for p in perm) != list(range(x.rank)):
        raise ctx.error(
            f"perm {perm} is not a permutation of the {x.rank} axes of {ctx.label('a')} "
            f"(shape {fmt_shape(x.shape)}); it must list each of 0..{x.rank - 1} once",
            "TG202", "perm")
    return tuple(p % x.rank for p in perm)


register(OpDef(
    "transpose", (Param("a", TENSOR), Param("perm", "ints", None), Param("conjugate", "bool", False)),
    "permute the axes: out.shape[i] = a.shape[perm[i]] (perm defaults to reversing them)",
    lambda ctx: tuple(ctx.x("a").shape[p] for p in _perm(ctx)),
    lambda ctx: _own(ctx, "a", transpose(ctx.x("a"), _perm(ctx))),
    "da += transpose(G, inverse(perm))", "array_grad.py _TransposeGrad", "shape",
    errors=("TG202",),
))


# -- reshape -------------------------------------------------------------------

def _reshape_shape(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("tensor")
    shape = list(ctx.a("shape"))
    if shape.count(-1) > 1:
        raise ctx.error(f"shape {shape} has more than one -1 (only one axis can be inferred)",
                        "TG202", "shape")
    if any(d < -1 for d in shape):
        raise ctx.error(f"shape {shape} has a negative size other than -1", "TG202", "shape")
    known = 1
    for d in shape:
        if d != -1:
            known *= d
    if -1 in shape:
        if known == 0 or x.size % known:
            raise ctx.error(
                f"cannot reshape {ctx.label('tensor')} of shape {fmt_shape(x.shape)} "
                f"({x.size} elements) to {shape}: {x.size} is not a multiple of {known}",
                "TG202", "shape")
        shape[shape.index(-1)] = x.size // known
    elif known != x.size:
        raise ctx.error(
            f"cannot reshape {ctx.label('tensor')} of shape {fmt_shape(x.shape)} "
            f"({x.size} elements) to {fmt_shape(tuple(shape))} ({known} elements)",
            "TG202", "shape")
    return tuple(shape)


register(OpDef(
    "reshape", (Param("tensor", TENSOR), Param("shape", "ints")),
    "the same elements in a new shape, row-major; one size may be -1 (inferred)",
    _reshape_shape, lambda ctx: _own(ctx, "tensor", reshape(ctx.x("tensor"), _reshape_shape(ctx))),
    "dtensor += reshape(G, shape(tensor))", "array_grad.py _ReshapeGrad", "shape",
    errors=("TG202",),
))


# -- expand_dims / squeeze -------------------------------------------------------

def _expand_shape(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("input")
    axis = ctx.a("axis")
    if isinstance(axis, (list, tuple)):
        raise ctx.error("axis must be a single int", "TG202", "axis")
    (a,) = norm_axes(ctx, axis, x.rank, extra=1)
    s = list(x.shape)
    s.insert(a, 1)
    return tuple(s)


register(OpDef(
    "expand_dims", (Param("input", TENSOR), Param("axis", "int")),
    "insert an axis of size 1 at axis (negative counts from the end of the result)",
    _expand_shape, lambda ctx: _own(ctx, "input", reshape(ctx.x("input"), _expand_shape(ctx))),
    "dinput += reshape(G, shape(input))", "array_grad.py _ExpandDimsGrad", "shape",
    errors=("TG202",),
))


def _squeeze_shape(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("input")
    axis = ctx.a("axis")
    if axis is None or axis == []:
        return tuple(d for d in x.shape if d != 1)
    axes = norm_axes(ctx, axis, x.rank)
    for a in axes:
        if x.shape[a] != 1:
            raise ctx.error(
                f"cannot squeeze axis {a} of {ctx.label('input')} (shape {fmt_shape(x.shape)}): "
                f"its size is {x.shape[a]}, not 1", "TG202", "axis")
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


register(OpDef(
    "squeeze", (Param("input", TENSOR), Param("axis", "axis", None)),
    "remove axes of size 1 (all of them, or those listed)",
    _squeeze_shape, lambda ctx: _own(ctx, "input", reshape(ctx.x("input"), _squeeze_shape(ctx))),
    "dinput += reshape(G, shape(input))", "array_grad.py _SqueezeGrad", "shape",
    errors=("TG202",),
))
