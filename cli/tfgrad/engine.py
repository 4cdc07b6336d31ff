"""The rank-N engine: a parsed ``Graph`` -> expression nodes -> gradients.

``lower(graph)`` builds every graph node's forward expression with its op's
``OpDef`` (``opdefs``): leaves become ``Tensor`` nodes whose values go in an
environment, ops are bound to their parameters (TF's names and defaults),
shape-checked with errors that name the user's nodes, and lowered.
``derive(graph)`` adds the seeds and runs the reverse sweep
(``autodiff.backprop``), giving one gradient expression (or None) per x.
``compute(derived)`` evaluates them with a flat plan (``plan.Plan``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterator

import numpy as np

from .autodiff import backprop
from .graph import Graph, GraphError, Node as GNode, Pos, Shape, gc_paused
from .opdefs import Ctx, lookup
from .opdefs.spec import TENSORS, LazyLabel, fmt_shape
from .plan import Plan
from .tensor import Absent, Node, Tensor, ew, is_float, tensor, zeros


# The op a parser emits for ``parts[0]``, selecting one output of an op with
# several; not a user-callable name.
OUTPUT_OP = "__output__"


def fresh_names(prefix: str, taken: set[str]) -> Iterator[str]:
    """``c1``, ``c2``... skipping names the user took."""
    i = 0
    while True:
        i += 1
        name = f"{prefix}{i}"
        if name not in taken:
            taken.add(name)
            yield name


@dataclass(eq=False)
class Lowered:
    """Forward expressions of a graph.

    ``nodes`` maps every graph name to its node (a list for ops with several
    outputs); ``env`` maps leaf names to arrays; ``leaf_of`` maps a leaf's
    env name to the graph name it came from; each node's ``_owner`` is the
    graph name of the op (or leaf) that built it (``owner_of``)."""

    graph: Graph
    nodes: dict[str, Any]
    env: dict[str, np.ndarray]
    leaf_of: dict[str, str]
    integral: bool
    dtype: str
    _bindings: dict[str, tuple[Any, dict[str, Any]]] | None = None

    def evaluate(self, nodes: list, env: dict[str, np.ndarray] | None = None) -> list[np.ndarray]:
        """The values of ``nodes`` in one plan over ``env`` (default: the
        graph's leaves). Raises ``GraphError`` for a kernel's run-time error
        (TF's InvalidArgumentError: a singular matrix for inv, a label or an
        index out of range), located at the op that built the failing node
        when the error has no position of its own."""
        try:
            return Plan(nodes).run(self.env if env is None else env)
        except GraphError as e:
            raise self.located(e) from None

    def located(self, e: GraphError) -> GraphError:
        """``e`` with the position of the op that built ``e.node`` (set by
        ``Plan.run``), when it has none and the node is a forward one."""
        node = getattr(e, "node", None)
        if e.pos is not None or node is None:
            return e
        name = node._owner  # the op whose lowering built the node
        if name is not None:
            node = self.graph.nodes[name]
            e.pos = node.pos
            if node.user:
                e.message = f"in op '{name}': {e.message}"
        return e

    @property
    def bindings(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        """Op node name -> (its OpDef, {tensor parameter: graph name or list
        of names}); built on first use (only ``check`` reads it)."""
        if self._bindings is None:
            out: dict[str, tuple[Any, dict[str, Any]]] = {}
            for name in self.graph.order:
                g = self.graph.nodes[name]
                if g.kind == "op" and g.op != OUTPUT_OP:
                    op = lookup(g.op)
                    out[name] = (op, _input_names(op, g))
            self._bindings = out
        return self._bindings


def _label(graph: Graph, name: str) -> str:
    node = graph.nodes[name]
    if node.user:
        return name
    text = getattr(node, "text", None)
    if text:
        return text
    if node.kind == "literal" and node.value is not None:
        a = node.value.array
        if a.size <= 6:
            return "the literal " + _literal_text(a.tolist(), bool(node.value.integral))
        return f"a literal of shape {fmt_shape(a.shape)}"
    return name


def _source_label(graph: Graph, name: str) -> str:
    """How a message names the op a subscript selects from: the user's name
    (``'parts'``), or for an op written inside an expression its text and
    the op it is in (``split(x, 3, axis=1) in op 'y'``), never an internal
    name such as ``y/split_1``."""
    if graph.nodes[name].user:
        return f"'{name}'"
    return f"{_label(graph, name)} in op '{name.split('/')[0]}'"


def _literal_text(v: Any, integral: bool) -> str:
    """A small literal as it was written: ``1``, ``1.0``, ``[1.5, 2.0]``,
    ``[[true], [false]]`` (NumPy's ``1.`` would hide whether it was an int)."""
    if isinstance(v, list):
        return "[" + ", ".join(_literal_text(e, integral) for e in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(int(v)) if integral else repr(float(v))


_np_dtype = lru_cache(maxsize=None)(np.dtype)  # comparing to a str parses it each time


def _value_dtype(graph: Graph, node: GNode) -> str:
    v = node.value
    d = getattr(v, "dtype", None)
    return d if d else getattr(graph, "dtype", None) or "float64"


def _bind(graph: Graph, gnode: GNode, nodes: dict[str, Any], dtype: str,
          values: dict[str, np.ndarray] | None = None, int_literals: set[str] | None = None) -> Ctx:
    op = lookup(gnode.op)
    if op is None:
        raise GraphError(f"unknown op '{gnode.op}'", gnode.pos, "TG203")
    inputs: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    positions: dict[str, Pos] = {}
    given = getattr(gnode, "inputs", None)

    def resolve(n: str, pos: Pos) -> Node:
        v = nodes[n]
        if type(v) is Absent:
            raise GraphError(f"'{_label(graph, n)}' is None: {v.why}; {op.name} cannot use it "
                             "(unconnected_gradients='zero' gives zeros instead)", pos, "TG202")
        if isinstance(v, list):
            raise GraphError(
                f"'{n}' has {len(v)} outputs; name one of them ({n}[0] ... {n}[{len(v) - 1}])",
                pos, "TG202")
        return v

    arg_pos = dict(zip(gnode.args, gnode.arg_pos)) if gnode.arg_pos else {}
    if given is not None:
        for pname, ref in given.items():
            p = op.param(pname)
            if p is not None and p.kind == TENSORS and isinstance(ref, str):
                # one tensor written without a list: the op sees a node, not a
                # list of one (gradients(y, x) names x's gradient, not a list)
                inputs[pname] = resolve(ref, arg_pos.get(ref, gnode.pos))
                labels[pname] = _label(graph, ref)
                positions[pname] = arg_pos.get(ref, gnode.pos)
            elif p is not None and p.kind == TENSORS:
                inputs[pname] = [resolve(r, arg_pos.get(r, gnode.pos)) for r in ref]
                labels[pname] = [LazyLabel(_label, graph, r) for r in ref]
                if ref:
                    positions[pname] = arg_pos.get(ref[0], gnode.pos)
            else:
                inputs[pname] = resolve(ref, arg_pos.get(ref, gnode.pos))
                labels[pname] = LazyLabel(_label, graph, ref)
                positions[pname] = arg_pos.get(ref, gnode.pos)
    else:
        tparams = op.tensor_params
        args = list(zip(gnode.args, gnode.arg_pos or [gnode.pos] * len(gnode.args)))
        for p in tparams:
            if p.kind == TENSORS:
                take, args = args, []
                inputs[p.name] = [resolve(a, pos) for a, pos in take]
                labels[p.name] = [LazyLabel(_label, graph, a) for a, _ in take]
                if take:
                    positions[p.name] = take[0][1]
            elif args:
                (a, pos), args = args[0], args[1:]
                inputs[p.name] = resolve(a, pos)
                labels[p.name] = LazyLabel(_label, graph, a)
                positions[p.name] = pos
    for p in op.tensor_params:
        if p.name not in inputs:
            if not p.required:  # an optional tensor (where's x and y): the op's rule decides
                inputs[p.name] = p.default
                continue
            raise GraphError(f"{op.name}: missing input '{p.name}'", gnode.pos, "TG203")
    attrs: dict[str, Any] = {}
    for p in op.attr_params:
        if p.name in gnode.attrs:
            attrs[p.name] = gnode.attrs[p.name]
            if p.name in gnode.attr_pos:
                positions[p.name] = gnode.attr_pos[p.name]
        elif not p.required:
            attrs[p.name] = p.default
        else:
            raise GraphError(f"{op.name}: missing required argument '{p.name}'", gnode.pos, "TG203")
    return Ctx(op, gnode.name, inputs, labels, attrs, positions, gnode.pos, dtype, values=values,
               int_literals=int_literals)


def owner_of(node: Node) -> str | None:
    """The graph name of the op (or leaf) whose lowering built ``node``;
    None for a node a sweep built."""
    return node._owner


def _claim(out: Node, name: str) -> None:
    """Mark the nodes an op's lowering created as that op's (stops at nodes
    that already belong to an earlier op or leaf)."""
    stack = [out]
    while stack:
        n = stack.pop()
        if n._owner is not None:
            continue
        n._owner = name
        stack.extend(n._args)


def lower(graph: Graph) -> Lowered:
    """Forward expressions for every node of ``graph`` (see ``Lowered``).
    Raises ``GraphError`` (with its TGnnn code) for shape, dtype and call
    errors, naming the user's nodes."""
    dtype = getattr(graph, "dtype", None) or "float64"
    taken = set(graph.nodes)
    literal_names = fresh_names("c", taken)
    nodes: dict[str, Any] = {}
    env: dict[str, np.ndarray] = {}
    leaf_of: dict[str, str] = {}
    # literals written as integers: they take an integer operand's dtype
    # (TF converts the Python int 1 in n + 1 to n's int32)
    int_literals: set[str] = set()
    integral = True
    fast_of: dict[str, Any] = {}  # op name -> its shortcut (``_fast_entry``), per graph
    gnodes = graph.nodes
    nodes_get = nodes.get
    for name in graph.order:
        g = gnodes[name]
        if g.kind == "op" and not g.attrs:
            entry = fast_of.get(g.op, fast_of)
            if entry is fast_of:
                entry = fast_of[g.op] = _fast_entry(g.op)
            if entry is None:
                out = None
            elif not entry[2] and g.inputs is not None:
                # inputs given by name to an op without a list parameter (the
                # expression parser's case), inline: a thin op's lowering is
                # a few µs, and a call and its loop were a third of it. Every
                # input given (``args`` then holds them in parameter order),
                # else the full path reports what is missing or extra.
                out = None
                if len(g.inputs) == entry[3]:
                    xs = [nodes_get(r) for r in g.args]
                    for v in xs:
                        t = type(v)
                        if t is list or t is Absent or v is None:
                            break
                    else:
                        out = entry[0](xs)
            else:
                out = _lower_fast(entry, g, nodes)
            if out is not None and out._owner is None:
                out._owner = name
                for a in out._args:  # broadcasts the shortcut built (graph nodes are claimed)
                    if a._owner is None:
                        _claim(a, name)
                nodes[name] = out
                continue
        if g.kind != "op":
            value = g.value
            assert value is not None
            vd = _value_dtype(graph, g)
            key = name if g.kind != "literal" else next(literal_names)
            arr = np.asarray(value.array)
            if arr.dtype != _np_dtype(vd):
                arr = arr.astype(vd)
            env[key] = arr
            leaf_of[key] = name
            t = tensor(key, arr.shape, vd, g.kind)
            nodes[name] = t
            t._owner = name
            integral = integral and bool(value.integral)
            if g.kind == "literal" and value.integral and value.dtype is None:
                int_literals.add(key)
            continue
        if g.op == OUTPUT_OP:
            # ``parts[0]``: one output of an op with several (split, unstack...).
            src = nodes[g.args[0]]
            index = g.attrs["index"]
            if not isinstance(src, list):
                raise GraphError(f"{_source_label(graph, g.args[0])} has one output; [{index}] selects "
                                 "outputs of ops with several", g.pos, "TG202")
            if not -len(src) <= index < len(src):
                # negative indices count from the end, as in Python and TF's list of outputs
                raise GraphError(
                    f"{_source_label(graph, g.args[0])} has {len(src)} output{'s' if len(src) != 1 else ''}; "
                    f"index {index} is out of "
                    f"range ({-len(src)} to {len(src) - 1})", g.attr_pos.get("index", g.pos), "TG202")
            o = src[index]
            if type(o) is not Absent and o._owner is not None and o._owner != name:  # None stays None
                o = ew("identity", o)
            o._owner = name
            nodes[name] = o
            continue
        ctx = _bind(graph, g, nodes, dtype, env, int_literals)
        expected = ctx.op.shape(ctx)
        try:
            out = ctx.op.forward(ctx)
        except GraphError as e:  # from deeper down (a VJP of a gradients op): this op's
            if e.pos is None:
                e.pos = g.pos
                e.message = f"in op '{name}': {e.message}"
            raise
        outs = out if isinstance(out, list) else [out]
        shapes = expected if isinstance(out, list) else [expected]
        for o, s in zip(outs, shapes):
            if tuple(o.shape) != tuple(s):
                raise AssertionError(
                    f"{ctx.op.name}: lowering built shape {o.shape}, shape rule says {tuple(s)}")
        fixed = []
        for o in outs:
            if o._owner is not None and o._owner != name:
                o = ew("identity", o)  # every graph node is a node of its own
            _claim(o, name)
            fixed.append(o)
        nodes[name] = fixed if isinstance(out, list) else fixed[0]
    return Lowered(graph, nodes, env, leaf_of, integral, dtype)


def _fast_entry(op_name: str) -> tuple | None:
    """``(OpDef.fast, tensor parameter names, whether the one parameter is a
    list, the number of names unless it is)`` of the op, or None when it has
    no shortcut."""
    op = lookup(op_name)
    if op is None or op.fast_inputs is None:
        return None
    names, is_list = op.fast_inputs
    return op.fast, names, is_list, 0 if is_list else len(names)


def _lower_fast(entry: tuple, g: GNode, nodes: dict[str, Any]) -> Node | None:
    """``g``'s node by its op's ``OpDef.fast`` shortcut (``entry``, from
    ``_fast_entry``) for inputs given by position or as a list (``lower``
    handles inputs given by name to other ops itself), or None when the call
    is not a plain one (a missing or extra input, a bare tensor for a list,
    an input that is absent or has several outputs) or the shortcut
    declines; the full path then binds, checks and reports."""
    fast, names, is_list, _ = entry
    given = g.inputs
    xs = []
    if given is None:
        refs: Any = g.args
        if not is_list and len(refs) != len(names):
            return None
    elif len(given) != len(names):
        return None
    else:
        refs = given.get(names[0])
        if type(refs) is not tuple:
            return None
    for r in refs:
        v = nodes.get(r) if type(r) is str else None
        if v is None or type(v) is list or type(v) is Absent:
            return None
        xs.append(v)
    return fast(xs)


def _input_names(op: Any, g: GNode) -> dict[str, Any]:
    """Which graph names fill each tensor parameter of ``op`` in ``g``."""
    given = getattr(g, "inputs", None)
    if given is not None:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in given.items()}
    out: dict[str, Any] = {}
    args = list(g.args)
    for p in op.tensor_params:
        if p.kind == TENSORS:
            out[p.name], args = args, []
        elif args:
            out[p.name], args = args[0], args[1:]
    return out


@dataclass(eq=False)
class Seed:
    """The cotangent entering at ``ys[index]``: ``node`` is a seed leaf
    (``g1``...: ones or a ``grad_ys`` literal) or the node a ``grad_ys``
    entry names."""

    index: int
    y: str
    node: Node


@dataclass(eq=False)
class Derived:
    """A lowered graph with the gradient of each x (None where unconnected).
    ``steps`` lists every VJP the sweep ran: (node, cotangent,
    [(operand, contribution)...])."""

    lowered: Lowered
    seeds: list[Seed]
    gradients: list[Node | None]
    steps: list[tuple[Node, Node, list]] = field(default_factory=list)
    # xs index -> why that gradient is None (a sentence naming the user's nodes)
    none_reasons: dict[int, str] = field(default_factory=dict)

    @property
    def graph(self) -> Graph:
        return self.lowered.graph

    def node(self, name: str) -> Node:
        return self.lowered.nodes[name]

    def shape(self, name: str) -> Shape:
        return tuple(self.lowered.nodes[name].shape)


def derive(graph: Graph, record_steps: bool = False) -> Derived:
    """``tf.gradients(ys, xs, grad_ys, stop_gradients, unconnected_gradients)``
    as expression nodes. Raises ``GraphError`` for invalid graphs."""
    with gc_paused():
        return _derive(graph, record_steps)


def _tensor_of(low: Lowered, name: str, pos: Pos, what: str) -> Node:
    v = low.nodes[name]
    if type(v) is Absent:
        raise GraphError(f"{what} '{name}' is None: {v.why}", pos, "TG202")
    if isinstance(v, list):
        raise GraphError(
            f"{what} '{name}' has {len(v)} outputs; name one of them ({name}[0] ... "
            f"{name}[{len(v) - 1}])", pos, "TG202")
    return v


def _derive(graph: Graph, record_steps: bool) -> Derived:
    low = lower(graph)
    taken = set(graph.nodes) | set(low.env)
    seed_names = fresh_names("g", taken)
    seeds: list[Seed] = []
    for i, y in enumerate(graph.ys):
        ynode = _tensor_of(low, y.name, y.pos, "ys entry")
        gy = graph.grad_ys[i] if graph.grad_ys is not None else None
        sname = next(seed_names)
        if gy is not None and gy.ref is not None:
            ref = _tensor_of(low, gy.ref, gy.pos, "grad_ys entry")
            _check_seed(i, y.name, ynode, ref.shape, gy.pos, f"'{gy.ref}' has")
            seeds.append(Seed(i, y.name, ref))
            continue
        if gy is not None and gy.value is not None:
            arr = np.asarray(gy.value.array)
            _check_seed(i, y.name, ynode, arr.shape, gy.pos, "has")
            low.env[sname] = arr.astype(ynode.dtype)
            low.integral = low.integral and bool(gy.value.integral)
        else:
            low.env[sname] = np.ones(ynode.shape, dtype=ynode.dtype)
        seeds.append(Seed(i, y.name, tensor(sname, ynode.shape, ynode.dtype, "seed")))
    xs = [_tensor_of(low, x.name, x.pos, "xs entry") for x in graph.xs]
    stops = [_tensor_of(low, s.name, s.pos, "stop_gradients entry") for s in graph.stop_gradients]
    steps: list = []
    record = (lambda n, g, cs: steps.append((n, g, cs))) if record_steps else None
    ys = [low.nodes[s.y] for s in seeds]
    try:
        grads = backprop([(y, s.node) for y, s in zip(ys, seeds) if is_float(y.dtype)], xs, stops,
                         record)
    except GraphError as e:  # a VJP's error (a kernel TF gives no gradient): at its op
        raise low.located(e) from None
    reasons = _none_reasons(graph, ys, xs, grads)
    if graph.unconnected_gradients == "zero":
        grads = [g if g is not None else zeros(x.shape, x.dtype) for g, x in zip(grads, xs)]
    return Derived(low, seeds, grads, steps, reasons)


def _none_reasons(graph: Graph, ys: list[Node], xs: list[Node],
                  grads: list[Node | None]) -> dict[int, str]:
    """Why each None gradient is None (before ``unconnected_gradients:
    zero`` fills it): TF 2's dtype rule (integer and boolean tensors carry no
    gradient) where it applies, else no y depends on x, else every path is
    cut (stops, ops without a gradient, integer or boolean tensors)."""
    from .tensor import walk

    missing = [i for i, g in enumerate(grads) if g is None]
    if not missing:
        return {}
    upstream = {id(n) for n in walk(ys)} if ys else set()
    float_ys = [graph.ys[i].name for i, y in enumerate(ys) if is_float(y.dtype)]
    out: dict[int, str] = {}
    for i in missing:
        x, name = xs[i], graph.xs[i].name
        if not is_float(x.dtype):
            out[i] = (f"'{name}' is {x.dtype}: integer and boolean tensors are not "
                      "differentiable (TF 2's tf.gradients returns None for them)")
        elif id(x) not in upstream:
            out[i] = f"no y depends on '{name}'"
        elif not float_ys:
            kinds = ", ".join(f"'{y.name}' is {n.dtype}" for y, n in zip(graph.ys, ys))
            out[i] = f"no y is a floating-point tensor ({kinds}), so no gradient flows"
        else:
            out[i] = (f"every path from the ys to '{name}' is cut: by stop_gradients or "
                      "stop_gradient, by an op with no gradient (floor, round, argmax...), "
                      "or by an integer or boolean tensor")
    return out


def _check_seed(i: int, y: str, ynode: Node, got: tuple, pos: Pos, what: str) -> None:
    if tuple(got) != tuple(ynode.shape):
        raise GraphError(
            f"grad_ys[{i}] {what} shape {fmt_shape(tuple(got))} but ys[{i}] '{y}' has shape "
            f"{fmt_shape(ynode.shape)}; each grad_ys entry must have its y's shape",
            pos, "TG204")


@dataclass(eq=False)
class Result:
    """Gradients as arrays (None where unconnected), the seeds' values, and
    which gradients print as exact integers."""

    derived: Derived
    gradients: list[np.ndarray | None]
    seeds: list[np.ndarray]
    integral: list[bool]
    _values: dict[str, np.ndarray] | None = None

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Every single-output graph node's forward value, computed on first
        use; a node that is None (a gradient or jacobian no path reaches,
        ``Absent``) has none and is left out."""
        if self._values is None:
            low = self.derived.lowered
            names = [n for n, v in low.nodes.items() if not isinstance(v, list) and type(v) is not Absent]
            arrays = low.evaluate([low.nodes[n] for n in names])
            self._values = {n: np.asarray(a) for n, a in zip(names, arrays)}
        return self._values


def compute(d: Derived) -> Result:
    """Evaluate every gradient of ``d`` (and the seeds) with NumPy."""
    with gc_paused():
        roots = [g for g in d.gradients if g is not None]
        seed_nodes = [s.node for s in d.seeds]
        vals = d.lowered.evaluate(roots + seed_nodes) if roots or seed_nodes else []
        seeds = [np.asarray(v) for v in vals[len(roots):]]
        grads: list[np.ndarray | None] = []
        integral: list[bool] = []
        # Each gradient is handed out as an array of its own, C-contiguous: a
        # copy of views (of leaves, fills, broadcasts), of leaf values and of
        # an array already handed out (duplicate xs, identity nodes); an
        # array the plan computed and released to no one else is handed as is
        # (a copy of every gradient would double evaluate's peak memory on
        # weight-heavy graphs). Each value leaves ``vals`` as it is taken, so
        # that a copied view's base is freed before the next copy.
        env_ids = {id(v) for v in d.lowered.env.values()}
        handed: set[int] = set()
        k = 0
        for g in d.gradients:
            if g is None:
                grads.append(None)
                integral.append(False)
                continue
            v = vals[k]
            vals[k] = None
            k += 1
            if (type(v) is np.ndarray and v.base is None and v.flags.c_contiguous
                    and v.flags.writeable and id(v) not in env_ids and id(v) not in handed):
                a = v
            else:
                a = np.array(v, order="C")
            del v
            handed.add(id(a))
            grads.append(a)
            exact = d.lowered.integral and a.dtype == np.float64
            if exact:  # (np.errstate costs more than the rest on small graphs: only when needed)
                with np.errstate(all="ignore"):
                    exact = bool(np.all(np.isfinite(a))) and bool(np.all(a == np.round(a)))
            integral.append(exact)
        return Result(d, grads, seeds, integral)


def objective(d: Derived, replace: dict[str, np.ndarray], seeds: list[np.ndarray]) -> float:
    """``sum_i sum(seeds[i] * ys[i])`` with the named nodes' values replaced
    (their inputs ignored): the function whose gradient ``tf.gradients``
    returns, for finite differences. Values are computed in float64."""
    low = d.lowered
    subs: dict[int, Tensor] = {}
    env = {k: np.asarray(v, dtype=np.float64) if v.dtype.kind == "f" else v for k, v in low.env.items()}
    for name, v in replace.items():
        n = low.nodes[name]
        key = f"\0replace:{name}"
        env[key] = np.asarray(v, dtype=np.float64).reshape(n.shape)
        subs[id(n)] = tensor(key, n.shape, "float64", "constant")
    ys = [low.nodes[s.y] for s in d.seeds]
    roots = [_substitute(y, subs) for y in ys]
    vals = low.evaluate(roots, env)
    total = 0.0
    with np.errstate(all="ignore"):
        for v, s in zip(vals, seeds):
            total += float(np.sum(np.asarray(s, dtype=np.float64) * v))
    return total


def _substitute(root: Node, subs: dict[int, Node]) -> Node:
    """``root`` with the nodes in ``subs`` replaced (rebuilding only the
    nodes above a replacement; float32 nodes become float64)."""
    from .tensor import walk, with_args

    if not subs:
        return root
    memo: dict[int, Node] = {}
    for n in walk([root]):
        if id(n) in subs:
            memo[id(n)] = subs[id(n)]
            continue
        args = n._args
        new_args = tuple(memo.get(id(a), a) for a in args)
        if any(x is not y for x, y in zip(new_args, args)):
            memo[id(n)] = with_args(n, new_args)
    return memo.get(id(root), root)



def apply(op_name: str, inputs: dict[str, Any], attrs: dict[str, Any] | None = None,
          dtype: str = "float64", name: str = "op",
          values: dict[str, np.ndarray] | None = None) -> Any:
    """Lower one op on expression nodes, outside any graph file (tests,
    higher-order rules). ``inputs`` maps tensor parameter names to nodes (a
    list for ``tensors`` params); missing attributes take TF's defaults.
    ``values`` (optional) maps leaf names to arrays, as ``lower`` passes the
    environment, so that constant index tensors are validated at lowering.
    Raises ``GraphError`` as the op would for a file."""
    op = lookup(op_name)
    if op is None:
        raise GraphError(f"unknown op '{op_name}'", None, "TG203")
    attrs = dict(attrs or {})
    for p in op.attr_params:
        if p.name not in attrs:
            if p.required:
                raise GraphError(f"{op_name}: missing required argument '{p.name}'", None, "TG203")
            attrs[p.name] = p.default
    labels = {k: ([f"{k}[{i}]" for i in range(len(v))] if isinstance(v, list) else k)
              for k, v in inputs.items()}
    ctx = Ctx(op, name, dict(inputs), labels, attrs, {}, Pos(1, 1), dtype, values=values)
    expected = op.shape(ctx)
    out = op.forward(ctx)
    outs, shapes = (out, expected) if isinstance(out, list) else ([out], [expected])
    for o, s in zip(outs, shapes):
        if tuple(o.shape) != tuple(s):
            raise AssertionError(f"{op_name}: lowering built shape {o.shape}, shape rule says {tuple(s)}")
    return out
