"""Shape and movement: ``transpose``, ``reshape``, ``expand_dims``,
``squeeze``, ``broadcast_to``, ``tile``, ``concat``, ``stack``, ``unstack``,
``split``, ``zeros_like``, ``ones_like``. Each lowers to movement nodes
(reshape, transpose, broadcast, slice from ``indexing``, concat here) whose
VJPs move the cotangent back as TF's gradients do: tile is a broadcast of an
interleaved reshape (TF's ``_TileGrad`` sums exactly those axes); stack is a
concat of reshapes; unstack and split are slices (TF's ``_UnpackGrad`` and
``_SplitGrad`` stack/concat the outputs' cotangents with zeros for unused
outputs, which the sum of the slices' VJPs equals)."""

from __future__ import annotations

import numpy as np

from ..moves import REQUIRED, Prim, keyword_args, register as register_move
from ..tensor import DTYPES, Node, broadcast_to, ew, fill, prim, reshape, transpose
from .common import norm_axes
from .spec import TENSOR, TENSORS, Ctx, OpDef, Param, fmt_shape, register


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
    examples=(
        "{tensor: {shape: [2, 3]}, shape: [3, 2]}",
        "{tensor: {shape: [2, 3]}, shape: [-1]}",
    ),
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
    errors=("TG202", "TG203"),
    examples=(
        "{input: {shape: [2, 3]}, axis: 1}",
    ),
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
    errors=("TG202", "TG203"),
))


# -- broadcast_to / tile -----------------------------------------------------------

def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _target_shape(ctx: Ctx, param: str) -> tuple[int, ...]:
    v = ctx.a(param)
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list) or not all(_is_int(d) for d in v):
        raise ctx.error(f"{param} must be a list of integers, got {v!r}", "TG203", param)
    if any(d < 0 for d in v):
        raise ctx.error(f"{param} {v} has a negative size", "TG202", param)
    return tuple(int(d) for d in v)


def _broadcast_shape(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("input")
    shape = _target_shape(ctx, "shape")
    lab = ctx.label("input")
    if x.rank > len(shape):
        raise ctx.error(f"cannot broadcast {lab} of shape {fmt_shape(x.shape)} to "
                        f"{fmt_shape(shape)}: the target has fewer axes", "TG202", "shape")
    lead = len(shape) - x.rank
    for i, d in enumerate(x.shape):
        if d != 1 and d != shape[lead + i]:
            raise ctx.error(
                f"cannot broadcast {lab} of shape {fmt_shape(x.shape)} to {fmt_shape(shape)}: "
                f"axis {i - x.rank} is {d} vs {shape[lead + i]} (aligned from the right, each "
                "size must equal the target's or be 1)", "TG202", "shape")
    return shape


register(OpDef(
    "broadcast_to", (Param("input", TENSOR), Param("shape", "ints")),
    "input repeated along new leading axes and axes of size 1 to reach shape (NumPy broadcasting)",
    _broadcast_shape, lambda ctx: _own(ctx, "input", broadcast_to(ctx.x("input"), _broadcast_shape(ctx))),
    "dinput += G summed over the broadcast axes", "array_grad.py _BroadcastToGrad: "
    "reduce_sum(G, BroadcastGradientArgs axes) then reshape", "shape", errors=("TG202", "TG203"),
    examples=(
        "{input: {shape: [1, 3]}, shape: [2, 2, 3]}",
    ),
))


def _tile_multiples(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("input")
    m = _target_shape(ctx, "multiples")
    if len(m) != x.rank:
        raise ctx.error(
            f"multiples {list(m)} must have one entry per axis of {ctx.label('input')} "
            f"(shape {fmt_shape(x.shape)}, rank {x.rank})", "TG202", "multiples")
    return m


def _tile(ctx: Ctx) -> Node:
    x = ctx.x("input")
    m = _tile_multiples(ctx)
    # TF's _TileGrad reshapes G to [m0, d0, m1, d1, ...] and sums over the
    # multiples' axes: lowering tile to that broadcast makes the VJP exactly it.
    inter = tuple(v for d in x.shape for v in (1, d))
    wide = tuple(v for k, d in zip(m, x.shape) for v in (k, d))
    r = reshape(broadcast_to(reshape(x, inter), wide), tuple(k * d for k, d in zip(m, x.shape)))
    return _own(ctx, "input", r)


register(OpDef(
    "tile", (Param("input", TENSOR), Param("multiples", "ints")),
    "input repeated multiples[i] times along axis i",
    lambda ctx: tuple(k * d for k, d in zip(_tile_multiples(ctx), ctx.x("input").shape)), _tile,
    "dinput += sum of the tiles of G (reshape to [m0, d0, m1, d1, ...], sum over the m axes)",
    "array_grad.py _TileGrad: reduce_sum(reshape(G, split_shape), axes 0, 2, 4...)", "shape",
    errors=("TG202", "TG203"),
    examples=(
        "{input: {shape: [2, 3]}, multiples: [2, 1]}",
    ),
))


# -- concat / stack / unstack / split ------------------------------------------------

def _values(ctx: Ctx, param: str = "values") -> list[Node]:
    xs = list(ctx.xs(param))
    if not xs:
        raise ctx.error(f"{param} is an empty list", "TG203", param)
    d0 = xs[0].dtype
    for i, x in enumerate(xs[1:], 1):
        if x.dtype != d0:
            raise ctx.error(
                f"{ctx.label(param, 0)} is {d0} and {ctx.label(param, i)} is {x.dtype}; TensorFlow "
                "does not convert between dtypes implicitly (use cast)", "TG202", param)
    return xs


def _axis_in(ctx: Ctx, param: str, rank: int, what: str) -> int:
    a = ctx.a(param)
    if not _is_int(a):
        raise ctx.error(f"{param} must be an integer, got {a!r}", "TG203", param)
    if not -rank <= a < rank:
        raise ctx.error(f"{param} {a} is out of range for {what}; valid axes: "
                        f"{-rank} to {rank - 1}", "TG203", param)
    return int(a) % rank


def _concat_plan(ctx: Ctx) -> tuple[list[Node], int, tuple[int, ...]]:
    xs = _values(ctx)
    r = xs[0].rank
    if r == 0:
        raise ctx.error(f"cannot concatenate scalars ({ctx.label('values', 0)} has rank 0; use stack)",
                        "TG202", "values")
    axis = _axis_in(ctx, "axis", r, f"{ctx.label('values', 0)} of rank {r}")
    s0 = xs[0].shape
    for i, x in enumerate(xs[1:], 1):
        bad = x.rank != r or any(a != b for k, (a, b) in enumerate(zip(s0, x.shape)) if k != axis)
        if bad:
            raise ctx.error(
                f"{ctx.label('values', 0)} has shape {fmt_shape(s0)} and {ctx.label('values', i)} has "
                f"shape {fmt_shape(x.shape)}: every axis but axis {axis} must match", "TG202", "values")
    out = list(s0)
    out[axis] = sum(x.shape[axis] for x in xs)
    return xs, axis, tuple(out)


def _concat(ctx: Ctx) -> Node:
    xs, axis, _ = _concat_plan(ctx)
    if len(xs) == 1:
        return ew("identity", xs[0])  # TF: concat of one value is identity
    return prim("concat", *xs, attrs=(axis,))


def _concat_vjp(n: Node, g: Node) -> list:
    from .indexing import full_box, slice_node

    axis = n.attrs[0]
    out, start = [], 0
    for a in n.args:
        box = list(full_box(g.shape))
        box[axis] = (start, a.shape[axis], 1)
        start += a.shape[axis]
        out.append(slice_node(g, tuple(box)))
    return out


def _concat_shape(ops: tuple, a: tuple) -> tuple:
    s = list(ops[0].shape)
    s[a[0]] = sum(o.shape[a[0]] for o in ops)
    return tuple(s), ops[0].dtype


register_move(Prim(
    "concat", _concat_shape, lambda *xs: np.concatenate(xs[:-1], axis=xs[-1]), _concat_vjp,
    "concat([{args}]{kwargs})", r"\operatorname{{concat}}([{args}]{kwargs})",
    "the operands joined along an axis",
    "array_grad.py _ConcatGradV2: slice(G, offset_i, shape(x_i)) for each input",
    keywords=keyword_args(("axis", REQUIRED)),
))

register(OpDef(
    "concat", (Param("values", TENSORS), Param("axis", "int")),
    "the tensors joined along axis (every other axis must match)",
    lambda ctx: _concat_plan(ctx)[2], _concat,
    "dvalues[i] += the slice of G along axis where values[i] sits",
    "array_grad.py _ConcatGradV2: slices of G", "shape", errors=("TG202", "TG203"),
    examples=(
        "{values: [{shape: [2, 3]}, {shape: [2, 1]}], axis: 1}",
    ),
))


def _stack_plan(ctx: Ctx) -> tuple[list[Node], int, tuple[int, ...]]:
    xs = _values(ctx)
    s0 = xs[0].shape
    for i, x in enumerate(xs[1:], 1):
        if x.shape != s0:
            raise ctx.error(
                f"{ctx.label('values', 0)} has shape {fmt_shape(s0)} and {ctx.label('values', i)} has "
                f"shape {fmt_shape(x.shape)}: stack needs equal shapes", "TG202", "values")
    axis = _axis_in(ctx, "axis", len(s0) + 1, f"stacking tensors of rank {len(s0)}")
    out = list(s0)
    out.insert(axis, len(xs))
    return xs, axis, tuple(out)


def _stack(ctx: Ctx) -> Node:
    xs, axis, out = _stack_plan(ctx)
    one = list(xs[0].shape)
    one.insert(axis, 1)
    parts = [reshape(x, tuple(one)) for x in xs]
    if len(parts) == 1:
        return parts[0]
    return prim("concat", *parts, attrs=(axis,))


register(OpDef(
    "stack", (Param("values", TENSORS), Param("axis", "int", 0)),
    "the equal-shaped tensors stacked along a new axis",
    lambda ctx: _stack_plan(ctx)[2], _stack,
    "dvalues[i] = G[..., i, ...] (unstack(G, axis))",
    "array_grad.py _PackGrad: unstack(G, num, axis)", "shape", errors=("TG202", "TG203"),
))


def _unstack_plan(ctx: Ctx) -> tuple[int, int]:
    x = ctx.x("value")
    if x.rank == 0:
        raise ctx.error(f"cannot unstack {ctx.label('value')}, a scalar", "TG202", "value")
    axis = _axis_in(ctx, "axis", x.rank, f"{ctx.label('value')} of rank {x.rank}")
    num = ctx.a("num")
    if num is not None and num != x.shape[axis]:
        raise ctx.error(f"num {num} does not match axis {axis} of {ctx.label('value')} "
                        f"(shape {fmt_shape(x.shape)}), which has size {x.shape[axis]}", "TG202", "num")
    return axis, x.shape[axis]


def _parts(ctx: Ctx, x: Node, axis: int, sizes: list[int], squeeze: bool) -> list[Node]:
    from .indexing import full_box, slice_node

    out, start = [], 0
    for s in sizes:
        box = list(full_box(x.shape))
        box[axis] = (start, s, 1)
        start += s
        p = slice_node(x, tuple(box))
        if squeeze:
            p = reshape(p, x.shape[:axis] + x.shape[axis + 1:])
        out.append(ew("identity", p) if p is x else p)
    return out


def _unstack(ctx: Ctx) -> list[Node]:
    axis, n = _unstack_plan(ctx)
    return _parts(ctx, ctx.x("value"), axis, [1] * n, True)


register(OpDef(
    "unstack", (Param("value", TENSOR), Param("num", "int", None), Param("axis", "int", 0)),
    "the slices of value along axis, each without that axis (several outputs: u[0], u[1], ...)",
    lambda ctx: (lambda a: [ctx.x("value").shape[:a[0]] + ctx.x("value").shape[a[0] + 1:]] * a[1])(
        _unstack_plan(ctx)),
    _unstack, "dvalue = stack of the outputs' cotangents (zeros for outputs not used)",
    "array_grad.py _UnpackGrad: stack(G_i, axis)", "shape", errors=("TG202", "TG203"), outputs=0,
    n_outputs=lambda attrs: attrs.get("num") or 0,
))


def _split_sizes(ctx: Ctx) -> tuple[int, list[int]]:
    x = ctx.x("value")
    if x.rank == 0:
        raise ctx.error(f"cannot split {ctx.label('value')}, a scalar", "TG202", "value")
    axis = _axis_in(ctx, "axis", x.rank, f"{ctx.label('value')} of rank {x.rank}")
    d = x.shape[axis]
    spec = ctx.a("num_or_size_splits")
    where = f"axis {axis} of {ctx.label('value')} (shape {fmt_shape(x.shape)})"
    if _is_int(spec):
        spec = int(spec)
        if spec <= 0:
            raise ctx.error(f"num_or_size_splits must be positive, got {spec}", "TG202",
                            "num_or_size_splits")
        if d % spec:
            raise ctx.error(f"{where} has size {d}, which does not split evenly into {spec} parts",
                            "TG202", "num_or_size_splits")
        sizes = [d // spec] * spec
    elif isinstance(spec, (list, tuple)) and all(_is_int(s) for s in spec):
        sizes = [int(s) for s in spec]
        if not sizes:
            raise ctx.error("num_or_size_splits is an empty list", "TG202", "num_or_size_splits")
        if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
            raise ctx.error(f"sizes {sizes}: at most one -1 (inferred), the others non-negative",
                            "TG202", "num_or_size_splits")
        known = sum(s for s in sizes if s != -1)
        if -1 in sizes:
            if known > d:
                raise ctx.error(f"sizes {sizes} add up to {known}, more than the size {d} of {where}",
                                "TG202", "num_or_size_splits")
            sizes[sizes.index(-1)] = d - known
        elif known != d:
            raise ctx.error(f"sizes {sizes} add up to {known}, but {where} has size {d}",
                            "TG202", "num_or_size_splits")
    else:
        raise ctx.error(f"num_or_size_splits must be an integer or a list of integers, got {spec!r}",
                        "TG203", "num_or_size_splits")
    num = ctx.a("num")
    if num is not None and num != len(sizes):
        raise ctx.error(f"num {num} does not match the {len(sizes)} parts", "TG202", "num")
    return axis, sizes


def _split_shape(ctx: Ctx) -> list[tuple[int, ...]]:
    axis, sizes = _split_sizes(ctx)
    s = ctx.x("value").shape
    return [s[:axis] + (k,) + s[axis + 1:] for k in sizes]


def _split_n(attrs: dict) -> int:
    spec = attrs.get("num_or_size_splits")
    if isinstance(spec, (list, tuple)):
        return len(spec)
    return int(spec) if _is_int(spec) else 0


register(OpDef(
    "split",
    (Param("value", TENSOR), Param("num_or_size_splits", "any"), Param("axis", "int", 0),
     Param("num", "int", None)),
    "value cut along axis into num_or_size_splits equal parts, or parts of the listed sizes (one "
    "may be -1); several outputs: p[0], p[1], ...",
    _split_shape, lambda ctx: (lambda a: _parts(ctx, ctx.x("value"), a[0], a[1], False))(
        _split_sizes(ctx)),
    "dvalue = concat of the outputs' cotangents along axis (zeros for outputs not used)",
    "array_grad.py _SplitGrad / _SplitVGrad: concat(G_i, axis)", "shape",
    errors=("TG202", "TG203"), outputs=0, n_outputs=_split_n,
    examples=(
        "{value: {shape: [4, 3]}, num_or_size_splits: 2}",
        "{value: {shape: [2, 5]}, num_or_size_splits: [1, 4], axis: 1}",
    ),
))


# -- zeros_like / ones_like ----------------------------------------------------------

def _like(value: int):
    def forward(ctx: Ctx) -> Node:
        x = ctx.x("input")
        dtype = ctx.a("dtype") or x.dtype
        if dtype not in DTYPES:
            raise ctx.error(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}", "TG203", "dtype")
        return fill(value, x.shape, dtype)
    return forward


for _name, _v in (("zeros_like", 0), ("ones_like", 1)):
    register(OpDef(
        _name, (Param("input", TENSOR), Param("dtype", "dtype", None)),
        f"a tensor of input's shape (and dtype, unless given) filled with {_v}",
        lambda ctx: ctx.x("input").shape, _like(_v),
        "none: the result does not depend on input's values (None)",
        f"array_grad.py: {'ZerosLike' if _v == 0 else 'OnesLike'} is not differentiable", "shape",
        errors=("TG203",), differentiable=False,
    ))
