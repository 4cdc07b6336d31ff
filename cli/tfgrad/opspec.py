"""The op table's signatures: names, arities, attributes and one-line docs.

Input: nothing. Output: ``SPECS``, name -> ``OpSpec``, which the parser uses
to validate calls and the JSON Schema and README are written from. The
symbolic side of each op (shape rule, forward, VJP) lives in ``ops.py``; this
module stays free of SymPy so that parsing and ``tfgrad check``'s schema pass
import nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AXES = (None, 0, 1, -1, -2)


@dataclass(frozen=True)
class Attr:
    """An attribute: its default and the values it accepts (``kind`` is
    ``bool`` or ``axis``)."""

    kind: str
    default: Any


@dataclass(frozen=True)
class OpSpec:
    name: str
    arity: int | None  # None: one or more (add_n)
    params: tuple[str, ...]
    doc: str
    attrs: dict[str, Attr] = field(default_factory=dict)


def _spec(name: str, params: str, doc: str, **attrs: Attr) -> OpSpec:
    names = tuple(params.split()) if params != "..." else ("x1", "x2", "...")
    arity = None if params == "..." else len(names)
    return OpSpec(name, arity, names, doc, dict(attrs))


_BOOL = Attr("bool", False)
_AXIS = Attr("axis", None)

SPECS: dict[str, OpSpec] = {
    s.name: s
    for s in [
        _spec("add", "x y", "x + y, broadcasting"),
        _spec("subtract", "x y", "x - y, broadcasting"),
        _spec("multiply", "x y", "x * y elementwise, broadcasting"),
        _spec("divide", "x y", "x / y elementwise, broadcasting"),
        _spec("maximum", "x y", "elementwise max; a tie sends the gradient to x"),
        _spec("minimum", "x y", "elementwise min; a tie sends the gradient to x"),
        _spec("pow", "x y", "x ** y elementwise; d/dy uses log(x) only where x > 0"),
        _spec("negative", "x", "-x"),
        _spec("identity", "x", "x"),
        _spec(
            "matmul",
            "a b",
            "matrix product of rank-2 tensors",
            transpose_a=_BOOL,
            transpose_b=_BOOL,
        ),
        _spec("transpose", "x", "swap the axes of a rank-2 tensor (rank 0, 1: unchanged)"),
        _spec("reduce_sum", "x", "sum over axis (all when null)", axis=_AXIS, keepdims=_BOOL),
        _spec("reduce_mean", "x", "mean over axis (all when null)", axis=_AXIS, keepdims=_BOOL),
        _spec("square", "x", "x ** 2"),
        _spec("sqrt", "x", "square root; sqrt'(0) = inf"),
        _spec("exp", "x", "e ** x"),
        _spec("log", "x", "natural logarithm"),
        _spec("tanh", "x", "hyperbolic tangent"),
        _spec("sigmoid", "x", "1 / (1 + exp(-x))"),
        _spec("abs", "x", "|x|; abs'(0) = 0"),
        _spec("relu", "x", "max(x, 0); relu'(0) = 0"),
        _spec("add_n", "...", "sum of one or more tensors of the same shape"),
        _spec("stop_gradient", "x", "x forward; no gradient flows through"),
    ]
}

# Python operators of expression strings -> ops.
BINARY_OPERATORS = {
    "Add": "add",
    "Sub": "subtract",
    "Mult": "multiply",
    "Div": "divide",
    "MatMult": "matmul",
    "Pow": "pow",
}
