"""Indexing and slicing: ``slice``, ``strided_slice`` (subscripts),
``gather``, ``gather_nd``, ``reverse``, ``pad``, ``one_hot``; and the
movement kinds they lower to, each with a VJP built from movement nodes so
that gradients of gradients are TF's too:

- ``slice`` (a strided box, any step) <-> ``unslice`` (scatter into zeros):
  TF's ``_SliceGrad`` pads, ``_StridedSliceGrad`` calls StridedSliceGrad and
  ``_StridedSliceGradGrad`` slices again; the values are the same.
- ``pad`` (CONSTANT) -> ``slice``: TF's ``_PadGrad``.
- ``mirror_pad`` <-> ``mirror_pad_grad`` (REFLECT and SYMMETRIC fold the
  cotangent back): TF's ``_MirrorPadGrad`` / ``_MirrorPadGradGrad``.
- ``reverse`` <-> ``reverse``: TF's ``_ReverseV2Grad``.
- ``gather`` <-> ``scatter_add`` (repeated indices accumulate): TF's
  ``_GatherV2Grad`` (IndexedSlices, made dense by UnsortedSegmentSum) and
  the segment sum's gradient, a gather.
- ``gather_nd`` <-> ``scatter_nd``: TF's ``_GatherNdGrad`` / ``_ScatterNdGrad``.
- ``one_hot``: not differentiable.

Index tensors are integer tensors. An inline literal of integers
(``gather(x, [1, 1, 0])``) is read as int32, as TF converts a Python list;
any other float tensor given as indices is an error, as in TF. Constant
index tensors are validated when the op is lowered (``Ctx.value``);
indices computed by other ops are checked by the kernel when evaluated
(TF's CPU kernels raise ``InvalidArgumentError`` there too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ..graph import GraphError
from ..moves import REQUIRED, Prim, keyword_args, register as register_move
from ..tensor import DTYPES, INT_DTYPES, Node, ew, is_float, prim, reshape, tensor
from .common import norm_axes
from .spec import TENSOR, Ctx, OpDef, Param, fmt_shape, register

BoxAxes = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class Box:
    """A strided box over a tensor of shape ``dims``: per axis ``(start,
    size, step)``, the elements ``start + k*step`` for ``k < size`` (step may
    be negative). Iterates as its axes; prints as a subscript (``[1:3, ::-1]``)
    so that explain shows ``x[1:3, ::-1]``."""

    axes: BoxAxes
    dims: tuple[int, ...]

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        return iter(self.axes)

    def __len__(self) -> int:
        return len(self.axes)

    def __getitem__(self, i: int) -> tuple[int, int, int]:
        return self.axes[i]

    def __str__(self) -> str:
        return "[" + ", ".join(_axis_text(*a, d) for a, d in zip(self.axes, self.dims)) + "]"


def _axis_text(start: int, size: int, step: int, dim: int) -> str:
    if size == dim and ((step == 1 and start == 0) or (step == -1 and start == dim - 1)):
        return ":" if step == 1 else "::-1"
    if size == 0:
        return "0:0"
    stop = start + (size - 1) * step + (1 if step > 0 else -1)
    text = f"{start}:{stop if stop >= 0 else ''}"
    return text + (f":{step}" if step != 1 else "")


@dataclass(frozen=True)
class Along:
    """gather's axis and batch_dims; ``where`` names the op for run-time
    index errors. Prints as ``axis=1, batch_dims=1``."""

    axis: int
    batch_dims: int
    where: str = field(compare=False)

    def __str__(self) -> str:
        return f"axis={self.axis}" + (f", batch_dims={self.batch_dims}" if self.batch_dims else "")


@dataclass(frozen=True)
class NdSpec:
    """gather_nd's batch_dims and the op's name for run-time index errors."""

    batch_dims: int
    where: str = field(compare=False)

    def __str__(self) -> str:
        return f"batch_dims={self.batch_dims}"


def _prod(xs) -> int:
    n = 1
    for d in xs:
        n *= int(d)
    return n


def _own(ctx: Ctx, param: str, r: Node) -> Node:
    # A movement that changes nothing is the input itself; the op still needs
    # a node of its own (an x may name it).
    return ew("identity", r) if r is ctx.x(param) else r


def _pyslices(box: Box | BoxAxes) -> tuple:
    out = []
    for start, size, step in box:
        if size == 0:
            out.append(slice(0, 0, 1))
            continue
        stop = start + (size - 1) * step + (1 if step > 0 else -1)
        out.append(slice(start, stop if stop >= 0 else None, step))
    return tuple(out)


def full_box(shape) -> BoxAxes:
    return tuple((0, d, 1) for d in shape)


def slice_node(x: Node, box: Box | BoxAxes) -> Node:
    """``x`` restricted to ``box`` (``x`` itself when the box is all of it)."""
    axes = tuple(tuple(int(v) for v in b) for b in box)
    if axes == full_box(x.shape):
        return x
    return prim("slice", x, attrs=(Box(axes, tuple(x.shape)),))


def _slice_np(x: np.ndarray, box: Box) -> np.ndarray:
    return x[_pyslices(box)]


def _unslice_np(g: np.ndarray, box: Box, shape) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    out[_pyslices(box)] = g
    return out


register_move(Prim(
    "slice",
    lambda ops, a: (tuple(s for _, s, _ in a[0]), ops[0].dtype),
    _slice_np,
    lambda n, g: [prim("unslice", g, attrs=(n.attrs[0], n.args[0].shape))],
    "{0}{attrs}", "{0}{attrs}",
    "a strided box of x: per axis (start, size, step)",
    "array_grad.py _SliceGrad (pad) / _StridedSliceGrad (StridedSliceGrad)",
))
register_move(Prim(
    "unslice",
    lambda ops, a: (tuple(a[1]), ops[0].dtype),
    _unslice_np,
    lambda n, g: [slice_node(g, n.attrs[0])],
    "unslice({0}{kwargs})", r"\operatorname{{unslice}}({0}{kwargs})",
    "zeros of the sliced tensor's shape with g written into the box: the VJP of a slice",
    "array_grad.py _StridedSliceGradGrad: strided_slice(G) (and _PadGrad: slice)",
    keywords=keyword_args(("", REQUIRED), ("shape", REQUIRED)),
))


def _pad_np(x: np.ndarray, paddings, value) -> np.ndarray:
    return np.pad(x, paddings, mode="constant", constant_values=np.asarray(value, dtype=x.dtype))


register_move(Prim(
    "pad",
    lambda ops, a: (tuple(d + lo + hi for d, (lo, hi) in zip(ops[0].shape, a[0])), ops[0].dtype),
    _pad_np,
    lambda n, g: [slice_node(g, tuple((lo, d, 1) for d, (lo, _) in zip(n.args[0].shape, n.attrs[0])))],
    "pad({0}{kwargs})", r"\operatorname{{pad}}({0}{kwargs})",
    "x surrounded by a constant (CONSTANT mode)",
    "array_grad.py _PadGrad: slice(G, paddings[:, 0], shape(x))",
    # TF's pad(tensor, paddings, mode='CONSTANT', constant_values=0)
    keywords=keyword_args(("", REQUIRED), ("constant_values", 0)),
))


def _mirror_np(x: np.ndarray, paddings, mode: str) -> np.ndarray:
    return np.pad(x, paddings, mode="reflect" if mode == "REFLECT" else "symmetric")


def _mirror_grad_np(g: np.ndarray, paddings, mode: str, shape) -> np.ndarray:
    out = g
    np_mode = "reflect" if mode == "REFLECT" else "symmetric"
    for ax, (lo, hi) in enumerate(paddings):
        if lo == 0 and hi == 0:
            continue
        n = shape[ax]
        idx = np.pad(np.arange(n), (lo, hi), mode=np_mode)
        new = np.zeros(out.shape[:ax] + (n,) + out.shape[ax + 1:], dtype=g.dtype)
        np.add.at(new, (slice(None),) * ax + (idx,), out)
        out = new
    return out


register_move(Prim(
    "mirror_pad",
    lambda ops, a: (tuple(d + lo + hi for d, (lo, hi) in zip(ops[0].shape, a[0])), ops[0].dtype),
    _mirror_np,
    lambda n, g: [prim("mirror_pad_grad", g, attrs=(n.attrs[0], n.attrs[1], n.args[0].shape))],
    "pad({0}{kwargs})", r"\operatorname{{pad}}({0}{kwargs})",
    "x padded with its own reflection (REFLECT: edge not repeated; SYMMETRIC: repeated)",
    "array_grad.py _MirrorPadGrad: MirrorPadGrad(G, paddings, mode)",
    keywords=keyword_args(("", REQUIRED), ("mode", REQUIRED)),
))
register_move(Prim(
    "mirror_pad_grad",
    lambda ops, a: (tuple(a[2]), ops[0].dtype),
    _mirror_grad_np,
    lambda n, g: [prim("mirror_pad", g, attrs=(n.attrs[0], n.attrs[1]))],
    "mirror_pad_grad({0}{kwargs})", r"\operatorname{{pad}}^{{\top}}({0}{kwargs})",
    "the padded cotangent folded back onto the input: each reflected entry adds to its source",
    "array_grad.py _MirrorPadGradGrad: MirrorPad(G, paddings, mode)",
    keywords=keyword_args(("", REQUIRED), ("mode", REQUIRED), None),  # the shape is the result's
))
register_move(Prim(
    "reverse",
    lambda ops, a: (ops[0].shape, ops[0].dtype),
    lambda x, axes: np.flip(x, axes),
    lambda n, g: [prim("reverse", g, attrs=n.attrs)],
    "reverse({0}{kwargs})", r"\operatorname{{rev}}({0}{kwargs})",
    "x with the order of the listed axes reversed",
    "array_grad.py _ReverseV2Grad: reverse(G, axis)",
    keywords=keyword_args(("axis", REQUIRED)),
))


# -- gather / scatter_add ------------------------------------------------------------

def _index_error(where: str, msg: str) -> GraphError:
    # TF's CPU kernels raise InvalidArgumentError at run time: a KernelError
    # (no position: the values only exist while evaluating), coded as TG202.
    from .linalg import KernelError

    return KernelError(f"{where}: {msg}", "TG202")


def _check_range(idx: np.ndarray, n: int, where: str, what: str) -> None:
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        at = ",".join(str(i) for i in pos)
        raise _index_error(where, f"indices[{at}] = {int(idx[pos])} is not in [0, {n}) ({what})")


def _gather_geometry(pshape, ishape, axis: int, bd: int):
    B = _prod(pshape[:bd])
    pre = _prod(pshape[bd:axis])
    n = pshape[axis]
    post = _prod(pshape[axis + 1:])
    k = _prod(ishape[bd:])
    return B, pre, n, post, k


def _gather_np(p: np.ndarray, idx: np.ndarray, spec: Along) -> np.ndarray:
    axis, bd = spec.axis, spec.batch_dims
    B, pre, n, post, k = _gather_geometry(p.shape, idx.shape, axis, bd)
    _check_range(idx, n, spec.where, f"axis {axis} has size {n}")
    p4 = p.reshape(B, pre, n, post)
    i2 = idx.reshape(B, k).astype(np.intp)
    out = p4[np.arange(B)[:, None], :, i2, :]  # (B, K, pre, post)
    out = out.transpose(0, 2, 1, 3)
    return out.reshape(p.shape[:axis] + idx.shape[bd:] + p.shape[axis + 1:])


def _scatter_add_np(g: np.ndarray, idx: np.ndarray, spec: Along, shape) -> np.ndarray:
    axis, bd = spec.axis, spec.batch_dims
    B, pre, n, post, k = _gather_geometry(shape, idx.shape, axis, bd)
    _check_range(idx, n, spec.where, f"axis {axis} has size {n}")
    i2 = idx.reshape(B, k).astype(np.intp)
    g4 = g.reshape(B, pre, k, post).transpose(0, 2, 1, 3)  # (B, K, pre, post)
    if g.dtype == np.float64:
        # flat positions in out (B, pre, n, post), added in g's order: bincount
        # gives np.add.at's sums bit for bit, three times faster
        pos = ((np.arange(B)[:, None, None, None] * pre + np.arange(pre)[None, None, :, None]) * n
               + i2[:, :, None, None]) * post + np.arange(post)
        return _accumulate(pos, g4, B * pre * n * post).reshape(shape)
    out = np.zeros((B, pre, n, post), dtype=g.dtype)
    np.add.at(out, (np.arange(B)[:, None], slice(None), i2, slice(None)), g4)
    return out.reshape(shape)


def _accumulate(pos: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """float64 scatter-add of ``values`` at flat positions ``pos`` (same shape)."""
    return np.bincount(pos.reshape(-1), weights=values.reshape(-1), minlength=size)


def _gather_shape(ops, a):
    p, i = ops
    axis, bd = a[0].axis, a[0].batch_dims
    return p.shape[:axis] + i.shape[bd:] + p.shape[axis + 1:], p.dtype


register_move(Prim(
    "gather",
    _gather_shape,
    _gather_np,
    lambda n, g: [prim("scatter_add", g, n.args[1], attrs=(n.attrs[0], n.args[0].shape)), None],
    "gather({0}, {1}{kwargs})", r"\operatorname{{gather}}({0}, {1}{kwargs})",
    "entries of params along axis picked by indices (batch_dims leading axes shared)",
    "array_ops.py/array_grad.py _GatherV2Grad: IndexedSlices(G, indices) summed by UnsortedSegmentSum",
    keywords=lambda a: _along_keywords(a[0]),
))
register_move(Prim(
    "scatter_add",
    lambda ops, a: (tuple(a[1]), ops[0].dtype),
    _scatter_add_np,
    lambda n, g: [prim("gather", g, n.args[1], attrs=(n.attrs[0],)), None],
    "scatter_add({0}, {1}{kwargs})", r"\operatorname{{scatter}}({0}, {1}{kwargs})",
    "zeros of params' shape with each slice of g added at its index (repeated indices accumulate): "
    "the VJP of gather",
    "math_grad.py _UnsortedSegmentSumGrad: gather(G, segment_ids)",
    keywords=lambda a: _along_keywords(a[0]),  # the shape is the result's
))


# -- gather_nd / scatter_nd -----------------------------------------------------------

def _nd_key(pshape, idx: np.ndarray, bd: int, where: str):
    B = _prod(pshape[:bd])
    d = idx.shape[-1]
    inner = tuple(pshape[bd:bd + d])
    rest = tuple(pshape[bd + d:])
    m = _prod(idx.shape[bd:-1])
    i3 = idx.reshape(B, m, d).astype(np.intp)
    bad = np.zeros((B, m), dtype=bool)
    for j, n in enumerate(inner):
        bad |= (i3[..., j] < 0) | (i3[..., j] >= n)
    if bad.any():
        b, mm = (int(v) for v in np.argwhere(bad)[0])
        pos = np.unravel_index(b * m + mm, idx.shape[:-1]) if idx.shape[:-1] else ()
        at = ",".join(str(int(v)) for v in pos)
        raise _index_error(where, f"indices[{at}] = {[int(v) for v in i3[b, mm]]} does not index "
                                  f"into param shape {list(pshape)}")
    key = (np.broadcast_to(np.arange(B)[:, None], (B, m)),) + tuple(i3[..., j] for j in range(d))
    return B, m, inner, rest, key


def _gather_nd_np(p: np.ndarray, idx: np.ndarray, spec: NdSpec) -> np.ndarray:
    B, m, inner, rest, key = _nd_key(p.shape, idx, spec.batch_dims, spec.where)
    out = p.reshape((B,) + inner + rest)[key]
    return out.reshape(idx.shape[:-1] + rest)


def _scatter_nd_np(g: np.ndarray, idx: np.ndarray, spec: NdSpec, shape) -> np.ndarray:
    B, m, inner, rest, key = _nd_key(shape, idx, spec.batch_dims, spec.where)
    vals = g.reshape((B, m) + rest)
    if g.dtype == np.float64:
        r = _prod(rest)
        cell = np.ravel_multi_index(key, (B,) + inner) if inner or B else key[0]
        pos = cell.reshape(B, m, 1) * r + np.arange(r)
        return _accumulate(pos, vals.reshape(B, m, r), _prod(shape)).reshape(shape)
    out = np.zeros((B,) + inner + rest, dtype=g.dtype)
    np.add.at(out, key, vals)
    return out.reshape(shape)


register_move(Prim(
    "gather_nd",
    lambda ops, a: (ops[1].shape[:-1] + ops[0].shape[a[0].batch_dims + ops[1].shape[-1]:], ops[0].dtype),
    _gather_nd_np,
    lambda n, g: [prim("scatter_nd", g, n.args[1], attrs=(n.attrs[0], n.args[0].shape)), None],
    "gather_nd({0}, {1}{kwargs})", r"\operatorname{{gather\_nd}}({0}, {1}{kwargs})",
    "slices of params addressed by the last axis of indices (multi-indices)",
    "array_grad.py _GatherNdGrad: scatter_nd(indices, G, shape(params))",
    keywords=lambda a: [("batch_dims", a[0].batch_dims)] if a[0].batch_dims else [],
))
register_move(Prim(
    "scatter_nd",
    lambda ops, a: (tuple(a[1]), ops[0].dtype),
    _scatter_nd_np,
    lambda n, g: [prim("gather_nd", g, n.args[1], attrs=(n.attrs[0],)), None],
    "scatter_nd({0}, {1}{kwargs})", r"\operatorname{{scatter}}({0}, {1}{kwargs})",
    "zeros of params' shape with g added at each multi-index (repeats accumulate): the VJP of gather_nd",
    "array_grad.py _ScatterNdGrad: gather_nd(G, indices)",
    keywords=lambda a: [("batch_dims", a[0].batch_dims)] if a[0].batch_dims else [],
))


def _one_hot_np(idx: np.ndarray, depth: int, on: Any, off: Any, axis: int, dtype: str) -> np.ndarray:
    a = axis if axis >= 0 else idx.ndim
    shape = [1] * (idx.ndim + 1)
    shape[a] = depth
    eq = np.expand_dims(idx, a) == np.arange(depth).reshape(shape)
    return np.where(eq, np.asarray(on, dtype=dtype), np.asarray(off, dtype=dtype)).astype(dtype)


def _along_keywords(spec: Along) -> list:
    """gather's axis and batch_dims as TF's arguments (0 is TF's default)."""
    return [(k, v) for k, v in (("axis", spec.axis), ("batch_dims", spec.batch_dims)) if v]


def _one_hot_shape(ops, a):
    s = list(ops[0].shape)
    axis = a[3] if a[3] >= 0 else len(s)
    s.insert(axis, a[0])
    return tuple(s), a[4]


register_move(Prim(
    "one_hot", _one_hot_shape, _one_hot_np, None,
    "one_hot({0}{kwargs})", r"\operatorname{{onehot}}({0}{kwargs})",
    "on_value where the index equals the position along axis, off_value elsewhere "
    "(indices outside [0, depth) give a row of off_value)",
    "array_ops.py: OneHot is not differentiable (its indices are integers)", no_grad=True,
    # TF's one_hot(indices, depth, on_value=1, off_value=0, axis=-1, dtype): the
    # dtype shows where it is not a float (a float one_hot is the graph's dtype)
    keywords=lambda a: keyword_args(("", REQUIRED), ("on_value", 1), ("off_value", 0), ("axis", -1))(a)
    + ([("dtype", a[4])] if a[4] not in ("float32", "float64") else []),
))


# -- index tensors -------------------------------------------------------------------

def index_input(ctx: Ctx, param: str) -> tuple[Node, np.ndarray | None]:
    """The integer tensor of ``param`` and its constant value when known.
    An inline literal of integers becomes int32 (TF converts a Python list
    to int32); a float or bool tensor is an error, as TF's kernels accept
    only integer indices."""
    x = ctx.x(param)
    v = ctx.value(param)
    if x.dtype in INT_DTYPES:
        return x, (None if v is None else np.asarray(v))
    if getattr(x, "kind", None) == "literal" and is_float(x.dtype):
        if v is not None and not np.all(np.asarray(v) == np.round(np.asarray(v))):
            raise ctx.error(f"{param} {ctx.label(param)} are not integers; indices must be "
                            "whole numbers", "TG202", param)
        x = tensor(x.name, x.shape, "int32", x.kind)
        ctx.inputs[param] = x
        return x, (None if v is None else np.asarray(v).astype(np.int64))
    raise ctx.error(
        f"{param} {ctx.label(param)} is {x.dtype}; indices must be int32 or int64 tensors "
        f"(write {{value: [...], dtype: int32}}, or cast(..., 'int32'))", "TG202", param)


def _ints(ctx: Ctx, param: str, *, allow_none: bool = False, nested: bool = False) -> Any:
    v = ctx.a(param)
    if v is None and allow_none:
        return None

    def ok(x):
        return isinstance(x, (int, np.integer)) and not isinstance(x, bool)

    if isinstance(v, tuple):
        v = list(v)
    if nested:
        if not isinstance(v, list) or not all(isinstance(r, (list, tuple)) and all(ok(e) for e in r)
                                              for r in v):
            raise ctx.error(f"{param} must be a list of lists of integers, got {v!r}", "TG203", param)
        return [[int(e) for e in r] for r in v]
    if not isinstance(v, list) or not all(ok(e) for e in v):
        raise ctx.error(f"{param} must be a list of integers, got {v!r}", "TG203", param)
    return [int(e) for e in v]


def _int_attr(ctx: Ctx, param: str, *, allow_none: bool = False) -> int | None:
    v = ctx.a(param)
    if v is None and allow_none:
        return None
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise ctx.error(f"{param} must be an integer, got {v!r}", "TG203", param)
    return int(v)


def _where(ctx: Ctx) -> str:
    return f"{ctx.op.name} '{ctx.name}'"


# -- slice ---------------------------------------------------------------------------

def _slice_box(ctx: Ctx) -> BoxAxes:
    x = ctx.x("input_")
    begin = _ints(ctx, "begin")
    size = _ints(ctx, "size")
    lab = ctx.label("input_")
    if len(begin) != x.rank or len(size) != x.rank:
        raise ctx.error(
            f"begin {begin} and size {size} must each have one entry per axis of {lab} "
            f"(shape {fmt_shape(x.shape)}, rank {x.rank})", "TG202", "begin")
    box = []
    for i, (b, s, d) in enumerate(zip(begin, size, x.shape)):
        if not 0 <= b <= d:
            raise ctx.error(f"begin[{i}] = {b} is not in [0, {d}] (axis {i} of {lab}, shape "
                            f"{fmt_shape(x.shape)})", "TG202", "begin")
        if s == -1:
            s = d - b
        if not 0 <= s <= d - b:
            raise ctx.error(f"size[{i}] = {s} is not in [0, {d - b}] (axis {i} of {lab} has size {d} "
                            f"and begins at {b}; -1 means to the end)", "TG202", "size")
        box.append((b, s, 1))
    return tuple(box)


register(OpDef(
    "slice", (Param("input_", TENSOR), Param("begin", "ints"), Param("size", "ints")),
    "the box of size[i] entries from begin[i] on every axis (size -1: to the end)",
    lambda ctx: tuple(s for _, s, _ in _slice_box(ctx)),
    lambda ctx: _own(ctx, "input_", slice_node(ctx.x("input_"), _slice_box(ctx))),
    "dinput_ += G padded with zeros back to shape(input_)", "array_grad.py _SliceGrad: pad(G, ...)",
    "shape", errors=("TG202", "TG203"),
    examples=(
        "{input_: {shape: [3, 4]}, begin: [1, 0], size: [2, -1]}",
    ),
))


# -- strided_slice -------------------------------------------------------------------

_SHRINK, _NEW = -1, -2


def strided_spec(shape: tuple[int, ...], begin: list[int], end: list[int], strides: list[int],
                 begin_mask: int, end_mask: int, ellipsis_mask: int, new_axis_mask: int,
                 shrink_axis_mask: int) -> tuple[BoxAxes, tuple[int, ...]] | str:
    """TF's ``ValidateStridedSliceOp`` (core/util/strided_slice_op.cc): the
    box over the input and the final shape, or TF's error message."""
    if not (len(begin) == len(end) == len(strides)) or len(begin) >= 32:
        return (f"begin, end and strides must have equal lengths (got {len(begin)}, {len(end)}, "
                f"{len(strides)})")
    if ellipsis_mask & (ellipsis_mask - 1):
        return "multiple ellipses in slice spec not allowed"
    sdims = len(begin)
    after = 0
    seen = False
    for i in range(sdims):
        if seen and (1 << i) & new_axis_mask:
            after += 1
        if (1 << i) & ellipsis_mask:
            seen = True
    if not seen:
        ellipsis_mask |= 1 << sdims
        sdims += 1
    dims = len(shape)
    db = [0] * dims
    de = [0] * dims
    ds = [1] * dims
    bm = em = sm = 0
    gather: list[int] = []
    full = 0
    for i in range(sdims):
        if (1 << i) & ellipsis_mask:
            nxt = min(dims - (sdims - i) + 1 + after, dims)
            while full < nxt:
                db[full] = de[full] = 0
                ds[full] = 1
                bm |= 1 << full
                em |= 1 << full
                gather.append(full)
                full += 1
        elif (1 << i) & new_axis_mask:
            gather.append(_NEW)
        else:
            if full == dims:
                return f"index out of range using input dim {full}; input has only {dims} dims"
            db[full], de[full], ds[full] = begin[i], end[i], strides[i]
            if begin_mask & (1 << i):
                bm |= 1 << full
            if end_mask & (1 << i):
                em |= 1 << full
            if shrink_axis_mask & (1 << i):
                gather.append(_SHRINK)
                sm |= 1 << full
            else:
                gather.append(full)
            full += 1
    box = []
    for i in range(dims):
        b, e, s, d = db[i], de[i], ds[i], shape[i]
        if s == 0:
            return f"strides[{i}] must be non-zero"
        shrink = bool(sm & (1 << i))
        if shrink and s <= 0:
            return "only stride 1 allowed on non-range indexing"
        masks = (bm & (1 << i), em & (1 << i))
        valid = (0, d) if s > 0 else (-1, d - 1)

        def canonical(x: int, c: int) -> int:
            if masks[c]:
                return valid[c] if s > 0 else valid[(c + 1) & 1]
            xf = d + x if x < 0 else x
            return valid[0] if xf < valid[0] else valid[1] if xf > valid[1] else xf

        if shrink:
            xf = d + b if b < 0 else b
            if xf < 0 or xf >= d:
                return f"index {b} is out of bounds for axis {i} of size {d}"
            b, e = xf, xf + 1
        else:
            b, e = canonical(b, 0), canonical(e, 1)
        length = e - b
        if length == 0 or ((length < 0) != (s < 0)):
            size = 0
        else:
            size = -(-abs(length) // abs(s))
        box.append((b if size else 0, size, s if size else 1))
    final = []
    for gi in gather:
        if gi >= 0:
            final.append(box[gi][1])
        elif gi == _NEW:
            final.append(1)
    return tuple(box), tuple(final)


_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _strided(ctx: Ctx) -> tuple[BoxAxes, tuple[int, ...]]:
    x = ctx.x("input_")
    begin = _ints(ctx, "begin")
    end = _ints(ctx, "end")
    strides = _ints(ctx, "strides", allow_none=True)
    if strides is None:
        strides = [1] * len(begin)
    masks = [_int_attr(ctx, m) for m in _MASKS]
    r = strided_spec(tuple(x.shape), begin, end, strides, *masks)
    if isinstance(r, str):
        raise ctx.error(f"{r} (slicing {ctx.label('input_')} of shape {fmt_shape(x.shape)})",
                        "TG202", "begin")
    return r


def _strided_forward(ctx: Ctx) -> Node:
    box, final = _strided(ctx)
    return _own(ctx, "input_", reshape(slice_node(ctx.x("input_"), box), final))


register(OpDef(
    "strided_slice",
    (Param("input_", TENSOR), Param("begin", "ints"), Param("end", "ints"),
     Param("strides", "ints", None)) + tuple(Param(m, "int", 0) for m in _MASKS),
    "x[begin:end:strides] per axis with TF's masks (what a subscript x[...] means): negative "
    "indices count from the end, out-of-range bounds clamp, ellipsis, new axes, shrunk axes",
    lambda ctx: _strided(ctx)[1], _strided_forward,
    "dinput_ += zeros of shape(input_) with G written back at the sliced positions",
    "array_grad.py _StridedSliceGrad: StridedSliceGrad(shape(x), begin, end, strides, G, masks)",
    "shape", errors=("TG202", "TG203"),
    examples=(
        "{input_: {shape: [4, 5]}, begin: [1, 4], end: [4, 0], strides: [2, -2]}",
    ),
))


# -- gather / gather_nd --------------------------------------------------------------

def _gather_axes(ctx: Ctx) -> tuple[int, int]:
    p = ctx.x("params")
    i = ctx.x("indices")
    bd = _int_attr(ctx, "batch_dims")
    axis = _int_attr(ctx, "axis", allow_none=True)
    if bd < 0:
        bd += i.rank
    if axis is None:
        axis = bd
    if not -p.rank <= axis < p.rank:
        raise ctx.error(f"axis {ctx.a('axis')} is out of range for {ctx.label('params')} of rank "
                        f"{p.rank} (shape {fmt_shape(p.shape)})", "TG203", "axis")
    axis %= p.rank
    if not 0 <= bd <= i.rank:
        raise ctx.error(f"batch_dims {ctx.a('batch_dims')} is out of range for indices "
                        f"{ctx.label('indices')} of rank {i.rank}", "TG202", "batch_dims")
    if bd > axis:
        raise ctx.error(f"batch_dims ({bd}) must be less than or equal to axis ({axis})",
                        "TG202", "batch_dims")
    if tuple(p.shape[:bd]) != tuple(i.shape[:bd]):
        raise ctx.error(
            f"the first {bd} axes (batch_dims) of {ctx.label('params')} (shape {fmt_shape(p.shape)}) "
            f"and of indices {ctx.label('indices')} (shape {fmt_shape(i.shape)}) must be equal",
            "TG202", "indices")
    return axis, bd


def _gather_check(ctx: Ctx) -> tuple[Node, int, int]:
    idx, v = index_input(ctx, "indices")
    axis, bd = _gather_axes(ctx)
    p = ctx.x("params")
    if v is not None:
        n = p.shape[axis]
        bad = (v < 0) | (v >= n)
        if bad.any():
            pos = tuple(int(k) for k in np.argwhere(bad)[0])
            raise ctx.error(
                f"index {int(v[pos])} (at indices{list(pos)} of {ctx.label('indices')}) is out of "
                f"range for axis {axis} of {ctx.label('params')} (shape {fmt_shape(p.shape)}): "
                f"valid indices are 0 to {n - 1}", "TG202", "indices")
    return idx, axis, bd


def _gather_shape_rule(ctx: Ctx) -> tuple[int, ...]:
    idx, axis, bd = _gather_check(ctx)
    p = ctx.x("params")
    return p.shape[:axis] + idx.shape[bd:] + p.shape[axis + 1:]


def _gather_forward(ctx: Ctx) -> Node:
    idx, axis, bd = _gather_check(ctx)
    return prim("gather", ctx.x("params"), idx, attrs=(Along(axis, bd, _where(ctx)),))


register(OpDef(
    "gather",
    (Param("params", TENSOR), Param("indices", TENSOR), Param("validate_indices", "any", None),
     Param("axis", "int", None), Param("batch_dims", "int", 0)),
    "entries of params along axis at the integer indices (out.shape = params.shape[:axis] + "
    "indices.shape[batch_dims:] + params.shape[axis+1:]); indices must be in range",
    _gather_shape_rule, _gather_forward,
    "dparams += G's slices added at their indices along axis (repeated indices accumulate)",
    "array_grad.py _GatherV2Grad: IndexedSlices(G, indices), dense by UnsortedSegmentSum",
    "shape", errors=("TG202", "TG203"),
    examples=(
        "{params: {shape: [4, 3]}, indices: {value: [2, 0, 2], dtype: int32}}",
        "{params: {shape: [2, 4, 3]}, indices: {value: [[1, 1], [3, 0]], dtype: int64}, axis: 1, batch_dims: 1}",
    ),
))


def _gather_nd_check(ctx: Ctx) -> tuple[Node, int]:
    idx, v = index_input(ctx, "indices")
    p = ctx.x("params")
    bd = _int_attr(ctx, "batch_dims")
    lab_i = ctx.label("indices")
    if idx.rank < 1:
        raise ctx.error(f"indices {lab_i} must have rank >= 1 (its last axis holds the multi-index)",
                        "TG202", "indices")
    if not 0 <= bd < idx.rank or bd > p.rank:
        raise ctx.error(f"batch_dims {bd} must be in [0, {min(idx.rank - 1, p.rank)}]", "TG202",
                        "batch_dims")
    if tuple(p.shape[:bd]) != tuple(idx.shape[:bd]):
        raise ctx.error(
            f"the first {bd} axes (batch_dims) of {ctx.label('params')} (shape {fmt_shape(p.shape)}) "
            f"and of indices {lab_i} (shape {fmt_shape(idx.shape)}) must be equal", "TG202", "indices")
    depth = idx.shape[-1]
    if depth > p.rank - bd:
        raise ctx.error(
            f"indices {lab_i} (shape {fmt_shape(idx.shape)}) address {depth} axes but "
            f"{ctx.label('params')} (shape {fmt_shape(p.shape)}) has only {p.rank - bd} after "
            f"batch_dims={bd}", "TG202", "indices")
    if v is not None and v.size:
        inner = p.shape[bd:bd + depth]
        flat = v.reshape(-1, depth)
        for r, row in enumerate(flat):
            if any(not 0 <= int(c) < n for c, n in zip(row, inner)):
                pos = list(np.unravel_index(r, v.shape[:-1])) if v.ndim > 1 else []
                raise ctx.error(
                    f"indices{[int(k) for k in pos]} = {[int(c) for c in row]} of {lab_i} does not "
                    f"index into {ctx.label('params')} (shape {fmt_shape(p.shape)})", "TG202", "indices")
    return idx, bd


def _gather_nd_shape(ctx: Ctx) -> tuple[int, ...]:
    idx, bd = _gather_nd_check(ctx)
    p = ctx.x("params")
    return idx.shape[:-1] + p.shape[bd + idx.shape[-1]:]


register(OpDef(
    "gather_nd",
    (Param("params", TENSOR), Param("indices", TENSOR), Param("batch_dims", "int", 0)),
    "slices of params at the multi-indices in the last axis of indices (out.shape = "
    "indices.shape[:-1] + params.shape[batch_dims + indices.shape[-1]:])",
    _gather_nd_shape,
    lambda ctx: (lambda c: prim("gather_nd", ctx.x("params"), c[0], attrs=(NdSpec(c[1], _where(ctx)),)))(
        _gather_nd_check(ctx)),
    "dparams += G's slices added at their multi-indices (repeats accumulate)",
    "array_grad.py _GatherNdGrad: scatter_nd(indices, G, shape(params))",
    "shape", errors=("TG202", "TG203"),
    examples=(
        "{params: {shape: [3, 4]}, indices: {value: [[0, 1], [2, 3], [0, 1]], dtype: int32}}",
    ),
))


# -- reverse -------------------------------------------------------------------------

def _reverse_axes(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("tensor")
    axis = ctx.a("axis")
    if axis is None:
        raise ctx.error("axis must list the axes to reverse", "TG203", "axis")
    return norm_axes(ctx, axis, x.rank)


def _reverse_forward(ctx: Ctx) -> Node:
    x = ctx.x("tensor")
    axes = tuple(a for a in _reverse_axes(ctx) if x.shape[a] > 1)
    if not axes:
        return ew("identity", x)
    return prim("reverse", x, attrs=(axes,))


register(OpDef(
    "reverse", (Param("tensor", TENSOR), Param("axis", "axis")),
    "tensor with the order of entries along each listed axis reversed",
    lambda ctx: (_reverse_axes(ctx), ctx.x("tensor").shape)[1], _reverse_forward,
    "dtensor += reverse(G, axis)", "array_grad.py _ReverseV2Grad: reverse(G, axis)",
    "shape", errors=("TG202", "TG203"),
    examples=(
        "{tensor: {shape: [2, 3]}, axis: [1]}",
    ),
))


# -- pad -----------------------------------------------------------------------------

def _pad_spec(ctx: Ctx) -> tuple[tuple[tuple[int, int], ...], str]:
    x = ctx.x("tensor")
    paddings = _ints(ctx, "paddings", nested=True)
    mode = ctx.a("mode")
    if not isinstance(mode, str) or mode.upper() not in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        raise ctx.error(f"mode must be 'CONSTANT', 'REFLECT' or 'SYMMETRIC', got {mode!r}", "TG203",
                        "mode")
    mode = mode.upper()
    lab = ctx.label("tensor")
    if len(paddings) != x.rank or any(len(p) != 2 for p in paddings):
        raise ctx.error(
            f"paddings {paddings} must be {x.rank} pairs [before, after], one per axis of {lab} "
            f"(shape {fmt_shape(x.shape)})", "TG202", "paddings")
    for i, ((lo, hi), d) in enumerate(zip(paddings, x.shape)):
        if lo < 0 or hi < 0:
            raise ctx.error(f"paddings must be non-negative: axis {i} has [{lo}, {hi}]", "TG202",
                            "paddings")
        if mode == "REFLECT" and max(lo, hi) > d - 1:
            raise ctx.error(
                f"REFLECT paddings must be less than the axis size: axis {i} of {lab} (shape "
                f"{fmt_shape(x.shape)}) has size {d} and paddings [{lo}, {hi}] (at most {d - 1})",
                "TG202", "paddings")
        if mode == "SYMMETRIC" and max(lo, hi) > d:
            raise ctx.error(
                f"SYMMETRIC paddings must be no greater than the axis size: axis {i} of {lab} "
                f"(shape {fmt_shape(x.shape)}) has size {d} and paddings [{lo}, {hi}]",
                "TG202", "paddings")
    return tuple((lo, hi) for lo, hi in paddings), mode


def _pad_forward(ctx: Ctx) -> Node:
    x = ctx.x("tensor")
    paddings, mode = _pad_spec(ctx)
    if all(lo == 0 and hi == 0 for lo, hi in paddings):
        return ew("identity", x)
    if mode == "CONSTANT":
        value = ctx.a("constant_values")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ctx.error(f"constant_values must be a number, got {value!r}", "TG203",
                            "constant_values")
        return prim("pad", x, attrs=(paddings, value))
    return prim("mirror_pad", x, attrs=(paddings, mode))


register(OpDef(
    "pad",
    (Param("tensor", TENSOR), Param("paddings", "any"),
     Param("mode", "str", "CONSTANT", choices=("CONSTANT", "REFLECT", "SYMMETRIC"), upper=True),
     Param("constant_values", "float", 0)),
    "tensor with paddings[i] = [before, after] entries added on axis i: constant_values "
    "(CONSTANT), a reflection without the edge (REFLECT) or with it (SYMMETRIC)",
    lambda ctx: (lambda p: tuple(d + lo + hi for d, (lo, hi) in zip(ctx.x("tensor").shape, p[0])))(
        _pad_spec(ctx)),
    _pad_forward,
    "dtensor += the middle of G (CONSTANT); REFLECT/SYMMETRIC also fold the padded parts of G back "
    "onto the entries they copy",
    "array_grad.py _PadGrad (slice) / _MirrorPadGrad (MirrorPadGrad)",
    "shape", errors=("TG202", "TG203"),
    examples=(
        "{tensor: {shape: [2, 3]}, paddings: [[1, 0], [0, 2]], constant_values: 1.5}",
        "{tensor: {shape: [3, 3]}, paddings: [[1, 1], [2, 0]], mode: REFLECT}",
        "{tensor: {shape: [3, 3]}, paddings: [[1, 2], [0, 1]], mode: SYMMETRIC}",
    ),
))


# -- one_hot -------------------------------------------------------------------------

def _one_hot_attrs(ctx: Ctx) -> tuple:
    idx, _ = index_input(ctx, "indices")
    depth = _int_attr(ctx, "depth")
    if depth < 0:
        raise ctx.error(f"depth must be non-negative, got {depth}", "TG202", "depth")
    axis = _int_attr(ctx, "axis", allow_none=True)
    axis = -1 if axis is None else axis
    if not (axis == -1 or 0 <= axis <= idx.rank):
        raise ctx.error(f"axis must be -1 or in [0, {idx.rank}] for indices of rank {idx.rank}, "
                        f"got {axis}", "TG203", "axis")
    dtype = ctx.a("dtype")
    if dtype is None:
        dtype = ctx.dtype
    if dtype not in DTYPES:
        raise ctx.error(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}", "TG203", "dtype")
    on, off = ctx.a("on_value"), ctx.a("off_value")
    on = 1 if on is None else on
    off = 0 if off is None else off
    for name, val in (("on_value", on), ("off_value", off)):
        if not isinstance(val, (int, float, bool, np.number)):
            raise ctx.error(f"{name} must be a number, got {val!r}", "TG203", name)
    return idx, (depth, on, off, axis, dtype)


def _one_hot_shape_rule(ctx: Ctx) -> tuple[int, ...]:
    idx, a = _one_hot_attrs(ctx)
    return _one_hot_shape((idx,), a)[0]


register(OpDef(
    "one_hot",
    (Param("indices", TENSOR), Param("depth", "int"), Param("on_value", "float", None),
     Param("off_value", "float", None), Param("axis", "int", None), Param("dtype", "dtype", None)),
    "a new axis of size depth (last, or at axis) holding on_value (1) at each index and off_value "
    "(0) elsewhere; indices outside [0, depth) give off_value everywhere, as in TF. dtype defaults "
    "to the graph's floating dtype (TF's float32 default, read as every float of the file is)",
    _one_hot_shape_rule,
    lambda ctx: (lambda r: prim("one_hot", r[0], attrs=r[1]))(_one_hot_attrs(ctx)),
    "none: one_hot is not differentiable (its input is integer indices)",
    "array_ops.py one_hot: OneHot has no gradient", "shape",
    errors=("TG202", "TG203"), differentiable=False,
    examples=(
        "{indices: {value: [0, 2, 1], dtype: int32}, depth: 3}",
    ),
))


__all__ = ["Along", "Box", "NdSpec", "full_box", "index_input", "slice_node", "strided_spec"]
