"""How ``Elementwise`` nodes print under SymPy's str, pretty and LaTeX printers.

Input: an ``mexpr.Elementwise`` node and the SymPy printer asking. Output:
its text — functions as ``tanh(X)``, TF's kink masks as Iverson brackets
(``[X > 0]``), division as ``X ⊘ Y`` and powers as ``X^∘Y``.
"""

from __future__ import annotations

from sympy.printing.pretty.stringpict import prettyForm

_MASKS = {"pos": ">", "ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
_MASKS_ASCII = {"pos": ">", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_MASKS_LATEX = {"pos": ">", "ge": r"\geq", "gt": ">", "le": r"\leq", "lt": "<"}
_INFIX = {"divide": ("⊘", "/", r"\oslash"), "pow": ("^∘", "**", None)}


def _operands(e, printer) -> list[str]:
    return [printer.parenthesize(a, 1000) if hasattr(printer, "parenthesize") else printer._print(a)
            for a in e.operands]


def _text(e, printer, unicode: bool) -> str:
    f = e.fname
    ops = _operands(e, printer)
    if f in _MASKS:
        rhs = ops[1] if len(ops) > 1 else "0"
        sym = (_MASKS if unicode else _MASKS_ASCII)[f]
        return f"[{ops[0]} {sym} {rhs}]"
    if f in _INFIX:
        sym = _INFIX[f][0 if unicode else 1]
        return f"{ops[0]} {sym} {ops[1]}" if f == "divide" else f"{ops[0]}{sym}{ops[1]}"
    if f == "logpos":
        return f"log₊({ops[0]})" if unicode else f"logpos({ops[0]})"
    return f"{f}({', '.join(printer._print(a) for a in e.operands)})"


def elementwise_str(e, printer) -> str:
    return _text(e, printer, unicode=False)


def elementwise_pretty(e, printer):
    return prettyForm(_text(e, printer, unicode=printer._use_unicode))


def elementwise_latex(e, printer) -> str:
    f = e.fname
    ops = [printer.parenthesize(a, 1000) for a in e.operands]
    if f in _MASKS_LATEX:
        rhs = ops[1] if len(ops) > 1 else "0"
        return rf"\left[{ops[0]} {_MASKS_LATEX[f]} {rhs}\right]"
    if f == "divide":
        return rf"{ops[0]} \oslash {ops[1]}"
    if f == "pow":
        return rf"{ops[0]}^{{\circ {ops[1]}}}"
    if f == "logpos":
        return rf"\log_{{+}}\left({ops[0]}\right)"
    name = {"sigmoid": r"\sigma", "stop_gradient": r"\operatorname{sg}",
            "relu": r"\operatorname{relu}", "sign": r"\operatorname{sign}",
            "abs": r"\operatorname{abs}", "square": r"\operatorname{sq}"}.get(f, "\\" + f)
    inner = ", ".join(printer._print(a) for a in e.operands)
    return rf"{name}\left({inner}\right)"
