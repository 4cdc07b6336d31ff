"""Higher-order ops: ``gradients``, ``hessians``, ``jacobian``, ``batch_jacobian``.

Each lowers to the reverse sweep (``higher``, on ``autodiff.backprop``) over
its inputs' expression nodes, so its result is an ordinary expression that
other ops use and that can be differentiated again: ``g1: gradients(y, x)``,
``g2: gradients(g1, x)``.

One x or a list: ``gradients(y, x)`` names x's gradient tensor,
``gradients(y, [x])`` a list of one (``g[0]``), as TF returns a list and the
project's oracle unwraps a single x. The parser passes a ``tensors``
parameter written as one bare tensor as a single name (not a tuple of one),
and the engine hands the op a single node; ``n_outputs`` sees the same
difference (None: one output; an int: a list).

A gradient that is None is an ``Absent`` node: using it in another op is an
error (TG202) naming the x and why it is None.
"""

from __future__ import annotations

from typing import Any

from .. import higher
from ..tensor import Absent, Node, Tensor, tensor
from .spec import TENSOR, TENSORS, Ctx, OpDef, Param, fmt_shape, register

FAMILY = "higher"
UNCONNECTED = Param("unconnected_gradients", "str", "none", choices=("none", "zero"),
                    doc="'none': None for an x no path reaches; 'zero': zeros")


def _listed(ctx: Ctx, param: str) -> bool:
    return isinstance(ctx.inputs.get(param), (list, tuple))


def _nodes(ctx: Ctx, param: str) -> list[Node]:
    v = ctx.inputs.get(param)
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _labels(ctx: Ctx, param: str) -> list[str]:
    lab = ctx.labels.get(param, param)
    n = len(_nodes(ctx, param))
    if isinstance(lab, (list, tuple)):
        return [str(x) for x in lab]
    return [str(lab)] if n == 1 else [f"{param}[{i}]" for i in range(n)]


def _y_label(ctx: Ctx, param: str) -> str:
    labs = _labels(ctx, param)
    return labs[0] if len(labs) == 1 else "sum(" + ", ".join(labs) + ")"


def _n_outputs(param: str):
    def n(inputs: dict) -> int | None:
        v = inputs.get(param)
        if isinstance(v, (list, tuple)):
            return len(v)
        return None
    return n


def _float_xs(ctx: Ctx, param: str, what: str) -> None:
    for node, lab in zip(_nodes(ctx, param), _labels(ctx, param)):
        if not node.dtype.startswith("float"):
            raise ctx.error(f"{lab} is {node.dtype}; {what} are taken of floating-point tensors",
                            "TG202", param)


def _shapes(ctx: Ctx, param: str, shape_of) -> Any:
    shapes = [shape_of(x) for x in _nodes(ctx, param)]
    return shapes if _listed(ctx, param) else shapes[0]


def _wrap(ctx: Ctx, param: str, outs: list[Node]) -> Any:
    return outs if _listed(ctx, param) else outs[0]


# -- gradients ----------------------------------------------------------------------

def _grad_ys(ctx: Ctx) -> list[Node | None] | None:
    gys = ctx.inputs.get("grad_ys")
    if gys is None:
        return None
    ys = _nodes(ctx, "ys")
    given = list(gys) if isinstance(gys, (list, tuple)) else [gys]
    if len(given) != len(ys):
        raise ctx.error(f"grad_ys has {len(given)} entries but ys has {len(ys)}; give one per y",
                        "TG204", "grad_ys")
    labs = _labels(ctx, "grad_ys")
    ylabs = _labels(ctx, "ys")
    out: list[Node | None] = []
    for i, (g, y) in enumerate(zip(given, ys)):
        if g is None:
            out.append(None)
            continue
        if type(g) is Absent:
            raise ctx.error(f"grad_ys[{i}] is None: {g.why}", "TG202", "grad_ys")
        if type(g) is Tensor and g.kind == "literal" and g.dtype != y.dtype:
            g = tensor(g.name, g.shape, y.dtype, g.kind)  # a literal takes its y's dtype
        if tuple(g.shape) != tuple(y.shape):
            raise ctx.error(
                f"grad_ys[{i}] {labs[i]} has shape {fmt_shape(g.shape)} but ys[{i}] {ylabs[i]} has "
                f"shape {fmt_shape(y.shape)}; each grad_ys entry must have its y's shape",
                "TG204", "grad_ys")
        if g.dtype != y.dtype:
            raise ctx.error(f"grad_ys[{i}] {labs[i]} is {g.dtype} but ys[{i}] {ylabs[i]} is "
                            f"{y.dtype}", "TG202", "grad_ys")
        out.append(g)
    return out


def _gradients_shape(ctx: Ctx) -> Any:
    _grad_ys(ctx)
    return _shapes(ctx, "xs", lambda x: tuple(x.shape))


def _gradients(ctx: Ctx) -> Any:
    outs = higher.gradients(
        _nodes(ctx, "ys"), _nodes(ctx, "xs"), _grad_ys(ctx), _nodes(ctx, "stop_gradients"),
        ctx.a("unconnected_gradients"), y_label=_y_label(ctx, "ys"), x_labels=_labels(ctx, "xs"))
    return _wrap(ctx, "xs", outs)


register(OpDef(
    "gradients",
    (Param("ys", TENSORS, doc="a tensor or a list: the gradient is that of their sum"),
     Param("xs", TENSORS, doc="a tensor (its gradient) or a list (a list of gradients)"),
     Param("grad_ys", TENSORS, None, doc="cotangents of the ys (default: ones)"),
     Param("stop_gradients", TENSORS, None, doc="nodes held constant"),
     UNCONNECTED),
    "tf.gradients as an op: d(sum_i sum(grad_ys[i] * ys[i])) / dx for each x, usable by other "
    "ops and differentiable again",
    _gradients_shape, _gradients,
    "the reverse sweep over ys's expression, seeded with grad_ys (ones by default); "
    "differentiating it again runs the sweep over the gradient's own nodes",
    "gradients_util.py _GradientsHelper; each op's registered gradient, grad kernels' own "
    "gradients (math_grad.py _TanhGradGrad, _SqrtGradGrad...) for higher order",
    FAMILY, errors=("TG202", "TG204"), outputs=0, n_outputs=_n_outputs("xs"),
    examples=("g: gradients(y, x)", "gg: gradients(g, x)", "g: gradients(loss, [w, b])"),
))


# -- hessians -----------------------------------------------------------------------

def _hessians(ctx: Ctx) -> Any:
    try:
        outs = higher.hessians(_nodes(ctx, "ys"), _nodes(ctx, "xs"), _y_label(ctx, "ys"),
                               _labels(ctx, "xs"))
    except higher.NoneGradient as e:
        raise ctx.error(str(e), "TG202", "xs") from None
    return _wrap(ctx, "xs", outs)


register(OpDef(
    "hessians",
    (Param("ys", TENSORS, doc="a tensor or a list: the Hessian is that of their sum"),
     Param("xs", TENSORS, doc="a tensor (its Hessian) or a list (a list of Hessians)")),
    "tf.hessians: for each x, the Hessian of sum(ys) with shape x.shape + x.shape",
    lambda ctx: _shapes(ctx, "xs", lambda x: tuple(x.shape) * 2), _hessians,
    "H[j] = gradients(reshape(gradients(sum(ys), x), [-1])[j], x): one sweep per entry of the "
    "gradient, stacked",
    "gradients_impl.py hessians (a while_loop of gradients over the flattened gradient)",
    FAMILY, errors=("TG202",), outputs=0, n_outputs=_n_outputs("xs"),
    examples=("h: hessians(loss, w)",),
))


# -- jacobian, batch_jacobian ----------------------------------------------------------

def _jacobian_shape(ctx: Ctx) -> Any:
    t = ctx.x("target")
    return _shapes(ctx, "source", lambda x: tuple(t.shape) + tuple(x.shape))


def _jacobian(ctx: Ctx) -> Any:
    outs = higher.jacobian(ctx.x("target"), _nodes(ctx, "source"), ctx.a("unconnected_gradients"),
                           str(ctx.label("target")), _labels(ctx, "source"))
    return _wrap(ctx, "source", outs)


register(OpDef(
    "jacobian",
    (Param("target", TENSOR), Param("source", TENSORS, doc="a tensor or a list of tensors"),
     UNCONNECTED),
    "GradientTape.jacobian: d target / d source with shape target.shape + source.shape",
    _jacobian_shape, _jacobian,
    "J[i] = gradients(reshape(target, [-1])[i], source): one sweep per entry of the target",
    "backprop.py GradientTape.jacobian (pfor over the target's entries)",
    FAMILY, errors=("TG202",), outputs=0, n_outputs=_n_outputs("source"),
    examples=("j: jacobian(y, x)",),
))


def _batch_shape(ctx: Ctx) -> tuple:
    t, s = ctx.x("target"), ctx.x("source")
    if t.rank < 1 or s.rank < 1:
        which = "target" if t.rank < 1 else "source"
        raise ctx.error(f"{ctx.label(which)} is a scalar; batch_jacobian needs a batch axis "
                        "(rank >= 1) on target and source", "TG202", which)
    if t.shape[0] != s.shape[0]:
        raise ctx.error(
            f"{ctx.label('target')} has shape {fmt_shape(t.shape)} and {ctx.label('source')} has "
            f"shape {fmt_shape(s.shape)}: batch_jacobian needs the same first dimension (TF: "
            "'Need first dimension of target shape ... and source shape ... to match')",
            "TG202", "source")
    return (t.shape[0],) + tuple(t.shape[1:]) + tuple(s.shape[1:])


def _batch(ctx: Ctx) -> Node:
    _batch_shape(ctx)
    return higher.batch_jacobian(ctx.x("target"), ctx.x("source"), ctx.a("unconnected_gradients"),
                                 str(ctx.label("target")), str(ctx.label("source")))


register(OpDef(
    "batch_jacobian",
    (Param("target", TENSOR), Param("source", TENSOR), UNCONNECTED),
    "GradientTape.batch_jacobian: per batch row b, d target[b] / d source[b] with shape "
    "(b,) + target.shape[1:] + source.shape[1:] (rows are assumed independent, as in TF)",
    _batch_shape, _batch,
    "BJ[:, i] = gradients(reshape(target, [b, -1])[:, i], source): one sweep per column",
    "backprop.py GradientTape.batch_jacobian (pfor over the target's columns)",
    FAMILY, errors=("TG202",),
    examples=("bj: batch_jacobian(y, x)",),
))
