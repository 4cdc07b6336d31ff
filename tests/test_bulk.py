"""bulk.py: flow sequences of plain numbers read in bulk must give exactly
what the event-by-event path gives (values, signs of zeros, integrality,
errors and their positions), and must leave alone anything that only looks
like one (block scalars, quoted strings, expressions)."""

from __future__ import annotations

import numpy as np
import pytest

from tfgrad import bulk
from tfgrad.graph import GraphError
from tfgrad.parse import parse_graph

PAD = "description: " + "x" * (bulk.MIN_TEXT + 100) + "\n"  # makes the file big enough


def both(text: str):
    """(result with bulk, result without), each a graph or the error."""

    def run():
        try:
            return parse_graph(text, "t.yaml")
        except GraphError as e:
            return e

    with_bulk = run()
    saved = bulk.MIN_TEXT
    bulk.MIN_TEXT = 10**12
    try:
        without = run()
    finally:
        bulk.MIN_TEXT = saved
    return with_bulk, without


def same(text: str) -> object:
    a, b = both(text)
    if isinstance(b, GraphError):
        assert isinstance(a, GraphError), f"bulk accepted what the slow path refuses: {b.message}"
        assert (a.message, a.pos, a.code) == (b.message, b.pos, b.code)
        return a
    assert not isinstance(a, GraphError), a.message
    assert list(a.nodes) == list(b.nodes)
    for name, n in b.nodes.items():
        m = a.nodes[name]
        assert (m.kind, m.op, m.args, m.attrs, m.inputs) == (n.kind, n.op, n.args, n.attrs, n.inputs)
        if n.value is not None:
            x, y = m.value.array, n.value.array
            assert x.shape == y.shape and x.dtype == y.dtype, name
            assert np.array_equal(x, y) and np.array_equal(np.signbit(x), np.signbit(y)), name
            assert m.value.integral == n.value.integral, name
    for ga, gb in zip(a.grad_ys or (), b.grad_ys or ()):
        assert np.array_equal(ga.value.array, gb.value.array)
    return a


def matrix(rows: list[str]) -> str:
    return "variables:\n  w:\n" + "".join(f"    - {r}\n" for r in rows)


def rows(n: int, m: int, fmt=lambda i, j: f"{(i * 7 + j) % 13 / 8 - 0.7:.6f}") -> list[str]:
    return ["[" + ", ".join(fmt(i, j) for j in range(m)) + "]" for i in range(n)]


TAIL = "ys: w\nxs: w\n"


def test_a_weight_matrix_is_read_in_bulk_and_equal():
    text = PAD + matrix(rows(300, 40)) + TAIL
    scanned = bulk.scan(text)
    assert scanned is not None and len(scanned[1]) == 300
    assert scanned[0].count("\n") == text.count("\n") and len(scanned[0]) < len(text) - 300 * 200
    g = same(text)
    assert g.nodes["w"].value.array.shape == (300, 40)


@pytest.mark.parametrize(
    "cell",
    [
        lambda i, j: str(i * 40 + j - 600),  # integers (integral)
        lambda i, j: "-0" if j == 3 else str(j),  # '-0' is the integer 0
        lambda i, j: "-0.0" if j == 3 else f"{j}.5",  # '-0.0' is -0.0
        lambda i, j: "-0" if j == 3 else f"{j}.5",  # an integer -0 among floats
        lambda i, j: f"{j}e-3" if j % 2 else f"+{j}.",  # exponents, '+', '5.'
        lambda i, j: f"0{j}",  # YAML 1.2: 07 is seven
        lambda i, j: "9007199254740993" if (i, j) == (5, 2) else "1",  # too large to be exact
        lambda i, j: "9007199254740993" if (i, j) == (5, 2) else "1.5",
        lambda i, j: "1e999" if (i, j) == (7, 1) else "1.5",  # not finite
        lambda i, j: "1_000" if (i, j) == (7, 1) else "1.5",  # a string in YAML 1.2
        lambda i, j: "x" if (i, j) == (7, 1) else "1.5",
        lambda i, j: "" if (i, j) == (7, 1) else "1.5",  # an empty entry
        lambda i, j: "٣" if (i, j) == (7, 1) else "1.5",  # a non-ASCII digit is text
        lambda i, j: "1 2" if (i, j) == (7, 1) else "1.5",
        lambda i, j: "1e" if (i, j) == (7, 1) else "1.5",
    ],
)
def test_every_number_form_and_bad_entry_reads_as_the_slow_path_reads_it(cell):
    same(PAD + matrix(rows(20, 6, cell)) + TAIL)


def test_ragged_rows_trailing_commas_and_comments():
    r = rows(20, 6)
    r[4] = "[1.5, 2.5]"
    same(PAD + matrix(r) + TAIL)
    r = rows(20, 6)
    r[4] = r[4][:-1] + ",]"  # a trailing comma is valid YAML
    same(PAD + matrix(r) + TAIL)
    r = [x + "   # a comment" for x in rows(20, 6)]
    same(PAD + matrix(r) + TAIL)
    r = [x + "#not a comment" for x in rows(20, 6)]
    same(PAD + matrix(r) + TAIL)


def test_flow_values_on_one_or_several_lines_and_of_rank_3():
    body = ", ".join(f"{i / 4}" for i in range(60))
    same(PAD + f"variables:\n  v: [{body}]\n  k: [[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]], [[1, 1], [1, 1]]]\n"
         "ys: v\nxs: v\n")
    multi = "[1.5, 2.5, 3.5,\n     4.5, 5.5, 6.5,\n     7.5, 8.5]"
    g = same(PAD + f"variables:\n  v: {multi}\n" + "ys: v\nxs: v\n")
    assert g.nodes["v"].value.array.tolist() == [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]
    same(PAD + "variables:\n  v: [[1, 2, 3], [4, 5]]\nys: v\nxs: v\n")  # ragged: the slow path's error


def test_look_alikes_are_left_alone():
    block = "description: |\n  - [1, 2, 3, 4, 5, 6, 7]\n  w: [1, 2, 3, 4, 5, 6, 7]\n"
    text = "name: " + "y" * (bulk.MIN_TEXT + 10) + "\n" + block + matrix(rows(5, 5)) + TAIL
    g = same(text)
    assert g.description == "- [1, 2, 3, 4, 5, 6, 7]\nw: [1, 2, 3, 4, 5, 6, 7]\n"
    quoted = 'description: "a\n  [1, 2, 3, 4, 5, 6, 7]\n  b"\n'
    g = same(PAD.replace("description", "name") + quoted + matrix(rows(5, 5)) + TAIL)
    assert "[1, 2, 3, 4, 5, 6, 7]" in g.description
    ops = "ops:\n  y: add(w, [[1, 2, 3, 4, 5]])\n  z: |\n    add_n(w,\n    [1, 2, 3, 4, 5])\n"
    same(PAD + matrix(rows(5, 5)) + ops + "ys: [y, z]\nxs: w\n")


def test_bulk_sequences_used_as_lists_of_names_or_arguments():
    # a bulk-read sequence whose items are asked for (mapping args, aliases,
    # an error naming an entry) is composed from the original text
    text = (PAD + matrix(rows(5, 5)) + "constants:\n  c: &c [1.25, 2.5, 3.75, 5.0, 6.25]\n  d: *c\n"
            "ops:\n  y:\n    op: add\n    args: [1.25, 2.5, 3.75, 5.0, 6.25]\n  z: {op: add, args: [w, c]}\n"
            "ys: [y, z]\nxs: w\n")
    same(text)
    same(PAD + "variables:\n  w: [1, 2]\nys: [1.5, 2.5, 3.5, 4.5, 5.5]\nxs: w\n")  # ys must be names
    same(PAD + "variables:\n  w: [1, 2]\nys: w\nxs: w\ngrad_ys: [[1.5, 2.5, 3.5, 4.5, 5.5]]\n")


HARD_NUMBERS = [
    "0.1000000000000000055511151231257827021181583404541015625",  # more digits than float64 holds
    "2.2250738585072011e-308", "2.4703282292062328e-324", "1e-320",  # subnormals, the halfway point
    "1.7976931348623157e308", "9007199254740992.0", "9007199254740993.0",  # ties to even
    "1E5", "1e+5", "-1.5e-7", "0e0", "-0.0", "123456789.123456789",
]


@pytest.mark.parametrize("orjson_installed,chunk", [(True, None), (True, 100), (False, None)])
def test_hard_numbers_round_as_pythons_float_with_and_without_orjson(orjson_installed, chunk,
                                                                       monkeypatch):
    # orjson reads the rank-1 rows when it is installed (in chunks of about
    # _JSON_CHUNK characters: 100 makes one chunk of a row or two); NumPy's
    # parser when it is not: both must give Python's correctly rounded floats
    if not orjson_installed:
        monkeypatch.setitem(__import__("sys").modules, "orjson", None)  # import raises ImportError
    if chunk is not None:
        monkeypatch.setattr(bulk, "_JSON_CHUNK", chunk)
    fmt = lambda i, j: HARD_NUMBERS[(i * 6 + j) % len(HARD_NUMBERS)]  # noqa: E731
    text = PAD + matrix(rows(20, 6, fmt)) + TAIL
    assert bulk.scan(text) is not None
    g = same(text)
    want = np.array([[float(fmt(i, j)) for j in range(6)] for i in range(20)])
    got = g.nodes["w"].value.array
    assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("cell", ["+1.5", ".5", "1.", "010", "true", "null", '"1.5"', "1e999", "9007199254740993"])
def test_json_only_forms_fall_back_to_numpy_or_the_slow_path(cell, monkeypatch):
    # YAML numbers that JSON does not accept (+1.5, .5, 1., 010), JSON values
    # that are not numbers, an overflow and an inexact integer: read exactly
    # as the event-by-event path reads them
    fmt = lambda i, j: cell if (i, j) == (3, 2) else f"{j}.25"  # noqa: E731
    same(PAD + matrix(rows(20, 6, fmt)) + TAIL)
