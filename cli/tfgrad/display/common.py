"""Names, numbers and values as explain prints them (text, ASCII, LaTeX).

Input: names, NumPy arrays, Python numbers. Output: strings. No SymPy, no
expression nodes: the printers and the explain renderers share these.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..render import EDGE_ITEMS, SUMMARY_THRESHOLD, edges, fmt_number

_SIMPLE_NAME = re.compile(r"^([A-Za-z])(\d*)$")
_ELEMENT_NAME = re.compile(r"^(.*?)(\[[0-9,]+\])$")
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}

# Unicode -> ASCII for everything text output may contain (formulas use the
# graph file's own operators: @ * / .T).
ASCII = [
    ("∂L/∂", "dL/d"), (" ∘ ", " * "), ("∘", " * "), (" ⊘ ", " / "), ("⊘", " / "),
    ("·", " @ "), ("ᵀ", ".T"), ("−", "-"), ("≥", ">="), ("≤", "<="), ("≠", "!="),
    ("→", "->"), ("½", "0.5"), ("…", "..."), ("²", "**2"), ("σ(", "sigmoid("),
    ("√", "sqrt"), ("𝟙", "ones"), ("𝟎", "zeros"), ("Σ", "sum"), ("∏", "prod"),
    ("ᵢ", "_i"), ("ⱼ", "_j"), ("ₖ", "_k"), ("ₗ", "_l"), ("ₘ", "_m"), ("ₙ", "_n"),
    ("ₚ", "_p"), ("ᵣ", "_r"), ("ₛ", "_s"), ("ₜ", "_t"), ("ᵤ", "_u"), ("ᵥ", "_v"),
    ("ₐ", "_a"), ("ₑ", "_e"), ("ₕ", "_h"), ("ₒ", "_o"), ("ₓ", "_x"), ("×", "x"),
]


def to_ascii(text: str) -> str:
    """Text with every Unicode symbol explain uses spelled in ASCII; anything
    else non-ASCII (from a file's title) escaped."""
    for a, b in ASCII:
        if a in text:
            text = text.replace(a, b)
    if not text.isascii():
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text


def latex_escape(text: str) -> str:
    """Plain text for LaTeX's text mode (non-ASCII characters pass: the
    output layer escapes what the terminal's encoding lacks)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_name(name: str) -> str:
    """A graph or symbol name in math mode: ``w1`` -> ``w_{1}``, ``res2a`` ->
    ``\\mathit{res2a}``, ``w1[0,1]`` -> ``w_{1}[0,1]``."""
    m = _ELEMENT_NAME.match(name)
    if m:
        return latex_name(m.group(1)) + m.group(2)
    m = _SIMPLE_NAME.match(name)
    if m:
        return m.group(1) + (f"_{{{m.group(2)}}}" if m.group(2) else "")
    return r"\mathit{" + latex_escape(name) + "}"


def is_integral(a) -> bool:
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        return True
    a = a.astype(np.float64)
    with np.errstate(all="ignore"):
        return bool(np.all(np.isfinite(a)) and np.all(a == np.round(a))
                    and np.all(np.abs(a) < 2**53))


def number_text(v: float, integral: bool | None = None) -> str:
    """One number as ``run`` prints it; ``integral`` None: exact when whole."""
    v = float(v)
    if integral is None:
        integral = math.isfinite(v) and v.is_integer() and abs(v) < 2**53
    return fmt_number(v, integral and math.isfinite(v))


def latex_number_text(s: str) -> str:
    """``number_text``'s output in math mode (``1e-05`` -> ``1 \\times 10^{-5}``)."""
    if s == "nan":
        return r"\mathrm{NaN}"
    if s in ("inf", "-inf"):
        return s.replace("inf", r"\infty")
    if "e" in s:
        mant, _, exp = s.partition("e")
        return rf"{mant} \times 10^{{{int(exp)}}}"
    return s


def number_latex(v: float, integral: bool | None = None) -> str:
    return latex_number_text(number_text(v, integral))


def fmt_shape(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def element_suffix(shape: tuple[int, ...], index: tuple[int, ...]) -> str:
    """``[0,1]`` for an element of a tensor of ``shape``; nothing for a tensor
    of one element (a scalar, or a 1x1 seed)."""
    n = 1
    for d in shape:
        n *= d
    if n == 1 or not index:
        return ""
    return "[" + ",".join(str(i) for i in index) + "]"


# ---------------------------------------------------------------- values of any rank

def value_inline(a: np.ndarray, integral: bool) -> str:
    """A value in the graph file's list syntax, on one line (any rank)."""
    a = np.asarray(a)
    if a.ndim == 0:
        return number_text(float(a), integral)
    return "[" + ", ".join(value_inline(r, integral) for r in a) + "]"


def _rows(a: np.ndarray, integral: bool, edge: int | None) -> list[str]:
    """Rank >= 2, one innermost row per line, columns aligned, nested brackets."""
    if a.ndim == 2:
        cols = edges(a.shape[1], edge)
        cells = [None if i is None else
                 ["..." if j is None else number_text(a[i, j], integral) for j in cols]
                 for i in edges(a.shape[0], edge)]
        shown = [r for r in cells if r is not None]
        width = [max(len(r[j]) for r in shown) for j in range(len(cols))] if shown else []
        rows = ["..." if r is None else "[" + ", ".join(c.rjust(w) for c, w in zip(r, width)) + "]"
                for r in cells]
        return ["[" + rows[0] + ("," if len(rows) > 1 else "]")] + \
            [" " + r + ("," if k < len(rows) - 2 else "]") for k, r in enumerate(rows[1:])]
    blocks = []
    idx = edges(a.shape[0], edge)
    for k, i in enumerate(idx):
        if i is None:
            blocks.append([" ..."])
            continue
        inner = _rows(a[i], integral, edge)
        last = k == len(idx) - 1
        inner = [(" " if j else ("[" if k == 0 else " ")) + ln for j, ln in enumerate(inner)]
        inner[-1] += "]" if last else ","
        blocks.append(inner)
    return [ln for b in blocks for ln in b]


def value_lines(a: np.ndarray, integral: bool, width: int = 72) -> list[str]:
    """One line when it fits, else one row per line; a large tensor shows its
    corners, as ``run`` does."""
    a = np.asarray(a)
    big = a.size > SUMMARY_THRESHOLD
    if not big:
        one = value_inline(a, integral)
        if a.ndim < 2 or len(one) <= width or (a.ndim == 2 and a.shape[0] == 1):
            return [one]
    if a.ndim == 1:
        return ["[" + ", ".join("..." if j is None else number_text(a[j], integral)
                                for j in edges(a.shape[0], EDGE_ITEMS)) + "]"]
    return _rows(a, integral, EDGE_ITEMS if big else None)


def value_latex(a: np.ndarray, integral: bool) -> str:
    """A bmatrix (rank 1 as a row, rank 2 as the matrix); rank 3 and more as
    nested lists in text."""
    a = np.asarray(a)
    if a.ndim == 0:
        return number_latex(float(a), integral)
    if a.ndim > 2:
        return r"\texttt{" + latex_escape(" ".join(value_lines(a, integral, 10**9))) + "}"
    m2 = a.reshape(1, -1) if a.ndim == 1 else a
    edge = EDGE_ITEMS if a.size > SUMMARY_THRESHOLD else None
    cols = edges(m2.shape[1], edge)
    rows = []
    for i in edges(m2.shape[0], edge):
        if i is None:
            rows.append(" & ".join(r"\ddots" if j is None else r"\vdots" for j in cols))
        else:
            rows.append(" & ".join(r"\cdots" if j is None else number_latex(m2[i, j], integral)
                                   for j in cols))
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"
