"""Expression nodes: the project's own SymPy node types, of any rank.

Every tensor of a derivation (forward values and gradients alike) is a tree
of these nodes. Each is a ``sympy.Basic`` subclass whose ``args`` are its
operand nodes (so SymPy's traversal and printer protocol work on them), with
two extra slots: ``shape`` (a tuple of ints, any rank) and ``dtype`` (one of
``DTYPES``). Parameters that are not tensors (an einsum spec, axes, a target
shape) live in slots too, never in ``args``.

Nodes are built unchecked with ``Basic.__new__`` (about 1 µs each; SymPy's
own array expressions cost hundreds of µs per op and recurse on ``.shape``).
The constructors here check only what a rule could get wrong; user-facing
shape errors are raised earlier, by the op's lowering, naming the user's
nodes.

SymPy's ``==``, ``hash`` and ``str`` recurse over the whole tree: never
compare or hash nodes; key caches by ``id()``.

Node types:

- ``Tensor``: a named leaf (variable, constant, inline literal, seed); its
  value is looked up by name when evaluating.
- ``Fill``: a constant of a shape (``zeros``, ``ones``, ``0.5``).
- ``Ew``: an elementwise function from ``funcs.FUNCS`` applied to operands
  that already have the output's shape (broadcasting is an explicit ``Move``).
- ``Contract``: an einsum contraction (matmul, batch matmul, tensordot,
  outer products, traces).
- ``Reduce``: ``sum``, ``max``, ``min`` or ``prod`` over axes (dropped).
- ``Move``: data movement from ``moves.MOVES`` (reshape, transpose,
  broadcast, slices, padding, concat...). ``Kernel``: other named kernels
  (softmax, convolutions, pooling...) from the same table.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterator, Sequence

from sympy import Basic

Shape = tuple[int, ...]

FLOAT_DTYPES = ("float64", "float32")
INT_DTYPES = ("int32", "int64")
DTYPES = FLOAT_DTYPES + INT_DTYPES + ("bool",)


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES


class Node(Basic):
    """Base of every expression node: ``shape`` and ``dtype`` on top of
    SymPy's ``args`` (the operand nodes)."""

    # _walk/_mark: scratch for one walk over the DAG at a time (plan.Plan,
    # autodiff.backprop): the walk's token once the node is met, and what the
    # walk keeps for it (its slot; its pending cotangents). Marking nodes
    # instead of keeping dicts keyed by id() halves a deep graph's plan
    # memory and is faster.
    # _owner: the graph name of the op whose lowering built the node (None
    # for nodes a sweep built); engine.lower sets it, errors and explain read
    # it (a dict keyed by id() was a third of a deep graph's lowering memory).
    __slots__ = ("shape", "dtype", "_walk", "_mark", "_owner")

    shape: Shape
    dtype: str

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    # SymPy's structural __eq__/__hash__ recurse over the whole tree and treat
    # nodes that differ only in their slots as equal; identity is the only
    # safe meaning for these nodes.
    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return id(self)

    def _hashable_content(self):  # used by SymPy's sort keys; keep it shallow
        return (id(self),)

    def __repr__(self) -> str:  # never recurse: deep trees would overflow
        return f"<{type(self).__name__} {self.shape} {self.dtype}>"

    __str__ = __repr__

    # -- fields the evaluator and the printers use ------------------------
    def params(self) -> tuple:
        """The node's non-tensor parameters (for printing and tests)."""
        return ()


def _new(cls: type, operands: tuple, shape: Shape, dtype: str) -> Any:
    # Basic.__new__(cls, *operands) inlined: the same four slots, without
    # unpacking and repacking the operands (node construction is most of a
    # deep graph's lowering and sweep)
    obj = _object_new(cls)
    obj._assumptions = cls.default_assumptions
    obj._mhash = None
    obj._args = operands
    obj.shape = shape
    obj.dtype = dtype
    obj._walk = obj._owner = None
    return obj


_object_new = object.__new__


class Tensor(Node):
    """A named leaf. ``kind`` is ``variable``, ``constant``, ``literal`` or
    ``seed``; ``name`` is the key of its value in the evaluation environment
    (the user's node name, ``c1``... for inline literals, ``g1``... for seeds)."""

    __slots__ = ("name", "kind")

    name: str
    kind: str

    def params(self) -> tuple:
        return (self.name, self.kind)


def tensor(name: str, shape: Shape, dtype: str, kind: str) -> Tensor:
    t = _new(Tensor, (), tuple(shape), dtype)
    t.name = name
    t.kind = kind
    return t


class Fill(Node):
    """A tensor of ``shape`` whose every entry is ``value`` (a Python number)."""

    __slots__ = ("value",)

    value: float

    def params(self) -> tuple:
        return (self.value,)


def fill(value: float, shape: Shape, dtype: str) -> Fill:
    f = _new(Fill, (), tuple(shape), dtype)
    f.value = value
    return f


def zeros(shape: Shape, dtype: str) -> Fill:
    return fill(0, shape, dtype)


def ones(shape: Shape, dtype: str) -> Fill:
    return fill(1, shape, dtype)


def is_fill(n: Node, value: float | None = None) -> bool:
    return type(n) is Fill and (value is None or n.value == value)


class Ew(Node):
    """An elementwise function ``fn`` (a key of ``funcs.FUNCS``) of operands
    of the output's shape; ``attrs`` are its scalar parameters (leaky_relu's
    alpha...)."""

    __slots__ = ("fn", "attrs")

    fn: str
    attrs: tuple

    def params(self) -> tuple:
        return (self.fn,) + self.attrs


def ew(fn: str, *operands: Node, attrs: tuple = (), dtype: str | None = None) -> Ew:
    """Build ``fn(*operands)``. Every operand must have the same shape
    (broadcast them first with ``broadcast_to``); the result's dtype is the
    function's (comparisons give bool) or that of the operand its
    ``dtype_from`` names (the first; select's is its second)."""
    f = _FUNCS.get(fn)
    if f is None:
        from .funcs import FUNCS  # fills _FUNCS on import

        f = FUNCS[fn]
    shape = operands[0].shape
    for o in operands:
        if o.shape != shape:
            raise ValueError(f"ew({fn}): operand shapes differ: {shape} and {o.shape}")
    if dtype is None:
        dtype = f.out_dtype or operands[f.dtype_from].dtype
    e = _object_new(Ew)
    e._assumptions = _EW_ASSUMPTIONS
    e._mhash = None
    e._args = operands
    e.shape = shape
    e.dtype = dtype
    e.fn = fn
    e.attrs = attrs if type(attrs) is tuple else tuple(attrs)
    e._walk = e._owner = None
    return e


def ew_same(fn: str, operands: tuple) -> Ew:
    """``ew(fn, *operands)`` without attributes, for operands the caller has
    just checked have one shape (the lowering shortcuts: this skips the
    check and the argument packing, a third of a thin op's lowering)."""
    f = _FUNCS[fn]
    e = _object_new(Ew)
    e._assumptions = _EW_ASSUMPTIONS
    e._mhash = None
    e._args = operands
    e.shape = operands[0].shape
    e.dtype = f.out_dtype or operands[f.dtype_from].dtype
    e.fn = fn
    e.attrs = ()
    e._walk = e._owner = None
    return e


# funcs.FUNCS, the same dict object (funcs imports this module, so it
# registers its table here rather than being imported at every ``ew``)
_FUNCS: dict[str, Any] = {}
_EW_ASSUMPTIONS = Ew.default_assumptions


class Contract(Node):
    """``einsum(spec, *operands)``; ``spec`` is explicit (``ab,bc->ac``),
    one letter per axis, no ellipsis."""

    __slots__ = ("spec",)

    spec: str

    def params(self) -> tuple:
        return (self.spec,)

    @property
    def subscripts(self) -> tuple[list[str], str]:
        ins, out = self.spec.split("->")
        return ins.split(","), out


def contract(spec: str, *operands: Node) -> Contract:
    shape = _contract_shape(spec, tuple([o.shape for o in operands]))
    c = _new(Contract, operands, shape, operands[0].dtype)
    c.spec = spec
    return c


@lru_cache(maxsize=4096)
def _contract_shape(spec: str, shapes: tuple) -> Shape:
    """The result shape of einsum ``spec`` on operands of ``shapes``, or
    ValueError (a rule bug). Cached: a graph repeats a few contractions, and
    its VJPs the same ones again."""
    ins, out = spec.split("->")
    subs = ins.split(",")
    if len(subs) != len(shapes):
        raise ValueError(f"contract({spec}): {len(shapes)} operands")
    sizes: dict[str, int] = {}
    for s, sh in zip(subs, shapes):
        if len(s) != len(sh):
            raise ValueError(f"contract({spec}): operand of rank {len(sh)} for {s!r}")
        for ch, d in zip(s, sh):
            if sizes.setdefault(ch, d) != d:
                raise ValueError(f"contract({spec}): axis {ch} is {sizes[ch]} and {d}")
    return tuple(sizes[ch] for ch in out)


class Reduce(Node):
    """``kind`` (sum, max, min, prod) over ``axes`` of the operand; the
    reduced axes are dropped (keepdims is a reshape around it)."""

    __slots__ = ("kind", "axes")

    kind: str
    axes: tuple[int, ...]

    def params(self) -> tuple:
        return (self.kind, self.axes)


def reduce(kind: str, axes: tuple[int, ...], x: Node) -> Node:
    axes = tuple(sorted(set(a % x.rank if x.rank else a for a in axes)))
    if not axes:
        return x
    shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    r = _new(Reduce, (x,), shape, x.dtype)
    r.kind = kind
    r.axes = axes
    return r


class Move(Node):
    """Data movement: ``kind`` is a key of ``moves.MOVES`` (reshape,
    transpose, broadcast, slice, pad, concat...), ``attrs`` its parameters
    as a tuple of hashable Python values."""

    __slots__ = ("kind", "attrs")

    kind: str
    attrs: tuple

    def params(self) -> tuple:
        return (self.kind,) + self.attrs


class Kernel(Move):
    """A named kernel that is neither elementwise nor movement (softmax,
    convolution, pooling and their gradient kernels); same table as Move."""

    __slots__ = ()


def prim(kind: str, *operands: Node, attrs: tuple = ()) -> Node:
    """Build a ``Move`` or ``Kernel`` node of table entry ``kind``."""
    spec = _MOVES.get(kind)
    if spec is None:
        from .moves import MOVES  # fills _MOVES on import

        spec = MOVES[kind]
    shape, dtype = spec.shape(operands, attrs)
    m = _new(Kernel if spec.kernel else Move, operands, tuple(shape), dtype)
    m.kind = kind
    m.attrs = tuple(attrs)
    return m


# moves.MOVES, the same dict object (as _FUNCS for ew)
_MOVES: dict[str, Any] = {}


def with_args(n: Node, args: tuple) -> Node:
    """A copy of ``n`` (same kind, parameters, shape, dtype) over ``args``:
    for rebuilding the nodes above a substituted one."""
    m = type(n).__new__(type(n))
    m._args = tuple(args)
    m._mhash = None
    m._assumptions = n._assumptions
    m.shape = n.shape
    m.dtype = n.dtype
    m._walk = m._owner = None
    for cls in type(n).__mro__:
        if cls is Node:
            break
        for slot in cls.__dict__.get("__slots__", ()):
            setattr(m, slot, getattr(n, slot))
    return m


# -- convenience constructors used by op lowerings and VJPs -------------------

def reshape(x: Node, shape: Shape) -> Node:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return prim("reshape", x, attrs=(shape,))


def transpose(x: Node, perm: tuple[int, ...]) -> Node:
    perm = tuple(perm)
    if perm == tuple(range(x.rank)):
        return x
    return prim("transpose", x, attrs=(perm,))


def broadcast_to(x: Node, shape: Shape) -> Node:
    """NumPy broadcasting of ``x`` to ``shape`` (the caller has checked that
    it broadcasts). Its VJP is the one place where broadcasting is undone."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return prim("broadcast", x, attrs=(shape,))


def unbroadcast(g: Node, shape: Shape) -> Node:
    """Sum ``g`` back to ``shape``: over the leading axes ``shape`` lacks and
    over the axes where ``shape`` has 1 (then reshape). TF's
    ``BroadcastGradientArgs`` + ``reduce_sum`` + ``reshape``."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.rank - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1
    )
    return reshape(reduce("sum", axes, g), shape)


def add(*terms: Node) -> Node:
    """The sum of same-shaped terms (one node, TF's AddN)."""
    terms = tuple(t for t in terms if not is_fill(t, 0)) or terms[:1]
    if len(terms) == 1:
        return terms[0]
    return ew("add", *terms)


def neg(x: Node) -> Node:
    return ew("negative", x)


def mul(a: Node, b: Node) -> Node:
    return ew("multiply", a, b)


def scale(x: Node, k: float) -> Node:
    """``k * x`` for a Python number ``k``."""
    if k == 1:
        return x
    return ew("multiply", x, fill(k, x.shape, x.dtype))


def const_like(x: Node, value: float) -> Fill:
    return fill(value, x.shape, x.dtype)


def walk(roots: list[Node] | tuple[Node, ...]) -> list[Node]:
    """Every node reachable from ``roots``, each once, operands before the
    nodes that use them (iterative: graphs 10,000 deep are normal). Marks
    the nodes (``marked_walk`` with a token of its own), so it must not run
    inside another marked walk over the same nodes (backprop's sweep raises
    if one does)."""
    return list(marked_walk(roots, object()))


def marked_walk(roots: Sequence[Node], token: object) -> Iterator[Node]:
    """``walk(roots)``'s nodes in its order (operands first, each once),
    yielded as each is finished, marking every node met with
    ``Node._walk = token`` instead of keeping a set of ids: the walk of
    ``plan.Plan`` and ``autodiff.backprop``, which keep their per-node state
    in ``Node._mark`` (set it when the node is yielded: its operands have
    been yielded before it). ``token`` must be a fresh object per walk."""
    for root in roots:
        if root._walk is token:
            continue
        root._walk = token
        stack = [(root, iter(root._args))]
        push, pop = stack.append, stack.pop
        while stack:
            node, it = stack[-1]
            for child in it:
                if child._walk is not token:
                    child._walk = token
                    push((child, iter(child._args)))
                    break
            else:
                pop()
                yield node


NodeFn = Callable[..., Node]


class Absent(Node):
    """A None gradient standing in a graph: what ``gradients`` (or
    ``jacobian``) gives for an x no path reaches. It has the x's shape, so
    that a list of gradients keeps its layout; ``why`` says why it is None.
    Using it in an op is an error (``engine`` raises it, naming the x);
    it has no kernel and is never evaluated."""

    __slots__ = ("why",)

    why: str


def absent(shape: Shape, dtype: str, why: str) -> Absent:
    a = _new(Absent, (), tuple(shape), dtype)
    a.why = why
    return a
