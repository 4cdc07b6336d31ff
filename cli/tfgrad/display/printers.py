"""Expression nodes -> readable formulas, through SymPy's printer protocol.

``TensorText`` (a ``StrPrinter``) and ``TensorLatex`` (a ``LatexPrinter``)
have a ``_print_<Node>`` method per node type of ``tensor.py`` (the node
types import no printer). Two notations:

- **matrix** (every tensor of the formula has rank <= 2): ``A·Bᵀ`` matrix
  product, ``∘``/``⊘`` elementwise product/division, ``ᵀ``, ``𝟙``/``𝟎``
  tensors of ones/zeros (shape from context), sums as ``𝟙ᵀ·X``/``X·𝟙``,
  broadcasting as products with ``𝟙``;
- **index** (above rank 2, or a contraction with no matrix form): the
  formula of one element, ``∂L/∂W[i,j,k] = Σₗ X[i,l,j]·G[i,l,k]``.

Elementwise functions print from their ``funcs.FUNCS`` templates (``text``,
``latex``, ``prec``); TF's gradient kernels that have no readable template
(``sqrt_grad(y, G)``) print from their SymPy scalar form (``½·G⊘y``) and
record a note where TF's kernel departs from the formula. Movement and
kernel nodes print from ``moves.MOVES`` templates, except the structural
ones of ``tensor.py`` (broadcast, transpose, size-1 reshapes), which have a
notation of their own.

Printing is shallow by contract: nodes in ``names`` (id -> name) print as
their name, so callers name shared and deep pieces first.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from sympy import Add, Integer, Mul, Number, Piecewise, Pow, Rational, Symbol
from sympy.core.relational import Relational
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from ..funcs import FUNCS
from ..moves import MOVES
from ..tensor import Contract, Ew, Fill, Kernel, Move, Node, Reduce, Tensor, fill
from .common import latex_escape, latex_name, number_latex, number_text, to_ascii
from .contract import matrix_form

SUM, ADD, NEG, PROD, POW, ATOM = 9, 10, 15, 20, 40, 100

INDEX_POOL = "ijklmnprstuvaehox" + "bcdfgqwyz"
_SUB = dict(zip("aehijklmnoprstuvx", "ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_ASSOCIATIVE = {"add", "multiply", "mm", "had"}
_ENCLOSE_BEFORE = ("(", "[", "|", ",", "^{", "_{", "sqrt{", "frac{", "}{", r"\left(", r"\left|")
_ENCLOSE_AFTER = (")", "]", "|", ",", "}", r"\right")


def index_letters(count: int, reserved: set[str] | frozenset = frozenset()) -> tuple[str, ...]:
    """The first ``count`` index letters of ``INDEX_POOL`` that are not in
    ``reserved`` (the names a formula prints: a node named ``k`` must not
    also be an index), then ``i1``, ``i2``... if the pool runs out."""
    out: list[str] = []
    for ch in INDEX_POOL:
        if len(out) == count:
            return tuple(out)
        if ch not in reserved:
            out.append(ch)
    k = 0
    while len(out) < count:
        k += 1
        if f"i{k}" not in reserved:
            out.append(f"i{k}")
    return tuple(out)


def _fields(template: str) -> list[tuple[str, str | None]]:
    """(literal text before, field) pairs; the last has field None."""
    out: list[tuple[str, str | None]] = []
    lit = ""
    for text, field, _, _ in string.Formatter().parse(template):
        lit += text
        if field is not None:
            out.append((lit, field))
            lit = ""
    out.append((lit, None))
    return out


def is_transparent(n: Node) -> bool:
    """Nodes shown as their operand: identity, and reshapes of one element."""
    t = type(n)
    if t is Ew:
        return n.fn == "identity"
    if t is Move and n.kind == "reshape":
        return n.size <= 1
    return False


def see_through(n: Node) -> Node:
    while is_transparent(n):
        n = n._args[0]
    return n


def kernel_form(fn: str) -> bool:
    """Printed from the scalar form: a TF kernel with no readable template."""
    f = FUNCS[fn]
    return fn.endswith("_grad") and f.text.startswith(fn + "(")


def _squeezed(shape: tuple) -> tuple:
    return tuple(d for d in shape if d != 1)


def node_matrix_ok(n: Node) -> bool:
    """Whether ``n`` itself has a matrix-notation form (its operands aside)."""
    if n.rank > 2 or any(a.rank > 2 for a in n._args):
        return False
    if type(n) is Contract:
        return matrix_form(n.spec, tuple(a.rank for a in n._args)) is not None
    return True


def formula_notation(root: Node, names: dict[int, str]) -> str:
    """``matrix`` when every node of the formula (named pieces are leaves) has
    a matrix form, else ``index``."""
    stack = [root]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n.rank > 2:
            return "index"
        if n is not root and id(n) in names:
            continue
        if not node_matrix_ok(n):
            return "index"
        stack.extend(n._args)
    return "matrix"


class _TensorMixin:
    """Shared by the text and LaTeX printers; ``style`` is text, ascii or latex."""

    style = "text"

    def _setup(self, settings: dict) -> None:
        self.names: dict[int, str] = settings.get("names") or {}
        self.notation: str = settings.get("notation") or "matrix"
        self.root: Node | None = None
        self.sums: set[int] = settings.get("sums") or set()
        self.seeds: set[int] = settings.get("seeds") or set()
        self.idx: tuple[str, ...] = ()
        self.used_letters: set[str] = set()
        # names the formula may print: never used as index letters
        self.reserved: set[str] = set(settings.get("reserved") or ())
        self.notes: dict[str, str] = settings.get("notes_out") if settings.get("notes_out") is not None else {}
        self._prec = ATOM
        self._kind = "atom"

    # -- entry points ---------------------------------------------------------
    def formula(self, node: Node, idx: tuple[str, ...] = ()) -> str:
        """``node`` written out (even if it is itself named); in index
        notation, its element at ``idx``."""
        self.root = node
        self.idx = tuple(idx)
        self.used_letters = set(idx)
        return self._print(node)

    def _print(self, expr: Any, **kw) -> str:
        if isinstance(expr, Node):
            if expr is not self.root:
                nm = self.names.get(id(expr))
                if nm is not None:
                    if not isinstance(nm, str):  # a scalar literal: its number
                        s = self.number(nm)
                        return self._done(s, NEG if s.startswith("-") else ATOM, "atom")
                    self._prec, self._kind = ATOM, "atom"
                    return self.name_at(nm, expr.shape)
            if is_transparent(expr) and expr is not self.root or (
                    expr is self.root and is_transparent(expr)):
                inner = expr._args[0]
                return self._moved(inner, self._reshape_idx(expr, inner))
        return super()._print(expr, **kw)

    # -- helpers ---------------------------------------------------------------
    def name(self, nm: str) -> str:
        return latex_name(nm) if self.style == "latex" else nm

    def name_at(self, nm: str, shape: tuple) -> str:
        if self.notation != "index" or _size(shape) == 1 or not shape:
            return self.name(nm)
        return self.name(nm) + "[" + ",".join(self.idx) + "]"

    def paren(self, s: str) -> str:
        return rf"\left({s}\right)" if self.style == "latex" else f"({s})"

    def child(self, n: Node, prec: int, kind: str = "", first: bool = True,
              enclosed: bool = False) -> str:
        s = self._print(n)
        cp, ck = self._prec, self._kind
        if not enclosed and (cp < prec or (cp == prec and prec < ATOM and (
                (ck != kind and prec == PROD) or (not first and kind not in _ASSOCIATIVE)))):
            s = self.paren(s)
        return s

    def _moved(self, n: Node, idx: tuple[str, ...] | None) -> str:
        """``n`` printed at other indices (index notation)."""
        saved = self.idx
        if idx is not None:
            self.idx = idx
        try:
            return self._print(n)
        finally:
            self.idx = saved

    def _reshape_idx(self, outer: Node, inner: Node) -> tuple[str, ...] | None:
        if self.notation != "index":
            return None
        return _squeeze_map(outer.shape, inner.shape, self.idx)

    def fresh(self) -> str:
        for ch in INDEX_POOL:
            if ch not in self.used_letters and ch not in self.reserved:
                self.used_letters.add(ch)
                return ch
        k = 0
        while f"i{k}" in self.used_letters or f"i{k}" in self.reserved:
            k += 1
        self.used_letters.add(f"i{k}")
        return f"i{k}"

    def transposed(self, x: Node) -> str:
        """``xᵀ``; the transpose of an (unnamed) inverse as ``A⁻ᵀ``."""
        if type(x) is Kernel and x.kind in _INVERSES and self.style != "ascii" \
                and id(x) not in self.names:
            a = self.child(x._args[0], POW, "T")
            if self.style == "latex":
                mark = r"-\top" if x.kind == "matrix_inverse" else "-1"
                return self._done(f"{{{a}^{{{mark}}}}}", POW, "T")
            return self._done(a + ("⁻ᵀ" if x.kind == "matrix_inverse" else "⁻¹"), POW, "T")
        return self._done(self.child(x, POW, "T") + self.sym("T"), POW, "T")

    def _done(self, s: str, prec: int, kind: str) -> str:
        self._prec, self._kind = prec, kind
        return s

    # symbols of the style
    def sym(self, what: str, shape: tuple = ()) -> str:
        st = self.style
        if what == "mm":
            return {"text": "·", "ascii": " @ ", "latex": r" \cdot "}[st]
        if what == "scale":
            return {"text": "·", "ascii": " * ", "latex": r" \, "}[st]
        if what == "T":
            return {"text": "ᵀ", "ascii": ".T", "latex": r"^{\top}"}[st]
        if what in ("ones", "zeros"):
            if st == "latex":
                return r"\mathbf{1}" if what == "ones" else r"\mathbf{0}"
            if st == "ascii":
                return f"{what}({','.join(str(d) for d in shape)})"
            return "𝟙" if what == "ones" else "𝟎"
        if what == "minus":
            return {"text": " − ", "ascii": " - ", "latex": " - "}[st]
        if what == "plus":
            return " + "
        raise KeyError(what)

    def number(self, v: Any) -> str:
        if isinstance(v, Rational) and not isinstance(v, Integer):
            if self.style == "latex":
                return rf"\tfrac{{{v.p}}}{{{v.q}}}"
            if v == Rational(1, 2) and self.style == "text":
                return "½"
            return f"{v.p}/{v.q}"
        f = float(v)
        return number_latex(f) if self.style == "latex" else number_text(f)

    def sigma(self, letters: list[str], body: str, bounds: dict[str, int] | None = None) -> str:
        if bounds:
            # a letter that indexes nothing bare shows its range: Σ_{p<3,q<3}
            sub = ",".join(f"{ch}<{bounds[ch]}" if ch in bounds else ch for ch in letters)
            head = {"latex": r"\sum_", "ascii": "sum_", "text": "Σ_"}[self.style]
            return f"{head}{{{sub}}} {body}"
        if self.style == "latex":
            return rf"\sum_{{{','.join(letters)}}} {body}"
        if self.style == "ascii":
            return f"sum_{{{','.join(letters)}}} {body}" if len(letters) > 1 else f"sum_{letters[0]} {body}"
        if all(ch in _SUB for ch in letters):
            return "Σ" + "".join(_SUB[ch] for ch in letters) + " " + body
        return "Σ_{" + ",".join(letters) + "} " + body

    def template(self, fn_or_prim: Any) -> str:
        t = fn_or_prim.latex if self.style == "latex" else fn_or_prim.text
        if self.style == "ascii":
            for a, b in _ASCII_TEMPLATES:
                t = t.replace(a, b)
            t = to_ascii(t)
        return t

    # -- node types --------------------------------------------------------------
    def _print_Tensor(self, n: Tensor, **kw) -> str:
        return self._done(self.name_at(n.name, n.shape), ATOM, "atom")

    def _print_Fill(self, n: Fill, **kw) -> str:
        v = n.value
        if self.notation == "index" or n.rank == 0:
            s = self.number(v)
            return self._done(s, NEG if str(s).startswith("-") else ATOM, "atom")
        if v == 1:
            return self._done(self.sym("ones", n.shape), ATOM, "atom")
        if v == 0:
            return self._done(self.sym("zeros", n.shape), ATOM, "atom")
        s = self.number(v)
        return self._done(s + self.sym("scale") + self.sym("ones", n.shape), PROD, "scale")

    def _print_Ew(self, n: Ew, **kw) -> str:
        fn = n.fn
        f = FUNCS[fn]
        args = n._args
        if fn == "add":
            parts = []
            if id(n) in self.sums:
                # the sweep's sum of cotangent parts: seeds first, then the
                # parts in the graph's order (the sweep appends last use first)
                seeds = [a for a in args if id(a) in self.seeds]
                args = tuple(seeds + [a for a in args if id(a) not in self.seeds][::-1])
            for k, a in enumerate(args):
                a2 = see_through(a)
                if k and type(a2) is Ew and a2.fn == "negative" and id(a2) not in self.names:
                    parts.append(self.sym("minus") + self.child(a2._args[0], ADD, "add", False))
                else:
                    parts.append(("" if not k else self.sym("plus")) + self.child(a, ADD, "add", k == 0))
            return self._done("".join(parts), ADD, "add")
        if fn == "multiply" and all(a.rank == 0 for a in args):
            return self._done(self.sym("scale").join(self.child(a, PROD, "scale", k == 0)
                                                     for k, a in enumerate(args)), PROD, "scale")
        if fn == "multiply" and self.notation == "matrix":
            fills = [k for k, a in enumerate(args) if fill_of(a) is not None]
            scal = [k for k, a in enumerate(args) if _scalar_broadcast(a, self.names)]
            if len(scal) == 1 and not fills and args[1 - scal[0]].rank:
                # a number times a tensor (det's gradient: det(A)·A⁻ᵀ), not s·𝟙∘B
                k = scal[0]
                c = self.child(see_through(args[k])._args[0], PROD, "scale")
                return self._done(c + self.sym("scale") + self.child(args[1 - k], PROD, "scale", False),
                                  PROD, "scale")
            if len(fills) == 1:
                other = args[1 - fills[0]]
                v = fill_of(args[fills[0]]).value
                if v == 1:
                    s = self._print(other)
                    return s
                c = self.number(v)
                return self._done(c + self.sym("scale") + self.child(other, PROD, "scale"), PROD, "scale")
        if self.notation == "index" and fn in ("multiply", "divide") and len(args) == 2:
            # elements are numbers: a product is ·, a quotient /
            op = {"multiply": {"text": "·", "ascii": " * ", "latex": r" \cdot "},
                  "divide": {"text": "/", "ascii": " / ", "latex": " / "}}[fn][self.style]
            left = self.child(args[0], PROD, "mm")
            right = self.child(args[1], PROD + (1 if fn == "divide" else 0), "mm", fn == "multiply")
            return self._done(left + op + right, PROD, "mm" if fn == "multiply" else "div")
        if fn == "negative":
            s = self._print(args[0])
            if self._prec == PROD:  # −A·B, as written by hand (a parent product adds parentheses)
                return self._done("-" + s, NEG, "neg")
        if kernel_form(fn):
            return self._kernel(n)
        if fn in _COMPARISONS and self.notation == "matrix":
            # a tensor compared with a number: x > 0, not x > 0·𝟙 (the other
            # operand gives the shape; both numbers keep the broadcast)
            bare = [_bare_scalar(a, self.names) for a in args]
            if sum(b is not None for b in bare) == 1:
                args = tuple(a if b is None else b for a, b in zip(args, bare))
        return self._fill_template(self.template(f), args, f.prec, fn, n.attrs)

    def _fill_template(self, template: str, args: tuple, prec: int, kind: str,
                       attrs: tuple = (), attr_text: str = "", kw_text: str = "") -> str:
        fields = _fields(template)
        out = []
        for k, (lit, field) in enumerate(fields):
            out.append(lit)
            if field is None:
                continue
            if field == "args":
                out.append(", ".join(self.child(a, ATOM, enclosed=True) for a in args))
                continue
            if field == "attrs":
                out.append(attr_text)
                continue
            if field == "kwargs":
                out.append(kw_text)
                continue
            i = int(field)
            after = fields[k + 1][0] if k + 1 < len(fields) else ""
            if not after and k + 1 < len(fields) and fields[k + 1][1] == "kwargs":
                after = ","  # {0}{kwargs}: the keywords start with ", " (or the call ends)
            enclosed = lit.rstrip().endswith(_ENCLOSE_BEFORE) and after.lstrip().startswith(_ENCLOSE_AFTER)
            out.append(self.child(args[i], prec, kind, i == 0, enclosed))
        whole = "".join(out)
        p = ATOM if (_call_like(template)) else prec
        return self._done(whole, p, kind)

    # a TF kernel printed as its formula, from its SymPy scalar form
    def _kernel(self, n: Ew) -> str:
        f = FUNCS[n.fn]
        # an operand of ones (a kernel's factor, G = 1) is the number 1 in the formula
        syms = [Integer(1) if fill_of(a) is not None and fill_of(a).value == 1 and id(a) not in self.names
                else Symbol(f"_op{k}") for k, a in enumerate(n._args)]
        expr = f.scalar(*syms, *n.attrs)
        expr, dropped = _main_branch(expr)
        if dropped:
            self.notes[n.fn] = f.doc
        ops = {s.name: a for s, a in zip(syms, n._args) if isinstance(s, Symbol)}
        return _ScalarAsTensor(self, ops, n.shape).show(expr)

    def _print_Contract(self, n: Contract, **kw) -> str:
        args = n._args
        if self.notation == "matrix":
            recipe = matrix_form(n.spec, tuple(a.rank for a in args))
            if recipe is not None:
                return self._recipe(recipe, args, n)
            return self._einsum(n)
        ins, out = n.subscripts
        letter = dict(zip(out, self.idx))
        summed = []
        for s in ins:
            for ch in s:
                if ch not in letter:
                    letter[ch] = self.fresh()
                    summed.append(letter[ch])
        factors = []
        for s, a in zip(ins, args):
            factors.append(self._moved_child(a, tuple(letter[ch] for ch in s), PROD, "mm"))
        body = self.sym("mm").join(factors) if self.style != "ascii" else " * ".join(factors)
        if self.style == "text":
            body = "·".join(factors)
        if not summed:
            return self._done(body, PROD, "mm")
        return self._done(self.sigma(summed, body), SUM, "sum")

    def _moved_child(self, a: Node, idx: tuple, prec: int, kind: str) -> str:
        saved = self.idx
        self.idx = idx
        try:
            return self.child(a, prec, kind)
        finally:
            self.idx = saved

    def _einsum(self, n: Contract) -> str:
        ops = ", ".join(self.child(a, ATOM, enclosed=True) for a in n._args)
        if self.style == "latex":
            return self._done(rf"\operatorname{{einsum}}(\texttt{{{n.spec}}}, {ops})", ATOM, "call")
        return self._done(f"einsum('{n.spec}', {ops})", ATOM, "call")

    def _recipe(self, recipe: tuple, args: tuple, n: Node) -> str:
        kind = recipe[0]
        T = self.sym("T")
        if kind == "id":
            return self._print(args[0])
        if kind == "T":
            return self.transposed(args[0])
        if kind == "diagmul":
            _, kv, km, left, scalars = recipe
            nums = [self.child(args[k], PROD, "scale") for k in scalars]
            v = self.child(args[kv], ATOM, enclosed=True)
            d = (rf"\operatorname{{diag}}\left({v}\right)" if self.style == "latex" else f"diag({v})")
            m = args[km]
            if type(m) is Tensor and m.kind == "identity":
                body = d  # diag(a)·I
            else:
                mm = self.sym("mm")
                ms = self.child(m, PROD, "mm", not left)
                body = d + mm + ms if left else ms + mm + d
            if nums:
                return self._done(self.sym("scale").join(nums) + self.sym("scale") + body, PROD, "mm")
            return self._done(body, ATOM if body == d else PROD, "call" if body == d else "mm")
        if kind in ("trace", "diag"):
            s = self.child(args[0], ATOM, enclosed=True)
            op = r"\operatorname{tr}" if kind == "trace" and self.style == "latex" else (
                r"\operatorname{diag}" if self.style == "latex" else ("tr" if kind == "trace" else "diag"))
            return self._done(f"{op}({s})" if self.style != "latex" else rf"{op}\left({s}\right)",
                              ATOM, "call")
        if kind == "sum":
            _, k, left, right = recipe
            x = args[k]
            return self._sum_ones(x, left, right)
        if kind == "had":
            had = {"text": "∘", "ascii": " * ", "latex": r" \circ "}[self.style]
            parts = []
            for j, (k, t) in enumerate(recipe[1]):
                parts.append(self.transposed(args[k]) if t else self.child(args[k], PROD, "had", j == 0))
            return self._done(had.join(parts), PROD, "had")
        _, chain, scalars = recipe
        parts = [self.child(args[k], PROD, "scale") for k in scalars]
        mm = []
        for j, (k, t) in enumerate(chain):
            if t:
                mm.append(self.transposed(args[k]))
            else:
                mm.append(self.child(args[k], PROD, "mm", j == 0))
        if parts and mm:
            return self._done(self.sym("scale").join(parts) + self.sym("scale") + self.sym("mm").join(mm),
                              PROD, "mm")
        if parts:
            return self._done(self.sym("scale").join(parts), PROD, "scale")
        if len(mm) == 1:
            return self._done(mm[0], self._prec, self._kind)
        return self._done(self.sym("mm").join(mm), PROD, "mm")

    def _sum_ones(self, x: Node, left: bool, right: bool) -> str:
        ones = self.sym("ones", (x.shape[0],) if x.rank else ())
        ones_r = self.sym("ones", (x.shape[-1],) if x.rank else ())
        s = self.child(x, PROD, "mm", not left)
        T = self.sym("T")
        if left:
            s = ones + T + self.sym("mm") + s
        if right:
            s = s + self.sym("mm") + ones_r
        return self._done(s, PROD, "mm")

    def _print_Reduce(self, n: Reduce, **kw) -> str:
        x = n._args[0]
        if self.notation == "matrix" and n.kind == "sum":
            if x.rank == 1:
                return self._sum_ones(x, True, False)
            if x.rank == 2:
                return self._sum_ones(x, 0 in n.axes, 1 in n.axes)
        if self.notation == "index":
            kept = iter(self.idx)
            letters = []
            idx = []
            for a in range(x.rank):
                if a in n.axes:
                    ch = self.fresh()
                    letters.append(ch)
                    idx.append(ch)
                else:
                    idx.append(next(kept))
            body = self._moved_child(x, tuple(idx), PROD if n.kind == "sum" else ATOM, "sum")
            if n.kind == "sum":
                return self._done(self.sigma(letters, body), SUM, "sum")
            op = {"prod": "∏"}.get(n.kind, n.kind) if self.style == "text" else n.kind
            if self.style == "latex":
                op = {"prod": r"\prod", "max": r"\max", "min": r"\min"}.get(
                    n.kind, rf"\operatorname{{{n.kind}}}")
                return self._done(rf"{op}_{{{','.join(letters)}}} {body}", SUM, "sum")
            sub = "".join(_SUB.get(ch, "_" + ch) for ch in letters) if self.style == "text" \
                else "_" + ",".join(letters)
            return self._done(f"{op}{sub} {body}", SUM, "sum")
        s = self.child(x, ATOM, enclosed=True)
        axes = n.axes[0] if len(n.axes) == 1 else n.axes
        if self.style == "latex":
            return self._done(rf"\operatorname{{{n.kind}}}_{{{axes}}}\left({s}\right)", ATOM, "call")
        return self._done(f"reduce_{n.kind}({s}, axis={axes})" if len(n.axes) < x.rank
                          else f"reduce_{n.kind}({s})", ATOM, "call")

    def _print_Move(self, n: Move, **kw) -> str:
        x = n._args[0] if n._args else None
        kind = n.kind
        if kind == "broadcast":
            if self.notation == "index":
                return self._moved(x, _broadcast_idx(x.shape, n.shape, self.idx))
            return self._broadcast_matrix(x, n.shape)
        if kind == "transpose" and self.notation == "index":
            perm = n.attrs[0]
            idx = [""] * len(perm)
            for i, p in enumerate(perm):
                idx[p] = self.idx[i]
            return self._moved(x, tuple(idx))
        if kind == "transpose" and n.rank == 2:
            return self.transposed(x)
        if kind == "reshape" and _squeezed(n.shape) == _squeezed(x.shape):
            if self.notation == "index":
                return self._moved(x, _squeeze_map(n.shape, x.shape, self.idx))
            # a vector written as a row or column, or a matrix as a vector
            row_in = x.rank == 2 and x.shape[0] == 1 and x.shape[1] != 1
            row_out = n.rank == 2 and n.shape[0] == 1 and n.shape[1] != 1
            if row_in != row_out:
                return self._done(self.child(x, POW, "T") + self.sym("T"), POW, "T")
            return self._print(x)
        return self._prim(n)

    _print_Kernel = _print_Move

    def _prim(self, n: Node) -> str:
        if self.notation == "index" and n.kind in _WINDOWED and n.size > 1:
            return getattr(self, "_idx_" + n.kind)(n)
        if n.kind in _INVERSES and self.style != "latex" and (self.notation == "matrix" or n.size <= 1):
            # the inverse as matrix calculus writes it: A⁻¹, A⁻ᵀ (ASCII: inv(A), inv(A).T)
            a = self.child(n._args[0], POW, "T")
            if self.style == "ascii":
                s = f"inv({self.child(n._args[0], ATOM, enclosed=True)})"
                return self._done(s + (".T" if n.kind == "matrix_inverse_adjoint" else ""),
                                  POW if n.kind == "matrix_inverse_adjoint" else ATOM, "call")
            return self._done(a + _INVERSES[n.kind], POW, "T")
        p = MOVES[n.kind]
        attrs = ", ".join(_attr_text(a) for a in n.attrs)
        t = self.template(p)
        if self.style == "latex":
            attrs = latex_escape(attrs)
        saved_notation, saved_idx = self.notation, self.idx
        index = self.notation == "index"
        if index:
            self.notation = "matrix"  # operands of a kernel are whole tensors
        try:
            s = self._fill_template(t, n._args, ATOM, n.kind, n.attrs, attrs,
                                    self._keywords(p, n.attrs))
        finally:
            self.notation, self.idx = saved_notation, saved_idx
        if index and n.size > 1:
            s = (self.paren(s) if not _call_like(t) else s) + "[" + ",".join(self.idx) + "]"
        return self._done(s, ATOM, "call")

    def _keywords(self, p: Any, attrs: tuple) -> str:
        """``, axis=1, reverse=True``: the attributes as TF's arguments
        (``Prim.keywords``), in LaTeX ``, \\text{axis}=1, ...``."""
        if p.keywords is None:
            return ""
        out = []
        for k, v in p.keywords(attrs):
            vt = _kw_value(v)
            if self.style == "latex":
                vt = latex_escape(vt)
                if isinstance(v, (bool, np.bool_, str)):
                    vt = rf"\text{{{vt}}}"
                out.append(vt if k is None else rf"\text{{{latex_escape(k)}}}={vt}")
            else:
                out.append(vt if k is None else f"{k}={vt}")
        return "".join(", " + s for s in out)

    # -- convolution and pooling in index notation (issue 12) -------------------------
    # Each kernel prints as the sum it computes, TF's geometry substituted:
    # conv2d(X, W)[n,i,j,k] = Σ_{p,q,c} X[n, s·i+d·p−pad, s·j+d·q−pad, c]·W[p,q,c,k].
    # A letter is summed only over an axis longer than 1 (a size-1 axis reads
    # index 0), so conv1d, lowered to conv2d with a height of 1, reads as 1-D.

    def _operand(self, a: Node, idx: tuple, prec: int = PROD) -> str:
        """A windowed kernel's operand at (possibly computed) indices. A
        broadcast or filled operand prints as the whole tensor, indexed, so
        that the ranges of its indices and reading outside it (0) stay
        visible: ``(g1·𝟙)[i,j−p,k−q,l]``, not ``g1``."""
        b = see_through(a)
        if id(a) not in self.names and id(b) not in self.names and (
                type(b) is Fill or (type(b) is Move and b.kind == "broadcast")):
            saved = self.notation
            self.notation = "matrix"
            try:
                whole = self.child(a, ATOM)
            finally:
                self.notation = saved
            return self._done(whole + "[" + ",".join(idx) + "]", ATOM, "atom")
        return self._moved_child(a, idx, prec, "mm")

    def _tap_letter(self, size: int) -> str:
        return self.fresh() if size > 1 else "0"

    def _affine(self, out: str, stride: int, tap: str, dil: int, pad: int) -> str:
        """``stride·out + dil·tap − pad``, terms that are 0 left out."""
        times = {"text": "·", "ascii": "*", "latex": r" \cdot "}[self.style]
        parts: list[str] = []
        if out != "0":
            o = f"({out})" if stride != 1 and _compound(out) else out
            parts.append(o if stride == 1 else f"{stride}{times}{o}")
        if tap != "0":
            parts.append(tap if dil == 1 else f"{dil}{times}{tap}")
        text = "+".join(parts) if parts else ""
        minus = "−" if self.style == "text" else "-"
        if pad:
            text = f"{text}{minus}{pad}" if text else f"{minus}{pad}"
        return text or "0"

    def _source(self, out: str, stride: int, tap: str, dil: int, pad: int) -> str:
        """The output index whose window reads input index ``out`` at ``tap``:
        ``(out + pad − dil·tap)/stride`` (not an integer: no such window)."""
        times = {"text": "·", "ascii": "*", "latex": r" \cdot "}[self.style]
        minus = "−" if self.style == "text" else "-"
        text = out if out != "0" else ""
        if pad:
            text = f"{text}+{pad}" if text else str(pad)
        if tap != "0":
            t = tap if dil == 1 else f"{dil}{times}{tap}"
            text = f"{text}{minus}{t}" if text else f"{minus}{t}"
        text = text or "0"
        if stride == 1:
            return text
        if self.style == "latex":
            return rf"\tfrac{{{text}}}{{{stride}}}"
        return f"({text})/{stride}" if _compound(text) else f"{text}/{stride}"

    def _times(self, factors: list[str]) -> str:
        return {"text": "·", "ascii": " * ", "latex": r" \cdot "}[self.style].join(factors)

    def _summed(self, letters: list[str], body: str, note: tuple[str, str] | None = None,
                bounds: dict[str, int] | None = None) -> str:
        if note is not None:
            self.notes.setdefault(*note)
        letters = [ch for ch in letters if ch != "0"]
        if not letters:
            return self._done(body, PROD, "mm")
        return self._done(self.sigma(letters, body, bounds), SUM, "sum")

    def _taps(self, letters: tuple[str, ...], ksize: tuple) -> tuple[list[str], str]:
        """The window's tap letters (size-1 axes left out) and their
        subscript with ranges: ``p<3,q<3``."""
        taps = [(t, k) for t, k in zip(letters, ksize) if t != "0"]
        return [t for t, _ in taps], ",".join(f"{t}<{k}" for t, k in taps)

    def _window_note(self, kind: str) -> tuple[str, str]:
        return (kind, _WINDOWED[kind])

    def _idx_conv2d(self, n: Node) -> str:
        x, w = n._args
        (s0, s1), (d0, d1), ((p0, _), (p1, _)) = n.attrs
        b, i, j, k = self.idx
        p, q, c = (self._tap_letter(w.shape[0]), self._tap_letter(w.shape[1]),
                   self._tap_letter(w.shape[2]))
        xi = (b, self._affine(i, s0, p, d0, p0), self._affine(j, s1, q, d1, p1), c)
        body = self._times([self._operand(x, xi),
                            self._operand(w, (p, q, c, k))])
        return self._summed([p, q, c], body, self._window_note("conv2d"))

    def _idx_conv2d_backprop_filter(self, n: Node) -> str:
        x, g = n._args
        _, (s0, s1), (d0, d1), ((p0, _), (p1, _)) = n.attrs
        p, q, c, k = self.idx
        b, i, j = (self._tap_letter(g.shape[0]), self._tap_letter(g.shape[1]),
                   self._tap_letter(g.shape[2]))
        xi = (b, self._affine(i, s0, p, d0, p0), self._affine(j, s1, q, d1, p1), c)
        body = self._times([self._operand(x, xi),
                            self._operand(g, (b, i, j, k))])
        return self._summed([b, i, j], body, self._window_note("conv2d_backprop_filter"))

    def _idx_conv2d_backprop_input(self, n: Node) -> str:
        w, g = n._args
        _, (s0, s1), (d0, d1), ((p0, _), (p1, _)) = n.attrs
        b, h, v, c = self.idx
        p, q, k = (self._tap_letter(w.shape[0]), self._tap_letter(w.shape[1]),
                   self._tap_letter(w.shape[3]))
        gi = (b, self._source(h, s0, p, d0, p0), self._source(v, s1, q, d1, p1), k)
        body = self._times([self._operand(g, gi),
                            self._operand(w, (p, q, c, k))])
        return self._summed([p, q, k], body, self._window_note("conv2d_backprop_input"))

    def _pool_count(self, kind: str, xshape: tuple, ksize: tuple, s: tuple, pads: tuple,
                    out: tuple[str, str]) -> str:
        """The divisor of an average: the window's size, or (SAME at an edge)
        ``N(i,j)``, the number of its elements inside the input."""
        (kh, kw), ((pt, pb), (pl, pr)) = ksize, pads
        if not (pt or pb or pl or pr):
            return str(kh * kw)
        self.notes.setdefault("avg_pool_count", _WINDOWED["avg_pool_count"])
        return "N(" + ",".join(out) + ")"

    def _idx_avg_pool(self, n: Node) -> str:
        (x,) = n._args
        ksize, (s0, s1), pads = n.attrs
        b, i, j, c = self.idx
        p, q = self._tap_letter(ksize[0]), self._tap_letter(ksize[1])
        xi = (b, self._affine(i, s0, p, 1, pads[0][0]), self._affine(j, s1, q, 1, pads[1][0]), c)
        count = self._pool_count("avg_pool", x.shape, ksize, (s0, s1), pads, (i, j))
        body = self._operand(x, xi) + "/" + count
        return self._summed([p, q], body, self._window_note("avg_pool"), {p: ksize[0], q: ksize[1]})

    def _idx_avg_pool_grad(self, n: Node) -> str:
        (g,) = n._args
        xshape, ksize, (s0, s1), pads = n.attrs
        b, h, v, c = self.idx
        p, q = self._tap_letter(ksize[0]), self._tap_letter(ksize[1])
        i, j = self._source(h, s0, p, 1, pads[0][0]), self._source(v, s1, q, 1, pads[1][0])
        count = self._pool_count("avg_pool_grad", xshape, ksize, (s0, s1), pads, (i, j))
        body = self._operand(g, (b, i, j, c)) + "/" + count
        return self._summed([p, q], body, self._window_note("avg_pool_grad"),
                            {p: ksize[0], q: ksize[1]})

    def _argmax(self, x: Node, b: str, i: str, j: str, c: str, ksize: tuple, s: tuple,
                pads: tuple) -> tuple[str, str, str]:
        """(p, q, ``argmax_{p,q} X[b, s·i+p−pad, s·j+q−pad, c]``): the window's winning tap."""
        p, q = self._tap_letter(ksize[0]), self._tap_letter(ksize[1])
        xi = (b, self._affine(i, s[0], p, 1, pads[0][0]), self._affine(j, s[1], q, 1, pads[1][0]), c)
        arg = self._moved_child(x, xi, ATOM, "call")
        _, sub = self._taps((p, q), ksize)
        head = {"latex": r"\operatorname{argmax}_", "ascii": "argmax_", "text": "argmax_"}[self.style]
        return p, q, f"{head}{{{sub}}} {arg}"

    def _iverson(self, text: str) -> str:
        return rf"\left[{text}\right]" if self.style == "latex" else f"[{text}]"

    def _idx_max_pool(self, n: Node) -> str:
        (x,) = n._args
        ksize, (s0, s1), pads = n.attrs
        b, i, j, c = self.idx
        p, q = self._tap_letter(ksize[0]), self._tap_letter(ksize[1])
        xi = (b, self._affine(i, s0, p, 1, pads[0][0]), self._affine(j, s1, q, 1, pads[1][0]), c)
        arg = self._moved_child(x, xi, ATOM, "call")
        taps, sub = self._taps((p, q), ksize)
        self.notes.setdefault("max_pool", _WINDOWED["max_pool"])
        if not taps:
            return self._done(arg, ATOM, "atom")
        head = {"latex": r"\max_", "ascii": "max_", "text": "max_"}[self.style]
        return self._done(f"{head}{{{sub}}} {arg}", SUM, "sum")

    def _idx_max_pool_grad(self, n: Node) -> str:
        x, _, g = n._args
        ksize, (s0, s1), pads = n.attrs
        b, h, v, c = self.idx
        gshape = g.shape
        i, j = self._tap_letter(gshape[1]), self._tap_letter(gshape[2])
        p, q, arg = self._argmax(x, b, i, j, c, ksize, (s0, s1), pads)
        eq = "=" if self.style != "ascii" else "=="
        cond = (f"({h},{v}) {eq} ({self._affine(i, s0, p, 1, pads[0][0])},"
                f"{self._affine(j, s1, q, 1, pads[1][0])}) at {p},{q} = {arg}")
        if self.style == "latex":
            cond = cond.replace(" at ", r" \text{ at } ")
        body = self._times([self._iverson(cond), self._operand(g, (b, i, j, c))])
        return self._summed([i, j], body, self._window_note("max_pool_grad"))

    def _idx_max_pool_grad_grad(self, n: Node) -> str:
        x, _, gg = n._args
        ksize, (s0, s1), pads = n.attrs
        b, i, j, c = self.idx
        p, q, arg = self._argmax(x, b, i, j, c, ksize, (s0, s1), pads)
        eq = "=" if self.style != "ascii" else "=="
        cond = f"({p},{q}) {eq} {arg}"
        gi = (b, self._affine(i, s0, p, 1, pads[0][0]), self._affine(j, s1, q, 1, pads[1][0]), c)
        body = self._times([self._iverson(cond), self._operand(gg, gi)])
        return self._summed([p, q], body, self._window_note("max_pool_grad_grad"),
                            {p: ksize[0], q: ksize[1]})

    def _broadcast_matrix(self, x: Node, shape: tuple) -> str:
        sx = x.shape
        if _size(sx) == 1:
            s = self.child(x, PROD, "scale")
            return self._done(s + self.sym("scale") + self.sym("ones", shape), PROD, "scale")
        T = self.sym("T")
        mm = self.sym("mm")
        m = shape[0]
        if len(sx) == 1 and len(shape) == 2:  # (n,) -> (m, n): 𝟙·xᵀ
            return self._done(self.sym("ones", (m, 1)) + mm + self.child(x, POW, "T") + T, PROD, "mm")
        if len(sx) == 2 and sx[0] == 1:  # (1, n) -> (m, n): 𝟙·x
            return self._done(self.sym("ones", (m, 1)) + mm + self.child(x, PROD, "mm", False),
                              PROD, "mm")
        if len(sx) == 2 and sx[1] == 1:  # (m, 1) -> (m, n): x·𝟙ᵀ (𝟙 a column of n)
            return self._done(self.child(x, PROD, "mm") + mm + self.sym("ones", (shape[1], 1)) + T,
                              PROD, "mm")
        return self._print(x)


_INVERSES = {"matrix_inverse": "⁻¹", "matrix_inverse_adjoint": "⁻ᵀ"}

# Kernels printed as index formulas, with the note each one adds.
_READ_ZERO = "a tensor read at an index outside it (padding) is 0"
_WINDOWED = {
    "conv2d": "conv2d is printed as the sum it computes (TF's Conv2D); " + _READ_ZERO,
    "conv2d_backprop_filter": "conv2d_backprop_filter (TF's Conv2DBackpropFilter) is printed as "
                              "the sum it computes; " + _READ_ZERO,
    "conv2d_backprop_input": "conv2d_backprop_input (TF's Conv2DBackpropInput) is printed as the "
                             "sum it computes: a term whose index is not an integer or falls "
                             "outside the tensor is 0",
    "avg_pool": "avg_pool is printed as the mean it computes; " + _READ_ZERO,
    "avg_pool_grad": "avg_pool_grad (TF's AvgPoolGrad) is printed as the sum it computes: a term "
                     "whose index is not an integer or falls outside the tensor is 0",
    "avg_pool_count": "N(i,j) is the number of window (i,j)'s elements inside the input (TF's "
                      "SAME pooling averages over those only)",
    "max_pool": "max_pool takes the maximum over the window's elements inside the input",
    "max_pool_grad": "max_pool_grad (TF's MaxPoolGrad) sends each window's G to its winner: "
                     "[(h,w) = (…) at p,q = argmax X[…]] is 1 for the element the window's "
                     "maximum is at (the first maximum in row-major order on ties), else 0",
    "max_pool_grad_grad": "max_pool_grad_grad (TF's MaxPoolGradGrad) reads each window's "
                          "operand at the window's winning tap (the first maximum in row-major "
                          "order on ties)",
}


def _compound(index: str) -> bool:
    return any(ch in index for ch in "+-−·*/ ")


def spread_source(a: Node) -> Node:
    """The node ``a`` spreads, seen through identities, reshapes and
    broadcasts (``(g1·𝟙)·𝟙ᵀ`` is ``g1`` spread)."""
    a = see_through(a)
    while type(a) is Move and a.kind in ("broadcast", "reshape"):
        a = a._args[0]
    return a


def fill_of(a: Node) -> Fill | None:
    """The fill ``a`` is, seen through identities, reshapes and broadcasts
    (the ones seeding a gradient: ``(1·𝟙)∘X`` prints as ``X``)."""
    a = spread_source(a)
    return a if type(a) is Fill else None


def _scalar_broadcast(a: Node, names: dict) -> bool:
    """``a`` is a one-element tensor broadcast (unnamed): a number in a product."""
    a = see_through(a)
    return (type(a) is Move and a.kind == "broadcast" and id(a) not in names
            and _size(a._args[0].shape) == 1 and type(see_through(a._args[0])) is not Fill)


_COMPARISONS = frozenset(("greater", "greater_equal", "less", "less_equal", "equal", "not_equal"))


def _bare_scalar(a: Node, names: dict) -> Node | None:
    """The one-element node an unnamed broadcast or fill ``a`` repeats (a
    fill as a rank-0 fill of its value), else None."""
    b = see_through(a)
    if id(a) in names or id(b) in names:
        return None
    if type(b) is Fill:
        return b if b.rank == 0 else fill(b.value, (), b.dtype)
    if type(b) is Move and b.kind == "broadcast" and _size(b._args[0].shape) == 1:
        return b._args[0]
    return None


def _call_like(template: str) -> bool:
    """``name(...)`` covering the whole template (or ``|x|``)."""
    t = template.strip()
    if t.startswith("|") and t.endswith("|"):
        return True
    if not t.endswith(")") and not t.endswith(r"\right)"):
        return False
    head = t.split("(", 1)[0]
    return bool(head) and "{" not in head.replace(r"\operatorname{{", "").replace("}}", "") \
        or head.startswith(r"\operatorname")


def _size(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _attr_text(a: Any) -> str:
    if isinstance(a, tuple):
        if len(a) == 1:
            return f"({_attr_text(a[0])},)"
        return "(" + ", ".join(_attr_text(x) for x in a) + ")"
    if isinstance(a, float) and a.is_integer():
        return str(a)
    return str(a)


def _kw_value(v: Any) -> str:
    """An attribute as a Python/TF argument: True, 'REFLECT', (1, 1)."""
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(_kw_value(x) for x in v) + (",)" if len(v) == 1 else ")")
    return _attr_text(v)


def _broadcast_idx(src: tuple, dst: tuple, idx: tuple) -> tuple:
    lead = len(dst) - len(src)
    return tuple("0" if d == 1 else idx[lead + a] for a, d in enumerate(src))


def _squeeze_map(outer: tuple, inner: tuple, idx: tuple) -> tuple:
    """Indices of ``inner`` given those of ``outer``, the two shapes differing
    only by axes of size 1."""
    if not idx:
        return tuple("0" for _ in inner)
    big = [i for d, i in zip(outer, idx) if d != 1]
    it = iter(big)
    return tuple("0" if d == 1 else next(it, "0") for d in inner)


_ASCII_TEMPLATES = [("√{0}", "sqrt({0})"), ("{0}²", "{0}**2"), ("|{0}|", "abs({0})"),
                    ("}^{", "}**{"), ("1⊘{0}", "1 / {0}")]


def _main_branch(expr: Any) -> tuple[Any, bool]:
    """A kernel's Piecewise as its general formula: the branch that is not a
    constant (``sqrt_grad``: ``dy/(2y)``, TF's 0 where dy = 0 dropped and
    reported); a 0-default branch becomes an Iverson mask."""
    if not isinstance(expr, Piecewise):
        return expr, False
    branches = list(expr.args)
    live = [(e, c) for e, c in branches if not (isinstance(e, Number) and e == 0)]
    if len(live) == 1:
        e, c = live[0]
        if c == True:  # noqa: E712 - SymPy's true
            return e, True
        return ("mask", e, c), False
    return branches[-1][0], True


class _ScalarAsTensor:
    """A SymPy scalar formula over operand symbols, printed in tensor
    notation with the operands' own formulas (``dy*(1 - y**2)`` ->
    ``G∘(𝟙 − y∘y)``)."""

    def __init__(self, p: _TensorMixin, ops: dict[str, Node], shape: tuple) -> None:
        self.p = p
        self.ops = ops
        self.shape = shape

    def _had(self) -> str:
        """∘ between tensors; · between the numbers of index notation."""
        if self.p.notation == "index":
            return {"text": "·", "ascii": " * ", "latex": r" \cdot "}[self.p.style]
        return {"text": "∘", "ascii": " * ", "latex": r" \circ "}[self.p.style]

    def _div(self) -> str:
        if self.p.notation == "index":
            return {"text": "/", "ascii": " / ", "latex": " / "}[self.p.style]
        return {"text": "⊘", "ascii": " / ", "latex": r" \oslash "}[self.p.style]

    def show(self, e: Any) -> str:
        p = self.p
        if isinstance(e, tuple) and e[0] == "mask":
            body = self.show(e[1])
            bp, bk = p._prec, p._kind
            if bp < PROD:
                body = p.paren(body)
            had = self._had()
            return p._done(body + had + self._cond(e[2]), PROD, "had")
        if isinstance(e, Symbol):
            node = self.ops[e.name]
            s = p._print(node)
            return s
        if isinstance(e, Number):
            if p.notation == "matrix" and e == 1:
                return p._done(p.sym("ones", self.shape), ATOM, "atom")
            s = p.number(e)
            return p._done(s, NEG if s.startswith("-") else ATOM, "atom")
        if isinstance(e, Add):
            terms = list(e.as_ordered_terms())
            # numbers last reads worse in 1 - y**2: put positive numbers first
            terms.sort(key=lambda t: 0 if (isinstance(t, Number) and t > 0) else 1)
            out = []
            for k, t in enumerate(terms):
                neg = t.could_extract_minus_sign()
                body = -t if neg else t
                s = self.show(body)
                if p._prec <= ADD and k:
                    s = p.paren(s)
                if k == 0:
                    out.append(("-" if neg else "") + s)
                else:
                    out.append((p.sym("minus") if neg else p.sym("plus")) + s)
            return p._done("".join(out), ADD, "add")
        if isinstance(e, Mul):
            coeff, rest = e.as_coeff_Mul()
            num, den = [], []
            for f in Mul.make_args(rest):
                if isinstance(f, Pow) and f.exp.is_Number and f.exp < 0:
                    den.append(f.base ** (-f.exp))
                else:
                    num.append(f)
            had = self._had()
            div = self._div()
            parts = []
            for f in num:
                s = self.show(f)
                if p._prec < PROD or (p._prec == PROD and (p._kind != "had" or isinstance(f, Symbol))):
                    s = p.paren(s)
                parts.append(s)
            s = had.join(parts) if parts else p.sym("ones", self.shape)
            for f in den:
                d = self.show(f)
                if p._prec <= PROD or (isinstance(f, Symbol) and p._prec < ATOM):
                    d = p.paren(d)
                s += div + d
            neg = coeff < 0
            c = -coeff if neg else coeff
            if c != 1:
                s = p.number(c) + p.sym("scale") + s
            if neg:
                return p._done("-" + s, NEG, "neg")
            return p._done(s, PROD, "had")
        if isinstance(e, Pow) and e.exp == 2:
            b = self.show(e.base)
            if p._prec < ATOM:
                b = p.paren(b)
            had = self._had()
            return p._done(b + had + b, PROD, "had")
        if isinstance(e, Pow):
            b = self.show(e.base)
            if p._prec < ATOM:
                b = p.paren(b)
            x = self.show(e.exp)
            if p.style == "latex":
                return p._done(f"{{{b}}}^{{{x}}}", POW, "pow")
            return p._done(f"{b}^{x}" if p.style == "text" else f"{b}**{x}", POW, "pow")
        # any other function: its name and arguments
        args = ", ".join(self.show(a) for a in e.args)
        name = type(e).__name__.lower()
        return p._done(f"{name}({args})", ATOM, "call")

    def _cond(self, c: Any) -> str:
        p = self.p
        if isinstance(c, Relational):
            op = {">": ">", "<": "<", ">=": "≥", "<=": "≤", "==": "=", "!=": "≠"}[c.rel_op]
            if p.style == "latex":
                op = {"≥": r"\geq", "≤": r"\leq", "≠": r"\neq"}.get(op, op)
            elif p.style == "ascii":
                op = {"≥": ">=", "≤": "<=", "≠": "!=", "=": "=="}.get(op, op)
            s = f"{self.show(c.lhs)} {op} {self.show(c.rhs)}"
        else:
            s = str(c)
        if p.style == "latex":
            return rf"\left[{s}\right]"
        return f"[{s}]"


class TensorText(_TensorMixin, StrPrinter):
    """Text (Unicode, or ASCII with ``ascii=True``)."""

    _default_settings = {**StrPrinter._default_settings, "names": None, "notation": "matrix",
                         "ascii": False, "notes_out": None, "sums": None, "seeds": None,
                         "reserved": None}

    def __init__(self, settings: dict | None = None) -> None:
        StrPrinter.__init__(self, settings)
        self.style = "ascii" if self._settings["ascii"] else "text"
        self._setup(self._settings)


class TensorLatex(_TensorMixin, LatexPrinter):
    """LaTeX math mode (amsmath)."""

    _default_settings = {**LatexPrinter._default_settings, "names": None, "notation": "matrix",
                         "notes_out": None, "sums": None, "seeds": None, "reserved": None}

    def __init__(self, settings: dict | None = None) -> None:
        LatexPrinter.__init__(self, settings)
        self.style = "latex"
        self._setup(self._settings)


def printer(style: str, names: dict[int, Any], notation: str = "matrix",
            notes: dict[str, str] | None = None, sums: set[int] | None = None,
            seeds: set[int] | None = None, reserved: set[str] | None = None) -> _TensorMixin:
    """A printer of ``style`` (text, ascii, latex); see the module doc.
    ``reserved``: names the formula may print, never chosen as index letters."""
    common = {"names": names, "notation": notation, "notes_out": notes, "sums": sums,
              "seeds": seeds, "reserved": reserved}
    if style == "latex":
        return TensorLatex(common)
    return TensorText({**common, "ascii": style == "ascii"})
