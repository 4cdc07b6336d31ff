"""Convolution and pooling, NHWC: ``conv1d``, ``conv2d``, ``max_pool2d``,
``avg_pool2d``.

Each op lowers to TF's kernel as a ``Kernel`` node, whose VJP builds TF's
registered gradient from the other kernels, so that a gradient of a
gradient is TF's too:

- ``conv2d(x, w)``: VJP ``conv2d_backprop_input(w, G)``,
  ``conv2d_backprop_filter(x, G)`` (nn_grad.py ``_Conv2DGrad``); the two
  backprop kernels' VJPs are ``_Conv2DBackpropInputGrad`` and
  ``_Conv2DBackpropFilterGrad`` (each built from the other and conv2d).
- ``max_pool(x)``: VJP ``max_pool_grad(x, y, G)``; its VJP is
  ``max_pool_grad_grad`` (zeros for x and y), whose VJP is ``max_pool_grad``
  again (``_MaxPoolGrad``, ``_MaxPoolGradGrad``, ``_MaxPoolGradGradGrad``).
- ``avg_pool(x)``: VJP ``avg_pool_grad(G)``, whose VJP is ``avg_pool``
  (``_AvgPoolGrad``, ``_AvgPoolGradGrad``).

``conv1d`` is TF's: expand_dims to NHWC with H = 1, conv2d, squeeze.

Padding is resolved at lowering time to explicit pairs (TF's SAME:
``out = ceil(in / stride)``, ``total = max((out - 1)·stride + (k - 1)·d + 1
- in, 0)``, ``before = total // 2``), and every kernel of an op gets the same
pairs, as TF's backprop kernels recompute them from the same attributes.

Kernels evaluate at BLAS speed: windows are ``sliding_window_view`` slices,
convolutions are one matrix product (im2col), the backprop-input and
pooling kernels loop over the kernel's few taps (never over pixels).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..moves import REQUIRED, Prim, keyword_args, register as register_prim
from ..tensor import Node, fill, prim, reshape
from .common import same_dtype, weak_literals
from .spec import TENSOR, Ctx, OpDef, Param, fmt_shape, register

Pads = tuple[tuple[int, int], tuple[int, int]]


# -- window geometry ----------------------------------------------------------------

def _pad(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)


def _tap(a: np.ndarray, i: int, j: int, oh: int, ow: int, s: tuple, d: tuple = (1, 1)) -> Any:
    """The (N, OH, OW, C) slice of padded ``a`` that tap (i, j) of every window reads."""
    h0, w0 = i * d[0], j * d[1]
    return a[:, h0: h0 + (oh - 1) * s[0] + 1: s[0], w0: w0 + (ow - 1) * s[1] + 1: s[1], :]


def _cols(x: np.ndarray, kh: int, kw: int, oh: int, ow: int, s: tuple, d: tuple, pads: Pads) -> np.ndarray:
    """im2col: (N·OH·OW, KH·KW·C), rows in NHW order, columns in (kh, kw, c) order."""
    xp = _pad(x, pads)
    ekh, ekw = (kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1
    v = sliding_window_view(xp, (ekh, ekw), axis=(1, 2))  # N, Hp-ekh+1, Wp-ekw+1, C, ekh, ekw
    v = v[:, : (oh - 1) * s[0] + 1: s[0], : (ow - 1) * s[1] + 1: s[1], :, :: d[0], :: d[1]]
    n, c = x.shape[0], x.shape[3]
    return v.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * c)


# -- convolution kernels ------------------------------------------------------------

def _np_conv2d(x: np.ndarray, w: np.ndarray, s: tuple, d: tuple, pads: Pads) -> np.ndarray:
    kh, kw, c, k = w.shape
    n = x.shape[0]
    oh, ow = _out_hw(x.shape, (kh, kw), s, d, pads)
    if n * oh * ow == 0:
        return np.zeros((n, oh, ow, k), dtype=x.dtype)
    cols = _cols(x, kh, kw, oh, ow, s, d, pads)
    return (cols @ w.reshape(kh * kw * c, k)).reshape(n, oh, ow, k)


def _np_backprop_input(w: np.ndarray, g: np.ndarray, xshape: tuple, s: tuple, d: tuple,
                       pads: Pads) -> np.ndarray:
    kh, kw, c, k = w.shape
    n, h, wd, _ = xshape
    (pt, pb), (pl, pr) = pads
    oh, ow = g.shape[1], g.shape[2]
    dxp = np.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=g.dtype)
    if g.size:
        # col2im: one product for every tap, then a scatter-add per tap
        cols = (g.reshape(n * oh * ow, k) @ w.reshape(kh * kw * c, k).T).reshape(n, oh, ow, kh, kw, c)
        for i in range(kh):
            for j in range(kw):
                _tap(dxp, i, j, oh, ow, s, d)[...] += cols[:, :, :, i, j, :]
    return dxp[:, pt: pt + h, pl: pl + wd, :]


def _np_backprop_filter(x: np.ndarray, g: np.ndarray, wshape: tuple, s: tuple, d: tuple,
                        pads: Pads) -> np.ndarray:
    kh, kw, c, k = wshape
    n, oh, ow, _ = g.shape
    if n * oh * ow == 0:
        return np.zeros(wshape, dtype=x.dtype)
    cols = _cols(x, kh, kw, oh, ow, s, d, pads)
    return (cols.T @ g.reshape(n * oh * ow, k)).reshape(kh, kw, c, k)


def _out_hw(xshape: tuple, khw: tuple, s: tuple, d: tuple, pads: Pads) -> tuple[int, int]:
    out = []
    for size, kk, ss, dd, (a, b) in zip(xshape[1:3], khw, s, d, pads):
        ek = (kk - 1) * dd + 1
        out.append(max((size + a + b - ek) // ss + 1, 0))
    return out[0], out[1]


def _conv_vjp(n: Node, g: Node) -> list:
    # nn_grad.py _Conv2DGrad: [Conv2DBackpropInput(shape(x), w, G), Conv2DBackpropFilter(x, shape(w), G)]
    x, w = n.args
    s, d, pads = n.attrs
    return [prim("conv2d_backprop_input", w, g, attrs=(x.shape, s, d, pads)),
            prim("conv2d_backprop_filter", x, g, attrs=(w.shape, s, d, pads))]


def _backprop_input_vjp(n: Node, g: Node) -> list:
    # nn_grad.py _Conv2DBackpropInputGrad: [None, Conv2DBackpropFilter(G, shape(w), dy), Conv2D(G, w)]
    w, dy = n.args
    _, s, d, pads = n.attrs
    return [prim("conv2d_backprop_filter", g, dy, attrs=(w.shape, s, d, pads)),
            prim("conv2d", g, w, attrs=(s, d, pads))]


def _backprop_filter_vjp(n: Node, g: Node) -> list:
    # nn_grad.py _Conv2DBackpropFilterGrad: [Conv2DBackpropInput(shape(x), G, dy), None, Conv2D(x, G)]
    x, dy = n.args
    _, s, d, pads = n.attrs
    return [prim("conv2d_backprop_input", g, dy, attrs=(x.shape, s, d, pads)),
            prim("conv2d", x, g, attrs=(s, d, pads))]


def _conv_shape(ops: tuple, a: tuple) -> tuple:
    x, w = ops
    s, d, pads = a
    oh, ow = _out_hw(x.shape, w.shape[:2], s, d, pads)
    return (x.shape[0], oh, ow, w.shape[3]), x.dtype


_CONV_TEXT = "attrs: strides, dilations, ((top, bottom), (left, right)) padding"
# TF's conv2d(input, filters, strides, padding, dilations=1), the padding
# explicit ((top, bottom), (left, right)); a backprop's first attribute is
# the shape of its result (not printed)
_CONV_KEYWORDS = keyword_args(("strides", (1, 1)), ("dilations", (1, 1)), ("padding", REQUIRED))
_BACKPROP_KEYWORDS = keyword_args(None, ("strides", (1, 1)), ("dilations", (1, 1)),
                                  ("padding", REQUIRED))
_POOL_KEYWORDS = keyword_args(("ksize", REQUIRED), ("strides", REQUIRED), ("padding", REQUIRED))
register_prim(Prim(
    "conv2d", _conv_shape, _np_conv2d, _conv_vjp,
    "conv2d({0}, {1}{kwargs})", r"\operatorname{{conv2d}}({0}, {1}{kwargs})",
    "Y[n,i,j,k] = Σ_{p,q,c} X[n, i·s+p·d−pad, j·s+q·d−pad, c]·W[p,q,c,k] (zero outside X); "
    + _CONV_TEXT,
    "nn_grad.py _Conv2DGrad", kernel=True, keywords=_CONV_KEYWORDS,
))
register_prim(Prim(
    "conv2d_backprop_input",
    lambda ops, a: (a[0], ops[1].dtype),
    _np_backprop_input, _backprop_input_vjp,
    "conv2d_backprop_input({0}, {1}{kwargs})",
    r"\operatorname{{conv2d\_backprop\_input}}({0}, {1}{kwargs})",
    "dX[n,h,w,c] = Σ G[n,i,j,k]·W[p,q,c,k] over h = i·s+p·d−pad, w = j·s+q·d−pad "
    "(operands W, G; attrs: input shape, strides, dilations, padding)",
    "nn_grad.py _Conv2DBackpropInputGrad", kernel=True, keywords=_BACKPROP_KEYWORDS,
))
register_prim(Prim(
    "conv2d_backprop_filter",
    lambda ops, a: (a[0], ops[0].dtype),
    _np_backprop_filter, _backprop_filter_vjp,
    "conv2d_backprop_filter({0}, {1}{kwargs})",
    r"\operatorname{{conv2d\_backprop\_filter}}({0}, {1}{kwargs})",
    "dW[p,q,c,k] = Σ_{n,i,j} X[n, i·s+p·d−pad, j·s+q·d−pad, c]·G[n,i,j,k] "
    "(operands X, G; attrs: filter shape, strides, dilations, padding)",
    "nn_grad.py _Conv2DBackpropFilterGrad", kernel=True, keywords=_BACKPROP_KEYWORDS,
))


# -- pooling kernels -------------------------------------------------------------------

def _valid_mask(size: int, out: int, k: int, s: int, pad: int) -> np.ndarray:
    """(out, k): whether tap k of window o reads inside the input (not padding)."""
    pos = np.arange(out)[:, None] * s + np.arange(k)[None, :] - pad
    return (pos >= 0) & (pos < size)


def _pool_geometry(xshape: tuple, ksize: tuple, s: tuple, pads: Pads):
    oh, ow = _out_hw(xshape, ksize, s, (1, 1), pads)
    vh = _valid_mask(xshape[1], oh, ksize[0], s[0], pads[0][0])
    vw = _valid_mask(xshape[2], ow, ksize[1], s[1], pads[1][0])
    return oh, ow, vh, vw


def _np_max_pool(x: np.ndarray, ksize: tuple, s: tuple, pads: Pads) -> np.ndarray:
    # TF's MaxPool (CPU): the max over the window's elements inside the
    # input, starting from the dtype's lowest value; NaN never wins.
    oh, ow, _, _ = _pool_geometry(x.shape, ksize, s, pads)
    xp = _pad(x, pads, -np.inf)
    out = np.full((x.shape[0], oh, ow, x.shape[3]), np.finfo(x.dtype).min, dtype=x.dtype)
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            np.fmax(out, _tap(xp, i, j, oh, ow, s), out=out)
    return out


def _argmax_taps(x: np.ndarray, ksize: tuple, s: tuple, pads: Pads) -> tuple[np.ndarray, int, int]:
    """Per window, the tap TF's MaxPoolGrad picks: its scan over the window
    (rows, then columns) takes the first element inside the input, then any
    later one strictly greater (``out < in``): ties go to the first maximum,
    a NaN wins only if it comes first."""
    oh, ow, vh, vw = _pool_geometry(x.shape, ksize, s, pads)
    xp = _pad(x, pads, 0.0)
    best = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    idx = np.full(best.shape, -1, dtype=np.int32)
    t = 0
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            valid = (vh[:, i][:, None] & vw[:, j][None, :])[None, :, :, None]
            v = _tap(xp, i, j, oh, ow, s)
            upd = valid & ((idx < 0) | (best < v))
            np.copyto(best, v, where=upd)
            idx[upd] = t
            t += 1
    return idx, oh, ow


def _np_max_pool_grad(x: np.ndarray, y: np.ndarray, g: np.ndarray, ksize: tuple, s: tuple,
                      pads: Pads) -> np.ndarray:
    idx, oh, ow = _argmax_taps(x, ksize, s, pads)
    (pt, pb), (pl, pr) = pads
    n, h, w, c = x.shape
    dxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=g.dtype)
    zero = np.zeros((), dtype=g.dtype)
    # TF adds each window's cotangent at its argmax in output order; for one
    # input element that is the taps in reverse order (same float sums).
    for t in reversed(range(ksize[0] * ksize[1])):
        i, j = divmod(t, ksize[1])
        _tap(dxp, i, j, oh, ow, s)[...] += np.where(idx == t, g, zero)
    return dxp[:, pt: pt + h, pl: pl + w, :]


def _np_max_pool_grad_grad(x: np.ndarray, y: np.ndarray, gg: np.ndarray, ksize: tuple, s: tuple,
                           pads: Pads) -> np.ndarray:
    idx, oh, ow = _argmax_taps(x, ksize, s, pads)
    ggp = _pad(gg, pads, 0.0)
    out = np.zeros(idx.shape, dtype=gg.dtype)
    for t in range(ksize[0] * ksize[1]):
        i, j = divmod(t, ksize[1])
        np.copyto(out, _tap(ggp, i, j, oh, ow, s), where=idx == t)
    return out


def _zeros_like(n: Node) -> Node:
    return fill(0, n.shape, n.dtype)


register_prim(Prim(
    "max_pool",
    lambda ops, a: ((ops[0].shape[0],) + _out_hw(ops[0].shape, a[0], a[1], (1, 1), a[2])
                    + (ops[0].shape[3],), ops[0].dtype),
    _np_max_pool,
    lambda n, g: [prim("max_pool_grad", n.args[0], n, g, attrs=n.attrs)],
    "max_pool({0}{kwargs})", r"\operatorname{{max\_pool}}({0}{kwargs})",
    "Y[n,i,j,c] = max over the window of X (inside X); attrs: ksize, strides, padding",
    "nn_grad.py _MaxPoolGrad: MaxPoolGrad(x, y, G)", kernel=True, keywords=_POOL_KEYWORDS,
))
register_prim(Prim(
    "max_pool_grad",
    lambda ops, a: (ops[0].shape, ops[2].dtype),
    _np_max_pool_grad,
    lambda n, g: [_zeros_like(n.args[0]), _zeros_like(n.args[1]),
                  prim("max_pool_grad_grad", n.args[0], n.args[1], g, attrs=n.attrs)],
    "max_pool_grad({0}, {1}, {2}{kwargs})",
    r"\operatorname{{max\_pool\_grad}}({0}, {1}, {2}{kwargs})",
    "each window's cotangent added at its maximum (the first in TF's row-major scan); "
    "operands X, Y, G",
    "nn_grad.py _MaxPoolGradGrad: zeros, zeros, MaxPoolGradGrad(x, y, G)", kernel=True,
    keywords=_POOL_KEYWORDS,
))
register_prim(Prim(
    "max_pool_grad_grad",
    lambda ops, a: (ops[1].shape, ops[2].dtype),
    _np_max_pool_grad_grad,
    lambda n, g: [_zeros_like(n.args[0]), _zeros_like(n.args[1]),
                  prim("max_pool_grad", n.args[0], n.args[1], g, attrs=n.attrs)],
    "max_pool_grad_grad({0}, {1}, {2}{kwargs})",
    r"\operatorname{{max\_pool\_grad\_grad}}({0}, {1}, {2}{kwargs})",
    "each window reads its operand at the window's maximum of X; operands X, Y, G",
    "nn_grad.py _MaxPoolGradGradGrad: zeros, zeros, MaxPoolGrad(x, y, G)", kernel=True,
    keywords=_POOL_KEYWORDS,
))


def _avg_counts(xshape: tuple, ksize: tuple, s: tuple, pads: Pads, dtype) -> np.ndarray:
    oh, ow, vh, vw = _pool_geometry(xshape, ksize, s, pads)
    return (vh.sum(1)[:, None] * vw.sum(1)[None, :]).astype(dtype)[None, :, :, None]


def _np_avg_pool(x: np.ndarray, ksize: tuple, s: tuple, pads: Pads) -> np.ndarray:
    # TF's AvgPool: the sum over the window's elements inside the input,
    # divided by their count (SAME's edge windows average fewer elements).
    oh, ow = _out_hw(x.shape, ksize, s, (1, 1), pads)
    xp = _pad(x, pads, 0.0)
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            out += _tap(xp, i, j, oh, ow, s)
    return out / _avg_counts(x.shape, ksize, s, pads, x.dtype)


def _np_avg_pool_grad(g: np.ndarray, xshape: tuple, ksize: tuple, s: tuple, pads: Pads) -> np.ndarray:
    # TF's AvgPoolGrad (CPU): each window adds G·(1/count) to its elements,
    # in output order (for one element: the taps in reverse order).
    oh, ow = g.shape[1], g.shape[2]
    (pt, pb), (pl, pr) = pads
    n, h, w, c = xshape
    coeff = (1.0 / _avg_counts(xshape, ksize, s, pads, np.float64)).astype(g.dtype)
    share = g * coeff
    dxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=g.dtype)
    for t in reversed(range(ksize[0] * ksize[1])):
        i, j = divmod(t, ksize[1])
        _tap(dxp, i, j, oh, ow, s)[...] += share
    return dxp[:, pt: pt + h, pl: pl + w, :]


register_prim(Prim(
    "avg_pool",
    lambda ops, a: ((ops[0].shape[0],) + _out_hw(ops[0].shape, a[0], a[1], (1, 1), a[2])
                    + (ops[0].shape[3],), ops[0].dtype),
    _np_avg_pool,
    lambda n, g: [prim("avg_pool_grad", g, attrs=(n.args[0].shape,) + n.attrs)],
    "avg_pool({0}{kwargs})", r"\operatorname{{avg\_pool}}({0}{kwargs})",
    "Y[n,i,j,c] = mean of X over the window's elements inside X; attrs: ksize, strides, padding",
    "nn_grad.py _AvgPoolGrad: AvgPoolGrad(shape(x), G)", kernel=True, keywords=_POOL_KEYWORDS,
))
register_prim(Prim(
    "avg_pool_grad",
    lambda ops, a: (a[0], ops[0].dtype),
    _np_avg_pool_grad,
    lambda n, g: [prim("avg_pool", g, attrs=n.attrs[1:])],
    "avg_pool_grad({0}{kwargs})", r"\operatorname{{avg\_pool\_grad}}({0}{kwargs})",
    "each window's cotangent divided by its count, added to the window's elements",
    "nn_grad.py _AvgPoolGradGrad: AvgPool(G)", kernel=True,
    keywords=keyword_args(None, ("ksize", REQUIRED), ("strides", REQUIRED), ("padding", REQUIRED)),
))


# -- attribute parsing (TF's _get_sequence, padding) ------------------------------------

def _ints(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _seq(ctx: Ctx, param: str, n: int, default: int | None = None) -> tuple[int, ...]:
    """TF's ``_get_sequence`` for NHWC/NWC: an int, or a list of 1, n or n+2
    ints (batch and channel entries must then be 1)."""
    v = ctx.a(param)
    if v is None and default is not None:
        return (default,) * n
    if _ints(v):
        vals = [v] * n
    elif isinstance(v, (list, tuple)) and all(_ints(e) for e in v) and len(v) in (1, n, n + 2):
        if len(v) == 1:
            vals = list(v) * n
        elif len(v) == n:
            vals = list(v)
        else:
            if v[0] != 1 or v[-1] != 1:
                raise ctx.error(
                    f"{param} {list(v)}: the batch and channel entries must be 1 (TF does not "
                    "support strides, windows or dilations over batch or channels)", "TG203", param)
            vals = list(v[1:-1])
    else:
        raise ctx.error(f"{param} must be an int or a list of 1, {n} or {n + 2} ints, not {v!r}",
                        "TG203", param)
    if any(e < 1 for e in vals):
        raise ctx.error(f"{param} {v!r} must be positive", "TG203", param)
    return tuple(vals)


def _data_format(ctx: Ctx, expected: str) -> None:
    fmt = ctx.a("data_format")
    if fmt not in (expected, None):
        raise ctx.error(f"data_format {fmt!r} is not supported; only {expected!r} (channels last)",
                        "TG203", "data_format")


def _need_rank(ctx: Ctx, param: str, rank: int, layout: str) -> Node:
    x = ctx.x(param)
    if x.rank != rank:
        raise ctx.error(
            f"{ctx.label(param)} has shape {fmt_shape(x.shape)} (rank {x.rank}); {ctx.op.name} "
            f"takes a rank-{rank} {layout} tensor", "TG202", param)
    return x


def _padding(ctx: Ctx, size: tuple[int, int], khw: tuple[int, int], s: tuple, d: tuple, *,
             explicit: bool, what: str) -> Pads:
    """Explicit ((top, bottom), (left, right)) pairs for the op's padding, or a
    TG202 error when the window does not fit (VALID or explicit)."""
    pad = ctx.a("padding")
    x = ctx.x("input")
    ek = tuple((k - 1) * dd + 1 for k, dd in zip(khw, d))
    if isinstance(pad, str):
        if pad not in ("SAME", "VALID"):
            raise ctx.error(f"padding {pad!r} must be 'SAME' or 'VALID'"
                            + (" or a list of pairs" if explicit else ""), "TG203", "padding")
        if pad == "VALID":
            pairs = ((0, 0), (0, 0))
        else:
            pp = []
            for n, e, st in zip(size, ek, s):
                out = -(-n // st)
                total = max((out - 1) * st + e - n, 0)
                pp.append((total // 2, total - total // 2))
            return (pp[0], pp[1])
    elif explicit and isinstance(pad, (list, tuple)) and len(pad) == 4 and all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(_ints(e) for e in p) for p in pad):
        if list(pad[0]) != [0, 0] or list(pad[3]) != [0, 0]:
            raise ctx.error(f"padding {pad!r}: the batch and channel pairs must be [0, 0]",
                            "TG203", "padding")
        if any(e < 0 for p in pad for e in p):
            raise ctx.error(f"padding {pad!r} has a negative amount", "TG203", "padding")
        pairs = (tuple(pad[1]), tuple(pad[2]))
    else:
        allowed = "'SAME', 'VALID' or a list of 4 [before, after] pairs" if explicit else "'SAME' or 'VALID'"
        raise ctx.error(f"padding must be {allowed}, not {pad!r}", "TG203", "padding")
    for axis, n, e, (a, b) in zip(("height", "width"), size, ek, pairs):
        if n + a + b < e:
            raise ctx.error(
                f"the {what} ({ek[0]}x{ek[1]}{' dilated' if any(dd > 1 for dd in d) else ''}) is "
                f"larger than {ctx.label('input')} (shape {fmt_shape(x.shape)}"
                f"{', padded' if a or b else ''}) along its {axis} ({n + a + b} < {e}); "
                f"{ctx.label('filters') if 'filters' in ctx.inputs else 'ksize'} is "
                f"{fmt_shape(ctx.x('filters').shape) if 'filters' in ctx.inputs else khw}",
                "TG202", "padding")
    return pairs  # type: ignore[return-value]


# -- conv2d / conv1d ----------------------------------------------------------------------

def _conv2d_parts(ctx: Ctx, *, explicit: bool = True) -> tuple:
    _data_format(ctx, "NHWC")
    x = _need_rank(ctx, "input", 4, "NHWC (batch, height, width, channels)")
    w = _need_rank(ctx, "filters", 4, "(height, width, in_channels, out_channels) filter")
    if x.shape[3] != w.shape[2]:
        raise ctx.error(
            f"{ctx.label('input')} (shape {fmt_shape(x.shape)}) has {x.shape[3]} channels but "
            f"{ctx.label('filters')} (shape {fmt_shape(w.shape)}) expects {w.shape[2]} "
            "(filters[2] must equal input[3])", "TG202", "filters")
    s = _seq(ctx, "strides", 2)
    d = _seq(ctx, "dilations", 2, 1)
    pads = _padding(ctx, x.shape[1:3], w.shape[:2], s, d, explicit=explicit, what="filter")
    return s, d, pads


def _conv2d_shape(ctx: Ctx) -> tuple[int, ...]:
    s, d, pads = _conv2d_parts(ctx)
    x, w = ctx.x("input"), ctx.x("filters")
    return (x.shape[0],) + _out_hw(x.shape, w.shape[:2], s, d, pads) + (w.shape[3],)


def _conv2d(ctx: Ctx) -> Node:
    weak_literals(ctx, ["input", "filters"])
    same_dtype(ctx, ["input", "filters"])
    s, d, pads = _conv2d_parts(ctx)
    return prim("conv2d", ctx.x("input"), ctx.x("filters"), attrs=(s, d, pads))


_CONV_RULE = (
    "Y[n,i,j,k] = Σ_{p,q,c} X[n, i·s+p·d−pad, j·s+q·d−pad, c]·W[p,q,c,k]; "
    "dX[n,h,w,c] += Σ G[n,i,j,k]·W[p,q,c,k] over h = i·s+p·d−pad, w = j·s+q·d−pad "
    "(Conv2DBackpropInput); dW[p,q,c,k] += Σ_{n,i,j} X[n, i·s+p·d−pad, j·s+q·d−pad, c]·G[n,i,j,k] "
    "(Conv2DBackpropFilter)")
_CONV_NOTE = (" TF 2.21's CPU backprop kernels reject dilations > 1 (InvalidArgumentError); "
              "tfgrad computes the gradient (TF's GPU answer).")

register(OpDef(
    "conv2d",
    (Param("input", TENSOR), Param("filters", TENSOR), Param("strides", "any"),
     Param("padding", "any"), Param("data_format", "str", "NHWC"), Param("dilations", "any", None)),
    "2-D convolution (cross-correlation), NHWC input and (height, width, in, out) filters; "
    "padding 'SAME', 'VALID' or [[0, 0], [top, bottom], [left, right], [0, 0]]",
    _conv2d_shape, _conv2d, _CONV_RULE,
    "nn_grad.py _Conv2DGrad (Conv2DBackpropInput, Conv2DBackpropFilter)." + _CONV_NOTE,
    "conv", errors=("TG202", "TG203"),
    examples=(
        "{input: {shape: [1, 4, 4, 2]}, filters: {shape: [3, 3, 2, 2]}, strides: 1, padding: SAME}",
        "{input: {shape: [2, 5, 4, 1]}, filters: {shape: [2, 2, 1, 3]}, strides: [1, 2, 1, 1], padding: VALID}",
    ),
))


def _conv1d_parts(ctx: Ctx) -> tuple:
    _data_format(ctx, "NWC")
    x = _need_rank(ctx, "input", 3, "NWC (batch, width, channels)")
    w = _need_rank(ctx, "filters", 3, "(width, in_channels, out_channels) filter")
    if x.shape[2] != w.shape[1]:
        raise ctx.error(
            f"{ctx.label('input')} (shape {fmt_shape(x.shape)}) has {x.shape[2]} channels but "
            f"{ctx.label('filters')} (shape {fmt_shape(w.shape)}) expects {w.shape[1]} "
            "(filters[1] must equal input[2])", "TG202", "filters")
    (s,) = _seq(ctx, "stride", 1)
    (d,) = _seq(ctx, "dilations", 1, 1)
    (_, (pl, pr)) = _padding(ctx, (1, x.shape[1]), (1, w.shape[0]), (1, s), (1, d), explicit=False,
                             what="filter")
    return (1, s), (1, d), ((0, 0), (pl, pr))


def _conv1d_shape(ctx: Ctx) -> tuple[int, ...]:
    s, d, pads = _conv1d_parts(ctx)
    x, w = ctx.x("input"), ctx.x("filters")
    _, ow = _out_hw((x.shape[0], 1, x.shape[1], x.shape[2]), (1, w.shape[0]), s, d, pads)
    return (x.shape[0], ow, w.shape[2])


def _conv1d(ctx: Ctx) -> Node:
    weak_literals(ctx, ["input", "filters"])
    same_dtype(ctx, ["input", "filters"])
    s, d, pads = _conv1d_parts(ctx)
    x, w = ctx.x("input"), ctx.x("filters")
    # TF: expand_dims(input, 1), expand_dims(filters, 0), conv2d, squeeze(1)
    x4 = reshape(x, (x.shape[0], 1) + x.shape[1:])
    w4 = reshape(w, (1,) + w.shape)
    y = prim("conv2d", x4, w4, attrs=(s, d, pads))
    return reshape(y, (y.shape[0],) + y.shape[2:])


register(OpDef(
    "conv1d",
    (Param("input", TENSOR), Param("filters", TENSOR), Param("stride", "any"),
     Param("padding", "any"), Param("data_format", "str", "NWC"), Param("dilations", "any", None)),
    "1-D convolution, NWC input and (width, in, out) filters; padding 'SAME' or 'VALID' "
    "(TF: expand_dims to NHWC, conv2d, squeeze)",
    _conv1d_shape, _conv1d,
    "Y[n,j,k] = Σ_{q,c} X[n, j·s+q·d−pad, c]·W[q,c,k]; dX[n,w,c] += Σ G[n,j,k]·W[q,c,k] over "
    "w = j·s+q·d−pad; dW[q,c,k] += Σ_{n,j} X[n, j·s+q·d−pad, c]·G[n,j,k]",
    "nn_ops.py conv1d = squeeze(conv2d(expand_dims)): nn_grad.py _Conv2DGrad." + _CONV_NOTE,
    "conv", errors=("TG202", "TG203"),
    examples=(
        "{input: {shape: [2, 5, 2]}, filters: {shape: [3, 2, 2]}, stride: 1, padding: SAME}",
    ),
))


# -- pooling ops ----------------------------------------------------------------------------

def _pool_parts(ctx: Ctx, *, explicit: bool) -> tuple:
    _data_format(ctx, "NHWC")
    x = _need_rank(ctx, "input", 4, "NHWC (batch, height, width, channels)")
    k = _seq(ctx, "ksize", 2)
    s = _seq(ctx, "strides", 2)
    pads = _padding(ctx, x.shape[1:3], k, s, (1, 1), explicit=explicit, what="window")
    return k, s, pads


def _pool_shape(explicit: bool):
    def shape(ctx: Ctx) -> tuple[int, ...]:
        k, s, pads = _pool_parts(ctx, explicit=explicit)
        x = ctx.x("input")
        return (x.shape[0],) + _out_hw(x.shape, k, s, (1, 1), pads) + (x.shape[3],)
    return shape


_POOL_PARAMS = (Param("input", TENSOR), Param("ksize", "any"), Param("strides", "any"),
                Param("padding", "any"), Param("data_format", "str", "NHWC"))

register(OpDef(
    "max_pool2d", _POOL_PARAMS,
    "the max over each window (NHWC); padding 'SAME', 'VALID' or explicit pairs",
    _pool_shape(True),
    lambda ctx: prim("max_pool", ctx.x("input"), attrs=_pool_parts(ctx, explicit=True)),
    "dX[n,h,w,c] += G[n,i,j,c] where (h, w) is window (i, j)'s maximum: one winner per window, "
    "the first maximum in row-major order on ties (TF's MaxPoolGrad)",
    "nn_grad.py _MaxPoolGrad -> MaxPoolGrad kernel (argmax per window, ties to the first in "
    "scan order); second order _MaxPoolGradGrad (TF's takes SAME/VALID only: with explicit "
    "padding TF raises, tfgrad computes it)", "conv", errors=("TG202", "TG203"),
    kink_note="not differentiable where a window's maximum is tied; TF sends G to the first",
    examples=(
        "{input: {shape: [1, 4, 4, 2]}, ksize: 2, strides: 2, padding: VALID}",
        "{input: {shape: [1, 5, 5, 1]}, ksize: 3, strides: 2, padding: SAME}",
    ),
))
register(OpDef(
    "avg_pool2d", _POOL_PARAMS,
    "the mean over each window (NHWC); with 'SAME' the edge windows average only the elements "
    "inside the input",
    _pool_shape(False),
    lambda ctx: prim("avg_pool", ctx.x("input"), attrs=_pool_parts(ctx, explicit=False)),
    "dX[n,h,w,c] += Σ_{windows (i,j) containing (h,w)} G[n,i,j,c] / count(i,j), count = the "
    "window's elements inside X",
    "nn_grad.py _AvgPoolGrad -> AvgPoolGrad kernel; second order _AvgPoolGradGrad (AvgPool)",
    "conv", errors=("TG202", "TG203"),
    examples=(
        "{input: {shape: [1, 4, 4, 2]}, ksize: 2, strides: 2, padding: VALID}",
        "{input: {shape: [1, 5, 5, 1]}, ksize: 3, strides: 2, padding: SAME}",
    ),
))

