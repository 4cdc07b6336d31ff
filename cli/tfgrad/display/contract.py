"""Which einsum specs read as matrix algebra, and how.

``matrix_form(spec, ranks)`` returns a recipe for printing a contraction of
tensors of rank <= 2 in matrix notation, or None when it has no such form
(then the formula is printed in index notation):

- ``("chain", [(k, transposed), ...], [s, ...])``: the product of the
  operands in that order, some transposed, times the rank-0 operands ``s``
  (``A·Bᵀ``, ``xᵀ·y``, ``x·yᵀ``, ``s·A``);
- ``("had", [(k, transposed), ...])``: an elementwise product (``A∘Bᵀ``);
- ``("sum", k, left, right)``: one operand summed with ones: ``𝟙ᵀ·X`` (left),
  ``X·𝟙`` (right), both, or a transpose (``("T", k)``) or itself (``("id", k)``);
- ``("trace", k)``, ``("diag", k)``;
- ``("diagmul", kv, km, left, [s, ...])``: ``diag(v)·M`` (left) or ``M·diag(v)``,
  times the rank-0 operands ``s``.

A rank-1 operand is a column vector; the result's orientation is free (a
vector is printed without a transpose whichever way the product reads).
"""

from __future__ import annotations

from itertools import permutations, product

Recipe = tuple


def _options(sub: str) -> list[tuple[tuple, bool]]:
    if len(sub) == 2:
        return [((sub[0], sub[1]), False), ((sub[1], sub[0]), True)]
    if len(sub) == 1:
        return [((sub, None), False), ((None, sub), True)]
    return [((None, None), False)]


def matrix_form(spec: str, ranks: tuple[int, ...]) -> Recipe | None:
    if any(r > 2 for r in ranks):
        return None
    ins_s, out = spec.split("->")
    ins = ins_s.split(",")
    if len(out) > 2 or len(ins) > 4:
        return None
    if len(ins) == 1:
        return _single(ins[0], out)
    count: dict[str, int] = {}
    for s in ins:
        if len(set(s)) != len(s):
            return None
        for ch in s:
            count[ch] = count.get(ch, 0) + 1
    # an elementwise product: every operand has exactly the output's letters
    if len(out) >= 1 and all(sorted(s) == sorted(out) for s in ins):
        return ("had", [(k, s != out) for k, s in enumerate(ins)])
    # diag(a)·B, B·diag(a): a vector scaling a matrix's rows or columns
    nonscalar = [k for k, s in enumerate(ins) if s]
    if len(nonscalar) == 2 and len(out) == 2 and sorted(len(ins[k]) for k in nonscalar) == [1, 2]:
        kv, km = nonscalar if len(ins[nonscalar[0]]) == 1 else nonscalar[::-1]
        if ins[km] == out and ins[kv] in out and out[0] != out[1]:
            return ("diagmul", kv, km, ins[kv] == out[0],
                    [k for k, s in enumerate(ins) if not s])
    for ch, c in count.items():
        if c > 2 or (c == 2 and ch in out) or (c == 1 and ch not in out):
            return None
    scalars = [k for k, s in enumerate(ins) if not s]
    mats = [k for k, s in enumerate(ins) if s]
    if not mats:
        return ("chain", [], scalars) if not out else None
    best = None
    for perm in permutations(mats):
        for orient in product(*[_options(ins[k]) for k in perm]):
            ok = True
            for (l, _), (r, _) in zip(orient, orient[1:]):
                if l[1] != r[0]:
                    ok = False
                    break
                if l[1] is None and (l[0] is None or r[1] is None):
                    ok = False  # a row times a column of nothing: not a product
                    break
            if not ok:
                continue
            row, col = orient[0][0][0], orient[-1][0][1]
            if len(out) == 2 and (row, col) != (out[0], out[1]):
                continue
            if len(out) == 1 and (row, col) not in ((out, None), (None, out)):
                continue
            if len(out) == 0 and (row, col) != (None, None):
                continue
            cost = sum((2 if len(ins[k]) == 2 else 1) * t for k, (_, t) in zip(perm, orient))
            cost += 0.5 * (list(perm) != sorted(perm))
            if best is None or cost < best[0]:
                best = (cost, [(k, t) for k, (_, t) in zip(perm, orient)])
    if best is None:
        return None
    return ("chain", best[1], scalars)


def _single(s: str, out: str) -> Recipe | None:
    if s == out:
        return ("id", 0)
    if len(s) == 2 and s[0] == s[1]:
        if out == "":
            return ("trace", 0)
        if out == s[0]:
            return ("diag", 0)
        return None
    if len(set(s)) != len(s):
        return None
    if sorted(s) == sorted(out):
        return ("T", 0)
    if not set(out) <= set(s):
        return None
    if len(s) == 1:
        return ("sum", 0, True, False)
    # rank 2 summed over one or both axes
    if out == "":
        return ("sum", 0, True, True)
    return ("sum", 0, out == s[1], out == s[0])
