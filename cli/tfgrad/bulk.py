"""Flow sequences of plain numbers read in bulk, not one YAML event each.

A weight-heavy graph file is millions of numbers in flow sequences
(``- [0.14103, -0.054131, ...]``); libyaml's events cost about a microsecond
each in Python. ``scan(text)`` finds the flow sequences that are plainly
numbers (a ``[`` that starts a block value, brackets, commas, numbers and
white space only, nothing after the ``]`` but a comment), reads them into
arrays (the rank-1 ones all at once, with orjson when it is installed,
else with NumPy's parser), and returns the text with each such sequence
replaced by a double-quoted scalar: ``""`` for a one-line sequence (only a
comment may follow it on its line, so every line number and every other
node's column stays as it was), blanks with the same line breaks for a
sequence over several lines. The composer reads the replaced text (its
marks' indexes refer to it: the composer's document text is the replaced
text). The composer then sees one scalar event per sequence, recognises
it by its (line, column), and builds a sequence node that carries the array
(its items are composed from the original text only if something asks for
them: an error message, a list of names).

Only what the slow path would read identically is taken: a sequence whose
text is not exactly rectangular nested lists of YAML 1.2 numbers that are
finite, below 2**53 in magnitude and free of ``-0`` integers is left alone,
and so is everything when the replaced text does not compose with each
replacement as its own scalar (the caller checks that and falls back).
Over the characters allowed here, Python's ``float`` accepts exactly the
YAML 1.2 core schema's numbers, so a token either is a YAML number with
that value or makes the whole sequence fall back.

Measured (benchmarks/cases.py's mlp(32): 22 MB, 2,121,728 numbers in 8,288
rows; parse_graph, registry imported beforehand; a loaded 2-core machine):
12.3-14.7 s event by event; in bulk 1.60-1.64 s with ``np.fromstring``
(0.53-0.63 s CPU of it NumPy's float parsing); 0.37-0.53 s CPU for
parse_graph with orjson reading the rank-1 rows a megabyte at a time (0.26
s of it orjson itself).
"""

from __future__ import annotations

import itertools
import math
import re
from typing import NamedTuple

import numpy as np

# Below this size a file is read the ordinary way.
MIN_TEXT = 20_000
MIN_REGION = 16

# A '[' that starts a block value: after the indentation, block-sequence
# dashes and one simple key.
_PREFIX = re.compile(r"[ ]*(?:-[ ]+)*(?:[A-Za-z_][A-Za-z0-9_]*:[ ]+)?(?:-[ ]+)*")
_TAIL = re.compile(r"[ \t]*(?:\r?\n|\Z)|[ \t]+#")
_SPLIT = re.compile(r"[\[\],]+")
_NOT_SKELETON = re.compile(r"[^\[\],]+")
_LIMIT = 2.0**53


class Region(NamedTuple):
    start: int
    end: int
    array: np.ndarray
    integral: bool
    count: int  # numbers and nested lists, for alias-expansion accounting


def scan(text: str) -> tuple[str, dict[tuple[int, int], Region]] | None:
    """(text with number sequences replaced, regions by (0-based line,
    column) of their '['), or None when nothing was taken."""
    if len(text) < MIN_TEXT or "[" not in text:
        return None
    found: list[tuple[int, int]] = []  # (start, end) of candidate sequences
    find = text.find
    rfind = text.rfind
    tail = _TAIL.match
    prefix = _PREFIX.fullmatch
    pos = 0
    while True:
        start = find("[", pos)
        if start < 0:
            break
        pos = start + 1
        if not prefix(text, rfind("\n", 0, start) + 1, start):
            continue
        close = find("]", start)
        if close < 0:
            break
        end = close + 1 if find("[", start + 1, close) < 0 else _matching(text, start)
        if end < 0 or end - start < MIN_REGION or not tail(text, end):
            continue
        found.append((start, end))
        pos = end
    if not found:
        return None
    # rank-1 sequences (most of a weight file: one row per line) are checked
    # and converted together, in one pass over all their numbers
    flat = [(s, e) for s, e in found if find("[", s + 1, e) < 0]
    parsed: dict[int, tuple[np.ndarray, bool, int]] = {}
    if flat:
        together = _json_rows(text, flat) or _joined_rows(text, flat)
        if together is not None and np.isfinite(together[0]).all():
            allv, counts = together
            bounds = np.cumsum([0] + counts)
            # the rare entries _finish looks at twice (|x| >= 2**53, -0.0)
            odd = np.flatnonzero((np.abs(allv) >= _LIMIT) | ((allv == 0.0) & np.signbit(allv)))
            odd_regions = set(np.searchsorted(bounds, odd, side="right") - 1) if len(odd) else set()
            for i, (s, e) in enumerate(flat):
                a = allv[bounds[i] : bounds[i + 1]]
                if i in odd_regions or (find(".", s, e) < 0 and find("e", s, e) < 0
                                        and find("E", s, e) < 0):
                    r = _finish(a.copy(), text[s:e], None)
                    if r is not None:
                        parsed[s] = r
                else:
                    n = len(a)
                    parsed[s] = (a, False, n + 1)
        else:
            for s, e in flat:
                r = _parse(text[s:e])
                if r is not None:
                    parsed[s] = r
    for s, e in found:
        if s not in parsed and find("[", s + 1, e) >= 0:
            r = _parse(text[s:e])
            if r is not None:
                parsed[s] = r
    if not parsed:
        return None
    regions: dict[tuple[int, int], Region] = {}
    pieces: list[str] = []
    last = 0
    line = 0
    line_pos = 0  # index of the start of line ``line``
    for s, e in found:
        r = parsed.get(s)
        if r is None:
            continue
        line += text.count("\n", line_pos, s)
        line_pos = text.rfind("\n", 0, s) + 1
        regions[(line, s - line_pos)] = Region(s, e, *r)
        pieces.append(text[last:s])
        if find("\n", s, e) >= 0 or find("\r", s, e) >= 0:
            # the same line breaks, so that every later line keeps its number
            pieces.append('"' + re.sub(r"[^\r\n]", " ", text[s + 1 : e - 1]) + '"')
        else:
            # nothing but a comment follows on its line: an empty scalar
            # keeps every line and every other column as it was
            pieces.append('""')
        last = e
    pieces.append(text[last:])
    return "".join(pieces), regions


def _matching(text: str, start: int) -> int:
    """The index after the ']' closing the '[' at ``start`` (-1 if none)."""
    depth = 0
    for m in re.compile(r"[\[\]]").finditer(text, start):
        if m.group() == "[":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.end()
    return -1


# Characters that make a JSON value other than a number between ``[`` and
# ``]`` with no ``[`` inside: true, false, null, strings, objects.
_JSON_NOT_NUMBER = ("t", "f", "n", '"', "{")
_JSON_CHUNK = 1 << 20  # characters of rows given to orjson at once


def _json_rows(text: str, flat: list[tuple[int, int]]) -> tuple[np.ndarray, list[int]] | None:
    """Every rank-1 region's numbers in one array and each region's count,
    read by orjson (about twice as fast as ``np.fromstring`` here, and
    correctly rounded as Python's ``float`` is); None when orjson is not
    installed or the text is not JSON arrays of numbers alone.

    Between brackets holding no bracket, with none of ``_JSON_NOT_NUMBER``,
    JSON accepts only comma-separated JSON numbers, and a JSON number is a
    YAML 1.2 core-schema number of the same value (YAML's other forms,
    ``+1``, ``.5``, ``1.``, ``010``, make orjson refuse the whole text,
    and the caller reads it with NumPy instead)."""
    try:
        import orjson  # optional at run time (pyproject declares it)
    except ImportError:
        return None
    loads, refused = orjson.loads, orjson.JSONDecodeError
    arrays: list[np.ndarray] = []
    counts: list[int] = []
    i = 0
    while i < len(flat):
        # about a megabyte of text at a time: orjson makes a Python float of
        # each number (32 bytes with its list slot), so all at once would
        # hold ~200 MB for mlp-100's 6.6M numbers (no slower in chunks of
        # 64 KB to 4 MB: within the noise of a loaded machine)
        j, size = i, 0
        while j < len(flat) and (j == i or size < _JSON_CHUNK):
            size += flat[j][1] - flat[j][0]
            j += 1
        joined = "[" + ",".join([text[s:e] for s, e in flat[i:j]]) + "]"
        if not joined.isascii() or any(c in joined for c in _JSON_NOT_NUMBER):
            return None
        try:
            rows = loads(joined)
        except refused:
            return None
        del joined
        row_counts = [len(r) for r in rows]
        if not all(row_counts):
            return None  # '[]': not a value the bulk path takes
        try:
            # ints beyond 64 bits come as floats, so every item converts
            arrays.append(np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64,
                                      count=sum(row_counts)))
        except (OverflowError, ValueError, TypeError):
            return None
        counts += row_counts
        i = j
    return (arrays[0] if len(arrays) == 1 else np.concatenate(arrays)), counts


def _joined_rows(text: str, flat: list[tuple[int, int]]) -> tuple[np.ndarray, list[int]] | None:
    """The same as _json_rows by ``np.fromstring`` on the joined insides."""
    inners = [text[s + 1 : e - 1] for s, e in flat]
    counts = [inner.count(",") + 1 for inner in inners]
    allv = _numbers(",".join(inners), sum(counts))
    return None if allv is None else (allv, counts)


def _parse(region: str) -> tuple[np.ndarray, bool, int] | None:
    """The array of a region (float64), whether every number is an integer,
    and its node count; None when the slow path must read it."""
    if "[" not in region[1:]:
        inner = region[1:-1]
        array = _numbers(inner, inner.count(",") + 1)
        shape: tuple[int, ...] | None = None
    else:
        compact = "".join(region.split())
        skeleton = _NOT_SKELETON.sub("", compact)
        dims = _first_dims(skeleton)
        if dims is None or _expected(dims) != skeleton:
            return None
        shape = tuple(dims)
        array = _numbers(_SPLIT.sub(",", compact)[1:-1], math.prod(dims))
    if array is None:
        return None
    return _finish(array, region, shape)


_ALLOWED = b"0123456789.eE+-, \t\r\n"


def _numbers(s: str, count: int) -> np.ndarray | None:
    """``count`` comma-separated numbers, or None if ``s`` is anything else
    (a character outside ASCII digits, signs, '.', 'e', 'E', commas and
    white space; an empty entry; a malformed number; another count)."""
    try:
        b = s.encode("ascii")
    except UnicodeEncodeError:
        return None
    if b.translate(None, _ALLOWED):
        return None
    compact = b.translate(None, b" \t\r\n")
    if not compact or b",," in compact or compact[:1] == b"," or compact[-1:] == b",":
        return None  # an empty entry, which NumPy would read as -1
    try:
        array = np.fromstring(b, dtype=np.float64, sep=",")  # strict (ValueError) since NumPy 2.3
    except (ValueError, Warning):  # older NumPy warns and stops early: the count tells
        return None
    return array if len(array) == count else None


def _finish(array: np.ndarray, region: str, shape: tuple[int, ...] | None,
            toks: list[str] | None = None) -> tuple[np.ndarray, bool, int] | None:
    """Checks that make a converted region read as the slow path reads it."""
    if shape is None:
        shape = (len(array),)
    integral = not any(c in region for c in ".eE")
    if integral:
        if len(array) and float(np.abs(array).max()) >= _LIMIT:
            return None  # the slow path says 'too large to be exact'
        array += 0.0  # '-0' is the integer 0, not -0.0
    else:
        if not np.isfinite(array).all():
            return None  # 1e999: the slow path names it
        # integers among floats: beyond 2**53 the slow path refuses them;
        # '-0' is the integer 0 (+0.0), while '-0.0' stays -0.0
        odd = np.flatnonzero((np.abs(array) >= _LIMIT) | ((array == 0.0) & np.signbit(array)))
        if len(odd):
            if toks is None:
                toks = _SPLIT.split("".join(region.split()))[1:-1]
            for i in odd:
                if not any(c in toks[i] for c in ".eE"):
                    if array[i] != 0.0:
                        return None
                    array[i] = 0.0
    array.shape = shape
    return array, integral, int(math.prod(shape) + math.prod(shape[:-1]) + 1)


def _first_dims(skeleton: str) -> list[int] | None:
    """The length of the first list at each depth of a bracket skeleton."""
    rank = len(skeleton) - len(skeleton.lstrip("["))
    dims = []
    for k in range(rank):
        depth = 0
        count = 1
        for j in range(k, len(skeleton)):
            c = skeleton[j]
            if c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
                if depth == 0:
                    break
            elif depth == 1:
                count += 1
        dims.append(count)
    return dims or None


def _expected(dims: list[int]) -> str:
    inner = "[" + "," * (dims[-1] - 1) + "]"
    for d in reversed(dims[:-1]):
        inner = "[" + ",".join([inner] * d) + "]"
    return inner
