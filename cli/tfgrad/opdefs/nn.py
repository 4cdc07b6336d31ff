"""Neural-network ops: the softmax family, cross-entropies, l2_loss,
bias_add, batch_normalization, moments.

TF kernels with a registered gradient get a kernel node kind here (in
``moves.MOVES``), whose VJP builds TF's gradient as nodes:

- ``softmax``, ``log_softmax`` (last axis; other axes are swapped to the end
  as TF's ``_wrap_2d_function`` does): ``_SoftmaxGrad``, ``_LogSoftmaxGrad``;
- ``xent_loss``/``xent_backprop``: the two outputs of TF's fused
  ``SoftmaxCrossEntropyWithLogits`` kernel (loss, and softmax - labels).
  ``_SoftmaxCrossEntropyWithLogitsGrad`` gets a cotangent for each output: the
  loss's gives ``G·backprop`` to logits and ``G·(-log_softmax)`` to labels; the
  backprop output's (only from second order) gives
  ``(GG - Σ GG∘softmax)∘softmax`` to logits and, as in TF, nothing but zeros
  to labels (TF ignores that backprop depends on labels);
- ``sparse_xent_loss``/``sparse_xent_backprop``: the same for
  ``SparseSoftmaxCrossEntropyWithLogits`` (integer labels get no gradient; a
  label outside [0, classes) is an error naming the labels and the index, as
  TF's CPU kernel raises);
- ``l2_loss``: ``_L2LossGrad`` (x * G).

Ops that TF writes in Python are lowered to that composition, so their
gradient is TF's autodiff of it: ``sigmoid_cross_entropy_with_logits`` (with
selects: at logit 0 and label 0.3 the gradient is 0.2, where a formula with
``maximum`` would give 0.7), ``batch_normalization``, ``moments`` (the mean
under ``stop_gradient`` inside the variance). ``bias_add`` is TF's BiasAdd
kernel, an add over the channel axis: its gradient ``BiasAddGrad`` is the sum
over the other axes and ``_BiasAddGradGrad`` a tile, which is exactly what an
add with broadcasting lowers to (the broadcast node's VJP sums, a sum's VJP
broadcasts), so it is lowered that way.
"""

from __future__ import annotations

import numpy as np

from ..graph import GraphError
from ..moves import Prim, register as register_prim
from ..tensor import (
    Node, broadcast_to, contract, ew, fill, is_float, prim, reduce, reshape, transpose, zeros,
)
from .common import broadcast_shape, norm_axes, same_dtype, weak_literals
from .reduce import mean_of
from .spec import REQUIRED, TENSOR, Ctx, OpDef, Param, fmt_shape, register


# -- helpers ------------------------------------------------------------------------

def _sum_last_keep(x: Node) -> Node:
    """reduce_sum(x, -1, keepdims=True) broadcast back to x's shape."""
    s = reduce("sum", (x.rank - 1,), x)
    return broadcast_to(reshape(s, s.shape + (1,)), x.shape)


def _bcast_vec(vec: Node, mat: Node) -> Node:
    """TF's ``_BroadcastMul(vec, mat)``: expand_dims(vec, -1) * mat."""
    return ew("multiply", broadcast_to(reshape(vec, vec.shape + (1,)), mat.shape), mat)


def _bin(fn: str, a: Node, b: Node) -> Node:
    shape = np.broadcast_shapes(a.shape, b.shape)
    return ew(fn, broadcast_to(a, shape), broadcast_to(b, shape))


def _float_input(ctx: Ctx, param: str) -> Node:
    x = ctx.x(param)
    if not is_float(x.dtype):
        raise ctx.error(
            f"{ctx.label(param)} is {x.dtype}; {ctx.op.name} takes a float32 or float64 tensor "
            "(use cast)", "TG202", param)
    return x


def _need_rank(ctx: Ctx, param: str, least: int) -> Node:
    x = ctx.x(param)
    if x.rank < least:
        raise ctx.error(
            f"{ctx.label(param)} has shape {fmt_shape(x.shape)}; {ctx.op.name} needs a tensor of "
            f"rank {least} or more", "TG202", param)
    return x


# -- softmax, log_softmax kernels (last axis) ------------------------------------------

def _np_softmax(x: np.ndarray) -> np.ndarray:
    # TF's SoftmaxFunctor: e = exp(x - max); e * (1 / sum(e)) along the last axis.
    e = np.exp(x - np.max(x, axis=-1, keepdims=True, initial=-np.inf))
    return e * (1 / np.sum(e, axis=-1, keepdims=True))


def _np_log_softmax(x: np.ndarray) -> np.ndarray:
    # TF's SoftmaxFunctor (log): s = x - max; s - log(sum(exp(s))).
    s = x - np.max(x, axis=-1, keepdims=True, initial=-np.inf)
    return s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))


def _softmax_vjp(n: Node, g: Node) -> list:
    # nn_grad.py _SoftmaxGrad: (G - reduce_sum(G * y, -1, keepdims=True)) * y
    return [ew("multiply", ew("subtract", g, _sum_last_keep(ew("multiply", g, n))), n)]


def _log_softmax_vjp(n: Node, g: Node) -> list:
    # nn_grad.py _LogSoftmaxGrad: G - reduce_sum(G, -1, keepdims=True) * exp(y)
    return [ew("subtract", g, ew("multiply", _sum_last_keep(g), ew("exp", n)))]


def _same(ops: tuple, a: tuple) -> tuple:
    return ops[0].shape, ops[0].dtype


register_prim(Prim(
    "softmax", _same, _np_softmax, _softmax_vjp,
    "softmax({0})", r"\operatorname{{softmax}}({0})",
    "exp(x) / Σ exp(x) along the last axis (computed shifted by the maximum)",
    "nn_grad.py _SoftmaxGrad: (G - reduce_sum(G * y, -1, keepdims=True)) * y", kernel=True,
))
register_prim(Prim(
    "log_softmax", _same, _np_log_softmax, _log_softmax_vjp,
    "log_softmax({0})", r"\operatorname{{log\,softmax}}({0})",
    "x - log Σ exp(x) along the last axis (computed shifted by the maximum)",
    "nn_grad.py _LogSoftmaxGrad: G - reduce_sum(G, -1, keepdims=True) * exp(y)", kernel=True,
))


def _softmax_grad_grad(gg: Node, logits: Node) -> Node:
    # The second-order term of _SoftmaxCrossEntropyWithLogitsGrad:
    #   softmax = Softmax(logits)
    #   (gg - squeeze(matmul(expand_dims(gg, 1), expand_dims(softmax, 2)), 1)) * softmax
    sm = prim("softmax", logits)
    letters = "abcdefghij"[: logits.rank]
    dot = contract(f"{letters},{letters}->{letters[:-1]}", gg, sm)
    dot = broadcast_to(reshape(dot, dot.shape + (1,)), gg.shape)
    return ew("multiply", ew("subtract", gg, dot), sm)


# -- softmax cross-entropy kernels -------------------------------------------------------

def _np_xent(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # TF's XentFunctor (xent_op.h), along the last axis:
    #   shifted = logits - max; sum_exp = sum(exp(shifted))
    #   loss = sum(labels * (log(sum_exp) - shifted)); backprop = exp(shifted) / sum_exp - labels
    shifted = logits - np.max(logits, axis=-1, keepdims=True, initial=-np.inf)
    sum_exp = np.sum(np.exp(shifted), axis=-1, keepdims=True)
    loss = np.sum(labels * (np.log(sum_exp) - shifted), axis=-1)
    backprop = np.exp(shifted) / sum_exp - labels
    return loss, backprop


def _xent_loss_vjp(n: Node, g: Node) -> list:
    # nn_grad.py _SoftmaxCrossEntropyWithLogitsGrad, the loss output's part:
    #   (_BroadcastMul(G, backprop), _BroadcastMul(G, -log_softmax(logits)))
    logits, labels = n.args
    bp = prim("xent_backprop", logits, labels)
    return [_bcast_vec(g, bp), _bcast_vec(g, ew("negative", prim("log_softmax", logits)))]


def _xent_backprop_vjp(n: Node, gg: Node) -> list:
    # The backprop output's part (grad_loss is zeros when only it has a
    # cotangent): logits get 0 * backprop + the softmax term; labels get
    # 0 * -log_softmax(logits) (TF returns zeros there, not None).
    logits, labels = n.args
    z = zeros(logits.shape[:-1], logits.dtype)
    dl = ew("add", _bcast_vec(z, n), _softmax_grad_grad(gg, logits))
    return [dl, _bcast_vec(z, ew("negative", prim("log_softmax", logits)))]


register_prim(Prim(
    "xent_loss", lambda ops, a: (ops[0].shape[:-1], ops[0].dtype),
    lambda lg, lb: _np_xent(lg, lb)[0], _xent_loss_vjp,
    "xent({0}, {1})", r"\operatorname{{xent}}({0}, {1})",
    "TF's SoftmaxCrossEntropyWithLogits loss output: Σ labels ∘ (log Σ exp(s) - s) for "
    "s = logits - max, along the last axis (operands: logits, labels)",
    "nn_grad.py _SoftmaxCrossEntropyWithLogitsGrad: (G·backprop, G·(-log_softmax(logits)))",
    kernel=True,
))
register_prim(Prim(
    "xent_backprop", _same, lambda lg, lb: _np_xent(lg, lb)[1], _xent_backprop_vjp,
    "xent_backprop({0}, {1})", r"\operatorname{{xent\_backprop}}({0}, {1})",
    "TF's SoftmaxCrossEntropyWithLogits backprop output: softmax(logits) - labels",
    "nn_grad.py _SoftmaxCrossEntropyWithLogitsGrad (grad_grad): logits get "
    "(GG - Σ GG∘softmax)∘softmax; labels get zeros", kernel=True,
    inexact=(1,), inexact_note="TF's second order of softmax_cross_entropy_with_logits gives "
    "labels no term (nn_grad.py _SoftmaxCrossEntropyWithLogitsGrad: zeros, where the "
    "derivative of softmax(logits) - labels is -1)",
))


def _check_labels(labels: np.ndarray, depth: int, where: tuple) -> None:
    bad = (labels < 0) | (labels >= depth)
    if np.any(bad):
        text, pos = where
        v = int(labels[bad].flat[0])
        raise GraphError(
            f"sparse_softmax_cross_entropy_with_logits: {text} has a label value of {v}, outside "
            f"the valid range of [0, {depth}) (the number of classes, logits' last axis)",
            pos, "TG202")


def _np_sparse_xent(logits: np.ndarray, labels: np.ndarray, where: tuple
                    ) -> tuple[np.ndarray, np.ndarray]:
    # TF's SparseXentFunctor (sparse_xent_op.h): shifted = logits - max,
    #   loss = log(sum(exp(shifted))) - shifted[label]; backprop = exp(shifted)/sum_exp - onehot
    depth = logits.shape[-1]
    _check_labels(labels, depth, where)
    shifted = logits - np.max(logits, axis=-1, keepdims=True, initial=-np.inf)
    sum_exp = np.sum(np.exp(shifted), axis=-1, keepdims=True)
    idx = labels.astype(np.int64)[..., None]
    picked = np.take_along_axis(shifted, idx, axis=-1)
    loss = (np.log(sum_exp) - picked)[..., 0]
    onehot = (np.arange(depth) == idx).astype(logits.dtype)
    backprop = np.exp(shifted) / sum_exp - onehot
    return loss, backprop


def _sparse_loss_vjp(n: Node, g: Node) -> list:
    # nn_grad.py _SparseSoftmaxCrossEntropyWithLogitsGrad: (_BroadcastMul(G, backprop), None)
    logits, labels = n.args
    bp = prim("sparse_xent_backprop", logits, labels, attrs=n.attrs)
    return [_bcast_vec(g, bp), None]


def _sparse_backprop_vjp(n: Node, gg: Node) -> list:
    logits = n.args[0]
    z = zeros(logits.shape[:-1], logits.dtype)
    return [ew("add", _bcast_vec(z, n), _softmax_grad_grad(gg, logits)), None]


register_prim(Prim(
    "sparse_xent_loss", lambda ops, a: (ops[0].shape[:-1], ops[0].dtype),
    lambda lg, lb, where: _np_sparse_xent(lg, lb, where)[0], _sparse_loss_vjp,
    "sparse_xent({0}, {1})", r"\operatorname{{xent}}({0}, {1})",
    "TF's SparseSoftmaxCrossEntropyWithLogits loss output: log Σ exp(s) - s[label] for "
    "s = logits - max (operands: logits, integer labels)",
    "nn_grad.py _SparseSoftmaxCrossEntropyWithLogitsGrad: (G·backprop, None)", kernel=True,
))
register_prim(Prim(
    "sparse_xent_backprop", _same,
    lambda lg, lb, where: _np_sparse_xent(lg, lb, where)[1], _sparse_backprop_vjp,
    "sparse_xent_backprop({0}, {1})", r"\operatorname{{xent\_backprop}}({0}, {1})",
    "TF's SparseSoftmaxCrossEntropyWithLogits backprop output: softmax(logits) - one_hot(labels)",
    "nn_grad.py _SparseSoftmaxCrossEntropyWithLogitsGrad (grad_grad): logits get "
    "(GG - Σ GG∘softmax)∘softmax; labels None", kernel=True,
))


# -- l2_loss kernel -------------------------------------------------------------------

def _np_l2_loss(t: np.ndarray) -> np.ndarray:
    # TF's L2LossOp: sum(square(t) * 0.5)
    return np.asarray(np.sum(np.square(t) * 0.5, dtype=t.dtype), dtype=t.dtype)


register_prim(Prim(
    "l2_loss", lambda ops, a: ((), ops[0].dtype), _np_l2_loss,
    lambda n, g: [ew("multiply", n.args[0], broadcast_to(g, n.args[0].shape))],
    "l2_loss({0})", r"\tfrac{{1}}{{2}}\lVert {0} \rVert^2",
    "sum(t²) / 2 (TF's L2Loss kernel: sum(square(t) * 0.5))",
    "nn_grad.py _L2LossGrad: x * G", kernel=True,
))


# -- softmax, log_softmax ops ------------------------------------------------------------

def _swap_perm(rank: int, dim: int) -> tuple[int, ...]:
    # nn_ops.py _wrap_2d_function._swap_axis: range(dim), [last], range(dim + 1, last), [dim]
    last = rank - 1
    return tuple(range(dim)) + (last,) + tuple(range(dim + 1, last)) + (dim,)


def _softmax_axis(ctx: Ctx) -> int:
    x = _need_rank(ctx, "logits", 1)
    axis = ctx.a("axis")
    if axis is None:
        axis = -1
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise ctx.error(f"axis must be one integer, got {list(axis)}", "TG203", "axis")
        axis = axis[0]
    return norm_axes(ctx, axis, x.rank, "axis")[0]


def _softmax_shape(ctx: Ctx) -> tuple[int, ...]:
    _softmax_axis(ctx)
    return ctx.x("logits").shape


def _wrap_last(kind: str):
    def forward(ctx: Ctx) -> Node:
        x = _float_input(ctx, "logits")
        dim = _softmax_axis(ctx)
        if dim == x.rank - 1:
            return prim(kind, x)
        perm = _swap_perm(x.rank, dim)  # a swap: its own inverse
        return transpose(prim(kind, transpose(x, perm)), perm)
    return forward


_SOFTMAX_PARAMS = (Param("logits", TENSOR), Param("axis", "int", None))

register(OpDef(
    "softmax", _SOFTMAX_PARAMS, "exp(x) / Σ exp(x) along axis (the last when null)",
    _softmax_shape, _wrap_last("softmax"),
    "dx += (G - Σ G∘y)∘y along the axis",
    "nn_grad.py _SoftmaxGrad (Softmax kernel; another axis is swapped to the end, "
    "nn_ops.py _wrap_2d_function)", "nn", errors=("TG202", "TG203"),
))
register(OpDef(
    "log_softmax", _SOFTMAX_PARAMS, "x - log Σ exp(x) along axis (the last when null)",
    _softmax_shape, _wrap_last("log_softmax"),
    "dx += G - (Σ G)∘exp(y) along the axis",
    "nn_grad.py _LogSoftmaxGrad (LogSoftmax kernel; another axis is swapped to the end, "
    "nn_ops.py _wrap_2d_function)", "nn", errors=("TG202", "TG203"),
))


# -- softmax_cross_entropy_with_logits --------------------------------------------------

def _xent_axis(ctx: Ctx) -> int:
    logits = _need_rank(ctx, "logits", 1)
    labels = ctx.x("labels")
    if labels.shape != logits.shape:
        raise ctx.error(
            f"{ctx.label('labels')} has shape {fmt_shape(labels.shape)} and {ctx.label('logits')} "
            f"has shape {fmt_shape(logits.shape)}; labels and logits must have the same shape",
            "TG202", "labels")
    axis = ctx.a("axis")
    if axis is None:
        axis = -1
    return norm_axes(ctx, axis, logits.rank, "axis")[0]


def _xent_shape(ctx: Ctx) -> tuple[int, ...]:
    axis = _xent_axis(ctx)
    return tuple(d for i, d in enumerate(ctx.x("logits").shape) if i != axis)


def _move_to_end(x: Node, dim: int) -> Node:
    # nn_ops.py _move_dim_to_end: range(dim), range(dim + 1, rank), [dim]
    return transpose(x, tuple(range(dim)) + tuple(range(dim + 1, x.rank)) + (dim,))


def _xent(ctx: Ctx) -> Node:
    # nn_ops.py softmax_cross_entropy_with_logits_v2_helper: labels cast to
    # logits' dtype, the class axis moved to the end, the fused kernel.
    weak_literals(ctx, ["logits", "labels"])
    logits = _float_input(ctx, "logits")
    _float_input(ctx, "labels")
    same_dtype(ctx, ["logits", "labels"])
    labels = ctx.x("labels")
    axis = _xent_axis(ctx)
    if axis != logits.rank - 1:
        logits, labels = _move_to_end(logits, axis), _move_to_end(labels, axis)
    return prim("xent_loss", logits, labels)


register(OpDef(
    "softmax_cross_entropy_with_logits",
    (Param("labels", TENSOR), Param("logits", TENSOR), Param("axis", "int", -1)),
    "-Σ labels ∘ log_softmax(logits) along axis (TF's fused kernel)",
    _xent_shape, _xent,
    "dlogits += G∘(softmax(logits) - labels); dlabels += G∘(-log_softmax(logits)); "
    "second order through softmax only (TF gives labels no second-order term)",
    "nn_grad.py _SoftmaxCrossEntropyWithLogitsGrad (SoftmaxCrossEntropyWithLogits kernel, "
    "nn_ops.py softmax_cross_entropy_with_logits_v2_helper)", "nn", errors=("TG202", "TG203"),
    examples=(
        "{labels: [[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]], logits: {shape: [2, 3]}}",
    ),
))


# -- sparse_softmax_cross_entropy_with_logits -----------------------------------------

def _sparse_shape(ctx: Ctx) -> tuple[int, ...]:
    labels = ctx.x("labels")
    if getattr(labels, "kind", None) == "literal" and is_float(labels.dtype):
        # labels=[0, 2]: TF converts a Python list of ints to an int32 tensor
        # (as gather's indices); a literal that is not whole numbers is an error.
        from .indexing import index_input

        labels, _ = index_input(ctx, "labels")
    logits = ctx.x("logits")
    if logits.rank == 0:
        raise ctx.error(f"{ctx.label('logits')} is a scalar; logits need a class axis (the last)",
                        "TG202", "logits")
    if labels.dtype not in ("int32", "int64"):
        raise ctx.error(f"{ctx.label('labels')} is {labels.dtype}; sparse labels are class indices "
                        "of dtype int32 or int64", "TG202", "labels")
    if labels.rank != logits.rank - 1:
        raise ctx.error(
            f"{ctx.label('labels')} has rank {labels.rank} and {ctx.label('logits')} has rank "
            f"{logits.rank}; the labels' rank must be the logits' rank minus 1", "TG202", "labels")
    if labels.shape != logits.shape[:-1]:
        raise ctx.error(
            f"{ctx.label('labels')} has shape {fmt_shape(labels.shape)} and {ctx.label('logits')} "
            f"has shape {fmt_shape(logits.shape)}; the labels' shape must be the logits' shape "
            "without its last axis", "TG202", "labels")
    return labels.shape


def _sparse(ctx: Ctx) -> Node:
    _sparse_shape(ctx)
    logits = _float_input(ctx, "logits")
    where = (ctx.label("labels"), ctx.at("labels"))
    return prim("sparse_xent_loss", logits, ctx.x("labels"), attrs=(where,))


register(OpDef(
    "sparse_softmax_cross_entropy_with_logits",
    (Param("labels", TENSOR), Param("logits", TENSOR)),
    "-log_softmax(logits)[label] with integer class labels (TF's fused kernel); a label outside "
    "[0, classes) is an error",
    _sparse_shape, _sparse,
    "dlogits += G∘(softmax(logits) - one_hot(labels)); labels: none (integers)",
    "nn_grad.py _SparseSoftmaxCrossEntropyWithLogitsGrad (SparseSoftmaxCrossEntropyWithLogits "
    "kernel)", "nn", errors=("TG202",),
    examples=(
        "{labels: {value: [2, 0], dtype: int32}, logits: {shape: [2, 3]}}",
    ),
))


# -- sigmoid_cross_entropy_with_logits -----------------------------------------------

def _sig_shape(ctx: Ctx) -> tuple[int, ...]:
    labels, logits = ctx.x("labels"), ctx.x("logits")
    if labels.shape != logits.shape:
        raise ctx.error(
            f"{ctx.label('logits')} has shape {fmt_shape(logits.shape)} and {ctx.label('labels')} "
            f"has shape {fmt_shape(labels.shape)}; logits and labels must have the same shape",
            "TG202", "labels")
    return logits.shape


def _sigmoid_xent(ctx: Ctx) -> Node:
    # nn_impl.py sigmoid_cross_entropy_with_logits:
    #   zeros = zeros_like(logits); cond = logits >= zeros
    #   relu_logits = where(cond, logits, zeros); neg_abs_logits = where(cond, -logits, logits)
    #   add(relu_logits - logits * labels, log1p(exp(neg_abs_logits)))
    weak_literals(ctx, ["logits", "labels"])
    _sig_shape(ctx)
    logits = _float_input(ctx, "logits")
    same_dtype(ctx, ["logits", "labels"])
    labels = ctx.x("labels")
    z = zeros(logits.shape, logits.dtype)
    cond = ew("greater_equal", logits, z)
    relu_logits = ew("select", cond, logits, z)
    neg_abs = ew("select", cond, ew("negative", logits), logits)
    return ew("add", ew("subtract", relu_logits, ew("multiply", logits, labels)),
              ew("log1p", ew("exp", neg_abs)))


register(OpDef(
    "sigmoid_cross_entropy_with_logits",
    (Param("labels", TENSOR), Param("logits", TENSOR)),
    "max(x, 0) - x∘z + log(1 + exp(-|x|)) for logits x and labels z, with TF's selects",
    _sig_shape, _sigmoid_xent,
    "dlogits += G∘(σ(x) - z) through TF's selects (at x = 0 the select sends G to the "
    "x ≥ 0 branch: 1 - z - ½); dlabels += -G∘x",
    "nn_impl.py sigmoid_cross_entropy_with_logits (a composition: greater_equal, where, "
    "negative, multiply, subtract, exp, log1p, add); its gradient is TF's autodiff of it",
    "nn", errors=("TG202",),
))


# -- l2_loss ---------------------------------------------------------------------------

def _l2_loss(ctx: Ctx) -> Node:
    return prim("l2_loss", _float_input(ctx, "t"))


register(OpDef(
    "l2_loss", (Param("t", TENSOR),), "sum(t²) / 2 (a scalar)",
    lambda ctx: (), _l2_loss, "dt += t∘G", "nn_grad.py _L2LossGrad (L2Loss kernel)", "nn",
    errors=("TG202",),
))


# -- bias_add --------------------------------------------------------------------------

def _bias_axis(ctx: Ctx) -> int:
    value = _need_rank(ctx, "value", 2)
    bias = ctx.x("bias")
    fmt = ctx.a("data_format")
    if fmt is not None and not isinstance(fmt, str):
        raise ctx.error(f"data_format must be a string such as 'NHWC' or 'NCHW', got {fmt!r}",
                        "TG203", "data_format")
    channels_first = fmt is not None and fmt.startswith("NC")
    if fmt is not None and not (fmt.startswith("NC") or fmt.endswith("C")):
        raise ctx.error(f"data_format {fmt!r} is not supported; use 'N...C' (channels last) or "
                        "'NC...' (channels first)", "TG203", "data_format")
    axis = 1 if channels_first else value.rank - 1
    if bias.rank != 1:
        raise ctx.error(f"{ctx.label('bias')} has shape {fmt_shape(bias.shape)}; the bias must be "
                        "a vector (rank 1)", "TG202", "bias")
    if bias.shape[0] != value.shape[axis]:
        where = "second" if channels_first else "last"
        raise ctx.error(
            f"{ctx.label('bias')} has {bias.shape[0]} entries but {ctx.label('value')} (shape "
            f"{fmt_shape(value.shape)}) has {value.shape[axis]} channels on its {where} axis; "
            "they must be equal", "TG202", "bias")
    return axis


def _bias_shape(ctx: Ctx) -> tuple[int, ...]:
    _bias_axis(ctx)
    return ctx.x("value").shape


def _bias_add(ctx: Ctx) -> Node:
    weak_literals(ctx, ["value", "bias"])
    axis = _bias_axis(ctx)
    same_dtype(ctx, ["value", "bias"])
    value, bias = ctx.x("value"), ctx.x("bias")
    b = reshape(bias, tuple(bias.shape[0] if i == axis else 1 for i in range(value.rank)))
    return ew("add", value, broadcast_to(b, value.shape))


register(OpDef(
    "bias_add",
    (Param("value", TENSOR), Param("bias", TENSOR), Param("data_format", "str", None)),
    "value + bias over the channel axis (the last, or the second for 'NC...' data formats)",
    _bias_shape, _bias_add,
    "dvalue += G; dbias += G summed over every axis but the channel axis",
    "nn_grad.py _BiasAddGrad (BiasAddGrad = that sum) and _BiasAddGradGrad (a tile)", "nn",
    errors=("TG202", "TG203"),
    examples=(
        "{value: {shape: [2, 3]}, bias: {shape: [3]}}",
        "{value: {shape: [2, 2, 3]}, bias: {shape: [3]}}",
    ),
))


# -- batch_normalization ------------------------------------------------------------------

def _bn_params(ctx: Ctx) -> list[str]:
    return [p for p in ("x", "mean", "variance", "offset", "scale") if ctx.inputs.get(p) is not None]


def _bn_shape(ctx: Ctx) -> tuple[int, ...]:
    return broadcast_shape(ctx, _bn_params(ctx))


def _batch_norm(ctx: Ctx) -> Node:
    # nn_impl.py batch_normalization:
    #   inv = rsqrt(variance + variance_epsilon); if scale is not None: inv *= scale
    #   return x * inv + (offset - mean * inv if offset is not None else -mean * inv)
    names = _bn_params(ctx)
    weak_literals(ctx, names)
    _float_input(ctx, "x")
    same_dtype(ctx, names)
    x, mean, var = ctx.x("x"), ctx.x("mean"), ctx.x("variance")
    offset, scale = ctx.inputs.get("offset"), ctx.inputs.get("scale")
    eps = ctx.a("variance_epsilon")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise ctx.error(f"variance_epsilon must be a number, got {eps!r}", "TG203",
                        "variance_epsilon")
    inv = ew("rsqrt", ew("add", var, fill(float(eps), var.shape, var.dtype)))
    if scale is not None:
        inv = _bin("multiply", inv, scale)
    mi = _bin("multiply", mean, inv)
    shift = _bin("subtract", offset, mi) if offset is not None else ew("negative", mi)
    out = _bin("add", _bin("multiply", x, inv), shift)
    shape = _bn_shape(ctx)
    return broadcast_to(out, shape) if out.shape != shape else out


register(OpDef(
    "batch_normalization",
    (Param("x", TENSOR), Param("mean", TENSOR), Param("variance", TENSOR),
     Param("offset", TENSOR, None), Param("scale", TENSOR, None), Param("variance_epsilon", "float")),
    "scale∘(x - mean)⊘sqrt(variance + variance_epsilon) + offset, computed as TF does: "
    "x∘inv + (offset - mean∘inv) with inv = rsqrt(variance + ε)∘scale; offset and scale may "
    "be null (TF's None: no offset, no scale)",
    _bn_shape, _batch_norm,
    "through TF's composition: dx += G∘inv; dmean -= Σ G∘inv; doffset += Σ G; "
    "dscale += Σ G∘(x - mean)∘rsqrt(variance + ε); dvariance through rsqrt_grad",
    "nn_impl.py batch_normalization (a composition: rsqrt, add, multiply, subtract); its "
    "gradient is TF's autodiff of it", "nn", errors=("TG202", "TG203"),
    examples=(
        "{x: {shape: [2, 3]}, mean: {shape: [3]}, variance: {shape: [3], low: 0.5, high: 1.5}, offset: {shape: [3]}, scale: {shape: [3]}, variance_epsilon: 0.001}",
    ),
))


# -- moments ---------------------------------------------------------------------------

def _moments_axes(ctx: Ctx) -> tuple[int, ...]:
    x = ctx.x("x")
    axes = ctx.a("axes")
    if axes is None:
        raise ctx.error("axes must be an integer or a list of integers", "TG203", "axes")
    return norm_axes(ctx, axes, x.rank, "axes")


def _moments_shape(ctx: Ctx) -> list:
    x = ctx.x("x")
    axes = _moments_axes(ctx)
    if ctx.a("keepdims"):
        s = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    else:
        s = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    return [s, s]


def _moments(ctx: Ctx) -> list:
    # nn_impl.py moments:
    #   mean = reduce_mean(x, axes, keepdims=True)
    #   variance = reduce_mean(squared_difference(x, stop_gradient(mean)), axes, keepdims=True)
    #   squeeze both over axes unless keepdims
    x = _float_input(ctx, "x")
    axes = _moments_axes(ctx)
    mean = mean_of(x, axes, True)
    variance = mean_of(_bin("squared_difference", x, ew("stop_gradient", mean)), axes, True)
    if not ctx.a("keepdims"):
        s = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        mean, variance = reshape(mean, s), reshape(variance, s)
    if mean is x:
        mean = ew("identity", mean)
    return [mean, variance]


register(OpDef(
    "moments",
    (Param("x", TENSOR), Param("axes", "axis", REQUIRED), Param("shift", "any", None),
     Param("keepdims", "bool", False)),
    "mean and variance over axes (two outputs: m[0] the mean, m[1] the variance); shift is "
    "accepted and ignored, as in TF 2",
    _moments_shape, _moments,
    "mean: dx += G ⊘ n; variance: dx += G∘2(x - mean) ⊘ n, with the mean under stop_gradient "
    "(TF's composition), so the variance sends nothing through the mean",
    "nn_impl.py moments (a composition: reduce_mean, squared_difference, stop_gradient, "
    "squeeze); its gradient is TF's autodiff of it", "nn", errors=("TG202", "TG203"),
    outputs=2,
    examples=(
        "{x: {shape: [2, 3, 2]}, axes: [0, 1]}",
        "{x: {shape: [2, 3]}, axes: [0], keepdims: true}",
    ),
))

