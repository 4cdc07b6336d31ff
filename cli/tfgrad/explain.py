"""Why the gradient is what it is: ``tfgrad explain`` on the rank-N engine.

Input: a ``Derived`` (``engine.derive(graph, record_steps=True)``) and its
``Result`` (``engine.compute``), the same ones ``run`` uses. Output: an
``Explanation`` — for each x, the gradient as the reverse sweep built it
(over the seeds ``g1, g2...``, inline literals ``c1, c2...``, variables and
forward values by their graph names, shared pieces ``t1, t2...``), in
matrix notation where every tensor of the formula has rank <= 2 and index
notation above; its value; for small graphs each element as a scalar
formula with the numbers substituted; where a nan or inf arises; the
backward pass grouped by the user's ops — and its renderings as text,
LaTeX and JSON (``render_text``, ``render_latex``, ``render_json``).

Every walk is iterative and keyed by ``id()``: nodes are never hashed,
compared or ``str()``-ed, and every printed formula is shallow (shared and
deep subexpressions are named first).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from .display.common import (
    element_suffix, fmt_shape, is_integral, latex_escape, latex_name, number_latex,
    number_text, to_ascii, value_inline, value_latex, value_lines,
)
from .display.elements import ElementBuilder, ScalarLatex, ScalarText, TooBig, ieee, tree_size
from .display.printers import (
    ATOM, fill_of, formula_notation, index_letters, is_transparent, printer, see_through,
    spread_source,
)
from .engine import Derived, Result, owner_of
from .funcs import FUNCS
from .moves import MOVES
from .opdefs import lookup
from .tensor import Contract, Ew, Fill, Kernel, Move, Node, Reduce, Tensor, walk

DEPTH_LIMIT = 12  # levels of one printed piece before a subexpression is named
SHARE_MIN_OPS = 2  # a shared node with fewer operators is repeated, not named
AUTO_MAX_ELEMENTS = 16  # element form by default: every tensor at most this big
FORCED_MAX_ELEMENTS = 256
MAX_PATH = 40  # element form: at most this many ops on the longest chain
MAX_FORMULA_SIZE = 2000
AUTO_MAX_FORMULA_SIZE = 100
MAX_ORIGINS = 3


def fresh_names(prefix: str, taken: set[str]) -> Iterator[str]:
    i = 0
    while True:
        i += 1
        name = f"{prefix}{i}"
        if name not in taken:
            taken.add(name)
            yield name


# ================================================================ data


@dataclass
class Piece:
    """A named subexpression: a forward value (``forward``, by its graph
    name), a shared or deep one (``shared``/``cut``: t1, t2...), or a kernel
    shown by value in the element form (``opaque``)."""

    name: str
    kind: str
    node: Node
    uses: int = 1
    notation: str = "matrix"


@dataclass
class Leaf:
    name: str
    kind: str  # seed | variable | constant | literal
    shape: tuple
    value: np.ndarray
    integral: bool
    note: str


@dataclass
class Element:
    index: tuple
    formula: Any  # a SymPy scalar, or None when only the value is shown
    value: float
    note: str | None = None  # why TF's number is what it is here


@dataclass
class Origin:
    """Where a nan or inf first arises: the node (printed) and one element."""

    what: str  # nan | inf
    node: Node
    index: tuple
    detail: str  # the operation with its operands' numbers


@dataclass
class XEntry:
    name: str
    shape: tuple
    status: str  # connected | none | zero
    node: Node | None
    value: np.ndarray | None
    integral: bool
    notation: str = "matrix"
    needs: list[str] = field(default_factory=list)
    elements: list[Element] | None = None
    origins: list[Origin] = field(default_factory=list)
    x_rank: int = 0  # (Hessian) the rank of x with its 1s dropped
    hvp: bool = False  # (Hessian) the formula is H·u, the Hessian times a direction u
    tf_shape: tuple = ()  # (Hessian) the shape tf.hessians gives


@dataclass
class Contrib:
    arg: str
    target: str
    node: Node
    summed: tuple | None


@dataclass
class StepEntry:
    number: int
    node: str
    op: str
    call: str
    rule: str
    g_name: str | None
    g_node: Node | None
    contributions: list[Contrib]
    skipped: list[str]
    stopped: bool = False


@dataclass
class Collected:
    x: str
    status: str
    g_name: str | None
    node: Node | None
    step: int | None


@dataclass
class Explanation:
    title: str | None
    ys: list[str]
    all_xs: list[str]
    seeds: list[Leaf]
    leaves: list[Leaf]
    pieces: list[Piece]
    piece_values: dict[str, tuple[np.ndarray, bool]]
    entries: list[XEntry]
    stop_gradients: list[str]
    unconnected: str
    notes: list[str]
    names: dict[int, Any]  # id(node) -> display name (or a scalar literal's number)
    sums: set[int]
    seed_ids: set[int]
    element_numbers: dict[str, float] = field(default_factory=dict)
    element_texts: dict[str, str] = field(default_factory=dict)
    kernel_notes: dict[str, str] = field(default_factory=dict)
    steps: list[StepEntry] | None = None
    step_names: dict[int, Any] = field(default_factory=dict)
    collected: list[Collected] = field(default_factory=list)
    inline_note: str | None = None
    reserved: set[str] = field(default_factory=set)  # printed names: not index letters
    order: int = 1  # 2: tf.hessians (explain --hessian)
    y_shapes: list[tuple] | None = None
    second_sweeps: list[tuple[str, list, Node | None, str]] | None = None  # (x, records, H·u, u)


# ================================================================ naming


def _name_pieces(roots: list[Node], presets: dict[int, str], fresh: Iterator[str],
                 names: dict[int, Any], share: bool = True) -> list[Piece]:
    """Name forward values (``presets``), shared and deep nodes reachable
    from ``roots``; fills ``names`` and returns the pieces in dependency order."""
    order = walk(roots)
    # a forward value prints its definition through a wrapper (an identity,
    # the ones seeding a gradient op): the node it shows stays its own, and
    # copies of that node elsewhere print by the forward value's name
    shown = {id(_shown_as(n)): nm for n in order if id(n) in presets
             for nm in (presets[id(n)],) if _shown_as(n) is not n}
    same, plain = _same_expressions(order, {**presets, **shown}, names)
    alias: dict[Any, str] = {}
    for n in order:
        k = id(n)
        if k in presets and k in plain:
            alias.setdefault(plain[k], presets[k])
        if k in shown and k in plain:
            alias.setdefault(plain[k], shown[k])
    count: dict[int, int] = {}
    for n in order:
        if same[id(n)] != id(n):
            continue  # a copy's operands are its first's: counted once
        for a in n._args:
            count[same[id(a)]] = count.get(same[id(a)], 0) + 1
    depth: dict[int, int] = {}
    ops: dict[int, int] = {}
    pieces: list[Piece] = []
    for n in order:
        k = id(n)
        first = same[k]
        if first != k:
            # the same expression of the same nodes as an earlier node:
            # printed as that one is (its name, when it has one)
            depth[k], ops[k] = depth[first], ops[first]
            if first in names and k not in names:
                names[k] = names[first]
            continue
        if not n._args or type(n) is Fill:
            depth[k], ops[k] = 0, 0
            if k in presets and k not in names:
                names[k] = presets[k]
                pieces.append(Piece(presets[k], "forward", n))
            continue
        kids = [a for a in n._args]
        d = 1 + max((0 if id(a) in names else depth[id(a)]) for a in kids)
        o = (0 if is_transparent(n) else 1) + sum(0 if id(a) in names else ops[id(a)] for a in kids)
        depth[k], ops[k] = d, min(o, 10**6)
        if k in names:
            continue
        if k not in presets and k not in shown and plain.get(k) in alias:
            names[k] = alias[plain[k]]  # the same expression as a forward value
            depth[k], ops[k] = 0, 0
            continue
        if k in presets:
            names[k] = presets[k]
            pieces.append(Piece(presets[k], "forward", n))
        elif share and count.get(k, 0) > 1 and o >= SHARE_MIN_OPS and not is_transparent(n) \
                and not _spread_leaf(n):  # (g1·𝟙)·𝟙ᵀ reads better inline
            names[k] = next(fresh)
            pieces.append(Piece(names[k], "shared", n, count[k]))
        elif d > DEPTH_LIMIT and not is_transparent(n):
            names[k] = next(fresh)
            pieces.append(Piece(names[k], "cut", n))
        if k in names:
            depth[k], ops[k] = 0, 0
    return pieces


def _params_key(v: Any) -> Any:
    """A node parameter as a dictionary key that tells 1 from 1.0 and 0.0
    from -0.0 (they print differently); TypeError for an unhashable one."""
    if type(v) is tuple:
        return tuple(_params_key(x) for x in v)
    if type(v) is float:
        return ("float", repr(v))
    hash(v)
    return (type(v).__name__, v)


def _same_expressions(order: list[Node], presets: dict[int, str],
                      names: dict[int, Any]) -> tuple[dict[int, int], dict[int, Any]]:
    """id(node) -> id of the first node of ``order`` (operands first) that
    is the same expression: same node type, parameters, shape and dtype over
    operands that are the same expressions. The sweep builds a piece anew
    for each use (three ``where(x > 0, ...)`` give three ``x > 0`` nodes);
    explain names it once. Forward values (``presets``) stay apart: each
    prints by its own graph name. A leaf is what it prints as (``names``:
    each inline ``0`` of the graph is its own literal node, all printing
    ``0``). A node with an unhashable parameter is its own."""
    first: dict[Any, int] = {}
    same: dict[int, int] = {}
    plain: dict[int, Any] = {}
    for n in order:
        k = id(n)
        inner = _shown_as(n, once=True)
        if inner is not n and k not in presets and inner.shape == n.shape \
                and inner.dtype == n.dtype:
            same[k] = same[id(inner)]  # printed as its operand: (1·𝟙)∘X is X
            if id(inner) in plain:
                plain[k] = plain[id(inner)]
            continue
        try:
            params = n.params() if type(n) is not Tensor or k not in names else (names[k],)
            key = (type(n), n.shape, n.dtype, _params_key(params),
                   tuple([same[id(a)] for a in n._args]))
            same[k] = first.setdefault((key, presets.get(k)), k)
            plain[k] = key
        except TypeError:
            same[k] = k
    return same, plain


def _spread_leaf(n: Node) -> bool:
    """``n`` is a leaf or a fill, broadcast or reshaped (``(g1·𝟙)·𝟙ᵀ``)."""
    return type(spread_source(n)) in (Tensor, Fill)


def _shown_as(n: Node, once: bool = False) -> Node:
    """The node a definition of ``n`` prints: through identities and the
    ones seeding a gradient (``(1·𝟙)∘X`` prints as ``X``); ``once``: one
    step of that."""
    while True:
        m = see_through(n) if not once else n._args[0] if is_transparent(n) else n
        if m is n and type(n) is Ew and n.fn == "multiply" and len(n._args) == 2:
            ones = [a for a in n._args if (f := fill_of(a)) is not None and f.value == 1]
            if len(ones) == 1:
                m = n._args[1] if ones[0] is n._args[0] else n._args[0]
        if once or m is n:
            return m
        n = m


def _referenced(root: Node, names: dict[int, Any]) -> list[str]:
    """Names a formula of ``root`` prints (named pieces and leaves), in order."""
    out: list[str] = []
    seen: set[int] = set()
    stack = list(reversed(root._args)) if id(root) in names else [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        nm = names.get(id(n))
        if nm is not None and n is not root:
            if isinstance(nm, str):
                out.append(nm)
            continue
        if type(n) is Tensor:
            out.append(n.name)
            continue
        stack.extend(reversed(n._args))
    return out


def _closure(start: list[str], deps: dict[str, list[str]], order: list[str]) -> list[str]:
    need: set[str] = set()
    stack = [n for n in start if n in deps]
    while stack:
        n = stack.pop()
        if n in need:
            continue
        need.add(n)
        stack.extend(s for s in deps[n] if s in deps and s not in need)
    return [p for p in order if p in need]


# ================================================================ building


def explain(d: Derived, r: Result, only: list[str] | None = None, steps: bool = False,
            elementwise: bool | None = None, extra_env: dict | None = None) -> Explanation:
    """Everything ``tfgrad explain`` prints, as data (see the module doc).
    ``extra_env``: values of leaves the gradients use beyond the graph's
    (the Hessian's identity ``I``)."""
    low = d.lowered
    g = low.graph
    xs = [x.name for x in g.xs]
    chosen = [i for i, x in enumerate(xs) if only is None or x in only]
    taken = set(g.nodes) | set(low.env)

    names: dict[int, Any] = {}
    # leaves: seeds, variables and constants by name; scalar literals as
    # their number; other literals as c1, c2... in order of appearance
    lit_names = fresh_names("c", set(taken) - {k for k in low.env if low.leaf_of.get(k, "").find("/literal") >= 0 or g.nodes.get(low.leaf_of.get(k, ""), None) is not None and g.nodes[low.leaf_of[k]].kind == "literal"})
    display_of: dict[str, Any] = {}
    for key in low.env:
        gname = low.leaf_of.get(key)
        node = g.nodes.get(gname) if gname else None
        if node is not None and node.kind == "literal":
            arr = low.env[key]
            display_of[key] = float(arr.reshape(-1)[0]) if arr.size == 1 else next(lit_names)
        else:
            display_of[key] = key
    for key, leaf in ((k, low.nodes[low.leaf_of[k]]) for k in low.leaf_of):
        if isinstance(leaf, Tensor):
            names[id(leaf)] = display_of[key]
    seed_ids = {id(s.node) for s in d.seeds}
    for s in d.seeds:
        if type(s.node) is Tensor:
            names.setdefault(id(s.node), s.node.name)

    # forward values of the user's ops print by their graph names
    presets: dict[int, str] = {}
    for name in g.order:
        gn = g.nodes[name]
        v = low.nodes.get(name)
        if gn.kind == "op" and gn.user and isinstance(v, Node) and type(v) is not Tensor:
            presets.setdefault(id(v), name)
    sums = {id(total) for _, total, _ in d.steps if type(total) is Ew and total.fn == "add"}
    sums.update(id(gr) for gr in d.gradients if gr is not None and type(gr) is Ew and gr.fn == "add")

    roots = [d.gradients[i] for i in chosen if d.gradients[i] is not None]
    fresh_t = fresh_names("t", taken | {str(v) for v in display_of.values()})
    pieces = _name_pieces(roots, presets, fresh_t, names)
    for p in pieces:
        p.notation = formula_notation(p.node, names)

    entries: list[XEntry] = []
    for i in chosen:
        name = xs[i]
        xnode = low.nodes[name]
        shape = tuple(xnode.shape)
        grad = d.gradients[i]
        if grad is None:
            entries.append(XEntry(name, shape, "none", None, None, False))
            continue
        status = "zero" if type(grad) is Fill and grad.value == 0 and not any(
            grad is gg for gg in (d.gradients[j] for j in range(len(xs)) if j != i) if False) else "connected"
        if g.unconnected_gradients != "zero" or not (type(grad) is Fill and grad.value == 0):
            status = "connected"
        entries.append(XEntry(name, shape, status, grad, r.gradients[i], r.integral[i],
                              formula_notation(grad, names)))

    piece_deps = {p.name: _referenced(p.node, names) for p in pieces}
    piece_order = [p.name for p in pieces]
    referenced: list[str] = []
    for e in entries:
        if e.node is not None:
            refs = _referenced(e.node, names)
            e.needs = _closure(refs, piece_deps, piece_order)
            referenced.extend(refs)
    for p in pieces:
        referenced.extend(piece_deps[p.name])

    values = r.values if any(p.kind == "forward" for p in pieces) else {}
    piece_values = {}
    for p in pieces:
        if p.kind == "forward" and p.name in values:
            v = values[p.name]
            piece_values[p.name] = (v, low.integral and is_integral(v))

    seeds = _seed_leaves(d, r)
    leaves = _leaves(d, set(referenced), display_of)

    ex = Explanation(g.name, [y.name for y in g.ys], xs, seeds, leaves, pieces, piece_values,
                     entries, [s.name for s in g.stop_gradients], g.unconnected_gradients, [],
                     names, sums, seed_ids)
    ex.reserved = _printed_names(ex, g, low)
    node_values = _node_values(d, roots, extra_env)
    for e in entries:
        if e.node is not None and e.value is not None and not np.all(np.isfinite(e.value)):
            e.origins = _origins(e.node, node_values)
    if elementwise is not False:
        _element_form(d, r, ex, elementwise, node_values, display_of)
    if steps:
        _steps(d, ex, taken, display_of)
    return ex


def explain_hessian(d: Derived, only: list[str] | None = None, steps: bool = False) -> Explanation:
    """``tfgrad explain --hessian``: for each x, ``tf.hessians``' Hessian of
    L = Σ ys as a formula (``hessian_form``: ``2·Xᵀ·X`` for
    ``reduce_sum(square(X @ w))``), in matrix notation for a vector x and in
    index notation (``∂²L/∂W[i,j]∂W[k,l]``) above; where the rules have no
    form, ``H·u``, the Hessian times a direction u, as the second sweep
    builds it. The values are ``tf.hessians``' (``higher.hessian_values``).
    Raises ``GraphError`` where TF's hessians raises (a None gradient)."""
    from dataclasses import replace

    from .engine import compute
    from .hessian_form import HessianForm, squeeze
    from .higher import _file_ys_xs, gradients, hessian_values

    low = d.lowered
    g = low.graph
    names_h, values_h = hessian_values(d)  # TF's numbers (and TF's errors)
    ys, xs, ynames, xnames = _file_ys_xs(d)
    chosen = [i for i, x in enumerate(xnames) if only is None or x in only]
    taken = set(g.nodes) | set(low.env)
    literals = {}
    for key, gname in low.leaf_of.items():
        node = g.nodes.get(gname)
        if node is not None and node.kind == "literal" and low.env[key].size == 1:
            literals[key] = float(low.env[key].reshape(-1)[0])
    forms, nodes, vals, extra, identities = [], [], [], {}, {}
    for i, x in enumerate(xs):
        if i not in chosen:
            nodes.append(None)
            vals.append(None)
            forms.append(None)
            continue
        (grad,) = gradients(ys, [x])
        hf = HessianForm(grad, x, taken, literals, identities)
        forms.append(hf)
        sx = squeeze(x.shape)
        nodes.append(hf.node if hf.node is not None else hf.hvp)
        if hf.node is not None:
            vals.append(np.asarray(values_h[i]).reshape(sx + sx))
            extra.update(hf.env())
        else:
            vals.append(None)
    seeds_ones = [replace(s) for s in d.seeds]
    d2 = Derived(low, seeds_ones, nodes, [], {})
    r0 = compute(d)
    r2 = Result(d2, vals, r0.seeds, [False] * len(vals))
    r2._values = r0._values
    ex = explain(d2, r2, [xnames[i] for i in chosen], False, False, extra)
    ex.order = 2
    ex.seeds = []
    ex.y_shapes = [tuple(y.shape) for y in ys]
    for e, i in zip(ex.entries, chosen):
        hf = forms[i]
        e.x_rank = len(squeeze(xs[i].shape))
        e.tf_shape = tuple(xs[i].shape) * 2
        if e.node is not None:
            e.shape = tuple(e.node.shape)
        e.hvp = hf.node is None
        if e.hvp:
            e.notation = formula_notation(e.node, ex.names)
            e.value = None
    _hessian_leaves(ex, forms, chosen, xnames)
    if steps:
        ex.second_sweeps = [(xnames[i], forms[i].records, forms[i].hvp, forms[i].u_name)
                            for i in chosen]
    return ex


@dataclass
class SweepStep:
    """One VJP of the second sweep: ``name = node`` (a node of the first
    gradient's expression), the cotangent ``G`` arriving (``g_name``), and
    what flows to each operand (``(target, node)``)."""

    number: int
    name: str
    node: Node
    g_name: str | None
    g_node: Node
    contributions: list[tuple[str, Node]]


def _second_sweep(ex: Explanation, records: list, u_name: str) -> tuple[list[SweepStep], dict]:
    """The second sweep as steps, with the names they print: each node of
    the first gradient the sweep visits is ``s1, s2...`` (a forward value
    keeps its name), its arriving cotangent ``ds1, ds2...``."""
    names = dict(ex.names)
    taken = set(ex.reserved) | {u_name}
    fresh_s = fresh_names("s", taken)
    label: dict[int, str] = {}

    def passes(n: Node) -> bool:
        """A reshape to the same squeezed shape or an identity: shown as its operand."""
        if type(n) is Ew and n.fn == "multiply" and any(
                _fill_value_of(a) == 1 for a in n._args):
            return True  # the ones seeding ∂L/∂x: (1·𝟙)∘A is A
        return is_transparent(n) or (type(n) is Move and n.kind == "reshape"
                                     and tuple(d for d in n.shape if d != 1)
                                     == tuple(d for d in n._args[0].shape if d != 1))

    def through(n: Node) -> Node:
        if type(n) is Ew and n.fn == "multiply":
            return next(a for a in n._args if _fill_value_of(a) != 1)
        return n._args[0]

    records = [r for r in records if not passes(r[0])]
    for node, _, _ in records:
        if id(node) not in label:
            nm = names.get(id(node))
            label[id(node)] = nm if isinstance(nm, str) else next(fresh_s)
    for node, _, cs in records:
        for operand, _ in cs:
            while passes(operand) and id(operand) not in label:
                operand = through(operand)
            if id(operand) not in label:
                nm = names.get(id(operand))
                if isinstance(nm, str):
                    label[id(operand)] = nm
                elif type(operand) is Tensor:
                    label[id(operand)] = operand.name
                else:
                    label[id(operand)] = next(fresh_s)
    # a step's cotangent prints by its d-name in the steps after it
    steps: list[SweepStep] = []
    for k, (node, total, cs) in enumerate(records, 1):
        g_name = None
        if not (type(total) is Tensor or (type(total) is Move and total._args
                                          and type(total._args[0]) is Tensor)):
            g_name = "d" + label[id(node)]
        contribs = []
        for o, c in cs:
            while passes(o) and id(o) not in label:
                o = through(o)
            contribs.append(("d" + label[id(o)], c))
        steps.append(SweepStep(k, label[id(node)], node, g_name, total, contribs))
    for st in steps:
        # node definitions print their operands by label
        for o in st.node._args:
            base = o
            while passes(base) and id(base) not in label:
                base = through(base)
            if id(base) in label and id(base) not in names:
                names[id(base)] = label[id(base)]
    for st in steps:
        if st.g_name is not None:
            names.setdefault(id(st.g_node), st.g_name)
    return steps, names


def _fill_value_of(n: Node) -> float | None:
    from .display.printers import fill_of

    f = fill_of(n)
    return None if f is None else f.value


def _hessian_leaves(ex: Explanation, forms: list, chosen: list[int], xnames: list[str]) -> None:
    """The identity ``I`` (where a formula prints it: ``diag(a)·I`` prints
    as ``diag(a)``) and the direction ``u`` in the where list."""
    added: set[str] = set()
    fm = _Formulas(ex, _Style("text", True, 2))
    printed = "\n".join([fm(e.node, e.notation) for e in ex.entries if e.node is not None]
                        + [fm(p.node, p.notation, define=True) for p in ex.pieces])
    for i in chosen:
        hf = forms[i]
        for name, v in hf.env().items():
            shown = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", printed) is not None
            if shown and name not in added:
                added.add(name)
                ex.leaves.append(Leaf(name, "identity", v.shape, v, True,
                                      "the identity (1 where the two halves of its index agree)"))
        if hf.node is None and hf.u_name not in added:
            added.add(hf.u_name)
            ex.leaves.append(Leaf(hf.u_name, "direction", hf.su, np.zeros(hf.su), True,
                                  f"a direction of {xnames[i]}'s shape: the formula is the "
                                  "Hessian times u"))
    ex.reserved |= added


def _printed_names(ex: Explanation, g: Any, low: Any) -> set[str]:
    """Every name a formula of ``ex`` can print (graph nodes, leaves, seeds,
    pieces): index letters avoid them."""
    out = set(g.nodes) | set(low.env) | {s.name for s in ex.seeds}
    out |= {v for v in ex.names.values() if isinstance(v, str)}
    out |= {p.name for p in ex.pieces}
    return out


def _node_values(d: Derived, roots: list[Node], extra_env: dict | None = None) -> dict[int, np.ndarray]:
    """The engine's value of every node of the gradients (small graphs) or
    an empty mapping (large ones: only the element form and nan origins use it)."""
    nodes = walk(roots)
    if not nodes or sum(n.size for n in nodes) > 2_000_000:
        return {}
    env = d.lowered.env if not extra_env else {**d.lowered.env, **extra_env}
    if any(type(n) is Tensor and n.name not in env for n in nodes):
        return {}  # H·u: the direction u has no value
    vals = d.lowered.evaluate(nodes, env)
    return {id(n): np.asarray(v) for n, v in zip(nodes, vals)}


def _seed_leaves(d: Derived, r: Result) -> list[Leaf]:
    out = []
    g = d.graph
    for s, v in zip(d.seeds, r.seeds):
        where = f"ys[{s.index}] {s.y}" if len(d.seeds) > 1 else s.y
        gy = g.grad_ys[s.index] if g.grad_ys is not None else None
        if gy is None or (gy.value is None and gy.ref is None):
            note = f"ones (no grad_ys entry): the seed of {where}"
            integral = True
        elif gy.value is not None:
            note = f"grad_ys[{s.index}]: the seed of {where}"
            integral = bool(gy.value.integral)
        else:
            note = f"grad_ys[{s.index}], the value of {gy.ref}: the seed of {where}"
            integral = is_integral(v)
        name = s.node.name if type(s.node) is Tensor else (gy.ref if gy is not None and gy.ref else f"g{s.index + 1}")
        out.append(Leaf(name, "seed", tuple(np.shape(v)), np.asarray(v), integral, note))
    return out


def _leaves(d: Derived, referenced: set[str], display_of: dict[str, Any]) -> list[Leaf]:
    low = d.lowered
    g = low.graph
    owners: dict[str, str] = {}
    for name in g.order:
        for a in g.nodes[name].args:
            if g.nodes.get(a) is not None and g.nodes[a].kind == "literal" and a not in owners:
                owners[a] = name.split("/")[0]
    out = []
    for key, gname in low.leaf_of.items():
        shown = display_of.get(key, key)
        if not isinstance(shown, str) or (shown not in referenced and key not in referenced):
            continue
        node = g.nodes[gname]
        arr = low.env[key]
        integral = bool(node.value.integral) if node.value is not None else is_integral(arr)
        note = f"a literal in {owners.get(gname, gname.split('/')[0])}" if node.kind == "literal" \
            else node.kind
        out.append(Leaf(shown, node.kind, tuple(arr.shape), arr, integral, note))
    return out


# ---------------------------------------------------------------- nan and inf origins


def _origins(root: Node, vals: dict[int, np.ndarray]) -> list[Origin]:
    """The first nodes (operands before users) where a nan or an inf arises
    from finite operands (or a nan from operands without one)."""
    if not vals:
        return []
    out: list[Origin] = []
    for n in walk([root]):
        if not n._args or id(n) not in vals:
            continue
        v = vals[id(n)]
        if v.dtype.kind != "f" or np.all(np.isfinite(v)):
            continue
        ops = [vals.get(id(a)) for a in n._args]
        if any(o is None for o in ops):
            continue
        fl = [o for o in ops if o.dtype.kind == "f"]
        if type(n) is Ew:
            with np.errstate(all="ignore"):
                nan_new = np.isnan(v)
                inf_new = np.isinf(v)
                for o in fl:
                    ob = np.broadcast_to(o, v.shape)
                    nan_new = nan_new & ~np.isnan(ob)
                    inf_new = inf_new & np.isfinite(ob)
        else:
            any_nan = any(np.isnan(o).any() for o in fl)
            any_inf = any(np.isinf(o).any() for o in fl)
            nan_new = np.isnan(v) & (not any_nan)
            inf_new = np.isinf(v) & (not any_nan and not any_inf)
        for what, mask in (("inf", inf_new), ("nan", nan_new)):
            if np.any(mask) and not any(o.what == what for o in out):
                idx = tuple(int(i) for i in np.argwhere(mask)[0]) if v.ndim else ()
                out.append(Origin(what, n, idx, _origin_detail(n, idx, ops, v)))
        if len(out) >= 2:
            break
    return out


def _origin_detail(n: Node, idx: tuple, ops: list[np.ndarray], v: np.ndarray) -> str:
    val = number_text(float(v[idx] if v.ndim else v))
    if type(n) is Ew:
        nums = []
        for o in ops:
            ob = np.broadcast_to(o, v.shape)
            x = ob[idx] if ob.ndim else ob
            t = number_text(float(x)) if o.dtype.kind == "f" else str(bool(x) if o.dtype.kind == "b" else x)
            nums.append(f"({t})" if t.startswith("-") else t)
        if n.fn == "add":
            return " + ".join(nums) + f" = {val}"
        try:
            body = FUNCS[n.fn].text.format(*nums, args=", ".join(nums))
        except (IndexError, KeyError):
            body = f"{n.fn}({', '.join(nums)})"
        return f"{body} = {val}"
    return f"= {val}"


# ---------------------------------------------------------------- element form


def _longest_path(d: Derived) -> int:
    g = d.graph
    depth: dict[str, int] = {}
    for name in g.order:
        node = g.nodes[name]
        depth[name] = (1 + max((depth.get(a, 0) for a in node.args), default=0)) \
            if node.kind == "op" else 0
    return max(depth.values(), default=0)


def _element_form(d: Derived, r: Result, ex: Explanation, forced: bool | None,
                  vals: dict[int, np.ndarray], display_of: dict[str, Any]) -> None:
    low = d.lowered
    sizes = {}
    for name, v in low.nodes.items():
        for n in (v if isinstance(v, list) else [v]):
            sizes[name.split("/")[0]] = max(sizes.get(name.split("/")[0], 0), n.size)
    if not sizes:
        return
    biggest = max(sizes, key=lambda n: sizes[n])
    cap = FORCED_MAX_ELEMENTS if forced else AUTO_MAX_ELEMENTS
    word = "skipped" if forced else "off"
    if sizes[biggest] > cap:
        if forced:
            ex.notes.append(f"element form skipped: {biggest} has {sizes[biggest]} elements "
                            f"(at most {cap} for explicit scalar formulas)")
        else:
            ex.notes.append(f"element form off: {biggest} has {sizes[biggest]} elements, more "
                            f"than {cap} (--elementwise forces it)")
        return
    path = _longest_path(d)
    if path > MAX_PATH:
        ex.notes.append(f"element form {word}: the longest chain has {path} ops, more than "
                        f"{MAX_PATH} (the scalar formulas would be unreadable)")
        return
    if not vals:
        return
    integral = {k: bool(is_integral(v)) and low.integral for k, v in low.env.items()}
    for k, v in low.env.items():
        gname = low.leaf_of.get(k)
        node = low.graph.nodes.get(gname) if gname else None
        if node is not None and node.value is not None:
            integral[k] = bool(node.value.integral)
    for s, leaf in zip(d.seeds, ex.seeds):
        if type(s.node) is Tensor:
            integral[s.node.name] = leaf.integral
    held: dict[int, str] = {}
    for ref in low.graph.stop_gradients:
        if low.graph.nodes[ref.name].kind == "op":
            held[id(low.nodes[ref.name])] = ref.name
    opaque: dict[int, str] = {}
    fresh_k = fresh_names("k", set(low.graph.nodes) | set(low.env))

    def opaque_name(n: Node) -> str:
        nm = ex.names.get(id(n))
        if isinstance(nm, str):
            return nm
        if id(n) not in opaque:
            opaque[id(n)] = next(fresh_k)
        return opaque[id(n)]

    def value_of(n: Node) -> np.ndarray:
        v = vals.get(id(n))
        if v is None:
            if type(n) is Tensor:
                return low.env[n.name]
            v = low.evaluate([n])[0]
            vals[id(n)] = np.asarray(v)
        return vals[id(n)]

    limit = MAX_FORMULA_SIZE if forced else AUTO_MAX_FORMULA_SIZE
    builder = ElementBuilder(value_of, integral, held, opaque_name, limit)
    # scalar literals are their numbers in formulas too
    for key, shown in display_of.items():
        if not isinstance(shown, str):
            leaf = low.nodes[low.leaf_of[key]]
            from sympy import Integer, Float
            builder.memo[id(leaf)] = [Integer(int(shown)) if float(shown).is_integer() and abs(shown) < 2**53
                                      else Float(shown, 17)]
    results = []
    try:
        for e in ex.entries:
            if e.node is None:
                continue
            flat = builder.build(e.node)
            value = np.asarray(e.value, dtype=np.float64).reshape(-1)
            idxs = list(np.ndindex(*e.shape)) if e.shape else [()]
            elems = []
            for k, idx in enumerate(idxs):
                f = flat[k] if len(flat) > 1 else flat[0]
                size = tree_size(f, limit)
                if size > limit:
                    where = f"∂L/∂{e.name}{element_suffix(e.shape, idx)}"
                    ex.notes.append(
                        f"element form {word}: the scalar formula of {where} has more than "
                        f"{limit} nodes" + ("" if forced else " (--elementwise forces it)"))
                    return
                elems.append(Element(tuple(idx), f, float(value[k])))
            results.append((e, elems))
    except (TooBig, RecursionError):
        ex.notes.append(f"element form {word}: the scalar formulas are too large")
        return
    ex.element_numbers = builder.numbers
    ex.element_texts = builder.texts
    for e, elems in results:
        for el in elems:
            _check_element(e, el, builder.numbers)
        e.elements = elems
    if opaque:
        for n_id, nm in opaque.items():
            node = next(n for n in walk([e.node for e, _ in results]) if id(n) == n_id)
            ex.pieces.append(Piece(nm, "opaque", node, 1, formula_notation(node, ex.names)))


def _check_element(e: XEntry, el: Element, numbers: dict[str, float]) -> None:
    """An element formula never contradicts its value: where IEEE arithmetic
    on the formula (exact algebra already applied by SymPy) differs from
    TF's number, show the number and say why."""
    try:
        got = ieee(el.formula, numbers)
    except Exception:  # noqa: BLE001
        got = math.nan
    want = el.value
    same = (math.isnan(got) and math.isnan(want)) or (
        not math.isnan(got) and not math.isnan(want) and (got == want or math.isclose(
            got, want, rel_tol=1e-9, abs_tol=1e-12)))
    if same:
        return
    shown = number_text(got)
    el.note = (f"exact algebra on this formula gives {shown}; TF's kernels, which compute "
               f"every intermediate in floating point, give {number_text(want)}")
    el.formula = None


# ---------------------------------------------------------------- the backward pass


def _d_name(node: str, taken: set[str]) -> str:
    base = f"d{node}" if "/" not in node else f"d({node})"
    name = base
    while name in taken:
        name = "d_" + name[1:] if not name.startswith("d_") else "d_" + name
    taken.add(name)
    return name


def _call_text(d: Derived, node_name: str, display_of: dict[str, Any]) -> str:
    low = d.lowered
    g = low.graph
    node = g.nodes[node_name]
    key_of = {gname: key for key, gname in low.leaf_of.items()}
    args = []
    for a in node.args:
        an = g.nodes[a]
        if an.kind == "literal":
            shown = display_of.get(key_of.get(a, ""), a)
            args.append(shown if isinstance(shown, str) else number_text(shown))
        else:
            args.append(a)
    op = lookup(node.op) if node.op else None
    for k, v in node.attrs.items():
        p = op.param(k) if op is not None else None
        if p is not None and not p.required and v == p.default:
            continue
        # as TF's Python call and explain's formulas write it (reverse=True)
        txt = "True" if v is True else "False" if v is False else "None" if v is None else str(v)
        args.append(f"{k}={txt}")
    return f"{node.op}({', '.join(args)})"


def _steps(d: Derived, ex: Explanation, taken_in: set[str], display_of: dict[str, Any]) -> None:
    low = d.lowered
    g = low.graph
    taken = set(taken_in) | {str(v) for v in display_of.values()}
    out_node = {name: low.nodes[name] for name in g.order
                if g.nodes[name].kind == "op" and isinstance(low.nodes.get(name), Node)}
    out_of = {id(v): k for k, v in out_node.items()}
    groups: dict[str, list] = {}
    for rec in d.steps:
        name = owner_of(rec[0])
        if name is None:
            continue
        groups.setdefault(name, []).append(rec)
    d_of: dict[str, str] = {}

    def dname(node: str) -> str:
        if node not in d_of:
            d_of[node] = _d_name(node, taken)
        return d_of[node]

    names: dict[int, Any] = {k: v for k, v in ex.names.items()}
    seed_ids = ex.seed_ids
    # each op's arriving cotangent (and each leaf x's total) prints by its d-name
    totals: dict[str, Node] = {}
    for name, recs in groups.items():
        for node, total, _ in recs:
            if node is out_node.get(name):
                totals[name] = total
    xs_leaf = [x.name for x in g.xs if g.nodes[x.name].kind != "op"]
    for name, total in totals.items():
        if id(total) not in seed_ids and id(total) not in names:
            names[id(total)] = dname(name)
    grads = {x.name: gr for x, gr in zip(g.xs, d.gradients)}
    for x in xs_leaf:
        gr = grads.get(x)
        if gr is not None and id(gr) not in seed_ids and id(gr) not in names and type(gr) is not Fill:
            names[id(gr)] = dname(x)
    entries: list[StepEntry] = []
    number_of: dict[str, int] = {}
    stop_names = {s.name for s in g.stop_gradients}
    for n, (name, recs) in enumerate(groups.items(), 1):
        number_of[name] = n
        gnode = g.nodes[name]
        total = totals.get(name)
        own = d_of.get(name) if total is not None and names.get(id(total)) == d_of.get(name) else None
        contribs = []
        got: set[str] = set()
        for node, tot, cs in recs:
            for operand, c in cs:
                o = owner_of(operand)
                if o == name and operand is not out_node.get(name):
                    continue
                arg = o if o is not None else "?"
                label = _arg_label(d, arg, display_of)
                got.add(arg)
                summed = None
                if type(node) is Move and node.kind == "broadcast":
                    summed = (tuple(node.shape), tuple(operand.shape))
                contribs.append(Contrib(label, dname(arg), c, summed))
        skipped = [_arg_label(d, a, display_of) for a in dict.fromkeys(gnode.args) if a not in got]
        op = lookup(gnode.op) if gnode.op else None
        rule = op.rule if op is not None else ""
        entries.append(StepEntry(n, name, gnode.op or "", _call_text(d, name, display_of), rule,
                                 own, total, contribs, skipped))
    for s in g.stop_gradients:
        if g.nodes[s.name].kind == "op" and s.name not in groups:
            arrived = any(c.target == d_of.get(s.name) for st in entries for c in st.contributions)
            if arrived:
                gnode = g.nodes[s.name]
                op = lookup(gnode.op) if gnode.op else None
                entries.append(StepEntry(len(entries) + 1, s.name, gnode.op or "",
                                         _call_text(d, s.name, display_of),
                                         op.rule if op is not None else "", d_of.get(s.name),
                                         grads.get(s.name), [], [], stopped=True))
                number_of[s.name] = len(entries)
    collected: list[Collected] = []
    for x, gr in zip(g.xs, d.gradients):
        if gr is None:
            collected.append(Collected(x.name, "none", None, None, None))
        elif type(gr) is Fill and gr.value == 0 and g.unconnected_gradients == "zero":
            collected.append(Collected(x.name, "zero", None, gr, None))
        elif g.nodes[x.name].kind == "op":
            collected.append(Collected(x.name, "connected", None, gr, number_of.get(x.name)))
        else:
            own = names.get(id(gr)) if names.get(id(gr)) == d_of.get(x.name) else None
            collected.append(Collected(x.name, "connected", own, gr, None))
    ex.steps = entries
    ex.step_names = names
    ex.collected = collected
    inner = next((s for s in reversed(entries) if "/" in s.node), None)
    if inner is not None:
        ex.inline_note = (f"({inner.node} is the {inner.op} written inside "
                          f"{inner.node.split('/')[0]}'s expression; ops written inline are steps too)")


def _arg_label(d: Derived, a: str, display_of: dict[str, Any]) -> str:
    low = d.lowered
    node = low.graph.nodes.get(a)
    if node is not None and node.kind == "literal":
        key = next((k for k, gname in low.leaf_of.items() if gname == a), None)
        shown = display_of.get(key, a) if key else a
        return shown if isinstance(shown, str) else number_text(shown)
    return a


# ================================================================ rendering


LEGEND_TEXT = [
    ("∂²L/∂", "∂²L/∂x²: the Hessian tf.hessians returns for x (∂²L/∂W[i,j]∂W[k,l]: one element)"),
    ("∂L/∂", "∂L/∂x: the gradient tf.gradients returns for x"),
    ("diag(", "diag(a) the diagonal matrix with a on its diagonal"),
    ("·", "· product (of matrices: A·B; k·A: a number times a tensor)"),
    ("∘", "∘ elementwise product"),
    ("⊘", "⊘ elementwise division"),
    ("ᵀ", "ᵀ transpose"),
    ("𝟙", "𝟙 ones, of the shape the formula needs (𝟙ᵀ·X sums over rows, X·𝟙 over columns)"),
    ("𝟎", "𝟎 a tensor of zeros"),
    ("Σ", "Σₖ sum over index k"),
    ("IVERSON", "[c] 1 where the condition c holds, else 0"),
    ("INDEX", "X[i,j] the element of X at i, j"),
    ("√", "√ elementwise square root"),
    ("σ", "σ sigmoid"),
    ("½", "½ one half"),
]
LEGEND_ASCII = [
    ("d2L/d", "d2L/dx2: the Hessian tf.hessians returns for x"),
    ("dL/d", "dL/dx: the gradient tf.gradients returns for x"),
    ("diag(", "diag(a) the diagonal matrix with a on its diagonal"),
    (" @ ", "@ matrix product"),
    (" * ", "* elementwise product (or a number times a tensor)"),
    (" / ", "/ elementwise division"),
    (".T", ".T transpose"),
    ("ones(", "ones(shape) a tensor of ones"),
    ("zeros(", "zeros(shape) a tensor of zeros"),
    ("sum_", "sum_k sum over index k"),
    ("IVERSON", "[c] 1 where the condition c holds, else 0"),
    ("INDEX", "X[i,j] the element of X at i, j"),
]
LEGEND_LATEX = [
    (r"\partial^{2}", r"$\partial^{2} L / \partial x^{2}$ the Hessian tf.hessians returns for $x$"),
    (r"\operatorname{diag}", r"$\operatorname{diag}(a)$ the diagonal matrix with $a$ on its diagonal"),
    (r"\cdot", r"$\cdot$ matrix product"),
    (r"\circ", r"$\circ$ elementwise product"),
    (r"\oslash", r"$\oslash$ elementwise division"),
    (r"^{\top}", r"$^{\top}$ transpose"),
    (r"\mathbf{1}", r"$\mathbf{1}$ a tensor of ones of the shape the formula needs"),
    (r"\mathbf{0}", r"$\mathbf{0}$ a tensor of zeros"),
    (r"\sum", r"$\sum_k$ sum over index $k$"),
    ("IVERSON", r"$[c]$ 1 where $c$ holds, else 0"),
    ("INDEX", r"$X[i,j]$ the element of $X$ at $i, j$"),
]


def _legend(chunks: list[str], ex: Explanation, style: str) -> str:
    text = "\n".join(chunks)
    if re.search(r"(?<![\w\]])(?:\\left)?\[(?![\d\[\-\]])", text):
        text += "\nIVERSON"
    if re.search(r"\w\[[a-z]", text):
        text += "\nINDEX"
    table = LEGEND_LATEX if style == "latex" else LEGEND_ASCII if style == "ascii" else LEGEND_TEXT
    items = [desc for sym, desc in table if sym in text]
    names = set(re.findall(r"(?<![A-Za-z0-9_])([gctk]\d+)(?![A-Za-z0-9_])", text))
    if style == "latex":
        names |= {f"{a}{b}" for a, b in re.findall(r"(?<![A-Za-z\\])([gctk])_\{(\d+)\}", text)}
    known = {s.name for s in ex.seeds} | {l.name for l in ex.leaves} | {p.name for p in ex.pieces}
    kinds = []
    if any(n.startswith("g") and n in known for n in names):
        kinds.append("g1, g2... the seeds (ones or grad_ys)")
    if any(n.startswith("c") and n in known for n in names):
        kinds.append("c1, c2... literals written inline")
    if any(n.startswith("t") and n in known for n in names):
        kinds.append("t1, t2... shared or deep pieces, defined below")
    if any(n.startswith("k") and n in known for n in names):
        kinds.append("k1, k2... kernels shown by their value")
    items += kinds
    if not items:
        return ""
    if style == "latex":
        return r"\noindent\textit{Legend:} " + "; ".join(
            x if x.startswith("$") else latex_escape(x) for x in items) + r".\par"
    return "legend: " + "; ".join(items)


class _Style:
    def __init__(self, fmt: str, unicode: bool, order: int = 1) -> None:
        self.fmt = fmt
        self.unicode = unicode
        self.latex = fmt == "latex"
        self.style = "latex" if self.latex else ("text" if unicode else "ascii")
        self.order = order

    def partial(self, x: str) -> str:
        if self.order == 2:
            return self.partial2(x, x)
        if self.latex:
            return r"\frac{\partial L}{\partial " + latex_name(x) + "}"
        return f"∂L/∂{x}" if self.unicode else f"dL/d{x}"

    def partial2(self, a: str, b: str) -> str:
        """``∂²L/∂w²`` (a == b) or ``∂²L/∂W[i,j]∂W[k,l]``."""
        if self.latex:
            den = (r"\partial " + latex_name(a) + "^{2}") if a == b else \
                (r"\partial " + latex_name(a) + r" \, \partial " + latex_name(b))
            return r"\frac{\partial^{2} L}{" + den + "}"
        if a == b:
            return f"∂²L/∂{a}²" if self.unicode else f"d2L/d{a}2"
        return f"∂²L/∂{a}∂{b}" if self.unicode else f"d2L/d{a}d{b}"

    def name(self, n: str) -> str:
        return latex_name(n) if self.latex else n


class _Formulas:
    """Prints formulas of one explanation in one style, collecting kernel notes."""

    def __init__(self, ex: Explanation, st: _Style, names: dict[int, Any] | None = None) -> None:
        self.ex = ex
        self.st = st
        self.names = ex.names if names is None else names
        self.notes: dict[str, str] = {}

    def __call__(self, node: Node, notation: str | None = None, define: bool = False) -> str:
        nt = notation or formula_notation(node, self.names)
        p = printer(self.st.style, self.names, nt, self.notes, self.ex.sums, self.ex.seed_ids,
                    self.ex.reserved)
        idx = self.letters(node.rank) if nt == "index" else ()
        if define:
            return p.formula(node, idx)
        nm = self.names.get(id(node))
        if nm is not None:
            p.root = None
            p.idx = idx
            return p._print(node)
        return p.formula(node, idx)

    def letters(self, rank: int) -> tuple[str, ...]:
        """The free index letters of a rank-``rank`` formula: none is a name
        the explanation prints (trial finding 11: a variable named ``k``)."""
        return index_letters(rank, self.ex.reserved)

    def lhs(self, node: Node, name: str, notation: str, entry: XEntry | None = None) -> str:
        """``∂L/∂W`` or ``∂L/∂W[i,j,k]`` (index notation); for a Hessian
        ``∂²L/∂w²``, ``∂²L/∂W[i,j]∂W[k,l]``, or ``∂²L/∂w²·u`` (H·u)."""
        if self.st.order == 2 and entry is not None:
            return self.lhs2(node, name, notation, entry)
        if notation == "index" and node.rank and node.size > 1:
            at = "[" + ",".join(self.letters(node.rank)) + "]"
            return self.st.partial(name) + at if not self.st.latex else self.st.partial(name + at)
        return self.st.partial(name)

    def lhs2(self, node: Node, name: str, notation: str, e: XEntry) -> str:
        st = self.st
        if e.hvp:
            dot = {"text": "·", "ascii": " @ ", "latex": r" \cdot "}[st.style]
            u = next((l.name for l in self.ex.leaves if l.kind == "direction"), "u")
            base = st.partial2(name, name) + dot + st.name(u)
            if notation == "index" and node.rank and node.size > 1:
                at = "[" + ",".join(self.letters(node.rank)) + "]"
                return (r"\left(" + base + r"\right)" if st.latex else f"({base})") + at
            return base
        if notation == "index" and node.rank and node.size > 1:
            letters = self.letters(node.rank)
            r = e.x_rank
            a = name + "[" + ",".join(letters[:r]) + "]"
            b = name + "[" + ",".join(letters[r:]) + "]"
            return st.partial2(a, b)
        return st.partial2(name, name)

    def piece_lhs(self, p: Piece) -> str:
        nm = self.st.name(p.name)
        if p.notation == "index" and p.node.rank and p.node.size > 1:
            return nm + "[" + ",".join(self.letters(p.node.rank)) + "]"
        return nm


def _objective_sum(ex: Explanation, st: _Style) -> str:
    """tf.hessians' L: the sum of every element of every y."""
    terms = []
    for y, shape in zip(ex.ys, ex.y_shapes or [()] * len(ex.ys)):
        one = int(np.prod(shape)) == 1
        if st.latex:
            terms.append(latex_name(y) if one else r"\sum " + latex_name(y))
        else:
            terms.append(y if one else (f"Σ {y}" if st.unicode else f"sum({y})"))
    return " + ".join(terms)


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


def _element_rows(ex: Explanation, e: XEntry, st: _Style, matrix_text: str) -> list[tuple[str, list[str], str | None]]:
    assert e.elements is not None
    out = []
    for el in e.elements:
        suffix = element_suffix(e.shape, el.index)
        left = st.partial(e.name + suffix)
        val = (number_latex if st.latex else number_text)(el.value, e.integral)
        note = el.note
        if el.formula is None:
            out.append((left, [val], note))
            continue
        notes_out: list = []
        if st.latex:
            formula = ScalarLatex({"numbers": ex.element_numbers, "notes_out": notes_out}).doprint(el.formula)
            subst = ScalarLatex({"numbers": ex.element_numbers, "texts": ex.element_texts}).doprint(el.formula)
        else:
            formula = ScalarText({"numbers": ex.element_numbers, "unicode": st.unicode,
                                  "notes_out": notes_out}).doprint(el.formula)
            subst = ScalarText({"numbers": ex.element_numbers, "texts": ex.element_texts,
                                "unicode": st.unicode}).doprint(el.formula)
            if not st.unicode:
                formula, subst = to_ascii(formula), to_ascii(subst)
        if notes_out and note is None:
            pw, (cond, held, value) = notes_out[0]
            cp = ScalarText({"numbers": ex.element_numbers, "unicode": st.unicode})
            ctext = cp.doprint(cond)
            ctext_n = ScalarText({"numbers": ex.element_numbers, "texts": ex.element_texts,
                                  "unicode": st.unicode}).doprint(cond)
            note = (f"{ctext} is {'true' if held else 'false'} here ({ctext_n}): TF's "
                    f"kernel takes the branch worth {value}")
            if not st.unicode:
                note = to_ascii(note)
        parts = [formula, subst, val]
        kept: list[str] = []
        for p in parts:
            if not kept or p != kept[-1]:
                kept.append(p)
        if len(e.elements) == 1 and kept[0] == matrix_text and note is None:
            continue
        out.append((left, kept, note))
    return out


# ---------------------------------------------------------------- text


def render_text(ex: Explanation, ascii: bool = False) -> str:
    st = _Style("text", not ascii, ex.order)
    fm = _Formulas(ex, st)
    out: list[str] = []
    formulas: list[str] = []
    if ex.title:
        out.append(_safe(ex.title, st))
    u = st.unicode
    out.append(f"ys = {_names_list(ex.ys, u)} seeded with "
               f"{_names_list([s.name for s in ex.seeds], u)}, xs = {_names_list(ex.all_xs, u)}")
    if ex.order == 2:
        out[-1] = f"ys = {_names_list(ex.ys, u)}, xs = {_names_list(ex.all_xs, u)}"
        out.append(f"tf.hessians returns {st.partial2('x', 'x')} for each x, where L = "
                   f"{_objective_sum(ex, st)}")
    else:
        dx = "∂L/∂x" if u else "dL/dx"
        out.append(f"tf.gradients returns {dx} for each x, where L = {_objective(ex, st)}")
    if ex.stop_gradients:
        out.append(f"stop_gradients = [{', '.join(ex.stop_gradients)}]: held constant "
                   "(partial derivatives: no gradient flows through them into their inputs)")
    for note in ex.notes:
        out.append(f"({note if u else to_ascii(note)})")
    head = len(out)
    for e in ex.entries:
        out.append("")
        left = st.partial(e.name)
        pad = " " * len(left)
        if e.status == "none":
            out.append(f"{left} = None   (no y depends on {e.name}: tf.gradients returns None)")
            continue
        expr = fm(e.node, e.notation)
        formulas.append(expr)
        lhs = fm.lhs(e.node, e.name, e.notation, e)
        if e.status == "zero":
            out.append(f"{lhs} = {expr}   ({e.name} is unconnected; unconnected_gradients: "
                       "zero asks for zeros)")
        else:
            out.append(f"{lhs} = {expr}")
        if e.value is None:
            out.append(f"{pad}   (the Hessian times a direction u, as the second sweep builds it: "
                       f"{_no_form_text(e)}; `tfgrad hessian` prints its values)")
            continue
        lines = value_lines(e.value, e.integral)
        out.append(f"{pad} = {lines[0]}")
        out.extend(f"{pad}   {ln}" for ln in lines[1:])
        if ex.order == 2 and e.tf_shape != tuple(e.shape):
            out.append(f"{pad}   (tf.hessians gives these {int(np.prod(e.shape))} numbers in "
                       f"shape {fmt_shape(e.tf_shape)}, {e.name}.shape + {e.name}.shape)")
        if ex.order == 2 and not np.all(np.isfinite(np.asarray(e.value, dtype=float))):
            out.append(f"{pad}   ({HESSIAN_NONFINITE})")
        for o in e.origins:
            out.append("  " + _origin_text(o, ex, fm, e))
        if e.elements is not None:
            for lhs_e, parts, note in _element_rows(ex, e, st, expr):
                formulas.extend(parts)
                out.append(f"  {lhs_e} = " + " = ".join(parts) + (f"   ({note})" if note else ""))
    where = _where_rows(ex, st, fm, formulas)
    if where:
        out.append("")
        out.append("where")
        width = min(36, max(len(r[0]) for r in where))
        for first, rest, note in where:
            out.append(f"  {first.ljust(width)}  {note}".rstrip())
            out.extend(f"  {ln}" for ln in rest)
    if ex.steps is not None:
        out.append("")
        out.extend(_steps_text(ex, st, formulas))
    for x, records, hvp, u_name in ex.second_sweeps or ():
        out.append("")
        out.extend(_second_sweep_text(ex, st, x, records, hvp, u_name, formulas))
    notes = _kernel_notes(fm.notes, st)
    for n in notes:
        out.append(n)
    legend = _legend(formulas + out[head:], ex, st.style)
    if legend:
        out.append(legend)
    text = "\n".join(out) + "\n"
    return text if u else to_ascii(text)


HESSIAN_NONFINITE = (
    "these are TF's numbers, from one sweep per entry: where a derivative is not finite, 0·inf "
    "is nan, and the formula evaluated as written can put nan in other places than TF's sweeps do")


def _no_form_text(e: XEntry) -> str:
    return "the Hessian itself has no closed form from these rules"


def _safe(s: str, st: _Style) -> str:
    s = "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" for ch in s)
    return s if st.unicode else to_ascii(s)


def _kernel_notes(notes: dict[str, str], st: _Style) -> list[str]:
    out = []
    for fn, doc in notes.items():
        text = f"note: {fn}(...) is printed as its formula; {doc}" if fn in FUNCS else f"note: {doc}"
        line = text if st.unicode else to_ascii(text)
        out.append(line)
    return out


def _origin_text(o: Origin, ex: Explanation, fm: _Formulas, e: XEntry) -> str:
    nm = fm.names.get(id(o.node))
    where = element_suffix(o.node.shape, o.index)
    if isinstance(nm, str):
        what = nm
    else:
        body = fm(o.node, "matrix" if o.node.rank <= 2 else None, define=True)
        what = body if len(body) <= 80 else body[:77] + "..."
    return f"({o.what} arises at {what}{(' element ' + where) if where else ''}: {o.detail})"


def _names_list(names: list[str], unicode: bool, most: int = 12) -> str:
    if len(names) <= most:
        return "[" + ", ".join(names) + "]"
    dots = "…" if unicode else "..."
    return "[" + ", ".join(names[:most - 2]) + f", {dots} {names[-1]}] ({len(names)} names)"


def _show_value(ex: Explanation, leaf: Leaf) -> bool:
    return int(np.prod(leaf.shape)) <= AUTO_MAX_ELEMENTS or bool(ex.element_texts)


def _where_rows(ex: Explanation, st: _Style, fm: _Formulas, formulas: list[str]) -> list:
    rows: list = []

    def value_row(name: str, a: np.ndarray, integral: bool, note: str) -> None:
        lines = value_lines(a, integral)
        head = f"{name} = "
        rows.append((head + lines[0], [" " * len(head) + ln for ln in lines[1:]], note))

    needed = set()
    for e in ex.entries:
        needed.update(e.needs)
    for s in ex.seeds:
        value_row(s.name, s.value, s.integral, s.note)
    for leaf in ex.leaves:
        if _show_value(ex, leaf):
            value_row(leaf.name, leaf.value, leaf.integral, leaf.note)
        else:
            rows.append((leaf.name, [], f"{leaf.note}, {fmt_shape(leaf.shape)}"))
    for p in ex.pieces:
        body = fm(p.node, p.notation, define=True) if p.kind != "opaque" else \
            fm(p.node, "matrix" if p.node.rank <= 2 else "index", define=True)
        formulas.append(body)
        head = f"{fm.piece_lhs(p)} = {body}"
        if p.kind == "forward":
            v, integral = ex.piece_values.get(p.name, (None, False))
            note = f"forward value, {fmt_shape(tuple(p.node.shape))}"
            rest = []
            if v is not None and v.size <= AUTO_MAX_ELEMENTS:
                lines = value_lines(v, integral)
                pad = " " * len(p.name)
                rest = [f"{pad} = {lines[0]}"] + [f"{pad}   {ln}" for ln in lines[1:]]
            rows.append((head, rest, note))
        elif p.kind == "opaque":
            rows.append((head, [], f"{fmt_shape(tuple(p.node.shape))}, no scalar form: "
                                   "its elements are shown by value"))
        else:
            why = f"used {p.uses} times" if p.kind == "shared" else "part of a deep expression"
            rows.append((head, [], f"{fmt_shape(tuple(p.node.shape))}, {why}"))
    return rows


def _second_sweep_text(ex: Explanation, st: _Style, x: str, records: list, hvp: Node | None,
                       u_name: str, formulas: list[str]) -> list[str]:
    steps, names = _second_sweep(ex, records, u_name)
    fm = _Formulas(ex, _Style(st.fmt, st.unicode, 1), names)
    d1 = "∂L/∂" if st.unicode else "dL/d"
    out = [f"second sweep for {x} (tf.hessians differentiates {d1}{x} once more: the reverse "
           f"sweep over its expression, seeded with a direction {u_name} of {x}'s shape; what "
           f"reaches {x} is the Hessian times {u_name}), node by node, last first"]
    width = len(str(len(steps)))
    for s in steps:
        ind = " " * (width + 4)
        body = fm(s.node, define=True)
        formulas.append(body)
        out.append(f"  {str(s.number).rjust(width)}. {s.name} = {body}")
        g = fm(s.g_node, define=s.g_name is not None)
        formulas.append(g)
        out.append(f"{ind}G = {s.g_name} = {g}" if s.g_name and g != s.g_name else f"{ind}G = {g}")
        for target, c in s.contributions:
            b = fm(c, define=names.get(id(c)) == target)
            formulas.append(b)
            out.append(f"{ind}{target} += {b}")
    if hvp is not None:
        b = fm(hvp, define=True)
        formulas.append(b)
        dot = "·" if st.unicode else " @ "
        out.append(f"at {x}: {st.partial2(x, x)}{dot}{u_name} = {b}")
    return out


def _steps_text(ex: Explanation, st: _Style, formulas: list[str]) -> list[str]:
    assert ex.steps is not None
    fm = _Formulas(ex, st, ex.step_names)
    out = ["backward pass, op by op, last op first (G: the gradient arriving at the op)"]
    if ex.inline_note:
        out.append("  " + ex.inline_note)
    width = len(str(len(ex.steps)))
    for s in ex.steps:
        ind = " " * (width + 4)
        out.append(f"  {str(s.number).rjust(width)}. {s.node} = {s.call}")
        if s.rule:
            out.append(f"{ind}rule: {s.rule if st.unicode else to_ascii(s.rule)}")
        if s.g_node is not None:
            g = fm(s.g_node, define=s.g_name is not None)
            formulas.append(g)
            out.append(f"{ind}G = {s.g_name} = {g}" if s.g_name and g != s.g_name else f"{ind}G = {g}")
        if s.stopped:
            out.append(f"{ind}{s.node} is in stop_gradients: held constant, nothing flows "
                       "on to its inputs")
        for c in s.contributions:
            body = fm(c.node, define=ex.step_names.get(id(c.node)) == c.target)
            formulas.append(body)
            line = f"{ind}{c.target} += {body}"
            if c.summed:
                arrow = "→" if st.unicode else "->"
                line += (f"   (broadcast {fmt_shape(c.summed[0])} {arrow} "
                         f"{fmt_shape(c.summed[1])} summed back)")
            out.append(line)
        if s.skipped and not s.stopped:
            out.append(f"{ind}({', '.join(s.skipped)}: skipped, no x feeds "
                       f"{'it' if len(s.skipped) == 1 else 'them'})")
    out.append("at the xs")
    for c in ex.collected:
        left = st.partial(c.x)
        if c.status == "none":
            out.append(f"  {left} = None   (nothing arrived at {c.x}: unconnected)")
        elif c.status == "zero":
            out.append(f"  {left} = {fm(c.node)}   (nothing arrived at {c.x}: unconnected, "
                       "zeros asked for)")
        elif c.step is not None:
            out.append(f"  {left} = {fm(c.node)}   (the G of step {c.step})")
        elif c.g_name:
            body = fm(c.node, define=True)
            formulas.append(body)
            out.append(f"  {left} = {c.g_name} = {body}")
        else:
            out.append(f"  {left} = {fm(c.node)}")
    return out


# ---------------------------------------------------------------- LaTeX


def render_latex(ex: Explanation) -> str:
    """A document fragment (needs ``\\usepackage{amsmath}``)."""
    st = _Style("latex", True, ex.order)
    fm = _Formulas(ex, st)
    formulas: list[str] = []
    out = [r"% tfgrad explain; needs \usepackage{amsmath}", r"\begingroup\allowdisplaybreaks"]
    if ex.title:
        out.append(r"\noindent\textbf{" + latex_escape(ex.title) + r"}\par")
    ys = ", ".join(latex_name(y) for y in ex.ys)
    xs = ", ".join(latex_name(x) for x in ex.all_xs)
    if ex.order == 2:
        out.append(r"\noindent $\mathit{ys} = [" + ys + r"]$, $\mathit{xs} = [" + xs + r"]$; "
                   r"\texttt{tf.hessians} returns $\partial^{2} L / \partial x^{2}$ for each $x$, where")
        out.append(r"\[ L = " + _objective_sum(ex, st) + r" \]")
    else:
        out.append(r"\noindent $\mathit{ys} = [" + ys + r"]$, $\mathit{xs} = [" + xs + r"]$; "
                   r"\texttt{tf.gradients} returns $\partial L / \partial x$ for each $x$, where")
        out.append(r"\[ L = " + _objective(ex, st) + r" \]")
    if ex.stop_gradients:
        names = ", ".join(latex_name(s) for s in ex.stop_gradients)
        out.append(r"\noindent \texttt{stop\_gradients} $= [" + names + r"]$ are held constant "
                   r"(partial derivatives).\par")
    for note in ex.notes:
        out.append(r"\noindent (" + latex_escape(to_ascii(note)) + r")\par")
    rows: list[str] = []
    for e in ex.entries:
        left = st.partial(e.name)
        if e.status == "none":
            rows.append(left + r" &= \text{None} && \text{no $y$ depends on $"
                        + latex_name(e.name) + r"$}")
            continue
        body = fm(e.node, e.notation)
        formulas.append(body)
        rows.append(f"{fm.lhs(e.node, e.name, e.notation, e)} &= {body}")
        if e.value is None:
            rows.append(r"&\quad \text{(the Hessian times a direction $u$; \texttt{tfgrad hessian} "
                        r"prints its values)}")
            continue
        rows.append(f"&= {value_latex(e.value, e.integral)}")
        for o in e.origins:
            rows.append(r"&\quad \text{" + latex_escape(to_ascii(_origin_text(o, ex, _Formulas(ex, _Style('text', False)), e))) + "}")
        if e.elements is not None:
            for lhs, parts, note in _element_rows(ex, e, st, body):
                formulas.extend(parts)
                rows.append(f"{lhs} &= " + " = ".join(parts)
                            + (r" && \text{" + latex_escape(to_ascii(note)) + "}" if note else ""))
    if rows:
        out.append(r"\begin{align*}")
        out.append(" \\\\\n".join(rows))
        out.append(r"\end{align*}")
    where = []
    for s in ex.seeds + ex.leaves:
        if s.kind != "seed" and not _show_value(ex, s):
            where.append(f"{latex_name(s.name)} && " r"\text{" + latex_escape(s.note) + ", "
                         + fmt_shape(s.shape) + "}")
            continue
        where.append(f"{latex_name(s.name)} &= {value_latex(s.value, s.integral)} && "
                     r"\text{" + latex_escape(s.note) + "}")
    for p in ex.pieces:
        body = fm(p.node, p.notation if p.kind != "opaque" else None, define=True)
        formulas.append(body)
        line = f"{fm.piece_lhs(p)} &= {body}"
        if p.kind == "forward":
            v, integral = ex.piece_values.get(p.name, (None, False))
            if v is not None and v.size <= AUTO_MAX_ELEMENTS:
                line += f" = {value_latex(v, integral)}"
            line += r" && \text{forward value}"
        elif p.kind == "opaque":
            line += r" && \text{shown by value}"
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
        out.extend(_steps_latex(ex, st, formulas))
    for x, records, hvp, u_name in ex.second_sweeps or ():
        steps, names = _second_sweep(ex, records, u_name)
        sf = _Formulas(ex, _Style("latex", True, 1), names)
        out.append(r"\noindent\textbf{Second sweep for $" + latex_name(x) + r"$}: the reverse sweep "
                   r"over $\partial L/\partial " + latex_name(x) + r"$'s expression, seeded with a "
                   r"direction $" + latex_name(u_name) + r"$; what reaches $" + latex_name(x)
                   + r"$ is the Hessian times $" + latex_name(u_name) + r"$.\par")
        rows = []
        for s in steps:
            b = sf(s.node, define=True)
            g = sf(s.g_node, define=s.g_name is not None)
            formulas.extend([b, g])
            rows.append(rf"&\text{{{s.number}. }} {latex_name(s.name)} = {b}")
            gl = (latex_name(s.g_name) + " = ") if s.g_name else ""
            rows.append(rf"&\quad G = {gl}{g}")
            for target, c in s.contributions:
                cb = sf(c, define=names.get(id(c)) == target)
                formulas.append(cb)
                rows.append(rf"&\quad {latex_name(target)} \mathrel{{+}}= {cb}")
        if hvp is not None:
            rows.append(rf"&{st.partial2(x, x)} \cdot {latex_name(u_name)} = {sf(hvp, define=True)}")
        out.append(r"\begin{align*}")
        out.append(" \\\\\n".join(rows))
        out.append(r"\end{align*}")
    for fn, doc in fm.notes.items():
        head = (r"\texttt{" + latex_escape(fn) + "} is printed as its formula; ") if fn in FUNCS else ""
        out.append(r"\noindent Note: " + head + latex_escape(to_ascii(doc)) + r".\par")
    legend = _legend(formulas, ex, "latex")
    if legend:
        out.append(legend)
    out.append(r"\endgroup")
    return "\n".join(out) + "\n"


def _steps_latex(ex: Explanation, st: _Style, formulas: list[str]) -> list[str]:
    assert ex.steps is not None
    fm = _Formulas(ex, st, ex.step_names)

    def dn(name: str) -> str:
        m = re.match(r"^d(?:\((.*)\)|(.*))$", name)
        node = (m.group(1) or m.group(2)) if m else name
        return r"\mathrm{d}" + latex_name(node)

    def show(node: Node, define: bool = False) -> str:
        s = fm(node, define=define)
        formulas.append(s)
        return s

    out = [r"\noindent\textbf{Backward pass}, op by op in reverse topological order "
           r"($G$ is the gradient arriving).\par"]
    rows = []
    for s in ex.steps:
        call = latex_escape(s.call)
        rows.append(rf"&\text{{{s.number}. }} {latex_name(s.node)} = \texttt{{{call}}} "
                    rf"&& {_rule_latex(s.rule)}")
        if s.g_node is not None:
            g = show(s.g_node, s.g_name is not None)
            rows.append(rf"&\quad G = {dn(s.g_name)} = {g}" if s.g_name else rf"&\quad G = {g}")
        if s.stopped:
            rows.append(r"&\quad \text{in stop\_gradients: held constant, nothing flows on}")
        for c in s.contributions:
            line = rf"&\quad {dn(c.target)} \mathrel{{+}}= {show(c.node, ex.step_names.get(id(c.node)) == c.target)}"
            if c.summed:
                line += (r" && \text{broadcast " + fmt_shape(c.summed[0]) + r" $\to$ "
                         + fmt_shape(c.summed[1]) + " summed back}")
            rows.append(line)
        if not s.stopped:
            for a in s.skipped:
                rows.append(r"&\quad \text{" + latex_escape(a) + ": skipped, no $x$ feeds it}")
    rows.append(r"&\text{at the xs:}")
    for c in ex.collected:
        left = st.partial(c.x)
        if c.status == "none":
            rows.append(rf"&{left} = \text{{None}} && \text{{unconnected}}")
        elif c.status == "zero":
            rows.append(rf"&{left} = {show(c.node)} && \text{{unconnected, zeros}}")
        else:
            rows.append(rf"&{left} = {show(c.node, c.g_name is not None)}")
    out.append(r"\begin{align*}")
    out.append(" \\\\\n".join(rows))
    out.append(r"\end{align*}")
    return out


def _rule_latex(rule: str) -> str:
    words = re.compile(r"\b(?!log\b|sign\b|where\b)([a-z]{3,}(?:\s+[a-z]{2,})*)")
    out = latex_escape(rule.replace("_", " "))
    out = words.sub(lambda mt: r"\text{ " + mt.group(1) + " }", out)
    for a, b in [("·", r" \cdot "), ("∘", r" \circ "), ("ᵀ", r"^{\top}"), ("⊘", r" \oslash "),
                 ("−", "-"), ("≥", r" \geq "), ("≤", r" \leq "), ("ᵢ", "_i"), ("²", "^{2}"),
                 ("½", r"\tfrac{1}{2}"), ("+=", r"\mathrel{+}="), ("-=", r"\mathrel{-}="),
                 ("log(", r"\log("), ("√", r"\surd "), ("σ", r"\sigma")]:
        out = out.replace(a, b)
    return to_ascii(out)


# ---------------------------------------------------------------- JSON


def _nested(a: Any, integral: bool) -> Any:
    from .render import to_nested

    return None if a is None else to_nested(np.asarray(a, dtype=np.float64), integral)


def render_json(ex: Explanation, ascii: bool = False) -> str:
    st = _Style("text", not ascii, ex.order)
    fm = _Formulas(ex, st)
    conv = (lambda s: s) if not ascii else to_ascii
    pieces = {p.name: p for p in ex.pieces}
    xs = []
    for e in ex.entries:
        item: dict[str, Any] = {
            "name": e.name,
            "shape": list(e.shape),
            "status": e.status,
            "notation": e.notation if e.node is not None else None,
            "matrix": None if e.node is None else conv(fm(e.node, e.notation)),
            "lhs": None if e.node is None else conv(fm.lhs(e.node, e.name, e.notation, e)),
            "value": _nested(e.value, e.integral),
            "definitions": {n: conv(fm(pieces[n].node, pieces[n].notation, define=True))
                            for n in e.needs},
            "origins": [{"what": o.what, "index": list(o.index), "detail": o.detail,
                         "at": conv(_origin_text(o, ex, fm, e))} for o in e.origins],
            "elements": None,
        }
        if e.elements is not None:
            els = []
            rows = {r[0]: r for r in _element_rows(ex, e, st, item["matrix"])}
            for el in e.elements:
                left = st.partial(e.name + element_suffix(e.shape, el.index))
                row = rows.get(left)
                if el.formula is None:
                    formula = subst = None
                elif row is not None and len(row[1]) >= 2:
                    formula, subst = row[1][0], row[1][-2] if len(row[1]) == 3 else row[1][0]
                else:
                    formula = conv(ScalarText({"numbers": ex.element_numbers, "unicode": not ascii}).doprint(el.formula))
                    subst = conv(ScalarText({"numbers": ex.element_numbers, "texts": ex.element_texts,
                                             "unicode": not ascii}).doprint(el.formula))
                note = row[2] if row is not None else el.note
                els.append({"index": list(el.index), "formula": formula, "substituted": subst,
                            "value": _nested(np.float64(el.value), e.integral), "note": note})
            item["elements"] = els
        xs.append(item)
    doc: dict[str, Any] = {
        "name": ex.title,
        "objective": "L = " + (_objective_sum(ex, st) if ex.order == 2 else _objective(ex, st)),
        "order": ex.order,
        "ys": ex.ys,
        "seeds": [{"name": s.name, "y": y, "shape": list(s.shape), "note": s.note,
                   "value": _nested(s.value, s.integral)} for s, y in zip(ex.seeds, ex.ys)],
        "symbols": [{"name": s.name, "kind": s.kind, "shape": list(s.shape), "note": s.note,
                     "value": _nested(s.value, s.integral)} for s in ex.leaves],
        "definitions": [
            {"name": p.name, "kind": p.kind, "shape": list(p.node.shape),
             "notation": p.notation, "lhs": conv(fm.piece_lhs(p)),
             "expr": conv(fm(p.node, p.notation, define=True)),
             **({"value": _nested(*ex.piece_values[p.name])} if p.name in ex.piece_values else {})}
            for p in ex.pieces
        ],
        "stop_gradients": ex.stop_gradients,
        "unconnected_gradients": ex.unconnected,
        "xs": xs,
        "notes": [conv(n) for n in ex.notes],
    }
    if ex.steps is not None:
        sf = _Formulas(ex, st, ex.step_names)
        doc["steps"] = [
            {"step": s.number, "node": s.node, "op": s.op, "call": s.call,
             "rule": conv(s.rule), "cotangent_name": s.g_name,
             "cotangent": None if s.g_node is None else conv(sf(s.g_node, define=s.g_name is not None)),
             "stopped": s.stopped,
             "contributions": [{"arg": c.arg, "to": c.target,
                                "expr": conv(sf(c.node, define=ex.step_names.get(id(c.node)) == c.target)),
                                "summed": None if c.summed is None else
                                {"from": list(c.summed[0]), "to": list(c.summed[1])}}
                               for c in s.contributions],
             "skipped": s.skipped}
            for s in ex.steps
        ]
        doc["collected"] = [
            {"x": c.x, "status": c.status, "name": c.g_name, "step": c.step,
             "expr": None if c.node is None else conv(sf(c.node, define=c.g_name is not None))}
            for c in ex.collected
        ]
    if ex.second_sweeps is not None:
        doc["second_sweeps"] = []
        for x, records, hvp, u_name in ex.second_sweeps:
            steps, names = _second_sweep(ex, records, u_name)
            sf = _Formulas(ex, _Style("text", not ascii, 1), names)
            doc["second_sweeps"].append({
                "x": x, "direction": u_name,
                "steps": [{"step": s.number, "name": s.name, "node": conv(sf(s.node, define=True)),
                           "cotangent_name": s.g_name,
                           "cotangent": conv(sf(s.g_node, define=s.g_name is not None)),
                           "contributions": [{"to": t, "expr": conv(sf(c, define=names.get(id(c)) == t))}
                                             for t, c in s.contributions]}
                          for s in steps],
                "hessian_times_direction": None if hvp is None else conv(sf(hvp, define=True)),
            })
    kernel = {fn: conv(doc_) for fn, doc_ in fm.notes.items()}
    doc["kernel_notes"] = kernel
    all_text = json.dumps(doc, ensure_ascii=False)
    doc["legend"] = _legend([all_text], ex, "ascii" if ascii else "text")
    return json.dumps(doc, ensure_ascii=ascii, allow_nan=False)
