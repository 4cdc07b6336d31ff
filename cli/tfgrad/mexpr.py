"""Matrix-expression nodes and their unchecked constructors.

Input: SymPy matrix expressions and 2-D shapes known from the graph. Output:
new SymPy nodes (``MatMul``, ``MatAdd``, ``Transpose``, ``HadamardProduct``,
``OneMatrix`` and this module's ``Elementwise``/``Ident``), built with
``Basic.__new__`` so that SymPy neither checks shapes (its ``.shape`` is
recursive and uncached: quadratic, and a ``RecursionError`` at a few hundred
layers) nor flattens or canonicalises (which would destroy the sharing that
the evaluator's memo relies on). Every tensor is a 2-D matrix expression:
rank 0 is 1x1 and rank 1 is 1xn, which makes NumPy's broadcasting of the
true shapes coincide with broadcasting of the 2-D shapes.

Rank-0 literals are kept as SymPy numbers, so ``2 * x`` reads ``2⋅x``;
the constructors accept a number wherever a scalar may stand.
"""

from __future__ import annotations

from sympy import Basic, Integer, Number, Rational, S
from sympy.core.symbol import Str
from sympy.matrices.expressions import (
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)

Shape2 = tuple[int, int]
Expr = Basic  # a MatrixExpr, or a SymPy Number standing for a scalar


class Elementwise(MatrixExpr):
    """``f(X, Y, ...)`` applied element by element: ``args = (Str(f), X, ...)``.

    Operands are matrices of one shape, or numbers. The masks (``pos``,
    ``ge``...) are the TF kink conventions, written out so that they print
    and evaluate exactly as TF's gradient kernels behave.
    """

    @property
    def fname(self) -> str:
        return self.args[0].name

    @property
    def operands(self) -> tuple[Basic, ...]:
        return self.args[1:]

    @property
    def shape(self):  # only printers ask; the engine tracks shapes itself
        for a in self.args[1:]:
            if isinstance(a, MatrixExpr):
                return a.shape
        return (Integer(1), Integer(1))

    def _sympystr(self, printer) -> str:
        from .printing import elementwise_str

        return elementwise_str(self, printer)

    def _latex(self, printer) -> str:
        from .printing import elementwise_latex

        return elementwise_latex(self, printer)

    def _pretty(self, printer):
        from .printing import elementwise_pretty

        return elementwise_pretty(self, printer)


class Ident(MatrixExpr):
    """The same tensor under a new node (identity, stop_gradient, transpose of
    a vector). A distinct node keeps each graph op's value replaceable on its
    own; printers show the operand unchanged."""

    @property
    def shape(self):
        return self.args[0].shape

    def _sympystr(self, printer) -> str:
        return printer._print(self.args[0])

    def _latex(self, printer) -> str:
        return printer._print(self.args[0])

    def _pretty(self, printer):
        return printer._print(self.args[0])


def is_num(e: Basic) -> bool:
    return isinstance(e, Number)


def is_neg(e: Basic) -> bool:
    """``(−1)⋅B``: the evaluator computes ``A + (−1)⋅B`` as ``A − B``."""
    # ``is``, not ``==``: SymPy's ``==`` on a matrix operand sympifies -1 and
    # compares structures, which made this check a tenth of the derivation.
    return type(e) is MatMul and len(e._args) == 2 and e._args[0] is S.NegativeOne


def num(value: float | int) -> Number:
    if float(value).is_integer() and abs(value) < 2**53:
        return Integer(int(value))
    return Number(value)


def new(cls, *args: Basic) -> Basic:
    return Basic.__new__(cls, *args)


def name_atom(name: str) -> Str:
    """``Str(name)``, built directly (SymPy's constructor checks the type)."""
    s = object.__new__(Str)
    s._assumptions = Str.default_assumptions
    s._mhash = None
    s._args = ()
    s.name = name
    return s


_FNAMES: dict[str, Str] = {}


def ew(fname: str, *operands: Basic) -> Basic:
    # One immutable atom per function name, shared by every node.
    f = _FNAMES.get(fname)
    if f is None:
        f = _FNAMES[fname] = name_atom(fname)
    return Basic.__new__(Elementwise, f, *operands)


def ident(e: Basic) -> Basic:
    return Basic.__new__(Ident, e)


_DIMS: dict[int, Integer] = {}


def dim(n: int) -> Integer:
    """``Integer(n)`` for a dimension, from a plain dict (SymPy's own cache
    is several times slower, and every node of a derivation needs two)."""
    d = _DIMS.get(n)
    if d is None:
        d = _DIMS[n] = Integer(n)
    return d


def ones(shape: Shape2) -> Basic:
    # SymPy's constructor sympifies and checks both dimensions: a third of
    # the derivation's time before this.
    return Basic.__new__(OneMatrix, dim(shape[0]), dim(shape[1]))


def zeros(shape: Shape2) -> Basic:
    return Basic.__new__(ZeroMatrix, dim(shape[0]), dim(shape[1]))


def symbol(name: str, shape: Shape2) -> MatrixSymbol:
    """A named leaf (variable, constant, literal, seed), built unchecked."""
    return Basic.__new__(MatrixSymbol, name_atom(name), dim(shape[0]), dim(shape[1]))


def matmul(*factors: Basic) -> Basic:
    """A product of matrices, built as given (at least two factors)."""
    return Basic.__new__(MatMul, *factors)


def scale(c: Basic, e: Basic) -> Basic:
    """``c⋅e`` for a number c."""
    if isinstance(e, Number):
        return c * e
    if c is S.One or c == 1:
        return e
    return Basic.__new__(MatMul, c, e)


def neg(e: Basic) -> Basic:
    return scale(Integer(-1), e)


def transpose(e: Basic) -> Basic:
    return Basic.__new__(Transpose, e)


def add(*terms: Basic) -> Basic:
    if len(terms) == 1:
        return terms[0]
    return Basic.__new__(MatAdd, *terms)


def hadamard(*factors: Basic) -> Basic:
    """An elementwise product; number factors become a scalar coefficient."""
    mats = []
    coeff: Basic | None = None
    for f in factors:
        if isinstance(f, Number):
            coeff = f if coeff is None else coeff * f
        else:
            mats.append(f)
    if not mats:
        return coeff if coeff is not None else S.One
    body = mats[0] if len(mats) == 1 else Basic.__new__(HadamardProduct, *mats)
    return body if coeff is None else scale(coeff, body)


def as_matrix(e: Basic, shape: Shape2) -> Basic:
    """A number as a matrix of the given shape (``c⋅𝟙``); matrices unchanged."""
    if not is_num(e):
        return e
    return Basic.__new__(MatMul, e, ones(shape))


def broadcast(e: Basic, frm: Shape2, to: Shape2) -> Basic:
    """NumPy broadcasting as matrix algebra: a row is ``𝟙⋅b``, a column ``b⋅𝟙ᵀ``."""
    if isinstance(e, Number):
        return as_matrix(e, to)
    if frm == to:
        return e
    factors = [e]
    if frm[0] == 1 and to[0] != 1:
        factors.insert(0, ones((to[0], 1)))
    if frm[1] == 1 and to[1] != 1:
        factors.append(ones((1, to[1])))
    return factors[0] if len(factors) == 1 else matmul(*factors)


def sum_to(g: Basic, frm: Shape2, to: Shape2) -> Basic:
    """Undo ``broadcast``: sum the cotangent back to the input's shape."""
    if frm == to:
        return g
    factors = [g]
    if to[0] == 1 and frm[0] != 1:
        factors.insert(0, ones((1, frm[0])))
    if to[1] == 1 and frm[1] != 1:
        factors.append(ones((frm[1], 1)))
    return factors[0] if len(factors) == 1 else matmul(*factors)


def one_minus(e: Basic, shape: Shape2) -> Basic:
    """``𝟙 − e``, as tanh's and sigmoid's gradients are written."""
    return add(ones(shape), neg(e))


def half() -> Basic:
    return Rational(1, 2)
