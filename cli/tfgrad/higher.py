"""Higher order on expression nodes: ``tf.gradients`` as an op, ``tf.hessians``,
``tape.jacobian``/``batch_jacobian`` and forward mode (``ForwardAccumulator``).

Everything here is the one reverse sweep (``autodiff.backprop``) run again,
on expressions that may already contain gradients: the results are ordinary
expression nodes, so they can be used by other ops and differentiated once
more (``g2: gradients(g1, x)``).

- ``gradients``: TF's seeds (``ones_like(y)`` unless ``grad_ys`` gives one),
  ``stop_gradients``, None where no path carries a gradient (an ``Absent``
  node saying why, or zeros with ``unconnected_gradients='zero'``).
- ``hessians``: as TF builds it: the gradient of ``sum(ys)``, flattened, and
  one more sweep per entry ``j`` of it, seeded with the unit vector ``e_j``
  (what ``gradients(gradient[j], x)`` sends back through the slice), the
  rows stacked and reshaped to ``x.shape + x.shape``. A None anywhere is
  TF's ``None values not supported.``
- ``jacobian``: one sweep per entry of the target, seeded with ``e_i`` (TF's
  ``gather(reshape(target, [-1]), i)`` gradient), stacked to
  ``target.shape + source.shape``. ``batch_jacobian``: one sweep per column
  of ``reshape(target, [b, -1])``, seeded with that column's ones, stacked
  and transposed to ``(b,) + target.shape[1:] + source.shape[1:]``.
- ``jvp``: forward mode by the double-VJP trick that TF's own
  ``ForwardAccumulator`` uses (``forwardprop._jvp_helper``): the VJP with a
  dummy cotangent ``u = ones_like(y)``, differentiated with respect to ``u``
  and seeded with the tangents.
"""

from __future__ import annotations

from typing import Sequence

from .autodiff import backprop
from .tensor import (
    Absent, Node, absent, broadcast_to, fill, is_float, ones, prim, reshape, transpose, walk,
    with_args, zeros,
)


def why_none(y_roots: Sequence[Node], x: Node, stops: Sequence[Node], y_label: str,
             x_label: str) -> str:
    """Why the sweep from ``y_roots`` gives None for ``x``: no dependence at
    all, only through ``stop_gradients``, or only through values that carry
    no gradient (integer or boolean tensors, floor/round/argmax...)."""
    order = walk(list(y_roots))
    ids = {id(n) for n in order}
    if id(x) not in ids:
        return f"{y_label} does not depend on {x_label}"
    if not is_float(x.dtype):
        return f"{x_label} is a {x.dtype} tensor (TF differentiates only floating-point tensors)"
    # does a path avoid the stops?
    stop_ids = {id(s) for s in stops}
    reach = {id(x)}
    for n in order:
        if id(n) in stop_ids or id(n) == id(x):
            continue
        if any(id(a) in reach for a in n._args):
            reach.add(id(n))
    if not any(id(r) in reach for r in y_roots):
        return f"every path from {y_label} to {x_label} goes through stop_gradients"
    return (f"every path from {y_label} to {x_label} goes through a value that carries no "
            "gradient (an integer or boolean tensor, or an op TF gives no gradient, such as "
            "floor, round, argmax, a comparison or stop_gradient)")


def gradients(ys: Sequence[Node], xs: Sequence[Node], grad_ys: Sequence[Node | None] | None = None,
              stops: Sequence[Node] = (), unconnected: str = "none",
              y_label: str = "ys", x_labels: Sequence[str] | None = None) -> list[Node]:
    """``tf.gradients(ys, xs, grad_ys, stop_gradients, unconnected_gradients)``:
    one node per x, an ``Absent`` node where TF returns None."""
    seeds = []
    for i, y in enumerate(ys):
        g = grad_ys[i] if grad_ys is not None and i < len(grad_ys) else None
        if not is_float(y.dtype):
            continue
        seeds.append((y, g if g is not None else ones(y.shape, y.dtype)))
    out = backprop(seeds, xs, stops)
    labels = list(x_labels) if x_labels is not None else [f"xs[{i}]" for i in range(len(xs))]
    result: list[Node] = []
    for g, x, lab in zip(out, xs, labels):
        if g is not None:
            result.append(g)
        elif unconnected == "zero":
            result.append(zeros(x.shape, x.dtype))
        else:
            result.append(absent(x.shape, x.dtype, why_none(ys, x, stops, y_label, lab)))
    return result


def unit(j: int, shape: tuple, dtype: str) -> Node:
    """The unit tensor ``e_j`` (flat index ``j``) of ``shape``: a 1 padded
    with zeros, as TF's slice gradient builds it."""
    n = 1
    for d in shape:
        n *= d
    e = prim("pad", ones((1,), dtype), attrs=(((j, n - 1 - j),), 0))
    return reshape(e, tuple(shape))


def stack_rows(rows: Sequence[Node], shape: tuple) -> Node:
    """``reshape(stack(rows), shape)``: rows of one shape, flattened and
    joined along a new leading axis."""
    flat = [reshape(r, (1, r.size)) for r in rows]
    joined = flat[0] if len(flat) == 1 else prim("concat", *flat, attrs=(0,))
    return reshape(joined, tuple(shape))


class NoneGradient(Exception):
    """A higher-order result TF cannot build because a gradient is None."""

    def __init__(self, message: str, x_index: int) -> None:
        super().__init__(message)
        self.x_index = x_index


def hessians(ys: Sequence[Node], xs: Sequence[Node], y_label: str = "ys",
             x_labels: Sequence[str] | None = None) -> list[Node]:
    """``tf.hessians(ys, xs)``: per x, the Hessian of ``sum(ys)`` of shape
    ``x.shape + x.shape``. Raises ``NoneGradient`` where TF raises
    ``None values not supported.``"""
    labels = list(x_labels) if x_labels is not None else [f"xs[{i}]" for i in range(len(xs))]
    first = gradients(ys, xs, y_label=y_label, x_labels=labels)
    out = []
    for k, (g, x) in enumerate(zip(first, xs)):
        if type(g) is Absent:
            raise NoneGradient(f"the gradient of {y_label} with respect to {labels[k]} is None "
                               f"({g.why}); TF's hessians raises 'None values not supported.'", k)
        rows = []
        for j in range(x.size):
            (r,) = backprop([(g, unit(j, g.shape, g.dtype))], [x])
            if r is None:
                why = why_none([g], x, (), f"its gradient", labels[k])
                raise NoneGradient(
                    f"the second derivative of {y_label} with respect to {labels[k]} is None "
                    f"({why}); TF's hessians raises 'None values not supported.'", k)
            rows.append(r)
        out.append(stack_rows(rows, tuple(x.shape) + tuple(x.shape)) if rows
                   else zeros(tuple(x.shape) * 2, x.dtype))
    return out


def jacobian(target: Node, sources: Sequence[Node], unconnected: str = "none",
             y_label: str = "target", x_labels: Sequence[str] | None = None) -> list[Node]:
    """``tape.jacobian(target, sources)``: per source, shape
    ``target.shape + source.shape``; ``Absent`` where TF returns None."""
    labels = list(x_labels) if x_labels is not None else [f"sources[{i}]" for i in range(len(sources))]
    out = []
    n = target.size
    for k, x in enumerate(sources):
        shape = tuple(target.shape) + tuple(x.shape)
        rows = []
        for i in range(n):
            (r,) = backprop([(target, unit(i, target.shape, target.dtype))], [x])
            if r is None:
                break
            rows.append(r)
        if len(rows) < n or not is_float(target.dtype):
            if unconnected == "zero":
                out.append(zeros(shape, x.dtype))
            else:
                out.append(absent(shape, x.dtype, why_none([target], x, (), y_label, labels[k])))
            continue
        out.append(stack_rows(rows, shape) if rows else zeros(shape, x.dtype))
    return out


def batch_jacobian(target: Node, source: Node, unconnected: str = "none",
                   y_label: str = "target", x_label: str = "source") -> Node:
    """``tape.batch_jacobian(target, source)``: shape ``(b,) +
    target.shape[1:] + source.shape[1:]``, entry ``[b, i, j]`` the gradient
    of column ``i`` of ``reshape(target, [b, -1])`` (summed over the batch,
    as TF computes it) at ``source[b, j]``. The caller checks that both
    have rank >= 1 and the same first dimension."""
    b = target.shape[0]
    m = target.size // b if b else 0
    shape = (b,) + tuple(target.shape[1:]) + tuple(source.shape[1:])
    rows = []
    for i in range(m):
        seed = reshape(broadcast_to(reshape(unit(i, (m,), target.dtype), (1, m)), (b, m)),
                       target.shape)
        (r,) = backprop([(target, seed)], [source])
        if r is None:
            break
        rows.append(r)
    if len(rows) < m or not is_float(target.dtype):
        if unconnected == "zero":
            return zeros(shape, source.dtype)
        return absent(shape, source.dtype, why_none([target], source, (), y_label, x_label))
    if not rows:
        return zeros(shape, source.dtype)
    rest = source.size // b if b else 0
    stacked = stack_rows(rows, (m, b, rest))
    return reshape(transpose(stacked, (1, 0, 2)), shape)


def _walk_until(root: Node, keep: set[int]) -> list[Node]:
    """``walk([root])`` that does not descend into the nodes in ``keep``."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 0)]
    seen.add(id(root))
    while stack:
        node, i = stack[-1]
        args = () if id(node) in keep else node._args
        if i < len(args):
            stack[-1] = (node, i + 1)
            child = args[i]
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, 0))
        else:
            stack.pop()
            order.append(node)
    return order


def _rebuild(root: Node, subs: dict[int, Node], keep: set[int] = frozenset()) -> Node:
    """``root`` with the nodes in ``subs`` replaced (nodes above a
    replacement rebuilt, the rest shared). Nodes in ``keep`` contain no
    replacement: the walk does not enter them (linear cost in jvps)."""
    memo: dict[int, Node] = {}
    for n in _walk_until(root, keep):
        if id(n) in subs:
            memo[id(n)] = subs[id(n)]
            continue
        new = tuple(memo.get(id(a), a) for a in n._args)
        if any(x is not y for x, y in zip(new, n._args)):
            memo[id(n)] = with_args(n, new)
    return memo.get(id(root), root)


def jvps(ys: Sequence[Node], tangents: Sequence[tuple[Node, Node]]) -> list[Node | None]:
    """Forward mode as TF's ``ForwardAccumulator`` runs it: the tangent of
    every node, in topological order, by the double-VJP trick per node
    (``forwardprop._jvp_helper``): the node's VJP with a dummy cotangent
    ``u = ones_like(out)``, differentiated with respect to ``u`` and seeded
    with the operands' tangents (zeros for a float operand without one, as
    TF's accumulator fills them). A node none of whose operands has a
    tangent, or whose VJP does not depend on ``u``, gets none (TF's None).

    Each node's VJP is built over placeholder operands, so each step walks
    only the few nodes it creates: the cost is linear in the graph's size.
    Returns the tangent of each y (None where none reaches it)."""
    from .autodiff import vjp
    from .tensor import tensor

    tan: dict[int, Node] = {id(leaf): t for leaf, t in tangents}
    for n in walk(list(ys)):
        args = n._args
        if id(n) in tan or not args or not is_float(n.dtype):
            continue
        if not any(id(a) in tan for a in args):
            continue
        ph = tuple(tensor(f"\0jvp:{i}", a.shape, a.dtype, "constant") for i, a in enumerate(args))
        m = with_args(n, ph)
        u = fill(1, n.shape, n.dtype)
        seeds = []
        for a, c in zip(args, vjp(m, u)):
            if c is None or not is_float(a.dtype):
                continue
            t = tan.get(id(a))
            seeds.append((c, t if t is not None else zeros(a.shape, a.dtype)))
        if not seeds:
            continue
        (r,) = backprop(seeds, [u])
        if r is None:
            continue
        subs = {id(p): a for p, a in zip(ph, args)}
        subs[id(m)] = n
        # the operands' tangents hold no placeholder: the rebuild stops there
        tan[id(n)] = _rebuild(r, subs, {id(t) for _, t in seeds})
    return [tan.get(id(y)) for y in ys]


def jvp(y: Node, tangents: Sequence[tuple[Node, Node]]) -> Node | None:
    """The forward-mode directional derivative of one ``y`` (see ``jvps``)."""
    return jvps([y], tangents)[0]


def jvp_whole(y: Node, tangents: Sequence[tuple[Node, Node]]) -> Node | None:
    """Forward mode by one double-VJP over the whole graph (for comparison:
    the same numbers away from edges; ``jvps`` follows TF op by op)."""
    if not is_float(y.dtype):
        return None
    u = fill(1, y.shape, y.dtype)
    leaves = [leaf for leaf, _ in tangents]
    vjps = backprop([(y, u)], leaves)
    seeds = [(v, t) for v, (_, t) in zip(vjps, tangents) if v is not None]
    if not seeds:
        return None
    (r,) = backprop(seeds, [u])
    return r


# -- the commands' computations (tfgrad hessian / jacobian / jvp) -------------------------

def _file_ys_xs(d) -> tuple[list[Node], list[Node], list[str], list[str]]:
    """The file's ys and xs as nodes, with their names (from a ``Derived``)."""
    low = d.lowered
    ys = [low.nodes[s.y] for s in d.seeds]
    xs = [low.nodes[x.name] for x in d.graph.xs]
    return ys, xs, [s.y for s in d.seeds], [x.name for x in d.graph.xs]


def _evaluate(low, nodes: list) -> list:
    """Values of ``nodes`` (None stays None) in one plan over ``low.env``."""
    import numpy as np

    live = [n for n in nodes if n is not None]
    vals = iter(low.evaluate(live)) if live else iter(())
    return [None if n is None else np.array(next(vals), order="C") for n in nodes]


def hessian_values(d) -> tuple[list[str], list]:
    """``tf.hessians(ys, xs)`` for a derived file: (xs' names, one array per
    x). Raises ``GraphError`` (TG202) where TF raises 'None values not
    supported.'"""
    from .graph import GraphError

    ys, xs, ynames, xnames = _file_ys_xs(d)
    ylab = ynames[0] if len(ynames) == 1 else "sum(" + ", ".join(ynames) + ")"
    try:
        hs = hessians(ys, xs, ylab, xnames)
    except NoneGradient as e:
        x = d.graph.xs[e.x_index]
        raise GraphError(f"hessian: {e}", x.pos, "TG202") from None
    return xnames, _evaluate(d.lowered, hs)


def jacobian_values(d, batch: bool = False) -> tuple[list[str], list[str], list[list]]:
    """``tape.jacobian(y, x)`` (or ``batch_jacobian``) for each y and x:
    (ys' names, xs' names, a row per y of an array or None per x)."""
    from .graph import GraphError
    from .opdefs.spec import fmt_shape

    ys, xs, ynames, xnames = _file_ys_xs(d)
    unconnected = d.graph.unconnected_gradients
    table = []
    for y, yn, yref in zip(ys, ynames, d.graph.ys):
        row = []
        for x, xn, xref in zip(xs, xnames, d.graph.xs):
            if batch:
                if y.rank < 1 or x.rank < 1 or y.shape[0] != x.shape[0]:
                    raise GraphError(
                        f"batch_jacobian: {yn} has shape {fmt_shape(y.shape)} and {xn} has shape "
                        f"{fmt_shape(x.shape)}; both need the same first (batch) dimension",
                        xref.pos, "TG202")
                j = batch_jacobian(y, x, unconnected, yn, xn)
            else:
                (j,) = jacobian(y, [x], unconnected, yn, [xn])
            row.append(None if type(j) is Absent else j)
        table.append(row)
    flat = _evaluate(d.lowered, [j for row in table for j in row])
    it = iter(flat)
    return ynames, xnames, [[next(it) for _ in row] for row in table]


def jvp_values(d, tangents: dict) -> tuple[list[str], list]:
    """ForwardAccumulator's ``jvp(y, unconnected_gradients)`` for each y,
    given ``{leaf name: array}``: (ys' names, an array or None per y). A y
    that no tangent reaches gets None, or zeros of its shape and dtype with
    the file's ``unconnected_gradients: zero`` (TF's ``jvp`` takes the same
    argument)."""
    import numpy as np

    from .tensor import tensor as leaf

    low = d.lowered
    ys, _, ynames, _ = _file_ys_xs(d)
    pairs = []
    for name, value in tangents.items():
        node = low.nodes[name]
        key = f"\0tangent:{name}"
        low.env[key] = value.astype(node.dtype)
        pairs.append((node, leaf(key, node.shape, node.dtype, "constant")))
    values = _evaluate(low, jvps(ys, pairs))
    if d.graph.unconnected_gradients == "zero":
        values = [np.zeros(y.shape, y.dtype) if v is None else v for y, v in zip(ys, values)]
    return ynames, values


def _whole(low, a) -> bool:
    import numpy as np

    if a is None:
        return False
    if a.dtype.kind in "iub":
        return True
    with np.errstate(all="ignore"):
        return (low.integral and a.dtype.kind == "f" and bool(np.all(np.isfinite(a)))
                and bool(np.all(a == np.round(a))))


def output_values(d) -> list[tuple[str, object, object]]:
    """The values of the file's ``outputs:`` nodes: (name, value, integral)
    per entry, where value is an array, None (a None gradient), or a list of
    those for an op with several outputs (integral alike)."""
    low = d.lowered
    names = [r.name for r in getattr(d.graph, "outputs", ())]
    flat: list = []
    for n in names:
        v = low.nodes[n]
        for o in (v if isinstance(v, list) else [v]):
            flat.append(None if type(o) is Absent else o)
    it = iter(_evaluate(low, flat))
    out = []
    for n in names:
        v = low.nodes[n]
        if isinstance(v, list):
            vals = [next(it) for _ in v]
            out.append((n, vals, [_whole(low, a) for a in vals]))
        else:
            a = next(it)
            out.append((n, a, _whole(low, a)))
    return out
