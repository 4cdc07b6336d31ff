"""Graph files (YAML text) -> ``graph.Graph``.

Input: the text of a graph file in format 1 (``shared/graph-format.md``), the
file name used in messages, and optional command-line ``Overrides``.
Output: a ``graph.Graph`` whose names are resolved, whose ops have checked
arities and attributes (defaults filled in), and whose ``order`` is
topological. Shapes are not checked here; ``symbolic`` infers them.

Every invalid input raises ``graph.GraphError`` with the 1-based position of
the offending YAML node, or of the token inside an expression string; no
other exception type escapes. Nothing in a file is ever executed: the YAML is
read as parser events and only core-schema tags are accepted (no Python
objects are ever constructed), and expressions are read with ``ast`` and
checked against a whitelist, never evaluated.

Node naming: user names are the keys of ``variables``, ``constants`` and
``ops``. Sub-ops written inside an expression get ``OWNER/OP_K`` (e.g.
``res2a/matmul_1``) and inline literals ``OWNER/literal_K``, numbered per
owner in source order; '/' cannot occur in a user name, so they never clash.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import graphlib
import heapq
import io
import keyword
import math
import operator
import os
import re
import tokenize
import warnings
from dataclasses import dataclass
from typing import Any, Callable, NoReturn

import numpy as np
import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from .graph import (
    Expectation,
    Graph,
    GraphError,
    GradY,
    Node,
    Pos,
    Ref,
    Value,
    did_you_mean,
    gc_paused,
)
from . import bulk
from . import values as values_mod
from .binding import NOT_A_VALUE, TENSOR, TENSORS, bind, check_attr, describe, lookup, unknown_op_message

__all__ = ["Overrides", "parse_graph"]

# Limits: each turns a hostile or runaway input into a clean error instead of
# a hang, a MemoryError or a crashed C stack.
MAX_TEXT_CHARS = 256_000_000
# Nodes that aliases may add beyond the ones written out; an alias bomb
# ("billion laughs") trips this while the document is still a few KB.
MAX_ALIAS_EXPANSION = 1_000_000
# libyaml's scanner is quadratic in flow nesting ('[' * 100_000 takes 10 s).
MAX_YAML_DEPTH = 1000
MAX_EXPR_CHARS = 100_000
# Nesting of an expression, not counting left-associative chains
# (a + b + c + ... is depth 1), so long flat sums stay legal.
MAX_EXPR_DEPTH = 200
EXACT_INT_LIMIT = 2**53

TOP_KEYS = (
    "variables",
    "constants",
    "ops",
    "ys",
    "xs",
    "grad_ys",
    "stop_gradients",
    "unconnected_gradients",
    "expect",
    "expect_hessian",
    "tolerance",
    "name",
    "description",
    "dtype",
    "outputs",
)
GRAPH_DTYPES = ("float64", "float32")
UNCONNECTED = ("none", "zero")
TOLERANCE_DEFAULTS = {"rtol": 1e-7, "atol": 1e-9}

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_T = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = _T + "str", _T + "int", _T + "float", _T + "bool", _T + "null"

# Numbers follow YAML 1.2's core schema (as the YAML language server, ruamel
# and the npm 'yaml' package read them), not PyYAML's YAML 1.1 rules: 010 is
# ten, 0o17 and 0x1F are octal and hex, 1:30, 1_000 and 0b101 are strings.
_CORE_INT_RE = re.compile(r"[-+]?[0-9]+\Z|0o[0-7]+\Z|0x[0-9a-fA-F]+\Z")
_CORE_FLOAT_RE = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z"
    r"|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z"
)


class _CoreResolver(yaml.resolver.Resolver):
    """PyYAML's resolver with YAML 1.2 core-schema ints and floats in place
    of its YAML 1.1 ones (null, bool and the rest unchanged)."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in pairs if tag not in (_INT, _FLOAT)]
        for first, pairs in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }


_CoreResolver.add_implicit_resolver(_INT, _CORE_INT_RE, list("-+0123456789"))
_CoreResolver.add_implicit_resolver(_FLOAT, _CORE_FLOAT_RE, list("-+.0123456789"))
_RESOLVER = _CoreResolver()
_SEQ, _MAP, _MERGE = _T + "seq", _T + "map", _T + "merge"
_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL}

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Plain scalars that look like numbers but are not YAML 1.2 ones (1_000, 1:30, 0b1).
_NUMBERISH_RE = re.compile(r"[-+]?\.?[0-9][0-9A-Za-z_:.+-]*\Z")
# Plain untagged scalars that are plainly numbers, read without PyYAML's
# resolver. Each group is a subset on which the result is known exactly
# (every other scalar goes the general way):
#   1 float: forms with a point (0.25, -1.0e-06, 5., .5): the resolver
#            says !!float and _yaml_float gives float(text);
#   2 int:   decimal, no leading zero, at most 15 digits (< 2**53): the
#            resolver says !!int and _yaml_int gives int(text);
#   3 float: the remaining forms with an exponent (1e-7, 1.5E3, -.5e3):
#            the resolver says !!float and _yaml_float gives float(text).
# The groups are disjoint but for 1/3, where 1 comes first.
# tests/test_parse.py checks all this against the resolver and _scalar.
_FAST_NUMBER_RE = re.compile(
    r"(?:([-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?|\.[0-9]+(?:[eE][-+][0-9]+)?)"
    r"|([-+]?(?:0|[1-9][0-9]{0,14}))"
    r"|([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+))\Z"
)
# YAML 1.1 booleans that the 1.2 core schema reads as strings; accepted as
# names so that a node called ``on`` or ``no`` keeps working.
_YAML11_ONLY_BOOLS = {"yes", "no", "on", "off"}
_BAD_CHAR_RE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n\r"  # what _BAD_CHAR_RE allows in ASCII
_BRACKETS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}

_EXPR_RULE = (
    "expressions may use names, numbers, lists, + - * / @ **, comparisons, & | ~, subscripts and calls of ops"
)
_VALUE_RULE = "a number, a list of numbers or nested lists of numbers (equal lengths at each depth)"


@dataclass(frozen=True)
class Overrides:
    """Command-line overrides for quick experiments, applied before validation."""

    dtype: str | None = None  # replace the top-level dtype (--dtype float32|float64)
    set: tuple[tuple[str, str], ...] = ()  # (NAME, YAML text of the new value) of a variable/constant
    ys: tuple[str, ...] | None = None  # replace ys
    xs: tuple[str, ...] | None = None  # replace xs
    stop: tuple[str, ...] | None = None  # replace stop_gradients
    unconnected: str | None = None  # 'none' | 'zero'
    allow_outside: tuple[str, ...] = ()  # paths outside the graph file's directory that {file: ...} may read
    # top-level keys the command does not use (hessian: grad_ys,
    # stop_gradients, unconnected_gradients; tf.hessians takes none of them):
    # left unread, so that --ys is not checked against a grad_ys nobody uses;
    # the ones the file gave are listed in Graph.unused
    unused: tuple[str, ...] = ()


def parse_graph(text: str, filename: str = "<stdin>", overrides: Overrides | None = None) -> Graph:
    """Parse and name-check a graph file; raise ``GraphError`` for any invalid input."""
    if not isinstance(text, str):
        raise GraphError(f"expected the text of a graph file; found {type(text).__name__}", Pos(1, 1), "TG102")
    # ast.parse warns (SyntaxWarning: invalid decimal literal, ...) on
    # stderr; every problem here is reported as a GraphError instead.
    with gc_paused(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = _compose(text, None)
        graph = _Builder(filename, overrides or Overrides()).build(root)
    if overrides is not None and overrides.dtype is not None:
        if overrides.dtype not in ("float32", "float64"):
            raise GraphError(f"--dtype must be float32 or float64; found {overrides.dtype!r}", None, "TG102")
        graph = dataclasses.replace(graph, dtype=overrides.dtype)
    return graph


def _fail(message: str, pos: Pos | None, code: str) -> NoReturn:
    raise GraphError(message, pos, code)


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


def _clip(s: str, n: int = 40) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


# ---------------------------------------------------------------------------
# YAML: events -> light nodes with positions
#
# We compose nodes ourselves from parser events rather than with
# yaml.compose: the C composer recurses on the C stack (a deep file could
# crash the process), and events tell an explicit tag (``!!int '3'``) from a
# resolved one, which the tag whitelist needs. Aliases share node objects, as
# in PyYAML; each node records its expanded size so that alias bombs are
# caught in linear time.
# ---------------------------------------------------------------------------


class _Doc:
    # ``original``: the file's text when ``text`` is bulk.scan's replacement
    # of it (bulk-read sequences' own text is there)
    __slots__ = ("text", "source", "original")

    def __init__(self, text: str, source: str | None, original: str | None = None) -> None:
        self.text = text
        self.source = source
        self.original = original if original is not None else text


class _YNode:
    """A composed YAML node. Positions are kept as the parser's mark (a small
    object holding 0-based line, column and index); a ``Pos`` is only built
    when one is asked for, which on the happy path is never."""

    __slots__ = ("doc", "mark", "_pos")

    def __init__(self, doc: _Doc, mark: Any) -> None:
        self.doc = doc
        self.mark = mark

    @property
    def line(self) -> int:
        return self.mark.line

    @property
    def col(self) -> int:
        return self.mark.column

    @property
    def index(self) -> int:
        return self.mark.index

    @property
    def pos(self) -> Pos:
        # made at the first request and kept: a key's is asked for by the
        # duplicate check, the declaration and the node (``_pos`` is left
        # unset by the composer, which makes hundreds of thousands of nodes)
        try:
            return self._pos
        except AttributeError:
            mark = self.mark
            p = self._pos = Pos(mark.line + 1, mark.column + 1, self.doc.source)
            return p


class _YScalar(_YNode):
    # ``num``: the number of a plain scalar that _compose_events recognised
    # as one (an int or a float, exactly what _scalar would compute), else
    # None. ``end``: the end mark; None for such a number without an anchor,
    # whose end is then its start plus its length (a one-line plain scalar).
    __slots__ = ("tag", "value", "style", "explicit", "end", "num")
    size = 1  # nodes it stands for (see _compose_events)

    @property
    def plain(self) -> bool:
        return not self.style

    @property
    def quoted(self) -> bool:
        return self.style in ("'", '"')

    @property
    def end_line(self) -> int:
        return self.mark.line if self.end is None else self.end.line

    @property
    def end_col(self) -> int:
        return self.mark.column + len(self.value) if self.end is None else self.end.column

    @property
    def end_index(self) -> int:
        return self.mark.index + len(self.value) if self.end is None else self.end.index


class _YSeq(_YNode):
    # ``bulk``: a flow sequence of plain numbers read by bulk.scan (its
    # bulk.Region, whose array is the value), else None; its items are then
    # composed from the original text only when something asks for them.
    __slots__ = ("_items", "flow", "size", "bulk")
    num = None  # not a number (see _YScalar.num)

    @property
    def items(self) -> list:
        items = self._items
        if items is None:
            items = self._items = _bulk_items(self)
        return items

    @items.setter
    def items(self, value: list) -> None:
        self._items = value


class _YMap(_YNode):
    __slots__ = ("pairs", "flow", "pending", "size")
    num = None


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_T) :] if tag.startswith(_T) else tag


def _pos_of_index(text: str, i: int, source: str | None) -> Pos:
    line_start = text.rfind("\n", 0, i) + 1
    return Pos(text.count("\n", 0, i) + 1, i - line_start + 1, source)


def _compose(text: str, source: str | None) -> _YNode | None:
    """Compose the single YAML document of ``text`` (None when empty)."""
    if len(text) > MAX_TEXT_CHARS:
        _fail(
            f"input has {len(text):,} characters; graph files are limited to {MAX_TEXT_CHARS:,}",
            Pos(1, 1, source),
            "TG101",
        )
    bad = None
    if not text.isascii() or text.encode("ascii").translate(None, _PRINTABLE_ASCII):
        bad = _BAD_CHAR_RE.search(text)
    if bad:
        _fail(
            f"character U+{ord(bad.group()):04X} is not allowed in YAML (control characters "
            "and unpaired surrogates are not text)",
            _pos_of_index(text, bad.start(), source),
            "TG101",
        )
    doc = _Doc(text, source)
    scanned = bulk.scan(text)
    if scanned is not None:
        # numbers in bulk; any doubt (an error, a replacement that did not
        # compose as its own scalar) and the file is read the ordinary way.
        # The composed nodes' marks refer to the replaced text, so that is
        # their document's text; a bulk node reads its own from the original.
        loader = _Loader(scanned[0])
        try:
            regions = scanned[1]
            root = _compose_events(_Doc(scanned[0], source, text), loader, regions)
            if not regions:  # every replacement was consumed
                return root
        except (yaml.YAMLError, GraphError, ValueError, UnicodeError):
            pass
        finally:
            loader.dispose()
    loader = _Loader(text)
    try:
        return _compose_events(doc, loader)
    except yaml.YAMLError as e:
        raise _yaml_error(e, doc) from None
    except (ValueError, UnicodeError, MemoryError, RecursionError) as e:  # pragma: no cover - defensive
        raise GraphError(f"unreadable YAML: {e}", Pos(1, 1, source), "TG101") from None
    finally:
        loader.dispose()


def _bulk_items(node: _YSeq) -> list:
    """The items of a sequence read in bulk, composed from the original
    text (everything before it blanked, so that marks are exact)."""
    region = node.bulk
    text = node.doc.original
    # the lines before it blank, so that line and column marks are exact
    synthetic = "\n" * node.mark.line + " " * node.mark.column + text[region.start : region.end]
    loader = _Loader(synthetic)
    try:
        root = _compose_events(_Doc(synthetic, node.doc.source), loader)
    finally:
        loader.dispose()
    assert type(root) is _YSeq
    return root.items


def _compose_events(doc: _Doc, loader: Any, regions: dict | None = None) -> _YNode | None:
    # The hot loop of parsing (one pass per event, a few hundred thousand
    # for a large weight matrix): the scalar branch comes first, attaches to
    # its parent inline and reads plain numbers without the resolver.
    root: _YNode | None = None
    stack: list[Any] = []  # open sequences/mappings
    parent: Any = None  # stack[-1]
    append: Any = None  # parent.items.append when the parent is a sequence
    anchors: dict[str, _YNode] = {}
    open_ids: set[int] = set()
    # Nodes, each alias counted as the size of its target; and of those, the
    # ones added by aliases. A container's size is the growth of ``expanded``
    # while it is open (its start count waits in .size until it closes).
    expanded = aliased = 0
    documents = 0
    no_key = _YMap  # sentinel for "mapping waits for a key"
    get_event = loader.get_event
    fast_number = _FAST_NUMBER_RE.match
    resolve = _RESOLVER.resolve
    new = object.__new__
    scalar_node = yaml.ScalarNode
    YScalar, YSeq = _YScalar, _YSeq

    while True:
        ev = get_event()
        cls = type(ev)
        if cls is ScalarEvent:
            node = new(YScalar)
            node.doc = doc
            node.mark = ev.start_mark
            value = node.value = ev.value
            style = node.style = ev.style
            tag = ev.tag
            anchor = ev.anchor
            if style == '"' and regions:
                mark = ev.start_mark
                region = regions.pop((mark.line, mark.column), None)
                if region is not None and ev.end_mark.line >= mark.line:
                    if tag is not None or anchor is not None:
                        regions[(mark.line, mark.column)] = region  # not ours: fall back
                        return None
                    node = new(YSeq)
                    node.doc, node.mark, node.flow, node.bulk, node._items = doc, mark, True, region, None
                    node.size = region.count
                    expanded += region.count
                    if append is not None:
                        append(node)
                    elif parent is None:
                        root = node
                    else:
                        _attach_to_map(parent, node)
                    continue
            m = fast_number(value) if tag is None and not style and ev.implicit[0] else None
            if m is not None:
                group = m.lastindex
                if group == 2:
                    node.tag, node.num = _INT, int(value)
                else:
                    node.tag, node.num = _FLOAT, float(value)
                node.explicit = False
                node.end = None if anchor is None else ev.end_mark
            else:
                node.num = None
                node.end = ev.end_mark
                explicit = node.explicit = tag is not None and tag != "!"
                if explicit:
                    if tag not in _SCALAR_TAGS:
                        _fail(_tag_message(tag), node.pos, "TG101")
                else:
                    tag = resolve(scalar_node, value, ev.implicit)
                node.tag = tag
            expanded += 1
            if anchor is not None:
                anchors[anchor] = node
            if append is not None:
                append(node)
            elif parent is None:
                root = node
            else:
                _attach_to_map(parent, node)
        elif cls is SequenceStartEvent or cls is MappingStartEvent:
            is_seq = cls is SequenceStartEvent
            if is_seq:
                node = YSeq(doc, ev.start_mark)
                node.bulk = None
            else:
                node = _YMap(doc, ev.start_mark)
            tag = ev.tag
            if tag is not None and tag != "!" and tag != (_SEQ if is_seq else _MAP):
                _fail(_tag_message(tag), node.pos, "TG101")
            if len(stack) >= MAX_YAML_DEPTH:
                _fail(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", node.pos, "TG101")
            node.flow = bool(ev.flow_style)
            if is_seq:
                node.items = []
            else:
                node.pairs = []
                node.pending = no_key
            expanded += 1
            node.size = expanded
            if ev.anchor is not None:
                anchors[ev.anchor] = node
            open_ids.add(id(node))
            stack.append(node)
            parent = node
            append = node.items.append if is_seq else None
        elif cls is SequenceEndEvent or cls is MappingEndEvent:
            node = stack.pop()
            node.size = expanded - node.size + 1
            open_ids.discard(id(node))
            parent = stack[-1] if stack else None
            append = parent.items.append if type(parent) is YSeq else None
            if append is not None:
                append(node)
            elif parent is None:
                root = node
            else:
                _attach_to_map(parent, node)
        elif cls is AliasEvent:
            here = Pos(ev.start_mark.line + 1, ev.start_mark.column + 1, doc.source)
            target = anchors.get(ev.anchor)
            if target is None:
                _fail(f"unknown alias *{ev.anchor}: no anchor &{ev.anchor} before it", here, "TG101")
            if id(target) in open_ids:
                _fail(f"alias *{ev.anchor} is inside the node &{ev.anchor} it names (a recursive structure)", here, "TG101")
            expanded += target.size
            aliased += target.size
            if aliased > MAX_ALIAS_EXPANSION:
                _fail(
                    f"document expands to more than {expanded - aliased + MAX_ALIAS_EXPANSION:,} nodes; "
                    "YAML aliases (&/*) may be nested too deep",
                    here,
                    "TG101",
                )
            if append is not None:
                append(target)
            elif parent is None:
                root = target
            else:
                _attach_to_map(parent, target)
        elif cls is DocumentStartEvent:
            documents += 1
            if documents > 1:
                _fail(
                    "found a second YAML document; a graph file holds one document (remove the '---')",
                    Pos(ev.start_mark.line + 1, ev.start_mark.column + 1, doc.source),
                    "TG101",
                )
        elif ev is None or cls is StreamEndEvent:
            break
    return root


def _attach_to_map(m: _YMap, node: _YNode) -> None:
    if m.pending is _YMap:  # the sentinel for "waits for a key"
        m.pending = node
    else:
        m.pairs.append((m.pending, node))
        m.pending = _YMap


def _tag_message(tag: str) -> str:
    return (
        f"YAML tag '{_show_tag(tag)}' is not allowed; graph files use plain YAML "
        "(strings, numbers, true/false, null, lists and mappings)"
    )


def _yaml_error(e: yaml.YAMLError, doc: _Doc) -> GraphError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None)
    if problem is None:
        problem = str(e).split("\n")[0]
    if "maximum nesting depth" in problem and mark is not None:
        # libyaml 0.2.6+ (PyYAML 6.0.4's wheels) stops at 1,000 levels itself;
        # say it as our own limit does, wherever the limit was hit first.
        return GraphError(f"YAML nested more than {MAX_YAML_DEPTH} levels deep",
                          Pos(mark.line + 1, mark.column + 1, doc.source), "TG101")
    message = f"invalid YAML: {problem}"
    context, context_mark = getattr(e, "context", None), getattr(e, "context_mark", None)
    if context and context_mark is not None:
        message += f" ({context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
    elif context:
        message += f" ({context})"
    line_text = ""
    if mark is not None:
        lines = doc.text.splitlines()
        if 0 <= mark.line < len(lines):
            line_text = lines[mark.line]
    if "mapping values are not allowed" in problem:
        message += "; a ': ' inside a plain value starts a mapping: quote the value"
    elif "'\\t'" in problem or "\t" in line_text[: (mark.column + 1) if mark else 0]:
        message += "; YAML indentation uses spaces, not tabs"
    elif context and "flow" in context and "(" in line_text:
        message += (
            "; inside a YAML flow collection {...} or [...] a comma or bracket ends a plain value: "
            "write ops in block style (c: matmul(a, b)) or quote them"
        )
    if mark is None:
        return GraphError(message, Pos(1, 1, doc.source), "TG101")
    rows = doc.text.split("\n")
    if mark.line >= len(rows):  # libyaml places end-of-input errors past the last line
        return GraphError(message, Pos(len(rows), len(rows[-1]) + 1, doc.source), "TG101")
    return GraphError(message, Pos(mark.line + 1, mark.column + 1, doc.source), "TG101")


# ---------------------------------------------------------------------------
# Scalars and values
# ---------------------------------------------------------------------------


def _yaml_int(text: str) -> int | None:
    """A YAML 1.2 core-schema integer (decimal with optional sign and leading
    zeros, 0o17, 0x1F), None if ``text`` is not one."""
    if not _CORE_INT_RE.match(text):
        return None
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 4000:
        # beyond int-from-str limits; only "too large" matters
        return (-1 if text.startswith("-") else 1) * 10**4000
    return int(text)


def _yaml_float(text: str) -> float | None:
    """A YAML 1.2 core-schema float (1.5, -.5e3, 10, .inf, -.Inf, .nan),
    None if ``text`` is not one."""
    if not _CORE_FLOAT_RE.match(text):
        return None
    v = text.lower()
    if v.endswith(".inf"):
        return -math.inf if v.startswith("-") else math.inf
    if v == ".nan":
        return math.nan
    return float(text)


def _scalar(node: _YScalar) -> tuple[str, Any]:
    """(kind, value): kind is 'int', 'float', 'bool', 'null' or 'str'."""
    n = node.num
    if n is not None:  # read by _compose_events, with the result computed below
        return ("int" if type(n) is int else "float"), n
    tag, v = node.tag, node.value
    if tag == _INT:
        n = _yaml_int(v)
        if n is None:
            _fail(f"'{_clip(v)}' is tagged !!int but is not an integer", node.pos, "TG101")
        return "int", n
    if tag == _FLOAT:
        x = _yaml_float(v)
        if x is None:
            _fail(f"'{_clip(v)}' is tagged !!float but is not a number", node.pos, "TG101")
        return "float", x
    if tag == _BOOL:
        low = v.lower()
        if low in ("true", "yes", "on"):
            return "bool", True
        if low in ("false", "no", "off"):
            return "bool", False
        _fail(f"'{_clip(v)}' is tagged !!bool but is not true or false", node.pos, "TG101")
    if tag == _NULL:
        return "null", None
    # str, and implicit timestamps/merge/value, which the YAML 1.2 core schema reads as strings
    return "str", v


def _describe(node: _YNode) -> str:
    if isinstance(node, _YSeq):
        return "a list" if node.items else "an empty list"
    if isinstance(node, _YMap):
        return "a mapping"
    kind, v = _scalar(node)  # type: ignore[arg-type]
    if kind in ("int", "float"):
        return f"a number ({_clip(node.value)})"
    if kind == "bool":
        return f"a boolean ({node.value})"
    if kind == "null":
        return "null" if node.value else "nothing (null)"
    if _NUMBERISH_RE.match(v) and not node.quoted:
        return f"a string '{_clip(v)}' (not a number in YAML 1.2, which has no 1_000, 1:30 or 0b101)"
    return f"a string '{_clip(v)}'"


def _name_text(node: _YNode) -> str | None:
    """The text of a scalar usable as a name (validity not checked), else None."""
    if not isinstance(node, _YScalar):
        return None
    kind, _ = _scalar(node)
    if kind == "str":
        return node.value
    if kind == "bool" and node.plain and not node.explicit and node.value.lower() in _YAML11_ONLY_BOOLS:
        return node.value
    return None


# A leaf view used by _make_value so that YAML nodes and ast list literals
# share one set of shape rules: ('num', (number, is_int, text)), ('list', items)
# or ('bad', description). Positions come from a separate function, called
# only to report an error.
_Leaf = tuple[str, Any]
_NUM = operator.attrgetter("num")
_POS = operator.attrgetter("pos")


def _yaml_leaf(node: _YNode) -> _Leaf:
    if type(node) is _YSeq:
        return "list", node.items
    if type(node) is _YScalar:
        kind, v = _scalar(node)
        if kind == "int" or kind == "float":
            return "num", (v, kind == "int", node.value)
    return "bad", _describe(node)


def _literal_yaml_leaf(node: _YNode) -> _Leaf:
    """Leaves of a literal argument of a mapping op (``args: [[true], x]``):
    numbers, or true/false as bools (``_make_value`` refuses a mix)."""
    if type(node) is _YScalar:
        kind, v = _scalar(node)
        if kind == "bool":
            return "bool", (v, node.value)
    return _yaml_leaf(node)


def _yaml_value(node: _YNode, what: str, nonfinite: bool = False) -> Value:
    """A value written in YAML: the fast path when every entry is a number
    that _compose_events read, else the general checks (and their errors).
    ``nonfinite`` admits .nan and .inf (expected gradients, which TF's
    kernels make non-finite at their edges; inputs must stay finite)."""
    value = _plain_numbers_value(node)
    return value if value is not None else _make_value(node, _yaml_leaf, _POS, what, nonfinite)


def _plain_numbers_value(node: _YNode) -> Value | None:
    """The value of a number or of (nested, rectangular, non-empty) lists of
    numbers whose every entry has ``num`` set or was read in bulk, or None
    for anything else, valid or not, which _make_value then reads entry by
    entry. Every entry being such a number, _make_value would accept it and
    give the same array: ints have at most 15 digits (no 2**53 check
    needed), bulk.scan takes only what the slow path reads identically; a
    float that overflowed (1e999) leaves a non-finite entry, and ``num`` of
    anything that is not such a number is None (so the array has dtype
    object), both sent back to _make_value."""
    t = type(node)
    if t is _YScalar:
        n = node.num
        if n is None or not math.isfinite(n):
            return None
        return Value(np.array(float(n), dtype=np.float64), type(n) is int)
    if t is not _YSeq:
        return None
    region = node.bulk
    if region is not None:
        return Value(region.array, region.integral)
    items = node.items
    if not items:
        return None
    if type(items[0]) is _YSeq:
        rows = []
        integral = True
        shape = None
        for row in items:
            if type(row) is not _YSeq:
                return None
            v = _plain_numbers_value(row)
            if v is None or (shape is not None and v.array.shape != shape):
                return None
            shape = v.array.shape
            rows.append(v.array)
            integral = integral and v.integral
        return Value(np.stack(rows), integral)
    array = np.array(list(map(_NUM, items)))
    kind = array.dtype.kind
    if kind == "i":
        array = array.astype(np.float64)
    elif kind != "f" or not np.isfinite(array).all():
        return None
    return Value(array, kind == "i")


def _make_value(root: Any, leaf: Callable[[Any], _Leaf], pos_of: Callable[[Any], Pos], what: str,
                nonfinite: bool = False) -> Value:
    """Check rectangular nesting (any rank), finiteness and exactness; build
    a Value. Messages name an entry or a nested list by its 0-based index
    path, as subscripts and the other messages do: 'entry [2] of X', 'row
    [1] of X' and 'entry [1, 0] of X' for ranks 1 and 2, 'entry [2, 1, 0]
    of X' above. A leaf of kind 'bool' (only expression literals make them:
    ``[[true], [false]]``) gives a bool Value, as TF converts a Python list
    of bools; as TF infers the dtype from the first entry, booleans after a
    number are numbers (``[1, true]`` is [1, 1], integral) and a number
    after a boolean is an error, TF's "Can't convert Python sequence with
    mixed types"."""
    all_int = True
    first: list[Any] = []  # (kind, where) of the first leaf: bool or number

    def number(h: Any, kind: str, payload: Any, where: str) -> float:
        nonlocal all_int
        if kind == "bad":
            _fail(f"{where} is {payload}; expected {'a boolean' if first and first[0] == 'bool' else 'a number'}",
                  pos_of(h), "TG102")
        this = "bool" if kind == "bool" else "num"
        if not first:
            first[:] = [this, where]
        elif first[0] == "bool" and this == "num":
            # TF infers a list's dtype from its first entry: after a number a
            # bool is the number it is in Python (tf.constant([1, True]) is
            # int32 [1, 1]), after a bool a number is refused (ValueError:
            # Can't convert Python sequence with mixed types to Tensor)
            other_where = first[1].split(" of ", 1)[0] if " of " in first[1] else first[1]
            _fail(f"{where} is a number but {other_where} is a boolean; a literal that starts "
                  "with a boolean holds booleans only (TensorFlow cannot convert a list of "
                  "mixed types; cast one of them)", pos_of(h), "TG102")
        if kind == "bool":
            return 1.0 if payload[0] else 0.0
        v, is_int, text = payload
        if is_int:
            if abs(v) > EXACT_INT_LIMIT:
                _fail(
                    f"integer {_clip(str(text))} in {what} is too large to be exact in float64 "
                    "(beyond 2**53); write it as a float",
                    pos_of(h),
                    "TG102",
                )
            return float(v)
        all_int = False
        if not math.isfinite(v) and not (nonfinite and str(text).lower().lstrip("+-") in (".inf", ".nan")):
            # (only YAML's own .inf/.nan: a literal that overflowed, 1e999, is a mistake)
            _fail(f"{what} contains {_clip(str(text))}; values must be finite numbers", pos_of(h), "TG102")
        return v

    def done(array: np.ndarray) -> Value:
        if first and first[0] == "bool":
            return Value(array.astype(bool), True, "bool")
        return Value(array, all_int)

    kind, payload = leaf(root)
    if kind == "bad":
        _fail(f"{what} must be {_VALUE_RULE}; found {payload}", pos_of(root), "TG102")
    if kind == "num" or kind == "bool":
        x = number(root, kind, payload, what)
        return done(np.array(x, dtype=np.float64))
    # the shape, from the first entry at each depth
    shape: list[int] = []
    first_items: list[Any] = []
    k, p = kind, payload
    h = root
    while k == "list":
        if not p:
            _fail(f"{what if not shape else 'row [0] of ' + what if len(shape) == 1 else _where((0,) * len(shape), 3, what)} is an empty list; "
                  f"{'a value needs at least one number' if not shape else 'rows need at least one number'}",
                  pos_of(h), "TG102")
        shape.append(len(p))
        first_items.append(p)
        h = p[0]
        k, p = leaf(h)
    rank = len(shape)
    flat: list[float] = []
    append = flat.append
    # depth-first, so that the first problem in file order is the one reported
    stack: list[tuple[Any, int, tuple[int, ...]]] = [(root, 0, ())]
    while stack:
        h, depth, path = stack.pop()
        hk, hp = leaf(h)
        if depth == rank:
            if hk == "list":
                where = _where(path, rank, what)
                if rank == 1:
                    _fail(f"{where} is a list but entry [0] is a number; {what} must be {_VALUE_RULE}",
                          pos_of(h), "TG102")
                _fail(f"{where} is a list but {_where((0,) * rank, rank, what)} is a number; nested lists "
                      f"must be rectangular (ragged at depth {rank + 1})", pos_of(h), "TG102")
            append(number(h, hk, hp, _where(path, rank, what)))
            continue
        where = _where(path, rank, what)
        if hk != "list":
            found = hp if hk == "bad" else "a boolean" if hk == "bool" else "a number"
            like = "a list of numbers" if depth == rank - 1 else "a list"
            _fail(f"{where} is {found}; expected {like} like {_where((0,) * depth, rank, what, short=True)}"
                  + ("" if rank == 2 else f" (ragged at depth {depth + 1})"), pos_of(h), "TG102")
        if not hp:
            _fail(f"{where} is an empty list; rows need at least one number", pos_of(h), "TG102")
        width = shape[depth]
        if len(hp) != width:
            if rank == 2:
                _fail(f"{where} has {_plural(len(hp), 'entry', 'entries')}, row [0] has {width}; "
                      "rows must have equal lengths", pos_of(h), "TG102")
            _fail(f"{where} has {_plural(len(hp), 'entry', 'entries')} but the lists at depth "
                  f"{depth + 1} have {width}; nested lists must be rectangular (ragged at depth "
                  f"{depth + 1}, index {list(path)})", pos_of(h), "TG102")
        stack.extend((e, depth + 1, path + (i,)) for i, e in reversed(list(enumerate(hp))))
    array = np.array(flat, dtype=np.float64)
    array.shape = tuple(shape)
    return done(array)


def _where(path: tuple[int, ...], rank: int, what: str, short: bool = False) -> str:
    """How messages name an entry or a nested list by its 0-based index
    path (as a subscript would select it): 'entry [2] of X' (rank 1), 'row
    [1] of X' and 'entry [1, 0] of X' (rank 2), 'entry [1, 0, 2] of X'
    above."""
    tail = "" if short else f" of {what}"
    if not path:
        return what
    if rank == 2 and len(path) == 1:
        return f"row [{path[0]}]{tail}"
    return f"entry {list(path)}{tail}"


# ---------------------------------------------------------------------------
# Expression strings: positions
# ---------------------------------------------------------------------------


class _Locator:
    """Maps a character offset within a scalar's value to a file position:
    exact for one-line scalars, best effort (greedy alignment with the
    source text) for multi-line ones."""

    def __init__(self, node: _YScalar) -> None:
        self.node = node
        self.table: list[tuple[int, int]] | None = None
        self.start_col = node.col
        self.line = node.line
        self.one_line = node.line == node.end_line
        self.source = node.doc.source
        self.cache: dict[int, Pos] = {}
        if self.one_line:
            if node.plain:
                self.start_col = max(node.col, node.end_col - len(node.value))
            else:
                raw = node.doc.text[node.index : node.end_index]
                k = raw.find(node.style) if node.style else -1
                self.start_col = node.col + (k + 1 if k >= 0 else 0)

    def pos(self, offset: int) -> Pos:
        offset = max(0, offset)
        if self.one_line:
            # (asked for several times per operand: one Pos per offset)
            p = self.cache.get(offset)
            if p is None:
                p = self.cache[offset] = Pos(self.line + 1, self.start_col + offset + 1, self.source)
            return p
        node = self.node
        if self.table is None:
            self.table = self._align()
        if not self.table:
            return node.pos
        line, col = self.table[min(offset, len(self.table) - 1)]
        if offset >= len(self.table):
            col += offset - len(self.table) + 1
        return Pos(line + 1, col + 1, node.doc.source)

    def _align(self) -> list[tuple[int, int]]:
        node = self.node
        raw = node.doc.text[node.index : node.end_index]
        line, col, p = node.line, node.col, 0

        def advance() -> None:
            nonlocal p, line, col
            ch = raw[p]
            if ch == "\n" or (ch == "\r" and raw[p + 1 : p + 2] != "\n"):
                line, col = line + 1, 0
            else:
                col += 1
            p += 1

        # skip properties and indicators before the content
        if node.style in ("|", ">"):
            while p < len(raw) and raw[p] not in "\r\n":
                advance()
        elif node.quoted:
            while p < len(raw) and raw[p] != node.style:
                advance()
            if p < len(raw):
                advance()
        table: list[tuple[int, int]] = []
        for ch in node.value:
            while p < len(raw):
                r = raw[p]
                if r == ch or (ch in " \n" and r in " \r\n"):
                    break
                advance()
            if p >= len(raw):
                break
            table.append((line, col))
            advance()
        return table


# ---------------------------------------------------------------------------
# Expression strings: parsing with a whitelist
# ---------------------------------------------------------------------------

_AST_WHAT: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Slice: "a slice",
    ast.Lambda: "a lambda",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "a conditional expression",
    ast.Starred: "a starred expression",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.NamedExpr: "an assignment expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
_OPERATOR_TEXT = {
    "Add": "+",
    "Sub": "-",
    "Mult": "*",
    "Div": "/",
    "MatMult": "@",
    "Pow": "**",
    "FloorDiv": "//",
    "Mod": "%",
    "LShift": "<<",
    "RShift": ">>",
    "BitOr": "|",
    "BitXor": "^",
    "BitAnd": "&",
    "Not": "not",
    "Invert": "~",
}
# Python's precedence, loosest first: comparisons, |, &, + -, * / @.
_CHAIN_LEVELS = ({"<", "<=", ">", ">=", "==", "!="}, {"|"}, {"&"}, {"+", "-"}, {"*", "/", "@"})
_CHAIN_AST = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "@": ast.MatMult,
              "|": ast.BitOr, "&": ast.BitAnd}
_COMPARE_AST = {"<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE, "==": ast.Eq, "!=": ast.NotEq}

# Python operators of expression strings -> ops (TF's names: Tensor.__add__
# is add, __lt__ is less, __and__ is logical_and on booleans...).
# build_simple's forms: a call of one or two names, two names and an operator
_SIMPLE_NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
_SIMPLE_CALL_RE = re.compile(rf"{_SIMPLE_NAME}\([ \t]*{_SIMPLE_NAME}[ \t]*(?:,[ \t]*{_SIMPLE_NAME}[ \t]*)?\)[ \t]*")
_SIMPLE_BINOP_RE = re.compile(rf"{_SIMPLE_NAME}[ \t]*([-+*/@])[ \t]*{_SIMPLE_NAME}[ \t]*")
_SIMPLE_OPERATORS = {"+": "Add", "-": "Sub", "*": "Mult", "/": "Div", "@": "MatMult"}

BINARY_OPERATORS = {
    "Add": "add",
    "Sub": "subtract",
    "Mult": "multiply",
    "Div": "divide",
    "MatMult": "matmul",
    "Pow": "pow",
    "BitAnd": "logical_and",
    "BitOr": "logical_or",
}
UNARY_OPERATORS = {"USub": "negative", "Invert": "logical_not"}
COMPARE_OPERATORS = {
    "Lt": "less",
    "LtE": "less_equal",
    "Gt": "greater",
    "GtE": "greater_equal",
    "Eq": "equal",
    "NotEq": "not_equal",
}
_COMPARE_TEXT = {"Is": "is", "IsNot": "is not", "In": "in", "NotIn": "not in"}
# The op a subscript on an op with several outputs becomes (parts[0]);
# engine.OUTPUT_OP (not imported: the parser stays free of SymPy's nodes).
OUTPUT_OP = "__output__"
# Number tokens of an expression (1, 010, 1.5e-08, .5); the leading zeros
# of a decimal integer (010, not 0, 0.5, 1e-08 or 010e3) become spaces.
_NUMBER_TOKEN_RE = re.compile(r"(?<![\w.])(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9_]+)?")


def _blank_leading_zeros(m: re.Match) -> str:
    t = m.group()
    if len(t) > 1 and t[0] == "0" and t.isdigit():
        stripped = t.lstrip("0")
        return " " * (len(t) - len(stripped)) + stripped if stripped else t
    return t


_OPERAND_END = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING}


def _fold_number(n: ast.AST) -> tuple[float | int, bool] | None:
    """-3, +2.5, - -1 as (number, is_int); None if n is not a signed numeric constant."""
    sign = 1
    while isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
        if isinstance(n.op, ast.USub):
            sign = -sign
        n = n.operand
    if isinstance(n, ast.Constant) and type(n.value) in (int, float):
        return sign * n.value, type(n.value) is int
    return None


_PYTHON_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                      ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv,
                      ast.Mod: operator.mod, ast.Pow: operator.pow}


def _python_number(op: type, a: float | int, b: float | int) -> float | int | None:
    """``a op b`` as Python computes it, or None where Python raises or the
    result is no finite number exact in float64 (left to the ops)."""
    if op is ast.Pow and (abs(b) > 64 or abs(a) > EXACT_INT_LIMIT):
        return None
    try:
        r = _PYTHON_ARITHMETIC[op](a, b)
    except (ArithmeticError, ValueError):
        return None
    if type(r) is int:
        return r if abs(r) <= EXACT_INT_LIMIT else None
    return r if type(r) is float and math.isfinite(r) else None


def _fold_arithmetic(root: ast.AST, nodes: list[ast.AST]) -> ast.AST:
    """Arithmetic of number literals as one literal, as Python computes it
    before TensorFlow sees it: in ``n + (1 + 2)`` TF gets the Python int 3,
    which takes n's int32 as a written ``3`` does (a float result, ``7 / 2``,
    stays a float). ``nodes``: the tree's nodes (``_ast_nodes``, taken
    before ``_tuples_as_lists``: only to see whether anything folds);
    iterative (chains are deep); the folded literal spans the text it
    replaces."""
    if not any(type(n) is ast.BinOp and _fold_number(n.left) is not None
               and _fold_number(n.right) is not None for n in nodes):
        return root
    folded: dict[int, ast.AST] = {}
    for n in reversed(_ast_nodes(root)):  # every node after its children (breadth first, reversed)
        if folded:
            for field, value in ast.iter_fields(n):
                if isinstance(value, ast.AST) and id(value) in folded:
                    setattr(n, field, folded[id(value)])
                elif isinstance(value, list):
                    value[:] = [folded.get(id(v), v) if isinstance(v, ast.AST) else v for v in value]
        if isinstance(n, ast.BinOp) and type(n.op) in _PYTHON_ARITHMETIC:
            a, b = _fold_number(n.left), _fold_number(n.right)
            if a is not None and b is not None:
                r = _python_number(type(n.op), a[0], b[0])
                if r is not None:
                    folded[id(n)] = ast.copy_location(ast.Constant(value=r), n)
    return folded.get(id(root), root)


def _strip_uadd(n: ast.AST) -> ast.AST:
    while isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.UAdd) and _fold_number(n) is None:
        n = n.operand
    return n


def _ast_nodes(root: ast.AST) -> list[ast.AST]:
    """Every node of an ast tree in ``ast.walk``'s order (breadth first), as
    a list: one pass serves every check of an expression, without
    ``ast.walk``'s generators (a third of an expression's parse)."""
    out = [root]
    AST = ast.AST
    for n in out:  # (the list grows as it is read)
        for f in n._fields:
            v = getattr(n, f, None)
            if isinstance(v, AST):
                out.append(v)
            elif type(v) is list:
                for x in v:
                    if isinstance(x, AST):
                        out.append(x)
    return out


def _tuples_as_lists(root: ast.AST, nodes: list[ast.AST] | None = None) -> None:
    """A tuple written as an argument is a list, as TensorFlow converts
    Python tuples and lists alike: ``reshape(x, (2, -1))``,
    ``reduce_sum(x, axis=(0, 1))``, ``pad(x, ((1, 1), (2, 2)))``,
    ``concat((a, b), 0)``. Only arguments (and lists and tuples nested in
    them) change; a subscript's ``x[0, 1]`` keeps its tuple of indices.
    ``nodes``: ``_ast_nodes(root)``, when the caller has it."""
    for call in [n for n in (_ast_nodes(root) if nodes is None else nodes) if isinstance(n, ast.Call)]:
        call.args = [_as_list(a) for a in call.args]
        for kw in call.keywords:
            kw.value = _as_list(kw.value)


def _as_list(n: ast.AST) -> ast.AST:
    if isinstance(n, (ast.Tuple, ast.List)):
        elts = [_as_list(e) for e in n.elts]
        if isinstance(n, ast.Tuple):
            # the tuple's span includes its parentheses: messages quote "(0, 1)"
            return ast.copy_location(ast.List(elts=elts, ctx=ast.Load()), n)
        n.elts = elts
    return n


# TF code transcribes by deleting these prefixes (docs/graph-format.md).
_TF_PREFIXES = ("tf.", "tf.math.", "tf.nn.", "tf.linalg.")


def _tf_prefix(f: ast.Attribute, pos: Pos) -> None:
    """Refuse ``tf.reduce_sum(x)`` (a call of a dotted TensorFlow name) with
    the name to write instead; anything else is left to the caller."""
    parts: list[str] = []
    node: ast.AST = f
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not (isinstance(node, ast.Name) and node.id in ("tf", "tensorflow")):
        return
    parts.append(node.id)
    parts.reverse()
    dotted, name = ".".join(parts), parts[-1]
    prefix = dotted[: -len(name)]
    if "tf." + prefix.split(".", 1)[1] not in _TF_PREFIXES:
        _fail(f"'{_clip(dotted)}' is not allowed: a graph file calls ops by their names in tf, tf.math, "
              f"tf.nn or tf.linalg without the prefix (reduce_sum, relu); {_EXPR_RULE}", pos, "TG104")
    if lookup(name) is None:
        _fail(f"{unknown_op_message(name)} (written '{_clip(dotted)}'; ops are named without the "
              f"'{prefix}' prefix)", pos, "TG203")
    _fail(f"'{dotted}': drop the '{prefix}' prefix and write {name}(...); a graph file names ops "
          "without TensorFlow's tf., tf.math., tf.nn. and tf.linalg. prefixes", pos, "TG104")


def _is_operation(n: ast.AST) -> bool:
    if isinstance(n, (ast.BinOp, ast.Call, ast.Compare, ast.Subscript, ast.BoolOp)):
        return True
    return isinstance(n, ast.UnaryOp) and _fold_number(n) is None


class _Expression:
    """One expression string -> op and literal nodes, via an explicit stack."""

    def __init__(self, builder: _Builder, owner: str, node: _YScalar) -> None:
        self.b = builder
        self.owner = owner
        self.node = node
        self.loc = _Locator(node)
        s = node.value
        if len(s) > MAX_EXPR_CHARS:
            _fail(
                f"expression of op '{owner}' has {len(s):,} characters; the limit is {MAX_EXPR_CHARS:,}",
                node.pos,
                "TG104",
            )
        # Newlines (block scalars) would end a Python eval expression: blank
        # comments, then turn line breaks into spaces, keeping offsets.
        if "\n" in s or "\r" in s:
            s = _blank_comments(s).replace("\r", " ").replace("\n", " ")
        self.lead = len(s) - len(s.lstrip())
        self.src = s.lstrip()
        self.b2c: list[int] | None = None
        self.c2b: list[int] | None = None

    # positions -------------------------------------------------------------
    def at_char(self, c: int) -> Pos:
        return self.loc.pos(self.lead + c)

    def char_of(self, byte_offset: int) -> int:
        if self.src.isascii():
            return byte_offset
        if self.b2c is None:
            self.b2c = []
            for i, ch in enumerate(self.src):
                self.b2c.extend([i] * len(ch.encode("utf-8", "surrogatepass")))
            self.b2c.append(len(self.src))
        return self.b2c[min(byte_offset, len(self.b2c) - 1)]

    def at(self, n: ast.AST) -> Pos:
        return self.at_char(self.char_of(getattr(n, "col_offset", 0)))

    def segment(self, n: ast.AST) -> str:
        a = self.char_of(getattr(n, "col_offset", 0))
        e = self.char_of(getattr(n, "end_col_offset", None) or getattr(n, "col_offset", 0))
        return _clip(self.src[a:e] or self.src)

    def operator_pos(self, n: ast.BinOp) -> Pos:
        a = self.char_of(n.left.end_col_offset or n.left.col_offset)
        e = self.char_of(n.right.col_offset)
        for i in range(a, e):
            if self.src[i] not in " \t()":
                return self.at_char(i)
        return self.at(n)

    # parsing ---------------------------------------------------------------
    def parse(self) -> ast.AST:
        # YAML 1.2 reads 010 as ten, Python refuses it: parse it as ' 10'
        # (same length, so positions stay those of the source).
        s = _NUMBER_TOKEN_RE.sub(_blank_leading_zeros, self.src)
        if not s.strip():
            _fail(f"op '{self.owner}' is an empty expression", self.node.pos, "TG104")
        try:
            return ast.parse(s, mode="eval").body
        except SyntaxError as e:
            self.syntax_error(e, 0)
        except (RecursionError, MemoryError):
            return self.parse_chain(s)
        except ValueError as e:
            _fail(f"invalid expression: {e}", self.at_char(0), "TG104")

    def syntax_error(self, e: SyntaxError, base: int) -> NoReturn:
        msg = e.msg or "invalid syntax"
        if "integer string conversion" in msg:
            self.big_integer()
        if "null bytes" in msg:
            msg = "an expression cannot contain NUL characters"
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", self.src))
        hint = ""
        for w in sorted(words):
            if keyword.iskeyword(w) and w in self.b.declared:
                hint = (
                    f"; '{w}' is a Python keyword, so an expression cannot refer to it: "
                    f"use the mapping form {{op: ..., args: [{w}, ...]}} or rename it"
                )
                break
        offset = (e.offset or 1) - 1 if (e.lineno or 1) == 1 else 0
        _fail(f"invalid expression: {msg}{hint}", self.at_char(base + max(0, offset)), "TG104")

    def parse_chain(self, s: str) -> ast.AST:
        """Python's parser gives up on very long flat chains (a + a + ... with
        thousands of terms: RecursionError while building the ast). Split at
        the top level of the additive, then multiplicative, operators, unwrap
        signs, parentheses and calls around operands, and leave each
        remaining operand to Python's parser. Every construct that binds more
        loosely than + and - is outside the whitelist, so splitting never
        changes the meaning of a valid expression (a property test checks
        that the result equals Python's parse wherever that one works)."""
        try:
            toks = [
                t
                for t in tokenize.generate_tokens(io.StringIO(s).readline)
                if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.ENDMARKER)
            ]
        except (tokenize.TokenError, SyntaxError):
            self.too_deep(0)
        # (the source is one line, so a token's start[1]/end[1] are character offsets)
        return self.parse_level(s, toks, 0, len(toks), 0)

    def too_deep(self, c: int) -> NoReturn:
        _fail(
            f"expression of op '{self.owner}' is nested too deeply to parse; "
            f"split it into several ops",
            self.at_char(c),
            "TG104",
        )

    def parse_level(self, s: str, toks: list, lo: int, hi: int, level: int, nest: int = 0) -> ast.AST:
        if level == len(_CHAIN_LEVELS):
            return self.parse_operand(s, toks, lo, hi, nest)
        cuts = []
        depth = 0
        for i in range(lo, hi):
            t = toks[i]
            if t.type == tokenize.OP and t.string in "([{":
                depth += 1
            elif t.type == tokenize.OP and t.string in ")]}":
                depth -= 1
            elif depth == 0 and t.type == tokenize.OP and t.string in _CHAIN_LEVELS[level] and i > lo:
                prev = toks[i - 1]
                if prev.type in _OPERAND_END or (prev.type == tokenize.OP and prev.string in ")]}"):
                    cuts.append(i)
        if not cuts:
            return self.parse_level(s, toks, lo, hi, level + 1, nest)
        bounds = [lo] + [c + 1 for c in cuts]
        ends = cuts + [hi]
        tree: ast.AST | None = None
        for a, e, cut in zip(bounds, ends, [None] + cuts):
            if a >= e:
                self.syntax_error(SyntaxError("invalid syntax"), toks[min(a, hi - 1)].start[1])
            piece = self.parse_level(s, toks, a, e, level + 1, nest)
            if tree is None:
                tree = piece
            elif toks[cut].string in _COMPARE_AST:
                cmp = _COMPARE_AST[toks[cut].string]()
                if isinstance(tree, ast.Compare) and len(cuts) > 1:
                    tree.ops.append(cmp)
                    tree.comparators.append(piece)
                    self.synthetic(tree, toks[lo].start[1], toks[e - 1].end[1])
                else:
                    tree = self.synthetic(ast.Compare(left=tree, ops=[cmp], comparators=[piece]),
                                          toks[lo].start[1], toks[e - 1].end[1])
            else:
                op = _CHAIN_AST[toks[cut].string]()
                # like Python's, the span covers parentheses around operands
                tree = self.synthetic(ast.BinOp(left=tree, op=op, right=piece), toks[lo].start[1], toks[e - 1].end[1])
        assert tree is not None
        return tree

    def parse_operand(self, s: str, toks: list, lo: int, hi: int, nest: int) -> ast.AST:
        """An operand of a long chain: a sign, parentheses or a call around
        a further chain are unwrapped here (so that ``exp(a + a + ...)``
        parses too); anything else goes to Python's parser."""
        if lo >= hi:
            self.syntax_error(SyntaxError("invalid syntax"), toks[min(lo, len(toks) - 1)].start[1] if toks else 0)
        first = toks[lo]
        if nest > MAX_EXPR_DEPTH:
            self.too_deep(first.start[1])
        if first.type == tokenize.OP and first.string in ("+", "-", "~") and hi - lo > 1:
            inner = self.parse_operand(s, toks, lo + 1, hi, nest + 1)
            op = {"-": ast.USub, "+": ast.UAdd, "~": ast.Invert}[first.string]()
            return self.synthetic(ast.UnaryOp(op=op, operand=inner), first.start[1], toks[hi - 1].end[1])
        if first.type == tokenize.OP and first.string == "(" and _closing(toks, lo) == hi - 1:
            return self.parse_level(s, toks, lo + 1, hi - 1, 0, nest + 1)
        if (
            first.type == tokenize.NAME
            and hi - lo > 2
            and toks[lo + 1].string == "("
            and _closing(toks, lo + 1) == hi - 1
        ):
            args, keywords = [], []
            depth, a = 0, lo + 2
            for i in range(lo + 2, hi):
                t = toks[i]
                if t.type == tokenize.OP and t.string in "([{":
                    depth += 1
                elif t.type == tokenize.OP and t.string in ")]}":
                    depth -= 1
                if i == hi - 1 or (depth == 0 and t.type == tokenize.OP and t.string == ","):
                    if a == i and i == hi - 1 and (args or keywords):
                        break  # a trailing comma
                    if toks[a].type == tokenize.NAME and a + 1 < i and toks[a + 1].string == "=":
                        value = self.parse_level(s, toks, a + 2, i, 0, nest + 1)
                        kw = ast.keyword(arg=toks[a].string, value=value)
                        keywords.append(self.synthetic(kw, toks[a].start[1], toks[i - 1].end[1]))
                    elif a < i:
                        args.append(self.parse_level(s, toks, a, i, 0, nest + 1))
                    elif i != hi - 1 or args or keywords:
                        self.syntax_error(SyntaxError("invalid syntax"), t.start[1])
                    a = i + 1
            func = ast.Name(id=first.string, ctx=ast.Load())
            self.synthetic(func, first.start[1], first.end[1])
            call = ast.Call(func=func, args=args, keywords=keywords)
            return self.synthetic(call, first.start[1], toks[hi - 1].end[1])
        return self.parse_piece(s[first.start[1] : toks[hi - 1].end[1]], first.start[1])

    def synthetic(self, n: Any, start: int, end: int) -> Any:
        """Give a node built by the chain splitter ast-style positions (bytes)."""
        n.lineno = n.end_lineno = 1
        n.col_offset = self.byte_of(start)
        n.end_col_offset = self.byte_of(end)
        return n

    def byte_of(self, c: int) -> int:
        if self.src.isascii():
            return c
        if self.c2b is None:
            self.c2b = [0]
            for ch in self.src:
                self.c2b.append(self.c2b[-1] + len(ch.encode("utf-8", "surrogatepass")))
        return self.c2b[c]

    def parse_piece(self, piece: str, start: int) -> ast.AST:
        stripped = piece.lstrip()
        start += len(piece) - len(stripped)
        try:
            tree = ast.parse(stripped, mode="eval").body
        except SyntaxError as e:
            self.syntax_error(e, start)
        except (RecursionError, MemoryError, ValueError):
            self.too_deep(start)
        shift = self.byte_of(start)
        for n in ast.walk(tree):
            if hasattr(n, "col_offset"):
                n.col_offset += shift
                if n.end_col_offset is not None:
                    n.end_col_offset += shift
        return tree

    # building --------------------------------------------------------------
    def raw(self, n: ast.AST) -> str:
        """The source text of a node as written (ast's names are NFKC-folded)."""
        a = self.char_of(getattr(n, "col_offset", 0))
        e = self.char_of(getattr(n, "end_col_offset", None) or getattr(n, "col_offset", 0))
        return self.src[a:e]

    def check_tokens(self, root: ast.AST, nodes: list[ast.AST] | None = None) -> None:
        """Names exactly as declared names are written (ASCII identifiers:
        Python's parser reads 'ℌ' or a fullwidth 'Ｈ' as 'H'), numbers as
        YAML 1.2 writes them, and no integer beyond Python's digit limit.
        ``nodes``: ``_ast_nodes(root)``, when the caller has it."""
        for n in _ast_nodes(root) if nodes is None else nodes:
            if isinstance(n, ast.Name):
                name, raw = n.id, self.raw(n)
            elif isinstance(n, ast.keyword) and n.arg is not None:
                name, raw = n.arg, self.raw(n).split("=", 1)[0].strip()
            elif isinstance(n, ast.Constant) and type(n.value) in (int, float):
                raw = self.raw(n)
                if not (_CORE_INT_RE.match(raw) or _CORE_FLOAT_RE.match(raw)):
                    _fail(
                        f"invalid expression: '{_clip(raw)}' is not a number as YAML 1.2 writes "
                        "numbers (12, 1.5, 1e-7, 0x1F, 0o17; no '_' separators, 0b or 0X)",
                        self.at(n),
                        "TG104",
                    )
                continue
            else:
                continue
            if raw != name or not _NAME_RE.match(raw):
                folded = f" (Python's parser would read it as '{name}')" if raw != name else ""
                _fail(
                    f"invalid name '{_clip(raw)}' in op '{self.owner}': names are ASCII letters, "
                    f"digits and _, not starting with a digit{folded}",
                    self.at(n),
                    "TG103",
                )

    def big_integer(self) -> NoReturn:
        """Python refuses decimal literals of more than 4,300 digits; say
        what a value of that size gets: too large to be exact."""
        for m in re.finditer(r"(?<![\w.])[0-9]{4000,}(?![\w.])", self.src):
            _fail(
                f"integer {_clip(m.group())} in op '{self.owner}' is too large to be exact in "
                "float64 (beyond 2**53); write it as a float",
                self.at_char(m.start()),
                "TG102",
            )
        _fail(f"an integer in op '{self.owner}' is too large to be exact in float64 (beyond 2**53); "
              "write it as a float", self.at_char(0), "TG102")

    def build_simple(self) -> bool:
        """The most common expressions, ``f(a)``, ``f(a, b)`` and ``a OP b``
        over declared names (a deep chain's every line), without Python's
        parser: the op node the full path builds (the same binding,
        positions and name resolution; a test compares the two on every
        op). False when the expression is anything else or binding fails
        (the full path then reports the error)."""
        s = self.src
        m = _SIMPLE_CALL_RE.fullmatch(s)
        if m is not None:
            fname = m.group(1)
            if keyword.iskeyword(fname):
                return False
            opdef = lookup(fname)
            spans = [(m.group(k), m.start(k)) for k in (2, 3) if m.group(k) is not None]
            pos = self.at_char(0)
        else:
            m = _SIMPLE_BINOP_RE.fullmatch(s)
            if m is None:
                return False
            opdef = lookup(BINARY_OPERATORS[_SIMPLE_OPERATORS[m.group(2)]])
            spans = [(m.group(1), m.start(1)), (m.group(3), m.start(3))]
            pos = self.at_char(m.start(2))
        declared = self.b.declared
        if opdef is None or any(n not in declared or keyword.iskeyword(n) for n, _ in spans):
            return False
        operands = [(n, self.at_char(c)) for n, c in spans]
        try:
            bound = bind(opdef, operands, [], pos, lambda a: False)
        except GraphError:
            return False
        if len(bound) != len(operands) or any(b.param.kind != TENSOR for b in bound):
            return False  # an attribute or a list parameter: the full path reads it
        refs = [(self.b.resolve(n, p, f"in op '{self.owner}'", expression=True), p) for n, p in operands]
        inputs = {b.param.name: r for b, (r, _) in zip(bound, refs)}
        self.b.add_op(self.owner, self.owner, opdef.name, pos, inputs, tuple(r for r, _ in refs),
                      tuple(p for _, p in refs), {}, {}, True, s.rstrip())
        return True

    def build(self) -> None:
        if self.build_simple():
            return
        root = self.parse()
        nodes = _ast_nodes(root)
        self.check_tokens(root, nodes)
        _tuples_as_lists(root, nodes)
        root = _strip_uadd(_fold_arithmetic(root, nodes))
        if not _is_operation(root):
            ref, pos = self.operand(root)
            self.b.add_op(self.owner, self.owner, "identity", pos, {"input": ref}, (ref,), (pos,), {}, {},
                          True, self.raw(root))
            return
        results: dict[int, tuple[str, Pos]] = {}
        self.plans: dict[int, Any] = {}
        stack: list[tuple[ast.AST, int, list | None]] = [(root, 1, None)]
        while stack:
            n, depth, children = stack.pop()
            if children is not None:
                self.emit(n, children, results, n is root)
                continue
            if depth > MAX_EXPR_DEPTH:
                _fail(
                    f"expression of op '{self.owner}' is nested more than {MAX_EXPR_DEPTH} levels deep; "
                    "split it into several ops",
                    self.at(n),
                    "TG104",
                )
            if not _is_operation(n):
                results[id(n)] = self.operand(n)
                continue
            kids = [(_strip_uadd(c), d) for c, d in self.children(n, depth)]
            stack.append((n, depth, [c for c, _ in kids]))
            for c, d in reversed(kids):
                stack.append((c, d, None))

    def children(self, n: ast.AST, depth: int) -> list[tuple[ast.AST, int]]:
        """Validate an operation node and bind it to its op's parameters
        (kept in ``self.plans`` for ``emit``); its tensor operands with their
        depths, in parameter order."""
        if isinstance(n, ast.BinOp):
            opname = type(n.op).__name__
            op = BINARY_OPERATORS.get(opname)
            if op is None:
                hint = " (a power is written **)" if opname == "BitXor" else ""
                _fail(
                    f"operator '{_OPERATOR_TEXT.get(opname, opname)}' is not supported{hint}; {_EXPR_RULE}",
                    self.operator_pos(n),
                    "TG104",
                )
            pos = self.operator_pos(n)
            # a left operand continues the chain: a + b + c is flat
            return self.bind_operator(n, op, [n.left, n.right], pos, [depth, depth + 1])
        if isinstance(n, ast.UnaryOp):
            op = UNARY_OPERATORS.get(type(n.op).__name__)
            if op is None:
                opname = type(n.op).__name__
                hint = " (use ~ for logical_not)" if opname == "Not" else ""
                _fail(
                    f"operator '{_OPERATOR_TEXT.get(opname, opname)}' is not supported{hint}; {_EXPR_RULE}",
                    self.at(n),
                    "TG104",
                )
            return self.bind_operator(n, op, [n.operand], self.at(n), [depth + 1])
        if isinstance(n, ast.Compare):
            if len(n.ops) > 1:
                _fail(
                    f"chained comparison '{self.segment(n)}' is not supported (TensorFlow's tensors "
                    "do not chain comparisons); write (a < b) & (b < c)",
                    self.at(n),
                    "TG104",
                )
            opname = type(n.ops[0]).__name__
            op = COMPARE_OPERATORS.get(opname)
            if op is None:
                _fail(f"'{_COMPARE_TEXT.get(opname, opname)}' is not supported; {_EXPR_RULE}",
                      self.at(n), "TG104")
            return self.bind_operator(n, op, [n.left, n.comparators[0]], self.at(n), [depth + 1, depth + 1])
        if isinstance(n, ast.Subscript):
            return self.subscript(n, depth)
        if isinstance(n, ast.BoolOp):
            word = "and" if isinstance(n.op, ast.And) else "or"
            _fail(f"'{word}' is not supported; use {'&' if word == 'and' else '|'} "
                  f"(logical_{word}) on boolean tensors", self.at(n), "TG104")
        assert isinstance(n, ast.Call)
        opdef = self.call_op(n)
        for a in n.args:
            if isinstance(a, ast.Starred):
                _fail(f"a starred argument '{self.segment(a)}' is not allowed; {_EXPR_RULE}", self.at(a), "TG104")
        keywords = []
        for kw in n.keywords:
            if kw.arg is None:
                _fail(f"'**' arguments are not allowed; {_EXPR_RULE}", self.at(kw), "TG104")
            keywords.append((kw.arg, kw.value, self.at(kw), self.at(kw.value)))
        bound = bind(opdef, [(a, self.at(a)) for a in n.args], keywords, self.at(n),
                     lambda a: isinstance(a, ast.List), self.is_none)
        return self.plan(n, opdef, bound, self.at(n), depth)

    def is_none(self, a: ast.AST) -> bool:
        if isinstance(a, ast.Constant) and a.value is None:
            return True
        return isinstance(a, ast.Name) and a.id in ("null", "None") and a.id not in self.b.declared

    def bind_operator(self, n: ast.AST, op: str, operands: list, pos: Pos, depths: list[int]) -> list:
        opdef = lookup(op)
        if opdef is None:
            _fail(f"{unknown_op_message(op)} (the operator in '{self.segment(n)}' is {op})", pos, "TG203")
        bound = bind(opdef, [(a, self.at(a)) for a in operands], [], pos, lambda a: False)
        kids = self.plan(n, opdef, bound, pos, depths[0])
        # the operands keep the operator's depth rule (a + b + c is flat)
        return [(c, d) for (c, _), d in zip(kids, depths)] if len(kids) == len(depths) else kids

    def plan(self, n: ast.AST, opdef: Any, bound: list, pos: Pos, depth: int) -> list[tuple[ast.AST, int]]:
        """Turn bound parameters into the node's plan: tensor operands become
        children; attributes are read and checked here."""
        kids: list[tuple[ast.AST, int]] = []
        steps: list[tuple[str, str, int]] = []  # (param, "tensor"|"tensors", count)
        attrs: dict[str, Any] = {}
        attr_pos: dict[str, Pos] = {}
        for b in bound:
            p = b.param
            if p.kind == TENSOR:
                kids.append((b.value, depth + 1))
                steps.append((p.name, TENSOR, 1))
            elif p.kind == TENSORS:
                if b.spread:
                    items = list(b.value)
                elif isinstance(b.value, ast.List):
                    items = list(b.value.elts)
                else:
                    # one tensor without a list: the op gets a bare name
                    # (gradients(y, x) names x's gradient, gradients(y, [x]) a list)
                    kids.append((b.value, depth + 1))
                    steps.append((p.name, TENSOR, 1))
                    continue
                kids.extend((_strip_uadd(c), depth + 1) for c in items)
                # one tensor written without a list stays one name, not a tuple of
                # one: gradients(y, x) names x's gradient, gradients(y, [x]) a list
                bare = not b.spread and not isinstance(b.value, ast.List)
                steps.append((p.name, TENSOR if bare else TENSORS, len(items)))
            else:
                value, text = self.attr_value(b.value, p.kind)
                attrs[p.name] = check_attr(opdef, p, value, text, b.pos)
                attr_pos[p.name] = b.pos
        self.plans[id(n)] = (opdef.name, steps, attrs, attr_pos, pos)
        return kids

    def subscript(self, n: ast.Subscript, depth: int) -> list[tuple[ast.AST, int]]:
        """``x[...]``: TF's ``__getitem__`` (strided_slice), or one output of
        an op with several (``parts[0]``), decided once every op is known."""
        v = n.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id in ("gradients", "hessians") \
                and len(v.args) >= 2 and not isinstance(v.args[1], (ast.List, ast.Tuple)):
            # TF's tf.gradients(y, x)[0]: here gradients(y, x) is already x's
            # gradient tensor, so [0] would silently slice it.
            f = v.func.id
            _fail(f"{f}(..., x)[...] would slice x's {'gradient' if f == 'gradients' else 'hessian'}: "
                  f"with one x written without brackets, {f}(y, x) is already that tensor "
                  f"(TF's tf.{f}(y, x)[0]); write {f}(y, x), or {f}(y, [x])[0] for the list form",
                  self.at(n), "TG203")
        spec = n.slice
        elts = spec.elts if isinstance(spec, ast.Tuple) else [spec]
        begin, end, strides = [], [], []
        masks = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}
        for index, s in enumerate(elts):
            bit = 1 << index
            if isinstance(s, ast.Slice):
                for part, out, mask in ((s.lower, begin, "begin_mask"), (s.upper, end, None), (s.step, strides, None)):
                    if part is None:
                        out.append(1 if out is strides else 0)
                        if out is begin:
                            masks["begin_mask"] |= bit
                        elif out is end:
                            masks["end_mask"] |= bit
                    else:
                        out.append(self.index_int(part))
                if s.step is not None and strides[-1] == 0:
                    _fail("a slice step cannot be zero", self.at(s.step), "TG104")
            elif isinstance(s, ast.Constant) and s.value is Ellipsis:
                if masks["ellipsis_mask"]:
                    _fail("an index can only have a single ellipsis ('...')", self.at(s), "TG104")
                begin.append(0), end.append(0), strides.append(1)
                masks["ellipsis_mask"] |= bit
            elif self.is_none(s) or (isinstance(s, ast.Name) and s.id == "newaxis" and s.id not in self.b.declared):
                begin.append(0), end.append(0), strides.append(1)
                masks["new_axis_mask"] |= bit
            else:
                i = self.index_int(s)
                begin.append(i), end.append(i + 1), strides.append(1)
                masks["shrink_axis_mask"] |= bit
        single = None
        if not isinstance(spec, ast.Tuple) and masks["shrink_axis_mask"] == 1:
            single = begin[0]
        attrs = {"begin": begin, "end": end, "strides": strides, **masks}
        self.plans[id(n)] = ("__subscript__", attrs, single, self.at(spec))
        return [(n.value, depth + 1)]

    def index_int(self, s: ast.AST) -> int:
        folded = _fold_number(s)
        if folded is not None and folded[1]:
            return int(folded[0])
        _fail(f"an index must be an integer, a slice (1:3, ::-1), '...' or None; found "
              f"'{self.segment(s)}' (tfgrad indexes with constants only)", self.at(s), "TG104")

    def call_op(self, n: ast.Call) -> Any:
        f = n.func
        if isinstance(f, ast.Attribute):
            _tf_prefix(f, self.at(f))
        if not isinstance(f, ast.Name):
            what = _AST_WHAT.get(type(f), "a call of an expression")
            _fail(f"{what} '{self.segment(f)}' is not allowed; {_EXPR_RULE}", self.at(f), "TG104")
        opdef = lookup(f.id)
        if opdef is not None:
            return opdef
        kind = self.b.declared.get(f.id)
        _fail(unknown_op_message(f.id, kind[0] if kind is not None else None), self.at(f), "TG203")

    def operand(self, n: ast.AST) -> tuple[str, Pos]:
        """A leaf operand: a name, or a literal node made for a number or list."""
        pos = self.at(n)
        if isinstance(n, ast.Name) and not (n.id in ("true", "false") and n.id not in self.b.declared):
            return self.b.resolve(n.id, pos, f"in op '{self.owner}'", expression=True), pos
        folded = _fold_number(n)
        if folded is not None or isinstance(n, ast.List) or self.is_bool(n):
            # a number, a list, or true/false: TF converts a Python bool (or a
            # list of them) to a bool tensor (where(true, x, y))
            value = _make_value(n, self.literal_leaf, self.at, f"the literal {self.segment(n)}")
            return self.b.add_literal(self.owner, value, pos), pos
        if isinstance(n, ast.Constant):
            v = n.value
            if v is None:
                if str(v) in self.b.declared:
                    return self.b.resolve(str(v), pos, "", expression=True), pos
                _fail(
                    f"'{v}' is only allowed as an attribute value (e.g. transpose_a=True); {_EXPR_RULE}",
                    pos,
                    "TG104",
                )
            if isinstance(v, str):
                what = f"a string {self.segment(n)}"
            elif isinstance(v, bytes):
                what = f"a bytes literal {self.segment(n)}"
            elif isinstance(v, complex):
                what = f"a complex number '{self.segment(n)}'"
            elif v is Ellipsis:
                what = "'...'"
            else:
                what = f"'{self.segment(n)}'"
            _fail(f"{what} is not allowed where a tensor goes; {_EXPR_RULE}", pos, "TG104")
        what = _AST_WHAT.get(type(n), f"'{type(n).__name__}'")
        _fail(f"{what} '{self.segment(n)}' is not allowed; {_EXPR_RULE}", pos, "TG104")

    def is_bool(self, n: ast.AST) -> bool:
        """``True``/``False`` or, unless declared as names, ``true``/``false``."""
        if isinstance(n, ast.Constant):
            return type(n.value) is bool
        return isinstance(n, ast.Name) and n.id in ("true", "false") and n.id not in self.b.declared

    def literal_leaf(self, n: ast.AST) -> _Leaf:
        if isinstance(n, ast.List):
            return "list", n.elts
        folded = _fold_number(n)
        if folded is not None:
            v, is_int = folded
            return "num", (v, is_int, self.segment(n))
        if isinstance(n, ast.Constant) and type(n.value) is bool:
            return "bool", (n.value, self.segment(n))
        if isinstance(n, ast.Name) and n.id in ("true", "false"):
            return "bool", (n.id == "true", n.id)  # a list literal holds no names
        if isinstance(n, ast.Name):
            return "bad", f"the name '{n.id}' (a list literal holds numbers or booleans only)"
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            return "bad", f"a string {self.segment(n)}"
        return "bad", f"'{self.segment(n)}'"

    def attr_value(self, n: ast.AST, kind: str = "any") -> tuple[Any, str]:
        """An attribute written in an expression: (value, its text); the
        value is ``NOT_A_VALUE`` for a name or an expression. Numbers, true/
        false/True/False, null/None, quoted strings and (nested) lists; a
        bare dtype name (``cast(x, float32)``) for a dtype parameter."""
        folded = _fold_number(n)
        text = f"'{self.segment(n)}'"
        if folded is not None:
            return folded[0], self.segment(n)
        if isinstance(n, ast.Constant):
            if n.value is None or type(n.value) is bool or isinstance(n.value, str):
                return n.value, self.segment(n)
            return NOT_A_VALUE, text
        if isinstance(n, ast.Name):
            if n.id in _WORDS and n.id not in self.b.declared:
                return _WORDS[n.id], n.id
            if kind == "dtype" and n.id not in self.b.declared:
                return n.id, n.id
            return NOT_A_VALUE, text
        if (isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub) and isinstance(n.operand, ast.Name)
                and n.operand.id == "inf" and "inf" not in self.b.declared):
            return -math.inf, self.segment(n)
        if isinstance(n, ast.List):
            out = []
            for e in n.elts:
                v, _ = self.attr_value(e)
                if v is NOT_A_VALUE:
                    return NOT_A_VALUE, text
                out.append(v)
            return out, self.segment(n)
        return NOT_A_VALUE, text

    def emit(self, n: ast.AST, children: list, results: dict, is_root: bool) -> None:
        refs = [results[id(c)] for c in children]
        name_of = (lambda op: self.owner) if is_root else (lambda op: self.b.internal_name(self.owner, op))
        plan = self.plans.pop(id(n))
        text = self.raw(n)
        if plan[0] == "__subscript__":
            _, attrs, single, index_pos = plan
            src, src_pos = refs[0]
            name = self.owner if is_root else self.b.internal_name(self.owner, "strided_slice")
            self.b.add_subscript(name, self.owner, self.at(n), src, src_pos, attrs, single, index_pos,
                                 is_root, text)
            results[id(n)] = (name, self.at(n))
            return
        op, steps, attrs, attr_pos, pos = plan
        inputs: dict[str, Any] = {}
        k = 0
        for pname, kind, count in steps:
            if kind == TENSOR:
                inputs[pname] = refs[k][0]
            else:
                inputs[pname] = tuple(r[0] for r in refs[k : k + count])
            k += count
        name = name_of(op)
        self.b.add_op(name, self.owner, op, pos, inputs, tuple(r[0] for r in refs), tuple(r[1] for r in refs),
                      attrs, attr_pos, is_root, text)
        results[id(n)] = (name, self.at(n))


# Words an attribute value may be (when no node has that name); ``inf`` is
# TF code's np.inf (norm(x, ord=inf)).
_WORDS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None,
          "inf": math.inf}


_VALUE_FORMS = ("value", "file", *values_mod.GENERATORS)
_VALUE_FORM_KEYS = {
    "value": {"value", "dtype"},
    "file": {"file", "key", "dtype"},
    "fill": {"fill", "shape", "dtype"},
    "zeros": {"zeros", "dtype"},
    "ones": {"ones", "dtype"},
    "eye": {"eye", "dtype"},
    "range": {"range", "dtype"},
    "linspace": {"linspace", "dtype"},
    "random": {"random", "shape", "seed", "dtype"},
}
_VALUE_KEYS = sorted(set().union(*_VALUE_FORM_KEYS.values()))
_VALUE_FORMS_TEXT = (
    "{value: V, dtype: D}, {file: PATH}, {file: PATH, key: K}, {fill: V, shape: S}, {zeros: S}, "
    "{ones: S}, {eye: N}, {range: [START, STOP, STEP]}, {linspace: [START, STOP, NUM]}, "
    "{random: normal|uniform, shape: S, seed: N}"
)


def _bool_leaf(node: _YNode) -> _Leaf:
    """Leaves of a ``dtype: bool`` value: true/false (or 0/1)."""
    if type(node) is _YSeq:
        return "list", node.items
    if type(node) is _YScalar:
        kind, v = _scalar(node)
        if kind == "bool":
            return "num", (int(v), True, node.value)
        if kind == "int" and v in (0, 1):
            return "num", (v, True, node.value)
    return "bad", _describe(node) + " (a bool value holds true and false)"


def _yaml_attr(v: _YNode) -> tuple[Any, str]:
    """An attribute written in YAML: (value, its text); scalars as the YAML
    core schema reads them, lists as lists, a mapping is ``NOT_A_VALUE``."""
    if isinstance(v, _YSeq):
        out = []
        for e in v.items:
            x, _ = _yaml_attr(e)
            if x is NOT_A_VALUE:
                return NOT_A_VALUE, "a list holding " + _describe(e)
            out.append(x)
        return out, describe(out)
    if isinstance(v, _YMap):
        return NOT_A_VALUE, "a mapping"
    kind, value = _scalar(v)  # type: ignore[arg-type]
    if kind == "str":
        return value, repr(value)
    return value, _clip(v.value) if v.value else describe(value)  # type: ignore[attr-defined]


def _blank_comments(s: str) -> str:
    """Replace '# ...' comments with spaces of the same length. Strings are
    not allowed in expressions, so a '#' can only start a comment in a valid
    one (and an invalid one still fails)."""
    if "#" not in s:
        return s
    return re.sub(r"#[^\r\n]*", lambda m: " " * len(m.group()), s)


def _closing(toks: list, i: int) -> int:
    """Index of the token closing the bracket at toks[i] (-1 if none or mismatched)."""
    stack: list[str] = []
    for j in range(i, len(toks)):
        t = toks[j]
        if t.type == tokenize.OP and t.string in "([{":
            stack.append(")]}"["([{".index(t.string)])
        elif t.type == tokenize.OP and t.string in ")]}":
            if not stack or stack.pop() != t.string:
                return -1
            if not stack:
                return j
    return -1


def _paren_balance(s: str) -> int:
    return sum(_BRACKETS.get(ch, 0) for ch in s)


# ---------------------------------------------------------------------------
# The builder: top-level keys -> Graph
# ---------------------------------------------------------------------------


class _Builder:
    def __init__(self, filename: str, overrides: Overrides) -> None:
        self.filename = filename
        self.ov = overrides
        self.unused: list[str] = []  # the keys of Overrides.unused the file gave (Graph.unused)
        # {file: PATH} is relative to the graph file's directory (the working
        # directory for standard input)
        real = not (filename.startswith("<") or filename == "-")
        self.base_dir = os.path.dirname(os.path.abspath(filename)) if real else os.getcwd()
        self.files: values_mod.Files | None = None  # made at the first {file: ...}
        self.declared: dict[str, tuple[str, Pos]] = {}  # user name -> (kind, pos)
        self.nodes: dict[str, Node] = {}
        self.sort_key: dict[str, tuple] = {}
        self.owner_key: dict[str, tuple[int, int]] = {}
        self.seq = 0
        self.counters: dict[tuple[str, str], int] = {}
        self.pending: dict[str, tuple] = {}  # subscripts, decided by finish_subscripts

    # mappings --------------------------------------------------------------
    def entries(self, m: _YMap, what: str, names: bool) -> list[tuple[str, _YScalar, _YNode]]:
        """(key, key node, value node) of a mapping: string keys (valid names
        when ``names``), no duplicates, YAML merge keys (<<) flattened."""
        seen: dict[str, Pos] = {}
        out: list[tuple[str, _YScalar, _YNode]] = []
        merges: list[tuple[_YNode, _YNode]] = []

        def take(k: _YNode, v: _YNode, explicit: bool) -> None:
            text = self.key_text(k, what, names)
            if text in seen:
                if explicit:
                    first = seen[text]
                    where = f"line {first.line}" if first.source == k.pos.source else f"{first.source}"
                    _fail(f"duplicate key '{text}' in {what} (first at {where})", k.pos, "TG103" if names else "TG102")
                return
            seen[text] = k.pos
            out.append((text, k, v))  # type: ignore[arg-type]

        for k, v in m.pairs:
            if self.is_merge_key(k):
                merges.append((k, v))
            else:
                take(k, v, True)
        for k, v in merges:
            if isinstance(v, _YMap):
                sources = [v]
            elif isinstance(v, _YSeq) and all(isinstance(s, _YMap) for s in v.items):
                sources = list(v.items)
            else:
                _fail(f"a merge key (<<) takes a mapping or a list of mappings; found {_describe(v)}", v.pos, "TG101")
            stack = list(reversed(sources))
            done: set[int] = set()
            while stack:
                src = stack.pop()
                if id(src) in done:
                    continue
                done.add(id(src))
                nested = []
                for kk, vv in src.pairs:
                    if self.is_merge_key(kk):
                        if isinstance(vv, _YMap):
                            nested.append(vv)
                        elif isinstance(vv, _YSeq) and all(isinstance(s, _YMap) for s in vv.items):
                            nested.extend(vv.items)
                        else:
                            _fail(
                                f"a merge key (<<) takes a mapping or a list of mappings; found {_describe(vv)}",
                                vv.pos,
                                "TG101",
                            )
                    else:
                        take(kk, vv, False)
                stack.extend(reversed(nested))
        return out

    @staticmethod
    def is_merge_key(k: _YNode) -> bool:
        return isinstance(k, _YScalar) and k.tag == _MERGE and not k.explicit and k.plain

    def key_text(self, k: _YNode, what: str, names: bool) -> str:
        text = _name_text(k)
        expected = "a name (letters, digits and _)" if names else "a string"
        if text is None:
            _fail(f"a key in {what} must be {expected}; found {_describe(k)}", k.pos, "TG103" if names else "TG102")
        if names and not _NAME_RE.match(text):
            _fail(
                f"invalid name '{_clip(text)}' in {what}: names are letters, digits and _, "
                "not starting with a digit",
                k.pos,
                "TG103",
            )
        return text

    def mapping(self, v: _YNode | None, what: str, shape: str) -> _YMap | None:
        if v is None or (isinstance(v, _YScalar) and _scalar(v)[0] == "null"):
            return None
        if not isinstance(v, _YMap):
            _fail(f"{what} must be a mapping {shape}; found {_describe(v)}", v.pos, "TG102")
        return v

    # nodes -----------------------------------------------------------------
    def declare(self, name: str, kind: str, pos: Pos) -> None:
        prev = self.declared.get(name)
        if prev is not None:
            where = f"line {prev[1].line}" if prev[1].source == pos.source else prev[1].source
            _fail(f"name '{name}' is already {_article(prev[0])} {prev[0]} ({where})", pos, "TG103")
        self.declared[name] = (kind, pos)

    def add(self, node: Node, owner: str) -> None:
        self.seq += 1
        self.nodes[node.name] = node
        self.sort_key[node.name] = (*self.owner_key[owner], self.seq)

    def internal_name(self, owner: str, op: str) -> str:
        k = self.counters.get((owner, op), 0) + 1
        self.counters[(owner, op)] = k
        return f"{owner}/{op}_{k}"

    def add_literal(self, owner: str, value: Value, pos: Pos) -> str:
        name = self.internal_name(owner, "literal")
        self.add(Node(name, "literal", pos, value=value, user=False), owner)
        return name

    def add_op(
        self,
        name: str,
        owner: str,
        op: str,
        pos: Pos,
        inputs: dict[str, Any],
        args: tuple[str, ...],
        arg_pos: tuple[Pos, ...],
        attrs: dict[str, Any],
        attr_pos: dict[str, Pos],
        user: bool,
        text: str | None = None,
    ) -> None:
        node = Node(name, "op", pos, op=op, args=args, arg_pos=arg_pos, attrs=attrs, attr_pos=attr_pos,
                    user=user, inputs=inputs, text=None if user else _clip(" ".join(text.split()), 60) if text else None)
        self.add(node, owner)

    def add_subscript(self, name: str, owner: str, pos: Pos, src: str, src_pos: Pos, attrs: dict[str, Any],
                      single: int | None, index_pos: Pos, user: bool, text: str) -> None:
        """``src[...]``: which node it is (a strided_slice, or one output of
        an op with several) is decided in ``finish_subscripts``, once every
        op of the file is built; its place in the order is taken now."""
        self.seq += 1
        self.sort_key[name] = (*self.owner_key[owner], self.seq)
        self.pending[name] = (owner, pos, src, src_pos, attrs, single, index_pos, user, text)

    def finish_subscripts(self) -> None:
        done: set[str] = set()

        def finish(name: str, visiting: set[str]) -> None:
            if name in done:
                return
            owner, pos, src, src_pos, attrs, single, index_pos, user, text = self.pending[name]
            if src in self.pending and src not in visiting:
                finish(src, visiting | {name})
            label = None if user else _clip(" ".join(text.split()), 60)
            if self.is_multi_output(src):
                if single is None:
                    _fail(f"'{src}' names the outputs of an op with several; select one with an "
                          f"integer index ({src}[0])", index_pos, "TG104")
                node = Node(name, "op", pos, op=OUTPUT_OP, args=(src,), arg_pos=(src_pos,),
                            attrs={"index": single}, attr_pos={"index": index_pos}, user=user,
                            inputs={"input": src}, text=label)
            else:
                opdef = lookup("strided_slice")
                if opdef is None:
                    _fail(unknown_op_message("strided_slice") + " (subscripts are strided_slice)", pos, "TG203")
                keywords = [("input_", src, src_pos, src_pos)] + [(k, v, index_pos, index_pos) for k, v in attrs.items()]
                bound = bind(opdef, [], keywords, pos, lambda a: False)
                inputs: dict[str, Any] = {}
                node_attrs: dict[str, Any] = {}
                for b in bound:
                    if b.param.is_tensor:
                        inputs[b.param.name] = b.value
                    else:
                        node_attrs[b.param.name] = check_attr(opdef, b.param, b.value, describe(b.value), index_pos)
                node = Node(name, "op", pos, op=opdef.name, args=(src,), arg_pos=(src_pos,), attrs=node_attrs,
                            attr_pos={k: index_pos for k in node_attrs}, user=user, inputs=inputs, text=label)
            self.nodes[name] = node
            done.add(name)

        for name in list(self.pending):
            finish(name, set())
        self.pending.clear()

    def is_multi_output(self, name: str) -> bool:
        """Whether ``name`` is an op with several outputs (a list): its
        OpDef's ``outputs`` > 1, or ``outputs`` 0 (decided by the call), in
        which case ``n_outputs`` (given the call's attributes and inputs) may
        return None to say that this call returns one tensor."""
        node = self.nodes.get(name)
        if node is None or node.kind != "op" or node.op == OUTPUT_OP:
            return False
        opdef = lookup(node.op or "")
        if opdef is None or opdef.outputs == 1:
            return False
        if opdef.outputs > 1 or opdef.n_outputs is None:
            return True
        try:
            return opdef.n_outputs({**node.attrs, **(node.inputs or {})}) is not None
        except Exception:  # the count needs shapes: a list all the same
            return True

    def resolve(self, name: str, pos: Pos, where: str, expression: bool = False) -> str:
        if name in self.declared:
            return name
        if expression and name in ("true", "false", "null"):
            _fail(
                f"'{name}' is only allowed as an attribute value (e.g. transpose_a=true), "
                f"not as an operand; {_EXPR_RULE}",
                pos,
                "TG104",
            )
        if expression and lookup(name) is not None:
            _fail(f"'{name}' is an op; call it: {lookup(name).signature()}", pos, "TG104")
        where = f" {where}" if where else ""
        _fail(f"unknown name '{_clip(name)}'{where}{did_you_mean(name, self.declared)}", pos, "TG103")

    # sections --------------------------------------------------------------
    def build(self, root: _YNode | None) -> Graph:
        top_shape = "of top-level keys (variables, constants, ops, ys, xs, ...)"
        if root is None or (isinstance(root, _YScalar) and _is_null(root) and not root.value):
            _fail(f"the document is empty; expected a mapping {top_shape}", Pos(1, 1), "TG102")
        if not isinstance(root, _YMap):
            _fail(f"found {_describe(root)} at the top level; expected a mapping {top_shape}", root.pos, "TG102")
        top: dict[str, tuple[_YScalar | None, _YNode]] = {}
        for key, knode, v in self.entries(root, "the top level", names=False):
            if key not in TOP_KEYS:
                _fail(
                    f"unknown top-level key '{_clip(key)}'{did_you_mean(key, TOP_KEYS)}; "
                    f"keys are {', '.join(TOP_KEYS)}",
                    knode.pos,
                    "TG102",
                )
            top[key] = (knode, v)
        self.apply_list_overrides(top)

        # declarations: every user name is known before any op body is read,
        # so ops may be written in any order
        sections: dict[str, list[tuple[str, _YScalar, _YNode]]] = {}
        for section, shape in (
            ("variables", "name -> value"),
            ("constants", "name -> value"),
            ("ops", "name -> op"),
        ):
            if section not in top:
                sections[section] = []
                continue
            m = self.mapping(top[section][1], section, shape)
            if m is None:
                sections[section] = []
                continue
            if section == "ops":
                self.check_flow_commas(m)
            sections[section] = self.entries(m, section, names=True)
        # in file order, so that a clash is reported at the later name
        declarations = sorted(
            ((knode.line, knode.col), i, name, section[:-1], knode)
            for i, (section, entries) in enumerate(sections.items())
            for name, knode, _ in entries
        )
        for key, _, name, kind, knode in declarations:
            self.declare(name, kind, knode.pos)
            self.owner_key[name] = key
        if not sections["variables"] and not sections["constants"]:
            where = top.get("variables") or top.get("constants") or (None, root)
            _fail("a graph needs at least one variable or constant: add 'variables: {NAME: VALUE}'", where[1].pos, "TG102")
        for key, shape in (("ys", "a name or a list of names"), ("xs", "a name or a list of names")):
            if key not in top:
                _fail(f"missing required key '{key}' ({shape})", root.pos, "TG102")

        values = self.apply_set_overrides(sections)
        for section in ("variables", "constants"):
            kind = section[:-1]
            for name, knode, v in sections[section]:
                node_v, what = values.get(name, (v, f"{kind} '{name}'"))
                value = node_v if isinstance(node_v, Value) else self.value(node_v, what)
                self.add(Node(name, kind, knode.pos, value=value), name)  # type: ignore[arg-type]
        for name, knode, v in sections["ops"]:
            self.build_op(name, knode, v)
        self.finish_subscripts()

        order = self.topological_order()
        ys = self.names(top["ys"][1], "ys")
        xs = self.names(top["xs"][1], "xs")
        graph_fields: dict[str, Any] = {}
        if "grad_ys" in top and not _is_null(top["grad_ys"][1]):
            v = top["grad_ys"][1]
            graph_fields["grad_ys"] = self.grad_ys(v, ys)
            graph_fields["grad_ys_pos"] = v.pos
        if "stop_gradients" in top:
            v = top["stop_gradients"][1]
            graph_fields["stop_gradients"] = () if _is_null(v) else self.names(v, "stop_gradients", empty_ok=True)
        if "unconnected_gradients" in top:
            graph_fields["unconnected_gradients"] = self.unconnected(top["unconnected_gradients"][1])
        if "expect" in top:
            m = self.mapping(top["expect"][1], "expect", "x-name -> expected gradient (a value or null)")
            graph_fields["expect_pos"] = top["expect"][1].pos
            graph_fields["expect"] = self.expect(m, xs) if m is not None else ()
        if "expect_hessian" in top:
            m = self.mapping(top["expect_hessian"][1], "expect_hessian",
                             "x-name -> expected Hessian of sum(ys), shape x.shape + x.shape")
            graph_fields["expect_hessian"] = self.expect(m, xs, "expect_hessian") if m is not None else ()
        if "tolerance" in top:
            v = top["tolerance"][1]
            graph_fields["tolerance_pos"] = v.pos
            graph_fields.update(self.tolerance(v))
        for key in ("name", "description"):
            if key in top:
                graph_fields[key] = self.text(top[key][1], key)
        if "dtype" in top:
            graph_fields["dtype"] = self.graph_dtype(top["dtype"][1])
        if "outputs" in top and not _is_null(top["outputs"][1]):
            graph_fields["outputs"] = self.names(top["outputs"][1], "outputs")
        return Graph(
            source=self.filename,
            nodes={n: self.nodes[n] for n in order},
            order=order,
            ys=ys,
            xs=xs,
            unused=tuple(self.unused),
            **graph_fields,
        )

    def check_flow_commas(self, m: _YMap) -> None:
        """ops: {c: matmul(a, b)} reads in YAML as {c: 'matmul(a', 'b)': null}."""
        if not m.flow:
            return
        pairs = m.pairs
        for i, (k, v) in enumerate(pairs):
            if isinstance(v, _YScalar) and v.plain and _paren_balance(v.value) > 0:
                parts = [v.value]
                balance = _paren_balance(v.value)
                for kk, vv in pairs[i + 1 :]:
                    if balance <= 0 or not isinstance(kk, _YScalar):
                        break
                    parts.append(kk.value)
                    balance += _paren_balance(kk.value)
                    if not (isinstance(vv, _YScalar) and _is_null(vv)):
                        break
                whole = ", ".join(parts)
                name = k.value if isinstance(k, _YScalar) else "c"
                _fail(
                    f"in a YAML flow mapping {{...}} a comma ends the value, so '{_clip(whole, 60)}' "
                    f"was cut to '{_clip(v.value, 60)}'; write the op in block style "
                    f'({name}: {_clip(whole, 60)}) or quote it ({{{name}: "{_clip(whole, 60)}"}})',
                    v.pos,
                    "TG101",
                )
            if isinstance(k, _YScalar) and k.plain and _paren_balance(k.value) < 0 and _is_null(v):
                _fail(
                    f"'{_clip(k.value)}' looks like the end of an expression cut by a comma: in a YAML flow "
                    "mapping {...} a comma ends the value; write ops in block style or quote them",
                    k.pos,
                    "TG101",
                )

    def build_op(self, name: str, knode: _YScalar, v: _YNode) -> None:
        if isinstance(v, _YScalar):
            kind, _ = _scalar(v)
            if _name_text(v) is not None:  # a string (or 'on'/'no', which YAML 1.2 reads as one)
                _Expression(self, name, v).build()
                return
            found = _describe(v)
            tail = ": put values under variables or constants" if kind in ("int", "float") else ""
            _fail(
                f"op '{name}' must be an expression string or a mapping {{op: ..., args: [...]}}; "
                f"found {found}{tail}",
                v.pos,
                "TG102",
            )
        if isinstance(v, _YSeq):
            _fail(
                f"op '{name}' must be an expression string or a mapping {{op: ..., args: [...]}}; "
                "found a list: put values under variables or constants",
                v.pos,
                "TG102",
            )
        assert isinstance(v, _YMap)
        self.mapping_op(name, v)

    def mapping_op(self, name: str, m: _YMap) -> None:
        fields = {k: (kn, vn) for k, kn, vn in self.entries(m, f"op '{name}'", names=False)}
        if "op" not in fields:
            _fail(f"op '{name}' needs 'op: NAME' (and 'args: [...]')", m.pos, "TG102")
        op_node = fields["op"][1]
        op = _name_text(op_node)
        if op is None:
            _fail(f"'op' of '{name}' must be an op name; found {_describe(op_node)}", op_node.pos, "TG102")
        opdef = lookup(op)
        if opdef is None:
            msg = unknown_op_message(_clip(op), None)
            if msg.startswith("'"):
                msg = "unknown op " + msg.replace(" is not an op", "", 1)
            _fail(msg, op_node.pos, "TG203")
        positional: list[tuple[_YNode, Pos]] = []
        flow = False
        if "args" in fields:
            args_node = fields["args"][1]
            if not isinstance(args_node, _YSeq):
                _fail(
                    f"'args' of '{name}' must be a list [ARG, ...] of names or values; found {_describe(args_node)}",
                    args_node.pos,
                    "TG102",
                )
            positional = [(a, a.pos) for a in args_node.items]
            flow = args_node.flow
        keywords = [(k, vn, kn.pos, vn.pos) for k, (kn, vn) in fields.items() if k not in ("op", "args")]
        for k, (kn, _) in fields.items():
            # a misspelt 'args' (arg, argss, Args) is no parameter of the op
            # either: say which key was meant, not only the op's signature
            if k not in ("op", "args") and opdef.param(k) is None:
                close = difflib.get_close_matches(k, ["args", *(q.name for q in opdef.params)], n=1, cutoff=0.6)
                if close == ["args"] or k.lower() == "args":
                    _fail(f"{opdef.name} has no parameter '{_clip(k)}' (did you mean 'args'?); a mapping op "
                          f"is {{op: NAME, args: [...]}} plus TF's parameters by name: {opdef.signature()}",
                          kn.pos, "TG203")
        bound = bind(opdef, positional, keywords, m.pos, lambda a: isinstance(a, _YSeq), _is_null)
        inputs: dict[str, Any] = {}
        args: list[str] = []
        arg_pos: list[Pos] = []
        attrs: dict[str, Any] = {}
        attr_pos: dict[str, Pos] = {}
        index = {id(a): i for i, (a, _) in enumerate(positional, 1)}
        for b in bound:
            p = b.param
            if p.kind == TENSOR:
                ref = self.yaml_tensor(name, b.value, index.get(id(b.value)), p.name, flow)
                inputs[p.name] = ref
                args.append(ref)
                arg_pos.append(b.value.pos)
            elif p.kind == TENSORS:
                if b.spread:
                    items = list(b.value)
                elif isinstance(b.value, _YSeq):
                    items = list(b.value.items)
                else:  # one tensor without a list: a bare name, as in an expression
                    ref = self.yaml_tensor(name, b.value, index.get(id(b.value)), p.name, flow)
                    inputs[p.name] = ref
                    args.append(ref)
                    arg_pos.append(b.value.pos)
                    continue
                refs = []
                for a in items:
                    refs.append(self.yaml_tensor(name, a, index.get(id(a)), p.name, flow))
                    arg_pos.append(a.pos)
                # one tensor written without a list stays one name (see plan above)
                bare = not b.spread and not isinstance(b.value, _YSeq)
                inputs[p.name] = refs[0] if bare else tuple(refs)
                args.extend(refs)
            else:
                value, text = _yaml_attr(b.value)
                attrs[p.name] = check_attr(opdef, p, value, text, b.pos)
                attr_pos[p.name] = b.pos
        self.add_op(name, name, opdef.name, m.pos, inputs, tuple(args), tuple(arg_pos), attrs, attr_pos, True)

    def yaml_tensor(self, name: str, a: _YNode, i: int | None, param: str, flow: bool) -> str:
        """An argument of a mapping op that fills a tensor parameter: a node
        name or a literal value."""
        which = f"argument {i}" if i is not None else f"'{param}'"
        text = _name_text(a)
        if text is not None:
            if not _NAME_RE.match(text):
                hint = ""
                if any(c in text for c in "()+-*/@"):
                    hint = "; an expression needs its own entry under ops"
                    if flow and _paren_balance(text) != 0:
                        hint += " (and in a flow list [...] a comma ends the item)"
                _fail(
                    f"{which} of '{name}' is '{_clip(text)}', which is not a name; "
                    f"arguments are node names or values{hint}",
                    a.pos,
                    "TG103",
                )
            return self.resolve(text, a.pos, f"in op '{name}'")
        if isinstance(a, _YMap):
            return self.add_literal(name, self.value(a, f"{which} of '{name}'"), a.pos)
        if isinstance(a, _YSeq) or (isinstance(a, _YScalar) and _scalar(a)[0] in ("int", "float", "bool")):
            # a literal argument, as in an expression: numbers, or booleans
            # (a bool tensor, as TF converts a Python list of bools)
            value = _plain_numbers_value(a)
            if value is None:
                value = _make_value(a, _literal_yaml_leaf, _POS, f"{which} of '{name}'")
            return self.add_literal(name, value, a.pos)
        _fail(f"{which} of '{name}' is {_describe(a)}; expected a node name or a value", a.pos, "TG102")

    def topological_order(self) -> tuple[str, ...]:
        # Kahn's algorithm with a heap keyed by file position: any
        # topological order would do; this one follows the file where it
        # can. graphlib names the cycle when one stops the sweep (its
        # prepare() alone costs more than this whole loop on a long chain).
        key = self.sort_key
        waiting = {}
        users: dict[str, list[str]] = {}
        heap = []
        for name, node in self.nodes.items():
            if node.args:
                waiting[name] = len(node.args)
                for a in node.args:
                    users.setdefault(a, []).append(name)
            else:
                heap.append((key[name], name))
        heapq.heapify(heap)
        order = []
        while heap:
            _, n = heapq.heappop(heap)
            order.append(n)
            for u in users.get(n, ()):
                waiting[u] -= 1
                if not waiting[u]:
                    heapq.heappush(heap, (key[u], u))
        if len(order) < len(self.nodes):
            ts: graphlib.TopologicalSorter = graphlib.TopologicalSorter()
            for name, node in self.nodes.items():
                ts.add(name, *node.args)
            try:
                ts.prepare()
            except graphlib.CycleError as e:
                self.report_cycle(list(reversed(e.args[1])))
            raise AssertionError("unordered nodes without a cycle")  # pragma: no cover
        return tuple(order)

    def report_cycle(self, cycle: list[str]) -> NoReturn:
        # cycle[i] needs cycle[i + 1]; the last repeats the first
        ring = cycle[:-1]
        users = [n.split("/")[0] for n in ring]
        start = min(range(len(ring)), key=lambda i: (not self.nodes[ring[i]].user, self.sort_key[ring[i]]))
        ring = ring[start:] + ring[:start]
        users = users[start:] + users[:start]
        shown: list[str] = []
        for u in users:
            if not shown or shown[-1] != u:
                shown.append(u)
        if len(shown) > 1 and shown[-1] == shown[0]:
            shown.pop()
        node = self.nodes[ring[0]]
        nxt = ring[1 % len(ring)]
        pos = node.arg_pos[node.args.index(nxt)] if nxt in node.args else node.pos
        _fail(f"cycle: {' -> '.join(shown + [shown[0]])} (each needs the next)", pos, "TG201")

    # ys, xs, stop_gradients ------------------------------------------------
    def names(self, v: _YNode, key: str, empty_ok: bool = False) -> tuple[Ref, ...]:
        items = v.items if isinstance(v, _YSeq) else [v]
        if isinstance(v, _YSeq) and not items and not empty_ok:
            _fail(f"{key} is an empty list; expected at least one name", v.pos, "TG102")
        refs = []
        for item in items:
            text = _name_text(item)
            if text is None or not _NAME_RE.match(text):
                found = _describe(item) if text is None else f"'{_clip(text)}'"
                _fail(f"{key} must be a name or a list of names; found {found}", item.pos, "TG102")
            self.resolve(text, item.pos, f"in {key}")
            refs.append(Ref(text, item.pos))
        return tuple(refs)

    def grad_ys(self, v: _YNode, ys: tuple[Ref, ...]) -> tuple[GradY, ...]:
        if not isinstance(v, _YSeq):
            _fail(
                f"grad_ys must be a list with one entry per y (a value, a name, or null for ones); "
                f"found {_describe(v)}",
                v.pos,
                "TG204",
            )
        if len(v.items) != len(ys):
            hint = "; --ys replaced ys" if self.ov.ys is not None else ""
            _fail(
                f"grad_ys has {_plural(len(v.items), 'entry', 'entries')} "
                f"but ys has {len(ys)}: give one entry per y{hint}",
                v.pos,
                "TG204",
            )
        out = []
        for i, item in enumerate(v.items):
            if _is_null(item):
                out.append(GradY(item.pos))
                continue
            text = _name_text(item)
            if text is not None:
                if not _NAME_RE.match(text):
                    _fail(f"grad_ys[{i}] must be a value, a name or null; found '{_clip(text)}'", item.pos, "TG204")
                out.append(GradY(item.pos, ref=self.resolve(text, item.pos, "in grad_ys")))
                continue
            out.append(GradY(item.pos, value=self.value(item, f"grad_ys[{i}]")))
        return tuple(out)

    def unconnected(self, v: _YNode) -> str:
        if _is_null(v):
            return "none"
        text = _name_text(v) if isinstance(v, _YScalar) else None
        if text not in UNCONNECTED:
            found = _describe(v) if text is None else f"'{_clip(text)}'"
            _fail(
                f"unconnected_gradients must be none or zero{did_you_mean(text or '', UNCONNECTED)}; found {found}",
                v.pos,
                "TG102",
            )
        return text  # type: ignore[return-value]

    def expect(self, m: _YMap, xs: tuple[Ref, ...], key: str = "expect") -> tuple[Expectation, ...]:
        x_names = [r.name for r in xs]
        out = []
        for name, knode, v in self.entries(m, key, names=True):
            if name not in x_names:
                if self.ov.xs is not None:
                    # --xs is an experiment on the file: an expectation for
                    # an x it removed no longer applies.
                    continue
                _fail(
                    f"{key} names '{name}', which is not in xs{did_you_mean(name, x_names)}",
                    knode.pos,
                    "TG103",
                )
            value = None if _is_null(v) else self.value(v, f"{key} '{name}'", nonfinite=True)
            out.append(Expectation(name, knode.pos, value))
        return tuple(out)

    def tolerance(self, v: _YNode) -> dict[str, float]:
        m = self.mapping(v, "tolerance", "{rtol: 1e-7, atol: 1e-9}")
        out = dict(TOLERANCE_DEFAULTS)
        if m is None:
            return out
        for key, knode, vn in self.entries(m, "tolerance", names=False):
            if key not in TOLERANCE_DEFAULTS:
                _fail(
                    f"unknown tolerance key '{_clip(key)}'{did_you_mean(key, TOLERANCE_DEFAULTS)}; "
                    "keys are rtol and atol",
                    knode.pos,
                    "TG102",
                )
            kind, x = _scalar(vn) if isinstance(vn, _YScalar) else ("other", None)
            if kind == "int":
                try:
                    x = float(x)
                except OverflowError:  # an integer beyond float64 (10**309 written out)
                    x = math.inf
            if kind not in ("int", "float") or not math.isfinite(x) or x < 0:
                _fail(f"{key} must be a non-negative finite number; found {_describe(vn)}", vn.pos, "TG102")
            out[key] = float(x)
        return out

    def value(self, v: _YNode, what: str, nonfinite: bool = False) -> Value:
        """A value written in the file: a literal, or a mapping form
        (``{value: ..., dtype: ...}``, ``{file: ...}``, a generator);
        ``nonfinite`` admits .nan and .inf in a literal (expect only)."""
        if isinstance(v, _YMap):
            return self.mapping_value(v, what)
        return _yaml_value(v, what, nonfinite)

    def mapping_value(self, m: _YMap, what: str) -> Value:
        pairs = m.pairs
        if len(pairs) == 1:
            # {file: PATH} alone (a weight file: dozens in a graph) without
            # the general checks, which such a mapping passes: one key,
            # written as a string, naming a form, and a text value
            kn, vn = pairs[0]
            if (type(kn) is _YScalar and type(vn) is _YScalar and kn.tag == _STR and vn.tag == _STR
                    and kn.value == "file" and kn.num is None and vn.num is None):
                try:
                    if self.files is None:
                        self.files = values_mod.Files(self.base_dir, self.ov.allow_outside)
                    return self.loaded(self.files.load(vn.value, None, None), vn.value, None)
                except values_mod.ValueProblem as e:
                    _fail(f"{what}: {e.message}", m.pos, "TG102")
        fields = {k: (kn, vn) for k, kn, vn in self.entries(m, what, names=False)}
        forms = [k for k in _VALUE_FORMS if k in fields]
        unknown = [k for k in fields if k not in _VALUE_KEYS]
        if unknown:
            k = unknown[0]
            _fail(f"unknown key '{_clip(k)}' in the value mapping of {what}{did_you_mean(k, _VALUE_KEYS)}; "
                  f"a value mapping is one of {_VALUE_FORMS_TEXT}", fields[k][0].pos, "TG102")
        if len(forms) != 1:
            found = "none of them" if not forms else " and ".join(forms)
            _fail(f"{what} is a mapping; a value mapping has exactly one of value, file, "
                  f"{', '.join(values_mod.GENERATORS)} (found {found}): {_VALUE_FORMS_TEXT}", m.pos, "TG102")
        form = forms[0]
        allowed = _VALUE_FORM_KEYS[form]
        for k, (kn, _) in fields.items():
            if k not in allowed:
                _fail(f"key '{k}' does not go with {form} in {what}; {{{form}: ...}} takes "
                      f"{', '.join(sorted(allowed - {form})) or 'nothing else'}", kn.pos, "TG102")
        dtype = None
        if "dtype" in fields:
            dn = fields["dtype"][1]
            dtype = _name_text(dn)
            if dtype not in values_mod.DTYPES:
                found = _describe(dn) if dtype is None else f"'{_clip(dtype)}'"
                _fail(f"dtype of {what} must be one of {', '.join(values_mod.DTYPES)}"
                      f"{did_you_mean(dtype or '', values_mod.DTYPES)}; found {found}", dn.pos, "TG102")

        def at(field: str | None) -> Pos:
            return fields[field][1].pos if field in fields else m.pos

        try:
            if form == "value":
                vn = fields["value"][1]
                if dtype == "bool":
                    val = _make_value(vn, _bool_leaf, _POS, f"the value of {what}")
                    return Value(values_mod.cast(val.array, "bool", True), True, "bool")
                val = _yaml_value(vn, f"the value of {what}")
                arr = val.array if dtype is None else values_mod.cast(val.array, dtype, val.integral)
                return Value(arr, val.integral, dtype)
            plain = {}
            for k, (_, vn) in fields.items():
                x, _ = _yaml_attr(vn)
                if x is NOT_A_VALUE:
                    _fail(f"{k} of {what} must be plain YAML (a number, text or a list); found {_describe(vn)}",
                          vn.pos, "TG102")
                plain[k] = x
            if form == "file":
                if self.files is None:
                    self.files = values_mod.Files(self.base_dir, self.ov.allow_outside)
                arr = self.files.load(plain["file"], plain.get("key"), dtype)
                return self.loaded(arr, str(plain["file"]), dtype)
            arr, integral = values_mod.generate(form, plain)
            if dtype is not None:
                arr = values_mod.cast(arr, dtype, integral)
            return Value(arr, integral, dtype)
        except values_mod.ValueProblem as e:
            _fail(f"{what}: {e.message}", at(e.field) if e.field not in ("file", None) else m.pos, "TG102")

    @staticmethod
    def loaded(arr: Any, shown: str, dtype: str | None, can_declare: bool = True) -> Value:
        """A value read from a file: float32/float64 arrays take the graph's
        dtype unless ``dtype`` says otherwise, int32, int64 and bool arrays
        keep theirs; any other dtype needs ``dtype`` (``values.file_dtype``
        says why; ``can_declare``: whether the place that read it takes a
        ``dtype:``); non-finite floats are refused as in the file's own
        values. A byte-swapped array is brought to the machine's order."""
        arr = np.asarray(arr)
        own = values_mod.file_dtype(arr, shown, dtype, can_declare)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        if arr.dtype.kind == "f":
            # (one pass and one temporary on the happy path: a file's floats
            # are 17 MB for the MLP benchmark)
            if not np.isfinite(arr).all():
                bad = ~np.isfinite(arr)
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                raise values_mod.ValueProblem(
                    f"'{shown}' holds a non-finite number ({arr[where]} at index {list(where)}); "
                    "values must be finite numbers")
            arr = arr.astype(np.float64, copy=False)  # no copy of a float64 file
        integral = arr.dtype.kind in "iub"
        if dtype is not None:
            return Value(values_mod.cast(arr, dtype, integral), integral, dtype)
        return Value(arr, integral, own)

    @staticmethod
    def graph_dtype(v: _YNode) -> str:
        text = _name_text(v) if isinstance(v, _YScalar) else None
        if text not in GRAPH_DTYPES:
            found = _describe(v) if text is None else f"'{_clip(text)}'"
            _fail(f"dtype must be float64 or float32{did_you_mean(text or '', GRAPH_DTYPES)}; found {found}",
                  v.pos, "TG102")
        return text  # type: ignore[return-value]

    @staticmethod
    def text(v: _YNode, key: str) -> str | None:
        if _is_null(v):
            return None
        if not isinstance(v, _YScalar):
            _fail(f"{key} must be text; found {_describe(v)}", v.pos, "TG102")
        return v.value

    # overrides -------------------------------------------------------------
    def apply_list_overrides(self, top: dict[str, tuple[_YScalar | None, _YNode]]) -> None:
        for key in self.ov.unused:
            if key in top:
                v = top.pop(key)[1]
                empty = (_is_null(v) or (isinstance(v, _YSeq) and v.bulk is None and not v.items)
                         or (key == "unconnected_gradients" and isinstance(v, _YScalar) and v.value == "none"))
                if not empty:
                    self.unused.append(key)
        for key, names, flag in (
            ("ys", self.ov.ys, "--ys"),
            ("xs", self.ov.xs, "--xs"),
            ("stop_gradients", self.ov.stop, "--stop"),
        ):
            if names is not None:
                top[key] = (None, _synthetic_names(tuple(names), f"<{flag}>"))
        if self.ov.unconnected is not None:
            doc = _Doc(self.ov.unconnected, "<--unconnected>")
            top["unconnected_gradients"] = (None, _synthetic_scalar(doc, self.ov.unconnected, 0))

    def apply_set_overrides(self, sections: dict) -> dict[str, tuple[_YNode, str]]:
        values: dict[str, tuple[_YNode, str]] = {}
        for name, text in self.ov.set:
            source = f"<--set {name}>"
            kind = self.declared.get(name, (None,))[0]
            if kind == "op":
                _fail(f"'{name}' is an op; --set replaces the value of a variable or constant", Pos(1, 1, source), "TG103")
            if kind is None:
                candidates = [n for n, (k, _) in self.declared.items() if k != "op"]
                _fail(
                    f"--set {name}: no variable or constant named '{_clip(name)}'{did_you_mean(name, candidates)}",
                    Pos(1, 1, source),
                    "TG103",
                )
            if text.startswith("@"):
                # --set NAME=@file.npy: the command line names the file itself,
                # so it may be anywhere (relative to the working directory)
                path = os.path.abspath(text[1:])
                try:
                    arr = values_mod.load_file(path, None, os.getcwd(), (path,))
                    values[name] = (self.loaded(arr, text[1:], None, can_declare=False), f"--set {name}")
                except values_mod.ValueProblem as e:
                    _fail(f"--set {name}: {e.message}", Pos(1, 1, source), "TG102")
                continue
            node = _compose(text, source)
            if node is None:
                _fail(f"--set {name}: no value given", Pos(1, 1, source), "TG102")
            values[name] = (node, f"--set {name}")
        return values


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _is_null(v: _YNode) -> bool:
    return isinstance(v, _YScalar) and _scalar(v)[0] == "null"


class _FakeMark:
    __slots__ = ("line", "column", "index")

    def __init__(self, col: int) -> None:
        self.line, self.column, self.index = 0, col, col


def _synthetic_scalar(doc: _Doc, value: str, col: int) -> _YScalar:
    node = _YScalar(doc, _FakeMark(col))
    node.tag, node.value, node.style, node.explicit = _STR, value, "", False
    node.end, node.num = _FakeMark(col + len(value)), None
    return node


def _synthetic_names(names: tuple[str, ...], source: str) -> _YSeq:
    """A command-line list of names as YAML nodes, so that it is checked like
    the file's own (positions are columns in the names joined by ',')."""
    doc = _Doc(",".join(names), source)
    seq = _YSeq(doc, _FakeMark(0))
    seq.flow, seq.items, seq.size, seq.bulk = True, [], len(names) + 1, None
    col = 0
    for n in names:
        seq.items.append(_synthetic_scalar(doc, n, col))
        col += len(n) + 1
    return seq
