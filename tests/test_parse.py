"""parse.py: valid files -> Graph (nodes, args, values, order, positions),
overrides, scale, hostile input. Error messages are in test_parse_errors.py."""

from __future__ import annotations

import math
import os
import textwrap

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tfgrad.graph import GraphError, Pos
from tfgrad.parse import Overrides, parse_graph

from helpers import CONTRACT_EXAMPLE

TUTORIAL = CONTRACT_EXAMPLE


def parse(src: str, **overrides) -> object:
    return parse_graph(textwrap.dedent(src), "t.yaml", Overrides(**overrides) if overrides else None)


def mini(ops: str = "", extra: str = "", variables: str = "a: [[1, 2]]\n  b: [[3], [4]]") -> str:
    """A small file: variables a (1x2) and b (2x1), ops, ys c, xs a."""
    return f"variables:\n  {variables}\nops:\n{textwrap.indent(textwrap.dedent(ops), '  ')}ys: c\nxs: a\n{extra}"


def arr(g, name):
    return g.nodes[name].value.array.tolist()


def assert_topological(g):
    seen = set()
    for n in g.order:
        assert all(a in seen for a in g.nodes[n].args), n
        seen.add(n)
    assert seen == set(g.nodes) and len(g.order) == len(g.nodes)


# --- the tutorial -------------------------------------------------------------


def test_tutorial_nodes_args_and_values():
    g = parse_graph(TUTORIAL, "tutorial.yaml")
    assert g.source == "tutorial.yaml"
    assert g.name == "tf.gradients tutorial"
    n = g.nodes
    assert n["w1"].kind == "variable" and arr(g, "w1") == [[1, 2]] and n["w1"].value.integral
    assert n["res2a"].op == "add" and n["res2a"].user
    assert n["res2a"].args == ("res2a/matmul_1", "res2a/matmul_2")
    assert n["res2a/matmul_1"].args == ("w1", "res2a/literal_1")
    assert n["res2a/matmul_2"].args == ("w2", "res2a/literal_2")
    assert not n["res2a/matmul_1"].user and not n["res2a/literal_1"].user
    assert n["res2a/literal_1"].kind == "literal" and arr(g, "res2a/literal_1") == [[2], [1]]
    assert arr(g, "res2a/literal_2") == [[3], [5]]
    assert n["res2b"].op == "add" and n["res2b"].args == ("p", "q")
    assert n["p"].op == "matmul" and n["p"].args == ("w1", "p/literal_1")
    assert arr(g, "p/literal_1") == [[2], [4]]
    assert n["q"].args == ("w2", "q/literal_1") and arr(g, "q/literal_1") == [[8], [6]]
    assert n["p"].attrs == {}  # only the attributes given (the engine fills TF's defaults)
    assert n["p"].inputs == {"a": "w1", "b": "p/literal_1"}
    assert n["res2a/matmul_1"].text == "matmul(w1, [[2], [1]])" and n["res2a"].text is None
    assert [r.name for r in g.ys] == ["res2a", "res2b"]
    assert [r.name for r in g.xs] == ["w1", "w2"]
    assert [gy.value.array.tolist() for gy in g.grad_ys] == [[[1]], [[2]]]
    assert all(gy.ref is None for gy in g.grad_ys)
    assert [(e.name, e.value.array.tolist()) for e in g.expect] == [("w1", [[6, 9]]), ("w2", [[19, 17]])]
    assert (g.rtol, g.atol, g.unconnected_gradients, g.stop_gradients) == (1e-7, 1e-9, "none", ())
    assert sorted(g.user_names()) == ["p", "q", "res2a", "res2b", "w1", "w2"]


def test_tutorial_order_follows_file_where_free():
    g = parse_graph(TUTORIAL)
    assert_topological(g)
    assert g.order == (
        "w1",
        "w2",
        "res2a/literal_1",
        "res2a/matmul_1",
        "res2a/literal_2",
        "res2a/matmul_2",
        "res2a",
        "p/literal_1",
        "p",
        "q/literal_1",
        "q",
        "res2b",
    )
    assert list(g.nodes) == list(g.order)


def test_tutorial_positions():
    g = parse_graph(TUTORIAL)
    n = g.nodes
    assert n["w1"].pos == Pos(3, 3)  # the name
    assert n["res2a/matmul_1"].pos == Pos(6, 10)  # the call
    assert n["res2a"].pos == Pos(6, 33)  # the '+'
    assert n["res2a/literal_1"].pos == Pos(6, 21)
    assert n["res2a/matmul_1"].arg_pos == (Pos(6, 17), Pos(6, 21))
    assert n["res2a"].arg_pos == (Pos(6, 10), Pos(6, 35))
    assert n["res2b"].pos == Pos(8, 5) and n["res2b"].arg_pos == (Pos(9, 12), Pos(9, 15))
    assert n["p/literal_1"].pos == Pos(10, 30)
    assert g.ys[1].pos == Pos(12, 13) and g.xs[0].pos == Pos(13, 6)
    assert g.grad_ys_pos == Pos(14, 10) and g.grad_ys[1].pos == Pos(14, 18)
    assert g.expect_pos == Pos(16, 3) and g.expect[1].pos == Pos(17, 3)


# --- op forms, literals, attributes ------------------------------------------


def test_both_op_forms_give_the_same_node():
    g1 = parse(mini("c: matmul(a, b, transpose_a=true)\n"))
    g2 = parse(mini("c: {op: matmul, args: [a, b], transpose_a: true}\n"))
    g3 = parse(mini("c:\n  op: matmul\n  args:\n    - a\n    - b\n  transpose_a: yes\n"))
    for g in (g1, g2, g3):
        c = g.nodes["c"]
        assert (c.op, c.args, c.attrs) == ("matmul", ("a", "b"), {"transpose_a": True})
        assert c.inputs == {"a": "a", "b": "b"}
        assert set(c.attr_pos) == {"transpose_a"}
    assert g1.nodes["c"].attr_pos["transpose_a"] == Pos(5, 31)
    assert g2.nodes["c"].attr_pos["transpose_a"] == Pos(5, len("  c: {op: matmul, args: [a, b], transpose_a: ") + 1)


def test_operators_map_to_ops():
    g = parse(mini("c: a + b - a * b / a @ b ** a\n"))
    ops = {n: (g.nodes[n].op, g.nodes[n].args) for n in g.order if g.nodes[n].kind == "op"}
    assert ops == {
        "c/multiply_1": ("multiply", ("a", "b")),
        "c/divide_1": ("divide", ("c/multiply_1", "a")),
        "c/pow_1": ("pow", ("b", "a")),
        "c/matmul_1": ("matmul", ("c/divide_1", "c/pow_1")),
        "c/add_1": ("add", ("a", "b")),
        "c": ("subtract", ("c/add_1", "c/matmul_1")),
    }
    assert g.nodes["c/matmul_1"].attrs == {}
    assert g.nodes["c/matmul_1"].inputs == {"a": "c/divide_1", "b": "c/pow_1"}


def test_unary_minus_folds_numbers_and_negates_the_rest():
    g = parse(mini("c: -a * -3 + - -2.5 + +b + -(a)\n"))
    n = g.nodes
    assert n["c/negative_1"].args == ("a",)
    assert arr(g, "c/literal_1") == -3 and n["c/literal_1"].value.integral
    assert arr(g, "c/literal_2") == 2.5 and not n["c/literal_2"].value.integral
    assert n["c/add_2"].args == ("c/add_1", "b")  # unary plus dropped
    assert n["c/negative_2"].args == ("a",)
    assert n["c"].args == ("c/add_2", "c/negative_2")
    assert_topological(g)


def test_literals_in_expressions_and_mapping_args():
    g = parse(mini("c: add_n(a, [[1, -2]], 3, [4.5, 5])\nd: {op: add, args: [7, [[1, 2]]]}\n"))
    assert g.nodes["c"].args == ("a", "c/literal_1", "c/literal_2", "c/literal_3")
    assert arr(g, "c/literal_1") == [[1, -2]] and arr(g, "c/literal_2") == 3
    assert arr(g, "c/literal_3") == [4.5, 5] and not g.nodes["c/literal_3"].value.integral
    assert g.nodes["d"].args == ("d/literal_1", "d/literal_2")
    assert arr(g, "d/literal_1") == 7 and g.nodes["d/literal_1"].pos == Pos(6, 23)
    assert g.nodes["c/literal_2"].value.shape == ()


def test_bare_name_and_bare_literal_become_identity():
    g = parse(mini("c: a\nd: '[[1, 2]]'\ne: +b\nf: '-3'\n"))
    assert (g.nodes["c"].op, g.nodes["c"].args) == ("identity", ("a",))
    assert (g.nodes["d"].op, g.nodes["d"].args) == ("identity", ("d/literal_1",))
    assert arr(g, "d/literal_1") == [[1, 2]]
    assert g.nodes["e"].args == ("b",)
    assert arr(g, "f/literal_1") == -3


def test_attributes_in_calls_with_defaults():
    g = parse(
        mini(
            "c: reduce_sum(a, axis=-1, keepdims=true)\n"
            "d: reduce_mean(a)\n"
            "e: reduce_sum(a, axis=None, keepdims=False)\n"
            "f: reduce_mean(a, axis=null)\n"
            "h: {op: reduce_sum, args: [a], axis: 0}\n"
            "i: {op: reduce_sum, args: [a], axis: ~, keepdims: on}\n"
        )
    )
    assert g.nodes["c"].attrs == {"axis": -1, "keepdims": True}
    assert g.nodes["d"].attrs == {} and g.nodes["d"].attr_pos == {}
    assert g.nodes["e"].attrs == {"axis": None, "keepdims": False}
    assert g.nodes["f"].attrs == {"axis": None}
    assert g.nodes["h"].attrs == {"axis": 0}
    assert g.nodes["i"].attrs == {"axis": None, "keepdims": True}
    assert g.nodes["c"].attr_pos == {"axis": Pos(5, 25), "keepdims": Pos(5, 38)}


def test_every_format1_op_parses():
    from format1_ops import FORMAT1_OPS

    for name, (arity, _) in FORMAT1_OPS.items():
        n = 1 if arity is None else arity
        g = parse(mini(f"c: {name}({', '.join(['a'] * n)})\n"))
        assert g.nodes["c"].op == name
        assert g.nodes["c"].attrs == {}


def test_add_n_takes_many_arguments():
    g = parse(mini("c: add_n(a, a, a, a)\nd: {op: add_n, args: [a]}\n"))
    assert g.nodes["c"].args == ("a",) * 4 and g.nodes["d"].args == ("a",)


def test_ops_in_any_order_and_order_is_topological():
    g = parse(
        """\
        ops:
          z: y * 2
          y: x + v
          x: exp(v)
        constants: {k: 2}
        variables:
          v: 1.5
        ys: z
        xs: [v, k]
        """
    )
    assert_topological(g)
    # the literal 2 is written first in the file, the constant k before v
    assert g.order == ("z/literal_1", "k", "v", "x", "y", "z")
    assert g.nodes["k"].kind == "constant" and g.xs[1].name == "k"


def test_expressions_in_quoted_and_block_scalars():
    g = parse(
        mini(
            'c: "matmul(a, b)"\n'
            "d: |\n"
            "  matmul(a,   # first\n"
            "         b)   # second\n"
            "e: >\n"
            "  a +\n"
            "  a\n"
            "f: a + \n"
            "   a\n"
        )
    )
    assert g.nodes["c"].args == ("a", "b")
    assert g.nodes["d"].args == ("a", "b")
    assert g.nodes["d"].arg_pos == (Pos(7, 12), Pos(8, 12))
    assert g.nodes["e"].args == ("a", "a") and g.nodes["e"].arg_pos[1] == Pos(11, 5)
    assert g.nodes["f"].args == ("a", "a") and g.nodes["f"].arg_pos[1] == Pos(13, 6)


def test_names_that_are_python_keywords_work_in_the_mapping_form():
    g = parse(
        """\
        variables: {lambda: 1.0, "None": 2.0, on: 3.0}
        ops:
          c: {op: add, args: [lambda, on]}
          d: None * 2
          e: on
        ys: [c, d, e]
        xs: [lambda, None, on]
        """
    )
    assert g.nodes["c"].args == ("lambda", "on") and g.nodes["d"].args == ("None", "d/literal_1")
    assert (g.nodes["e"].op, g.nodes["e"].args) == ("identity", ("on",))


# --- values -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected, integral",
    [
        ("3", 3.0, True),
        ("-2.5", -2.5, False),
        ("1e-3", 0.001, False),
        ("1.5e3", 1500.0, False),
        ("0x10", 16.0, True),
        ("0o17", 15.0, True),
        ("010", 10.0, True),
        ("[1, 2.0]", [1.0, 2.0], False),
        ("[[1], [2]]", [[1.0], [2.0]], True),
        ("[[1, 2], [3, 4]]", [[1.0, 2.0], [3.0, 4.0]], True),
        ("9007199254740992", 2.0**53, True),
        ("-9007199254740992", -(2.0**53), True),
        ("1e300", 1e300, False),
        ("!!float 3", 3.0, False),
        ("!!int '7'", 7.0, True),
        ("\n    - [1, 2]\n    - [3, 4]", [[1, 2], [3, 4]], True),
    ],
)
def test_values(text, expected, integral):
    g = parse(f"variables:\n  w: {text}\nys: w\nxs: w\n")
    v = g.nodes["w"].value
    assert v.array.dtype == np.float64
    assert v.array.tolist() == expected and v.integral is integral


def test_anchors_and_aliases_share_values():
    g = parse("variables:\n  a: &m [[1, 2]]\n  b: *m\nys: a\nxs: b\n")
    assert arr(g, "a") == arr(g, "b") == [[1, 2]]


def test_merge_keys():
    g = parse(
        """\
        variables: {a: [[1, 2]], b: [[3], [4]]}
        ops:
          c: &mm {op: matmul, args: [a, b], transpose_a: false}
          d: {<<: *mm, transpose_b: true}
          e: {<<: [{args: [b, a]}, *mm]}
        ys: [c, d, e]
        xs: a
        """
    )
    assert (g.nodes["d"].op, g.nodes["d"].args) == ("matmul", ("a", "b"))
    assert g.nodes["d"].attrs == {"transpose_a": False, "transpose_b": True}
    assert (g.nodes["e"].op, g.nodes["e"].args) == ("matmul", ("b", "a"))  # the first source wins
    with pytest.raises(GraphError) as e:  # merged keys still checked: add has no transpose_b
        parse(mini("m: &m {op: matmul, args: [a, b], transpose_b: true}\nc: {<<: *m, op: add}\n"))
    assert "add has no parameter 'transpose_b'" in e.value.message


# Plain numbers are read by a fast path (parse._FAST_NUMBER_RE at compose
# time, parse._plain_numbers_value for whole values); everything else takes
# the general path (PyYAML's resolver, parse._scalar, parse._make_value).
# These pin the semantics both must share.


@pytest.mark.parametrize(
    "text, expected, integral",
    [
        ("0", 0.0, True),
        ("-0", 0.0, True),  # an integer zero has no sign
        ("+7", 7.0, True),
        ("-12", -12.0, True),
        ("999999999999999", 999999999999999.0, True),  # 15 digits: the fast path
        ("1000000000000000", 1e15, True),  # 16 digits: the general path
        ("-0.0", -0.0, False),
        ("0.25", 0.25, False),
        ("-1.5", -1.5, False),
        ("5.", 5.0, False),
        (".5", 0.5, False),
        ("-.5", -0.5, False),
        ("+.5", 0.5, False),
        ("1.0e-06", 1e-06, False),
        ("-2.5E+3", -2500.0, False),
        ("1.e-3", 0.001, False),
        ("1e-7", 1e-7, False),
        ("1E7", 1e7, False),
        ("1.5E3", 1500.0, False),
        ("-.5e3", -500.0, False),
        ("1.0e-999", 0.0, False),  # underflow is fine
        ("0x1F", 31.0, True),
        ("0x1f", 31.0, True),
        ("0o17", 15.0, True),
        ("007", 7.0, True),  # YAML 1.2: decimal (YAML 1.1 read octal)
        ("08", 8.0, True),
        ("-010", -10.0, True),
        ("1e3", 1000.0, False),
        ("!!float 3", 3.0, False),
        ("! 3", 3.0, True),  # the non-specific tag: resolved as if plain
        ("&n 3", 3.0, True),
    ],
)
def test_number_forms(text, expected, integral):
    """Each form alone, in a list and in both matrix styles: same number,
    same integral flag (a matrix is integral when every entry is an int)."""
    for value, shape in (
        (text, ()),
        (f"[{text}, 1]", (2,)),
        (f"[[1, {text}], [{text}, 2]]", (2, 2)),
        (f"\n    - [1, {text}]\n    - [{text}, 2]", (2, 2)),
        (f"\n    - - 1\n      - {text}\n    - - {text}\n      - 2", (2, 2)),
    ):
        v = parse(f"variables:\n  w: {value}\nys: w\nxs: w\n").nodes["w"].value
        assert v.array.dtype == np.float64 and v.array.shape == shape and v.array.flags.c_contiguous
        got = v.array.flat[1 if len(shape) == 2 else 0]
        assert got == expected and math.copysign(1, got) == math.copysign(1, expected), value
        assert v.integral is integral, value


def test_integral_flag_needs_every_entry_to_be_an_int():
    def value(text):
        return parse(f"variables:\n  w: {text}\nys: w\nxs: w\n").nodes["w"].value

    assert value("[[1, 2], [3, 4]]").integral
    assert not value("[[1, 2], [3, 4.0]]").integral
    assert not value("[[1, 2], [3, 4e0]]").integral
    assert not value("[1, 2, 3, .5]").integral
    assert value("[1, 2, 0x3]").integral  # the general path for one entry
    assert not value("[1, 2, !!float 3]").integral
    big = "[" + ", ".join(str(i - 500) for i in range(1000)) + "]"
    assert value(big).integral and value(big).array.tolist() == [float(i - 500) for i in range(1000)]


def test_numbers_in_every_value_context():
    text = (
        "variables:\n  w: [[1, 2.5], [-.5, 1e-7]]\n"
        "constants:\n  k: [3, 1.5E3]\n"
        "ops:\n  c: {op: add, args: [w, [[0.25, 2]]]}\n  d: reduce_sum(k)\n"
        "ys: [c, d]\nxs: w\n"
        "grad_ys: [[[1, 2], [3, 4.]], 5]\n"
        "expect:\n  w: [[1.0e-06, 0x10], [2, 3]]\n"
        "tolerance: {rtol: 1e-5, atol: 0}\n"
    )
    g = parse_graph(text)
    assert arr(g, "w") == [[1.0, 2.5], [-0.5, 1e-7]] and not g.nodes["w"].value.integral
    assert arr(g, "k") == [3.0, 1500.0]
    assert arr(g, "c/literal_1") == [[0.25, 2.0]]
    assert g.grad_ys[0].value.array.tolist() == [[1, 2], [3, 4]] and not g.grad_ys[0].value.integral
    assert g.grad_ys[1].value.array.tolist() == 5.0 and g.grad_ys[1].value.integral
    assert g.expect[0].value.array.tolist() == [[1e-06, 16], [2, 3]]
    assert (g.rtol, g.atol) == (1e-5, 0.0)
    g = parse_graph(text, overrides=Overrides(set=(("w", "[[1, 2], [3, 4]]"),)))
    assert arr(g, "w") == [[1, 2], [3, 4]] and g.nodes["w"].value.integral


def test_numbers_are_still_numbers_where_names_are_expected():
    for text, part in [
        ("ys: [w, 1.5]\nxs: w\n", "found a number (1.5)"),
        ("ys: w\nxs: [1e-7]\n", "found a number (1e-7)"),
        ("ys: w\nxs: w\nunconnected_gradients: 0\n", "found a number (0)"),
    ]:
        with pytest.raises(GraphError) as e:
            parse_graph("variables:\n  w: [1]\n" + text)
        assert part in e.value.message
    with pytest.raises(GraphError) as e:
        parse_graph("variables:\n  w: [1]\nops:\n  c: {op: reduce_sum, args: [w], axis: 1.0}\nys: c\nxs: w\n")
    assert "reduce_sum: axis must be null, an int or a list of ints, got 1.0" in e.value.message
    g = parse_graph("variables:\n  w: [[1, 2]]\nops:\n  c: {op: reduce_sum, args: [w], axis: -1}\nys: c\nxs: w\n")
    assert g.nodes["c"].attrs["axis"] == -1 and type(g.nodes["c"].attrs["axis"]) is int


_NUMBERISH = [
    "0", "-0", "+0", "1", "-1", "+7", "12", "007", "08", "00", "0.", "-0.0", "5.", ".5", "-.5", "+.5",
    "1e-7", "1E7", "1.5E3", "1.5e+3", "-1.5e-3", ".5e3", "-.5e-3", "1.e-3", "+1.0e+2", "0e0", "1E+07",
    "0x1F", "0o17", "0b101", "1_000", "1_0.5", "1:30", "1:30.5", "9007199254740992", "9007199254740993",
    "999999999999999", "1000000000000000", "12345678901234567890", "1" * 5000, "1e999", "1.0e+999",
    "-1.0e+999", "1.0e-999", ".nan", ".NaN", ".inf", "-.inf", "+.Inf", "nan", "inf", "true", "no", "on",
    "null", "~", "2001-12-14", "1.5.3", "1e", "e5", "-", ".", "1__0", "1.5e3.2", "0x", "٣",
]  # fmt: skip


def _graph_or_error(text, **kw):
    try:
        g = parse_graph(text, "t.yaml", Overrides(**kw) if kw else None)
    except GraphError as e:
        return ("error", e.message, e.pos)
    out = []
    for name in g.order:
        n = g.nodes[name]
        v = None if n.value is None else (n.value.array.shape, n.value.array.tobytes(), n.value.integral)
        out.append((name, n.kind, n.pos, n.op, n.args, n.arg_pos, n.attrs, n.attr_pos, v))
    extra = [getattr(g, k, None) for k in ("grad_ys", "expect", "rtol", "atol", "unconnected_gradients")]
    gy = [None if y.value is None else (y.value.array.tobytes(), y.value.integral) for y in g.grad_ys or ()]
    ex = [None if x.value is None else (x.value.array.tobytes(), x.value.integral) for x in g.expect or ()]
    return out, repr(extra), gy, ex


def _without_fast_path(monkeypatch):
    """Send every scalar through PyYAML's resolver and every value through
    _make_value, as before the fast path existed."""
    import re

    import tfgrad.parse as parse_module

    monkeypatch.setattr(parse_module, "_FAST_NUMBER_RE", re.compile(r"(?!)"))


_atom = st.sampled_from(_NUMBERISH + ["'1'", '"2.5"', "[1]", "[]", "{}", "x"])
_num = st.sampled_from(["0", "1", "-2", "3.5", "-0.25", "1.0e-06", "1e-7", "7", "2.5E3", ".5", "5."])
_entry = st.one_of(_num, _num, _num, _atom)


@st.composite
def _value_text(draw):
    kind = draw(st.sampled_from(["scalar", "list", "flow", "block"]))
    if kind == "scalar":
        return draw(_entry)
    if kind == "list":
        return "[" + ", ".join(draw(st.lists(_entry, max_size=5))) + "]"
    width = draw(st.integers(1, 3))
    rows = draw(
        st.lists(
            st.one_of(st.lists(_entry, min_size=width, max_size=width), st.lists(_entry, max_size=4)),
            min_size=1,
            max_size=4,
        )
    )
    rows = ["[" + ", ".join(r) + "]" for r in rows]
    return "[" + ", ".join(rows) + "]" if kind == "flow" else "".join(f"\n    - {r}" for r in rows)


@given(_value_text(), _value_text(), _atom, st.sampled_from(["variables", "constants"]))
@settings(max_examples=300, deadline=None)
def test_fast_path_matches_the_general_path(v1, v2, atom, section):
    text = (
        f"{section}:\n  w: &v {v1}\n  u: {v2}\n  '{atom}': [1]\n"
        f"ops:\n  c: {{op: add, args: [w, {atom}]}}\n  d: {{op: reduce_sum, args: [u], axis: {atom}}}\n"
        f"ys: [c, d]\nxs: [w, u]\ngrad_ys: [{v1}, {atom}]\nexpect:\n  u: {v2}\n  w: *v\n"
        f"tolerance: {{rtol: {atom}}}\n"
    )
    fast = _graph_or_error(text)
    with pytest.MonkeyPatch.context() as mp:
        _without_fast_path(mp)
        assert _graph_or_error(text) == fast


@pytest.mark.parametrize("atom", _NUMBERISH)
def test_fast_path_matches_the_general_path_for_each_form(atom, monkeypatch):
    texts = [
        f"variables:\n  w: {atom}\nys: w\nxs: w\n",
        f"variables:\n  w: [1, {atom}, 2]\nys: w\nxs: w\n",
        f"variables:\n  w:\n    - [1, 2]\n    - [3, {atom}]\nys: w\nxs: w\n",
        f"variables:\n  w: [[{atom}, 1], [2]]\nys: w\nxs: w\n",
        f"variables:\n  w: [[1, 2], [3]]\n  v: [{atom}, 1.0e+999]\nys: w\nxs: w\n",
        f"variables:\n  w: [1]\nops:\n  c: {{op: reduce_sum, args: [w], axis: {atom}}}\nys: c\nxs: w\n",
        f"variables:\n  w: [1]\n  {atom}: [2]\nys: w\nxs: w\n",
        f"variables:\n  w: [1]\nys: w\nxs: w\ntolerance: {{atol: {atom}}}\n",
    ]
    fast = [_graph_or_error(t) for t in texts]
    fast.append(_graph_or_error(texts[0], set=(("w", f"[{atom}]"),)))
    _without_fast_path(monkeypatch)
    slow = [_graph_or_error(t) for t in texts]
    slow.append(_graph_or_error(texts[0], set=(("w", f"[{atom}]"),)))
    assert fast == slow


@given(st.text(alphabet="0123456789+-.eE_x:o", min_size=1, max_size=12) | st.sampled_from(_NUMBERISH))
@settings(max_examples=500, deadline=None)
def test_fast_number_regex_agrees_with_the_resolver(text):
    """Whatever _FAST_NUMBER_RE accepts gets the tag the (YAML 1.2 core) resolver gives
    and the (kind, number) that _scalar computes from that tag."""
    import tfgrad.parse as parse_module

    try:
        root = parse_module._compose(f"[{text}]", None)
    except GraphError:
        return  # not YAML ('0:')
    if not isinstance(root, parse_module._YSeq) or len(root.items) != 1:
        return  # not one plain scalar (e.g. '-' starts a block sequence)
    node = root.items[0]
    assert isinstance(node, parse_module._YScalar)
    resolved = parse_module._RESOLVER.resolve(yaml.ScalarNode, node.value, (True, False))
    assert node.tag == resolved
    if node.num is None:
        return
    assert parse_module._FAST_NUMBER_RE.match(node.value)
    fast = parse_module._scalar(node)
    node.num = None
    slow = parse_module._scalar(node)
    assert fast[0] == slow[0] and type(fast[1]) is type(slow[1])
    assert fast[1] == slow[1] and math.copysign(1, fast[1]) == math.copysign(1, slow[1])


def test_number_nodes_know_their_end_without_storing_it(monkeypatch):
    """A plain number keeps no end mark (unless anchored): its end is its start
    plus its length. Check that against the marks the parser reports."""
    import tfgrad.parse as parse_module

    text = (
        "a: [1, -2.5 , 1e-7,3]  # comment\n"
        "b:\n  - 0.5\n  - &x 7\n  - *x\n  - [ 12,\n      1.0e-06 ]\n"
        "c: {k: 5., j: .5}\n"
        "d: 3  \n"
    )

    def scalars(node, out):
        if isinstance(node, parse_module._YSeq):
            for i in node.items:
                scalars(i, out)
        elif isinstance(node, parse_module._YMap):
            for k, v in node.pairs:
                scalars(k, out)
                scalars(v, out)
        else:
            out.append(node)
        return out

    fast = scalars(parse_module._compose(text, None), [])
    monkeypatch.setattr(parse_module, "_FAST_NUMBER_RE", __import__("re").compile(r"(?!)"))
    slow = scalars(parse_module._compose(text, None), [])
    assert sum(n.num is not None for n in fast) == 12 and all(n.num is None for n in slow)
    assert any(n.num is not None and n.end is None for n in fast)
    for f, s in zip(fast, slow, strict=True):
        assert (f.value, f.tag, f.style, f.explicit) == (s.value, s.tag, s.style, s.explicit)
        assert (f.line, f.col, f.index, f.pos) == (s.line, s.col, s.index, s.pos)
        assert (f.end_line, f.end_col, f.end_index) == (s.end_line, s.end_col, s.end_index), f.value


def test_big_matrices_parse_fast():
    rows = "".join(f"\n    - [{', '.join(f'{(i * 37 + j) % 1000 / 7:.6f}' for j in range(100))}]" for i in range(1000))
    text = f"variables:\n  w: {rows}\nys: w\nxs: w\n"
    g = parse_graph(text)  # its speed: benchmarks/run.py's parse cases
    v = g.nodes["w"].value
    assert v.array.shape == (1000, 100) and not v.integral
    assert v.array[999, 99] == float(f"{(999 * 37 + 99) % 1000 / 7:.6f}")


# --- ys, xs, grad_ys, the rest ------------------------------------------------


def test_ys_xs_as_name_or_list_with_duplicates():
    g = parse(mini("c: a @ b\n", variables="a: [[1, 2]]\n  b: [[3], [4]]").replace("ys: c", "ys: [c, c]"))
    assert [r.name for r in g.ys] == ["c", "c"] and [r.name for r in g.xs] == ["a"]
    assert g.ys[1].pos == Pos(6, 9)


def test_grad_ys_forms():
    g = parse(
        """\
        variables: {a: [[1, 2]], s: [[5, 5]]}
        ops: {c: a * 2, d: a + 1, e: a - 1}
        ys: [c, d, e]
        xs: a
        grad_ys: [[[1, 2]], s, null]
        """
    )
    v, ref, ones = g.grad_ys
    assert v.value.array.tolist() == [[1, 2]] and v.ref is None
    assert ref.ref == "s" and ref.value is None and ref.pos == Pos(5, 21)
    assert ones.value is None and ones.ref is None
    assert parse(mini("c: a\n")).grad_ys is None
    assert parse(mini("c: a\n", "grad_ys: ~\n")).grad_ys is None


def test_stop_unconnected_expect_tolerance_description():
    g = parse(
        mini(
            "c: a @ b\n",
            "stop_gradients: b\nunconnected_gradients: zero\nexpect: {a: null}\n"
            "tolerance: {rtol: 1e-5}\ndescription: two tensors\n",
        )
    )
    assert [r.name for r in g.stop_gradients] == ["b"]
    assert g.unconnected_gradients == "zero"
    assert g.expect[0].name == "a" and g.expect[0].value is None
    assert (g.rtol, g.atol) == (1e-5, 1e-9) and g.tolerance_pos == Pos(11, 12)
    assert g.description == "two tensors"
    g = parse(mini("c: a\n", "stop_gradients: [a, b]\nunconnected_gradients: null\ntolerance: {atol: 0}\n"))
    assert [r.name for r in g.stop_gradients] == ["a", "b"]
    assert g.unconnected_gradients == "none" and g.atol == 0.0


def test_constants_only_graph():
    g = parse("constants: {k: [1, 2]}\nops: {c: k * k}\nys: c\nxs: k\n")
    assert g.nodes["k"].kind == "constant"


def test_top_level_may_be_a_flow_mapping():
    g = parse("{variables: {a: 1}, ops: {c: 'add(a, a)'}, ys: c, xs: a}")
    assert g.nodes["c"].args == ("a", "a")


# --- overrides ------------------------------------------------------------------


def test_overrides_replace_values_and_keys():
    g = parse_graph(
        TUTORIAL,
        "t.yaml",
        Overrides(
            set=(("w1", "[[7, 8]]"), ("w2", "[[0.5, 1]]")),
            ys=("res2a", "res2b"),
            xs=("w2", "w1"),
            stop=("p",),
            unconnected="zero",
        ),
    )
    assert arr(g, "w1") == [[7, 8]] and g.nodes["w1"].value.integral
    assert arr(g, "w2") == [[0.5, 1]] and not g.nodes["w2"].value.integral
    assert [r.name for r in g.xs] == ["w2", "w1"] and g.xs[1].pos == Pos(1, 4, "<--xs>")
    assert [r.name for r in g.stop_gradients] == ["p"]
    assert g.unconnected_gradients == "zero"


def test_override_ys_without_grad_ys_and_empty_stop():
    src = mini("c: a @ b\nd: a * 2\n", "stop_gradients: b\n")
    g = parse(src, ys=("c", "d"), stop=())
    assert [r.name for r in g.ys] == ["c", "d"] and g.ys[1].pos == Pos(1, 3, "<--ys>")
    assert g.stop_gradients == ()


def test_set_override_of_a_constant_and_last_wins():
    g = parse("constants: {k: 1}\nvariables: {a: 2}\nys: a\nxs: a\n", set=(("k", "3"), ("k", "[4, 5]")))
    assert arr(g, "k") == [4, 5]


# --- scale and hostile input ----------------------------------------------------


def chain_file(n: int) -> str:
    lines = ["variables:", "  x: [[0.5, 1.0]]", "ops:", "  h1: tanh(x)"]
    lines += [f"  h{i}: tanh(h{i - 1})" for i in range(2, n + 1)]
    return "\n".join(lines + [f"ys: h{n}", "xs: x"]) + "\n"


def test_10000_op_chain_parses():
    # Its speed is measured in benchmarks/ (chain-10000's parse column), not here.
    g = parse_graph(chain_file(10_000))
    assert len(g.order) == 10_001 and g.order[0] == "x" and g.order[-1] == "h10000"
    assert g.nodes["h10000"].args == ("h9999",)


def test_10000_op_chain_written_backwards():
    n = 10_000
    lines = ["variables: {x: 1.0}", "ops:"] + [f"  h{i}: exp(h{i - 1})" for i in range(n, 1, -1)]
    g = parse_graph("\n".join(lines + ["  h1: exp(x)", f"ys: h{n}", "xs: x"]))
    assert g.order[:3] == ("x", "h1", "h2") and g.order[-1] == f"h{n}"


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "@"])
def test_10000_term_flat_chain_parses(op):
    n = 10_000
    g = parse(f"variables: {{a: 1}}\nops:\n  s: {f' {op} '.join(['a'] * n)}\nys: s\nxs: a\n")
    assert len(g.nodes) == n  # a, 9998 inner ops, s
    s = g.nodes["s"]
    assert s.args[1] == "a" and s.pos == Pos(3, 6 + 4 * (n - 1) - 2)  # the last operator
    assert_topological(g)


def test_long_sum_with_products_and_literals():
    n = 5_000
    expr = " + ".join(f"{i} * a" if i % 2 else f"-a * [[{i}]]" for i in range(n))
    g = parse(f"variables: {{a: 1}}\nops:\n  s: {expr}\nys: s\nxs: a\n")
    lits = [g.nodes[x] for x in g.order if g.nodes[x].kind == "literal"]
    assert len(lits) == n and lits[0].value.array.tolist() == [[0]] and lits[1].value.array.tolist() == 1
    assert_topological(g)


def test_alias_bomb_is_rejected_fast():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        prev = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{prev}]")
    text = "\n".join(lines) + "\nvariables: {v: *a11}\nys: v\nxs: v\n"
    with pytest.raises(GraphError) as e:
        parse_graph(text)  # 9**12 nodes if expanded: refused before, by counting
    assert "expands to more than" in e.value.message and "aliases" in e.value.message


def test_python_tags_are_rejected_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    text = (
        f'variables: {{a: !!python/object/apply:os.system ["touch {marker}"]}}\n'
        f'ops: {{c: !!python/object/apply:os.system ["touch {marker}"]}}\nys: c\nxs: a\n'
    )
    with pytest.raises(GraphError) as e:
        parse_graph(text)
    assert "!!python/object/apply:os.system" in e.value.message
    assert e.value.pos == Pos(1, 16)
    assert not marker.exists()


def test_expression_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    for expr in [
        f"__import__('os').system('touch {marker}')",
        f"exp(__import__('os').system('touch {marker}'))",
        "[x for x in ().__class__.__bases__[0].__subclasses__()]",
    ]:
        with pytest.raises(GraphError):
            parse(mini(f'c: "{expr}"\n'))
    assert not marker.exists()


def test_deep_yaml_nesting_is_rejected_fast():
    for text in ["[" * 100_000, "{a: " * 50_000, "- " * 100_000 + "x"]:
        with pytest.raises(GraphError) as e:
            parse_graph(text)
        assert "nested more than" in e.value.message


def test_huge_input_is_rejected_before_parsing(monkeypatch):
    import tfgrad.parse as parse_module

    # big files of real numbers are legitimate (the benchmarks' graphs reach
    # 177 MB); aliases and nesting have budgets of their own
    assert parse_module.MAX_TEXT_CHARS == 256_000_000
    monkeypatch.setattr(parse_module, "MAX_TEXT_CHARS", 1000)
    parse_graph(mini("c: a + a\n").ljust(1000, "#"))  # at the limit: fine
    with pytest.raises(GraphError) as e:
        parse_graph("[" * 1001)  # over it: rejected before the YAML is read
    assert "input has 1,001 characters; graph files are limited to 1,000" in e.value.message
    assert e.value.pos == Pos(1, 1)


def test_gc_state_is_restored():
    import gc

    assert gc.isenabled()
    parse_graph(TUTORIAL)
    assert gc.isenabled()
    with pytest.raises(GraphError):
        parse_graph("[")
    assert gc.isenabled()


# --- property tests -------------------------------------------------------------

numbers = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
)


@st.composite
def values(draw):
    rank = draw(st.integers(0, 2))
    if rank == 0:
        return draw(numbers)
    if rank == 1:
        return draw(st.lists(numbers, min_size=1, max_size=6))
    cols = draw(st.integers(1, 4))
    return draw(st.lists(st.lists(numbers, min_size=cols, max_size=cols), min_size=1, max_size=4))


@given(values(), st.booleans())
@settings(max_examples=200, deadline=None)
def test_valid_values_round_trip(v, flow):
    text = yaml.safe_dump({"variables": {"w": v}, "ys": "w", "xs": "w"}, default_flow_style=flow)
    g = parse_graph(text)
    value = g.nodes["w"].value
    assert value.array.tolist() == np.array(v, dtype=np.float64).tolist()
    leaves = np.array(v, dtype=object).ravel().tolist()
    assert value.integral == all(type(x) is int for x in leaves)


@given(values())
@settings(max_examples=100, deadline=None)
def test_valid_values_round_trip_as_expression_literals(v):
    text = f"variables: {{a: 1}}\nops:\n  c: 'add(a, {v!r})'\nys: c\nxs: a\n"
    g = parse_graph(text)
    got = g.nodes["c/literal_1"].value.array
    assert got.tolist() == np.array(v, dtype=np.float64).tolist()


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_junk_text_raises_only_graph_error(text):
    try:
        parse_graph(text)
    except GraphError as e:
        assert e.pos.line >= 1 and e.pos.col >= 1


yamlish = st.text(alphabet=list("abcxyz01 :-[]{},'\"&*!|>#\n\t.%@()+/~<="), max_size=120)


@given(yamlish)
@settings(max_examples=500, deadline=None)
def test_yamlish_junk_raises_only_graph_error(text):
    try:
        parse_graph(text)
    except GraphError as e:
        assert e.pos.line >= 1 and e.pos.col >= 1


exprish = st.text(alphabet=list("ab12 .+-*/@()[],=_tmrx\"'#:;lambdfoijnu!~%<>^&|"), min_size=1, max_size=60)


@given(exprish)
@settings(max_examples=800, deadline=None)
def test_expression_junk_raises_only_graph_error(expr):
    quoted = expr.replace("'", "''")
    text = f"variables: {{a: [[1, 2]], b: [[3], [4]]}}\nops:\n  c: '{quoted}'\nys: c\nxs: a\n"
    try:
        g = parse_graph(text)
    except GraphError as e:
        assert e.pos.line == 3 and 1 <= e.pos.col <= 8 + len(quoted)
    else:
        assert_topological(g)


def test_hypothesis_regressions():
    # inputs found while writing the property tests
    for expr in ["-", "()", "[]", "a(", "a[", "--a", "-[1]", "[[]]", "[-a]", "1 @", "a,", "a=1", "f(a=1)"]:
        try:
            parse(mini(f"c: '{expr}'\n"))
        except GraphError:
            pass


def test_float_repr_is_exact():
    x = 0.1 + 0.2
    g = parse(f"variables:\n  w: {x!r}\nys: w\nxs: w\n")
    assert g.nodes["w"].value.array.item() == x and math.isfinite(x)


# --- environment ----------------------------------------------------------------


def test_pure_python_yaml_loader_gives_the_same_graph(monkeypatch):
    import tfgrad.parse as parse_module

    fast = parse_graph(TUTORIAL)
    monkeypatch.setattr(parse_module, "_Loader", yaml.SafeLoader)
    slow = parse_graph(TUTORIAL)
    assert slow.order == fast.order
    for name in fast.order:
        a, b = fast.nodes[name], slow.nodes[name]
        assert (a.kind, a.pos, a.op, a.args, a.arg_pos, a.attrs) == (b.kind, b.pos, b.op, b.args, b.arg_pos, b.attrs)
    with pytest.raises(GraphError) as e:
        parse_graph(TUTORIAL.replace("res2b:\n", "res2b: !!python/name:os.system\n"))
    assert e.value.pos == Pos(7, 10)


def test_no_python_warnings_escape():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for expr in ["1if a else b", "a is 1", "0x1for"]:
            with pytest.raises(GraphError):
                parse(mini(f"c: '{expr}'\n"))
    assert caught == []


def test_parse_does_not_import_sympy():
    import subprocess
    import sys

    code = "import sys, tfgrad.parse; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    assert out.stdout.strip() == "False", out.stderr


# --- the long-chain parser agrees with Python's ------------------------------------
#
# Python's own parser gives up on chains of thousands of terms; parse.py then
# splits the chain itself. Forcing that path on expressions Python can parse
# must give exactly the same graph, positions included.

leaf = st.sampled_from(["a", "b", "2", "0.5", "[[1, -2]]", "[3]", "-1"])


def _combine(children):
    binop = st.tuples(children, st.sampled_from([" + ", " - ", " * ", " / ", " @ ", " ** ", "+", "*"]), children).map(
        lambda t: "".join(t)
    )
    return st.one_of(
        binop,
        children.map(lambda x: f"({x})"),
        children.map(lambda x: f"-{x}"),
        children.map(lambda x: f"+ {x}"),
        children.map(lambda x: f"exp({x})"),
        st.tuples(children, children).map(lambda t: f"matmul({t[0]}, {t[1]}, transpose_b=true)"),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: f"add_n({', '.join(xs)},)"),
        children.map(lambda x: f"reduce_sum({x}, axis=-1)"),
    )


expressions = st.recursive(leaf, _combine, max_leaves=12)


def _snapshot(g):
    out = []
    for name in g.order:
        n = g.nodes[name]
        value = None if n.value is None else (n.value.array.tolist(), n.value.integral)
        out.append((name, n.kind, n.pos, n.op, n.args, n.arg_pos, n.attrs, n.attr_pos, value))
    return out


@given(expressions, st.booleans())
@settings(max_examples=400, deadline=None)
def test_chain_splitter_matches_python_parser(expr, quoted):
    import tfgrad.parse as parse_module

    body = f'"{expr}"' if quoted else expr
    text = f"variables: {{a: [[1, 2]], b: [[3], [4]]}}\nops:\n  c: {body}\nys: c\nxs: a\n"
    try:
        expected = _snapshot(parse_graph(text))
    except GraphError as e:
        expected = ("error", e.message, e.pos)
    original = parse_module._Expression.parse
    parse_module._Expression.parse = lambda self: self.parse_chain(self.src)
    try:
        try:
            got = _snapshot(parse_graph(text))
        except GraphError as e:
            got = ("error", e.message, e.pos)
    finally:
        parse_module._Expression.parse = original
    assert got == expected


@pytest.mark.parametrize(
    "template, op",
    [
        ("exp({chain})", "exp"),
        ("({chain}) * 2", "multiply"),
        ("-({chain})", "negative"),
        ("reduce_sum({chain}, axis=1, keepdims=true)", "reduce_sum"),
        ("matmul({chain}, b,)", "matmul"),
        ("add_n(a, ({chain}), -a ** 2)", "add_n"),
    ],
)
def test_long_chains_inside_calls_and_parentheses(template, op):
    chain = " + ".join(["a"] * 10_000)
    g = parse(f"variables: {{a: [[1]], b: [[2]]}}\nops:\n  c: '{template.format(chain=chain)}'\nys: c\nxs: a\n")
    assert g.nodes["c"].op == op and len(g.nodes) >= 10_001
    assert_topological(g)


@pytest.mark.parametrize("src", [
    "a + b", "tanh(matmul(x, w, transpose_b=true) + b)", "reduce_sum(x, axis=(0, 1))",
    "x[0, 1:3, ...] * -y", "where(a < b, [[1, 2], [3, 4]], -c ** 2)", "concat((a, b), 0)", "a",
])
def test_expression_nodes_are_ast_walks(src):
    # the expression checks walk _ast_nodes' list in place of ast.walk: the
    # same nodes in the same order, so the first bad token found is the same
    import ast

    from tfgrad.parse import _ast_nodes

    tree = ast.parse(src, mode="eval").body
    assert [id(n) for n in _ast_nodes(tree)] == [id(n) for n in ast.walk(tree)]
