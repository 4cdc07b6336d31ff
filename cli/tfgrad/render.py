"""Formatting of results for people and for tools.

Input: an ``Evaluation`` (or plain arrays). Output: strings — the text
listing of ``tfgrad run``, its JSON document, and the number formatting
(integers exact, floats round-tripping, non-finite values as ``nan``/``inf``)
that every other output reuses.

Float32 values print with float32's shortest round-trip digits (``0.1``, not
the float64 number ``0.10000000149011612`` it widens to): parsed back as
float32 they give the same bits. JSON documents are written from whole
arrays (``array_json``): orjson's NumPy serializer when it is installed
(about 0.1 s per million numbers here, float32's shortest digits natively),
else per-number formatting (about 2-3 s per million here); the two agree on
every value, not always on the spelling (``1e-05`` or ``0.00001``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .graph import Shape


def fmt_shape(shape: Shape) -> str:
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def fmt_number(v: float, integral: bool = False, precision: int | None = None) -> str:
    """One number: exact integers, shortest round-trip floats (float32's
    digits for a float32 value), or N significant digits."""
    kind = getattr(getattr(v, "dtype", None), "kind", None)
    if kind in ("i", "u"):
        return str(int(v))
    if kind == "b":
        return "true" if bool(v) else "false"
    if getattr(v, "dtype", None) == np.float32 and not integral and precision is None:
        v32 = np.float32(v)
        if np.isfinite(v32):
            return str(v32)
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
    """A JSON-safe number: ints stay ints, non-finite values become strings;
    a float32 value becomes the float64 nearest its shortest float32 digits,
    which ``json.dumps`` writes as those digits."""
    if getattr(v, "dtype", None) == np.float32 and not integral and precision is None \
            and np.isfinite(v):
        return float(str(np.float32(v)))
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
    """``tfgrad run --format json``: ``{"xs", "gradients", "shapes", "dtypes",
    **extra}``; each gradient written from its whole array, ``dtypes`` the
    gradients' dtypes (null where a gradient is None). Arrays in ``extra``
    are written the same way."""
    return run_json_bytes(names, shapes, grads, integral, precision, **extra).decode("ascii")


def run_json_bytes(names: list[str], shapes: list[Shape], grads: list[np.ndarray | None],
                   integral: list[bool], precision: int | None = None, **extra: Any) -> bytes:
    """``run_json``'s document as ASCII bytes, built with one copy of the
    arrays' text (orjson writes bytes; a million numbers make about 20 MB,
    and every str copy, decode or concatenation of that costs 10-50 ms).
    Every byte comes from ``json.dumps`` (ASCII, control characters
    escaped) or from numbers, so the document is printable as it is."""
    import json

    def text(s: str) -> bytes:
        return s.encode("ascii")

    parts = [b'{"xs": ', text(json.dumps(names)), b', "gradients": [']
    for k, (g, i) in enumerate(zip(grads, integral)):
        if k:
            parts.append(b", ")
        parts.append(b"null" if g is None else array_json_bytes(g, i, precision))
    parts += [b'], "shapes": ', text(json.dumps([list(s) for s in shapes])),
              b', "dtypes": ', text(json.dumps([dtype_name(g) for g in grads]))]
    for k, v in extra.items():
        parts += [b", ", text(json.dumps(k)), b": ", text(dumps(v, precision=precision))]
    parts.append(b"}")
    return b"".join(parts)


def array_json_bytes(a: Any, integral: bool = False, precision: int | None = None) -> bytes:
    """``array_json(a)`` as ASCII bytes, without a str copy on orjson's path."""
    a = np.asarray(a)
    _orjson = _accel()
    if (_orjson is not None and not integral and precision is None and a.ndim > 0 and a.size
            and a.dtype in (np.float32, np.float64) and bool(np.isfinite(a).all())):
        return _orjson.dumps(np.ascontiguousarray(a), option=_orjson.OPT_SERIALIZE_NUMPY) \
            .replace(b",", b", ")
    return array_json(a, integral, precision).encode("ascii")


# -- JSON from whole arrays ----------------------------------------------------------

def __getattr__(name: str) -> Any:
    # ``_orjson``: the optional accelerator (a declared dependency; the
    # fallback gives the same values), imported on first use so that a run
    # printing text never loads it; tests set it to None
    if name == "_orjson":
        try:
            import orjson as mod
        except ImportError:  # pragma: no cover - exercised where orjson is missing
            mod = None
        globals()["_orjson"] = mod
        return mod
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _accel() -> Any:
    """orjson, or None when it is not installed (or a test said so)."""
    g = globals()
    return g["_orjson"] if "_orjson" in g else __getattr__("_orjson")

_NONFINITE = {"nan": '"nan"', "inf": '"inf"', "-inf": '"-inf"'}


def _tokens(flat: np.ndarray, integral: bool, precision: int | None) -> list[str]:
    """Each element of a rank-1 array as a JSON token (non-finite as strings)."""
    import json

    finite = np.isfinite(flat) if flat.dtype.kind == "f" else None
    if integral and flat.dtype.kind == "f":
        safe = np.where(finite, flat, 0)
        if np.all(np.abs(safe) < 2.0 ** 63):
            toks = [str(i) for i in safe.astype(np.int64).tolist()]
        else:
            toks = [str(int(v)) for v in safe.tolist()]
    elif flat.dtype.kind == "b":
        toks = ["true" if b else "false" for b in flat.tolist()]
    elif flat.dtype.kind in "iu":
        toks = [str(i) for i in flat.tolist()]
    elif precision is not None:
        toks = [json.dumps(float(f"{v:.{precision}g}")) if math.isfinite(v) else "0"
                for v in flat.astype(np.float64).tolist()]
    elif (_orjson := _accel()) is not None and flat.dtype in (np.float32, np.float64):
        safe = np.where(finite, flat, 0).astype(flat.dtype)
        toks = _orjson.dumps(safe, option=_orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1].split(",") \
            if flat.size else []
    elif flat.dtype == np.float32:
        toks = flat.astype(str).tolist()
    else:
        toks = [repr(v) for v in flat.astype(np.float64).tolist()]
    if finite is not None and not finite.all():
        for k in np.flatnonzero(~finite).tolist():
            toks[k] = _NONFINITE[fmt_number(float(flat[k]))]
    return toks


def _nest(toks: list[str], shape: tuple[int, ...]) -> str:
    """Flat tokens (C order) as nested JSON lists of ``shape``."""
    import json

    if not shape:
        return toks[0]
    parts = toks
    for n in reversed(shape):
        if n == 0:
            return json.dumps(np.zeros(shape).tolist())
        parts = ["[" + ", ".join(parts[i:i + n]) + "]" for i in range(0, len(parts), n)]
    return parts[0]


def array_json(a: Any, integral: bool = False, precision: int | None = None) -> str:
    """An array as JSON text: nested lists (a bare number for rank 0) with
    ``json.dumps``'s spacing, integers exact when ``integral``, floats with
    their dtype's shortest round-trip digits (or ``precision`` significant
    digits), non-finite numbers as the strings ``"nan"``, ``"inf"``,
    ``"-inf"``."""
    import json

    a = np.asarray(a)
    if a.size == 0:
        return json.dumps(np.zeros(a.shape).tolist())
    _orjson = _accel()
    fast = (_orjson is not None and not integral and precision is None and a.ndim > 0
            and a.dtype in (np.float32, np.float64))
    if fast and bool(np.isfinite(a).all()):
        return _orjson.dumps(np.ascontiguousarray(a), option=_orjson.OPT_SERIALIZE_NUMPY) \
            .replace(b",", b", ").decode()
    return _nest(_tokens(a.reshape(-1), integral, precision), a.shape)


class RawJSON(str):
    """JSON text that ``dumps`` writes as it is (an array already rendered)."""


def dumps(doc: Any, integral: bool = False, precision: int | None = None) -> str:
    """``json.dumps(doc)`` where NumPy arrays (and NumPy scalars) anywhere in
    ``doc`` are written by ``array_json``, ``RawJSON`` as it is."""
    import json

    if isinstance(doc, RawJSON):
        return str(doc)
    if isinstance(doc, (np.ndarray, np.generic)):
        return array_json(doc, integral, precision)
    if isinstance(doc, dict):
        return "{" + ", ".join(json.dumps(str(k)) + ": " + dumps(v, integral, precision)
                               for k, v in doc.items()) + "}"
    if isinstance(doc, (list, tuple)):
        return "[" + ", ".join(dumps(v, integral, precision) for v in doc) + "]"
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
        return None if v is None else RawJSON(array_json(v, w, precision))

    return {name: ([one(v, w) for v, w in zip(value, integral)] if isinstance(value, list)
                   else one(value, integral))
            for name, value, integral in items}


def dtype_name(a: np.ndarray | None) -> str | None:
    return None if a is None else str(np.asarray(a).dtype)
