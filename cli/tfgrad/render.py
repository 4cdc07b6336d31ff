"""Formatting of results for people and for tools.

Input: an ``Evaluation`` (or plain arrays). Output: strings — the text
listing of ``tfgrad run``, its JSON document, and the number formatting
(integers exact, floats round-tripping, non-finite values as ``nan``/``inf``)
that every other output reuses.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .graph import Shape


def fmt_shape(shape: Shape) -> str:
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def fmt_number(v: float, integral: bool = False, precision: int | None = None) -> str:
    """One number: exact integers, shortest round-trip floats, or N significant digits."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if integral:
        return str(int(v))
    if precision is not None:
        return f"{v:.{precision}g}"
    return repr(v)


def json_number(v: float, integral: bool = False, precision: int | None = None) -> Any:
    """A JSON-safe number: ints stay ints, non-finite values become strings."""
    v = float(v)
    if not math.isfinite(v):
        return fmt_number(v)
    if integral:
        return int(v)
    if precision is not None:
        return float(f"{v:.{precision}g}")
    return v


def to_nested(a: np.ndarray, integral: bool = False, precision: int | None = None) -> Any:
    """An array as nested lists of JSON-safe numbers (a bare number for rank 0)."""
    if a.ndim == 0:
        return json_number(a, integral, precision)
    return [to_nested(r, integral, precision) for r in a]


# Like NumPy's printing: beyond this many elements, show the corners.
SUMMARY_THRESHOLD = 1000
EDGE_ITEMS = 3


def edges(n: int, edge: int | None) -> list[int | None]:
    """Indices to show along an axis of length n; None marks the elision."""
    if edge is None or n <= 2 * edge:
        return list(range(n))
    return [*range(edge), None, *range(n - edge, n)]


def fmt_array(a: np.ndarray, integral: bool = False, precision: int | None = None,
              edge: int | None = None) -> list[str]:
    """Lines of a value in the graph file's own list syntax, columns aligned;
    with ``edge``, only that many items at each end of a long axis."""
    if a.ndim == 0:
        return [fmt_number(a, integral, precision)]
    if a.ndim == 1:
        return ["[" + ", ".join("..." if j is None else fmt_number(a[j], integral, precision)
                                for j in edges(a.shape[0], edge)) + "]"]
    if a.ndim > 2:  # blocks of the leading axis, nested as NumPy prints them
        blocks = [None if i is None else fmt_array(a[i], integral, precision, edge)
                  for i in edges(a.shape[0], edge)]
        lines: list[str] = []
        for k, b in enumerate(blocks):
            last = k == len(blocks) - 1
            if b is None:
                lines.append(" ...")
                continue
            b = list(b)
            b[-1] += "]" if last else ","
            lines.extend(("[" if k == 0 else " ") + line if j == 0 else " " + line
                         for j, line in enumerate(b))
        return lines
    cols = edges(a.shape[1], edge)
    cells = [None if i is None else
             ["..." if j is None else fmt_number(a[i, j], integral, precision) for j in cols]
             for i in edges(a.shape[0], edge)]
    shown = [r for r in cells if r is not None]
    width = [max(len(r[j]) for r in shown) for j in range(len(cols))] if shown else []
    rows = ["..." if r is None else "[" + ", ".join(c.rjust(w) for c, w in zip(r, width)) + "]"
            for r in cells]
    if len(rows) <= 1:
        return ["[" + "".join(rows) + "]"]
    return ["[" + rows[0] + ","] + [" " + r + ("" if r == "..." else ",") for r in rows[1:-1]] \
        + [" " + rows[-1] + "]"]


def run_text(names: list[str], shapes: list[Shape], grads: list[np.ndarray | None],
             integral: list[bool], precision: int | None = None, full: bool = False) -> str:
    """``tfgrad run``'s listing: each x's name, shape and gradient (or None).
    Tensors of more than ``SUMMARY_THRESHOLD`` elements show their corners
    unless ``full``."""
    out = []
    width = max((len(n) for n in names), default=0)
    for name, shape, g, whole in zip(names, shapes, grads, integral):
        head = f"{name.ljust(width)}  {fmt_shape(shape)}"
        if g is None:
            out.append(f"{head} = None")
            continue
        summarize = not full and g.size > SUMMARY_THRESHOLD
        lines = fmt_array(g, whole, precision, EDGE_ITEMS if summarize else None)
        if summarize:
            head += f"  ({g.size:,} values, corners shown; --full prints all)"
        if len(lines) == 1:
            out.append(f"{head} = {lines[0]}")
        else:
            out.append(f"{head} =")
            out.extend("  " + line for line in lines)
    return "\n".join(out)


def run_json(names: list[str], shapes: list[Shape], grads: list[np.ndarray | None],
             integral: list[bool], precision: int | None = None, **extra: Any) -> str:
    doc = {
        "xs": names,
        "gradients": [None if g is None else to_nested(g, i, precision)
                      for g, i in zip(grads, integral)],
        "shapes": [list(s) for s in shapes],
        **extra,
    }
    return json.dumps(doc, allow_nan=False)


def outputs_text(items: list, precision: int | None = None, full: bool = False) -> str:
    """The ``outputs:`` section of ``tfgrad run``'s listing: each named
    node's value (``name[i]`` for each output of an op with several)."""
    names, shapes, values, whole = [], [], [], []
    for name, value, integral in items:
        parts = (list(zip(value, integral)) if isinstance(value, list) else [(value, integral)])
        for i, (v, w) in enumerate(parts):
            names.append(f"{name}[{i}]" if isinstance(value, list) else name)
            shapes.append(() if v is None else v.shape)
            values.append(v)
            whole.append(w)
    return "outputs:\n" + run_text(names, shapes, values, whole, precision, full)


def outputs_json(items: list, precision: int | None = None) -> dict:
    """``{"name": value, ...}``: a list of values for an op with several
    outputs, null for a None gradient."""
    def one(v: Any, w: bool) -> Any:
        return None if v is None else to_nested(v, w, precision)

    return {name: ([one(v, w) for v, w in zip(value, integral)] if isinstance(value, list)
                   else one(value, integral))
            for name, value, integral in items}
