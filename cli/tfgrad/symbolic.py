"""Symbolic reverse mode: what ``tf.gradients`` computes, as matrix expressions.

Input: a parsed ``Graph``. Output: a ``Derivation`` — every node's shape and
forward expression, one gradient expression (or None) per entry of ``xs``,
and the backward pass as a list of ``Step`` records for ``explain --steps``.

The sweep is TF's: seeds (``g1``, ``g2``... standing for grad_ys or ones)
enter at the ys, each op's VJP rule (``ops.py``) runs once in reverse
topological order on the sum of its output's cotangents, elementwise
cotangents are summed back to their input's shape here and nowhere else,
``stop_gradients`` nodes and ``stop_gradient`` ops receive but do not pass
on, and an x that no cotangent reaches is unconnected (None, or zeros).
Nothing is simplified: the expression DAG shares every forward node the
rules reuse, which is what keeps evaluation linear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
from sympy import Basic, Float
from sympy.matrices.expressions import MatrixSymbol, Transpose

from . import mexpr as m
from .graph import Graph, GraphError, GradY, Node, Shape, gc_paused
from .ops import OPS, Call, _fmt, to2


# Not frozen: the sweep makes one of each per op, and frozen dataclasses'
# __init__ is several times slower.
@dataclass(slots=True)
class Contribution:
    """A cotangent sent from an op to one of its inputs."""

    arg: str
    expr: Basic
    summed: bool  # broadcasting was undone (summed back to the input's shape)


@dataclass(slots=True)
class Step:
    """One op of the backward pass, in the order the sweep ran it."""

    node: str
    op: str
    rule: str
    cotangent: Basic
    contributions: tuple[Contribution, ...]
    stopped: str | None = None  # why nothing flowed on: "stop_gradients" / "stop_gradient op"


@dataclass(frozen=True, eq=False)
class Seed:
    """The cotangent entering at ``ys[index]``: ``symbol`` stands for ones,
    a literal value or another node's value."""

    index: int
    y: str
    symbol: MatrixSymbol
    grad_y: GradY | None


@dataclass(eq=False)
class Derivation:
    graph: Graph
    shapes: dict[str, Shape]
    forward: dict[str, Basic]
    calls: dict[str, Call]
    leaf_values: dict[str, np.ndarray]  # symbol name -> 2-D value
    leaf_names: dict[str, str]  # symbol name -> node name (variables, constants, literals)
    seeds: list[Seed]
    gradients: list[Basic | None]
    steps: list[Step] = field(default_factory=list)
    integral: bool = False  # every input written as an integer

    def shape2(self, name: str) -> m.Shape2:
        return to2(self.shapes[name])


def fresh_names(prefix: str, taken: set[str]) -> Iterator[str]:
    """``prefix1``, ``prefix2``... skipping (and then reserving) taken names."""
    i = 0
    while True:
        i += 1
        name = f"{prefix}{i}"
        if name not in taken:
            taken.add(name)
            yield name


def _leaf(node: Node, name: str, literal_names) -> tuple[Basic, str | None]:
    """The expression of a leaf and the symbol its value is bound to."""
    value = node.value
    assert value is not None
    array = value.array
    if node.kind == "literal" and array.ndim == 0:
        v = float(array)
        return (m.num(v) if value.integral else Float(v)), None
    sym = name if node.kind != "literal" else next(literal_names)
    return m.symbol(sym, to2(array.shape)), sym


def _among(e: Basic, items: list[Basic]) -> bool:
    # By identity: ``in`` would fall back to SymPy's structural ``==``.
    for a in items:
        if a is e:
            return True
    return False


def derive(graph: Graph) -> Derivation:
    """Shapes, forward expressions and the reverse sweep of ``tf.gradients``."""
    _format1_only(graph)
    with gc_paused():
        return _derive(graph)


def _format1_only(graph: Graph) -> None:
    """This engine computes format 1 (ranks 0-2, float64, format 1's op
    table): anything else the parser accepts is a clean error here, not an
    internal one, until the rank-N engine (``engine``) replaces it."""
    from .opspec import SPECS

    why = "the format-1 engine that `run`, `explain` and `check` use today"
    for node in graph.nodes.values():
        if node.kind == "op":
            spec = SPECS.get(node.op or "")
            if spec is None:
                raise GraphError(f"{node.op} is not supported by {why}", node.pos, "TG203")
            for k, v in node.attrs.items():
                if k not in spec.attrs or not (v is None or type(v) in (bool, int)):
                    raise GraphError(f"{node.op}: {k}={v!r} is not supported by {why}",
                                     node.attr_pos.get(k, node.pos), "TG203")
        elif node.value is not None and (node.value.array.ndim > 2 or node.value.dtype is not None):
            raise GraphError(f"'{node.name}': values of rank above 2 or with a dtype are not supported "
                             f"by {why}", node.pos, "TG202")


def _derive(graph: Graph) -> Derivation:
    taken = set(graph.nodes)
    literal_names = fresh_names("c", taken)
    seed_names = fresh_names("g", taken)

    shapes: dict[str, Shape] = {}
    forward: dict[str, Basic] = {}
    calls: dict[str, Call] = {}
    leaf_values: dict[str, np.ndarray] = {}
    leaf_names: dict[str, str] = {}
    integral = True
    nodes = graph.nodes
    for name in graph.order:
        node = nodes[name]
        if node.kind != "op":
            value = node.value
            assert value is not None
            array = value.array
            shapes[name] = array.shape
            expr, sym = _leaf(node, name, literal_names)
            forward[name] = expr
            integral = integral and value.integral
            if sym is not None:
                leaf_values[sym] = array if array.ndim == 2 else array.reshape(to2(array.shape))
                leaf_names[sym] = name
            continue
        op = OPS[node.op]
        args = node.args
        call = Call(node, [forward[a] for a in args], [shapes[a] for a in args], node.attrs)
        call.set_shape(op.shape(call))
        out = op.forward(call)
        # A node must be an object of its own, and one the evaluator visits
        # (it folds ``A + (−1)⋅B`` into ``A − B`` and ``A⋅Bᵀ`` into a product
        # with a transposed view): values are replaced by identity for
        # finite differences and held stop nodes.
        if m.is_neg(out) or type(out) is Transpose or _among(out, call.args):
            out = m.ident(out)
        call.out = out
        shapes[name] = call.out_shape
        forward[name] = out
        calls[name] = call

    seeds = _seeds(graph, shapes, seed_names)
    for s in seeds:
        if s.grad_y is not None and s.grad_y.value is not None:
            leaf_values[s.symbol.name] = s.grad_y.value.array.reshape(to2(shapes[s.y]))
            integral = integral and s.grad_y.value.integral

    gradients, steps = _sweep(graph, shapes, calls, seeds)
    return Derivation(graph, shapes, forward, calls, leaf_values, leaf_names, seeds,
                      gradients, steps, integral)


def _seeds(graph: Graph, shapes: dict[str, Shape], names) -> list[Seed]:
    seeds = []
    for i, y in enumerate(graph.ys):
        gy = graph.grad_ys[i] if graph.grad_ys is not None else None
        if gy is not None and (gy.value is not None or gy.ref is not None):
            got = gy.value.shape if gy.value is not None else shapes[gy.ref]
            if got != shapes[y.name]:
                what = f"'{gy.ref}' has" if gy.ref else "has"
                raise GraphError(
                    f"grad_ys[{i}] {what} shape {_fmt(got)} but ys[{i}] '{y.name}' has "
                    f"shape {_fmt(shapes[y.name])}; each grad_ys entry must have its y's shape",
                    gy.pos,
                )
        if gy is not None and gy.value is None and gy.ref is None:
            gy = None
        r, c = to2(shapes[y.name])
        seeds.append(Seed(i, y.name, m.symbol(next(names), (r, c)), gy))
    return seeds


def _sweep(graph: Graph, shapes, calls, seeds) -> tuple[list[Basic | None], list[Step]]:
    xs = {x.name for x in graph.xs}
    stops = {s.name for s in graph.stop_gradients}
    # Only nodes with an x at or above them need cotangents.
    nodes = graph.nodes
    reaches: dict[str, bool] = {}
    for name in graph.order:
        hit = name in xs
        if not hit:
            for a in nodes[name].args:
                if reaches[a]:
                    hit = True
                    break
        reaches[name] = hit

    pending: dict[str, list[Basic]] = {}
    for s in seeds:
        pending.setdefault(s.y, []).append(s.symbol)

    totals: dict[str, Basic] = {}
    steps: list[Step] = []
    for name in reversed(graph.order):
        parts = pending.pop(name, None)
        if not parts or not reaches[name]:
            continue
        g = parts[0] if len(parts) == 1 else m.add(*parts)
        if name in xs:
            totals[name] = g
        call = calls.get(name)
        if call is None:  # a leaf
            continue
        node = call.node
        op = OPS[node.op]
        if name in stops or op.vjp is None:
            why = "stop_gradients" if name in stops else "stop_gradient op"
            steps.append(Step(name, node.op, op.rule, g, (), why))
            continue
        sent = []
        vjp, elementwise, out2 = op.vjp, op.elementwise, call.out2
        for i, arg in enumerate(node.args):
            if not reaches[arg]:
                continue
            ct = vjp(call, g, i)
            summed = False
            if elementwise:
                to = to2(shapes[arg])
                if to != out2:
                    summed = True
                    ct = m.sum_to(ct, out2, to)
            if arg in pending:
                pending[arg].append(ct)
            else:
                pending[arg] = [ct]
            sent.append(Contribution(arg, ct, summed))
        steps.append(Step(name, node.op, op.rule, g, tuple(sent)))

    gradients: list[Basic | None] = []
    for x in graph.xs:
        g = totals.get(x.name)
        if g is None and graph.unconnected_gradients == "zero":
            g = m.zeros(to2(shapes[x.name]))
        gradients.append(g)
    return gradients, steps
