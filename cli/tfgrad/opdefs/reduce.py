"""Reductions over axes, scans and arg-reductions.

``axis`` is TF's: None (every axis), an int, or a list of ints, negative
counting from the end; ``keepdims`` keeps the reduced axes as size 1.

Node kinds registered here (each with TF's registered gradient as its VJP,
so that gradients of gradients are TF's too):

- reductions ``max``, ``min`` (``_MinOrMaxGrad``: ties split the gradient
  equally; a nan extreme gives nan) and ``prod`` (``_ProdGrad``: products of
  exclusive cumprods from both sides, so zeros need no division), in
  ``autodiff.REDUCTIONS``;
- kernels ``cumsum`` (``_CumsumGrad``), ``cumprod`` (``_CumprodGrad``, which
  divides with ``div_no_nan``: a zero input gets gradient 0, as in TF),
  ``argmax``/``argmin`` (integer results, no gradient), in ``moves.MOVES``.

Ops that TF writes in Python (``reduce_logsumexp``, ``reduce_variance``,
``reduce_std``, ``norm``, ``l2_normalize``) are lowered to the same
composition, so their gradients are TF's autodiff of it, edges included
(``norm`` of a zero row has a nan gradient: sqrt's gradient at 0 is inf).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from ..autodiff import REDUCTIONS
from ..funcs import FUNCS, Func, register as register_func
from ..moves import Prim, keepdims_shape, keyword_args, register as register_prim
from ..tensor import (
    Node, Reduce, _new, broadcast_to, ew, fill, is_float, prim, reduce, reshape, transpose,
)
from .common import keepdims, norm_axes
from .spec import TENSOR, Ctx, OpDef, Param, fmt_shape, register

_PARAMS = (Param("input_tensor", TENSOR), Param("axis", "axis", None), Param("keepdims", "bool", False))


# -- helpers ------------------------------------------------------------------------

def _axes(ctx: Ctx, param: str = "input_tensor", attr: str = "axis") -> tuple[int, ...]:
    return norm_axes(ctx, ctx.a(attr), ctx.x(param).rank, attr)


def no_bool(ctx: Ctx, param: str) -> None:
    """Refuse a bool tensor where TF has no bool kernel: Sum, Mean, Prod,
    Max, Min, Cumsum and Cumprod take numbers (TF 2.21: "Value for attr 'T'
    of bool is not in the list of allowed values"); only reduce_all,
    reduce_any and argmax/argmin take bools. Raises TG202 at the argument."""
    x = ctx.x(param)
    if x.dtype == "bool":
        lab = ctx.label(param)
        arg = lab if lab.isidentifier() else "..."
        raise ctx.error(f"{lab} is bool; {ctx.op.name} takes numbers (TensorFlow has no bool "
                        f"kernel for it): cast it first, e.g. cast({arg}, float64)", "TG202", param)


def numeric_reduced_shape(ctx: Ctx) -> tuple[int, ...]:
    """``reduced_shape`` of a reduction TF has no bool kernel for."""
    no_bool(ctx, "input_tensor")
    return reduced_shape(ctx)


def reduced_shape(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("input_tensor")
    axes = _axes(ctx)
    if ctx.a("keepdims"):
        return keepdims_shape(x.shape, axes)
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _identity_if_same(ctx: Ctx, r: Node, param: str = "input_tensor") -> Node:
    # Reducing over no axes is the input itself; the op still needs a node
    # of its own (an x may name it).
    return ew("identity", r) if r is ctx.x(param) else r


def _float_input(ctx: Ctx, param: str) -> Node:
    x = ctx.x(param)
    if not is_float(x.dtype):
        raise ctx.error(
            f"{ctx.label(param)} is {x.dtype}; {ctx.op.name} takes a float32 or float64 tensor "
            "(use cast)", "TG202", param)
    return x


def _bin(fn: str, a: Node, b: Node) -> Node:
    """``fn(a, b)`` with NumPy broadcasting (shapes already known to broadcast)."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    return ew(fn, broadcast_to(a, shape), broadcast_to(b, shape))


def _scalar(v: float, like: Node) -> Node:
    return fill(v, like.shape, like.dtype)


def _to_float(mask: Node, dtype: str) -> Node:
    """``cast(mask, dtype)`` of a bool mask (TF's Cast from bool: no gradient);
    a select of 1 and 0 (the same numbers) where ``cast`` is not registered."""
    if "cast" in FUNCS:
        return ew("cast", mask, attrs=(dtype,), dtype=dtype)
    return ew("select", mask, fill(1, mask.shape, dtype), fill(0, mask.shape, dtype))


# reduce_logsumexp's ``is_finite`` (TF's IsFinite: bool, not differentiable);
# registered here unless the elementwise family provides it.
if "is_finite" not in FUNCS:
    register_func(Func(
        "is_finite", 1, np.isfinite, None, lambda a: sp.Function("is_finite")(a),
        "is_finite({0})", r"\operatorname{{is\_finite}}({0})",
        "true where x is neither inf nor nan", "math_grad.py: IsFinite is not differentiable (None)",
        out_dtype="bool", no_grad=True,
    ))


def _expand(g: Node, axes: tuple[int, ...], shape: tuple[int, ...]) -> Node:
    """``g`` (``shape`` with ``axes`` dropped) reshaped with kept dims and
    broadcast to ``shape``."""
    return broadcast_to(reshape(g, keepdims_shape(shape, axes)), shape)


def _reduce_node(kind: str, axes: tuple[int, ...], x: Node) -> Node:
    """A ``Reduce`` node even over no axes (TF's Max over ``axis=[]`` still
    runs ``_MinOrMaxGrad``, which gives nan for a nan input)."""
    if axes:
        return reduce(kind, axes, x)
    r = _new(Reduce, (x,), x.shape, x.dtype)
    r.kind = kind
    r.axes = ()
    return r


# -- reduction kinds: max, min, prod ------------------------------------------------

def _minmax_vjp(n: Node, g: Node) -> list:
    # TF's _MinOrMaxGrad:
    #   indicators = cast(equal(y, x), dtype); num_selected = reduce_sum(indicators, axes)
    #   dx = divide(indicators, num_selected) * grad
    x = n.args[0]
    axes = n.axes
    y = _expand(n, axes, x.shape)
    ind = _to_float(ew("equal", y, x), x.dtype)
    num = _expand(reduce("sum", axes, ind), axes, x.shape)
    return [ew("multiply", ew("divide", ind, num), _expand(g, axes, x.shape))]


def _identity_of(x: np.ndarray, lowest: bool):
    """The max's (or min's) identity in x's dtype: what TF's kernel gives
    over an empty axis (-inf, or the lowest integer)."""
    if x.dtype.kind == "f":
        return -np.inf if lowest else np.inf
    info = np.iinfo(x.dtype) if x.dtype.kind in "iu" else None
    return (info.min if lowest else info.max) if info is not None else (not lowest)


def _np_max(x: np.ndarray, axes: tuple) -> np.ndarray:
    # np.max propagates nan like TF's Max kernel (Eigen's PropagateNaN); over
    # an empty axis TF gives -inf (the reduction's identity), NumPy raises.
    if not axes:
        return x.copy()
    if x.size == 0:
        return np.max(x, axis=axes, initial=_identity_of(x, True))
    return np.max(x, axis=axes)


def _np_min(x: np.ndarray, axes: tuple) -> np.ndarray:
    if not axes:
        return x.copy()
    if x.size == 0:
        return np.min(x, axis=axes, initial=_identity_of(x, False))
    return np.min(x, axis=axes)


def _inverse_perm(perm: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def _prod_vjp(n: Node, g: Node) -> list:
    # TF's _ProdGrad: move the reduced axes first, flatten to (reduced, other),
    # left = cumprod(exclusive), right = cumprod(exclusive, reverse),
    # dx = grad * transpose(reshape(left * right), inverse perm).
    x = n.args[0]
    axes = n.axes
    other = tuple(i for i in range(x.rank) if i not in axes)
    perm = axes + other
    permuted = transpose(x, perm)
    rn = math.prod(x.shape[a] for a in axes)
    on = math.prod(x.shape[a] for a in other)
    flat = reshape(permuted, (rn, on))
    left = prim("cumprod", flat, attrs=(0, True, False))
    right = prim("cumprod", flat, attrs=(0, True, True))
    y = reshape(ew("multiply", left, right), permuted.shape)
    return [ew("multiply", _expand(g, axes, x.shape), transpose(y, _inverse_perm(perm)))]


def _np_prod(x: np.ndarray, axes: tuple) -> np.ndarray:
    return np.prod(x, axis=axes, dtype=x.dtype)


REDUCTIONS["max"] = (_np_max, _minmax_vjp)
REDUCTIONS["min"] = (_np_min, _minmax_vjp)
REDUCTIONS["prod"] = (_np_prod, _prod_vjp)


# -- scans: cumsum, cumprod ---------------------------------------------------------

def _np_scan(ufunc: np.ufunc, identity: float):
    def run(x: np.ndarray, axis: int, exclusive: bool, reverse: bool) -> np.ndarray:
        if reverse:
            x = np.flip(x, axis)
        r = ufunc.accumulate(x, axis=axis, dtype=x.dtype)
        if identity == 0:
            r = r + 0  # TF's scan starts from 0: -0.0 sums to +0.0, as 0 + -0.0 does
        if exclusive and r.shape[axis]:  # an empty axis stays empty
            head = np.full_like(np.take(r, [0], axis=axis), identity)
            r = np.concatenate([head, np.take(r, np.arange(r.shape[axis] - 1), axis=axis)], axis=axis)
        if reverse:
            r = np.flip(r, axis)
        return np.ascontiguousarray(r)
    return run


def _scan_text(name: str) -> str:
    return name + "({0}{kwargs})"


# TF's cumsum(x, axis=0, exclusive=False, reverse=False)
_SCAN_KEYWORDS = keyword_args(("axis", 0), ("exclusive", False), ("reverse", False))


def _cumsum_vjp(n: Node, g: Node) -> list:
    # TF's _CumsumGrad: cumsum(G, axis, exclusive, reverse=not reverse)
    axis, exclusive, reverse = n.attrs
    return [prim("cumsum", g, attrs=(axis, exclusive, not reverse))]


def _cumprod_vjp(n: Node, g: Node) -> list:
    # TF's _CumprodGrad: prod = cumprod(x, ...) (the node itself);
    # out = cumsum(prod * G, axis, exclusive, not reverse); dx = div_no_nan(out, x)
    x = n.args[0]
    axis, exclusive, reverse = n.attrs
    out = prim("cumsum", ew("multiply", n, g), attrs=(axis, exclusive, not reverse))
    return [ew("divide_no_nan", out, x)]


register_prim(Prim(
    "cumsum", lambda ops, a: (ops[0].shape, ops[0].dtype), _np_scan(np.add, 0), _cumsum_vjp,
    _scan_text("cumsum"), r"\operatorname{{cumsum}}({0}{kwargs})",
    "running sum along an axis (exclusive: shifted by one; reverse: from the end)",
    "math_grad.py _CumsumGrad: cumsum(G, axis, exclusive, reverse=not reverse)", kernel=True,
    keywords=_SCAN_KEYWORDS,
))
register_prim(Prim(
    "cumprod", lambda ops, a: (ops[0].shape, ops[0].dtype), _np_scan(np.multiply, 1), _cumprod_vjp,
    _scan_text("cumprod"), r"\operatorname{{cumprod}}({0}{kwargs})",
    "running product along an axis (exclusive: shifted by one; reverse: from the end)",
    "math_grad.py _CumprodGrad: div_no_nan(cumsum(cumprod(x) * G, axis, exclusive, "
    "not reverse), x): a zero input gets gradient 0", kernel=True, keywords=_SCAN_KEYWORDS,
))


# -- argmax, argmin -----------------------------------------------------------------

def _np_arg(fn, fill_nan: float):
    def run(x: np.ndarray, axis: int, dtype: str) -> np.ndarray:
        # TF's ArgMax/ArgMin skip nan (Eigen's tuple reducer never prefers a
        # nan); the first of tied extremes wins.
        if x.dtype.kind == "f":
            x = np.where(np.isnan(x), fill_nan, x)
        return np.asarray(fn(x, axis=axis)).astype(dtype)
    return run


# TF's argmax(input, axis=None (0), output_type=tf.int64)
_ARG_KEYWORDS = keyword_args(("axis", 0), ("output_type", "int64"))


def _arg_shape(ops: tuple, a: tuple) -> tuple:
    axis, dtype = a
    return tuple(d for i, d in enumerate(ops[0].shape) if i != axis), dtype


register_prim(Prim(
    "argmax", _arg_shape, _np_arg(np.argmax, -np.inf), None,
    "argmax({0}{kwargs})", r"\operatorname{{argmax}}({0}{kwargs})",
    "index of the largest entry along an axis (the first of ties; nan skipped)",
    "math_grad.py: ArgMax is not differentiable (None)", kernel=True, no_grad=True,
    keywords=_ARG_KEYWORDS,
))
register_prim(Prim(
    "argmin", _arg_shape, _np_arg(np.argmin, np.inf), None,
    "argmin({0}{kwargs})", r"\operatorname{{argmin}}({0}{kwargs})",
    "index of the smallest entry along an axis (the first of ties; nan skipped)",
    "math_grad.py: ArgMin is not differentiable (None)", kernel=True, no_grad=True,
    keywords=_ARG_KEYWORDS,
))


# -- lowerings ----------------------------------------------------------------------

def _keep(ctx: Ctx, r: Node, axes: tuple[int, ...], x: Node) -> Node:
    return keepdims(r, axes, x.shape) if ctx.a("keepdims") else r


def _sum(ctx: Ctx) -> Node:
    x = ctx.x("input_tensor")
    axes = _axes(ctx)
    return _identity_if_same(ctx, _keep(ctx, reduce("sum", axes, x), axes, x))


def mean_of(x: Node, axes: tuple[int, ...], keep: bool) -> Node:
    """TF's ``reduce_mean(x, axes, keepdims=keep)`` as nodes."""
    count = 1
    for a in axes:
        count *= x.shape[a]
    r = reduce("sum", axes, x)
    # TF's Mean kernel divides the sum by the count; _MeanGrad divides the
    # broadcast cotangent by it: the same division, in the same dtype.
    r = ew("divide", r, fill(count, r.shape, r.dtype))
    if keep:
        r = keepdims(r, axes, x.shape)
    return r


def _mean(ctx: Ctx) -> Node:
    x = ctx.x("input_tensor")
    return mean_of(x, _axes(ctx), ctx.a("keepdims"))


def _extreme(kind: str):
    def forward(ctx: Ctx) -> Node:
        x = ctx.x("input_tensor")
        axes = _axes(ctx)
        return _keep(ctx, _reduce_node(kind, axes, x), axes, x)
    return forward


def _prod(ctx: Ctx) -> Node:
    x = ctx.x("input_tensor")
    axes = _axes(ctx)
    return _identity_if_same(ctx, _keep(ctx, reduce("prod", axes, x), axes, x))


def _logsumexp(ctx: Ctx) -> Node:
    # math_ops.py reduce_logsumexp:
    #   raw_max = reduce_max(x, axis, keepdims=True)
    #   my_max = stop_gradient(select_v2(is_finite(raw_max), raw_max, 0))
    #   result = log(reduce_sum(exp(x - my_max), axis, keepdims)) + reshape(my_max)
    x = _float_input(ctx, "input_tensor")
    axes = _axes(ctx)
    kshape = keepdims_shape(x.shape, axes)
    raw_max = reshape(_reduce_node("max", axes, x), kshape)
    my_max = ew("stop_gradient", ew("select", ew("is_finite", raw_max), raw_max, _scalar(0, raw_max)))
    s = reduce("sum", axes, ew("exp", _bin("subtract", x, my_max)))
    s = _keep(ctx, s, axes, x)
    result = ew("log", s)
    return ew("add", result, reshape(my_max, result.shape))


def variance_of(x: Node, axes: tuple[int, ...], keep: bool) -> Node:
    """math_ops.py reduce_variance: reduce_mean(square(x - reduce_mean(x, axes,
    keepdims=True)), axes, keepdims)."""
    means = mean_of(x, axes, True)
    diff = _bin("subtract", x, means)
    return mean_of(ew("square", diff), axes, keep)


def _variance(ctx: Ctx) -> Node:
    x = _float_input(ctx, "input_tensor")
    return variance_of(x, _axes(ctx), ctx.a("keepdims"))


def _std(ctx: Ctx) -> Node:
    x = _float_input(ctx, "input_tensor")
    return ew("sqrt", variance_of(x, _axes(ctx), ctx.a("keepdims")))


register(OpDef(
    "reduce_sum", _PARAMS, "sum over axis (every axis when null)", numeric_reduced_shape, _sum,
    "dx += G broadcast back over the reduced axes", "math_grad.py _SumGrad", "reduce",
    errors=("TG202", "TG203"),
))
register(OpDef(
    "reduce_mean", _PARAMS, "mean over axis (every axis when null)", numeric_reduced_shape, _mean,
    "dx += (G broadcast back over the reduced axes) ⊘ n", "math_grad.py _MeanGrad", "reduce",
    errors=("TG202", "TG203"),
))


def _any_tie(param: str):
    """Conservative kinks: any two equal entries of the input (a tie inside a
    reduced group for the extreme is one of them; ``values`` has no axes)."""
    def kinks(values: dict) -> list:
        s = np.sort(np.asarray(values[param], dtype=np.float64).ravel())
        return [(s[:-1], s[1:])] if s.size > 1 else []
    return kinks


def _zero_entries(param: str):
    def kinks(values: dict) -> list:
        return [(np.asarray(values[param]), 0.0)]
    return kinks


register(OpDef(
    "reduce_max", _PARAMS,
    "largest entry over axis (every axis when null); nan if the group has a nan",
    numeric_reduced_shape, _extreme("max"),
    "dx += G∘[x = y] ⊘ (number of entries equal to y in the group): tied maxima share G equally",
    "math_grad.py _MaxGrad -> _MinOrMaxGrad: divide(cast(equal(y, x)), reduce_sum(...)) * G",
    "reduce", errors=("TG202", "TG203"), kinks=_any_tie("input_tensor"),
    kink_note="two entries of a reduced group tie for the largest",
))
register(OpDef(
    "reduce_min", _PARAMS,
    "smallest entry over axis (every axis when null); nan if the group has a nan",
    numeric_reduced_shape, _extreme("min"),
    "dx += G∘[x = y] ⊘ (number of entries equal to y in the group): tied minima share G equally",
    "math_grad.py _MinGrad -> _MinOrMaxGrad: divide(cast(equal(y, x)), reduce_sum(...)) * G",
    "reduce", errors=("TG202", "TG203"), kinks=_any_tie("input_tensor"),
    kink_note="two entries of a reduced group tie for the smallest",
))
register(OpDef(
    "reduce_prod", _PARAMS, "product over axis (every axis when null)", numeric_reduced_shape,
    _prod,
    "dx += G ∘ (product of the other entries of the group), computed as "
    "cumprod(exclusive) ∘ cumprod(exclusive, reverse): no division, zeros included",
    "math_grad.py _ProdGrad", "reduce", errors=("TG202", "TG203"),
))
register(OpDef(
    "reduce_logsumexp", _PARAMS,
    "log(sum(exp(x))) over axis, computed as TF does: shifted by the (finite) maximum",
    reduced_shape, _logsumexp,
    "dx += G ∘ exp(x - m) ⊘ Σ exp(x - m) (the shift m is under stop_gradient)",
    "math_ops.py reduce_logsumexp (a composition: reduce_max, stop_gradient, select_v2, "
    "is_finite, exp, reduce_sum, log, add); its gradient is TF's autodiff of it",
    "reduce", errors=("TG202", "TG203"),
))
register(OpDef(
    "reduce_variance", _PARAMS, "mean of squared deviations from the mean over axis",
    reduced_shape, _variance,
    "dx += G ∘ 2(x - mean) ⊘ n (through TF's composition: the mean's path is not stopped)",
    "math_ops.py reduce_variance: reduce_mean(square(x - reduce_mean(x, keepdims=True)))",
    "reduce", errors=("TG202", "TG203"),
))
register(OpDef(
    "reduce_std", _PARAMS, "square root of reduce_variance over axis",
    reduced_shape, _std,
    "dx += sqrt_grad(σ, G) through reduce_variance: nan where σ = 0 (a constant group)",
    "math_ops.py reduce_std: sqrt(reduce_variance(x, axis, keepdims))",
    "reduce", errors=("TG202", "TG203"), kinks=_any_tie("input_tensor"),
    kink_note="a group whose entries are all equal (σ = 0)",
))


# -- norm -----------------------------------------------------------------------------

_NORM_PARAMS = (
    Param("tensor", TENSOR), Param("ord", "any", "euclidean"), Param("axis", "any", None),
    Param("keepdims", "bool", None),
)


def _norm_args(ctx: Ctx) -> tuple[Any, tuple[int, ...] | None, bool]:
    """(ord, axes or None, is_matrix_norm) after TF's checks in linalg_ops.norm."""
    x = ctx.x("tensor")
    axis = ctx.a("axis")
    ord_ = ctx.a("ord")
    is_matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
    if isinstance(ord_, str) and ord_.strip().lower() in ("inf", "np.inf", "infinity"):
        # TF compares ord with np.inf: the string is refused (linalg_ops.norm's
        # ValueError "'ord' must be a supported vector norm, got inf")
        raise ctx.error(f"'ord' must be a supported {'matrix' if is_matrix else 'vector'} norm, got "
                        f"the string {ord_!r}, which TensorFlow refuses; write ord=inf without "
                        "quotes (TF code's np.inf)", "TG203", "ord")
    if is_matrix:
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
            raise ctx.error(f"'axis' must be None, an integer, or a list of 2 unique integers, got "
                            f"{list(axis)}", "TG203", "axis")
        axes = tuple(norm_axes(ctx, a, x.rank, "axis")[0] for a in axis)
        if axes[0] == axes[1]:
            raise ctx.error(f"'axis' must be None, an integer, or a list of 2 unique integers, got "
                            f"{list(axis)}", "TG203", "axis")
        if ord_ not in ("euclidean", "fro", 1, math.inf) and not (ord_ == 2 and not isinstance(ord_, str)):
            raise ctx.error(f"'ord' must be a supported matrix norm ('euclidean', 'fro', 1, 2, inf), "
                            f"got {ord_!r}", "TG203", "ord")
        if ord_ == 2 and not isinstance(ord_, str):
            raise ctx.error("the matrix 2-norm (ord=2 with two axes) needs a singular value "
                            "decomposition, which tfgrad does not implement", "TG203", "ord")
        return ord_, axes, True
    if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int)):
        raise ctx.error(f"'axis' must be None, an integer, or a list of 2 unique integers, got "
                        f"{axis!r}", "TG203", "axis")
    ok_named = ord_ in ("euclidean", 1, 2, math.inf)
    numeric = isinstance(ord_, (int, float)) and not isinstance(ord_, bool)
    if not ok_named and not (numeric and ord_ > 0):
        raise ctx.error(f"'ord' must be a supported vector norm ('euclidean', a positive number "
                        f"or inf), got {ord_!r}", "TG203", "ord")
    axes = None if axis is None else norm_axes(ctx, axis, x.rank, "axis")
    return ord_, axes, False


def _norm_shape(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("tensor")
    _, axes, _ = _norm_args(ctx)
    if ctx.a("keepdims"):
        return tuple(1 for _ in x.shape) if axes is None else keepdims_shape(x.shape, axes)
    if axes is None:
        return ()
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _sum_keep(x: Node, axes: tuple[int, ...] | None) -> Node:
    ax = tuple(range(x.rank)) if axes is None else axes
    return reshape(reduce("sum", ax, x), keepdims_shape(x.shape, ax))


def _max_keep(x: Node, axes: tuple[int, ...] | None) -> Node:
    ax = tuple(range(x.rank)) if axes is None else axes
    return reshape(_reduce_node("max", ax, x), keepdims_shape(x.shape, ax))


def _norm(ctx: Ctx) -> Node:
    # linalg_ops.py norm: every branch reduces with keepdims=True, then
    # squeezes the axes (all size-1 axes when axis is None) unless keepdims.
    x = _float_input(ctx, "tensor")
    ord_, axes, is_matrix = _norm_args(ctx)
    if ord_ in ("fro", "euclidean", 2) and not isinstance(ord_, bool):
        # sqrt(reduce_sum(x * conj(x), axis, keepdims=True))
        result = ew("sqrt", _sum_keep(ew("multiply", x, x), axes))
    else:
        result = ew("abs", x)
        if ord_ == 1:
            result = _sum_keep(result, None if axes is None else (axes[0],))
            if is_matrix:
                result = _max_keep(result, (axes[-1],))
        elif ord_ == math.inf:
            if is_matrix:
                result = _sum_keep(result, (axes[1],))
            result = _max_keep(result, None if axes is None else (axes[0],))
        else:
            p = float(ord_)
            # pow(reduce_sum(pow(|x|, ord), axis, keepdims=True), 1.0 / ord)
            s = _sum_keep(ew("pow", result, _scalar(p, result)), axes)
            result = ew("pow", s, _scalar(1.0 / p, s))
    if not ctx.a("keepdims"):
        if axes is None:
            result = reshape(result, tuple(d for d in result.shape if d != 1))
        else:
            result = reshape(result, tuple(d for i, d in enumerate(result.shape) if i not in axes))
    return result


register(OpDef(
    "norm", _NORM_PARAMS,
    "vector norm over axis (ord 'euclidean', 1, 2, inf or p > 0) or matrix norm over two axes "
    "('fro'/'euclidean', 1, inf)",
    _norm_shape, _norm,
    "euclidean: dx += sqrt_grad(‖x‖, G)-based: G∘x⊘‖x‖ (nan for a zero group: sqrt'(0) = inf "
    "times x = 0); 1: G∘sign(x); inf: G∘sign(x) at the largest |x| (ties share)",
    "linalg_ops.py norm (a composition: sqrt(reduce_sum(x * conj(x))), abs, reduce_max, pow); "
    "its gradient is TF's autodiff of it",
    "reduce", errors=("TG202", "TG203"), kinks=_zero_entries("tensor"),
    kink_note="a group that is all zeros (euclidean), a zero entry (ord 1) or tied largest |x| (inf)",
))


# -- l2_normalize -----------------------------------------------------------------------

def _l2n_shape(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("x")
    norm_axes(ctx, ctx.a("axis"), x.rank, "axis")
    return x.shape


def _l2_normalize(ctx: Ctx) -> Node:
    # nn_impl.py l2_normalize:
    #   square_sum = reduce_sum(square(x), axis, keepdims=True)
    #   x_inv_norm = rsqrt(maximum(square_sum, epsilon)); return x * x_inv_norm
    x = _float_input(ctx, "x")
    axes = norm_axes(ctx, ctx.a("axis"), x.rank, "axis")
    square_sum = reshape(reduce("sum", axes, ew("square", x)), keepdims_shape(x.shape, axes))
    inv = ew("rsqrt", ew("maximum", square_sum, _scalar(float(ctx.a("epsilon")), square_sum)))
    return _bin("multiply", x, inv)


register(OpDef(
    "l2_normalize", (Param("x", TENSOR), Param("axis", "axis", None), Param("epsilon", "float", 1e-12)),
    "x ⊘ sqrt(max(Σ x², epsilon)) over axis (every axis when null)",
    _l2n_shape, _l2_normalize,
    "through TF's composition: where Σ x² < epsilon the maximum sends no gradient to Σ x², "
    "so dx = G ⊘ sqrt(epsilon) (a zero vector's gradient is G·1e6)",
    "nn_impl.py l2_normalize: multiply(x, rsqrt(maximum(reduce_sum(square(x), axis, "
    "keepdims=True), epsilon)))",
    "reduce", errors=("TG202", "TG203"), kink_note="Σ x² == epsilon",
))


# -- cumsum, cumprod ------------------------------------------------------------------

_SCAN_PARAMS = (Param("x", TENSOR), Param("axis", "int", 0), Param("exclusive", "bool", False),
                Param("reverse", "bool", False))


def _scan_axis(ctx: Ctx) -> int:
    x = ctx.x("x")
    if x.rank == 0:
        raise ctx.error(f"{ctx.label('x')} is a scalar; {ctx.op.name} scans along an axis of a "
                        "tensor of rank 1 or more", "TG202", "x")
    return norm_axes(ctx, ctx.a("axis"), x.rank, "axis")[0]


def _scan_shape(ctx: Ctx) -> tuple[int, ...]:
    no_bool(ctx, "x")
    _scan_axis(ctx)
    return ctx.x("x").shape


def _scan(kind: str):
    def forward(ctx: Ctx) -> Node:
        axis = _scan_axis(ctx)
        return prim(kind, ctx.x("x"), attrs=(axis, bool(ctx.a("exclusive")), bool(ctx.a("reverse"))))
    return forward


register(OpDef(
    "cumsum", _SCAN_PARAMS, "running sum along axis (exclusive: shifted; reverse: from the end)",
    _scan_shape, _scan("cumsum"),
    "dx += cumsum(G, axis, exclusive, reverse = not reverse)",
    "math_grad.py _CumsumGrad", "reduce", errors=("TG202", "TG203"),
))
register(OpDef(
    "cumprod", _SCAN_PARAMS, "running product along axis (exclusive: shifted; reverse: from the end)",
    _scan_shape, _scan("cumprod"),
    "dx += div_no_nan(cumsum(cumprod(x)∘G, axis, exclusive, not reverse), x): "
    "0 where x = 0 (TF's convention, not the true derivative)",
    "math_grad.py _CumprodGrad", "reduce", errors=("TG202", "TG203"), kinks=_zero_entries("x"),
    kink_note="x == 0 (TF's gradient is 0 there)",
))


# -- argmax, argmin ----------------------------------------------------------------------

_ARG_PARAMS = (Param("input", TENSOR), Param("axis", "int", None),
               Param("output_type", "dtype", "int64", choices=("int32", "int64")))


def _arg_axis(ctx: Ctx) -> int:
    x = ctx.x("input")
    axis = ctx.a("axis")
    if axis is None:
        axis = 0  # TF's argmax/argmin: axis None means 0
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise ctx.error(f"axis must be one integer, got {list(axis)}", "TG203", "axis")
        axis = axis[0]
    if x.rank == 0:
        raise ctx.error(f"{ctx.label('input')} is a scalar; {ctx.op.name} reduces along an axis of "
                        "a tensor of rank 1 or more", "TG202", "input")
    axis = norm_axes(ctx, axis, x.rank, "axis")[0]
    if x.shape[axis] == 0:  # TF's ArgMax: "Reduction axis 1 is empty in shape [2,0]"
        raise ctx.error(f"axis {axis} of {ctx.label('input')} (shape {fmt_shape(x.shape)}) is empty; "
                        f"{ctx.op.name} needs at least one entry to pick", "TG202", "input")
    return axis


def _arg_shape_rule(ctx: Ctx) -> tuple[int, ...]:
    axis = _arg_axis(ctx)
    dt = ctx.a("output_type")
    if dt not in ("int32", "int64"):
        raise ctx.error(f"output_type must be int32 or int64, got {dt!r}", "TG203", "output_type")
    return tuple(d for i, d in enumerate(ctx.x("input").shape) if i != axis)


def _arg(kind: str):
    def forward(ctx: Ctx) -> Node:
        axis = _arg_axis(ctx)
        return prim(kind, ctx.x("input"), attrs=(axis, ctx.a("output_type")))
    return forward


register(OpDef(
    "argmax", _ARG_PARAMS, "index of the largest entry along axis (0 when null); the first of ties",
    _arg_shape_rule, _arg("argmax"), "none: an integer result carries no gradient",
    "math_grad.py: ops.NotDifferentiable('ArgMax')", "reduce", errors=("TG202", "TG203"),
    differentiable=False,
))
register(OpDef(
    "argmin", _ARG_PARAMS, "index of the smallest entry along axis (0 when null); the first of ties",
    _arg_shape_rule, _arg("argmin"), "none: an integer result carries no gradient",
    "math_grad.py: ops.NotDifferentiable('ArgMin')", "reduce", errors=("TG202", "TG203"),
    differentiable=False,
))

__all__ = ["mean_of", "variance_of", "reduced_shape"]
