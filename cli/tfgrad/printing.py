"""SymPy printers for ``explain``: matrix pieces and scalar formulas as text or LaTeX.

Input: *shallow* SymPy expressions (``explain`` cuts deep gradients into
named pieces first, so that SymPy's recursive printers never recurse far)
made of ``MatMul``, ``MatAdd``, ``HadamardProduct``, ``Transpose``,
``OneMatrix``, ``ZeroMatrix``, ``MatrixSymbol``, numbers and
``mexpr.Elementwise``; or scalar SymPy expressions (the element form).
Output: strings.

Notation. Text (Unicode): ``A·B`` matrix product, ``A∘B`` elementwise
product, ``Aᵀ``, ``𝟙``/``𝟎`` matrices of ones/zeros (shape from context),
``A ⊘ B`` elementwise division, ``A^∘k`` elementwise power, ``[X > 0]`` a
0/1 mask (an Iverson bracket). ASCII uses the graph file's own syntax:
``A @ B``, ``A * B``, ``A.T``, ``ones(r,c)``, ``A / B``, ``A ** k``.
LaTeX: ``\\cdot``, ``\\circ``, ``^{\\top}``, ``\\mathbf{1}``, ``\\oslash``,
matrices as ``bmatrix`` (needs amsmath; nothing else).

The printers never simplify: they print the nodes they are given, with
their own parenthesisation (products of different kinds are always
bracketed, so ``A·(B∘C)`` is never written ambiguously).
"""

from __future__ import annotations

import re

from sympy import Integer, Number, Rational, log
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, MatrixSymbol, Transpose
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.stringpict import prettyForm
from sympy.printing.str import StrPrinter

from .mexpr import Elementwise
from .render import fmt_number

# ---------------------------------------------------------------- names, numbers

_SIMPLE_NAME = re.compile(r"^([A-Za-z])(\d*)$")
_ELEMENT_NAME = re.compile(r"^(.*?)(\[[0-9,]+\])$")
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Plain text for LaTeX's text mode (``\\text{...}``, paragraphs)."""
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


def number_text(v: float | Number, integral: bool | None = None) -> str:
    """One number as ``run`` prints it (``render.fmt_number``); ``integral``
    None means: exact when the value is a whole number below 2**53."""
    v = float(v)
    if integral is None:
        integral = v.is_integer() and abs(v) < 2**53
    return fmt_number(v, integral)


def number_latex(v: float | Number, integral: bool | None = None) -> str:
    return latex_number_text(number_text(v, integral))


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


def _sympy_number_text(e: Number) -> str:
    if isinstance(e, Integer):
        return str(int(e))
    if isinstance(e, Rational):
        return f"{e.p}/{e.q}"
    return number_text(float(e))


# ---------------------------------------------------------------- precedence

# (precedence, kind): a child is bracketed under a parent of higher
# precedence, or of equal precedence but another kind of product.
_ADD, _NEG, _PROD, _POW, _ATOM = 10, 15, 20, 30, 100


def _is_negative_number(e) -> bool:
    return isinstance(e, Number) and bool(e < 0)


def _prec(e, latex: bool) -> tuple[int, str]:
    t = type(e)
    if t is MatAdd:
        return _ADD, "add"
    if t is MatMul:
        return (_NEG, "neg") if _is_negative_number(e.args[0]) else (_PROD, "mm")
    if t is HadamardProduct:
        return _PROD, "had"
    if t is Transpose:
        return _POW, "T"
    if t is Elementwise:
        if e.fname == "divide":
            return _PROD, "div"
        if e.fname == "pow":
            return _POW, "pow"
        return _ATOM, "call"
    if isinstance(e, Number):
        if e < 0:
            return _NEG, "neg"
        if isinstance(e, Rational) and not isinstance(e, Integer) and not latex:
            return _PROD, "frac"
        return _ATOM, "num"
    if t is MatrixSymbol and e.name.startswith("∂L/∂"):  # a gradient used by another
        return _PROD, "frac"
    return _ATOM, "atom"


class _MatrixMixin:
    """Shared structure of the text and LaTeX matrix printers."""

    latex = False
    # symbols, filled by subclasses
    DOT = "·"
    HAD = "∘"
    MINUS = "−"
    SCALE = "·"  # a number times a matrix

    def _wrap(self, child, prec: int, kind: str, right: bool = False) -> str:
        cp, ck = _prec(child, self.latex)
        s = self._print(child)
        need = cp < prec or (cp == prec and ck != kind and prec != _ADD)
        if right and cp == prec and prec >= _PROD and kind == "div":
            need = True
        if kind in ("T", "pow") and cp <= _POW:
            need = True
        return self._paren(s) if need else s

    def _paren(self, s: str) -> str:
        return f"({s})"

    def _join(self, parts: list[str], sym: str) -> str:
        return sym.join(parts)

    def _print_Ident(self, e, **kw) -> str:
        return self._print(e.args[0])

    def _product(self, factors, sym: str, kind: str) -> str:
        # products are associative: nested ones of the same kind print flat
        cls = HadamardProduct if kind == "had" else MatMul
        flat: list = []
        stack = list(reversed(factors))
        while stack:
            f = stack.pop()
            if type(f) is cls and not isinstance(f.args[0], Number):
                stack.extend(reversed(f.args))
            else:
                flat.append(f)
        parts = [self._wrap(f, _PROD, kind) for f in flat]
        return self._join(parts, sym)

    def _print_MatMul(self, e, **kw) -> str:
        args = list(e.args)
        coeff = None
        if args and isinstance(args[0], Number):
            coeff = args.pop(0)
        body = self._product(args, self.DOT, "mm") if args else ""
        if len(args) == 1:  # c·X: the factor binds like a product's
            body = self._wrap(args[0], _PROD, "mm")
        if coeff is None or coeff == 1:
            return body or "1"
        if coeff == -1 and args:
            return f"{self.MINUS}{body}"
        if coeff < 0:
            pos = self._coeff(-coeff)
            return f"{self.MINUS}{pos}{self.SCALE}{body}" if body else f"{self.MINUS}{pos}"
        c = self._coeff(coeff)
        return f"{c}{self.SCALE}{body}" if body else c

    def _coeff(self, c) -> str:
        s = self._print(c)
        if _prec(c, self.latex)[0] < _ATOM:
            return self._paren(s)
        return s

    def _print_MatAdd(self, e, **kw) -> str:
        out = []
        for i, t in enumerate(e.args):
            if _prec(t, self.latex)[1] == "neg":
                if isinstance(t, Number):
                    body = self._print(-t)
                else:
                    rest = list(t.args[1:])
                    c = -t.args[0]
                    body = self._product(rest, self.DOT, "mm")
                    if c != 1:
                        body = f"{self._coeff(c)}{self.SCALE}{body}"
                    elif len(rest) == 1:
                        body = self._wrap(rest[0], _NEG + 1, "neg")
                out.append(f"{self.MINUS}{body}" if i == 0 else f" {self.MINUS} {body}")
            else:
                s = self._wrap(t, _ADD, "add")
                out.append(s if i == 0 else f" + {s}")
        return "".join(out)

    def _print_HadamardProduct(self, e, **kw) -> str:
        return self._product(e.args, self.HAD, "had")


class MatrixTextPrinter(_MatrixMixin, StrPrinter):
    """One-line text of a matrix piece; ``unicode=False`` for ASCII."""

    printmethod = "_tfgrad_text"  # Elementwise is printed by _print_Elementwise below
    _default_settings = {**StrPrinter._default_settings, "unicode": True, "names": {}}

    def __init__(self, settings=None):
        super().__init__(settings)
        u = self._settings["unicode"]
        self.unicode = u
        self.DOT, self.HAD, self.MINUS = ("·", "∘", "−") if u else (" @ ", " * ", "-")
        self.SCALE = "·" if u else "*"
        self.names = self._settings["names"]

    def _join(self, parts: list[str], sym: str) -> str:
        # ``A·B`` always; ``A∘B`` but ``g ∘ (𝟙 − h∘h)`` when a factor is compound
        if sym == "∘" and any(" " in p or "(" in p for p in parts):
            return " ∘ ".join(parts)
        return sym.join(parts)

    def _print_MatrixSymbol(self, e, **kw) -> str:
        return self.names.get(e.name, e.name)

    def _print_Transpose(self, e, **kw) -> str:
        return self._wrap(e.args[0], _POW, "T") + ("ᵀ" if self.unicode else ".T")

    def _print_OneMatrix(self, e, **kw) -> str:
        return "𝟙" if self.unicode else f"ones({e.shape[0]},{e.shape[1]})"

    def _print_ZeroMatrix(self, e, **kw) -> str:
        return "𝟎" if self.unicode else f"zeros({e.shape[0]},{e.shape[1]})"

    def _print_Integer(self, e, **kw) -> str:
        return str(int(e))

    def _print_Rational(self, e, **kw) -> str:
        return f"{e.p}/{e.q}"

    def _print_Float(self, e, **kw) -> str:
        return number_text(float(e))

    def _print_ImmutableDenseMatrix(self, e, **kw) -> str:
        rows = ", ".join("[" + ", ".join(self._print(v) for v in e.row(i)) + "]"
                         for i in range(e.rows))
        return f"[{rows}]"

    def _print_Elementwise(self, e, **kw) -> str:
        f = e.fname
        ops = e.operands
        u = self.unicode
        if f in _MASKS:
            a = self._print(ops[0])
            b = self._print(ops[1]) if len(ops) > 1 else "0"
            return f"[{a} {(_MASKS if u else _MASKS_ASCII)[f]} {b}]"
        if f == "divide":
            sym = " ⊘ " if u else " / "
            return (self._wrap(ops[0], _PROD, "div") + sym
                    + self._wrap(ops[1], _PROD, "div", right=True))
        if f == "pow":
            sym = "^∘" if u else " ** "
            return self._wrap(ops[0], _POW, "pow") + sym + self._wrap(ops[1], _POW, "pow")
        if f == "logpos":
            return ("log₊" if u else "logpos") + f"({self._print(ops[0])})"
        return f"{f}({', '.join(self._print(a) for a in ops)})"


_MASKS = {"pos": ">", "ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
_MASKS_ASCII = {"pos": ">", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_MASKS_LATEX = {"pos": ">", "ge": r"\geq", "gt": ">", "le": r"\leq", "lt": "<"}
_LATEX_FUNCS = {
    "exp": r"\exp", "log": r"\log", "tanh": r"\tanh", "sigmoid": r"\sigma",
    "maximum": r"\max", "minimum": r"\min", "sign": r"\operatorname{sign}",
    "relu": r"\operatorname{relu}", "square": r"\operatorname{square}",
    "stop_gradient": r"\operatorname{stop\_gradient}",
}


class MatrixLatexPrinter(_MatrixMixin, LatexPrinter):
    """LaTeX (math mode) of a matrix piece."""

    printmethod = "_tfgrad_latex"
    latex = True
    _default_settings = {**LatexPrinter._default_settings, "names": {}}

    def __init__(self, settings=None):
        super().__init__(settings)
        self.DOT, self.HAD, self.MINUS = r" \cdot ", r" \circ ", "-"
        self.SCALE = r" \cdot "
        self.names = self._settings["names"]

    def _paren(self, s: str) -> str:
        return rf"\left({s}\right)"

    def _join(self, parts: list[str], sym: str) -> str:
        return sym.join(parts)

    def _print_MatrixSymbol(self, e, **kw) -> str:
        return self.names.get(e.name) or latex_name(e.name)

    def _print_Transpose(self, e, **kw) -> str:
        return "{" + self._wrap(e.args[0], _POW, "T") + r"}^{\top}"

    def _print_OneMatrix(self, e, **kw) -> str:
        return r"\mathbf{1}"

    def _print_ZeroMatrix(self, e, **kw) -> str:
        return r"\mathbf{0}"

    def _print_Integer(self, e, **kw) -> str:
        return str(int(e))

    def _print_Rational(self, e, **kw) -> str:
        sign = "-" if e.p < 0 else ""
        return rf"{sign}\frac{{{abs(e.p)}}}{{{e.q}}}"

    def _print_Float(self, e, **kw) -> str:
        return number_latex(float(e))

    def _print_ImmutableDenseMatrix(self, e, **kw) -> str:
        rows = r" \\ ".join(" & ".join(self._print(v) for v in e.row(i)) for i in range(e.rows))
        return rf"\begin{{bmatrix}} {rows} \end{{bmatrix}}"

    def _print_Elementwise(self, e, **kw) -> str:
        f = e.fname
        ops = e.operands
        if f in _MASKS_LATEX:
            a = self._print(ops[0])
            b = self._print(ops[1]) if len(ops) > 1 else "0"
            return rf"\left[{a} {_MASKS_LATEX[f]} {b}\right]"
        if f == "divide":
            return (self._wrap(ops[0], _PROD, "div") + r" \oslash "
                    + self._wrap(ops[1], _PROD, "div", right=True))
        if f == "pow":
            return "{" + self._wrap(ops[0], _POW, "pow") + r"}^{\circ " + self._print(ops[1]) + "}"
        if f == "logpos":
            return rf"\log_{{+}}\left({self._print(ops[0])}\right)"
        if f == "sqrt":
            return rf"\sqrt{{{self._print(ops[0])}}}"
        if f == "abs":
            return rf"\left|{self._print(ops[0])}\right|"
        name = _LATEX_FUNCS.get(f, rf"\operatorname{{{latex_escape(f)}}}")
        inner = ", ".join(self._print(a) for a in ops)
        return rf"{name}\left({inner}\right)"


# ---------------------------------------------------------------- scalar formulas


def _iverson(e):
    """(kind, payload) of the Piecewise forms the element backend builds."""
    a = e.args
    if len(a) == 2 and a[1].cond == True and a[1].expr == 0:  # noqa: E712 - SymPy's true
        if a[0].expr == 1:
            return "mask", a[0].cond
        if isinstance(a[0].expr, log):
            return "logpos", a[0].expr.args[0]
    return None, None


_REDUNDANT_PARENS = re.compile(r"(?:(?<=[\[(])|(?<=, ))\((-[0-9][^()]*)\)(?=[),\]]| [<>=])")


class ScalarTextPrinter(StrPrinter):
    """A scalar formula on one line; with ``values``, each symbol prints as
    its number (the "numbers substituted" form)."""

    _default_settings = {**StrPrinter._default_settings, "unicode": True, "values": None}

    def __init__(self, settings=None):
        super().__init__(settings)
        self.unicode = self._settings["unicode"]
        self.values = self._settings["values"]

    def doprint(self, expr) -> str:
        s = super().doprint(expr)
        if self.values is not None:  # sign((-3)) -> sign(-3), [(-1) > 0] -> [-1 > 0]
            s = _REDUNDANT_PARENS.sub(r"\1", s)
        if self.unicode:
            s = s.replace("**", "^").replace("*", "·").replace(" - ", " − ")
        return s

    def _print_Symbol(self, e, **kw) -> str:
        if self.values is not None and e.name in self.values:
            v = self.values[e.name]
            return f"({v})" if v.startswith("-") else v
        return e.name

    def _print_Float(self, e, **kw) -> str:
        return number_text(float(e))

    def _print_Piecewise(self, e, **kw) -> str:
        kind, x = _iverson(e)
        if kind == "mask":
            return f"[{self._print(x)}]"
        if kind == "logpos":
            return ("log₊" if self.unicode else "logpos") + f"({self._print(x)})"
        return super()._print_Piecewise(e)

    def _print_Relational(self, e, **kw) -> str:
        op = e.rel_op
        if self.unicode:
            op = {">=": "≥", "<=": "≤", "!=": "≠"}.get(op, op)
        return f"{self._print(e.lhs)} {op} {self._print(e.rhs)}"

    def _print_Max(self, e, **kw) -> str:
        return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Min(self, e, **kw) -> str:
        return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Abs(self, e, **kw) -> str:
        return f"|{self._print(e.args[0])}|"


class ScalarLatexPrinter(LatexPrinter):
    """A scalar formula in LaTeX math mode; ``values`` as for the text printer."""

    _default_settings = {**LatexPrinter._default_settings, "values": None, "mul_symbol": "dot"}

    def __init__(self, settings=None):
        super().__init__(settings)
        self.values = self._settings["values"]

    def _print_Symbol(self, e, **kw) -> str:
        if self.values is not None and e.name in self.values:
            s = latex_number_text(self.values[e.name])
            return rf"\left({s}\right)" if s.startswith("-") else s
        return latex_name(e.name)

    def _print_Float(self, e, **kw) -> str:
        return number_latex(float(e))

    def _print_stop_gradient(self, e, **kw) -> str:
        return rf"\operatorname{{stop\_gradient}}\left({self._print(e.args[0])}\right)"

    def _print_Piecewise(self, e, **kw) -> str:
        kind, x = _iverson(e)
        if kind == "mask":
            return rf"\left[{self._print(x)}\right]"
        if kind == "logpos":
            return rf"\log_{{+}}\left({self._print(x)}\right)"
        return super()._print_Piecewise(e)


# ---------------------------------------------------------------- hooks of mexpr


# SymPy's own printers (``str(expr)`` while debugging) reach Elementwise
# through these; explain's printers above dispatch to _print_Elementwise.


def _foreign_text(e, printer, unicode: bool) -> str:
    ops = [printer.parenthesize(a, 1000) if hasattr(printer, "parenthesize")
           else printer._print(a) for a in e.operands]
    f = e.fname
    if f in _MASKS:
        rhs = ops[1] if len(ops) > 1 else "0"
        return f"[{ops[0]} {(_MASKS if unicode else _MASKS_ASCII)[f]} {rhs}]"
    if f == "divide":
        return f"{ops[0]} {'⊘' if unicode else '/'} {ops[1]}"
    if f == "pow":
        return f"{ops[0]}{'^∘' if unicode else '**'}{ops[1]}"
    if f == "logpos":
        return f"{'log₊' if unicode else 'logpos'}({ops[0]})"
    return f"{f}({', '.join(printer._print(a) for a in e.operands)})"


def elementwise_str(e, printer) -> str:
    if hasattr(printer, "_print_Elementwise"):
        return printer._print_Elementwise(e)
    return _foreign_text(e, printer, unicode=False)


def elementwise_pretty(e, printer):
    return prettyForm(_foreign_text(e, printer, unicode=printer._use_unicode))


def elementwise_latex(e, printer) -> str:
    if hasattr(printer, "_print_Elementwise"):
        return printer._print_Elementwise(e)
    return MatrixLatexPrinter()._print_Elementwise(e)


__all__ = [
    "MatrixTextPrinter", "MatrixLatexPrinter", "ScalarTextPrinter", "ScalarLatexPrinter",
    "latex_name", "latex_escape", "number_text", "number_latex",
    "elementwise_str", "elementwise_pretty", "elementwise_latex",
]
