"""The data model shared by every stage.

Input: nothing (this module only defines types). Output: ``Pos``, ``Value``,
``Node``, ``Ref``, ``Graph`` and ``GraphError``, the plain frozen records that
``parse`` produces and ``symbolic``/``evaluate``/``render``/``check`` consume.

Shapes are NumPy's, of any rank (the old engine handles rank 0, 1 or 2). Positions are 1-based (line, column)
of the YAML node (or of the token inside an expression string) that a record
came from, so that any later stage can point an error at the file.
"""

from __future__ import annotations

import difflib
import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Literal

import numpy as np

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Pos:
    """A 1-based position in a source; ``source`` overrides the file name
    (e.g. ``<--set>`` for a command-line override)."""

    line: int
    col: int
    source: str | None = None


class GraphError(Exception):
    """Invalid input, located. The CLI prints ``FILE:LINE:COL: error: MSG``.

    ``code`` is the problem code ``tfgrad check`` reports (``TGnnn``, one of
    ``check.CODES``), given where the error is raised: check never guesses
    it from the message. tests/test_error_codes.py fails on a raise without
    a code or with an undocumented one."""

    def __init__(self, message: str, pos: Pos | None, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.code = code

    def format(self, filename: str) -> str:
        if self.pos is None:
            return f"{filename}: error: {self.message}"
        src = self.pos.source or filename
        return f"{src}:{self.pos.line}:{self.pos.col}: error: {self.message}"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector. Every stage allocates many small
    acyclic objects (YAML nodes, SymPy nodes, arrays); the collector's passes
    over them cost 20-40% of parse, derive and evaluate time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or ``''``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass(frozen=True, eq=False)
class Value:
    """A tensor literal. ``array`` has the written shape (any rank); it is
    float64 unless ``dtype`` says otherwise. ``integral`` is true when every
    entry was written as an integer, which lets results print as exact
    integers. ``dtype`` is the dtype the file gave the value (``{value: ...,
    dtype: int32}``, a ``.npy`` file's own dtype...), or None: the graph's
    dtype (format 1's plain numbers)."""

    array: np.ndarray
    integral: bool
    dtype: str | None = None

    @property
    def shape(self) -> Shape:
        return tuple(self.array.shape)


NodeKind = Literal["variable", "constant", "literal", "op"]


@dataclass(frozen=True, eq=False)
class Node:
    """One tensor of the graph.

    ``variable``/``constant``/``literal`` nodes carry ``value``; ``literal``
    nodes are the anonymous constants written inline (``matmul(w, [[2]])``).
    ``op`` nodes carry ``op`` (a name in ``opdefs.REGISTRY``, or
    ``engine.OUTPUT_OP`` for ``parts[0]``); ``inputs`` maps each tensor
    parameter given (TF's name) to a node name, or to a tuple of names for a
    ``tensors`` parameter written as a list (``concat``'s values; a
    ``tensors`` parameter written as one bare tensor keeps one name, so
    that ``gradients(y, x)`` and ``gradients(y, [x])`` differ); ``args`` is the flat tuple
    of every input name in parameter order (what ordering and cycle checks
    walk; the old engine reads it) with ``arg_pos`` parallel to it;
    ``attrs`` holds the attributes given (TF's names, values checked against
    the parameter's kind; defaults are not filled in) with ``attr_pos``.
    Ops written inside an expression string get names that cannot clash
    with user names (``res2a/matmul_1``); ``user`` is false for them and for
    literals, and ``text`` is their source text (``matmul(w1, w2)``), which
    messages use to name them.
    """

    name: str
    kind: NodeKind
    pos: Pos
    value: Value | None = None
    op: str | None = None
    args: tuple[str, ...] = ()
    arg_pos: tuple[Pos, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)
    attr_pos: dict[str, Pos] = field(default_factory=dict)
    user: bool = True
    inputs: dict[str, str | tuple[str, ...]] | None = None
    text: str | None = None


@dataclass(frozen=True)
class Ref:
    """A name used in ys, xs, grad_ys, stop_gradients or expect, where written."""

    name: str
    pos: Pos


@dataclass(frozen=True, eq=False)
class GradY:
    """One entry of ``grad_ys``: a literal value, a node name, or ones (both None)."""

    pos: Pos
    value: Value | None = None
    ref: str | None = None


@dataclass(frozen=True, eq=False)
class Expectation:
    """``expect: {x: value}``; ``value`` None means the gradient is expected None."""

    name: str
    pos: Pos
    value: Value | None


@dataclass(frozen=True, eq=False)
class Graph:
    """A parsed, name-checked, acyclic graph file.

    ``nodes`` maps every name (literals and expression sub-ops included) to
    its node; ``order`` lists them so that every node follows its args.
    Shapes are not checked here; ``symbolic.derive`` infers them.
    """

    source: str
    nodes: dict[str, Node]
    order: tuple[str, ...]
    ys: tuple[Ref, ...]
    xs: tuple[Ref, ...]
    grad_ys: tuple[GradY, ...] | None = None
    grad_ys_pos: Pos | None = None
    stop_gradients: tuple[Ref, ...] = ()
    unconnected_gradients: Literal["none", "zero"] = "none"
    expect: tuple[Expectation, ...] = ()
    expect_pos: Pos | None = None
    # ``expect_hessian: {x: value}``: tf.hessians(ys, xs)'s entry for x (the
    # Hessian of sum(ys), shape x.shape + x.shape), compared by ``check``
    expect_hessian: tuple[Expectation, ...] = ()
    rtol: float = 1e-7
    atol: float = 1e-9
    tolerance_pos: Pos | None = None
    name: str | None = None
    description: str | None = None
    dtype: str = "float64"  # the top-level dtype: float32 or float64
    outputs: tuple[Ref, ...] = ()  # nodes whose values run prints after the gradients
    # top-level keys the file gave that the command does not use and the
    # parser left unread (Overrides.unused), for the command to say so
    unused: tuple[str, ...] = ()

    def user_names(self) -> list[str]:
        return [n for n, node in self.nodes.items() if node.user]
