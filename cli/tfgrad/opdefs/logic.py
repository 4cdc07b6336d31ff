"""Comparison, logic, selection and casts: ``equal``, ``not_equal``,
``less``, ``less_equal``, ``greater``, ``greater_equal`` (broadcasting, bool
results, no gradient: TF's ``NotDifferentiable``), ``logical_and``,
``logical_or``, ``logical_not`` (bool inputs only), ``where`` (TF 2's
broadcasting ``SelectV2``) and ``cast``.

The parser maps the infix forms ``< <= > >= == != & | ~`` to these names.
"""

from __future__ import annotations

from ..tensor import DTYPES, Node, broadcast_to, ew
from .common import broadcast_inputs, broadcast_shape, same_dtype, weak_literals
from .spec import TENSOR, Ctx, OpDef, Param, register

_CMP = {
    "equal": ("==", "x == y"),
    "not_equal": ("!=", "x != y"),
    "less": ("<", "x < y"),
    "less_equal": ("<=", "x <= y"),
    "greater": (">", "x > y"),
    "greater_equal": (">=", "x >= y"),
}


def _cmp_op(name: str, infix: str, doc: str) -> None:
    ordered = name not in ("equal", "not_equal")

    def shape(ctx: Ctx) -> tuple[int, ...]:
        return broadcast_shape(ctx, ["x", "y"])

    def forward(ctx: Ctx) -> Node:
        xs, _, dtype = broadcast_inputs(ctx, ["x", "y"])
        if ordered and dtype == "bool":
            raise ctx.error(f"{ctx.label('x')} and {ctx.label('y')} are bool; {name} ({infix}) "
                            "compares numbers (TF has no bool kernel for it)", "TG202", "x")
        return ew(name, *xs)

    register(OpDef(
        name, (Param("x", TENSOR), Param("y", TENSOR)),
        f"{doc} elementwise, broadcasting; a bool tensor (nan compares false, except !=)",
        shape, forward, "none: a bool result carries no gradient",
        f"math_grad.py: NotDifferentiable('{''.join(w.title() for w in name.split('_'))}')",
        "logic", errors=("TG202",), differentiable=False,
    ))


for _name, (_infix, _doc) in _CMP.items():
    _cmp_op(_name, _infix, _doc)


# -- logical_and / logical_or / logical_not ---------------------------------------------

def _require_bool(ctx: Ctx, params: list[str]) -> None:
    for p in params:
        x = ctx.x(p)
        if x.dtype != "bool":
            raise ctx.error(
                f"{ctx.label(p)} is {x.dtype}; {ctx.op.name} takes bool tensors (compare first, "
                f"e.g. x > 0, or cast(x, 'bool'))", "TG202", p)


def _logical(name: str, params: str, doc: str) -> None:
    names = params.split()

    def shape(ctx: Ctx) -> tuple[int, ...]:
        _require_bool(ctx, names)
        return broadcast_shape(ctx, names) if len(names) > 1 else ctx.x(names[0]).shape

    def forward(ctx: Ctx) -> Node:
        _require_bool(ctx, names)
        if len(names) == 1:
            return ew(name, ctx.x(names[0]))
        shp = broadcast_shape(ctx, names)
        return ew(name, *[broadcast_to(ctx.x(n), shp) for n in names])

    register(OpDef(
        name, tuple(Param(n, TENSOR) for n in names), doc, shape, forward,
        "none: bool tensors carry no gradient",
        f"math_grad.py: NotDifferentiable('{''.join(w.title() for w in name.split('_'))}')",
        "logic", errors=("TG202",), differentiable=False,
        examples=("{" + ", ".join(f"{n}: {{value: [[true, false], [true, true]], dtype: bool}}"
                                  for n in names) + "}",),
    ))


_logical("logical_and", "x y", "x and y elementwise, broadcasting (bool inputs)")
_logical("logical_or", "x y", "x or y elementwise, broadcasting (bool inputs)")
_logical("logical_not", "x", "not x elementwise (a bool input)")


# -- where ------------------------------------------------------------------------------

_WHERE = ["condition", "x", "y"]


def _where_check(ctx: Ctx) -> None:
    if ctx.inputs.get("x") is None or ctx.inputs.get("y") is None:
        raise ctx.error(
            "where(condition) without x and y returns the coordinates of the true elements "
            "(an int64 tensor of indices), which tfgrad does not support; give both x and y "
            "for the elementwise select", "TG203")
    c = ctx.x("condition")
    if c.dtype != "bool":
        raise ctx.error(f"condition {ctx.label('condition')} is {c.dtype}; where needs a bool "
                        "condition (compare first, e.g. x > 0)", "TG202", "condition")


def _where_shape(ctx: Ctx) -> tuple[int, ...]:
    _where_check(ctx)
    return broadcast_shape(ctx, _WHERE)


def _where(ctx: Ctx) -> Node:
    _where_check(ctx)
    weak_literals(ctx, ["x", "y"])
    same_dtype(ctx, ["x", "y"])
    shape = broadcast_shape(ctx, _WHERE)
    c, x, y = (broadcast_to(ctx.x(p), shape) for p in _WHERE)
    return ew("select", c, x, y)


register(OpDef(
    "where", (Param("condition", TENSOR), Param("x", TENSOR, None), Param("y", TENSOR, None)),
    "x where condition is true, else y; condition, x and y broadcast (TF 2's where, SelectV2)",
    _where_shape, _where,
    "dx += where(c, G, 0); dy += where(c, 0, G) (zeros flow into the branch not taken: "
    "0·inf there gives nan, TF's well-known where-NaN)",
    "array_grad.py/math_grad.py _SelectGradV2", "logic", errors=("TG202", "TG203"),
    examples=(
        "{condition: {value: [[true, false, true], [false, false, true]], dtype: bool}, "
        "x: {shape: [2, 3]}, y: {shape: [1, 3]}}",
    ),
))


# -- cast -------------------------------------------------------------------------------

def _cast_dtype(ctx: Ctx) -> str:
    d = ctx.a("dtype")
    if isinstance(d, str) and d.startswith("tf."):
        d = d[3:]
    if d not in DTYPES:
        raise ctx.error(f"dtype {d!r} is not one of {', '.join(DTYPES)}", "TG203", "dtype")
    return d


def _cast(ctx: Ctx) -> Node:
    x = ctx.x("x")
    d = _cast_dtype(ctx)
    if d == x.dtype:
        return ew("identity", x)  # TF's cast returns x itself when the dtype matches
    return ew("cast", x, attrs=(d,), dtype=d)


register(OpDef(
    "cast", (Param("x", TENSOR), Param("dtype", "dtype")),
    "x converted to dtype: float to int truncates toward 0, to bool is x != 0",
    lambda ctx: (_cast_dtype(ctx), ctx.x("x").shape)[1], _cast,
    "dx += cast(G, x.dtype) between float dtypes; None to or from int and bool",
    "math_grad.py _CastGrad", "logic", errors=("TG203",),
    examples=(
        "{x: {shape: [2, 3]}, dtype: float64}",  # float32 is too coarse for differences
        "{x: {shape: [2, 3]}, dtype: int32}",
    ),
))
