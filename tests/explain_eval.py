"""A second method for explain's formulas (tests only): evaluate the ASCII
text of a formula with NumPy and compare with the numbers ``run`` gives.

- matrix notation: the ASCII form is NumPy syntax (``@``, ``*``, ``.T``,
  ``ones(2,3)``, ``inv(A)``), evaluated as written;
- index notation: ``dL/dW[i,j] = sum_{k} X[i,k] * G[k,j]`` is evaluated
  element by element: every free index runs over the left side's shape,
  a summed letter over the axis it indexes bare, a tensor read at an index
  outside it (or not an integer) is 0, ``max_{p,q} E`` skips such reads,
  and the Iverson bracket ``[cond at r,s = argmax_{r,s} E]`` (max pooling's
  winner) takes the first maximum in row-major order.

This deliberately shares no code with tfgrad's printers or engine.
"""

from __future__ import annotations

import itertools
import re

import numpy as np


def _col(shape: tuple) -> tuple:
    return (shape[0], 1) if len(shape) == 1 else shape


def _scan(fn, identity: float):
    """TF's cumsum/cumprod(x, axis=0, exclusive=False, reverse=False)."""
    def scan(x, axis=0, exclusive=False, reverse=False):
        x = np.asarray(x, dtype=float)
        if reverse:
            x = np.flip(x, axis)
        r = fn(x, axis=axis)
        if exclusive:
            head = np.full_like(np.take(r, [0], axis=axis), identity)
            r = np.concatenate([head, np.take(r, np.arange(r.shape[axis] - 1), axis=axis)], axis=axis)
        return np.flip(r, axis) if reverse else r
    return scan


def _div_no_nan(a, b):
    """TF's div_no_nan: 0 where the divisor is 0."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def matrix_eval(expr: str, env: dict) -> np.ndarray:
    """Matrix notation: a vector is a column (explain's convention), so every
    rank-1 value and ``ones(n)`` is an (n, 1) array here; ``[c]`` is 1 where
    c holds."""
    ns = {"inv": np.linalg.inv, "det": np.linalg.det,
          "ones": lambda *s: np.ones(_col(s)), "zeros": lambda *s: np.zeros(_col(s)),
          "eye": lambda n: np.eye(n), "np": np, "sqrt": np.sqrt, "tanh": np.tanh, "exp": np.exp,
          "log": np.log, "abs": np.abs, "diag": lambda v: np.diagflat(v),
          "relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
          "IV": lambda c: np.asarray(c, dtype=float), "where": np.where, "sign": np.sign,
          "square": np.square, "maximum": np.maximum, "minimum": np.minimum, "sin": np.sin,
          "cos": np.cos, "log1p": np.log1p, "expm1": np.expm1, "atan": np.arctan,
          "softplus": lambda v: np.log1p(np.exp(v)), "cumsum": _scan(np.cumsum, 0.0),
          "cumprod": _scan(np.cumprod, 1.0), "div_no_nan": _div_no_nan}
    for k, v in env.items():
        a = np.asarray(v, dtype=float)
        ns[k] = a.reshape(_col(a.shape)) if a.ndim == 1 else a
    code = []
    k = 0
    while k < len(expr):  # Iverson brackets: a '[' that indexes nothing
        ch = expr[k]
        if ch == "[" and not (code and re.match(r"[\w)\]]", code[-1][-1:] or " ")):
            end = _close(expr, k + 1)
            code.append("IV(" + expr[k + 1: end] + ")")
            k = end + 1
            continue
        code.append(ch)
        k += 1
    return np.asarray(eval("".join(code), {"__builtins__": {}}, ns), dtype=float)  # noqa: S307


class _State:
    outside = False


class _T:
    """An array read with index-notation rules: outside it (or at a
    non-integer index) it is 0, and the read is flagged."""

    def __init__(self, a) -> None:
        self.a = np.asarray(a, dtype=float)

    def __getitem__(self, idx):
        if not isinstance(idx, tuple):
            idx = (idx,)
        if self.a.ndim == 0:
            return float(self.a)
        out = []
        for i, n in zip(idx, self.a.shape):
            if float(i) != int(float(i)) or not 0 <= int(float(i)) < n:
                _State.outside = True
                return 0.0
            out.append(int(float(i)))
        return float(self.a[tuple(out)])

    def __mul__(self, k):
        return _T(self.a * (k.a if isinstance(k, _T) else k))

    __rmul__ = __mul__


def _close(text: str, start: int) -> int:
    """The end of the group that starts at ``start`` (end of the enclosing
    parenthesis or bracket, or of the text)."""
    depth = 0
    for k in range(start, len(text)):
        ch = text[k]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            if depth == 0:
                return k
            depth -= 1
    return len(text)


def _bounds(sub: str, bounds: dict) -> list[str]:
    """``p<3,q`` -> [p, q], recording p's range 3."""
    letters = []
    for part in sub.split(","):
        name, _, n = part.partition("<")
        if n:
            bounds[name] = int(n)
        letters.append(name)
    return letters


def _translate(text: str, bounds: dict) -> str:
    """Index-notation ASCII -> a Python expression over SUM/MAX/ARGIV/IV;
    ranges written in subscripts (``sum_{p<3}``) go to ``bounds``."""
    # Iverson brackets: a '[' not indexing something
    out = []
    k = 0
    while k < len(text):
        ch = text[k]
        if ch == "[" and not (out and re.match(r"[\w)\]]", out[-1][-1:] or " ")):
            end = _close(text, k + 1)
            inner = text[k + 1: end]
            m = re.match(r"^(.*) at (\w+),(\w+) = argmax_\{([^}]*)\} (.*)$", inner)
            if m:
                cond, r, s, sub, arg = m.groups()
                _bounds(sub, bounds)
                out.append(f"ARGIV(lambda {r},{s}: ({_translate(cond, bounds)}), "
                           f"lambda {r},{s}: ({_translate(arg, bounds)}), {r!r}, {s!r})")
            else:
                out.append(f"IV({_translate(inner, bounds)})")
            k = end + 1
            continue
        m = re.match(r"(sum|max)_(?:\{([\w,<]+)\}|(\w))\s", text[k:])
        if m and (k == 0 or not re.match(r"\w", text[k - 1])):
            letters = _bounds(m.group(2) or m.group(3), bounds)
            body_start = k + m.end()
            end = _close(text, body_start)
            body = _translate(text[body_start:end], bounds)
            fn = "SUM" if m.group(1) == "sum" else "MAX"
            out.append(f"{fn}(lambda {','.join(letters)}: ({body}), "
                       + ", ".join(repr(x) for x in letters) + ")")
            k = end
            continue
        out.append(ch)
        k += 1
    return "".join(out)


def _ranges(text: str, env: dict, given: dict) -> dict:
    """Each letter's range, from the axes it indexes bare."""
    ranges = dict(given)
    for m in re.finditer(r"(\w+|\))\[([^\[\]]*)\]", text):
        head, idx = m.group(1), [s.strip() for s in m.group(2).split(",")]
        if head == ")":
            start = text.rfind("ones(", 0, m.start())
            shape = tuple(int(v) for v in re.match(r"ones\(([\d,]*)\)", text[start:]).group(1).split(",") if v)
        elif head in env:
            shape = np.shape(env[head])
        else:
            continue
        for letter, n in zip(idx, shape):
            if re.fullmatch(r"[A-Za-z]\w*", letter):
                ranges.setdefault(letter, n)
    return ranges


def index_eval(lhs: str, rhs: str, shape: tuple, env: dict, ranges: dict | None = None) -> np.ndarray:
    """The tensor of shape ``shape`` whose element at the free indices of
    ``lhs`` (``dL/dW[i,j]``) is ``rhs`` (both ASCII)."""
    # the free letters, in order: dL/dW[i,j], or d2L/dW[i,j]dW[k,l] (a Hessian's element)
    free = [x for grp in re.findall(r"\[([\w,]+)\]", lhs) for x in grp.split(",")]
    written: dict = {}
    code = _translate(rhs, written)
    rng = _ranges(rhs, env, {**written, **(ranges or {})})

    def loop(fn, letters, reduce):
        vals = []
        for combo in itertools.product(*(range(rng[x]) for x in letters)):
            _State.outside = False
            v = fn(*combo)
            if reduce == "max" and _State.outside:
                continue
            vals.append(v)
        _State.outside = False
        if reduce == "sum":
            return float(sum(vals))
        return max(vals)

    def argiv(cond, arg, r, s):
        best, where = None, None
        for a, b in itertools.product(range(rng[r]), range(rng[s])):
            _State.outside = False
            v = arg(a, b)
            if _State.outside:
                continue
            if best is None or v > best:
                best, where = v, (a, b)
        _State.outside = False
        return 1.0 if where is not None and cond(*where) else 0.0

    ns = {k: (v if callable(v) else _T(v) if np.ndim(v) else float(v)) for k, v in env.items()}
    ns.update({"SUM": lambda f, *l: loop(f, l, "sum"), "MAX": lambda f, *l: loop(f, l, "max"),
               "IV": lambda c: 1.0 if c else 0.0, "ARGIV": argiv,
               "ones": lambda *s: _T(np.ones(s)), "zeros": lambda *s: _T(np.zeros(s)),
               "tanh": np.tanh, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": abs})
    compiled = compile(code, "<formula>", "eval")
    out = np.zeros(shape)
    scope = {"__builtins__": {}, **ns}  # one namespace: the lambdas see it as globals
    for idx in np.ndindex(*shape):
        scope.update(dict(zip(free, idx)))
        out[idx] = eval(compiled, scope)  # noqa: S307
    return out


def evaluate_explanation(doc: dict, env: dict | None = None) -> dict[str, np.ndarray]:
    """The formulas of an ``explain --format json --ascii`` document
    evaluated by this module: each definition in order, over the printed
    symbols and seeds (and ``env``: values the document does not print),
    checked against the value it prints where it prints one (a column
    printed as a vector is reshaped); returns each x's formula's value by
    the x's name."""
    env = {**{s["name"]: np.array(s["value"], dtype=float)
              for s in doc["symbols"] + doc.get("seeds", [])}, **(env or {})}
    for p in doc["definitions"]:
        if p["notation"] == "index":
            got = index_eval(p["lhs"], p["expr"], tuple(p["shape"]), env)
        else:
            got = matrix_eval(p["expr"], env)
        if "value" in p:
            want = np.array(p["value"], dtype=float)
            got = got.reshape(want.shape)
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        env[p["name"]] = got
    out = {}
    for x in doc["xs"]:
        if x["notation"] == "index":
            out[x["name"]] = index_eval(x["lhs"], x["matrix"], tuple(x["shape"]), env)
        else:
            out[x["name"]] = matrix_eval(x["matrix"], env)
    return out
