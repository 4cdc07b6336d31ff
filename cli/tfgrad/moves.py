"""Data movement and other named kernels: one table, one entry per kind.

A ``Move`` node (``tensor.prim(kind, *operands, attrs=...)``) is described
here by a ``Prim``: how its shape and dtype follow from its operands and
attributes, its NumPy kernel, its VJP as expression nodes, and how it reads.
``kernel=True`` marks entries that are computation rather than movement
(softmax, convolution, pooling...), built as ``Kernel`` nodes.

Every VJP returns one cotangent (or None) per operand, of that operand's
shape. ``broadcast``'s VJP is the one place where broadcasting is undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import tensor as _tensor
from .tensor import Node, Shape, reshape, transpose, unbroadcast


@dataclass(frozen=True)
class Prim:
    """A movement or kernel node kind.

    ``shape(operands, attrs)`` returns ``(shape, dtype)``; ``np(*arrays,
    *attrs)`` evaluates; ``vjp(node, g)`` returns one cotangent per operand;
    ``text``/``latex`` are ``str.format`` templates over ``{0}``... (operand
    texts), ``{args}`` (all of them), ``{attrs}`` (the attributes as
    written) and ``{kwargs}`` (``keywords(attrs)``: the attributes as TF's
    arguments, each after ``, ``: ``cumsum({0}{kwargs})`` prints
    ``cumsum(x, axis=1, reverse=True)``); ``tf`` is the TF source of the
    gradient."""

    name: str
    shape: Callable[[tuple, tuple], tuple[Shape, str]]
    np: Callable[..., np.ndarray]
    vjp: Callable[[Node, Node], list] | None
    text: str
    latex: str
    doc: str
    tf: str
    kernel: bool = False
    no_grad: bool = False
    # operands whose VJP is TF's convention and not the derivative (TF's
    # SoftmaxCrossEntropyWithLogits grad-grad gives labels zeros), and why:
    # ``check`` reports a finite-difference mismatch through them as a
    # TG402 note, not a failure
    inexact: tuple[int, ...] = ()
    inexact_note: str = ""
    # attrs -> [(TF's keyword, or None for a positional argument, value)]
    # for ``{kwargs}``; attributes at TF's default and internal ones (a
    # gradient kernel's output shape) are left out
    keywords: Callable[[tuple], list] | None = None


def _equal(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


REQUIRED = object()  # keyword_args: an attribute printed whatever its value


def keyword_args(*spec: tuple[str, object] | None) -> Callable[[tuple], list]:
    """``Prim.keywords`` from one entry per attribute: ``(keyword,
    default)`` (keyword ``""``: positional; default ``REQUIRED``: always
    printed, else printed only when different) or ``None`` (not printed)."""
    def keywords(attrs: tuple) -> list:
        out = []
        for sp, v in zip(spec, attrs):
            if sp is None:
                continue
            name, default = sp
            if default is not REQUIRED and isinstance(v, bool) == isinstance(default, bool) \
                    and _equal(v, default):
                continue
            out.append((name or None, v))
        return out
    return keywords


# the dict tensor.prim reads (one object: prim then needs no import per call)
MOVES: dict[str, Prim] = _tensor._MOVES


def register(p: Prim) -> Prim:
    if p.name in MOVES:
        raise ValueError(f"movement {p.name!r} registered twice")
    if p.vjp is None and not p.no_grad:
        raise ValueError(f"movement {p.name!r} has no VJP (set no_grad if intended)")
    MOVES[p.name] = p
    return p


def _same_dtype(operands: tuple) -> str:
    return operands[0].dtype


register(Prim(
    "reshape",
    lambda ops, a: (a[0], _same_dtype(ops)),
    lambda x, shape: np.reshape(x, shape),
    lambda n, g: [reshape(g, n.args[0].shape)],
    "reshape({0}, {attrs})", r"\operatorname{{reshape}}({0}, {attrs})",
    "the same elements in a new shape (row-major)", "array_grad.py _ReshapeGrad: reshape(G, shape(x))",
))


def _inverse_perm(perm: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


register(Prim(
    "transpose",
    lambda ops, a: (tuple(ops[0].shape[p] for p in a[0]), _same_dtype(ops)),
    lambda x, perm: np.transpose(x, perm),
    lambda n, g: [transpose(g, _inverse_perm(n.attrs[0]))],
    "transpose({0}, {attrs})", r"{0}^{{\top}}",
    "axes permuted: out.shape[i] = x.shape[perm[i]]",
    "array_grad.py _TransposeGrad: transpose(G, invert_permutation(perm))",
))
register(Prim(
    "broadcast",
    lambda ops, a: (a[0], _same_dtype(ops)),
    lambda x, shape: np.broadcast_to(x, shape),
    lambda n, g: [unbroadcast(g, n.args[0].shape)],
    "{0}", "{0}", "NumPy broadcasting to a larger shape",
    "math_grad.py: BroadcastGradientArgs, then reduce_sum over the broadcast axes and reshape",
))


def keepdims_shape(shape: Shape, axes: tuple[int, ...]) -> Shape:
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def sum_to(g: Node, shape: Shape) -> Node:
    """Alias of ``tensor.unbroadcast`` for rules that think in TF's terms."""
    return unbroadcast(g, shape)


def expand_over(g: Node, axes: tuple[int, ...], shape: Shape) -> Node:
    """Broadcast ``g`` (``shape`` with ``axes`` dropped) back to ``shape``:
    the VJP of a sum over ``axes``."""
    from .tensor import broadcast_to

    return broadcast_to(reshape(g, keepdims_shape(shape, axes)), shape)

