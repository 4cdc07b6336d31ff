"""Element form: each element of a gradient as a scalar formula.

``ElementBuilder`` walks the expression DAG (iteratively, memoized by
``id``) and builds, per node, one SymPy scalar per element from the
``funcs.FUNCS`` scalar forms (contractions and sums as sums of products;
movement and kernels by probing their NumPy kernel for the affine map they
are). Leaves become symbols ``w[0,1]`` whose numbers are recorded; a node
that has no scalar form (a non-affine kernel) or whose formula SymPy cannot
hold (``1/0``) becomes its value. The whole gradient is never simplified,
substituted or lambdified: only single elements are built.

``ieee(expr, numbers)`` evaluates an element formula with IEEE arithmetic
(what TF's kernels do: ``0·inf = nan``, ``1/0 = inf``), so explain can tell
when exact algebra and TF's floating point part ways.

``ScalarText``/``ScalarLatex`` print element formulas, optionally with the
numbers substituted; a ``Piecewise`` prints as the branch these numbers
take (a 0/1 mask as an Iverson bracket ``[x > 0]``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import numpy as np
import sympy as sp
from sympy import Float, Integer, Number, Piecewise, Symbol
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanFalse, BooleanTrue
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from ..autodiff import REDUCTIONS  # noqa: F401 - reductions register with autodiff
from ..funcs import FUNCS
from ..moves import MOVES
from ..tensor import Contract, Ew, Fill, Kernel, Move, Node, Reduce, Tensor, is_float, walk
from .common import element_suffix, latex_name, latex_number_text, number_text


class TooBig(Exception):
    """An element formula beyond the size limit."""


def _flat_indices(shape: tuple) -> list[tuple]:
    return list(itertools.product(*[range(d) for d in shape])) if shape else [()]


def _number(v: float) -> Any:
    v = float(v)
    if math.isnan(v):
        return sp.nan
    if math.isinf(v):
        return sp.oo if v > 0 else -sp.oo
    if v.is_integer() and abs(v) < 2**53:
        return Integer(int(v))
    return Float(v, 17)


def _bad_number(e: Any) -> bool:
    return isinstance(e, Number) and not (e.is_real and e.is_finite)


class ElementBuilder:
    """Per-element scalar formulas of nodes (see the module doc).

    ``values(node)`` gives a node's array (the engine's); ``held`` maps
    ``id(node)`` to a name: those nodes (stop_gradients) are symbols of
    their own rather than their formula. ``opaque_name(node)`` names a node
    shown by value."""

    def __init__(self, values: Callable[[Node], np.ndarray], integral: dict[str, bool],
                 held: dict[int, str], opaque_name: Callable[[Node], str],
                 max_size: int) -> None:
        self.values = values
        self.integral = integral
        self.held = held
        self.opaque_name = opaque_name
        self.max_size = max_size
        self.memo: dict[int, list] = {}
        self.size: dict[int, list] = {}
        self.numbers: dict[str, float] = {}
        self.texts: dict[str, str] = {}

    def _symbols(self, name: str, n: Node, integral: bool) -> list:
        a = np.asarray(self.values(n)).reshape(n.shape)
        out = []
        for idx in _flat_indices(n.shape):
            nm = name + element_suffix(n.shape, idx)
            v = float(a[idx])
            self.numbers[nm] = v
            self.texts[nm] = number_text(v, integral and float(v).is_integer())
            out.append(Symbol(nm, real=True))
        return out

    def build(self, root: Node) -> list:
        memo = self.memo
        for n in walk([root]):
            if id(n) in memo:
                continue
            memo[id(n)] = self._node(n)
        return memo[id(root)]

    def _node(self, n: Node) -> list:
        t = type(n)
        if id(n) in self.held:
            return self._symbols(self.held[id(n)], n, False)
        if t is Tensor:
            if not is_float(n.dtype):
                a = np.asarray(self.values(n)).reshape(n.shape)
                return [_number(a[idx]) for idx in _flat_indices(n.shape)]
            return self._symbols(n.name, n, self.integral.get(n.name, False))
        if t is Fill:
            return [_number(n.value)] * max(1, n.size)
        try:
            out = self._compute(n)
        except TooBig:
            raise
        except Exception:  # noqa: BLE001 - SymPy refusing a form: show the value
            out = None
        if out is None:
            return self._symbols(self.opaque_name(n), n, False)
        bad = [i for i, e in enumerate(out) if _bad_number(e) or (
            not isinstance(e, (Symbol, Number)) and tree_size(e, 400) <= 400
            and e.has(sp.zoo, sp.nan))]
        if bad:
            a = np.asarray(self.values(n)).reshape(-1)
            out = list(out)
            for i in bad:
                out[i] = _number(a[i])
        return out

    def _compute(self, n: Node) -> list | None:
        t = type(n)
        args = [self.memo[id(a)] for a in n._args]
        if t is Ew:
            f = FUNCS[n.fn]
            out = []
            for i in range(max(1, n.size)):
                e = f.scalar(*[a[i] for a in args], *n.attrs)
                if isinstance(e, (sp.Add, sp.Mul, sp.Pow)):
                    e = e.func(*e.args)  # tables may build them unevaluated
                out.append(e)
            return out
        if t is Contract:
            return self._contract(n, args)
        if t is Reduce:
            op = {"sum": sp.Add, "prod": sp.Mul, "max": sp.Max, "min": sp.Min}.get(n.kind)
            if op is None:
                return None
            x = n._args[0]
            groups: dict[tuple, list] = {}
            for k, idx in enumerate(_flat_indices(x.shape)):
                key = tuple(i for a, i in enumerate(idx) if a not in n.axes)
                groups.setdefault(key, []).append(args[0][k])
            return [op(*groups[idx]) for idx in _flat_indices(n.shape)]
        if t is Move or t is Kernel:
            return self._affine(n, args)
        return None

    def _contract(self, n: Contract, args: list) -> list:
        ins, out = n.subscripts
        sizes: dict[str, int] = {}
        for s, a in zip(ins, n._args):
            sizes.update(zip(s, a.shape))
        summed = [ch for ch in dict.fromkeys("".join(ins)) if ch not in out]
        strides = []
        for s, a in zip(ins, n._args):
            st = [0] * len(s)
            acc = 1
            for k in range(len(s) - 1, -1, -1):
                st[k] = acc
                acc *= a.shape[k]
            strides.append(st)
        total = 1
        for ch in summed:
            total *= sizes[ch]
        if total * max(1, n.size) > 50 * self.max_size:
            raise TooBig()
        result = []
        for oidx in _flat_indices(n.shape):
            env = dict(zip(out, oidx))
            terms = []
            for sidx in itertools.product(*[range(sizes[ch]) for ch in summed]):
                env.update(zip(summed, sidx))
                factors = []
                for s, st, a in zip(ins, strides, args):
                    factors.append(a[sum(env[ch] * k for ch, k in zip(s, st))])
                terms.append(sp.Mul(*factors))
            result.append(sp.Add(*terms))
        return result

    def _affine(self, n: Node, args: list) -> list | None:
        """The node's kernel as ``out = Z + M·(float operands)``, found by
        probing; None when it is not affine (softmax...)."""
        p = MOVES[n.kind]
        ops = n._args
        base = []
        float_ops = []
        for k, a in enumerate(ops):
            if is_float(a.dtype):
                base.append(np.zeros(a.shape, dtype=np.float64))
                float_ops.append(k)
            else:
                base.append(np.asarray(self.values(a)).reshape(a.shape))
        sizes = [ops[k].size for k in float_ops]
        if sum(sizes) * max(1, n.size) > 200_000:
            return None

        def run(inputs: list) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(p.np(*inputs, *n.attrs), dtype=np.float64).reshape(-1)

        z = run(base)
        cols = []
        for k in float_ops:
            for j in range(ops[k].size):
                probe = list(base)
                e = np.zeros(ops[k].size)
                e[j] = 1.0
                probe[k] = e.reshape(ops[k].shape)
                cols.append(run(probe) - z)
        m = np.stack(cols, axis=1) if cols else np.zeros((z.size, 0))
        rng = np.random.default_rng(0)
        test = list(base)
        xs = []
        for k in float_ops:
            x = rng.normal(size=ops[k].shape)
            test[k] = x
            xs.append(x.reshape(-1))
        flat = np.concatenate(xs) if xs else np.zeros(0)
        if not np.allclose(run(test), z + m @ flat, rtol=1e-9, atol=1e-9):
            return None
        scalars = [e for k in float_ops for e in args[k]]
        out = []
        for i in range(z.size):
            terms = [] if z[i] == 0 else [_number(z[i])]
            for j in np.nonzero(m[i])[0]:
                c = m[i, j]
                terms.append(scalars[j] if c == 1 else _number(c) * scalars[j])
            out.append(sp.Add(*terms) if terms else Integer(0))
        return out


# ---------------------------------------------------------------- sizes


def tree_size(root: Any, cap: int) -> int:
    """Printed size of a SymPy expression (shared subtrees counted at each
    use), stopping at ``cap``."""
    size: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in size:
            continue
        args = e.args if isinstance(e, sp.Basic) else ()
        if not ready and args:
            stack.append((e, True))
            stack.extend((a, False) for a in args if id(a) not in size)
            continue
        size[id(e)] = min(cap + 1, 1 + sum(size[id(a)] for a in args))
    return size[id(root)]


# ---------------------------------------------------------------- IEEE evaluation

_NP: dict[str, Callable] = {
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "Abs": np.abs, "sign": np.sign,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "sinh": np.sinh, "cosh": np.cosh,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "asinh": np.arcsinh,
    "acosh": np.arccosh, "atanh": np.arctanh, "floor": np.floor, "ceiling": np.ceil,
    "erf": np.vectorize(math.erf), "re": lambda x: x,
}


def ieee(root: Any, numbers: dict[str, float]) -> float:
    """``root`` evaluated in float64 with IEEE semantics (see the module doc)."""
    val: dict[int, Any] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    with np.errstate(all="ignore"):
        while stack:
            e, ready = stack.pop()
            if id(e) in val:
                continue
            if isinstance(e, Piecewise):
                val[id(e)] = _piecewise(e, numbers)
                continue
            args = e.args if isinstance(e, sp.Basic) else ()
            if not ready and args and not isinstance(e, (Symbol, Number)):
                stack.append((e, True))
                stack.extend((a, False) for a in args if id(a) not in val)
                continue
            val[id(e)] = _one(e, [val[id(a)] for a in args], numbers)
    return float(val[id(root)])


def _piecewise(e: Piecewise, numbers: dict[str, float]) -> float:
    k = taken_branch(e, numbers)
    if k is None:
        return math.nan
    return ieee(e.args[k][0], numbers)


def taken_branch(e: Piecewise, numbers: dict[str, float]) -> int | None:
    for k, (_, c) in enumerate(e.args):
        if c == True or bool(ieee(c, numbers)):  # noqa: E712 - SymPy's true
            return k
    return None


def _one(e: Any, a: list, numbers: dict[str, float]) -> Any:
    if isinstance(e, Symbol):
        return np.float64(numbers[e.name])
    if isinstance(e, Number):
        if e is sp.zoo or e is sp.nan:
            return np.float64(math.nan)
        return np.float64(float(e))
    if isinstance(e, BooleanTrue):
        return True
    if isinstance(e, BooleanFalse):
        return False
    if isinstance(e, sp.Add):
        s = a[0]
        for x in a[1:]:
            s = s + x
        return s
    if isinstance(e, sp.Mul):
        s = a[0]
        for x in a[1:]:
            s = s * x
        return s
    if isinstance(e, sp.Pow):
        b, x = a
        if x == -1:
            return np.float64(1.0) / b
        if x == 0.5:
            return np.sqrt(b)
        return np.power(b, x)
    if isinstance(e, Relational):
        l, r = a
        return {">": l > r, "<": l < r, ">=": l >= r, "<=": l <= r, "==": l == r,
                "!=": l != r}[e.rel_op]
    if isinstance(e, sp.And):
        return all(a)
    if isinstance(e, sp.Or):
        return any(a)
    if isinstance(e, sp.Not):
        return not a[0]
    name = type(e).__name__
    if name == "Max":
        return np.maximum.reduce([np.float64(x) for x in a])
    if name == "Min":
        return np.minimum.reduce([np.float64(x) for x in a])
    f = _NP.get(name)
    if f is not None:
        return np.float64(f(*a))
    try:
        return np.float64(complex(e.func(*[_number(x) for x in a]).evalf()).real)
    except Exception:  # noqa: BLE001
        return np.float64(math.nan)


# ---------------------------------------------------------------- printers


def _iverson(e: Piecewise) -> Any:
    a = e.args
    if len(a) == 2 and a[1].cond == True and a[1].expr == 0 and a[0].expr == 1:  # noqa: E712
        return a[0].cond
    return None


class _ScalarMixin:
    def _setup(self, settings: dict) -> None:
        self.numbers: dict[str, float] = settings.get("numbers") or {}
        self.texts: dict[str, str] | None = settings.get("texts")
        self.notes: list = settings.get("notes_out") if settings.get("notes_out") is not None else []

    def _print_Piecewise(self, e, **kw) -> str:
        cond = _iverson(e)
        if cond is not None:
            s = self._print(cond)
            return rf"\left[{s}\right]" if self._latex else f"[{s}]"
        a = e.args
        if len(a) == 2 and a[1].cond == True and a[1].expr == 0:  # noqa: E712
            try:
                finite = math.isfinite(ieee(a[0].expr, self.numbers))
            except Exception:  # noqa: BLE001
                finite = False
            if finite:  # a mask times a finite value: the Iverson product is exact
                c = self._print(a[0].cond)
                mask = rf"\left[{c}\right]" if self._latex else f"[{c}]"
                body = self.parenthesize(a[0].expr, 50) if not self._latex else self._print(a[0].expr)
                dot = r" \cdot " if self._latex else "*"
                return body + dot + mask
        k = taken_branch(e, self.numbers)
        if k is None:
            return "nan"
        expr = e.args[k][0]
        if isinstance(expr, Number) and id(e) not in {id(x) for x, _ in self.notes}:
            first = e.args[0][1]
            self.notes.append((e, (first, k == 0, expr)))
        return self._print(expr)


class ScalarText(_ScalarMixin, StrPrinter):
    """A scalar formula on one line; with ``texts``, each symbol prints as its
    number (the "numbers substituted" form)."""

    _default_settings = {**StrPrinter._default_settings, "unicode": True, "texts": None,
                         "numbers": None, "notes_out": None}
    _latex = False

    def __init__(self, settings=None):
        StrPrinter.__init__(self, settings)
        self.unicode = self._settings["unicode"]
        self._setup(self._settings)

    def doprint(self, expr) -> str:
        s = super().doprint(expr)
        if self.unicode:
            s = s.replace("**", "^").replace("*", "·").replace(" - ", " − ")
        return s

    def _print_Symbol(self, e, **kw) -> str:
        if self.texts is not None and e.name in self.texts:
            v = self.texts[e.name]
            return f"({v})" if v.startswith("-") else v
        return e.name

    def _print_Float(self, e, **kw) -> str:
        return number_text(float(e))

    def _print_Infinity(self, e, **kw) -> str:
        return "inf"

    def _print_NegativeInfinity(self, e, **kw) -> str:
        return "-inf"

    def _print_NaN(self, e, **kw) -> str:
        return "nan"

    def _print_ComplexInfinity(self, e, **kw) -> str:
        return "nan"

    def _print_Relational(self, e, **kw) -> str:
        op = e.rel_op
        if self.unicode:
            op = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}.get(op, op)
        return f"{self._print(e.lhs)} {op} {self._print(e.rhs)}"

    def _print_Max(self, e, **kw) -> str:
        return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Min(self, e, **kw) -> str:
        return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Abs(self, e, **kw) -> str:
        return f"|{self._print(e.args[0])}|"

    def _print_BooleanTrue(self, e, **kw) -> str:
        return "true"

    def _print_BooleanFalse(self, e, **kw) -> str:
        return "false"


class ScalarLatex(_ScalarMixin, LatexPrinter):
    """A scalar formula in LaTeX math mode; ``texts`` as for the text printer."""

    _default_settings = {**LatexPrinter._default_settings, "texts": None, "numbers": None,
                         "notes_out": None, "mul_symbol": "dot"}
    _latex = True

    def __init__(self, settings=None):
        LatexPrinter.__init__(self, settings)
        self._setup(self._settings)

    def _print_Symbol(self, e, **kw) -> str:
        if self.texts is not None and e.name in self.texts:
            s = latex_number_text(self.texts[e.name])
            return rf"\left({s}\right)" if s.startswith("-") else s
        return latex_name(e.name)

    def _print_Float(self, e, **kw) -> str:
        return latex_number_text(number_text(float(e)))

    def _print_NaN(self, e, **kw) -> str:
        return r"\mathrm{NaN}"

    def _print_ComplexInfinity(self, e, **kw) -> str:
        return r"\mathrm{NaN}"
