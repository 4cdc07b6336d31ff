"""Helpers shared by the op families: broadcasting with errors naming the
user's nodes, axis normalisation, dtype checks, and the elementwise-op
factory."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

import numpy as np

from ..tensor import FLOAT_DTYPES, INT_DTYPES, Node, broadcast_to, ew, ew_same, is_float, reshape, tensor
from .spec import TENSOR, Ctx, OpDef, Param, fmt_shape, register


def broadcast_shape(ctx: Ctx, params: Iterable[str]) -> tuple[int, ...]:
    """NumPy/TF broadcasting of the named inputs' shapes (any rank), or a
    TG202 error naming both of the user's nodes and their shapes."""
    params = list(params)
    out: tuple[int, ...] = ()
    first = None
    for p in params:
        s = ctx.x(p).shape
        if first is None:
            out, first = s, p
            continue
        n = max(len(out), len(s))
        a = (1,) * (n - len(out)) + out
        b = (1,) * (n - len(s)) + s
        res = []
        for i, (da, db) in enumerate(zip(a, b)):
            if da != db and da != 1 and db != 1:
                raise ctx.error(
                    f"{ctx.label(first)} has shape {fmt_shape(ctx.x(first).shape)} and "
                    f"{ctx.label(p)} has shape {fmt_shape(s)}: they do not broadcast "
                    f"(axis {i - n} is {da} vs {db}; each pair of sizes, aligned from the "
                    "right, must be equal or one of them 1)",
                    "TG202",
                )
            res.append(db if da == 1 else da)
        out = tuple(res)
    return out


def same_dtype(ctx: Ctx, params: Iterable[str]) -> str:
    """The common dtype of the inputs; TF does not upcast, so float32 with
    float64 (or int with float) is an error naming both."""
    params = list(params)
    d0 = ctx.x(params[0]).dtype
    for p in params[1:]:
        d = ctx.x(p).dtype
        if d != d0:
            raise ctx.error(
                f"{ctx.label(params[0])} is {d0} and {ctx.label(p)} is {d}; TensorFlow does "
                "not convert between dtypes implicitly (use cast)",
                "TG202",
                p,
            )
    return d0


def weak_literals(ctx: Ctx, params: list[str]) -> None:
    """An inline literal (``x * 2``) takes the dtype of the tensor it meets
    (the first input that is not a literal), as TF converts a Python value
    to the other operand's dtype (``ops.convert_to_tensor(v, dtype)`` in
    ``math_ops.binary_op_wrapper`` and ``execute.args_to_matching_eager``):

    - any number or bool literal takes a float dtype (``x * 2``,
      ``x * [true, false]``: True is 1.0);
    - a literal written as integers (``n + 1``, ``[1, 2] * n``; recorded in
      ``ctx.int_literals``) or booleans takes an integer dtype; a literal
      written with a fraction (``n + 1.5``, ``n + 1.0``) keeps its float
      dtype, and ``same_dtype`` then refuses it as TF does (TypeError);
    - a bool tensor takes no number literal (TF: "Cannot convert 0 to
      EagerTensor of dtype bool").

    Raises TG202 for an integer literal out of the integer dtype's range
    (TF wraps it silently: ``int32 + 2**31`` adds -2**31)."""
    strong = [ctx.x(p) for p in params if not _is_literal(ctx.x(p))]
    if not strong:
        return
    d = strong[0].dtype
    for p in params:
        x = ctx.x(p)
        if not _is_literal(x) or x.dtype == d or d == "bool":
            continue
        if d in INT_DTYPES:
            if x.dtype != "bool" and not ctx.written_int(x):
                continue
            v = ctx.value(p)
            info = np.iinfo(d)
            if v is not None and v.size and (v.min() < info.min or v.max() > info.max):
                bad = v.flat[int(np.argmax((v < info.min) | (v > info.max)))]
                raise ctx.error(
                    f"{ctx.label(p)} meets the {d} tensor {ctx.label(strong_param(ctx, params))} "
                    f"but {int(bad)} is out of {d}'s range ({info.min} to {info.max}); "
                    "TensorFlow would wrap it silently", "TG202", p)
        ctx.inputs[p] = tensor(x.name, x.shape, d, x.kind)


def strong_param(ctx: Ctx, params: list[str]) -> str:
    """The first of ``params`` that is not an inline literal."""
    return next(p for p in params if not _is_literal(ctx.x(p)))


def _is_literal(x: Node) -> bool:
    return getattr(x, "kind", None) == "literal"


def broadcast_inputs(ctx: Ctx, params: list[str]) -> tuple[list[Node], tuple[int, ...], str]:
    weak_literals(ctx, params)
    shape = broadcast_shape(ctx, params)
    dtype = same_dtype(ctx, params)
    return [broadcast_to(ctx.x(p), shape) for p in params], shape, dtype


def norm_axes(ctx: Ctx, axis: Any, rank: int, param: str = "axis", *, extra: int = 0) -> tuple[int, ...]:
    """``axis`` (None: every axis; an int; a list of ints) as sorted
    non-negative axes of a rank-``rank`` tensor (``extra`` widens the valid
    range, for expand_dims)."""
    if axis is None:
        return tuple(range(rank))
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    n = rank + extra
    out = []
    for a in items:
        if not -n <= a < n:
            valid = ", ".join(str(i) for i in range(-n, n)) if n else "none (use null)"
            raise ctx.error(
                f"axis {a} is out of range for {ctx.label(ctx.op.params[0].name)}, a tensor "
                f"of rank {rank}; valid axes: {valid}",
                "TG203",
                param,
            )
        out.append(a % n)
    if len(set(out)) != len(out):
        raise ctx.error(f"axis {list(items)} names an axis twice", "TG203", param)
    return tuple(sorted(out))


def ew_op(fn: str, params: str = "x", *, doc: str, rule: str, tf: str, family: str = "elementwise",
          kinks=None, kink_note: str = "", aliases: tuple[str, ...] = (),
          attrs: tuple[Param, ...] = (), attr_values=None, differentiable: bool = True,
          ints: str = "keep", bools: bool = False) -> OpDef:
    """Register the user-facing op ``fn`` that applies the elementwise
    function ``fn`` (``funcs.FUNCS``) to its broadcast tensor inputs.

    ``ints`` is what TF does with integer and boolean inputs: ``"keep"``
    (its kernel has integer types: add, abs, relu...), ``"refuse"`` (float
    kernels only: sqrt, exp, tanh... raise InvalidArgumentError; a TG202
    error here), or a float dtype the inputs are cast to first (TF's Python
    wrapper casts: divide's truediv to float64, leaky_relu to float32).
    A bool input is a TG202 error unless ``bools`` (identity,
    stop_gradient): TF registers no bool kernel for its math ops
    (``tf.exp(True)``, ``tf.add(c, c)`` raise "Value for attr 'T' of bool
    is not in the list")."""
    from ..funcs import FUNCS

    names = params.split()
    if ints not in ("keep", "refuse"):
        _cast_ints = _int_caster(ints)
    tparams = tuple(Param(n, TENSOR) for n in names)
    f = FUNCS[fn]
    if kinks is None and f.kinks is not None:
        fk = f.kinks

        def kinks(values: dict) -> list:
            return fk(*[values[n] for n in names])

        kink_note = kink_note or f.kink_note

    def shape(ctx: Ctx) -> tuple[int, ...]:
        if ints == "refuse":
            _refuse_ints(ctx, names)
        if len(names) == 1:
            return ctx.x(names[0]).shape
        return broadcast_shape(ctx, names)

    def no_bools(ctx: Ctx, literals: bool = True) -> None:
        for p in names:
            x = ctx.x(p)
            if not bools and x.dtype == "bool" and (literals or not _is_literal(x)):
                lab = ctx.label(p)
                arg = lab if lab.isidentifier() else "..."
                raise ctx.error(
                    f"{lab} is bool; {ctx.op.name} takes numbers (TensorFlow has no bool kernel "
                    f"for it): cast it first, e.g. cast({arg}, float64)", "TG202", p)

    def forward(ctx: Ctx) -> Node:
        if ints not in ("keep", "refuse"):
            no_bools(ctx, literals=False)  # before the cast: tf.divide(c, c) is refused
            _cast_ints(ctx, names)
        if len(names) == 1:
            no_bools(ctx)
            x = ctx.x(names[0])
            vals = attr_values(ctx) if attr_values else ()
            return ew(fn, x, attrs=vals)
        xs, _, _ = broadcast_inputs(ctx, names)
        no_bools(ctx)  # after weak_literals: x * [true, false] is x * [1.0, 0.0]
        vals = attr_values(ctx) if attr_values else ()
        return ew(fn, *xs, attrs=vals)

    return register(OpDef(
        fn, tparams + tuple(attrs), doc, shape, forward, rule, tf, family,
        kinks=kinks, kink_note=kink_note,
        errors=("TG202",) if len(names) > 1 or ints == "refuse" or not bools else (),
        aliases=aliases, differentiable=differentiable,
        fast=None if attrs else (_fast_unary(fn, ints, bools) if len(names) == 1
                                 else _fast_broadcast(fn, ints)),
    ))


def _refuse_ints(ctx: Ctx, names: list[str]) -> None:
    for n in names:
        x = ctx.x(n)
        if not is_float(x.dtype) and not _is_literal(x):
            raise ctx.error(
                f"{ctx.label(n)} is {x.dtype}; {ctx.op.name} takes a float32 or float64 tensor "
                f"(TF registers no {x.dtype} kernel for it); convert it with "
                f"cast({ctx.label(n)}, float64)", "TG202", n)


def _int_caster(dtype: str):
    def cast_ints(ctx: Ctx, names: list[str]) -> None:
        xs = [ctx.x(n) for n in names]
        if all(is_float(x.dtype) or _is_literal(x) for x in xs):
            return
        if any(is_float(x.dtype) and not _is_literal(x) for x in xs):
            return  # int with float: same_dtype's error, as TF's
        for n, x in zip(names, xs):  # TF's wrapper casts the integer operands
            if _is_literal(x):
                ctx.inputs[n] = tensor(x.name, x.shape, dtype, x.kind)
            else:
                ctx.inputs[n] = ew("cast", x, attrs=(dtype,), dtype=dtype)
    return cast_ints


def _fast_unary(fn: str, ints: str = "keep", bools: bool = False):
    """``OpDef.fast`` of a one-input elementwise op: ``forward`` without a
    ``Ctx`` (it needs no check), or None (the full path, which reports the
    error) for an integer or boolean input that ``ints`` refuses or casts,
    and for a bool input unless ``bools``."""
    if ints != "keep":
        def fast_float(xs: list[Node]) -> Node | None:
            x = xs[0]
            return ew_same(fn, (x,)) if x.dtype in FLOAT_DTYPES else None
        return fast_float

    def fast(xs: list[Node]) -> Node | None:
        if not bools and xs[0].dtype == "bool":
            return None
        return ew_same(fn, (xs[0],))

    return fast


def _fast_broadcast(fn: str, ints: str = "keep"):
    """``OpDef.fast`` of an elementwise op of several inputs: when they all
    have one dtype, the dtype rules change nothing (``weak_literals`` only
    converts a literal of another dtype), so the node is ``ew(fn, *xs)``
    over the inputs broadcast to their common shape; None (the full path,
    which reports the error) when dtypes differ, are bool, or shapes do not
    broadcast."""
    def fast(xs: list[Node]) -> Node | None:
        x0 = xs[0]
        shape, dtype = x0.shape, x0.dtype
        if ints != "keep" and dtype not in FLOAT_DTYPES:
            return None  # the full path refuses or casts integer inputs
        if dtype == "bool":
            return None  # the full path refuses bools (and converts bool literals)
        same = True
        for x in xs:
            if x.dtype != dtype:
                return None
            if x.shape != shape:
                same = False
        if same:
            return ew_same(fn, tuple(xs))
        out: tuple[int, ...] | None = shape
        for x in xs:
            out = _broadcast_pair(out, x.shape)
            if out is None:
                return None
        return ew(fn, *[broadcast_to(x, out) for x in xs])

    return fast


@lru_cache(maxsize=4096)
def _broadcast_pair(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """NumPy broadcasting of two shapes, or None where they do not broadcast
    (``broadcast_shape`` is the same rule with the error message)."""
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
    out = []
    for da, db in zip(a, b):
        if da != db and da != 1 and db != 1:
            return None
        out.append(db if da == 1 else da)
    return tuple(out)


def keepdims(x: Node, axes: tuple[int, ...], shape: tuple[int, ...]) -> Node:
    """``x`` (reduced over ``axes`` of ``shape``) with those axes kept as 1."""
    return reshape(x, tuple(1 if i in axes else d for i, d in enumerate(shape)))
