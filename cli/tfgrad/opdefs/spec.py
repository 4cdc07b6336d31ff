"""The op record (``OpDef``) and the registry every layer reads.

One user-facing op is one ``OpDef``: its TensorFlow name and parameters (in
TF's order, with TF's defaults), its doc, its shape rule, its lowering to
expression nodes (``forward``), its gradient as a person writes it
(``rule``) with the TF source it follows (``tf``), its kinks for ``check``,
and the error codes it raises. The parser validates calls against
``params``; ``schema``, ``check``, ``explain`` and the README's op list are
generated from or checked against ``REGISTRY``.

The VJPs themselves live with the node kinds an op lowers to (``funcs``,
``moves``, ``autodiff``): every op's gradient is the VJP of its forward
nodes, which is TF's gradient when the lowering follows TF's own kernels and
Python compositions. Keeping one VJP per node kind (not one per op as well)
is what makes a gradient of a gradient equal TF's: the second sweep runs over
the same node kinds the first one built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    import numpy as np

    from ..graph import Pos
    from ..tensor import Node


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

# Parameter kinds. Tensor kinds take graph nodes; the others are attributes.
TENSOR = "tensor"  # one tensor
TENSORS = "tensors"  # a list of tensors (concat's values, add_n's inputs)
ATTR_KINDS = (
    "bool", "int", "float", "str", "dtype",
    "axis",  # None, an int, or a list of ints
    "ints",  # a list of ints (perm, shape, multiples, begin/size...)
    "any",  # validated by the op's own rule (paddings, axes of tensordot...)
)


@dataclass(frozen=True)
class Param:
    """One parameter of an op, as TensorFlow names it."""

    name: str
    kind: str
    default: Any = REQUIRED
    choices: tuple = ()
    doc: str = ""
    upper: bool = False  # a string TF upper-cases before reading it (pad's mode)

    @property
    def is_tensor(self) -> bool:
        return self.kind in (TENSOR, TENSORS)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class OpDef:
    """A user-facing op.

    ``shape(ctx)`` returns the output shape (a list of shapes for several
    outputs) or raises ``ctx.error``; ``forward(ctx)`` builds the output
    node (or list of nodes). ``rule`` is the gradient as written by hand
    (``dX += G·Bᵀ``); ``tf`` the TF source of the gradient kernel.
    ``kinks(values)`` returns pairs of arrays that are equal exactly where the
    op is not differentiable (``[(x, 0)]`` for relu, ``[(x, y)]`` for
    maximum; ``values`` maps each tensor parameter to its array); ``errors`` lists the TGnnn codes the
    op's rules raise. ``outputs`` is the number of outputs (0: decided by
    the call, see ``n_outputs``).

    ``fast(xs)`` (optional) is a shortcut for the common case, taken by
    ``engine.lower`` before it builds a ``Ctx``: ``xs`` are the tensor
    inputs in parameter order (for an op whose one tensor parameter is a
    ``tensors`` list, that list), none of them absent or a list of outputs,
    and no attribute was written (each has its default; ops with a required
    attribute take no shortcut). It returns the node ``forward`` would
    build, or None when the inputs need the full path (broadcasting, dtype
    rules, errors). Lowering a deep graph of elementwise ops is mostly this
    path: it skips the binding dictionaries, the labels and the shape rule.
    """

    name: str
    params: tuple[Param, ...]
    doc: str
    shape: Callable[["Ctx"], Any]
    forward: Callable[["Ctx"], Any]
    rule: str
    tf: str
    family: str
    kinks: Callable[[dict], list] | None = None
    kink_note: str = ""
    errors: tuple[str, ...] = ()
    outputs: int = 1
    n_outputs: Callable[[dict], int] | None = None
    varargs: bool = False  # format 1's add_n(a, b, c): positional tensors fill the list
    differentiable: bool = True
    aliases: tuple[str, ...] = ()
    # sample inputs for tests/test_registry.py (shape rule vs forward, finite
    # differences) when the generated ones cannot work: YAML flow mappings
    # from TF's parameter names to values, e.g.
    # "{params: {shape: [4, 3]}, indices: {value: [2, 0, 2], dtype: int32}}"
    # (format: test_registry.parse_example)
    examples: tuple[str, ...] = field(default=())
    fast: Callable[[list["Node"]], "Node | None"] | None = None

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    # Cached: the lowering asks for them once per op of every graph.
    @cached_property
    def tensor_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.is_tensor)

    @cached_property
    def attr_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.is_tensor)

    @cached_property
    def fast_inputs(self) -> tuple[tuple[str, ...], bool] | None:
        """For ``fast``: the tensor parameters' names and whether the op's
        one tensor parameter is a ``tensors`` list; None when ``fast`` is
        unset, an attribute is required, or the parameters mix a list with
        other tensors."""
        if self.fast is None or any(p.required for p in self.attr_params):
            return None
        names = tuple(p.name for p in self.tensor_params)
        kinds = {p.kind for p in self.tensor_params}
        if kinds == {TENSOR}:
            return names, False
        if len(names) == 1 and kinds == {TENSORS}:
            return names, True
        return None

    def signature(self) -> str:
        parts = []
        for p in self.params:
            if p.required:
                parts.append(p.name)
            else:
                parts.append(f"{p.name}={_show(p.default)}")
        return f"{self.name}({', '.join(parts)})"


def _show(v: Any) -> str:
    if v is None:
        return "None"
    if isinstance(v, str):
        return repr(v)
    return str(v)


REGISTRY: dict[str, OpDef] = {}
ALIASES: dict[str, str] = {}


def register(op: OpDef) -> OpDef:
    if op.name in REGISTRY or op.name in ALIASES:
        raise ValueError(f"op {op.name!r} registered twice")
    REGISTRY[op.name] = op
    for a in op.aliases:
        ALIASES[a] = op.name
    return op


def lookup(name: str) -> OpDef | None:
    return REGISTRY.get(name) or REGISTRY.get(ALIASES.get(name, ""))


class LazyLabel:
    """How a message names a node, computed only if a message needs it
    (naming an inline literal formats its value, which costs more than
    lowering the op)."""

    __slots__ = ("fn", "args", "text")

    def __init__(self, fn: Callable[..., str], *args: Any) -> None:
        self.fn = fn
        self.args = args
        self.text: str | None = None

    def __str__(self) -> str:
        if self.text is None:
            self.text = self.fn(*self.args)
        return self.text

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class Ctx:
    """What an op's shape rule and lowering see: its inputs as nodes, its
    attributes (defaults filled in), and how to report an error at the
    user's text, naming the user's nodes.

    ``inputs[param]`` is a node (``tensor``) or a list of nodes
    (``tensors``); ``labels[param]`` the user's names for them (a list for
    lists); ``attrs[param]`` the attribute values; ``positions[param]`` where
    each was written (falling back to the op's position). ``values`` maps
    leaf names (``Tensor.name``) to their arrays when the caller knows them
    (``engine.lower`` passes the graph's environment), so that a rule can
    validate constant index tensors at lowering time (``ctx.value``).
    ``int_literals`` holds the leaf names of the inline literals written
    as integers (``n + 1``, ``[1, 2] * n``, not ``1.5`` or ``1.0``), which
    take an integer operand's dtype as TF converts a Python int
    (``weak_literals``); None when the caller does not know."""

    __slots__ = ("op", "name", "inputs", "labels", "attrs", "positions", "pos", "dtype", "source",
                 "values", "int_literals")

    def __init__(self, op: OpDef, name: str, inputs: dict[str, Any], labels: dict[str, Any],
                 attrs: dict[str, Any], positions: dict[str, "Pos"], pos: "Pos", dtype: str,
                 source: str = "", values: "dict[str, np.ndarray] | None" = None,
                 int_literals: "set[str] | frozenset[str] | None" = None) -> None:
        self.op = op
        self.name = name
        self.inputs = inputs
        self.labels = labels
        self.attrs = attrs
        self.positions = positions
        self.pos = pos
        self.dtype = dtype
        self.source = source
        self.values = values
        self.int_literals = int_literals

    def x(self, param: str) -> "Node":
        return self.inputs[param]

    def xs(self, param: str) -> "Sequence[Node]":
        v = self.inputs[param]
        return v if isinstance(v, (list, tuple)) else [v]  # one tensor given without a list

    def value(self, param: str) -> "np.ndarray | None":
        """The constant value of tensor input ``param`` when it is a leaf
        whose value the caller passed (``values``), else None (an op's
        result, or no values given): for validating index tensors early."""
        from ..tensor import Tensor

        x = self.inputs.get(param)
        if self.values is None or type(x) is not Tensor:
            return None
        return self.values.get(x.name)

    def written_int(self, x: "Node") -> bool:
        """Whether ``x`` is an inline literal written as integers (``1``,
        ``[1, 2]``; not ``1.0`` nor ``[1, 2.5]``)."""
        return self.int_literals is not None and getattr(x, "name", None) in self.int_literals

    def a(self, param: str) -> Any:
        return self.attrs[param]

    def label(self, param: str, i: int | None = None) -> str:
        lab = self.labels.get(param, param)
        if i is not None and isinstance(lab, (list, tuple)):
            return str(lab[i])
        return lab if isinstance(lab, (list, tuple)) else str(lab)

    def at(self, param: str | None) -> "Pos":
        if param is None:
            return self.pos
        return self.positions.get(param, self.pos)

    def error(self, message: str, code: str, at: str | None = None) -> Exception:
        """A ``GraphError`` to raise: ``raise ctx.error(...)``."""
        from ..graph import GraphError

        return GraphError(f"{self.op.name}: {message}", self.at(at), code)


def fmt_shape(shape: tuple[int, ...]) -> str:
    """``(2, 3)``, ``(3,)``, ``()``: how messages show shapes (NumPy's)."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"
