"""Linear algebra: ``matmul`` (batched, TF's BatchMatMulV2), ``einsum``,
``tensordot``, ``matrix_transpose``, ``diag_part``, ``trace``, ``det``, ``inv``.

Contractions (matmul, einsum, tensordot) lower to one ``Contract`` node (an
einsum with explicit subscripts) after broadcasting batch dimensions
explicitly, so the contraction's VJP is one rule for all of them and
broadcasting is undone by the ``broadcast`` node's VJP. ``diag_part`` and
``trace`` are TF's MatrixDiagPart (and a sum over it); ``det`` and ``inv``
are kernels (TF's MatrixDeterminant, MatrixInverse) whose VJPs are TF's
registered gradients built from nodes (matmuls as ``Contract``, the inverse
as the inverse kernel), so that second and higher orders follow TF too.
"""

from __future__ import annotations

import numpy as np

from ..graph import GraphError
from ..moves import REQUIRED, Prim, keyword_args, register as register_prim
from ..tensor import Node, broadcast_to, contract, ew, prim, reduce, reshape, transpose
from .common import same_dtype, weak_literals
from .spec import TENSOR, TENSORS, Ctx, OpDef, Param, fmt_shape, register

# Letters for contractions; i, j, k are kept for matmul's matrix axes.
BATCH_LETTERS = "abcdefghlmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _bcast_batch(ctx: Ctx, pa: str, pb: str, sa: tuple, sb: tuple) -> tuple[int, ...]:
    n = max(len(sa), len(sb))
    a = (1,) * (n - len(sa)) + sa
    b = (1,) * (n - len(sb)) + sb
    out = []
    for i, (da, db) in enumerate(zip(a, b)):
        if da != db and 1 not in (da, db):
            raise ctx.error(
                f"the batch dimensions of {ctx.label(pa)} (shape {fmt_shape(ctx.x(pa).shape)}) and "
                f"{ctx.label(pb)} (shape {fmt_shape(ctx.x(pb).shape)}) do not broadcast "
                f"(batch axis {i - n} is {da} vs {db})",
                "TG202",
                pb,
            )
        out.append(db if da == 1 else da)
    return tuple(out)


def _matmul_parts(ctx: Ctx) -> tuple[tuple[int, ...], int, int, int, bool, bool]:
    a, b = ctx.x("a"), ctx.x("b")
    for p, x in (("a", a), ("b", b)):
        if x.rank < 2:
            raise ctx.error(
                f"{ctx.label(p)} has shape {fmt_shape(x.shape)} (rank {x.rank}); matmul takes "
                "tensors of rank 2 or more (write a row as [[1, 2]])",
                "TG202",
                p,
            )
    ta = bool(ctx.a("transpose_a") or ctx.a("adjoint_a"))
    tb = bool(ctx.a("transpose_b") or ctx.a("adjoint_b"))
    m, ka = (a.shape[-1], a.shape[-2]) if ta else (a.shape[-2], a.shape[-1])
    kb, n = (b.shape[-1], b.shape[-2]) if tb else (b.shape[-2], b.shape[-1])
    if ka != kb:
        la, lb = ctx.label("a") + ("ᵀ" if ta else ""), ctx.label("b") + ("ᵀ" if tb else "")
        raise ctx.error(
            f"inner dimensions differ: {la} is {m}x{ka} and {lb} is {kb}x{n} "
            f"(shapes {fmt_shape(a.shape)} and {fmt_shape(b.shape)}); "
            f"{la}'s columns must equal {lb}'s rows",
            "TG202",
        )
    batch = _bcast_batch(ctx, "a", "b", a.shape[:-2], b.shape[:-2])
    return batch, m, ka, n, ta, tb


def _matmul_shape(ctx: Ctx) -> tuple[int, ...]:
    batch, m, _, n, _, _ = _matmul_parts(ctx)
    return batch + (m, n)


def _matmul(ctx: Ctx) -> Node:
    weak_literals(ctx, ["a", "b"])
    same_dtype(ctx, ["a", "b"])
    batch, _, _, _, ta, tb = _matmul_parts(ctx)
    a, b = ctx.x("a"), ctx.x("b")
    a = broadcast_to(a, batch + a.shape[-2:])
    b = broadcast_to(b, batch + b.shape[-2:])
    z = BATCH_LETTERS[: len(batch)]
    sa = z + ("ji" if ta else "ij")
    sb = z + ("kj" if tb else "jk")
    return contract(f"{sa},{sb}->{z}ik", a, b)


def _matmul_fast(xs: list[Node]) -> Node | None:
    # two matrices of one dtype, no transposes (none written), inner sizes
    # equal: _matmul without its checks and labels; anything else (batches,
    # errors) takes the full path
    a, b = xs
    sa, sb = a.shape, b.shape
    if len(sa) != 2 or len(sb) != 2 or sa[1] != sb[0] or a.dtype != b.dtype:
        return None
    return contract("ij,jk->ik", a, b)


_BOOL = "bool"
register(OpDef(
    "matmul",
    (Param("a", TENSOR), Param("b", TENSOR), Param("transpose_a", _BOOL, False),
     Param("transpose_b", _BOOL, False), Param("adjoint_a", _BOOL, False),
     Param("adjoint_b", _BOOL, False)),
    "matrix product over the last two axes; leading (batch) axes broadcast",
    _matmul_shape, _matmul, "dA += G·Bᵀ; dB += Aᵀ·G (per batch, summed over broadcast batch axes)",
    "math_grad.py _BatchMatMulV2 / _MatMulGrad", "linalg", errors=("TG202",), fast=_matmul_fast,
    examples=(
        "{a: {shape: [2, 3]}, b: {shape: [3, 4]}}",
        "{a: {shape: [2, 1, 3, 2]}, b: {shape: [3, 3, 4]}, transpose_a: true}",
    ),
))


# -- einsum ---------------------------------------------------------------------

def _parse_equation(ctx: Ctx) -> tuple[list[str], str, tuple[int, ...]]:
    """The equation with ``...`` replaced by explicit letters and the output
    made explicit; returns (input subscripts, output subscripts, the
    broadcast shape of the ellipsis)."""
    eq = ctx.a("equation").replace(" ", "")
    xs = ctx.xs("inputs")
    if "->" in eq:
        lhs, out = eq.split("->", 1)
        explicit = True
    else:
        lhs, out, explicit = eq, "", False
    terms = lhs.split(",")
    if len(terms) != len(xs):
        raise ctx.error(
            f"the equation {eq!r} has {len(terms)} input term{'s' * (len(terms) != 1)} but "
            f"{len(xs)} tensor{'s' * (len(xs) != 1)} follow it",
            "TG203", "equation",
        )
    for t in terms + [out]:
        bad = t.replace("...", "")
        if not all(ch.isalpha() and ch.isascii() for ch in bad) or t.count("...") > 1:
            raise ctx.error(f"invalid einsum term {t!r} in {eq!r} (letters and one '...')",
                            "TG203", "equation")
    used = set("".join(terms) + out)
    free = [ch for ch in BATCH_LETTERS if ch not in used]
    # The ellipsis covers the axes a term's letters leave; they broadcast
    # against each other, aligned from the right.
    ell_ranks = []
    for t, x in zip(terms, xs):
        n_letters = len(t.replace("...", ""))
        if "..." in t:
            ell_ranks.append(x.rank - n_letters)
        else:
            ell_ranks.append(0)
            if n_letters != x.rank:
                raise ctx.error(
                    f"term {t!r} has {n_letters} axes but {ctx.label('inputs', len(ell_ranks) - 1)} "
                    f"has shape {fmt_shape(x.shape)}", "TG202", "inputs")
        if ell_ranks[-1] < 0:
            raise ctx.error(
                f"term {t!r} has more letters than {ctx.label('inputs', len(ell_ranks) - 1)} "
                f"(shape {fmt_shape(x.shape)}) has axes", "TG202", "inputs")
    n_ell = max(ell_ranks) if ell_ranks else 0
    ell = "".join(free[:n_ell])
    ell_shape = [1] * n_ell
    for t, x, r in zip(terms, xs, ell_ranks):
        if r:
            start = t.index("...")
            dims = x.shape[start:start + r]
            for i, d in enumerate(dims):
                j = n_ell - r + i
                if ell_shape[j] != d and 1 not in (ell_shape[j], d):
                    raise ctx.error(f"the '...' axes of the inputs do not broadcast ({ell_shape[j]} vs {d})",
                                    "TG202", "inputs")
                ell_shape[j] = max(ell_shape[j], d) if 1 in (ell_shape[j], d) else d
    new_terms = []
    for t, r in zip(terms, ell_ranks):
        new_terms.append(t.replace("...", ell[n_ell - r:] if r else ""))
    if explicit:
        out = out.replace("...", ell)
    else:
        counts: dict[str, int] = {}
        for t in new_terms:
            for ch in t:
                counts[ch] = counts.get(ch, 0) + 1
        out = ell + "".join(sorted(ch for ch, c in counts.items() if c == 1 and ch not in ell))
    return new_terms, out, tuple(ell_shape)


def _einsum_parts(ctx: Ctx):
    terms, out, ell_shape = _parse_equation(ctx)
    xs = ctx.xs("inputs")
    written = ctx.a("equation").replace(" ", "").split("->")[0].split(",")
    named = set("".join(written).replace("...", ""))
    sizes: dict[str, int] = {}
    owner: dict[str, int] = {}
    for i, (t, x) in enumerate(zip(terms, xs)):
        for ch, d in zip(t, x.shape):
            # TF's einsum broadcasts only the '...' axes: a letter the
            # equation names has one size in every operand
            clash = sizes[ch] != d and (ch in named or 1 not in (d, sizes[ch])) if ch in sizes else False
            if clash:
                j = owner[ch]
                raise ctx.error(
                    f"axis {ch!r} is {sizes[ch]} in operand {j} ({ctx.label('inputs', j)}, shape "
                    f"{fmt_shape(xs[j].shape)}, term {written[j]!r}) but {d} in operand {i} "
                    f"({ctx.label('inputs', i)}, shape {fmt_shape(x.shape)}, term {written[i]!r})"
                    + ("; only '...' axes broadcast in TF's einsum" if 1 in (d, sizes[ch]) else ""),
                    "TG202", "inputs")
            if ch not in sizes or sizes[ch] == 1:
                sizes[ch] = d
                owner[ch] = i
    for ch in out:
        if ch not in sizes:
            raise ctx.error(f"output axis {ch!r} appears in no input term", "TG203", "equation")
    if len(set(out)) != len(out):
        raise ctx.error(f"output {out!r} repeats an axis", "TG203", "equation")
    return terms, out, sizes


def _einsum_shape(ctx: Ctx) -> tuple[int, ...]:
    _, out, sizes = _einsum_parts(ctx)
    return tuple(sizes[ch] for ch in out)


def _einsum(ctx: Ctx) -> Node:
    names = [f"inputs[{i}]" for i in range(len(ctx.xs("inputs")))]
    ctx.inputs.update(zip(names, ctx.xs("inputs")))
    ctx.labels.update(zip(names, ctx.labels.get("inputs", names)))
    weak_literals(ctx, names)
    same_dtype(ctx, names)
    ctx.inputs["inputs"] = [ctx.x(n) for n in names]
    terms, out, sizes = _einsum_parts(ctx)
    operands = []
    for t, x in zip(terms, ctx.xs("inputs")):
        target = tuple(sizes[ch] for ch in t)
        operands.append(broadcast_to(x, target) if x.shape != target else x)
    r = contract(",".join(terms) + "->" + out, *operands)
    return ew("identity", r) if r is operands[0] else r


register(OpDef(
    "einsum", (Param("equation", "str"), Param("inputs", TENSORS)),
    "Einstein summation: einsum('ij,jk->ik', a, b); '...' broadcasts",
    _einsum_shape, _einsum,
    "d(input k) += einsum of G with the other inputs, onto input k's subscripts",
    "special_math_ops.py _EinsumGrad", "linalg", errors=("TG202", "TG203"), varargs=True,
    examples=(
        "{equation: 'bij,bjk->bik', inputs: [{shape: [2, 2, 3]}, {shape: [2, 3, 2]}]}",
        "{equation: 'ii->', inputs: [{shape: [3, 3]}]}",
    ),
))


# -- tensordot ------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _tensordot_axes(ctx: Ctx) -> tuple[list[int], list[int]]:
    """TF's ``_tensordot_axes``: an int N (the last N axes of a with the first
    N of b), a pair of ints, or a pair of lists; negative axes count from the
    end. Sizes of paired axes must agree."""
    a, b = ctx.x("a"), ctx.x("b")
    axes = ctx.a("axes")
    if isinstance(axes, bool) or axes is None:
        raise ctx.error(f"axes must be an int or a pair of axis lists, not {axes!r}", "TG203", "axes")
    if isinstance(axes, int):
        if axes < 0:
            raise ctx.error(f"axes {axes} must be at least 0", "TG203", "axes")
        if axes > a.rank or axes > b.rank:
            raise ctx.error(
                f"axes {axes} is larger than the rank of {ctx.label('a')} (shape "
                f"{fmt_shape(a.shape)}) or {ctx.label('b')} (shape {fmt_shape(b.shape)})",
                "TG202", "axes")
        aa, ba = list(range(a.rank - axes, a.rank)), list(range(axes))
    else:
        if not isinstance(axes, (list, tuple)) or len(axes) != 2:
            raise ctx.error(f"axes must be an int or have length 2, not {axes!r}", "TG203", "axes")
        aa, ba = ([x] if isinstance(x, int) else list(x) for x in axes)
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in aa + ba):
            raise ctx.error(f"axes {axes!r}: each axis must be an int", "TG203", "axes")
        if len(aa) != len(ba):
            raise ctx.error(
                f"axes {axes!r} pairs {len(aa)} axes of {ctx.label('a')} with {len(ba)} of "
                f"{ctx.label('b')}; the lists must have the same length", "TG202", "axes")
        for lst, x, p in ((aa, a, "a"), (ba, b, "b")):
            for j, i in enumerate(lst):
                if not -x.rank <= i < x.rank:
                    raise ctx.error(
                        f"axis {i} is out of range for {ctx.label(p)} (shape {fmt_shape(x.shape)}, "
                        f"rank {x.rank})", "TG202", "axes")
                lst[j] = i % x.rank
            if len(set(lst)) != len(lst):
                raise ctx.error(f"axes {axes!r} name an axis of {ctx.label(p)} twice", "TG202", "axes")
    for i, j in zip(aa, ba):
        if a.shape[i] != b.shape[j]:
            raise ctx.error(
                f"axis {i} of {ctx.label('a')} (shape {fmt_shape(a.shape)}) has size {a.shape[i]} "
                f"but axis {j} of {ctx.label('b')} (shape {fmt_shape(b.shape)}) has size "
                f"{b.shape[j]}; contracted axes must have the same size", "TG202", "axes")
    return aa, ba


def _tensordot_spec(ctx: Ctx) -> str:
    a, b = ctx.x("a"), ctx.x("b")
    aa, ba = _tensordot_axes(ctx)
    if a.rank + b.rank - len(aa) > len(_LETTERS):
        raise ctx.error("too many axes for tensordot", "TG202")
    sa = _LETTERS[: a.rank]
    sb = list(_LETTERS[a.rank: a.rank + b.rank])
    for i, j in zip(aa, ba):
        sb[j] = sa[i]
    sb = "".join(sb)
    out = "".join(ch for i, ch in enumerate(sa) if i not in aa) + "".join(
        ch for j, ch in enumerate(sb) if j not in ba)
    return f"{sa},{sb}->{out}"


def _tensordot_shape(ctx: Ctx) -> tuple[int, ...]:
    a, b = ctx.x("a"), ctx.x("b")
    aa, ba = _tensordot_axes(ctx)
    return tuple(d for i, d in enumerate(a.shape) if i not in aa) + tuple(
        d for j, d in enumerate(b.shape) if j not in ba)


def _tensordot(ctx: Ctx) -> Node:
    weak_literals(ctx, ["a", "b"])
    same_dtype(ctx, ["a", "b"])
    return contract(_tensordot_spec(ctx), ctx.x("a"), ctx.x("b"))


register(OpDef(
    "tensordot", (Param("a", TENSOR), Param("b", TENSOR), Param("axes", "any")),
    "sum of products over paired axes: axes=N pairs the last N axes of a with the first N of b; "
    "axes=[[i...], [j...]] pairs them explicitly; the result has a's free axes, then b's",
    _tensordot_shape, _tensordot,
    "dA[free_a, c] += Σ_free_b G[free_a, free_b]·B[c, free_b]; "
    "dB[c, free_b] += Σ_free_a A[free_a, c]·G[free_a, free_b]",
    "math_ops.py tensordot (reshape, transpose, MatMul): math_grad.py _MatMulGrad through the "
    "reshapes", "linalg", errors=("TG202", "TG203"),
    examples=(
        "{a: {shape: [2, 3, 4]}, b: {shape: [4, 3, 2]}, axes: [[1, 2], [1, 0]]}",
        "{a: {shape: [2, 3]}, b: {shape: [3, 2]}, axes: 1}",
    ),
))


# -- matrix_transpose, diag_part, trace -------------------------------------------

def _need_matrix(ctx: Ctx, param: str, *, square: bool = False) -> Node:
    x = ctx.x(param)
    if x.rank < 2:
        raise ctx.error(
            f"{ctx.label(param)} has shape {fmt_shape(x.shape)} (rank {x.rank}); "
            f"{ctx.op.name} takes matrices: a tensor of rank 2 or more (batches of matrices)",
            "TG202", param)
    if square and x.shape[-1] != x.shape[-2]:
        raise ctx.error(
            f"{ctx.label(param)} has shape {fmt_shape(x.shape)}: its matrices are "
            f"{x.shape[-2]}x{x.shape[-1]}, not square", "TG202", param)
    return x


def _swap_last(rank: int) -> tuple[int, ...]:
    return tuple(range(rank - 2)) + (rank - 1, rank - 2)


def _matrix_transpose(ctx: Ctx) -> Node:
    x = _need_matrix(ctx, "a")
    return transpose(x, _swap_last(x.rank))


register(OpDef(
    "matrix_transpose", (Param("a", TENSOR), Param("conjugate", "bool", False)),
    "swap the last two axes (each matrix of a batch transposed); conjugate is a no-op on reals",
    lambda ctx: _need_matrix(ctx, "a").shape[:-2] + ctx.x("a").shape[:-3:-1],
    _matrix_transpose, "dA += Gᵀ (per matrix)", "array_ops.py matrix_transpose -> "
    "array_grad.py _TransposeGrad", "linalg", errors=("TG202",),
))


def _diag_len(m: int, n: int, k: int) -> int:
    return min(m, n - k) if k >= 0 else min(m + k, n)


def _np_diag_part(x: np.ndarray, k: int) -> np.ndarray:
    return np.diagonal(x, offset=k, axis1=-2, axis2=-1)


def _np_matrix_diag(g: np.ndarray, k: int, m: int, n: int) -> np.ndarray:
    out = np.zeros(g.shape[:-1] + (m, n), dtype=g.dtype)
    length = g.shape[-1]
    rows = np.arange(length) + max(-k, 0)
    cols = np.arange(length) + max(k, 0)
    out[..., rows, cols] = g
    return out


register_prim(Prim(
    "matrix_diag_part",
    lambda ops, a: (ops[0].shape[:-2] + (_diag_len(ops[0].shape[-2], ops[0].shape[-1], a[0]),),
                    ops[0].dtype),
    _np_diag_part,
    lambda n, g: [prim("matrix_diag", g, attrs=(n.attrs[0],) + tuple(n.args[0].shape[-2:]))],
    "diag_part({0}{kwargs})", r"\operatorname{{diag}}({0}{kwargs})",
    "the k-th diagonal of each matrix (the last two axes)",
    "array_grad.py _MatrixDiagPartV3Grad: matrix_diag(G, k) (square) / matrix_set_diag(0, G, k)",
    kernel=True, keywords=keyword_args(("k", 0)),
))
register_prim(Prim(
    "matrix_diag",
    lambda ops, a: (ops[0].shape[:-1] + (a[1], a[2]), ops[0].dtype),
    _np_matrix_diag,
    lambda n, g: [prim("matrix_diag_part", g, attrs=(n.attrs[0],))],
    "matrix_diag({0}{kwargs})", r"\operatorname{{Diag}}({0}{kwargs})",
    "matrices of zeros with x on the k-th diagonal (the VJP of diag_part)",
    "array_grad.py _MatrixDiagV3Grad: matrix_diag_part(G, k)",
    # TF's matrix_diag(diagonal, k=0, num_rows, num_cols): the result's shape
    kernel=True, keywords=keyword_args(("k", 0), ("num_rows", REQUIRED), ("num_cols", REQUIRED)),
))


def _diag_k(ctx: Ctx) -> int:
    x = _need_matrix(ctx, "input")
    k = ctx.a("k")
    if isinstance(k, bool) or not isinstance(k, int):
        raise ctx.error(f"k must be an int (one diagonal; bands are not supported), not {k!r}",
                        "TG203", "k")
    m, n = x.shape[-2:]
    if not (-m < k < n or (k == 0 and m * n == 0)):
        raise ctx.error(
            f"k = {k} is out of range for the {m}x{n} matrices of {ctx.label('input')} "
            f"(shape {fmt_shape(x.shape)}); it must be between {-m + 1} and {n - 1}", "TG202", "k")
    return k


def _diag_shape(ctx: Ctx) -> tuple:
    k = _diag_k(ctx)  # first: it refuses a rank below 2
    shape = ctx.x("input").shape
    return shape[:-2] + (_diag_len(shape[-2], shape[-1], k),)


register(OpDef(
    "diag_part",
    (Param("input", TENSOR), Param("k", "int", 0), Param("padding_value", "float", 0),
     Param("align", "str", "RIGHT_LEFT")),
    "the k-th diagonal of each matrix (the last two axes); k = 0 is the main diagonal "
    "(one diagonal: padding_value and align only matter for TF's bands, which are not supported)",
    lambda ctx: _diag_shape(ctx),
    lambda ctx: prim("matrix_diag_part", ctx.x("input"), attrs=(_diag_k(ctx),)),
    "dA[..., i, i+k] += G[..., i]; zero elsewhere", "array_grad.py _MatrixDiagPartV3Grad",
    "linalg", errors=("TG202", "TG203"),
))


def _trace(ctx: Ctx) -> Node:
    x = _need_matrix(ctx, "x")
    # TF: reduce_sum(matrix_diag_part(x), [-1])
    d = prim("matrix_diag_part", x, attrs=(0,))
    return reduce("sum", (d.rank - 1,), d)


register(OpDef(
    "trace", (Param("x", TENSOR),),
    "sum of the main diagonal of each matrix (the last two axes)",
    lambda ctx: _need_matrix(ctx, "x").shape[:-2], _trace,
    "∂tr(A)/∂A = I: dA += G·I (per matrix)",
    "math_ops.py trace = reduce_sum(matrix_diag_part(x), -1): _SumGrad, then "
    "_MatrixDiagPartV3Grad", "linalg", errors=("TG202",),
))


# -- det and inv ----------------------------------------------------------------------

class KernelError(GraphError):
    """An error TF's kernel raises at run time (InvalidArgumentError), e.g.
    ``Input is not invertible.``; raised while evaluating, with no position
    (the values exist only then). Coded TG202, as indexing's run-time errors."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, None, code)


def _np_inverse(x: np.ndarray, label: str, adjoint: bool = False) -> np.ndarray:
    a = np.swapaxes(x, -1, -2) if adjoint else x
    try:
        # TF's MatrixInverse: LU with partial pivoting; an exactly zero pivot
        # is "Input is not invertible." (LAPACK's getrf/gesv criterion too).
        r = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise KernelError(
            f"{label} is not invertible (a zero pivot in its LU factorisation); TensorFlow's "
            "MatrixInverse raises 'Input is not invertible.'", "TG202") from None
    return r.astype(x.dtype, copy=False)


def _np_det(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.det(x)).astype(x.dtype, copy=False)


def _batch_letters(rank: int) -> str:
    return BATCH_LETTERS[: rank - 2]


def _inverse_vjp(n: Node, g: Node) -> list:
    # linalg_grad.py _MatrixInverseGrad:
    #   -matmul(ainv, matmul(grad, ainv, adjoint_a=adj, adjoint_b=not adj), adjoint_a=not adj)
    ainv = n
    adjoint = n.kind == "matrix_inverse_adjoint"
    z = _batch_letters(ainv.rank)
    if not adjoint:
        inner = contract(f"{z}ij,{z}kj->{z}ik", g, ainv)  # G·A⁻ᵀ
        outer = contract(f"{z}ji,{z}jk->{z}ik", ainv, inner)  # A⁻ᵀ·(G·A⁻ᵀ)
    else:
        inner = contract(f"{z}ji,{z}jk->{z}ik", g, ainv)  # Gᵀ·B
        outer = contract(f"{z}ij,{z}jk->{z}ik", ainv, inner)  # B·(Gᵀ·B)
    return [ew("negative", outer)]


def _det_vjp(n: Node, g: Node) -> list:
    # linalg_grad.py _MatrixDeterminantGrad:
    #   reshape(grad * c, shape(c) + [1, 1]) * matrix_inverse(a, adjoint=True)
    a = n.args[0]
    label = n.attrs[0]
    mult = reshape(ew("multiply", g, n), n.shape + (1, 1))
    inv_adj = prim("matrix_inverse_adjoint", a,
                   attrs=(f"{label} (the gradient of det({label}) needs its inverse)",))
    return [ew("multiply", broadcast_to(mult, a.shape), inv_adj)]


# TF's MatrixInverse has an ``adjoint`` attribute; here it is two node kinds
# (the same kernel) so that formulas read A⁻¹ and A⁻ᵀ. attrs: (label,), how
# the not-invertible error names the matrix.
register_prim(Prim(
    "matrix_inverse",
    lambda ops, a: (ops[0].shape, ops[0].dtype),
    _np_inverse,
    _inverse_vjp,
    "inv({0})", r"{{{0}^{{-1}}}}",
    "the inverse of each matrix (TF's MatrixInverse, adjoint=False)",
    "linalg_grad.py _MatrixInverseGrad: -A⁻ᵀ·(G·A⁻ᵀ)",
    kernel=True,
))
register_prim(Prim(
    "matrix_inverse_adjoint",
    lambda ops, a: (ops[0].shape, ops[0].dtype),
    lambda x, label: _np_inverse(x, label, True),
    _inverse_vjp,
    "inv({0})ᵀ", r"{{{0}^{{-\top}}}}",
    "the inverse of each matrix's transpose, (Aᵀ)⁻¹ = A⁻ᵀ (TF's MatrixInverse, adjoint=True)",
    "linalg_grad.py _MatrixInverseGrad (adjoint): -B·(Gᵀ·B), B = (Aᵀ)⁻¹",
    kernel=True,
))
register_prim(Prim(
    "matrix_determinant",
    lambda ops, a: (ops[0].shape[:-2], ops[0].dtype),
    lambda x, label: _np_det(x),
    _det_vjp,
    "det({0})", r"\det({0})",
    "the determinant of each matrix (attrs: how messages name the matrix)",
    "linalg_grad.py _MatrixDeterminantGrad: reshape(G·det(A), [..., 1, 1]) · inv(A, adjoint=True)",
    kernel=True,
))


def _det(ctx: Ctx) -> Node:
    x = _need_matrix(ctx, "input", square=True)
    return prim("matrix_determinant", x, attrs=(ctx.label("input"),))


def _inv(ctx: Ctx) -> Node:
    x = _need_matrix(ctx, "input", square=True)
    kind = "matrix_inverse_adjoint" if ctx.a("adjoint") else "matrix_inverse"
    return prim(kind, x, attrs=(ctx.label("input"),))


register(OpDef(
    "det", (Param("input", TENSOR),),
    "the determinant of each square matrix (the last two axes)",
    lambda ctx: _need_matrix(ctx, "input", square=True).shape[:-2], _det,
    "∂det(A)/∂A = det(A)·A⁻ᵀ: dA += (G·det(A))·A⁻ᵀ (per matrix); TF computes A⁻ᵀ with "
    "MatrixInverse, so a singular A is an error ('Input is not invertible.')",
    "linalg_grad.py _MatrixDeterminantGrad", "linalg", errors=("TG202",),
    examples=(
        "{input: [[2.0, 0.5, 0.1], [0.3, 1.5, 0.2], [0.1, 0.4, 1.8]]}",
        "{input: [[[1.2, 0.3], [0.4, 0.9]], [[2.0, -0.5], [0.7, 1.1]]]}",
    ),
))
register(OpDef(
    "inv", (Param("input", TENSOR), Param("adjoint", "bool", False)),
    "the inverse of each square matrix (of its transpose when adjoint); a singular matrix is "
    "TF's error 'Input is not invertible.'",
    lambda ctx: _need_matrix(ctx, "input", square=True).shape, _inv,
    "∂(A⁻¹) = -A⁻¹·∂A·A⁻¹: dA -= A⁻ᵀ·G·A⁻ᵀ (adjoint: dA -= A⁻ᵀ... of Aᵀ: -B·Gᵀ·B, B = (Aᵀ)⁻¹)",
    "linalg_grad.py _MatrixInverseGrad", "linalg", errors=("TG202",),
    examples=(
        "{input: [[2.0, 0.5, 0.1], [0.3, 1.5, 0.2], [0.1, 0.4, 1.8]]}",
        "{input: [[1.2, 0.3], [0.4, 0.9]], adjoint: true}",
    ),
))
