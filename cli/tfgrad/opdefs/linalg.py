"""Linear algebra: ``matmul`` (batched, TF's BatchMatMulV2), ``einsum``.

Both lower to one ``Contract`` node (an einsum with explicit subscripts)
after broadcasting batch dimensions explicitly, so the contraction's VJP is
one rule for all of them and broadcasting is undone by the ``broadcast``
node's VJP.
"""

from __future__ import annotations

from ..tensor import Node, broadcast_to, contract, ew
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


_BOOL = "bool"
register(OpDef(
    "matmul",
    (Param("a", TENSOR), Param("b", TENSOR), Param("transpose_a", _BOOL, False),
     Param("transpose_b", _BOOL, False), Param("adjoint_a", _BOOL, False),
     Param("adjoint_b", _BOOL, False)),
    "matrix product over the last two axes; leading (batch) axes broadcast",
    _matmul_shape, _matmul, "dA += G·Bᵀ; dB += Aᵀ·G (per batch, summed over broadcast batch axes)",
    "math_grad.py _BatchMatMulV2 / _MatMulGrad", "linalg", errors=("TG202",),
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
    sizes: dict[str, int] = {}
    owner: dict[str, int] = {}
    for i, (t, x) in enumerate(zip(terms, xs)):
        for ch, d in zip(t, x.shape):
            if ch in sizes and sizes[ch] != d and d != 1 and sizes[ch] != 1:
                raise ctx.error(
                    f"axis {ch!r} is {sizes[ch]} in {ctx.label('inputs', owner[ch])} "
                    f"(shape {fmt_shape(xs[owner[ch]].shape)}) but {d} in "
                    f"{ctx.label('inputs', i)} (shape {fmt_shape(x.shape)})",
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
))
