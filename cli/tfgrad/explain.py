"""Why the gradient is what it is: ``tfgrad explain``.

Input: a ``Derivation`` (the same one ``run`` evaluates) and its NumPy
``Evaluation``. Output: an ``Explanation`` — for each x, the gradient as the
reverse sweep built it (a matrix expression over the seeds ``g1, g2...``,
the inline literals ``c1, c2...``, the variables and the forward nodes,
printed by their graph names), its value, optionally every element as a
scalar formula, and the backward pass op by op — and its renderings as
text, LaTeX and JSON (``render_text``, ``render_latex``, ``render_json``).

No second engine: the expressions printed are the engine's own DAG. Three
things make that safe and readable for any depth:

* display simplification only (``_Builder``): ``Ident`` wrappers, 1x1 ``𝟙``
  factors, ``×1`` and zero terms are dropped from what is *shown*;
* cutting (``_Cutter``): a node used more than once among the printed
  expressions (by object identity) and of some size gets a name ``t1,
  t2...``, listed once in dependency order; any node deeper than
  ``DEPTH_LIMIT`` levels gets one too. Each named piece is then a shallow
  SymPy expression whose named children are ``MatrixSymbol``s, so SymPy's
  recursive printers never go deep. Every walk here is iterative and keyed
  by ``id()``; nothing deep is hashed, compared or ``str()``-ed;
* the element form evaluates the *same* DAG with a second backend of the
  evaluator's walk: SymPy explicit matrices of scalar symbols (``w1[0,1]``)
  instead of NumPy arrays, with TF's kinks as 0/1 ``Piecewise`` masks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Callable

import numpy as np
from sympy import (
    Abs,
    Basic,
    Function,
    Integer,
    Max,
    Min,
    Number,
    Piecewise,
    Symbol,
    exp,
    log,
    sign,
    sqrt,
    tanh,
)
from sympy.matrices import ImmutableMatrix
from sympy.matrices.expressions import (
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixSymbol,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)
from sympy.matrices.immutable import ImmutableDenseMatrix
from sympy.matrices import MatrixBase

from . import mexpr as m
from .evaluate import Evaluation, Evaluator, _is_neg
from .graph import Shape
from .mexpr import Elementwise, Ident
from .ops import to2
from .opspec import SPECS
from .render import EDGE_ITEMS, SUMMARY_THRESHOLD, edges, fmt_array
from .printing import (
    MatrixLatexPrinter,
    MatrixTextPrinter,
    ScalarLatexPrinter,
    ScalarTextPrinter,
    latex_escape,
    latex_name,
    number_latex,
    number_text,
)
from .symbolic import Derivation, fresh_names

DEPTH_LIMIT = 16  # levels of one printed piece before a subexpression is named
SHARE_MIN_OPS = 2  # a shared node with fewer operators is repeated, not named
AUTO_MAX_ELEMENTS = 16  # element form by default: every tensor at most this big
FORCED_MAX_ELEMENTS = 256  # --elementwise: beyond this, explicit matrices get slow
MAX_PATH = 40  # element form: at most this many ops on the longest path
MAX_FORMULA_SIZE = 2000  # element form: nodes of one element's formula
AUTO_MAX_FORMULA_SIZE = 100  # ... by default (longer formulas read worse than the matrix form)
MAX_FORMULA_DEPTH = 120

Shape2 = tuple[int, int]

# ================================================================ display DAG


class _D:
    """A display node. ``kind``: sym, num, ones, zeros, lit (atoms); mm
    (``data`` = coefficient), add, had, T, ew (``data`` = function name);
    ref (a name given in advance: ``data`` = name, ``kids`` = its definition
    or nothing when opaque). ``shape`` is 2-D (None for a bare number)."""

    __slots__ = ("kind", "kids", "data", "shape")

    def __init__(self, kind: str, kids: tuple = (), data: Any = None,
                 shape: Shape2 | None = (1, 1)) -> None:
        self.kind = kind
        self.kids = kids
        self.data = data
        self.shape = shape


_ATOMS = ("sym", "num", "ones", "zeros", "lit")


def _shape2(e: Basic) -> Shape2:
    return (int(e.shape[0]), int(e.shape[1]))


def _engine_kids(e: Basic) -> tuple:
    t = type(e)
    if t is Elementwise:
        return e.args[1:]
    if t is MatMul or t is MatAdd or t is HadamardProduct:
        return e.args
    if t is Transpose or t is Ident:
        return e.args[:1]
    return ()


class _Builder:
    """Engine DAG -> display DAG, memoized by identity, iteratively.

    ``presets`` maps id(engine object) -> (name, 2-D shape): forward nodes
    printed by their graph name and, for the steps, cotangents. With
    ``opaque`` a preset is a bare name; otherwise it also carries its
    definition (listed in the "where" block)."""

    def __init__(self, presets: dict[int, tuple[str, Shape2]], opaque: bool,
                 sums: set[int], seeds: set[int]) -> None:
        self.presets = presets
        self.opaque = opaque
        self.sums = sums
        self.seeds = seeds
        self.memo: dict[int, _D] = {}

    def node(self, root: Basic) -> _D:
        memo, presets = self.memo, self.presets
        stack: list[tuple[Basic, bool]] = [(root, False)]
        while stack:
            e, ready = stack.pop()
            k = id(e)
            if k in memo:
                continue
            p = presets.get(k)
            if p is not None and self.opaque:
                memo[k] = _D("ref", (), p[0], p[1])
                continue
            kids = _engine_kids(e)
            if not ready:
                missing = [c for c in kids if id(c) not in memo]
                if missing:
                    stack.append((e, True))
                    stack.extend((c, False) for c in reversed(missing))
                    continue
            dn = self._make(e, self._ordered(e, [memo[id(c)] for c in kids]))
            if p is not None:
                dn = _D("ref", (dn,), p[0], p[1])
            memo[k] = dn
        return memo[id(root)]

    def expand(self, obj: Basic) -> _D:
        """``obj`` itself (not its preset name) over display nodes of its children."""
        kids = [self.node(c) for c in _engine_kids(obj)]
        return self._make(obj, self._ordered(obj, kids))

    def _ordered(self, e: Basic, kids: list[_D]) -> list[_D]:
        # The sweep starts a y's cotangent with its seeds, then appends the
        # parts as they arrive, last consumer first; shown as seeds, then
        # the parts in the graph's own order (first use first).
        if id(e) not in self.sums:
            return kids
        seeds = [k for a, k in zip(e.args, kids) if id(a) in self.seeds]
        rest = [k for a, k in zip(e.args, kids) if id(a) not in self.seeds]
        return seeds + rest[::-1]

    @staticmethod
    def _make(e: Basic, kids: list[_D]) -> _D:
        t = type(e)
        if t is MatrixSymbol:
            return _D("sym", (), e.name, _shape2(e))
        if t is OneMatrix:
            return _D("ones", (), None, _shape2(e))
        if t is ZeroMatrix:
            return _D("zeros", (), None, _shape2(e))
        if isinstance(e, Number):
            return _D("num", (), e, None)
        if isinstance(e, ImmutableDenseMatrix):
            return _D("lit", (), e, _shape2(e))
        if t is Ident:
            return kids[0]
        if t is Transpose:
            c = kids[0]
            if c.shape is None or c.shape == (1, 1):
                return c
            if c.kind == "T":
                return c.kids[0]
            return _D("T", (c,), None, (c.shape[1], c.shape[0]))
        if t is MatMul:
            return _product(kids)
        if t is MatAdd:
            shape = next((k.shape for k in kids if k.shape is not None), (1, 1))
            terms = tuple(k for k in kids if k.kind != "zeros")
            if not terms:
                return _D("zeros", (), None, shape)
            if len(terms) == 1:
                return terms[0]
            return _D("add", terms, None, shape)
        if t is HadamardProduct:
            coeff: Basic = Integer(1)
            factors = []
            for k in kids:
                if k.kind == "num":
                    coeff = coeff * k.data
                else:
                    factors.append(k)
            if len(factors) > 1:
                factors = [f for f in factors if f.kind != "ones"] or factors[:1]
            body = factors[0] if len(factors) == 1 else _D(
                "had", tuple(factors), None, factors[0].shape)
            return body if coeff == 1 else _product([_D("num", (), coeff, None), body])
        if t is Elementwise:
            shape = next((k.shape for k in kids if k.shape is not None), (1, 1))
            return _D("ew", tuple(kids), e.fname, shape)
        raise TypeError(f"cannot display {t.__name__}")


def _product(kids: list[_D]) -> _D:
    coeff: Basic = Integer(1)
    factors: list[_D] = []
    mats = [k for k in kids if k.shape is not None]
    shape = (mats[0].shape[0], mats[-1].shape[1]) if mats else (1, 1)
    for k in kids:
        if k.kind == "num":
            coeff = coeff * k.data
        elif not (k.kind == "ones" and k.shape == (1, 1)):
            factors.append(k)
    if coeff == 0 or any(f.kind == "zeros" for f in factors):
        return _D("zeros", (), None, shape)
    if len(factors) == 1 and factors[0].kind == "mm" and len(factors[0].kids) >= 1:
        coeff = coeff * factors[0].data
        factors = list(factors[0].kids)
    if not factors:
        return _D("num", (), coeff, None)
    if coeff == 1 and len(factors) == 1:
        return factors[0]
    return _D("mm", tuple(factors), coeff, shape)


# ================================================================ cutting into pieces


@dataclass
class Piece:
    """A named subexpression: a forward node's definition (``forward``), a
    shared or deep one (``shared``/``cut``), or a gradient that another
    printed expression reuses (``gradient``)."""

    name: str
    kind: str
    shape: Shape2
    expr: Basic
    uses: int = 1


class _Cutter:
    """Names shared and deep display nodes and builds one shallow SymPy
    expression per piece (named children appear as ``MatrixSymbol``s)."""

    def __init__(self, share: bool, names, limit: int = DEPTH_LIMIT) -> None:
        self.share = share
        self.fresh = names  # an iterator of unused names
        self.limit = limit
        self.names: dict[int, str] = {}
        self.symbols: dict[int, MatrixSymbol] = {}
        self.expr: dict[int, Basic] = {}
        self.depth: dict[int, int] = {}
        self.ops: dict[int, int] = {}
        self.count: dict[int, int] = {}
        self.pieces: list[Piece] = []

    def run(self, roots: list[_D], root_names: dict[int, str] | None = None) -> None:
        root_names = root_names or {}
        count = self.count
        seen: set[int] = set()
        for r in roots:
            if id(r) not in seen:
                seen.add(id(r))
                count[id(r)] = count.get(id(r), 0) + 1
        stack = list(roots)
        visited: set[int] = set()
        while stack:
            n = stack.pop()
            if id(n) in visited:
                continue
            visited.add(id(n))
            for k in n.kids:
                count[id(k)] = count.get(id(k), 0) + 1
                if id(k) not in visited:
                    stack.append(k)
        for r in roots:
            self._post(r, root_names)

    def _post(self, root: _D, root_names: dict[int, str]) -> None:
        stack: list[tuple[_D, bool]] = [(root, False)]
        expr = self.expr
        while stack:
            n, ready = stack.pop()
            if id(n) in expr:
                continue
            if not ready:
                stack.append((n, True))
                stack.extend((k, False) for k in reversed(n.kids) if id(k) not in expr)
                continue
            self._finish(n, root_names)

    def use(self, n: _D) -> Basic:
        """What a parent prints for ``n``: its name, or its expression."""
        s = self.symbols.get(id(n))
        return s if s is not None else self.expr[id(n)]

    def body(self, n: _D) -> Basic:
        """``n`` written out (its definition if it is a named piece)."""
        if n.kind == "ref":
            return self.symbols[id(n)]
        return self.expr[id(n)]

    def _name(self, n: _D, name: str, kind: str, body: Basic) -> None:
        shape = n.shape or (1, 1)
        self.names[id(n)] = name
        self.symbols[id(n)] = MatrixSymbol(name, *shape)
        self.pieces.append(Piece(name, kind, shape, body, self.count.get(id(n), 1)))

    def _finish(self, n: _D, root_names: dict[int, str]) -> None:
        k = n.kind
        key = id(n)
        if k in _ATOMS:
            self.expr[key] = _atom_expr(n)
            self.depth[key], self.ops[key] = 1, 0
            return
        if k == "ref":
            shape = n.shape or (1, 1)
            self.names[key] = n.data
            self.symbols[key] = MatrixSymbol(n.data, *shape)
            self.expr[key] = self.symbols[key]
            self.depth[key], self.ops[key] = 1, 0
            if n.kids:
                self.pieces.append(Piece(n.data, "forward", shape, self.use(n.kids[0])))
            return
        uses = [self.use(c) for c in n.kids]
        if k == "mm":
            e = m.new(MatMul, *([n.data] if n.data != 1 else []), *uses)
        elif k == "add":
            e = m.new(MatAdd, *uses)
        elif k == "had":
            e = m.new(HadamardProduct, *uses)
        elif k == "T":
            e = m.new(Transpose, uses[0])
        elif k == "ew":
            e = m.ew(n.data, *uses)
        else:  # pragma: no cover - every kind is listed above
            raise TypeError(k)
        self.expr[key] = e
        depth = 1 + max((1 if id(c) in self.names else self.depth[id(c)]) for c in n.kids)
        ops = min(10**6, 1 + sum(0 if id(c) in self.names else self.ops[id(c)] for c in n.kids))
        self.depth[key], self.ops[key] = depth, ops
        shared = self.share and self.count.get(key, 0) > 1 and ops >= SHARE_MIN_OPS
        if key in root_names:
            if shared:
                self._name(n, root_names[key], "gradient", e)
            return
        if shared:
            self._name(n, next(self.fresh), "shared", e)
        elif depth > self.limit:
            self._name(n, next(self.fresh), "cut", e)


def _atom_expr(n: _D) -> Basic:
    if n.kind == "sym":
        return MatrixSymbol(n.data, *n.shape)
    if n.kind == "ones":
        return OneMatrix(*n.shape)
    if n.kind == "zeros":
        return ZeroMatrix(*n.shape)
    return n.data  # num, lit


def _symbols_in(e: Basic) -> list[str]:
    """Names of the MatrixSymbols in a (shallow) piece, first occurrence order."""
    out: list[str] = []
    seen: set[str] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if type(x) is MatrixSymbol:
            if x.name not in seen:
                seen.add(x.name)
                out.append(x.name)
            continue
        if isinstance(x, (MatMul, MatAdd, HadamardProduct, Transpose, Elementwise, Ident)):
            stack.extend(reversed(_engine_kids(x)))
    return out


# ================================================================ element form (SymPy backend)


def _zip(f: Callable, *vals):
    """``f`` element by element with NumPy broadcasting over explicit matrices."""
    mats = [v for v in vals if isinstance(v, MatrixBase)]
    if not mats:
        return f(*vals)
    rows = max(v.rows for v in mats)
    cols = max(v.cols for v in mats)

    def at(v, i, j):
        if not isinstance(v, MatrixBase):
            return v
        return v[i if v.rows > 1 else 0, j if v.cols > 1 else 0]

    return ImmutableMatrix(rows, cols, [f(*[at(v, i, j) for v in vals])
                                        for i in range(rows) for j in range(cols)])


class stop_gradient(Function):  # noqa: N801 - prints as the op's name
    """The identity, kept visible in element formulas: ``w*stop_gradient(w)``
    differentiates to ``stop_gradient(w)``, not ``w``, and a number passes."""

    @classmethod
    def eval(cls, x):
        if x.is_number:
            return x
        return None


def _mask(cond: Callable) -> Callable:
    # evaluate=False keeps the comparison as written (SymPy would turn
    # m <= k into k >= m); numbers still collapse to 0 or 1.
    return lambda *a: Piecewise((1, cond(*a)), (0, True), evaluate=False)


SCALAR: dict[str, Callable] = {
    "exp": exp,
    "log": log,
    "tanh": tanh,
    "sqrt": sqrt,
    "abs": Abs,
    "sign": sign,
    "square": lambda x: x**2,
    "sigmoid": lambda x: 1 / (1 + exp(-x)),
    "relu": lambda x: Max(x, 0),
    "stop_gradient": lambda x: stop_gradient(x),
    "divide": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": Max,
    "minimum": Min,
    # TF's kinks: masks of 0 and 1, the tie included where TF includes it.
    "logpos": lambda x: Piecewise((log(x), x > 0), (0, True), evaluate=False),
    "pos": _mask(lambda x: x > 0),
    "ge": _mask(lambda a, b: a >= b),
    "gt": _mask(lambda a, b: a > b),
    "le": _mask(lambda a, b: a <= b),
    "lt": _mask(lambda a, b: a < b),
}


def _ones(e: Basic) -> ImmutableMatrix:
    r, c = _shape2(e)
    return ImmutableMatrix.ones(r, c)


def sympy_compute(e: Basic, vals: list, env: dict) -> Any:
    """The evaluator's per-node step with explicit SymPy matrices instead of
    NumPy arrays (``vals`` follow ``evaluate._children``)."""
    t = type(e)
    if t is Elementwise:
        return _zip(SCALAR[e.fname], *vals)
    if t is MatMul:
        coeff: Basic = Integer(1)
        acc = None
        it = iter(vals)
        for f in e.args:
            if isinstance(f, OneMatrix):
                v = _ones(f)
            elif isinstance(f, Number):
                coeff = coeff * f
                continue
            else:
                v = next(it)
                if isinstance(f, Transpose) and isinstance(v, MatrixBase):
                    v = v.T  # the evaluator passes Bᵀ's operand B
            acc = v if acc is None else acc * v
        if acc is None:
            return coeff
        return acc if coeff == 1 else acc * coeff
    if t is MatAdd:
        total = None
        it = iter(vals)
        for term in e.args:
            v = _ones(term) if isinstance(term, OneMatrix) else next(it)
            v = -v if _is_neg(term) else v
            total = v if total is None else _zip(lambda a, b: a + b, total, v)
        return total
    if t is HadamardProduct:
        return reduce(lambda a, b: _zip(lambda x, y: x * y, a, b), vals)
    if t is Transpose:
        return vals[0].T if isinstance(vals[0], MatrixBase) else vals[0]
    if t is Ident:
        return vals[0]
    if t is MatrixSymbol:
        return env[e.name]
    if t is OneMatrix:
        return _ones(e)
    if t is ZeroMatrix:
        return ImmutableMatrix.zeros(*_shape2(e))
    if isinstance(e, Number):
        return e
    if isinstance(e, ImmutableDenseMatrix):
        return e
    raise TypeError(f"cannot evaluate {t.__name__}")


def element_name(base: str, shape: Shape, i: int, j: int) -> str:
    """``w1[0,1]`` (rank 2), ``b[1]`` (rank 1), ``a`` (rank 0 or one element)."""
    if int(np.prod(shape)) == 1:
        return base
    if len(shape) == 1:
        return f"{base}[{j}]"
    return f"{base}[{i},{j}]"


def _tree_size(root: Basic) -> tuple[int, int]:
    """(printed size, depth) of a SymPy expression, by a DP over its DAG."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[Basic, bool]] = [(root, False)]
    while stack:
        e, ready = stack.pop()
        k = id(e)
        if k in size:
            continue
        args = e.args if isinstance(e, Basic) else ()
        if not ready and args:
            stack.append((e, True))
            stack.extend((a, False) for a in args if id(a) not in size)
            continue
        size[k] = min(10**9, 1 + sum(size[id(a)] for a in args))
        depth[k] = 1 + max((depth[id(a)] for a in args), default=0)
    return size[id(root)], depth[id(root)]


@dataclass
class Element:
    index: tuple[int, ...]  # in x's own rank
    formula: Basic
    value: float


# ================================================================ the explanation


@dataclass
class Leaf:
    """A named leaf of the printed expressions: a seed, variable, constant or literal."""

    name: str
    kind: str  # seed | variable | constant | literal
    shape: Shape
    value: np.ndarray | None
    integral: bool
    note: str


@dataclass
class XEntry:
    name: str
    shape: Shape
    status: str  # connected | none | zero
    expr: Basic | None
    value: np.ndarray | None
    integral: bool
    needs: list[str] = field(default_factory=list)  # names of pieces it uses, in order
    elements: list[Element] | None = None


@dataclass
class Contrib:
    arg: str  # the input's display name
    target: str  # its cotangent's name (d<arg>)
    expr: Basic
    summed: tuple[Shape, Shape] | None  # (from, to) where broadcasting was undone


@dataclass
class StepEntry:
    number: int
    node: str
    op: str
    call: str  # op(args, attrs) in graph notation
    rule: str
    g_name: str | None  # the name this step gives its cotangent (None: an existing name)
    g_expr: Basic
    contributions: list[Contrib]
    skipped: list[str]
    stopped: str | None


@dataclass
class Collected:
    x: str
    status: str  # connected | none | zero
    g_name: str | None
    expr: Basic | None
    step: int | None  # the step whose G this is (an op x)


@dataclass
class Explanation:
    title: str | None
    ys: list[str]
    all_xs: list[str]
    seeds: list[Leaf]
    leaves: list[Leaf]  # referenced variables, constants, literals
    pieces: list[Piece]  # forward nodes, t-names and reused gradients, dependency order
    piece_values: dict[str, tuple[np.ndarray, bool]]
    entries: list[XEntry]
    stop_gradients: list[str]
    unconnected: str
    notes: list[str]
    element_values: dict[str, str]  # element symbol -> number text
    steps: list[StepEntry] | None = None
    step_pieces: list[Piece] = field(default_factory=list)
    collected: list[Collected] = field(default_factory=list)
    d_names: dict[str, str] = field(default_factory=dict)  # d-name -> node name


def _is_integral(a: np.ndarray) -> bool:
    a = np.asarray(a, dtype=np.float64)
    return bool(np.all(np.isfinite(a)) and np.all(a == np.round(a)) and np.all(np.abs(a) < 2**53))


def explain(d: Derivation, ev: Evaluation, only: list[str] | None = None, steps: bool = False,
            elementwise: bool | None = None) -> Explanation:
    """Everything ``tfgrad explain`` prints, as data (see the module docstring)."""
    g = d.graph
    xs = [x.name for x in g.xs]
    chosen = [i for i, x in enumerate(xs) if only is None or x in only]
    taken = set(g.nodes) | set(d.leaf_names) | {s.symbol.name for s in d.seeds}

    # ---- the gradients, cut into pieces
    presets: dict[int, tuple[str, Shape2]] = {}
    for name in g.order:
        node = g.nodes[name]
        if node.kind == "op" and node.user:
            presets[id(d.forward[name])] = (name, d.shape2(name))
    builder = _Builder(presets, opaque=False, sums=_sum_ids(d),
                       seeds={id(s.symbol) for s in d.seeds})
    roots: list[_D] = []
    root_names: dict[int, str] = {}
    root_of: dict[int, _D] = {}
    for i in chosen:
        grad = d.gradients[i]
        if grad is None:
            continue
        r = builder.node(grad)
        root_of[i] = r
        roots.append(r)
        root_names.setdefault(id(r), "∂L/∂" + xs[i])
    cutter = _Cutter(share=True, names=fresh_names("t", taken))
    cutter.run(roots, root_names)

    values = ev.values if any(p.kind == "forward" for p in cutter.pieces) else {}
    entries: list[XEntry] = []
    referenced: list[str] = []
    for i in chosen:
        name = xs[i]
        shape = d.shapes[name]
        grad = d.gradients[i]
        if grad is None:
            entries.append(XEntry(name, shape, "none", None, None, False))
            continue
        r = root_of[i]
        expr = cutter.expr[id(r)] if r.kind != "ref" else cutter.symbols[id(r)]
        status = "zero" if isinstance(grad, ZeroMatrix) else "connected"
        entries.append(XEntry(name, shape, status, expr, ev.gradients[i], ev.integral[i]))
        referenced.extend(_symbols_in(expr))

    pieces = cutter.pieces
    by_name = {p.name: p for p in pieces}
    for p in pieces:
        referenced.extend(_symbols_in(p.expr))
    for e in entries:
        if e.expr is not None:
            e.needs = _closure(_symbols_in(e.expr), by_name)

    piece_values: dict[str, tuple[np.ndarray, bool]] = {}
    for p in pieces:
        if p.kind == "forward":
            v = values[p.name]
            piece_values[p.name] = (v, d.integral and _is_integral(v))

    seeds = _seed_leaves(d, ev)
    leaves = _leaves(d, set(referenced))

    # ---- the element form
    notes: list[str] = []
    element_values: dict[str, str] = {}
    if elementwise is not False:
        element_values = _element_form(d, ev, chosen, entries, seeds, elementwise, notes)

    ex = Explanation(g.name, [y.name for y in g.ys], xs, seeds, leaves, pieces, piece_values,
                     entries, [s.name for s in g.stop_gradients], g.unconnected_gradients, notes,
                     element_values)
    if steps:
        _steps(d, ex, taken)
    return ex


def _sum_ids(d: Derivation) -> set[int]:
    """The sweep's sums of cotangent parts (``MatAdd``s it built, not the graph's adds)."""
    ids = {id(st.cotangent) for st in d.steps if isinstance(st.cotangent, MatAdd)}
    ids.update(id(g) for g in d.gradients if isinstance(g, MatAdd))
    return ids


def _closure(start: list[str], by_name: dict[str, Piece]) -> list[str]:
    """Pieces needed to read an expression, in dependency order."""
    need: set[str] = set()
    stack = [n for n in start if n in by_name]
    while stack:
        n = stack.pop()
        if n in need:
            continue
        need.add(n)
        stack.extend(s for s in _symbols_in(by_name[n].expr) if s in by_name and s not in need)
    return [p for p in by_name if p in need]


def _literal_owners(d: Derivation) -> dict[str, str]:
    owners: dict[str, str] = {}
    for name in d.graph.order:
        node = d.graph.nodes[name]
        for a in node.args:
            if d.graph.nodes[a].kind == "literal" and a not in owners:
                owners[a] = name.split("/")[0]
    return owners


def _seed_leaves(d: Derivation, ev: Evaluation) -> list[Leaf]:
    out = []
    for s, v in zip(d.seeds, ev.seeds):
        shape = d.shapes[s.y]
        where = f"ys[{s.index}] {s.y}" if len(d.seeds) > 1 else s.y
        gy = s.grad_y
        if gy is None:
            note = f"ones (no grad_ys entry): the seed of {where}"
            integral = True
        elif gy.value is not None:
            note = f"grad_ys[{s.index}]: the seed of {where}"
            integral = gy.value.integral
        else:
            note = f"grad_ys[{s.index}], the value of {gy.ref}: the seed of {where}"
            integral = _is_integral(v)
        out.append(Leaf(s.symbol.name, "seed", shape, np.asarray(v), integral, note))
    return out


def _leaves(d: Derivation, referenced: set[str]) -> list[Leaf]:
    owners = _literal_owners(d)
    out = []
    for sym, node_name in d.leaf_names.items():
        if sym not in referenced:
            continue
        node = d.graph.nodes[node_name]
        assert node.value is not None
        if node.kind == "literal":
            note = f"a literal in {owners.get(node_name, node_name.split('/')[0])}"
        else:
            note = node.kind
        out.append(Leaf(sym, node.kind, node.value.shape, node.value.array, node.value.integral,
                        note))
    return out


def _longest_path(d: Derivation) -> int:
    depth: dict[str, int] = {}
    for name in d.graph.order:
        node = d.graph.nodes[name]
        depth[name] = (1 + max((depth[a] for a in node.args), default=0)) if node.kind == "op" else 0
    return max(depth.values(), default=0)


def _element_form(d: Derivation, ev: Evaluation, chosen: list[int], entries: list[XEntry],
                  seeds: list[Leaf], forced: bool | None, notes: list[str]) -> dict[str, str]:
    """Fill ``entries[*].elements``; return the substitution values. On a
    size cut, leave them None and add a note."""
    sizes = {n: int(np.prod(s)) for n, s in d.shapes.items()}
    biggest = max(sizes, key=lambda n: sizes[n])
    cap = FORCED_MAX_ELEMENTS if forced else AUTO_MAX_ELEMENTS
    if sizes[biggest] > cap:
        shown = biggest.split("/")[0]
        if forced:
            notes.append(f"element form skipped: {shown} has {sizes[biggest]} elements "
                         f"(at most {cap} for explicit scalar formulas)")
        else:
            notes.append(f"element form off: {shown} has {sizes[biggest]} elements, more than "
                         f"{cap} (--elementwise forces it)")
        return {}
    path = _longest_path(d)
    if path > MAX_PATH:
        notes.append(f"element form {'skipped' if forced else 'off'}: the longest chain has "
                     f"{path} ops, more than {MAX_PATH} (the scalar formulas would be unreadable)")
        return {}

    env: dict[str, Any] = {}
    values: dict[str, str] = {}

    def bind(sym: str, shape: Shape, array: np.ndarray, integral: bool) -> ImmutableMatrix:
        r, c = to2(shape)
        a = np.asarray(array, dtype=np.float64).reshape(r, c)
        cells = []
        for i in range(r):
            for j in range(c):
                nm = element_name(sym, shape, i, j)
                cells.append(Symbol(nm, real=True))
                values[nm] = number_text(a[i, j], integral and _is_integral(a[i, j]))
        return ImmutableMatrix(r, c, cells)

    for sym, node_name in d.leaf_names.items():
        value = d.graph.nodes[node_name].value
        assert value is not None
        env[sym] = bind(sym, d.shapes[node_name], d.leaf_values[sym], value.integral)
    for s, leaf in zip(d.seeds, seeds):
        env[s.symbol.name] = bind(s.symbol.name, d.shapes[s.y], leaf.value, leaf.integral)
    # A node in stop_gradients is held constant: its elements stay symbols
    # (h, not the w*w it was computed from), as in the partial derivative.
    memo: dict[int, Any] = {}
    for ref in d.graph.stop_gradients:
        if d.graph.nodes[ref.name].kind == "op":
            v = ev.values[ref.name]
            memo[id(d.forward[ref.name])] = bind(ref.name, d.shapes[ref.name], v,
                                                 d.integral and _is_integral(v))

    walker = Evaluator(env, memo, compute=sympy_compute)
    results: list[tuple[XEntry, list[Element]]] = []
    try:
        for i, entry in zip(chosen, entries):
            grad = d.gradients[i]
            if grad is None:
                continue
            shape = entry.shape
            r, c = to2(shape)
            gm = walker.run(grad)
            if not isinstance(gm, MatrixBase):
                gm = ImmutableMatrix(r, c, [gm] * (r * c))
            elif gm.shape != (r, c):
                gm = _zip(lambda a, b: a, gm, ImmutableMatrix.zeros(r, c))
            value = np.asarray(entry.value, dtype=np.float64).reshape(r, c)
            elems = []
            for i2 in range(r):
                for j in range(c):
                    f = gm[i2, j]
                    size, depth = _tree_size(f)
                    cap = MAX_FORMULA_SIZE if forced else AUTO_MAX_FORMULA_SIZE
                    if size > cap or depth > MAX_FORMULA_DEPTH:
                        where = f"dL/d{entry.name}{_index_text(shape, i2, j)}"
                        notes.append(
                            f"element form off: the scalar formula of {where} has {size} "
                            f"nodes, more than {cap} (--elementwise forces it)" if not forced
                            else f"element form skipped: the scalar formula of {where} has "
                            f"{size} nodes, more than {cap}")
                        return {}
                    idx = () if len(shape) == 0 else ((j,) if len(shape) == 1 else (i2, j))
                    elems.append(Element(idx, f, float(value[i2, j])))
            results.append((entry, elems))
    except RecursionError:
        notes.append("element form skipped: the scalar formulas are nested too deeply")
        return {}
    for entry, elems in results:
        entry.elements = elems
    return values


def _index_text(shape: Shape, i: int, j: int) -> str:
    if len(shape) == 0:
        return ""
    if len(shape) == 1:
        return f"[{j}]"
    return f"[{i},{j}]"


# ---------------------------------------------------------------- the backward pass


def _d_name(node: str, taken: set[str]) -> str:
    base = f"d{node}" if "/" not in node else f"d({node})"
    name = base
    while name in taken:
        name = "d_" + name[1:] if not name.startswith("d_") else "d_" + name
    taken.add(name)
    return name


def _call_text(d: Derivation, node_name: str, lit_sym: dict[str, str]) -> str:
    node = d.graph.nodes[node_name]
    args = []
    for a in node.args:
        an = d.graph.nodes[a]
        if an.kind == "literal":
            if a in lit_sym:
                args.append(lit_sym[a])
            else:
                assert an.value is not None
                args.append(number_text(float(an.value.array), an.value.integral))
        else:
            args.append(a)
    spec = SPECS[node.op]
    for k, v in node.attrs.items():
        if k in spec.attrs and v == spec.attrs[k].default:
            continue
        txt = "true" if v is True else "false" if v is False else "null" if v is None else str(v)
        args.append(f"{k}={txt}")
    return f"{node.op}({', '.join(args)})"


def _steps(d: Derivation, ex: Explanation, taken_in: set[str]) -> None:
    g = d.graph
    taken = set(taken_in)
    lit_sym = {node: sym for sym, node in d.leaf_names.items()}
    # Forward values print by their graph names; ops written inside an
    # expression string (res2a/matmul_1) print as their expressions, which
    # read better than names with a slash in them.
    presets: dict[int, tuple[str, Shape2]] = {}
    for name in g.order:
        if g.nodes[name].kind == "op" and g.nodes[name].user:
            presets[id(d.forward[name])] = (name, d.shape2(name))
    seed_ids = {id(s.symbol) for s in d.seeds}
    d_names: dict[int, str] = {}
    d_of: dict[str, str] = {}  # node -> its d-name, for contributions

    def dname(node: str) -> str:
        if node not in d_of:
            d_of[node] = _d_name(node, taken)
        return d_of[node]

    totals = {x.name: grad for x, grad in zip(g.xs, d.gradients)}
    leaf_xs = [x for x in dict.fromkeys(x.name for x in g.xs) if g.nodes[x].kind != "op"]
    for st in d.steps:
        k = id(st.cotangent)
        if k not in seed_ids and k not in d_names and k not in presets:
            d_names[k] = dname(st.node)
    for x in leaf_xs:
        grad = totals[x]
        if grad is not None and id(grad) not in seed_ids and id(grad) not in d_names:
            if not isinstance(grad, ZeroMatrix):
                d_names[id(grad)] = dname(x)
    for k, nm in d_names.items():
        presets.setdefault(k, (nm, (1, 1)))
    # shapes of the d-names: the node's own
    shape_of = {nm: d.shape2(node) for node, nm in d_of.items()}
    for k, (nm, sh) in list(presets.items()):
        if nm in shape_of:
            presets[k] = (nm, shape_of[nm])

    builder = _Builder(presets, opaque=True, sums=_sum_ids(d), seeds=seed_ids)

    def root(obj: Basic, defining: str | None) -> _D:
        p = presets.get(id(obj))
        if p is not None and p[0] != defining:
            return builder.node(obj)
        return builder.expand(obj)

    pending: list[tuple[str, tuple[int, int], _D]] = []  # (what, where, display root)
    entries: list[StepEntry] = []
    number_of: dict[str, int] = {}
    for n, st in enumerate(d.steps, 1):
        number_of[st.node] = n
        k = id(st.cotangent)
        own = d_names.get(k) if d_names.get(k) == d_of.get(st.node) else None
        g_root = root(st.cotangent, own)
        pending.append(("g", (len(entries), 0), g_root))
        contribs = []
        for c in st.contributions:
            tgt = dname(c.arg)
            pending.append(("c", (len(entries), len(contribs)), root(c.expr, tgt)))
            summed = (d.shapes[st.node], d.shapes[c.arg]) if c.summed else None
            contribs.append(Contrib(_arg_label(d, c.arg, lit_sym), tgt, c.expr, summed))
        got = {c.arg for c in st.contributions}
        node = g.nodes[st.node]
        skipped = [] if st.stopped else [
            _arg_label(d, a, lit_sym) for a in dict.fromkeys(node.args) if a not in got]
        entries.append(StepEntry(n, st.node, st.op, _call_text(d, st.node, lit_sym), st.rule,
                                 own, st.cotangent, contribs, skipped, st.stopped))
    collected: list[Collected] = []
    for i, x in enumerate(g.xs):
        grad = d.gradients[i]
        if grad is None:
            collected.append(Collected(x.name, "none", None, None, None))
            continue
        if isinstance(grad, ZeroMatrix):  # unconnected_gradients: zero
            collected.append(Collected(x.name, "zero", None, grad, None))
            continue
        if g.nodes[x.name].kind == "op":
            collected.append(Collected(x.name, "connected", None, grad, number_of.get(x.name)))
            pending.append(("x", (len(collected) - 1, 0), builder.node(grad)))
            continue
        own = d_names.get(id(grad))
        collected.append(Collected(x.name, "connected", own, grad, None))
        pending.append(("x", (len(collected) - 1, 0), root(grad, own)))

    cutter = _Cutter(share=False, names=fresh_names("s", taken))
    cutter.run([r for _, _, r in pending])
    for what, idx, r in pending:
        body = cutter.body(r) if r.kind != "ref" else cutter.symbols[id(r)]
        if what == "g":
            entries[idx[0]].g_expr = body
        elif what == "c":
            entries[idx[0]].contributions[idx[1]].expr = body
        else:
            collected[idx[0]].expr = body
    ex.steps = entries
    ex.step_pieces = [p for p in cutter.pieces if p.kind != "forward"]
    ex.collected = collected
    ex.d_names = {nm: node for node, nm in d_of.items()}


def _arg_label(d: Derivation, a: str, lit_sym: dict[str, str]) -> str:
    node = d.graph.nodes[a]
    if node.kind == "literal":
        if a in lit_sym:
            return lit_sym[a]
        assert node.value is not None
        return number_text(float(node.value.array), node.value.integral)
    return a


# ================================================================ rendering


_RULE_ASCII = [("·", " @ "), ("∘", " * "), ("ᵀ", ".T"), ("⊘", " / "), ("−", "-"),
               ("≥", ">="), ("≤", "<="), ("ᵢ", "_i"), ("½", "0.5*"), ("^(", "**(")]


def _ascii(text: str) -> str:
    for a, b in _RULE_ASCII:
        text = text.replace(a, b)
    return text


class _Style:
    """Names and symbols of one output form."""

    def __init__(self, fmt: str, unicode: bool) -> None:
        self.fmt = fmt
        self.unicode = unicode
        self.latex = fmt == "latex"

    def partial(self, x: str) -> str:
        if self.latex:
            return r"\frac{\partial L}{\partial " + latex_name(x) + "}"
        return f"∂L/∂{x}" if self.unicode else f"dL/d{x}"

    def names(self, ex: Explanation) -> dict[str, str]:
        cached = getattr(self, "_names", None)
        if cached is not None and cached[0] is ex:
            return cached[1]
        out: dict[str, str] = {}
        self._names = (ex, out)
        for p in ex.pieces:
            if p.kind == "gradient":
                out[p.name] = self.partial(p.name[len("∂L/∂"):])
        for nm, node in ex.d_names.items():
            out[nm] = (r"\mathrm{d}" + latex_name(node)) if self.latex else nm
        return out

    def matrix(self, ex: Explanation):
        names = self.names(ex)
        if self.latex:
            p = MatrixLatexPrinter({"names": names})
        else:
            p = MatrixTextPrinter({"unicode": self.unicode, "names": names})
        return p.doprint

    def scalar(self, values: dict[str, str] | None = None):
        if self.latex:
            return ScalarLatexPrinter({"values": values}).doprint
        return ScalarTextPrinter({"unicode": self.unicode, "values": values}).doprint

    def name(self, n: str) -> str:
        return latex_name(n) if self.latex else n


def _value_inline(a: np.ndarray, integral: bool) -> str:
    """A value in the graph file's list syntax, on one line."""
    a = np.asarray(a)
    if a.ndim == 0:
        return number_text(float(a), integral)
    if a.ndim == 1:
        return "[" + ", ".join(number_text(v, integral) for v in a) + "]"
    return "[" + ", ".join(_value_inline(r, integral) for r in a) + "]"


def _value_lines(a: np.ndarray, integral: bool, width: int = 72) -> list[str]:
    """One line when it fits, else one row per line, columns aligned; a
    large tensor shows its corners, as ``run`` does."""
    a = np.asarray(a)
    if a.size > SUMMARY_THRESHOLD:
        return fmt_array(a, integral, None, EDGE_ITEMS)
    one = _value_inline(a, integral)
    if a.ndim < 2 or len(one) <= width or a.shape[0] == 1:
        return [one]
    return fmt_array(a, integral)


def _value_latex(a: np.ndarray, integral: bool) -> str:
    a = np.asarray(a)
    if a.ndim == 0:
        return number_latex(float(a), integral)
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
    body = r" \\ ".join(rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def _fmt_shape(shape: Shape) -> str:
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _objective(ex: Explanation, st: _Style) -> str:
    terms = []
    for s, y in zip(ex.seeds, ex.ys):
        one = int(np.prod(s.shape)) == 1
        if st.latex:
            gy = rf"{latex_name(s.name)} \cdot {latex_name(y)}" if one else \
                rf"\sum {latex_name(s.name)} \circ {latex_name(y)}"
        elif st.unicode:
            gy = f"{s.name}·{y}" if one else f"Σ({s.name} ∘ {y})"
        else:
            gy = f"{s.name} * {y}" if one else f"sum({s.name} * {y})"
        terms.append(gy)
    return " + ".join(terms)


def _element_lines(ex: Explanation, entry: XEntry, st: _Style) -> list[tuple[str, list[str]]]:
    """(left side, [formula, substituted, value]) per element, duplicates dropped."""
    assert entry.elements is not None
    matrix_text = st.matrix(ex)(entry.expr)
    formula = st.scalar()
    subst = st.scalar(ex.element_values)
    out = []
    for el in entry.elements:
        idx = "" if not el.index else "[" + ",".join(map(str, el.index)) + "]"
        left = (st.partial(entry.name + idx) if not st.latex
                else r"\frac{\partial L}{\partial " + latex_name(entry.name) + idx + "}")
        val = (number_latex if st.latex else number_text)(el.value, entry.integral)
        parts = [formula(el.formula), subst(el.formula), val]
        kept: list[str] = []
        for p in parts:
            if not kept or p != kept[-1]:
                kept.append(p)
        if len(entry.elements) == 1 and kept[0] == matrix_text:
            continue  # a single element written as the matrix form already is
        out.append((left, kept))
    return out


def _rule(rule: str, st: _Style) -> str:
    if st.latex:
        return _rule_latex(rule)
    return rule if st.unicode else _ascii(rule)


def _rule_latex(rule: str) -> str:
    words = re.compile(r"\b(?!log\b|sign\b)([a-z]{3,}(?:\s+[a-z]{2,})*)")
    out = words.sub(lambda mt: r"\text{ " + mt.group(1) + " }", rule)
    for a, b in [("·", r" \cdot "), ("∘", r" \circ "), ("ᵀ", r"^{\top}"), ("⊘", r" \oslash "),
                 ("−", "-"), ("≥", r" \geq "), ("≤", r" \leq "), ("ᵢ", "_i"),
                 ("½", r"\tfrac{1}{2}"), ("^(Y-1)", r"^{\circ (Y-1)}"), ("+=", r"\mathrel{+}="),
                 ("log(", r"\log("), ("sign(", r"\operatorname{sign}(")]:
        out = out.replace(a, b)
    return out


# ---------------------------------------------------------------- text


def render_text(ex: Explanation, ascii: bool = False) -> str:
    st = _Style("text", not ascii)
    mprint = st.matrix(ex)
    out: list[str] = []
    if ex.title:
        out.append(ex.title)
    u = st.unicode
    out.append(f"ys = {_names_list(ex.ys, u)} seeded with "
               f"{_names_list([s.name for s in ex.seeds], u)}, xs = {_names_list(ex.all_xs, u)}")
    d = "∂L/∂x" if st.unicode else "dL/dx"
    out.append(f"tf.gradients returns {d} for each x, where L = {_objective(ex, st)}")
    if ex.stop_gradients:
        out.append(f"stop_gradients = [{', '.join(ex.stop_gradients)}]: held constant "
                   "(partial derivatives: no gradient flows through them into their inputs)")
    for note in ex.notes:
        out.append(f"({note.replace('dL/d', '∂L/∂') if st.unicode else note})")

    for e in ex.entries:
        out.append("")
        left = st.partial(e.name)
        pad = " " * len(left)
        if e.status == "none":
            out.append(f"{left} = None   (no y depends on {e.name}: tf.gradients returns None)")
            continue
        expr = mprint(e.expr)
        if e.status == "zero":
            out.append(f"{left} = {expr}   ({e.name} is unconnected; unconnected_gradients: "
                       "zero asks for zeros)")
        else:
            out.append(f"{left} = {expr}")
        lines = _value_lines(e.value, e.integral)
        out.append(f"{pad} = {lines[0]}")
        out.extend(f"{pad}   {ln}" for ln in lines[1:])
        if e.elements is not None:
            for lhs, parts in _element_lines(ex, e, st):
                out.append(f"  {lhs} = " + " = ".join(parts))

    where = _where_rows(ex, st, mprint)
    if where:
        out.append("")
        out.append("where")
        width = min(36, max(len(r[0]) for r in where))
        for first, rest, note in where:
            out.append(f"  {first.ljust(width)}  {note}".rstrip())
            out.extend(f"  {ln}" for ln in rest)
    if ex.steps is not None:
        out.append("")
        out.extend(_steps_text(ex, st, mprint))
    return "\n".join(out) + "\n"


def _show_value(ex: Explanation, leaf: Leaf) -> bool:
    """Small values are shown; big ones only when the element form needs them."""
    return int(np.prod(leaf.shape)) <= AUTO_MAX_ELEMENTS or bool(ex.element_values)


def _names_list(names: list[str], unicode: bool, most: int = 12) -> str:
    if len(names) <= most:
        return "[" + ", ".join(names) + "]"
    dots = "…" if unicode else "..."
    return "[" + ", ".join(names[:most - 2]) + f", {dots} {names[-1]}] ({len(names)} names)"


def _where_rows(ex: Explanation, st: _Style, mprint) -> list[tuple[str, list[str], str]]:
    rows: list[tuple[str, list[str], str]] = []

    def value_row(name: str, a: np.ndarray, integral: bool, note: str) -> None:
        lines = _value_lines(a, integral)
        head = f"{name} = "
        rows.append((head + lines[0], [" " * len(head) + ln for ln in lines[1:]], note))

    for s in ex.seeds:
        value_row(s.name, s.value, s.integral, s.note)
    for leaf in ex.leaves:
        if _show_value(ex, leaf):
            value_row(leaf.name, leaf.value, leaf.integral, leaf.note)
        else:
            rows.append((leaf.name, [], f"{leaf.note}, {_fmt_shape(leaf.shape)}"))
    for p in ex.pieces:
        if p.kind == "gradient":
            continue  # written out as that x's gradient
        shape = _fmt_shape(p.shape)
        head = f"{p.name} = {mprint(p.expr)}"
        if p.kind == "forward":
            v, integral = ex.piece_values[p.name]
            note = f"forward value, {_fmt_shape(v.shape)}"
            rest = []
            if v.size <= AUTO_MAX_ELEMENTS:
                lines = _value_lines(v, integral)
                pad = " " * len(p.name)
                rest = [f"{pad} = {lines[0]}"] + [f"{pad}   {ln}" for ln in lines[1:]]
            rows.append((head, rest, note))
        else:
            why = f"used {p.uses} times" if p.kind == "shared" else "part of a deep expression"
            rows.append((head, [], f"{shape}, {why}"))
    return rows


def _steps_text(ex: Explanation, st: _Style, mprint) -> list[str]:
    assert ex.steps is not None
    out = ["backward pass, op by op, last op first (G: the gradient arriving at the op)"]
    inner = next((s for s in reversed(ex.steps) if "/" in s.node), None)
    if inner is not None:
        owner = inner.node.split("/")[0]
        out.append(f"  ({inner.node} is the {inner.op} written inside {owner}'s expression; "
                   "ops written inline are steps too)")
    width = len(str(len(ex.steps)))
    for s in ex.steps:
        ind = " " * (width + 4)
        out.append(f"  {str(s.number).rjust(width)}. {s.node} = {s.call}")
        out.append(f"{ind}rule: {_rule(s.rule, st)}")
        g = mprint(s.g_expr)
        out.append(f"{ind}G = {s.g_name} = {g}" if s.g_name else f"{ind}G = {g}")
        if s.stopped == "stop_gradients":
            out.append(f"{ind}{s.node} is in stop_gradients: held constant, nothing flows "
                       "on to its inputs")
        elif s.stopped:
            out.append(f"{ind}stop_gradient: no gradient flows on to its input")
        for c in s.contributions:
            line = f"{ind}{c.target} += {mprint(c.expr)}"
            if c.summed:
                arrow = "→" if st.unicode else "->"
                line += (f"   (broadcast {_fmt_shape(c.summed[0])} {arrow} "
                         f"{_fmt_shape(c.summed[1])} summed back)")
            out.append(line)
        if s.skipped:
            out.append(f"{ind}({', '.join(s.skipped)}: skipped, no x feeds "
                       f"{'it' if len(s.skipped) == 1 else 'them'})")
    out.append("at the xs")
    for c in ex.collected:
        left = st.partial(c.x)
        if c.status == "none":
            out.append(f"  {left} = None   (nothing arrived at {c.x}: unconnected)")
        elif c.status == "zero":
            out.append(f"  {left} = {mprint(c.expr)}   (nothing arrived at {c.x}: unconnected, "
                       "zeros asked for)")
        elif c.step is not None:
            out.append(f"  {left} = {mprint(c.expr)}   (the G of step {c.step})")
        elif c.g_name:
            out.append(f"  {left} = {c.g_name} = {mprint(c.expr)}")
        else:
            out.append(f"  {left} = {mprint(c.expr)}")
    if ex.step_pieces:
        out.append("where")
        for p in ex.step_pieces:
            out.append(f"  {p.name} = {mprint(p.expr)}")
    return out


# ---------------------------------------------------------------- LaTeX


def render_latex(ex: Explanation) -> str:
    """A document fragment (needs ``\\usepackage{amsmath}``)."""
    st = _Style("latex", True)
    mprint = st.matrix(ex)
    out = [r"% tfgrad explain; needs \usepackage{amsmath}",
           r"\begingroup\allowdisplaybreaks"]
    if ex.title:
        out.append(r"\noindent\textbf{" + latex_escape(ex.title) + r"}\par")
    ys = ", ".join(latex_name(y) for y in ex.ys)
    xs = ", ".join(latex_name(x) for x in ex.all_xs)
    out.append(r"\noindent $\mathit{ys} = [" + ys + r"]$, $\mathit{xs} = [" + xs + r"]$; "
               r"\texttt{tf.gradients} returns $\partial L / \partial x$ for each $x$, where")
    out.append(r"\[ L = " + _objective(ex, st) + r" \]")
    if ex.stop_gradients:
        names = ", ".join(latex_name(s) for s in ex.stop_gradients)
        out.append(r"\noindent \texttt{stop\_gradients} $= [" + names + r"]$ are held constant "
                   r"(partial derivatives).\par")
    for note in ex.notes:
        out.append(r"\noindent (" + latex_escape(note.replace("∂L/∂", "dL/d")) + r")\par")
    rows: list[str] = []
    for e in ex.entries:
        left = st.partial(e.name)
        if e.status == "none":
            rows.append(left + r" &= \text{None} && \text{no $y$ depends on $"
                        + latex_name(e.name) + r"$}")
            continue
        rows.append(f"{left} &= {mprint(e.expr)}")
        rows.append(f"&= {_value_latex(e.value, e.integral)}")
        if e.elements is not None:
            for lhs, parts in _element_lines(ex, e, st):
                rows.append(f"{lhs} &= " + " = ".join(parts))
    if rows:
        out.append(r"\begin{align*}")
        out.append(" \\\\\n".join(rows))
        out.append(r"\end{align*}")
    where = []
    for s in ex.seeds + ex.leaves:
        if s.kind != "seed" and not _show_value(ex, s):
            where.append(f"{latex_name(s.name)} && " r"\text{" + latex_escape(s.note) + ", "
                         + _fmt_shape(s.shape) + "}")
            continue
        where.append(f"{latex_name(s.name)} &= {_value_latex(s.value, s.integral)} && "
                     r"\text{" + latex_escape(s.note) + "}")
    for p in ex.pieces:
        if p.kind == "gradient":
            continue
        line = f"{latex_name(p.name)} &= {mprint(p.expr)}"
        if p.kind == "forward":
            v, integral = ex.piece_values[p.name]
            if v.size <= AUTO_MAX_ELEMENTS:
                line += f" = {_value_latex(v, integral)}"
            line += r" && \text{forward value}"
        else:
            line += r" && \text{" + (f"used {p.uses} times" if p.kind == "shared"
                                     else "part of a deep expression") + "}"
        where.append(line)
    if where:
        out.append(r"\noindent where")
        out.append(r"\begin{align*}")
        out.append(" \\\\\n".join(where))
        out.append(r"\end{align*}")
    if ex.steps is not None:
        out.extend(_steps_latex(ex, st, mprint))
    out.append(r"\endgroup")
    return "\n".join(out) + "\n"


def _steps_latex(ex: Explanation, st: _Style, mprint) -> list[str]:
    assert ex.steps is not None
    out = [r"\noindent\textbf{Backward pass}, op by op in reverse topological order "
           r"($G$ is the gradient arriving).\par"]
    rows = []
    for s in ex.steps:
        call = latex_escape(s.call)
        rows.append(rf"&\text{{{s.number}. }} {latex_name(s.node)} = \texttt{{{call}}} "
                    rf"&& {_rule_latex(s.rule)}")
        g = mprint(s.g_expr)
        if s.g_name:
            rows.append(rf"&\quad G = {st.names(ex).get(s.g_name, s.g_name)} = {g}")
        else:
            rows.append(rf"&\quad G = {g}")
        if s.stopped == "stop_gradients":
            rows.append(r"&\quad \text{in stop\_gradients: held constant, nothing flows on}")
        elif s.stopped:
            rows.append(r"&\quad \text{stop\_gradient: no gradient flows to its input}")
        for c in s.contributions:
            tgt = st.names(ex).get(c.target, c.target)
            line = rf"&\quad {tgt} \mathrel{{+}}= {mprint(c.expr)}"
            if c.summed:
                line += (r" && \text{broadcast " + _fmt_shape(c.summed[0]) + r" $\to$ "
                         + _fmt_shape(c.summed[1]) + " summed back}")
            rows.append(line)
        for a in s.skipped:
            rows.append(r"&\quad \text{" + latex_escape(a) + ": skipped, no $x$ feeds it}")
    rows.append(r"&\text{at the xs:}")
    for c in ex.collected:
        left = st.partial(c.x)
        if c.status == "none":
            rows.append(rf"&{left} = \text{{None}} && \text{{unconnected}}")
        elif c.status == "zero":
            rows.append(rf"&{left} = {mprint(c.expr)} && \text{{unconnected, zeros}}")
        else:
            rows.append(rf"&{left} = {mprint(c.expr)}")
    for p in ex.step_pieces:
        rows.append(rf"&{latex_name(p.name)} = {mprint(p.expr)}")
    out.append(r"\begin{align*}")
    out.append(" \\\\\n".join(rows))
    out.append(r"\end{align*}")
    return out


# ---------------------------------------------------------------- JSON


def _nested(a: np.ndarray | None, integral: bool) -> Any:
    from .render import to_nested

    return None if a is None else to_nested(np.asarray(a, dtype=np.float64), integral)


def render_json(ex: Explanation, ascii: bool = False) -> str:
    st = _Style("text", not ascii)
    mprint = st.matrix(ex)
    pieces = {p.name: p for p in ex.pieces}
    xs = []
    for e in ex.entries:
        item: dict[str, Any] = {
            "name": e.name,
            "shape": list(e.shape),
            "status": e.status,
            "matrix": None if e.expr is None else mprint(e.expr),
            "value": _nested(e.value, e.integral),
            "definitions": {st.names(ex).get(n, n): mprint(pieces[n].expr) for n in e.needs},
            "elements": None,
        }
        if e.elements is not None:
            formula = st.scalar()
            subst = st.scalar(ex.element_values)
            item["elements"] = [
                {"index": list(el.index), "formula": formula(el.formula),
                 "substituted": subst(el.formula),
                 "value": _nested(np.float64(el.value), e.integral)}
                for el in e.elements
            ]
        xs.append(item)
    doc: dict[str, Any] = {
        "name": ex.title,
        "objective": "L = " + _objective(ex, st),
        "ys": ex.ys,
        "seeds": [{"name": s.name, "y": y, "shape": list(s.shape), "note": s.note,
                   "value": _nested(s.value, s.integral)} for s, y in zip(ex.seeds, ex.ys)],
        "symbols": [{"name": s.name, "kind": s.kind, "shape": list(s.shape), "note": s.note,
                     "value": _nested(s.value, s.integral)} for s in ex.leaves],
        "definitions": [
            {"name": st.names(ex).get(p.name, p.name), "kind": p.kind, "shape": list(p.shape),
             "expr": mprint(p.expr),
             **({"value": _nested(*ex.piece_values[p.name])} if p.kind == "forward" else {})}
            for p in ex.pieces
        ],
        "stop_gradients": ex.stop_gradients,
        "unconnected_gradients": ex.unconnected,
        "xs": xs,
        "notes": ex.notes,
    }
    if ex.steps is not None:
        doc["steps"] = [
            {"step": s.number, "node": s.node, "op": s.op, "call": s.call,
             "rule": _rule(s.rule, st), "cotangent_name": s.g_name,
             "cotangent": mprint(s.g_expr), "stopped": s.stopped,
             "contributions": [{"arg": c.arg, "to": c.target, "expr": mprint(c.expr),
                                "summed": None if c.summed is None else
                                {"from": list(c.summed[0]), "to": list(c.summed[1])}}
                               for c in s.contributions],
             "skipped": s.skipped}
            for s in ex.steps
        ]
        doc["collected"] = [
            {"x": c.x, "status": c.status, "name": c.g_name, "step": c.step,
             "expr": None if c.expr is None else mprint(c.expr)} for c in ex.collected
        ]
        doc["step_definitions"] = {p.name: mprint(p.expr) for p in ex.step_pieces}
    return json.dumps(doc, ensure_ascii=False, allow_nan=False)
